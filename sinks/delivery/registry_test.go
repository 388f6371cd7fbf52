package delivery

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"gopkg.in/yaml.v3"
)

func parseAudiences(t *testing.T, text string) []audience.Config {
	t.Helper()
	var a []audience.Config
	if err := yaml.Unmarshal([]byte(text), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func parseSinks(t *testing.T, text string) Sinks {
	t.Helper()
	var s Sinks
	if err := yaml.Unmarshal([]byte(text), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

const twoAudiences = `
- name: zeta
  source: {segments: ["rule:a"]}
  mode: replace
  destinations:
    yandex: {name: "zeta list"}
    google: {operating_account_id: "123-456-7890", user_list_id: "42"}
- name: alpha
  source: {segments: ["rfm:champions"], exclude: ["rfm:lost"]}
  identifiers: [email]
  destinations:
    vk: {type: emails, name: "alpha vk"}
    meta: {ad_account_id: "act_1234567890", name: "alpha meta"}
`

func TestNewPlanSortedAndDecoded(t *testing.T) {
	p, err := NewPlan(parseAudiences(t, twoAudiences), Sinks{}, contacts.Defaults(), false)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, tg := range p.Targets {
		keys = append(keys, tg.Audience+"/"+tg.Platform)
	}
	if want := []string{"alpha/meta", "alpha/vk", "zeta/google", "zeta/yandex"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("targets %v, want %v", keys, want)
	}
	am, av, zg, zy := p.Targets[0], p.Targets[1], p.Targets[2], p.Targets[3]
	if am.Meta == nil || am.Meta.AdAccountID != "act_1234567890" || am.Meta.Name != "alpha meta" || am.VK != nil || am.Yandex != nil || am.Google != nil {
		t.Errorf("alpha/meta %+v", am)
	}
	if av.VK == nil || av.VK.Type != "emails" || av.VK.Name != "alpha vk" || !reflect.DeepEqual(av.Identifiers, []string{"email"}) ||
		av.Mode != audience.ModeIncremental || av.MaxRemoveShare != nil || !reflect.DeepEqual(av.Source.Exclude, []string{"rfm:lost"}) {
		t.Errorf("alpha/vk %+v", av)
	}
	if zg.Google == nil || zg.Google.OperatingAccountID != "123-456-7890" || zg.Google.UserListID != "42" || zg.Mode != audience.ModeReplace {
		t.Errorf("zeta/google %+v", zg)
	}
	if zy.Yandex == nil || zy.Yandex.Name != "zeta list" || !reflect.DeepEqual(zy.Identifiers, []string{"email", "phone"}) {
		t.Errorf("zeta/yandex %+v", zy)
	}
	if zy.Key() != "zeta/yandex" {
		t.Errorf("key %q", zy.Key())
	}
}

func TestNewPlanErrors(t *testing.T) {
	vk := "- name: a\n  source: {segments: [\"rfm:champions\"]}\n  destinations:\n    vk: {type: %s}\n"
	cases := []struct {
		name, auds, sinks string
		c                 contacts.Config
		want              []string
	}{
		{"vk type", strings.Replace(vk, "%s", "phonez", 1), "", contacts.Defaults(),
			[]string{"audiences[0].destinations.vk.type", "phonez", "phones, emails"}},
		{"vk hash differs", strings.Replace(vk, "%s", "phones", 1), "vk: {client_id: x, client_secret: {env: X}, hash: sha256}", contacts.Defaults(),
			[]string{"sinks.vk.hash", `"sha256"`, "contacts.vk_hash", `"md5"`}},
		{"vk hash differs, default sink", strings.Replace(vk, "%s", "phones", 1), "vk: {client_id: x, client_secret: {env: X}}", contacts.Config{DefaultRegion: "RU", VKHash: "sha256"},
			[]string{"sinks.vk.hash", `"md5"`, "contacts.vk_hash", `"sha256"`}},
		{"meta account", "- name: a\n  source: {segments: [x]}\n  destinations:\n    meta: {ad_account_id: abc}\n", "", contacts.Defaults(),
			[]string{"audiences[0].destinations.meta.ad_account_id"}},
		{"google list", "- name: a\n  source: {segments: [x]}\n  destinations:\n    google: {operating_account_id: \"1\"}\n", "", contacts.Defaults(),
			[]string{"audiences[0].destinations.google.user_list_id"}},
		{"yandex unknown key", "- name: a\n  source: {segments: [x]}\n  destinations:\n    yandex: {nmae: x}\n", "", contacts.Defaults(),
			[]string{"audiences[0].destinations.yandex.nmae: unknown key", "line 4", "known: name, id"}},
		{"vk nested unknown key", "- name: a\n  source: {segments: [x]}\n  destinations:\n    vk:\n      type: emails\n      segment: {nam: s}\n", "", contacts.Defaults(),
			[]string{"audiences[0].destinations.vk.segment.nam: unknown key", "line 6"}},
		{"google wrong type", "- name: a\n  source: {segments: [x]}\n  destinations:\n    google: {user_list_id: [1]}\n", "", contacts.Defaults(),
			[]string{"audiences[0].destinations.google"}},
		{"meta settings checked in dry run", "- name: a\n  source: {segments: [x]}\n  destinations:\n    meta: {ad_account_id: \"1\"}\n", "meta: {batch_size: 20000}", contacts.Defaults(),
			[]string{"sinks.meta.batch_size"}},
	}
	for _, c := range cases {
		_, err := NewPlan(parseAudiences(t, c.auds), parseSinks(t, c.sinks), c.c, false)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}

const allSinks = `
yandex: {token: {env: AUDSYNC_TEST_YANDEX}}
vk: {client_id: "123", client_secret: {env: AUDSYNC_TEST_VK}}
meta: {access_token: {env: AUDSYNC_TEST_META_TOKEN}, app_secret: {env: AUDSYNC_TEST_META_SECRET}}
`

func TestNewPlanSecrets(t *testing.T) {
	const secretValue = "s3cr3t-VALUE-never-printed"
	auds := parseAudiences(t, `
- name: a
  source: {segments: ["rule:a"]}
  destinations:
    yandex: {}
    vk: {type: phones}
    meta: {ad_account_id: "1"}
`)
	// Dry run: neither sink blocks nor secrets are needed.
	if _, err := NewPlan(auds, Sinks{}, contacts.Defaults(), false); err != nil {
		t.Errorf("dry run without sinks: %v", err)
	}
	if _, err := NewPlan(auds, parseSinks(t, allSinks), contacts.Defaults(), false); err != nil {
		t.Errorf("dry run with unset secret variables: %v", err)
	}
	// Sending: a platform in use without a sinks block is named.
	for _, plat := range []string{"yandex", "vk", "meta"} {
		s := parseSinks(t, allSinks)
		switch plat {
		case "yandex":
			s.Yandex = nil
		case "vk":
			s.VK = nil
		case "meta":
			s.Meta = nil
		}
		for _, v := range []string{"AUDSYNC_TEST_YANDEX", "AUDSYNC_TEST_VK", "AUDSYNC_TEST_META_TOKEN", "AUDSYNC_TEST_META_SECRET"} {
			t.Setenv(v, secretValue)
		}
		_, err := NewPlan(auds, s, contacts.Defaults(), true)
		if err == nil || !strings.Contains(err.Error(), "sinks."+plat+": missing") || !strings.Contains(err.Error(), `audience "a"`) {
			t.Errorf("send without sinks.%s: %v", plat, err)
		}
	}
	// Sending with every variable set works; an unset one is named, and no value appears.
	for _, v := range []string{"AUDSYNC_TEST_YANDEX", "AUDSYNC_TEST_VK", "AUDSYNC_TEST_META_TOKEN", "AUDSYNC_TEST_META_SECRET"} {
		t.Setenv(v, secretValue)
	}
	if _, err := NewPlan(auds, parseSinks(t, allSinks), contacts.Defaults(), true); err != nil {
		t.Fatalf("send with all secrets: %v", err)
	}
	for _, v := range []string{"AUDSYNC_TEST_YANDEX", "AUDSYNC_TEST_VK", "AUDSYNC_TEST_META_TOKEN", "AUDSYNC_TEST_META_SECRET"} {
		for _, w := range []string{"AUDSYNC_TEST_YANDEX", "AUDSYNC_TEST_VK", "AUDSYNC_TEST_META_TOKEN", "AUDSYNC_TEST_META_SECRET"} {
			t.Setenv(w, secretValue)
		}
		os.Unsetenv(v)
		_, err := NewPlan(auds, parseSinks(t, allSinks), contacts.Defaults(), true)
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("unset %s: %v", v, err)
		} else if strings.Contains(err.Error(), secretValue) {
			t.Errorf("unset %s: error %q shows a secret value", v, err)
		}
	}
	// A platform not in use needs no secrets even when its block is present.
	yOnly := parseAudiences(t, "- name: y\n  source: {segments: [x]}\n  destinations: {yandex: {}}\n")
	t.Setenv("AUDSYNC_TEST_YANDEX", secretValue)
	os.Unsetenv("AUDSYNC_TEST_VK")
	if _, err := NewPlan(yOnly, parseSinks(t, allSinks), contacts.Defaults(), true); err != nil {
		t.Errorf("vk block present but unused: %v", err)
	}
}

func TestAccountsDryRun(t *testing.T) {
	// No credentials anywhere: sinks blocks absent or pointing at unset variables and a
	// missing file.
	os.Unsetenv("AUDSYNC_TEST_META_TOKEN")
	os.Unsetenv("AUDSYNC_TEST_META_SECRET")
	auds := parseAudiences(t, `
- name: m
  source: {segments: [x]}
  destinations:
    meta: {ad_account_id: "act_1234567890", name: "m"}
    google: {operating_account_id: "123-456-7890", user_list_id: "42"}
`)
	for name, sinks := range map[string]Sinks{
		"no sinks": {},
		"unresolvable sinks": parseSinks(t, `
meta: {access_token: {env: AUDSYNC_TEST_META_TOKEN}, app_secret: {env: AUDSYNC_TEST_META_SECRET}}
google: {credentials_type: service_account, credentials: {file: /nonexistent/google-sa.json}}
`),
	} {
		p, err := NewPlan(auds, sinks, contacts.Defaults(), false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := NewAccounts(p, true, t.TempDir(), nil)
		ids := []audience.Identifier{{Type: "email", Hash: strings.Repeat("a", 64)}, {Type: "email", Hash: strings.Repeat("c", 64)}, {Type: "phone", Hash: strings.Repeat("b", 64)}}
		for i := range p.Targets {
			tg := &p.Targets[i]
			dest, err := d.Destination(tg)
			if err != nil {
				t.Errorf("%s: Destination(%s): %v", name, tg.Platform, err)
				continue
			}
			if again, err := d.Destination(tg); err != nil || again == nil {
				t.Errorf("%s: second Destination(%s): %v", name, tg.Platform, err)
			}
			dir := filepath.Join(t.TempDir(), tg.Platform)
			req := audience.Request{Audience: "m", Platform: tg.Platform, Create: true, Mode: audience.ModeIncremental, Add: ids, All: ids}
			if _, err := dest.Apply(context.Background(), req); err == nil || !strings.Contains(err.Error(), "dry run") {
				t.Errorf("%s: a dry-run %s destination sent: %v", name, tg.Platform, err)
			}
			if _, err := dest.WritePayloads(context.Background(), req, dir); err != nil {
				t.Errorf("%s: %s WritePayloads: %v", name, tg.Platform, err)
				continue
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			if len(files) == 0 {
				t.Errorf("%s: %s wrote no payload files", name, tg.Platform)
			}
			// Some payload carries the members' hashes (Meta writes a create request first).
			found := false
			for _, f := range files {
				b, _ := os.ReadFile(f)
				found = found || strings.Contains(string(b), strings.Repeat("a", 64))
			}
			if !found {
				t.Errorf("%s: no %s payload holds the member's hash (files %v)", name, tg.Platform, files)
			}
		}
	}
	if _, err := NewAccounts(&Plan{}, true, "", nil).Destination(&Target{Target: audience.Target{Platform: "tiktok"}}); err == nil {
		t.Error("unknown platform accepted")
	}
}

// Dry runs of Yandex and VK audiences: the plan accepts them without sinks blocks, so the
// destinations must build without them too.
func TestAccountsDryRunYandexVK(t *testing.T) {
	auds := parseAudiences(t, `
- name: y
  source: {segments: [x]}
  destinations:
    yandex: {name: "y"}
    vk: {type: emails}
`)
	p, err := NewPlan(auds, Sinks{}, contacts.Defaults(), false)
	if err != nil {
		t.Fatal(err)
	}
	d := NewAccounts(p, true, t.TempDir(), nil)
	for i := range p.Targets {
		tg := &p.Targets[i]
		dest, err := d.Destination(tg)
		if err != nil {
			t.Errorf("dry run Destination(%s) without a sinks block: %v", tg.Platform, err)
			continue
		}
		ids := []audience.Identifier{{Type: "email", Hash: strings.Repeat("a", 32)}} // VK: MD5
		if tg.Platform == "yandex" {                                                 // Yandex takes SHA-256 hashes, and 100 to create
			ids = nil
			for i := 0; i < 100; i++ {
				ids = append(ids, audience.Identifier{Type: "email", Hash: fmt.Sprintf("%064x", i)})
			}
		} else {
			for i := 1; i < 2000; i++ { // VK: 2,000 to create
				ids = append(ids, audience.Identifier{Type: "email", Hash: fmt.Sprintf("%032x", i)})
			}
		}
		ids = audience.NormaliseIdentifiers(ids)
		dir := filepath.Join(t.TempDir(), tg.Platform)
		req := audience.Request{Audience: "y", Platform: tg.Platform, Create: true, Mode: audience.ModeIncremental, Add: ids, All: ids}
		if _, err := dest.WritePayloads(context.Background(), req, dir); err != nil {
			t.Errorf("dry run %s WritePayloads: %v", tg.Platform, err)
		}
		if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) == 0 {
			t.Errorf("dry run %s wrote nothing", tg.Platform)
		}
	}
	// Sending still needs the blocks.
	if _, err := NewPlan(auds, Sinks{}, contacts.Defaults(), true); err == nil {
		t.Error("send without sinks blocks accepted")
	}
}
