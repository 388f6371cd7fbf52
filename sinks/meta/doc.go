// Package meta syncs audiences to Meta (Facebook/Instagram) Custom Audiences through the
// Marketing API.
//
// Flow: the pipeline builds one Account per run from Config (secrets resolved on the first
// call, one rate limit shared by every Meta audience) and makes each audience's Destination
// from it. Apply finds the custom audience (by id, or by name in the ad account; creates it
// when absent, listing again instead of re-creating after a lost answer), then sends the
// identifiers of the audience.Request in sessions: each logical upload (add, remove or
// replace) is cut into requests of at most 10,000 rows that share one session id derived from
// the upload's exact content (audience.Request.RequestID), so that a retried or rerun upload is
// a replay Meta applies once and a different change is a new session. Identifiers arrive
// normalised and hashed by transforms/contacts; a value that is not a lowercase 64-hex SHA-256
// stops the sync before anything is sent. Retries, backoff, the rate limit and secret
// redaction live in sinks/internal/httpx; Classify tells it which Graph error codes are
// throttling. WritePayloads writes the same request parameters to files for dry runs.
package meta
