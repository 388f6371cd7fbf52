// Package yandextest is an in-memory Yandex Audiences management API for tests. It enforces
// the contract in docs/ad-platforms.md instead of accepting anything: OAuth header, multipart
// field "file", a CSV header naming known columns, SHA-256 hex values only, confirm before
// modify, no modify while a change is processing, few_data under 100 rows. It keeps each
// segment's real rows so that tests assert the final remote audience, and injects faults
// (429 with Retry-After, 5xx, slow answers, a seeded rate of transient failures) through
// Faults. A faulted request is not applied.
package yandextest
