// Package httpx is the one HTTP layer shared by every audience sink: per-attempt timeout,
// bounded retries with exponential backoff and full jitter, Retry-After and X-RateLimit-*
// handling, a proactive token bucket per platform, authentication and secret redaction.
//
// A sink builds one Client per platform with New, then calls Do for each API call with a
// request whose body can be replayed (http.NewRequest sets GetBody for bytes and strings
// readers). For every attempt Do waits on the token bucket, clones the request, adds the auth
// header, sends it under its own timeout and reads the body; the Classifier then decides
// whether to try again and how long to wait at least. When Do gives up it returns a
// *StatusError (HTTP status ≥ 400) or a plain error (network) whose text has every known secret
// replaced by [REDACTED] in every encoding (sinks/secret/redact, the process's one redactor;
// the client registers the secrets it was given and every bearer token before each attempt).
// Sinks have no retry loops of their own.
//
// Generated clients (google.golang.org/api) get the same behaviour through HTTPClient, whose
// transport retries the same way but hands the final response back unchanged so that the
// generated code can decode the platform's error.
package httpx
