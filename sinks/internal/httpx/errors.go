package httpx

import (
	"fmt"
	"net/http"
)

// maxErrBody bounds how much of a response body an error carries.
const maxErrBody = 1024

// StatusError is an HTTP answer with status ≥ 400 that Do gave up on: either it was not
// retryable or the attempts ran out. Use errors.As to get it and decide by StatusCode; Body
// is redacted and truncated, and is meant for people, not for parsing (Do also returns the
// full body for that).
type StatusError struct {
	Platform   string
	Method     string
	Path       string // URL path without the query (a query may hold a token)
	StatusCode int
	Body       string // redacted, at most 1 KiB
	Retryable  bool   // the platform said "try later": a later run may succeed
	Attempts   int
	// RefusedWait is set when the platform asked for a wait above Config.MaxWait (e.g. "1h0m0s").
	RefusedWait string
}

func (e *StatusError) Error() string {
	hint := "the request was rejected: fix the request or the credentials"
	if e.Retryable {
		hint = "the platform kept failing or throttling: retry later"
	}
	if e.RefusedWait != "" {
		hint = "the platform asked to wait " + e.RefusedWait + ", more than max_wait: raise max_wait or run later"
	}
	if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
		hint = "check the token and its permissions"
	}
	return fmt.Sprintf("%s: %s %s: HTTP %d %s after %d attempt(s) (%s): %s",
		e.Platform, e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Attempts, hint, e.Body)
}

// RequestError is a call that never got a final HTTP answer (network error, timeout, token
// source failure, or a wait longer than Config.MaxWait). Err has its text redacted.
type RequestError struct {
	Platform string
	Method   string
	Path     string
	Attempts int
	Err      error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("%s: %s %s: failed after %d attempt(s): %v", e.Platform, e.Method, e.Path, e.Attempts, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

// redactedError keeps the error chain (errors.Is(err, context.DeadlineExceeded) still works)
// while its text is redacted.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…(truncated)"
}
