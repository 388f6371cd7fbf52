// Package meta syncs audiences to Meta (Facebook/Instagram) Custom Audiences through the
// Marketing API.
//
// Flow: the pipeline builds one Client per run from Config (secrets resolved, one rate limit
// shared by every Meta audience) and binds it to each audience's Target with NewDestination.
// Destination.Sync finds the custom audience (by id, or by name in the ad account; creates it
// when absent), then sends the members of the audience.SyncRequest in sessions: each logical
// upload (add, remove or replace) is cut into requests of at most 10,000 rows that share one
// session id derived from SyncRequest.BatchID, so that a retried run is the same upload.
// Members arrive normalised and hashed by transforms/contacts; a value that is not a lowercase
// 64-hex SHA-256 stops the sync before anything is sent. Retries, backoff, the rate limit and
// secret redaction live in sinks/internal/httpx; Classify tells it which Graph error codes are
// throttling. WritePayloads writes the same request parameters to files for dry runs.
package meta
