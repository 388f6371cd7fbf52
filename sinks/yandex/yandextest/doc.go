// Package yandextest is an in-memory Yandex Audiences management API for tests. It enforces
// the contract in docs/ad-platforms.md instead of accepting anything: OAuth header, multipart
// field "file", a CSV header naming known columns, SHA-256 hex values only, confirm before
// modify, a second confirm answered 400 "already confirmed", no modify while a change is
// processing, few_data under 100 identifiers, segments named only at confirm (an upload that
// is never confirmed stays a nameless "uploaded" segment until deleted).
//
// A segment is a set of identifiers, as Yandex matches them: adding a row adds each of its
// identifiers, subtracting a row removes each of them, so a removal by a shared e-mail takes
// it away for everyone. Faults injects 429 with Retry-After, 5xx, and slow answers; a faulted
// status is not applied, a slow answer is (the client that gave up lost only the answer).
package yandextest
