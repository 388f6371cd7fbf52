// Package config loads and validates the pipeline's YAML config: metric settings, RFM,
// k-means, smart segment rules, contacts hashing, audiences and their platform
// destinations, and where secrets come from (env vars or files, never the YAML itself).
// Each topic package owns its own Config type and validation; this package composes them,
// rejects unknown keys, bounds every size-like and count-like value (bounds.go), and prefixes
// every error with the file name, the line where the YAML has one, and the field path, e.g.
// `config.yaml:17: kmeans.restarts: 1000000000 (want 1..100)`.
package config

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sinks/delivery"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/clv"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/kmeans"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"gopkg.in/yaml.v3"
)

// Version is the config schema version this build reads.
const Version = 1

// Metrics are the metric settings of metrics.md.
type Metrics struct {
	Period             string `yaml:"period"`               // month (default) or week; the --period flag overrides
	ActivityWindowDays int    `yaml:"activity_window_days"` // W for CRR/churn; default 365
	CLVLifetimeDays    int    `yaml:"clv_lifetime_days"`    // expected lifetime for simple CLV; default 730
	// TimeZone is the shop's IANA time zone (default UTC): timestamps with an offset are
	// converted to it, timestamps without one are read in it, and every day, period,
	// cohort and run date is a date in it.
	TimeZone string `yaml:"timezone"`
}

// KMeans is the k-means section: kmeans.Config plus an on/off switch.
type KMeans struct {
	Enabled       *bool `yaml:"enabled"` // default true
	kmeans.Config `yaml:",inline"`
}

// On reports whether k-means runs.
func (k KMeans) On() bool { return k.Enabled == nil || *k.Enabled }

// Config is the whole file.
type Config struct {
	Version  int             `yaml:"version"`
	Metrics  Metrics         `yaml:"metrics"`
	RFM      rfm.Config      `yaml:"rfm"`
	KMeans   KMeans          `yaml:"kmeans"`
	Segments segments.Config `yaml:"segments"`
	Contacts contacts.Config `yaml:"contacts"`
	CLV      clv.Config      `yaml:"clv"`

	// Inputs holds per-input limits: the share of rows that may be dead-lettered.
	Inputs orders.Limits `yaml:"inputs"`

	Audiences []audience.Config `yaml:"audiences"`
	Sinks     delivery.Sinks    `yaml:"sinks"`

	// BigQuery is where the metric tables are loaded (when project and dataset are set) and
	// how bq:// inputs are read. The --bq_* flags override it.
	BigQuery bigquery.Config `yaml:"bigquery"`

	// File is where the config was loaded from ("" for defaults).
	File string `yaml:"-"`
}

// Default returns the config used when no file is given.
func Default() *Config {
	c := &Config{Version: Version, RFM: rfm.Defaults(), KMeans: KMeans{Config: kmeans.Defaults()}, Contacts: contacts.Defaults(), CLV: clv.Defaults()}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.Metrics.Period == "" {
		c.Metrics.Period = "month"
	}
	if c.Metrics.ActivityWindowDays == 0 {
		c.Metrics.ActivityWindowDays = 365
	}
	if c.Metrics.CLVLifetimeDays == 0 {
		c.Metrics.CLVLifetimeDays = 730
	}
	if c.Metrics.TimeZone == "" {
		c.Metrics.TimeZone = "UTC"
	}
}

// Load reads, defaults and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates config text; file names the source in errors, which carry the
// line where the YAML has one (`config.yaml:17: kmeans.restarts: 1000000000 (want 1..100)`).
// The text must be one YAML document: a second one (after ---) is an error, not ignored.
func Parse(file string, data []byte) (*Config, error) {
	c := &Config{RFM: rfm.Defaults(), KMeans: KMeans{Config: kmeans.Defaults()}, Contacts: contacts.Defaults(), CLV: clv.Defaults()}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err != io.EOF { // an empty file means all defaults
		return nil, decodeError(file, data, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		line := secondDocument(data)
		if line == 0 {
			line = next.Line
		}
		return nil, fmt.Errorf("%s:%d: a second YAML document starts here: the config is one document (merge it into the first or delete from this line on)", file, line)
	}
	c.File = file
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		msg := err.Error()
		if strings.HasPrefix(msg, file+":") {
			return nil, err // already names the file (and line)
		}
		if path := pathRe.FindString(msg); path != "" {
			if line := lineOf(parseTree(data), path); line > 0 {
				return nil, fmt.Errorf("%s:%d: %w", file, line, err)
			}
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// Validate checks every section; the first error names its field path.
func (c *Config) Validate() error {
	if c.Version != 0 && c.Version != Version {
		return fmt.Errorf("version: %d is not supported by this build (want %d)", c.Version, Version)
	}
	if err := c.checkBounds(); err != nil {
		return err
	}
	switch c.Metrics.Period {
	case "month", "week":
	default:
		return fmt.Errorf("metrics.period: %q (want month or week)", c.Metrics.Period)
	}
	if c.Metrics.ActivityWindowDays < 1 {
		return fmt.Errorf("metrics.activity_window_days: %d (want >= 1)", c.Metrics.ActivityWindowDays)
	}
	if c.Metrics.CLVLifetimeDays < 1 {
		return fmt.Errorf("metrics.clv_lifetime_days: %d (want >= 1)", c.Metrics.CLVLifetimeDays)
	}
	if _, err := orders.LoadZone(c.Metrics.TimeZone); err != nil {
		return fmt.Errorf("metrics.timezone: %w", err)
	}
	if err := c.Inputs.Validate("inputs"); err != nil {
		return err
	}
	if err := c.RFM.Validate("rfm"); err != nil {
		return err
	}
	if err := c.KMeans.Validate("kmeans"); err != nil {
		return err
	}
	if len(c.Segments.Rules) > 0 {
		// Compiling checks every rule's condition against the typed environment, so a typo
		// fails here with the file, line and rule name.
		if _, err := c.Segments.Compile(c.File, "segments"); err != nil {
			return err
		}
	}
	if err := c.Contacts.Validate("contacts"); err != nil {
		return err
	}
	if err := c.CLV.Validate("clv"); err != nil {
		return err
	}
	if c.BigQuery.Project != "" || c.BigQuery.Dataset != "" {
		// Validate expects the defaults filled in (read_api storage, read_streams 4).
		if err := c.BigQuery.Defaults().Validate("bigquery"); err != nil {
			return err
		}
	}
	if err := c.checkAudienceSources(); err != nil {
		return err
	}
	if _, err := c.AudiencePlan(false); err != nil {
		return err
	}
	return c.checkLookalikeValues()
}

// checkLookalikeValues rejects a value-based seed whose value column the run does not
// compute: pred_clv needs the CLV model (every value would be 0).
func (c *Config) checkLookalikeValues() error {
	for i, a := range c.Audiences {
		for _, plat := range slices.Sorted(maps.Keys(a.Lookalikes)) {
			var v struct {
				Value string `yaml:"value"`
			}
			n := a.Lookalikes[plat]
			if n.Decode(&v) == nil && v.Value == "pred_clv" && !c.CLV.Enabled {
				return fmt.Errorf("audiences[%d].lookalikes.%s.value: pred_clv needs the CLV model, which clv.enabled turns off (every value would be 0): enable it or use revenue or clv_simple", i, plat)
			}
		}
	}
	return nil
}

// checkAudienceSources rejects an audience source naming a segment that no rule, RFM grid
// cell or (enabled) k-means can produce: a typo would otherwise give a quietly empty
// audience. k-means cluster names depend on the data, so only the prefix is checked.
func (c *Config) checkAudienceSources() error {
	known := map[string]bool{}
	for _, g := range c.RFM.Grid() {
		known["rfm:"+g.Name] = true
	}
	for _, r := range c.Segments.Rules {
		known["rule:"+r.Name] = true
		for _, rem := range r.Reminders {
			known["rule:"+rem.Name] = true
		}
	}
	for i, a := range c.Audiences {
		for _, list := range []struct {
			key   string
			names []string
		}{{"segments", a.Source.Segments}, {"exclude", a.Source.Exclude}} {
			for j, n := range list.names {
				path := fmt.Sprintf("audiences[%d].source.%s[%d]", i, list.key, j)
				switch {
				case known[n]:
				case strings.HasPrefix(n, "kmeans:"):
					if !c.KMeans.On() {
						return fmt.Errorf("%s: %q needs k-means, which kmeans.enabled turns off", path, n)
					}
				case strings.HasPrefix(n, "rfm:") || strings.HasPrefix(n, "rule:"):
					return fmt.Errorf("%s: unknown segment %q (known: %s)", path, n, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
				default:
					return fmt.Errorf("%s: %q must be source:segment with source rfm, kmeans or rule", path, n)
				}
			}
		}
	}
	return nil
}

// AudiencePlan decodes the audiences' destinations; withSecrets also checks that every
// platform in use has its credentials (sending, and --validate).
func (c *Config) AudiencePlan(withSecrets bool) (*delivery.Plan, error) {
	return delivery.NewPlan(c.Audiences, c.Sinks, c.Contacts, withSecrets)
}
