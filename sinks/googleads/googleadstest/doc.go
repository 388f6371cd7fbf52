// Package googleadstest is an in-memory fake of the Data Manager API's audienceMembers:ingest
// and audienceMembers:remove endpoints for tests and benchmarks.
//
// It enforces the contract of docs/ad-platforms.md instead of accepting anything: a bearer
// token, POST with JSON to /v1/audienceMembers:ingest|remove, no unknown fields, exactly one
// destination with operatingAccount {accountType GOOGLE_ADS, accountId} owning the user list
// named by productDestinationId (and the manager loginAccount when one is required), consent
// adUserData and adPersonalization CONSENT_GRANTED, encoding HEX, Customer Match terms
// ACCEPTED, 1 to 10,000 audience members each with user identifiers that are lowercase
// 64-hex SHA-256 e-mails or phones. validateOnly requests are checked the same way and change
// nothing. The fake keeps each list's identifiers so tests assert the final audience, can be
// seeded with a directory of normalised identities to count matches, and injects faults (429,
// 5xx, 400) and latency. A request whose answer is late is served even when the client gave
// up on it (only the answer is lost), as on the real API.
package googleadstest
