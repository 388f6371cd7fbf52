package httpxtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is a fake clock for httpx.WithClock and the sinks' polling: Sleep advances it and
// records the wait instead of sleeping. The zero value starts at the zero time.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

// NewClock returns a clock at a fixed night, 2026-11-27 03:00 UTC.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Sleep records d, advances the clock by d and returns ctx.Err().
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return ctx.Err()
}

// Waits returns the recorded sleeps in order.
func (c *Clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// Killer is a transport that simulates a process killed after its Nth request: once N
// answers have come back it cancels the run's context, so that no further request leaves.
type Killer struct {
	Base   http.RoundTripper // default http.DefaultTransport
	After  int64             // kill after this many answers; 0 never kills
	Cancel context.CancelFunc
	n      atomic.Int64
}

// RoundTrip sends r and, after the After-th answer, cancels the context.
func (k *Killer) RoundTrip(r *http.Request) (*http.Response, error) {
	base := k.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if n := k.n.Add(1); k.After > 0 && n >= k.After && k.Cancel != nil {
		k.Cancel()
	}
	return resp, err
}

// Requests returns how many requests went through.
func (k *Killer) Requests() int64 { return k.n.Load() }

// IsHexHash reports a lowercase hex string of n digits, as the fakes demand of every
// identifier (a regexp here dominated the fakes' CPU time in the million-member benchmarks).
func IsHexHash(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Late holds the answer to r for d, or until the client gives up, and reports whether the
// client gave up. It reads r's body first (only then does net/http notice a client that
// leaves) and restores it, so the fake can still serve the request: as on a real platform, a
// client that timed out lost the answer, not the effect.
func Late(r *http.Request, d time.Duration) (clientGone bool) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-r.Context().Done():
		return true
	}
}

// AnswerLost holds r for d (see Late) and reports whether the client gave up meanwhile; if it
// did, it first serves r with handle all the same: the effect happens, the answer is lost.
// d <= 0 holds nothing.
func AnswerLost(r *http.Request, d time.Duration, handle func()) bool {
	if d <= 0 || !Late(r, d) {
		return false
	}
	handle()
	return true
}
