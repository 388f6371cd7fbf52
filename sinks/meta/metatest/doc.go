// Package metatest is an in-memory fake of the Meta Marketing API's custom audience endpoints
// (list, create, POST/DELETE /{id}/users, POST /{id}/usersreplace) for tests and benchmarks.
//
// It enforces the contract of docs/ad-platforms.md instead of accepting anything: the API
// version in the path, access_token plus a correct appsecret_proof, form-encoded bodies,
// at most 10,000 rows per request, a known schema with one value per key, lowercase 64-hex
// hashes for hashed keys, and sessions whose batch_seq counts up from 1, whose
// estimated_num_total never changes and whose last_batch_flag comes exactly on the last batch.
// A batch sent again with the same session, seq and row count (a lost answer, or a rerun of
// the same night starting over) is accepted as a replay and counted in SessionLog.Replayed.
// The fake keeps the remote member keys so that a test asserts the final audience, and a
// replace session swaps the audience only when its last batch arrives. Faults (613, 100, 5xx,
// 429) and a per-request latency can be injected.
package metatest
