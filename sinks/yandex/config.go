package yandex

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/secret"
)

// DefaultBaseURL is the management API root; every call path is relative to it.
const DefaultBaseURL = "https://api-audience.yandex.ru/v1/management/"

// Config is the platform-level block, `sinks.yandex` in the config file:
//
//	sinks:
//	  yandex:
//	    token: {env: YANDEX_AUDIENCE_TOKEN}   # OAuth token with the audience scope
//	    writes_per_minute: 10                 # create/confirm/modify budget (default 10)
//	    poll_interval: 15s                    # status polling (default 15s)
//	    poll_timeout: 10m                     # give up waiting for "processed" (default 10m)
//	    http: {timeout: 60s, rate_per_sec: 5} # see httpx.Config; rate_per_sec defaults to 5 for reads
type Config struct {
	BaseURL         string        `yaml:"base_url"`
	Token           secret.Ref    `yaml:"token"`
	WritesPerMinute float64       `yaml:"writes_per_minute"`
	PollInterval    time.Duration `yaml:"poll_interval"`
	PollTimeout     time.Duration `yaml:"poll_timeout"`
	HTTP            httpx.Config  `yaml:"http"`
}

// Defaults returns c with zero fields set to their defaults.
func (c Config) Defaults() Config {
	c.BaseURL = strings.TrimSuffix(cmp.Or(c.BaseURL, DefaultBaseURL), "/") + "/"
	c.WritesPerMinute = cmp.Or(c.WritesPerMinute, 10)
	c.PollInterval = cmp.Or(c.PollInterval, 15*time.Second)
	c.PollTimeout = cmp.Or(c.PollTimeout, 10*time.Minute)
	// Yandex allows 30 requests a second; 5 leaves room for other tools on the account.
	c.HTTP = c.HTTP.DefaultsAt(5)
	return c
}

// Validate checks c, including that the token resolves; path is e.g. "sinks.yandex".
func (c Config) Validate(path string) error {
	if err := c.validateShape(path, true); err != nil {
		return err
	}
	return c.Token.Validate(path + ".token")
}

// ValidateSettings is Validate without the token, for dry runs.
func (c Config) ValidateSettings(path string) error { return c.validateShape(path, false) }

// validateShape checks everything but the secret's value; withToken requires a token reference.
func (c Config) validateShape(path string, withToken bool) error {
	if err := httpx.CheckURL(path+".base_url", c.BaseURL); err != nil {
		return err
	}
	if err := c.Token.CheckSource(path+".token", withToken, "token", " (a Yandex OAuth token)"); err != nil {
		return err
	}
	return cmp.Or(httpx.NotNegative(path+".writes_per_minute", c.WritesPerMinute),
		httpx.NotNegative(path+".poll_interval", c.PollInterval), httpx.NotNegative(path+".poll_timeout", c.PollTimeout),
		c.HTTP.Validate(path+".http"))
}

// Target is one audience's segment, `audiences[i].destinations.yandex`:
//
//	destinations:
//	  yandex: {name: "audiencesync mattress_no_cover"}   # or {id: 12345678}
//
// Both fields may be empty: the segment is then named after the audience.
type Target struct {
	Name string `yaml:"name"` // segment name; found by name, created when missing
	ID   int64  `yaml:"id"`   // an existing segment's id; wins over name
	// Lookalike is the audience's lookalikes.yandex block (nil: none), set by sinks/delivery.
	Lookalike *Lookalike `yaml:"-"`
}

// Validate checks t; path is e.g. "audiences[2].destinations.yandex".
func (t Target) Validate(path string) error {
	if t.ID < 0 {
		return fmt.Errorf("%s.id: must be a positive segment id, got %d", path, t.ID)
	}
	if len(t.Name) > 250 {
		return fmt.Errorf("%s.name: %d characters, Yandex allows at most 250", path, len(t.Name))
	}
	if strings.TrimSpace(t.Name) != t.Name {
		return fmt.Errorf("%s.name: %q has surrounding spaces; remove them so lookups by name match", path, t.Name)
	}
	return nil
}

// Lookalike is the lookalike segment Yandex builds from one audience's segment (YAML key
// `audiences[i].lookalikes.yandex`):
//
//	lookalikes:
//	  yandex: {similarity: 3, keep_device_distribution: true, keep_geo_distribution: true}
//
// It is created once the source segment is processed, and found again by name on later runs.
type Lookalike struct {
	// Name of the lookalike segment; default "<source segment name> lookalike <similarity>".
	Name string `yaml:"name"`
	// Similarity is Yandex's lookalike_value: 1 (the most similar, smallest) to 5 (the
	// widest reach).
	Similarity int `yaml:"similarity"`
	// KeepDeviceDistribution keeps the source's share of devices (default true).
	KeepDeviceDistribution *bool `yaml:"keep_device_distribution"`
	// KeepGeoDistribution keeps the source's distribution by city (default true).
	KeepGeoDistribution *bool `yaml:"keep_geo_distribution"`
}

// Similarity range of a lookalike segment (Yandex's lookalike_value).
const (
	MinSimilarity = 1
	MaxSimilarity = 5
)

// Validate checks l; path is e.g. "audiences[2].lookalikes.yandex".
func (l Lookalike) Validate(path string) error {
	switch {
	case l.Similarity < MinSimilarity || l.Similarity > MaxSimilarity:
		return fmt.Errorf("%s.similarity: %d is outside %d..%d (1 = the most similar, 5 = the widest reach)", path, l.Similarity, MinSimilarity, MaxSimilarity)
	case len(l.Name) > 250:
		return fmt.Errorf("%s.name: %d characters, Yandex allows at most 250", path, len(l.Name))
	case strings.TrimSpace(l.Name) != l.Name:
		return fmt.Errorf("%s.name: %q has surrounding spaces; remove them so lookups by name match", path, l.Name)
	}
	return nil
}

// ValueColumn: a Yandex segment takes no values.
func (Lookalike) ValueColumn() (column, currency string) { return "", "" }
