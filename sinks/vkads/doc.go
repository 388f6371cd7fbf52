// Package vkads keeps one audience in sync with a VK Ads (ads.vk.com, myTarget API)
// remarketing users list, and optionally an audience segment over it for campaigns.
//
// Data flow: audience.Sync hands Apply a Request of identifiers of the list's type (e-mails or
// phones; MD5 by default, SHA-256 when configured, computed upstream by transforms/contacts).
// Apply checks their shape and either creates the list (POST
// /api/v3/remarketing/users_lists.json with the whole audience, at least 2,000 rows, else
// below the minimum and nothing sent) or uploads diffs against it (the same call with
// base=<id> for additions, then base=-<id> for removals). A list is looked up by name before
// creating one and after a creation whose answer was lost, so neither a crashed run nor a
// timeout leaves a duplicate. The optional segment (POST /api/v2/remarketing/segments.json)
// points at the list with a positive relation.
//
// Authentication is OAuth2 client credentials (or the agency variant). An account may hold
// only 5 live tokens, so the token is cached in memory and in a token cache file (0600, under
// the state dir), refreshed with its refresh token, and minted only when neither works. Every
// call goes through sinks/internal/httpx (timeouts, retries honouring Retry-After and
// X-RateLimit-*, a token bucket per account, a slower one for list uploads, redaction of the
// client secret and tokens).
package vkads
