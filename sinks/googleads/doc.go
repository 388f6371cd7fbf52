// Package googleads syncs audiences to Google Ads Customer Match user lists through the Data
// Manager API (google.golang.org/api/datamanager/v1), which replaced the Google Ads API for new
// Customer Match integrations in 2026.
//
// Flow: the pipeline builds one Account per run from Config (credentials loaded with scope
// datamanager on the first call; one rate limit shared by every Google audience) and makes
// each audience's Destination (operating account + user list id) from it. Apply turns the
// audience.Request into audienceMembers:ingest requests followed by audienceMembers:remove
// requests of at most 10,000 identifiers, each carrying the destination, consent
// (CONSENT_GRANTED), encoding HEX and the accepted Customer Match terms, and reports each
// request's outcome: confirmed when answered, validated (never confirmed) with validate_only.
// Ingesting before removing means the list is never emptier than it should be. Identifiers
// arrive normalised and hashed by transforms/contacts with Google's rules; a value that is not
// a lowercase 64-hex SHA-256 stops the sync before anything is sent. The generated client
// talks through httpx's HTTPClient, so retries, backoff, the rate limit, the bearer token and
// secret redaction live there. WritePayloads writes the exact JSON bodies to files and sends
// nothing.
package googleads
