package dataflow

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"
)

type parameter struct {
	Name       string   `json:"name"`
	Label      string   `json:"label"`
	HelpText   string   `json:"helpText"`
	IsOptional *bool    `json:"isOptional"`
	Regexes    []string `json:"regexes"`
}

type metadata struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Parameters  []parameter `json:"parameters"`
}

func load(t *testing.T) metadata {
	t.Helper()
	b, err := os.ReadFile("metadata.json")
	if err != nil {
		t.Fatal(err)
	}
	var m metadata
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("metadata.json: %v", err)
	}
	return m
}

func TestMetadataWellFormed(t *testing.T) {
	m := load(t)
	if m.Name == "" || m.Description == "" {
		t.Error("metadata.json: name and description are required")
	}
	seen := map[string]bool{}
	required := map[string]bool{}
	nameRE := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for i, p := range m.Parameters {
		if !nameRE.MatchString(p.Name) {
			t.Errorf("parameters[%d].name %q: want a flag name like order_lines", i, p.Name)
		}
		if seen[p.Name] {
			t.Errorf("parameters[%d].name %q: duplicate", i, p.Name)
		}
		seen[p.Name] = true
		if p.Label == "" || p.HelpText == "" {
			t.Errorf("parameters[%d] (%s): label and helpText are required", i, p.Name)
		}
		if p.IsOptional == nil {
			t.Errorf("parameters[%d] (%s): isOptional must be explicit", i, p.Name)
		} else if !*p.IsOptional {
			required[p.Name] = true
		}
		if len(p.Regexes) == 0 {
			t.Errorf("parameters[%d] (%s): give a regex so bad values fail at launch, not mid-job", i, p.Name)
		}
		for _, r := range p.Regexes {
			if _, err := regexp.Compile(r); err != nil {
				t.Errorf("parameters[%d] (%s): regex %q: %v", i, p.Name, r, err)
			}
		}
	}
	// A Dataflow run cannot do without inputs and a Cloud Storage output.
	if len(required) != 2 || !required["orders"] || !required["output"] {
		t.Errorf("required parameters = %v, want exactly orders and output", required)
	}
}

func TestMetadataRegexes(t *testing.T) {
	cases := []struct {
		param string
		value string
		ok    bool
	}{
		{"orders", "gs://shop-data/input/orders/*.csv", true},
		{"orders", "gs://shop-data/a.csv,gs://shop-data/b.csv", true},
		{"orders", "bq://shop-project.sales.orders", true},
		{"orders", "data/sample/orders.csv", false}, // a launcher VM has no local files
		{"orders", "/home/me/orders.csv", false},
		{"orders", "gs://shop-data/a.csv,data/b.csv", false},
		{"output", "gs://shop-data/out/2026-11-27", true},
		{"output", "out", false},
		{"state_dir", "gs://shop-data/state", true},
		{"state_dir", "state", false},
		{"config", "gs://shop-data/config/nightly.yaml", true},
		{"config", "gs://shop-data/config/nightly.yml", true},
		{"config", "gs://shop-data/config/nightly.json", false},
		{"run_date", "2026-11-27", true},
		{"run_date", "27.11.2026", false},
		{"period", "month", true},
		{"period", "week", true},
		{"period", "day", false},
		{"buckets", "64", true},
		{"buckets", "256", true},
		{"buckets", "0", false},
		{"buckets", "-1", false},
		{"audiences", "dry_run", true},
		{"audiences", "send", true},
		{"audiences", "off", true},
		{"audiences", "true", false},
		{"verbose", "true", true},
		{"verbose", "1", false},
		{"log_format", "json", true},
		{"log_format", "xml", false},
		{"bq_project", "shop-project", true},
		{"bq_project", "Shop_Project", false},
		{"bq_dataset", "audiencesync", true},
		{"bq_dataset", "audience-sync", false},
		{"alert_webhook", "https://hooks.example.com/T000/B000", true},
		{"alert_webhook", "http://hooks.example.com/x", false},
	}
	byName := map[string]parameter{}
	for _, p := range load(t).Parameters {
		byName[p.Name] = p
	}
	for _, c := range cases {
		p, ok := byName[c.param]
		if !ok {
			t.Errorf("no parameter %q in metadata.json", c.param)
			continue
		}
		got := true
		for _, r := range p.Regexes {
			if !regexp.MustCompile(r).MatchString(c.value) {
				got = false
			}
		}
		if got != c.ok {
			t.Errorf("%s=%q: accepted=%v, want %v (regexes %q)", c.param, c.value, got, c.ok, p.Regexes)
		}
	}
}

// TestMetadataMatchesPipelineFlags reads the pipeline's flag definitions from its source
// (building the Beam binary here would be slow) and checks every template parameter is
// one: the launcher passes parameters as --name=value and the binary rejects unknown flags.
func TestMetadataMatchesPipelineFlags(t *testing.T) {
	var src []byte
	for _, f := range []string{"main.go", "options.go"} { // options.go binds the flags, main.go adds --help_beam
		b, err := os.ReadFile("../../pipelines/nightly/" + f)
		if err != nil {
			t.Skipf("pipelines/nightly/%s not readable: %v", f, err)
		}
		src = append(src, b...)
	}
	flags := map[string]bool{}
	for _, re := range []string{
		`(?:flag|fs)\.(?:String|Bool|Int|Int64|Uint|Float64|Duration)\(\s*"([a-z0-9_]+)"`,           // flag.String("name", …)
		`(?:flag|fs)\.(?:String|Bool|Int|Int64|Uint|Float64|Duration)?Var\([^,]+,\s*"([a-z0-9_]+)"`, // fs.StringVar(&v, "name", …)
	} {
		for _, m := range regexp.MustCompile(re).FindAllSubmatch(src, -1) {
			flags[string(m[1])] = true
		}
	}
	if len(flags) == 0 {
		t.Skip("no flag definitions found in pipelines/nightly")
	}
	// Announced for the pipeline but not defined yet; remove from here once they are.
	pending := map[string]bool{}
	inMeta := map[string]bool{}
	for _, p := range load(t).Parameters {
		inMeta[p.Name] = true
		switch {
		case flags[p.Name]:
		case pending[p.Name]:
			t.Logf("parameter %q: the pipeline does not define --%s yet; a launch that sets it will fail", p.Name, p.Name)
		default:
			t.Errorf("parameter %q is not a flag of pipelines/nightly: remove it from metadata.json or add the flag", p.Name)
		}
	}
	for f := range flags {
		if !inMeta[f] && f != "validate" && f != "help_beam" {
			t.Logf("pipeline flag --%s is not a template parameter (cannot be set on Dataflow launches)", f)
		}
	}
}
