package config

import (
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// base is a valid 17-line config; the cases below change one line of it.
var base = []string{
	"version: 1",                  // 1
	"metrics:",                    // 2
	"  period: month",             // 3
	"  activity_window_days: 365", // 4
	"rfm:",                        // 5
	"  bins: 5",                   // 6
	"  lookback_days: 365",        // 7
	"kmeans:",                     // 8
	"  k: 0",                      // 9
	"  restarts: 5",               // 10
	"  max_iter: 100",             // 11
	"clv:",                        // 12
	"  enabled: true",             // 13
	"  horizon_days: 365",         // 14
	"contacts:",                   // 15
	"  default_region: RU",        // 16
	"  vk_hash: md5",              // 17
}

func withLine(n int, text string) []byte {
	l := append([]string(nil), base...)
	l[n-1] = text
	return []byte(strings.Join(l, "\n") + "\n")
}

// Syntax errors are reported at the line where they are, whatever yaml.v3 says (it names the
// line where the enclosing block started for several of them). Lines worked out by reading
// the text.
func TestSyntaxErrorLines(t *testing.T) {
	if _, err := Parse("config.yaml", withLine(17, "  vk_hash: md5")); err != nil {
		t.Fatalf("base config: %v", err)
	}
	cases := []struct {
		name string
		data []byte
		want string // prefix of the error
	}{
		{"dedented key", withLine(17, " vk_hash: md5"), "config.yaml:17: "},
		{"over-indented key", withLine(17, "      vk_hash: md5"), "config.yaml:17: "},
		{"tab indentation", withLine(17, "\tvk_hash: md5"), "config.yaml:17: "},
		{"key at the top level inside a block", withLine(11, " max_iter: 100"), "config.yaml:11: "},
		{"unclosed flow sequence", withLine(10, "  restarts: [5"), "config.yaml:10: "},
		{"unterminated quote", withLine(16, `  default_region: "RU`), "config.yaml:16: "},
		{"colon in a plain value", withLine(3, "  period: month: week"), "config.yaml:3: "},
		// A quoted string over several lines is fine until the real error further down.
		{"error after a multi-line string", []byte("metrics:\n  period: \"mon\n    th\"\nrfm:\n  bins: 5\n   lookback_days: 3\n"), "config.yaml:6: "},
	}
	for _, c := range cases {
		_, err := Parse("config.yaml", c.data)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to start with %q", c.name, err, c.want)
		}
	}
	// The report of issue 13: a key of the top level indented by one space, in a file that
	// starts with a comment. yaml.v3 names line 1 (where the top-level mapping starts); the
	// key is on line 16.
	data := append([]byte("# audiencesync config\n"), withLine(15, " contacts:")...)
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err == nil || strings.Contains(err.Error(), "line 16") {
		t.Logf("yaml.v3 alone now says %v: the case no longer shows its bug (the check below stays)", err)
	}
	if _, err := Parse("config.yaml", data); err == nil || !strings.HasPrefix(err.Error(), "config.yaml:16: ") {
		t.Errorf("top-level key indented: err = %v, want config.yaml:16", err)
	}
}

// A second document is an error at the line of its marker, never silently ignored.
func TestSecondDocument(t *testing.T) {
	doc := strings.Join(base, "\n") + "\n"
	cases := []struct {
		name string
		data string
		line int
	}{
		{"--- after the config", doc + "---\nkmeans:\n  restarts: 1000\n", 18},
		{"leading --- and a second one", "---\n" + doc + "---\nrfm: {bins: 3}\n", 19},
		{"--- with a comment before the first document", "# config\n---\n" + doc + "--- # more\nrfm: {bins: 3}\n", 20},
		{"empty second document", doc + "---\n", 18},
		{"document end marker then more", doc + "...\n---\nrfm: {bins: 3}\n", 18},
		{"--- inline content", "--- {version: 1}\n--- {version: 1}\n", 2},
	}
	for _, c := range cases {
		_, err := Parse("config.yaml", []byte(c.data))
		want := fmt.Sprintf("config.yaml:%d: a second YAML document starts here", c.line)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q…", c.name, err, want)
		}
	}
	// One document with an explicit start (and end) marker is fine.
	for _, ok := range []string{"---\n" + doc, "---\n" + doc + "...\n", "# c\n---\n" + doc + "# trailing comment\n"} {
		if _, err := Parse("config.yaml", []byte(ok)); err != nil {
			t.Errorf("%q: %v", ok[:12], err)
		}
	}
}

// Validation errors carry the line of the key they name, or of its nearest written parent
// when the value comes from a default; a value nowhere in the file gets no line.
func TestValidationErrorLines(t *testing.T) {
	cases := []struct {
		data, want string
	}{
		{string(withLine(10, "  restarts: 1000000000")), "config.yaml:10: kmeans.restarts: 1000000000 (want 1..100)"},
		{string(withLine(6, "  bins: 4")), "config.yaml:6: rfm.bins: 4 is not supported"},
		// An alias: the line is where the key is written, not where the anchored value is.
		{"clv:\n  starts: &n 500\nkmeans:\n  restarts: *n\n", "config.yaml:4: kmeans.restarts: 500 (want 1..100)"},
		// A flow mapping: the key's line.
		{"kmeans: {k: 2, max_iter: 0}\n", "config.yaml:1: kmeans.max_iter: 0 (want 1..1000)"},
		{"metrics:\n  period: month\n  activity_window_days: 5000\n", "config.yaml:3: metrics.activity_window_days: 5000 (want 1..3660; 0 = default 365)"},
	}
	for _, c := range cases {
		_, err := Parse("config.yaml", []byte(c.data))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("err = %v, want %q…", err, c.want)
		}
	}
}

// Type errors and unknown keys name the key's path and line, every one of them.
func TestDecodeErrorLines(t *testing.T) {
	_, err := Parse("config.yaml", []byte("kmeans:\n  k: four\n  restartz: 5\nrfm:\n  bins: [5]\nclv: {starts: 5, margin: high, enabled: true}\ncontacts: {vk_hash: md5, region: RU}\n"))
	want := []string{
		"config.yaml:2: kmeans.k: cannot unmarshal !!str `four` into int",
		"config.yaml:3: kmeans.restartz: unknown key (known: enabled, k, seed, restarts, max_iter, tolerance, sample_size, silhouette_sample, extra_features)",
		"config.yaml:5: rfm.bins: cannot unmarshal !!seq into int",
		"config.yaml:6: clv.margin: cannot unmarshal !!str `high` into float64",
		"config.yaml:7: contacts.region: unknown key (known: default_region, vk_hash)",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("err =\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}
