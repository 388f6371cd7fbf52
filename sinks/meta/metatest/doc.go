// Package metatest is an in-memory fake of the Meta Marketing API's custom audience endpoints
// (list, create, POST/DELETE /{id}/users, POST /{id}/usersreplace) for tests and benchmarks.
//
// It enforces the contract of docs/ad-platforms.md instead of accepting anything: the API
// version in the path, access_token plus a correct appsecret_proof, form-encoded bodies,
// at most 10,000 rows per request, a known schema with one value per key, lowercase 64-hex
// hashes for hashed keys, and sessions whose batch_seq counts up from 1, whose
// estimated_num_total never changes and whose last_batch_flag comes exactly on the last batch.
//
// A session_id is one logical upload, as on Meta: a batch_seq the session already took is a
// replay, answered and not applied (whatever rows it carries), and a finished session takes no
// new batch. Creating an audience is not idempotent: every served create makes a new one. A
// request whose answer is late (SetLatency) is served even when the client gave up on it. The
// fake keeps each audience's e-mail and phone keys (Meta matches users on every key of a row:
// adding a row adds its keys, removing a row removes them), and a replace session swaps the
// audience only when its last batch arrives. Faults (613, 100, 5xx, 429) can be injected.
package metatest
