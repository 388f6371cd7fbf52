package httpx

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Classifier decides, for a finished attempt, whether to try again and how long to wait at
// least before the next attempt (the client waits the longer of this and its own jittered
// backoff). resp is nil when err is set. A platform classifier typically looks at the body for
// the platform's throttle codes and falls back to DefaultClassifier.
type Classifier func(resp *http.Response, body []byte, err error) (retry bool, wait time.Duration)

// DefaultClassifier retries network errors and timeouts, HTTP 429 and 5xx (except 501 and 505,
// which no retry can fix), and honours Retry-After and X-RateLimit-Reset. It reads HTTP dates
// against the wall clock; NewDefaultClassifier takes another clock.
var DefaultClassifier = NewDefaultClassifier(time.Now)

// NewDefaultClassifier is DefaultClassifier with the clock used to turn an HTTP date in
// Retry-After into a duration.
func NewDefaultClassifier(now func() time.Time) Classifier {
	return func(resp *http.Response, _ []byte, err error) (bool, time.Duration) {
		if err != nil {
			return RetryableError(err), 0
		}
		switch c := resp.StatusCode; {
		case c == http.StatusTooManyRequests:
			return true, WaitFromHeaders(resp.Header, now())
		case c >= 500 && c != http.StatusNotImplemented && c != http.StatusHTTPVersionNotSupported:
			return true, WaitFromHeaders(resp.Header, now())
		}
		return false, 0
	}
}

// RetryableError reports whether a transport error is worth another attempt: timeouts, resets
// and refused connections are; a bad certificate or an unsupported URL scheme is not.
func RetryableError(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return false
	}
	if strings.Contains(err.Error(), "unsupported protocol scheme") {
		return false
	}
	return true
}

// WaitFromHeaders returns how long the server asked the client to wait: the longer of
// Retry-After (delay-seconds or HTTP date) and X-RateLimit-Reset (a Unix time when above 1e9,
// else seconds from now). Zero when neither is present or parseable.
func WaitFromHeaders(h http.Header, now time.Time) time.Duration {
	var wait time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			wait = max(wait, time.Duration(s*float64(time.Second)))
		} else if t, err := http.ParseTime(v); err == nil {
			wait = max(wait, t.Sub(now))
		}
	}
	if d := resetWait(h, now); d > wait {
		wait = d
	}
	return wait
}

func resetWait(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("X-RateLimit-Reset"))
	if v == "" {
		return 0
	}
	s, err := strconv.ParseFloat(v, 64)
	if err != nil || s < 0 {
		return 0
	}
	if s > 1e9 { // a Unix timestamp, not a delay
		return max(0, time.Unix(int64(s), 0).Sub(now))
	}
	return time.Duration(s * float64(time.Second))
}

// rateHeaderPause looks for an exhausted X-RateLimit-*Remaining counter on any answer
// (success included) so that the next request waits instead of provoking a 429. A per-second
// counter without a reset header means one second; longer windows without a reset are left
// to the 429 path, because sleeping an hour blind is worse than asking.
func rateHeaderPause(h http.Header, now time.Time) time.Duration {
	exhausted, perSecond := false, false
	for k, vs := range h {
		if !strings.HasPrefix(k, "X-Ratelimit-") || !strings.HasSuffix(k, "Remaining") || len(vs) == 0 {
			continue
		}
		if n, err := strconv.ParseFloat(strings.TrimSpace(vs[0]), 64); err == nil && n <= 0 {
			exhausted = true
			if k == "X-Ratelimit-Remaining" || strings.Contains(k, "Rps") || strings.Contains(k, "Second") {
				perSecond = true
			}
		}
	}
	if !exhausted {
		return 0
	}
	if d := resetWait(h, now); d > 0 {
		return d
	}
	if perSecond {
		return time.Second
	}
	return 0
}
