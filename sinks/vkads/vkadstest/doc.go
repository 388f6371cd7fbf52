// Package vkadstest is a fake VK Ads API (token endpoint, users lists, remarketing segments)
// that enforces the contract in docs/ad-platforms.md: client credentials, at most 5 live
// tokens per client, bearer auth, multipart uploads with one hash a line of the configured
// length, at least 2,000 rows for a new list (smaller diffs of an existing list pass), base
// diffs of the same type, paged listing, segment relations pointing at existing lists.
// Creating is not idempotent here either: every served upload without base makes a new list.
// Faults injects 429, 5xx and slow answers; a faulted status is not applied, a slow answer is
// (the client that gave up lost only the answer).
package vkadstest
