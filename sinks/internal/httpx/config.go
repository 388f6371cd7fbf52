package httpx

import (
	"cmp"
	"fmt"
	"net/url"
	"time"
)

// Config is the retry and rate-limit policy of one platform. The zero value of every field
// means its default (see Defaults); sinks embed it under the key `http` of their own config.
type Config struct {
	Timeout     time.Duration `yaml:"timeout"`      // per attempt, default 30s
	MaxAttempts int           `yaml:"max_attempts"` // tries per call including the first, default 5
	BaseBackoff time.Duration `yaml:"base_backoff"` // first backoff ceiling, default 500ms; doubles per retry, full jitter
	MaxBackoff  time.Duration `yaml:"max_backoff"`  // ceiling of the jittered backoff, default 30s
	// MaxWait is the longest wait a platform may ask for (Retry-After, X-RateLimit-Reset)
	// before the call gives up instead of sleeping; default 5m.
	MaxWait    time.Duration `yaml:"max_wait"`
	RatePerSec float64       `yaml:"rate_per_sec"` // token bucket rate; 0 = unlimited
	Burst      int           `yaml:"burst"`        // token bucket size, default 1 when RatePerSec > 0
}

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config {
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.BaseBackoff == 0 {
		c.BaseBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.MaxWait == 0 {
		c.MaxWait = 5 * time.Minute
	}
	if c.RatePerSec > 0 && c.Burst == 0 {
		c.Burst = 1
	}
	return c
}

// DefaultsAt is Defaults with rate_per_sec defaulting to rate: each platform has its own.
func (c Config) DefaultsAt(rate float64) Config {
	c.RatePerSec = cmp.Or(c.RatePerSec, rate)
	return c.Defaults()
}

// IsHTTPURL reports whether s is an absolute http or https URL with a host.
func IsHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// CheckURL checks an optional URL setting: empty, or an http(s) URL; field is its config
// path, e.g. "sinks.vk.base_url".
func CheckURL(field, s string) error {
	if s != "" && !IsHTTPURL(s) {
		return fmt.Errorf("%s: %q is not an http(s) URL", field, s)
	}
	return nil
}

// Validate checks the fields; path is the config path of c, e.g. "sinks.yandex.http".
func (c Config) Validate(path string) error {
	if c.MaxAttempts < 0 || c.MaxAttempts > 20 {
		return fmt.Errorf("%s.max_attempts: must be between 1 and 20 (0 = default 5), got %d", path, c.MaxAttempts)
	}
	if err := cmp.Or(NotNegative(path+".timeout", c.Timeout), NotNegative(path+".base_backoff", c.BaseBackoff),
		NotNegative(path+".max_backoff", c.MaxBackoff), NotNegative(path+".max_wait", c.MaxWait),
		NotNegative(path+".rate_per_sec", c.RatePerSec), NotNegative(path+".burst", c.Burst)); err != nil {
		return err
	}
	if c.MaxBackoff > 0 && c.BaseBackoff > c.MaxBackoff {
		return fmt.Errorf("%s.base_backoff: %s is above max_backoff %s", path, c.BaseBackoff, c.MaxBackoff)
	}
	return nil
}

// NotNegative names field (its config path) in an error when v is negative. Sinks combine
// several with cmp.Or, which returns the first error.
func NotNegative[T int | int64 | float64 | time.Duration](field string, v T) error {
	if v < 0 {
		return fmt.Errorf("%s: must not be negative, got %v", field, v)
	}
	return nil
}
