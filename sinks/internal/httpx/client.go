package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/cenkalti/backoff/v5"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

// refusedWaitHeader carries, on the final response, a wait the client refused to make
// (above MaxWait), so that the StatusError can say so.
const refusedWaitHeader = "X-Httpx-Refused-Wait"

// maxBody bounds how much of an answer is read; audience APIs answer with small JSON.
const maxBody = 32 << 20

// Client sends requests to one platform with the policy of its Config. It is safe for
// concurrent use; the token bucket and the counters are shared by all callers.
type Client struct {
	platform string
	cfg      Config
	base     http.RoundTripper
	classify Classifier
	secrets  func() []string
	tokens   oauth2.TokenSource
	auth     func(*http.Request) error
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	rand     func() float64
	limiter  *rate.Limiter // this client's own bucket (Config.RatePerSec)
	shared   *Shared       // buckets and pauses shared with sibling clients of the same account
	log      *slog.Logger

	mu        sync.Mutex
	lastToken string // the last bearer token sent, redacted from errors

	requests, retries, throttled, failures, rateWaits atomic.Int64
}

// Stats counts what a Client did since it was made.
type Stats struct {
	Requests  int64 // attempts sent over the wire
	Retries   int64 // attempts after the first, over all calls
	Throttled int64 // attempts answered 429 or with a server-requested wait
	Failures  int64 // calls (not attempts) that ended in an error
	RateWaits int64 // times the token bucket or a rate-limit header delayed an attempt
}

// Option configures a Client.
type Option func(*Client)

// WithTransport sets the transport that carries each attempt (default http.DefaultTransport).
func WithTransport(rt http.RoundTripper) Option { return func(c *Client) { c.base = rt } }

// WithClassifier replaces DefaultClassifier, e.g. to read a platform's throttle codes.
func WithClassifier(f Classifier) Option { return func(c *Client) { c.classify = f } }

// WithSecrets registers the secret values to redact from every error. It is called when an
// error is built, so that tokens minted later are covered too.
func WithSecrets(f func() []string) Option { return func(c *Client) { c.secrets = f } }

// WithTokenSource adds `Authorization: Bearer <token>` from ts to every attempt; the token is
// redacted from errors automatically. Wrap ts in oauth2.ReuseTokenSource to cache it.
func WithTokenSource(ts oauth2.TokenSource) Option { return func(c *Client) { c.tokens = ts } }

// WithAuthHeader runs f on every attempt's request, after the token source, to add
// platform-specific authentication (e.g. Yandex `Authorization: OAuth <token>`). Register
// the secret it uses with WithSecrets.
func WithAuthHeader(f func(*http.Request) error) Option { return func(c *Client) { c.auth = f } }

// WithClock replaces the wall clock and the sleep between attempts; tests use it to record
// waits instead of sleeping. sleep must return ctx.Err() when ctx ends first.
func WithClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.now, c.sleep = now, sleep }
}

// WithRand replaces the jitter source (values in [0,1)); tests pass a constant.
func WithRand(f func() float64) Option { return func(c *Client) { c.rand = f } }

// WithLogger logs retries and waits at debug level and give-ups at warn level. Log lines hold
// platform, method, path, status, attempt and wait: never bodies, queries or headers.
func WithLogger(l *slog.Logger) Option { return func(c *Client) { c.log = l } }

// Shared is the rate-limit state of one platform account used by several Clients (say one
// for reads and a slower one for uploads): a common token bucket and the pause requested by
// X-RateLimit-* headers. Build it with NewShared and pass it with WithShared to each client.
type Shared struct {
	limiter *rate.Limiter // nil = no common bucket
	mu      sync.Mutex
	until   time.Time
}

// NewShared makes shared state with a common bucket of ratePerSec (0 = none) and burst
// (at least 1).
func NewShared(ratePerSec float64, burst int) *Shared {
	s := &Shared{}
	if ratePerSec > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(ratePerSec), max(burst, 1))
	}
	return s
}

// WithShared makes the client wait on s's bucket (besides its own) and share pauses with the
// other clients built with s.
func WithShared(s *Shared) Option { return func(c *Client) { c.shared = s } }

// New builds a Client for platform ("yandex", "vk", …), which prefixes every error.
func New(platform string, cfg Config, opts ...Option) *Client {
	c := &Client{
		platform: platform,
		cfg:      cfg.Defaults(),
		base:     http.DefaultTransport,
		now:      time.Now,
		sleep:    Sleep,
		rand:     rand.Float64,
		log:      slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	if c.classify == nil {
		c.classify = NewDefaultClassifier(c.now)
	}
	if c.cfg.RatePerSec > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(c.cfg.RatePerSec), c.cfg.Burst)
	}
	if c.shared == nil {
		c.shared = NewShared(0, 0)
	}
	return c
}

// Platform is the name given to New.
func (c *Client) Platform() string { return c.platform }

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:  c.requests.Load(),
		Retries:   c.retries.Load(),
		Throttled: c.throttled.Load(),
		Failures:  c.failures.Load(),
		RateWaits: c.rateWaits.Load(),
	}
}

// Do sends req with retries and returns the final answer with its body already read (resp.Body
// is also reset to it). Every answer with status ≥ 400 comes back as a *StatusError together
// with resp and body, so the caller can decode the platform's error JSON; a call without a
// final answer returns a *RequestError. A request with a body is retried only when
// req.GetBody is set.
func (c *Client) Do(ctx context.Context, req *http.Request) (*http.Response, []byte, error) {
	resp, body, attempts, retryable, err := c.roundTrip(ctx, req)
	if err != nil {
		c.failures.Add(1)
		return resp, body, err
	}
	if resp.StatusCode >= 400 {
		c.failures.Add(1)
		return resp, body, &StatusError{
			Platform:    c.platform,
			Method:      req.Method,
			Path:        c.redact(req.URL.Path),
			StatusCode:  resp.StatusCode,
			Body:        truncate(c.redact(string(body)), maxErrBody),
			Retryable:   retryable,
			Attempts:    attempts,
			RefusedWait: resp.Header.Get(refusedWaitHeader),
		}
	}
	return resp, body, nil
}

// HTTPClient returns an *http.Client whose transport applies the same timeouts, retries, rate
// limit, auth and redaction, for generated API clients. Unlike Do it returns non-2xx answers
// as responses (after retrying the retryable ones) so the generated code can decode them.
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{Transport: transport{c}}
}

type transport struct{ c *Client }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		// The RoundTripper contract: the body is closed, even on errors. Attempts read
		// copies from GetBody (or this body once, when there is no GetBody).
		defer req.Body.Close()
	}
	resp, _, _, _, err := t.c.roundTrip(req.Context(), req)
	if err != nil {
		t.c.failures.Add(1)
		return nil, err
	}
	return resp, nil
}

// roundTrip runs the attempts. retryable reports whether the final answer was one the
// classifier would have retried (attempts ran out).
func (c *Client) roundTrip(ctx context.Context, req *http.Request) (resp *http.Response, body []byte, attempts int, retryable bool, err error) {
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     c.cfg.BaseBackoff,
		RandomizationFactor: 0, // the schedule gives the ceiling; full jitter is applied below
		Multiplier:          2,
		MaxInterval:         c.cfg.MaxBackoff,
	}
	bo.Reset()
	fail := func(attempt int, e error) error {
		return &RequestError{Platform: c.platform, Method: req.Method, Path: c.redact(req.URL.Path), Attempts: attempt,
			Err: &redactedError{msg: c.redact(e.Error()), err: e}}
	}
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil { // nothing leaves after the run was cancelled
			return nil, nil, attempt - 1, false, fail(attempt-1, err)
		}
		if err := c.waitTurn(ctx); err != nil {
			return nil, nil, attempt - 1, false, fail(attempt-1, err)
		}
		resp, body, err := c.attempt(ctx, req, attempt)
		if ctx.Err() != nil {
			return nil, nil, attempt, false, fail(attempt, ctx.Err())
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return nil, nil, attempt, false, fail(attempt, perm.err)
		}
		if resp != nil {
			if p := rateHeaderPause(resp.Header, c.now()); p > 0 {
				c.pause(p)
			}
		}
		retry, wait := c.classify(resp, body, err)
		if retry && resp == nil && isOnce(ctx) {
			// No answer to a call that must not be sent twice: the sink lists first.
			retry = false
		}
		if !retry {
			if err != nil {
				return nil, nil, attempt, false, fail(attempt, err)
			}
			return resp, body, attempt, false, nil
		}
		if (resp != nil && resp.StatusCode == http.StatusTooManyRequests) || wait > 0 {
			c.throttled.Add(1)
		}
		if attempt >= c.cfg.MaxAttempts {
			c.log.Warn("giving up", "platform", c.platform, "method", req.Method, "path", c.redact(req.URL.Path),
				"attempts", attempt, "status", status(resp))
			if err != nil {
				return nil, nil, attempt, true, fail(attempt, err)
			}
			return resp, body, attempt, true, nil
		}
		if wait > c.cfg.MaxWait {
			c.log.Warn("platform asked for a wait above max_wait; giving up", "platform", c.platform,
				"method", req.Method, "path", c.redact(req.URL.Path), "wait", wait, "max_wait", c.cfg.MaxWait)
			if resp != nil {
				resp.Header.Set(refusedWaitHeader, wait.String())
				return resp, body, attempt, true, nil
			}
			e := fmt.Errorf("the platform asked to wait %s, more than max_wait %s: raise max_wait or run later", wait, c.cfg.MaxWait)
			return nil, nil, attempt, true, fail(attempt, e)
		}
		if j := time.Duration(c.rand() * float64(bo.NextBackOff())); j > wait {
			wait = j
		}
		c.retries.Add(1)
		c.log.Debug("retrying", "platform", c.platform, "method", req.Method, "path", c.redact(req.URL.Path),
			"attempt", attempt, "status", status(resp), "wait", wait, "error", errText(c, err))
		if err := c.sleep(ctx, wait); err != nil {
			return nil, nil, attempt, false, fail(attempt, err)
		}
	}
}

// permanentError marks an attempt failure that no retry can fix (no GetBody, auth hook error).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }

func (c *Client) attempt(ctx context.Context, req *http.Request, attempt int) (*http.Response, []byte, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	r := req.Clone(actx)
	if req.Body != nil && req.Body != http.NoBody {
		switch {
		case req.GetBody != nil:
			b, err := req.GetBody()
			if err != nil {
				return nil, nil, &permanentError{fmt.Errorf("cannot replay the request body: %w", err)}
			}
			r.Body = b
		case attempt == 1:
			r.Body = req.Body
		default:
			return nil, nil, &permanentError{errors.New("cannot retry: the request body cannot be replayed (build it with http.NewRequest over a bytes.Reader)")}
		}
	}
	if c.secrets != nil {
		// Registered before they can travel: whatever the platform echoes, and any log line
		// of the process, is redacted from here on.
		redact.Register(c.secrets()...)
	}
	if c.tokens != nil {
		tok, err := c.tokens.Token()
		if err != nil {
			return nil, nil, &permanentError{fmt.Errorf("getting an access token: %w", err)}
		}
		redact.Register(tok.AccessToken, tok.RefreshToken)
		c.mu.Lock()
		c.lastToken = tok.AccessToken
		c.mu.Unlock()
		tok.SetAuthHeader(r)
	}
	if c.auth != nil {
		if err := c.auth(r); err != nil {
			return nil, nil, &permanentError{fmt.Errorf("authenticating the request: %w", err)}
		}
	}
	c.requests.Add(1)
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return nil, nil, stripQuery(err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, body, nil
}

// waitTurn blocks for a pause requested by rate-limit headers, then for the client's own
// bucket and the shared one.
func (c *Client) waitTurn(ctx context.Context) error {
	c.shared.mu.Lock()
	until := c.shared.until
	c.shared.mu.Unlock()
	if d := until.Sub(c.now()); d > 0 {
		c.rateWaits.Add(1)
		if err := c.sleep(ctx, d); err != nil {
			return err
		}
	}
	for _, lim := range [2]*rate.Limiter{c.limiter, c.shared.limiter} {
		if lim == nil {
			continue
		}
		now := c.now()
		r := lim.ReserveN(now, 1)
		if !r.OK() {
			return errors.New("rate limiter cannot grant a request: burst must be at least 1")
		}
		if d := r.DelayFrom(now); d > 0 {
			c.rateWaits.Add(1)
			if err := c.sleep(ctx, d); err != nil {
				r.CancelAt(c.now())
				return err
			}
		}
	}
	return nil
}

func (c *Client) pause(d time.Duration) {
	c.shared.mu.Lock()
	defer c.shared.mu.Unlock()
	if until := c.now().Add(d); until.After(c.shared.until) {
		c.shared.until = until
	}
}

func (c *Client) redact(s string) string {
	var ss []string
	if c.secrets != nil {
		ss = c.secrets()
	}
	c.mu.Lock()
	if c.lastToken != "" {
		ss = append(ss, c.lastToken)
	}
	c.mu.Unlock()
	return Redact(s, ss...)
}

// stripQuery drops the query from a *url.Error's URL: some platforms (Meta) put the token there.
func stripQuery(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.RawQuery != "" {
			u.RawQuery = ""
			ue.URL = u.String() + "?[query removed]"
		}
	}
	return err
}

// Sleep waits for d or until ctx is done (then it returns ctx.Err()); sinks use it for their
// own paced waits, such as status polling.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func status(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func errText(c *Client, err error) string {
	if err == nil {
		return ""
	}
	return c.redact(err.Error())
}
