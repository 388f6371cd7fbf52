// Package yandex keeps one audience in sync with a Yandex Audiences CRM segment (used for
// retargeting in Yandex Direct).
//
// Data flow: audience.Sync hands Apply a Request of SHA-256 identifiers (e-mails and phones
// normalised by transforms/contacts, one identifier a CSV row). Without a segment on record
// Apply settles what an interrupted run left (the journal), then finds the segment (config id,
// else by name through GET segments) or creates it (POST segments/upload_csv_file, never
// re-sent after a lost answer without listing; then POST segment/{id}/confirm with
// hashed:true, hashing_alg:SHA256, content_type:crm). An existing segment gets
// POST segment/{id}/modify_data (addition, then subtraction; or replace). A change counts as
// confirmed when Yandex has processed it; one still processing is reported unconfirmed. Every
// call goes through sinks/internal/httpx: create/modify/confirm calls share a token bucket sized
// for Yandex's ~10 writes a minute, reads another one, and 429/5xx answers are retried there.
//
// WritePayloads writes the same CSV and JSON bodies to files instead (dry run).
package yandex
