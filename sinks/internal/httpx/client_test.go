package httpx

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
)

// fakeClock records every sleep and advances its time by it, so waits are asserted exactly and
// no test sleeps.
type fakeClock = httpxtest.Clock

func newFakeClock() *fakeClock { return httpxtest.NewClock() }

// script answers the n-th request (from 0) with handlers[n], repeating the last one.
func script(t *testing.T, handlers ...http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1) - 1)
		if i >= len(handlers) {
			i = len(handlers) - 1
		}
		handlers[i](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func answer(code int, hdr ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, `{"status":"`+http.StatusText(code)+`"}`)
	}
}

func newTestClient(clk *fakeClock, cfg Config, jitter float64, opts ...Option) *Client {
	opts = append([]Option{WithClock(clk.Now, clk.Sleep), WithRand(func() float64 { return jitter })}, opts...)
	return New("test", cfg, opts...)
}

func get(t *testing.T, c *Client, url string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(context.Background(), req)
}

func TestRetryAfterSecondsHonoured(t *testing.T) {
	srv, n := script(t, answer(429, "Retry-After", "7"), answer(200))
	clk := newFakeClock()
	c := newTestClient(clk, Config{}, 0) // jitter 0: the only wait is the server's
	resp, body, err := get(t, c, srv.URL+"/x")
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), "OK") {
		t.Fatalf("Do = %v, %q, %v", resp, body, err)
	}
	if diff := cmp.Diff([]time.Duration{7 * time.Second}, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if got, want := c.Stats(), (Stats{Requests: 2, Retries: 1, Throttled: 1}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if n.Load() != 2 {
		t.Errorf("server saw %d requests, want 2", n.Load())
	}
}

func TestRetryAfterHTTPDateAndLongerJitter(t *testing.T) {
	clk := newFakeClock()
	date := clk.Now().Add(10 * time.Second).Format(http.TimeFormat)
	// Second 429 says 1s, but the jittered backoff ceiling for the 2nd retry is 2×500ms=1s and
	// jitter 0.9 gives 900ms < 1s, so the server's 1s wins; third answer succeeds.
	srv, _ := script(t, answer(429, "Retry-After", date), answer(503, "Retry-After", "1"), answer(200))
	c := newTestClient(clk, Config{}, 0.9)
	if _, _, err := get(t, c, srv.URL); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{10 * time.Second, time.Second}
	if diff := cmp.Diff(want, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestServerErrorRetriedWithJitteredBackoff(t *testing.T) {
	srv, n := script(t, answer(503), answer(502), answer(200))
	clk := newFakeClock()
	c := newTestClient(clk, Config{BaseBackoff: time.Second, MaxBackoff: 10 * time.Second}, 0.5)
	if _, _, err := get(t, c, srv.URL); err != nil {
		t.Fatal(err)
	}
	// Full jitter: wait = 0.5 × ceiling; ceilings 1s, 2s.
	if diff := cmp.Diff([]time.Duration{500 * time.Millisecond, time.Second}, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if n.Load() != 3 {
		t.Errorf("server saw %d requests, want 3", n.Load())
	}
}

func TestBackoffCeilingCapped(t *testing.T) {
	srv, _ := script(t, answer(500))
	clk := newFakeClock()
	c := newTestClient(clk, Config{MaxAttempts: 6, BaseBackoff: time.Second, MaxBackoff: 4 * time.Second}, 0.5)
	get(t, c, srv.URL)
	// ceilings 1,2,4,4,4 s → halves
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}
	if diff := cmp.Diff(want, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestClientErrorNotRetried(t *testing.T) {
	srv, n := script(t, answer(400), answer(200))
	clk := newFakeClock()
	c := newTestClient(clk, Config{}, 0)
	resp, body, err := get(t, c, srv.URL+"/v1/thing?q=1")
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *StatusError", err)
	}
	if se.StatusCode != 400 || se.Retryable || se.Attempts != 1 || se.Path != "/v1/thing" || se.Platform != "test" {
		t.Errorf("StatusError = %+v", se)
	}
	if resp == nil || resp.StatusCode != 400 || !strings.Contains(string(body), "Bad Request") {
		t.Errorf("resp/body not returned with the error: %v %q", resp, body)
	}
	if n.Load() != 1 || len(clk.Waits()) != 0 {
		t.Errorf("requests %d waits %v, want 1 and none", n.Load(), clk.Waits())
	}
	if c.Stats().Failures != 1 {
		t.Errorf("Failures = %d, want 1", c.Stats().Failures)
	}
}

func TestAttemptsBounded(t *testing.T) {
	srv, n := script(t, answer(500))
	clk := newFakeClock()
	c := newTestClient(clk, Config{MaxAttempts: 3}, 0)
	_, _, err := get(t, c, srv.URL)
	var se *StatusError
	if !errors.As(err, &se) || !se.Retryable || se.Attempts != 3 || se.StatusCode != 500 {
		t.Fatalf("err = %#v", err)
	}
	if n.Load() != 3 {
		t.Errorf("server saw %d requests, want 3", n.Load())
	}
	if got := c.Stats(); got.Requests != 3 || got.Retries != 2 || got.Failures != 1 {
		t.Errorf("Stats = %+v", got)
	}
}

func TestWaitAboveMaxWaitGivesUp(t *testing.T) {
	srv, n := script(t, answer(429, "Retry-After", "3600"))
	clk := newFakeClock()
	c := newTestClient(clk, Config{MaxWait: time.Minute}, 0)
	_, _, err := get(t, c, srv.URL)
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 429 || !se.Retryable || !strings.Contains(err.Error(), "asked to wait 1h0m0s, more than max_wait") {
		t.Fatalf("err = %v", err)
	}
	if n.Load() != 1 || len(clk.Waits()) != 0 {
		t.Errorf("requests %d waits %v: must not sleep an hour", n.Load(), clk.Waits())
	}
}

func TestTimeoutPerAttemptRetried(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	slow := func(w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up on this attempt
		case <-r.Context().Done():
		case <-release:
		}
	}
	srv, n := script(t, slow, answer(200))
	clk := newFakeClock()
	c := newTestClient(clk, Config{Timeout: 50 * time.Millisecond}, 0)
	resp, _, err := get(t, c, srv.URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Do = %v, %v", resp, err)
	}
	if n.Load() != 2 || c.Stats().Retries != 1 {
		t.Errorf("requests %d, stats %+v; want 2 requests, 1 retry", n.Load(), c.Stats())
	}
}

func TestTimeoutEveryAttemptIsRequestError(t *testing.T) {
	srv, _ := script(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	clk := newFakeClock()
	c := newTestClient(clk, Config{Timeout: 20 * time.Millisecond, MaxAttempts: 2}, 0)
	_, _, err := get(t, c, srv.URL)
	var re *RequestError
	if !errors.As(err, &re) || re.Attempts != 2 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want RequestError after 2 attempts wrapping DeadlineExceeded", err)
	}
}

func TestContextCancelStops(t *testing.T) {
	srv, n := script(t, answer(503))
	ctx, cancel := context.WithCancel(context.Background())
	c := New("test", Config{}, WithClock(time.Now, func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}))
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, _, err := c.Do(ctx, req)
	if !errors.Is(err, context.Canceled) || n.Load() != 1 {
		t.Fatalf("err = %v after %d requests, want Canceled after 1", err, n.Load())
	}
}

const secretToken = "tok-9f8e7d6c5b4a-SECRET"

func TestSecretsNeverInErrors(t *testing.T) {
	// A hostile server echoes the credentials back in its error body.
	echo := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		io.WriteString(w, `{"error":"bad token `+r.Header.Get("Authorization")+` for `+r.URL.RawQuery+`"}`)
	}
	srv, _ := script(t, echo)
	clk := newFakeClock()

	t.Run("auth header with registered secret", func(t *testing.T) {
		c := newTestClient(clk, Config{}, 0,
			WithAuthHeader(func(r *http.Request) error { r.Header.Set("Authorization", "OAuth "+secretToken); return nil }),
			WithSecrets(func() []string { return []string{secretToken} }))
		_, _, err := get(t, c, srv.URL+"/p?access_token="+secretToken)
		if err == nil || strings.Contains(err.Error(), secretToken) || !strings.Contains(err.Error(), Redacted) {
			t.Fatalf("err = %v", err)
		}
		if !strings.Contains(err.Error(), "check the token") {
			t.Errorf("401 error lacks the hint: %v", err)
		}
	})
	t.Run("token source redacted automatically", func(t *testing.T) {
		c := newTestClient(clk, Config{}, 0, WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: secretToken})))
		_, _, err := get(t, c, srv.URL)
		if err == nil || strings.Contains(err.Error(), secretToken) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("network error with token in query", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		c := newTestClient(clk, Config{MaxAttempts: 2}, 0, WithSecrets(func() []string { return []string{secretToken} }))
		_, _, err := get(t, c, url+"/p?access_token="+secretToken)
		if err == nil || strings.Contains(err.Error(), secretToken) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("token source error", func(t *testing.T) {
		c := newTestClient(clk, Config{}, 0, WithTokenSource(failingTS{}), WithSecrets(func() []string { return []string{secretToken} }))
		_, _, err := get(t, c, srv.URL)
		if err == nil || strings.Contains(err.Error(), secretToken) || !strings.Contains(err.Error(), "access token") {
			t.Fatalf("err = %v", err)
		}
	})
}

type failingTS struct{}

func (failingTS) Token() (*oauth2.Token, error) {
	return nil, errors.New("token endpoint said: client_secret=" + secretToken + " invalid")
}

func TestRateLimiterEngaged(t *testing.T) {
	srv, n := script(t, answer(200))
	clk := newFakeClock()
	// 2 per second, burst 1: the first call passes, each later one waits 1/2 s on the frozen clock.
	c := newTestClient(clk, Config{RatePerSec: 2, Burst: 1}, 0)
	for i := 0; i < 5; i++ {
		if _, _, err := get(t, c, srv.URL); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}
	if diff := cmp.Diff(want, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if c.Stats().RateWaits != 4 || n.Load() != 5 {
		t.Errorf("RateWaits %d requests %d, want 4 and 5", c.Stats().RateWaits, n.Load())
	}
}

func TestRateLimitHeadersPauseNextRequest(t *testing.T) {
	srv, _ := script(t, answer(200, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "3"), answer(200))
	clk := newFakeClock()
	c := newTestClient(clk, Config{}, 0)
	get(t, c, srv.URL)
	get(t, c, srv.URL)
	if diff := cmp.Diff([]time.Duration{3 * time.Second}, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestBodyReplayedOnRetry(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	rec := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
			w.WriteHeader(code)
		}
	}
	srv, _ := script(t, rec(503), rec(200))
	clk := newFakeClock()
	c := newTestClient(clk, Config{}, 0)
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("payload"))
	if _, _, err := c.Do(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"payload", "payload"}, bodies); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}

	// Without GetBody the second attempt cannot be made: a clear error, not a silent empty body.
	srv2, _ := script(t, rec(503))
	req, _ = http.NewRequest("POST", srv2.URL, io.NopCloser(strings.NewReader("payload")))
	_, _, err := c.Do(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "cannot be replayed") {
		t.Fatalf("err = %v", err)
	}
}

func TestHTTPClientForGeneratedCode(t *testing.T) {
	srv, n := script(t, answer(503), answer(200), answer(404))
	clk := newFakeClock()
	hc := newTestClient(clk, Config{}, 0).HTTPClient()
	resp, err := hc.Get(srv.URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Get = %v, %v", resp, err)
	}
	resp.Body.Close()
	resp, err = hc.Get(srv.URL)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("Get = %v, %v; want the 404 as a response", resp, err)
	}
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "Not Found") {
		t.Errorf("body = %q", b)
	}
	if n.Load() != 3 {
		t.Errorf("server saw %d requests, want 3", n.Load())
	}
}

func TestCustomClassifier(t *testing.T) {
	// A platform that says "throttled" with HTTP 400 and a code in the body.
	srv, n := script(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		io.WriteString(w, `{"error":{"code":17}}`)
	}, answer(200))
	clk := newFakeClock()
	c := newTestClient(clk, Config{}, 0, WithClassifier(func(resp *http.Response, body []byte, err error) (bool, time.Duration) {
		if resp != nil && strings.Contains(string(body), `"code":17`) {
			return true, 60 * time.Second
		}
		return DefaultClassifier(resp, body, err)
	}))
	if _, _, err := get(t, c, srv.URL); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{time.Minute}, clk.Waits()); diff != "" || n.Load() != 2 {
		t.Errorf("waits (-want +got):\n%s (requests %d)", diff, n.Load())
	}
}

func TestSharedLimitsAcrossClients(t *testing.T) {
	srv, _ := script(t, answer(200, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "2"), answer(200))
	clk := newFakeClock()
	sh := NewShared(1, 1) // one request a second over both clients
	a := newTestClient(clk, Config{}, 0, WithShared(sh))
	b := newTestClient(clk, Config{}, 0, WithShared(sh))
	get(t, a, srv.URL) // t=0; answer asks for a 2s pause
	get(t, b, srv.URL) // waits the 2s pause (the shared bucket has refilled by then)
	get(t, a, srv.URL) // t=2: the shared bucket was used at t=2, so 1s
	want := []time.Duration{2 * time.Second, time.Second}
	if diff := cmp.Diff(want, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}
