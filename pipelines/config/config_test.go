package config

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/contacts"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"unknown top-level key", "version: 1\nmetrics:\n  period: month\nmetrix: {}\n",
			[]string{"cfg.yaml:4: metrix: unknown key (known: version, metrics, "}},
		{"unknown nested key", "metrics:\n  perod: week\n",
			[]string{"cfg.yaml:2: metrics.perod: unknown key (known: period, activity_window_days, clv_lifetime_days, timezone)"}},
		{"rfm bins", "rfm:\n  bins: 4\n", []string{"cfg.yaml:2: rfm.bins: 4 "}},
		{"period", "metrics:\n  period: fortnight\n", []string{"cfg.yaml:2: metrics.period:", "fortnight"}},
		{"activity window", "metrics:\n  activity_window_days: -1\n", []string{"cfg.yaml:2: metrics.activity_window_days: -1 (want 1..3660; 0 = default 365)"}},
		{"version", "version: 2\n", []string{"cfg.yaml:1: version: 2 "}},
		{"segment rule unknown field in condition", "segments:\n  rules:\n    - name: ok_rule\n      condition: aov > 1\n    - name: typo_rule\n      condition: aovv > 1000\n",
			[]string{"cfg.yaml:6:", "typo_rule", "aovv"}},
		{"segment rule unknown yaml key", "segments:\n  rules:\n    - name: r\n      conditon: aov > 1\n",
			[]string{"cfg.yaml:4: segments.rules[0].conditon:", "unknown key"}},
		{"vk_hash none", "contacts:\n  vk_hash: none\n", []string{"cfg.yaml:2: contacts.vk_hash:", "none"}},
		{"default region", "contacts:\n  default_region: XX\n", []string{"cfg.yaml:2: contacts.default_region:", "XX"}},
		{"unknown platform", "audiences:\n  - name: a\n    source: {segments: [\"rfm:champions\"]}\n    destinations:\n      tiktok: {name: x}\n",
			[]string{"cfg.yaml:5: audiences[0].destinations.tiktok:", "unknown platform"}},
		{"source naming nothing", "audiences:\n  - name: a\n    source: {}\n    destinations:\n      yandex: {name: x}\n",
			[]string{"cfg.yaml:3: audiences[0].source.segments:", "empty"}},
		{"second audience bad", "audiences:\n  - name: a\n    source: {segments: [\"rfm:champions\"]}\n    destinations: {yandex: {}}\n  - name: b\n    source: {segments: [\"rfm:champions\"]}\n    destinations: {vk: {type: phonez}}\n",
			[]string{"cfg.yaml:7: audiences[1].destinations.vk.type:", "phonez"}},
		{"clv margin", "clv:\n  margin: 1.5\n", []string{"cfg.yaml:2: clv.margin: 1.5 (want > 0 and <= 1)"}},
		{"kmeans", "kmeans:\n  k: -1\n", []string{"cfg.yaml:2: kmeans.k: -1 (want 0..50)"}},
		{"not yaml", "metrics: [1, 2\n", []string{"cfg.yaml:1: "}},
		{"time zone", "metrics:\n  timezone: Europe/Moskow\n", []string{"cfg.yaml:2: metrics.timezone:", "Europe/Moskow"}},
		{"rejected share", "inputs:\n  orders: {max_rejected_share: 1.5}\n", []string{"cfg.yaml:2: inputs.orders.max_rejected_share:", "1.5"}},
		{"rejected share negative", "inputs:\n  spend: {max_rejected_share: -0.1}\n", []string{"cfg.yaml:2: inputs.spend.max_rejected_share:"}},
		{"unknown input", "inputs:\n  refunds: {max_rejected_share: 0.1}\n", []string{"cfg.yaml:2", "refunds"}},
		// Lookalikes: the seed must be on the platform, the platform must build lookalikes,
		// every key known, ratios on Meta's grid, value columns the run computes.
		{"lookalike without its destination", lookalikes("destinations: {yandex: {}}", "meta: {ratio: 0.02, country: RU}"),
			[]string{"cfg.yaml:7: audiences[0].lookalikes.meta: the audience has no destinations.meta"}},
		{"lookalike on vk", lookalikes("destinations: {vk: {type: phones}}", "vk: {reach: 300000}"),
			[]string{"cfg.yaml:7: audiences[0].lookalikes.vk: vk builds no lookalikes through its API", "VK Ads cabinet"}},
		{"lookalike on google", lookalikes(`destinations: {google: {operating_account_id: "1234567890", user_list_id: "1"}}`, "google: {}"),
			[]string{"cfg.yaml:7: audiences[0].lookalikes.google:", "similar audiences"}},
		{"lookalike unknown key", lookalikes("destinations: {yandex: {}}", "yandex: {similarity: 2, simliarity: 3}"),
			[]string{"cfg.yaml:7: audiences[0].lookalikes.yandex.simliarity: unknown key (line 7; known: name, similarity, keep_device_distribution, keep_geo_distribution)"}},
		{"lookalike similarity missing", lookalikes("destinations: {yandex: {}}", "yandex: {keep_geo_distribution: false}"),
			[]string{"cfg.yaml:7: audiences[0].lookalikes.yandex.similarity: 0 (want 1..5)"}},
		{"lookalike ratio off the grid", lookalikes(`destinations: {meta: {ad_account_id: "1"}}`, "meta: {ratio: 0.015, country: RU}"),
			[]string{"cfg.yaml:7: audiences[0].lookalikes.meta.ratio: 0.015 is not a whole percent"}},
		{"lookalike country", lookalikes(`destinations: {meta: {ad_account_id: "1"}}`, "meta: {ratio: 0.05, country: russia}"),
			[]string{"cfg.yaml:7: audiences[0].lookalikes.meta.country:", "russia"}},
		{"lookalike value", lookalikes(`destinations: {meta: {ad_account_id: "1"}}`, "meta: {ratio: 0.05, country: RU, value: aov}"),
			[]string{"cfg.yaml:7: audiences[0].lookalikes.meta.value: unknown value \"aov\" (known: pred_clv, revenue, clv_simple"}},
		{"lookalike pred_clv without clv", "clv: {enabled: false}\n" + lookalikes(`destinations: {meta: {ad_account_id: "1"}}`, "meta: {ratio: 0.05, country: RU, value: pred_clv}"),
			[]string{"cfg.yaml:8: audiences[0].lookalikes.meta.value: pred_clv needs the CLV model"}},
		{"lookalike unknown platform", lookalikes("destinations: {yandex: {}}", "tiktok: {}"),
			[]string{"cfg.yaml:7: audiences[0].lookalikes.tiktok: unknown platform"}},
	}
	for _, c := range cases {
		_, err := Parse("cfg.yaml", []byte(c.yaml))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", c.name, err, w)
			}
		}
		// The file is named once, not twice.
		if strings.Count(err.Error(), "cfg.yaml") != 1 {
			t.Errorf("%s: error %q names the file %d times", c.name, err, strings.Count(err.Error(), "cfg.yaml"))
		}
	}
}

// lookalikes is a config of one audience with the given destinations line and its
// lookalikes block on line 7.
func lookalikes(destinations, block string) string {
	return "audiences:\n  - name: a\n    source: {segments: [\"rfm:champions\"]}\n    " + destinations + "\n    lookalikes:\n\n      " + block + "\n"
}

func TestEmptyFileIsDefaults(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "version: 1\n"} {
		c, err := Parse("empty.yaml", []byte(text))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		// The documented defaults, by hand.
		if c.Metrics.Period != "month" || c.Metrics.ActivityWindowDays != 365 || c.Metrics.CLVLifetimeDays != 730 || c.Metrics.TimeZone != "UTC" {
			t.Errorf("%q: metrics %+v", text, c.Metrics)
		}
		if c.RFM.Bins != 5 || c.RFM.LookbackDays != 365 || !c.KMeans.On() {
			t.Errorf("%q: rfm %+v, kmeans on %v", text, c.RFM, c.KMeans.On())
		}
		if c.Contacts != (contacts.Config{DefaultRegion: "RU", VKHash: "md5"}) {
			t.Errorf("%q: contacts %+v", text, c.Contacts)
		}
		if len(c.Audiences) != 0 || len(c.Segments.Rules) != 0 || c.File != "empty.yaml" {
			t.Errorf("%q: audiences %d, rules %d, file %q", text, len(c.Audiences), len(c.Segments.Rules), c.File)
		}
		// The same as Default() apart from where it came from and the version written.
		d := Default()
		c.File, c.Version, d.Version = "", 0, 0
		if !reflect.DeepEqual(c, d) {
			t.Errorf("%q: Parse(empty) = %+v\nDefault() = %+v", text, c, d)
		}
		if _, err := c.AudiencePlan(true); err != nil {
			t.Errorf("no audiences, with secrets: %v", err)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default() does not validate: %v", err)
	}
}

// Rejection thresholds default to 1% per input; a set one applies to its input only.
func TestInputLimits(t *testing.T) {
	c, err := Parse("c.yaml", []byte("metrics: {timezone: Europe/Moscow}\ninputs:\n  orders: {max_rejected_share: 0.05}\n  spend: {max_rejected_share: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.TimeZone != "Europe/Moscow" {
		t.Errorf("timezone %q", c.Metrics.TimeZone)
	}
	for in, want := range map[string]float64{"orders": 0.05, "spend": 0, "customers": 0.01, "order_lines": 0.01} {
		if got := c.Inputs.MaxRejected(in); got != want {
			t.Errorf("%s: max rejected %v, want %v", in, got, want)
		}
	}
}

func TestOverrides(t *testing.T) {
	c, err := Parse("c.yaml", []byte("metrics: {period: week, activity_window_days: 90}\nrfm: {bins: 3}\nkmeans: {enabled: false}\ncontacts: {vk_hash: sha256}\nclv: {margin: 0.3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Period != "week" || c.Metrics.ActivityWindowDays != 90 || c.Metrics.CLVLifetimeDays != 730 ||
		c.RFM.Bins != 3 || c.RFM.LookbackDays != 365 || c.KMeans.On() || c.Contacts.VKHash != "sha256" || c.Contacts.DefaultRegion != "RU" || c.CLV.Margin != 0.3 {
		t.Errorf("overrides: %+v", c)
	}
}

// The sample config shipped with the pipeline must keep parsing as the code changes.
func TestSampleConfig(t *testing.T) {
	const path = "../nightly/sample-config.yaml"
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Segments.Rules) != 7 || len(c.Audiences) != 5 || c.Sinks.VK == nil || c.Sinks.Meta == nil || c.Sinks.Google == nil || c.Sinks.Yandex == nil {
		t.Errorf("sample: %d rules, %d audiences, sinks %+v", len(c.Segments.Rules), len(c.Audiences), c.Sinks)
	}
	// Dry run needs no secrets: 2 + 2 + 2 + 1 + 2 targets.
	p, err := c.AudiencePlan(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Targets) != 9 {
		t.Errorf("%d targets, want 9", len(p.Targets))
	}
	// The lookalike example: top_clv_seed is a value-based seed on Meta (pred_clv) and a
	// plain one on Yandex, each with a lookalike.
	var seeds []string
	for _, tg := range p.Targets {
		if tg.Lookalike {
			seeds = append(seeds, tg.Key()+" "+tg.Value)
		}
	}
	if want := []string{"top_clv_seed/meta pred_clv", "top_clv_seed/yandex "}; !slices.Equal(seeds, want) {
		t.Errorf("lookalike targets %q, want %q", seeds, want)
	}
	if _, err := Load("does-not-exist.yaml"); err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("missing file: %v", err)
	}
	// A copy with an unknown key fails with the key's line.
	data, _ := os.ReadFile(path)
	bad := strings.Replace(string(data), "  bins: 5", "  binz: 5", 1)
	line := 1 + strings.Count(bad[:strings.Index(bad, "binz")], "\n")
	if _, err := Parse("sample.yaml", []byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "sample.yaml:"+strconv.Itoa(line)+": rfm.binz: unknown key") {
		t.Errorf("sample with binz (line %d): %v", line, err)
	}
}

func TestAudienceSourceNamesAreChecked(t *testing.T) {
	base := `
segments:
  rules:
    - name: mattress_no_cover
      condition: frequency > 1
audiences:
  - name: a
    source: {segments: [%s]}
    destinations:
      yandex: {name: x}
`
	for seg, want := range map[string]string{
		`"rule:mattress_no_covr"`: `cfg.yaml:8: audiences[0].source.segments[0]: unknown segment "rule:mattress_no_covr" (known: `,
		`"champions"`:             `cfg.yaml:8: audiences[0].source.segments[0]: "champions" must be source:segment with source rfm, kmeans or rule`,
		`"rfm:champs"`:            `unknown segment "rfm:champs"`,
	} {
		_, err := Parse("cfg.yaml", []byte(fmt.Sprintf(base, seg)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("source %s: err = %v, want it to contain %q", seg, err, want)
		}
	}
	for _, ok := range []string{`"rule:mattress_no_cover"`, `"rfm:champions"`, `"rfm:can't lose"`, `"kmeans:loyal"`} {
		if _, err := Parse("cfg.yaml", []byte(fmt.Sprintf(base, ok))); err != nil {
			t.Errorf("source %s: %v", ok, err)
		}
	}
}
