// Package yandex keeps one audience in sync with a Yandex Audiences CRM segment (used for
// retargeting in Yandex Direct).
//
// Data flow: the audience transform hands Sync a SyncRequest whose members carry SHA-256
// hashes of normalised e-mails and phones (transforms/contacts). Sync finds the segment (id from
// state or config, else by name through GET segments, so a crashed run never leaves a
// duplicate), then either creates it (POST segments/upload_csv_file with a CSV of hashes, then
// POST segment/{id}/confirm with hashed:true, hashing_alg:SHA256, content_type:crm) or changes
// it (POST segment/{id}/modify_data with subtraction, addition or replace). Between changes and
// at the end it polls the segment's status until Yandex has processed it. Every call goes
// through sinks/internal/httpx: create/modify/confirm calls share a token bucket sized for
// Yandex's ~10 writes a minute, reads another one, and 429/5xx answers are retried there.
//
// WritePayloads writes the same CSV and JSON bodies to files instead (dry run).
package yandex
