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
//
// Value-based audiences (is_value_based=1) take uploads only with LOOKALIKE_VALUE, a JSON
// number >= 0 per row (kept per key: Values); plain ones refuse it (AllowValueOnPlain). A
// lookalike (subtype LOOKALIKE) needs an origin custom audience of the account with at least
// MinSeed people, a spec with a ratio of 0.01..0.20 on 0.01 steps (or a similarity/reach
// type) and a country; a too small origin and a duplicate (same origin, country and ratio)
// are both error 2654, told apart by their messages; a lookalike takes no uploads and lists
// back with lookalike_spec.origin and approximate_count_lower_bound (LookalikeSize).
package metatest
