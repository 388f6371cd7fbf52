// Package vkadstest is an in-memory VK Ads (myTarget) API for tests. It enforces the contract
// in docs/ad-platforms.md: client-credentials and refresh-token grants with at most 5 live
// tokens per account (the 6th is refused), Bearer auth, users_lists uploads as multipart
// with file/name/type, new lists of at least 2,000 rows, diffs through base=<id> and
// base=-<id>, identifiers that are hex hashes of the configured algorithm, segments whose
// relations point at an existing list, and X-RateLimit-* headers. It keeps every list's
// members so tests assert the final remote audience. Faults come from Faults; a faulted
// request is not applied.
package vkadstest
