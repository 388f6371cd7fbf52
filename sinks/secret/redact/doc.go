// Package redact is the process's one redactor of secrets. secret.Ref.Resolve registers every
// value it returns, sinks/internal/httpx registers every bearer token and every secret a
// client was given (Register), and String removes all of them, and any extra ones passed to
// it, from a text in every form a message may carry them: raw; JSON- or Go-escaped; URL-encoded
// (query/form and path forms, either hex case); HTML-escaped; one such layer inside another;
// and base64 (standard and URL alphabets, padded or not, also inside a longer encoded string
// such as a Basic auth header). It works on decoded views of the text rather than on a list
// of encoded needles, so that every way of escaping each character is covered.
//
// Where it is applied: every sink error (httpx.Redact and the sinks' own error decoding go
// through String), the sync_log table and dry-run reports (transforms/audience), the driver's
// log lines (NewHandler), its stdout and stderr, the alert webhook and run_summary.json
// (JSON). It depends on the standard library only, so that any package may use it.
package redact
