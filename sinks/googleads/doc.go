// Package googleads syncs audiences to Google Ads Customer Match user lists through the Data
// Manager API (google.golang.org/api/datamanager/v1), which replaced the Google Ads API for new
// Customer Match integrations in 2026.
//
// Flow: the pipeline builds one Client per run from Config (credentials loaded with scope
// datamanager; one rate limit shared by every Google audience) and binds it to each audience's
// Target (operating account + user list id) with NewDestination. Destination.Sync turns the
// audience.SyncRequest into audienceMembers:ingest requests followed by audienceMembers:remove
// requests of at most 10,000 members, each carrying the destination, consent
// (CONSENT_GRANTED), encoding HEX and the accepted Customer Match terms. Ingesting before
// removing means a replace never leaves the list empty. Members arrive normalised and hashed by
// transforms/contacts with Google's rules; a value that is not a lowercase 64-hex SHA-256 stops
// the sync before anything is sent. The generated client talks through httpx's HTTPClient, so
// retries, backoff, the rate limit, the bearer token and secret redaction live there.
// validate_only makes every request a remote dry run; WritePayloads writes the exact JSON
// bodies to files and sends nothing.
package googleads
