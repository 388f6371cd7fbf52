package httpx

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestWaitFromHeaders(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	cases := []struct {
		hdr  map[string]string
		want time.Duration
	}{
		{map[string]string{}, 0},
		{map[string]string{"Retry-After": "120"}, 2 * time.Minute},
		{map[string]string{"Retry-After": "Fri, 27 Nov 2026 03:00:30 GMT"}, 30 * time.Second},
		{map[string]string{"Retry-After": "Fri, 27 Nov 2026 02:59:00 GMT"}, 0}, // in the past
		{map[string]string{"Retry-After": "soon"}, 0},
		{map[string]string{"X-RateLimit-Reset": "5"}, 5 * time.Second},
		// 1795748445 = 2026-11-27T03:00:45Z
		{map[string]string{"X-RateLimit-Reset": "1795748445"}, 45 * time.Second},
		{map[string]string{"Retry-After": "2", "X-RateLimit-Reset": "9"}, 9 * time.Second},
	}
	for _, c := range cases {
		h := http.Header{}
		for k, v := range c.hdr {
			h.Set(k, v)
		}
		if got := WaitFromHeaders(h, now); got != c.want {
			t.Errorf("WaitFromHeaders(%v) = %s, want %s", c.hdr, got, c.want)
		}
	}
}

func TestRateHeaderPause(t *testing.T) {
	now := time.Unix(0, 0)
	h := http.Header{}
	h.Set("X-RateLimit-RPS-Remaining", "0")
	if got := rateHeaderPause(h, now); got != time.Second {
		t.Errorf("RPS exhausted: %s, want 1s", got)
	}
	h.Set("X-RateLimit-RPS-Remaining", "3")
	if got := rateHeaderPause(h, now); got != 0 {
		t.Errorf("RPS left: %s, want 0", got)
	}
	h = http.Header{}
	h.Set("X-RateLimit-Hourly-Remaining", "0")
	if got := rateHeaderPause(h, now); got != 0 {
		t.Errorf("hourly exhausted without reset: %s, want 0 (left to the 429 path)", got)
	}
}

func TestRedact(t *testing.T) {
	got := Redact("a=abcdef1234 b=abcdef c=x", "abcdef", "abcdef1234", "x", "")
	if want := "a=[REDACTED] b=[REDACTED] c=x"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate("sinks.vk.http"); err != nil {
		t.Errorf("zero config: %v", err)
	}
	err := Config{RatePerSec: -1}.Validate("sinks.vk.http")
	if err == nil || !strings.HasPrefix(err.Error(), "sinks.vk.http.rate_per_sec:") {
		t.Errorf("err = %v", err)
	}
	err = Config{BaseBackoff: time.Minute, MaxBackoff: time.Second}.Validate("x")
	if err == nil || !strings.HasPrefix(err.Error(), "x.base_backoff:") {
		t.Errorf("err = %v", err)
	}
	d := Config{RatePerSec: 1}.Defaults()
	if d.Timeout != 30*time.Second || d.MaxAttempts != 5 || d.BaseBackoff != 500*time.Millisecond || d.MaxBackoff != 30*time.Second || d.Burst != 1 {
		t.Errorf("Defaults = %+v", d)
	}
}
