package audience_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/audiencesync/audiencesync/transforms/audience"
)

const sampleYAML = `
- name: mattress_no_cover
  description: bought a mattress, no cover since
  source:
    segments: [rule:mattress_no_cover, rfm:champions]
    exclude: [rfm:lost]
  identifiers: [email]
  mode: replace
  max_remove_share: 0.3
  destinations:
    yandex:
      segment_name: Mattress buyers
    vk: {list_type: emails}
- name: loyal
  source:
    segments: [kmeans:loyal]
  destinations:
    meta:
`

var platforms = []string{"yandex", "vk", "meta", "google"}

func decode(t *testing.T, src string) []audience.Config {
	t.Helper()
	var cfgs []audience.Config
	if err := yaml.Unmarshal([]byte(src), &cfgs); err != nil {
		t.Fatal(err)
	}
	return cfgs
}

func TestConfigDecodeAndDefaults(t *testing.T) {
	cfgs := decode(t, sampleYAML)
	if err := audience.ValidateAll("audiences", cfgs, platforms); err != nil {
		t.Fatal(err)
	}
	a, b := &cfgs[0], &cfgs[1]
	if a.SyncMode() != audience.ModeReplace || a.RemoveShare() != 0.3 || strings.Join(a.IDs(), ",") != "email" {
		t.Errorf("audience 0: mode %s share %v ids %v", a.SyncMode(), a.RemoveShare(), a.IDs())
	}
	if b.SyncMode() != audience.ModeIncremental || b.RemoveShare() != 0.5 || strings.Join(b.IDs(), ",") != "email,phone" {
		t.Errorf("audience 1 defaults: mode %s share %v ids %v", b.SyncMode(), b.RemoveShare(), b.IDs())
	}
	var y struct {
		SegmentName string `yaml:"segment_name"`
	}
	if err := a.DecodeDestination("yandex", &y); err != nil || y.SegmentName != "Mattress buyers" {
		t.Errorf("yandex block: %+v %v", y, err)
	}
	var v struct {
		ListType string `yaml:"list_type"`
	}
	if err := a.DecodeDestination("vk", &v); err != nil || v.ListType != "emails" {
		t.Errorf("vk block: %+v %v", v, err)
	}
	if err := b.DecodeDestination("meta", &v); err != nil {
		t.Errorf("empty meta block: %v", err)
	}
}

func TestConfigValidateErrors(t *testing.T) {
	const ok = `{name: a, source: {segments: [rfm:champions]}, destinations: {yandex: {}}}`
	cases := []struct{ src, want string }{
		{`{source: {segments: [x]}, destinations: {yandex: {}}}`, `audiences[0].name: empty`},
		{`{name: a b, source: {segments: [x]}, destinations: {yandex: {}}}`, `audiences[0].name: "a b": use only letters`},
		{`{name: ../x, source: {segments: [x]}, destinations: {yandex: {}}}`, `audiences[0].name: "../x": use only letters`},
		{`{name: a, source: {segments: []}, destinations: {yandex: {}}}`, `audiences[0].source.segments: empty`},
		{`{name: a, source: {segments: [x, ""]}, destinations: {yandex: {}}}`, `audiences[0].source.segments[1]: empty segment name`},
		{`{name: a, source: {segments: [x], exclude: [x]}, destinations: {yandex: {}}}`, `audiences[0].source.exclude[0]: "x" is also in source.segments`},
		{`{name: a, source: {segments: [x]}, destinations: {}}`, `audiences[0].destinations: empty`},
		{`{name: a, source: {segments: [x]}, destinations: {metaa: {}}}`, `audiences[0].destinations.metaa: unknown platform (known: yandex, vk, meta, google)`},
		{`{name: a, source: {segments: [x]}, destinations: {vk: [1]}}`, `audiences[0].destinations.vk: want a mapping`},
		{`{name: a, source: {segments: [x]}, identifiers: [email, phonez], destinations: {vk: {}}}`, `audiences[0].identifiers[1]: unknown identifier "phonez" (known: email, phone)`},
		{`{name: a, source: {segments: [x]}, identifiers: [email, email], destinations: {vk: {}}}`, `audiences[0].identifiers[1]: "email" listed twice`},
		{`{name: a, source: {segments: [x]}, mode: full, destinations: {vk: {}}}`, `audiences[0].mode: unknown mode "full" (known: incremental, replace)`},
		{`{name: a, source: {segments: [x]}, max_remove_share: 1.5, destinations: {vk: {}}}`, `audiences[0].max_remove_share: 1.5 is outside [0, 1]`},
		{ok + "\n- " + ok, `audiences[1].name: "a" is already the name of audiences[0]`},
	}
	for _, c := range cases {
		err := audience.ValidateAll("audiences", decode(t, "- "+c.src), platforms)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.src, err, c.want)
		}
	}
	if err := audience.ValidateAll("audiences", decode(t, "- "+ok), platforms); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestMatches(t *testing.T) {
	c := audience.Config{Source: audience.Source{Segments: []string{"rfm:champions", "kmeans:loyal"}, Exclude: []string{"rule:refunder", "rfm:lost"}}}
	m := c.Compile()
	cases := []struct {
		segs []string
		want bool
	}{
		{nil, false},
		{[]string{"rfm:champions"}, true},
		{[]string{"other", "kmeans:loyal"}, true},
		{[]string{"rfm:champions", "rule:refunder"}, false},
		{[]string{"rfm:lost", "kmeans:loyal"}, false},
		{[]string{"other"}, false},
		{[]string{"rfm:lost"}, false},
	}
	for _, tc := range cases {
		if got := c.Matches(tc.segs); got != tc.want {
			t.Errorf("Matches(%v) = %v", tc.segs, got)
		}
		if got := m.Match(tc.segs); got != tc.want {
			t.Errorf("Match(%v) = %v", tc.segs, got)
		}
	}
	segs := []string{"a", "kmeans:loyal", "b"}
	if n := testing.AllocsPerRun(100, func() { m.Match(segs); c.Matches(segs) }); n != 0 {
		t.Errorf("membership test allocates %v times", n)
	}
}
