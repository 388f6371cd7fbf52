// Package contacts turns a customer's raw e-mail and phone into the hashed identifiers that
// each ad platform expects, and is the last place where raw contact data exists: everything
// downstream (audience_members, state files, dry-run payloads, logs) holds hashes only.
//
// Data flow:
//
//	orders.Customer ──(*Hasher).Hash──▶ Hashed (per-profile hex hashes, reject reasons)
//	Hashed ──audience.Members.Add──▶ audience.Identifier (type, hash) per audience × platform
//
// Each platform (profile) has its own normalisation rules, taken from
// shared/docs/ad-platforms.md:
//
//	yandex  e-mail trimmed, lower-cased; phone digits with country code, no "+"; SHA-256 hex
//	vk      same normalisation as yandex; MD5 hex (default) or SHA-256 hex (vk_hash)
//	meta    e-mail trimmed, lower-cased; phone digits with country code, no leading zeros,
//	        no "+" (E.164 digits); SHA-256 hex
//	google  e-mail trimmed, lower-cased, and for gmail.com / googlemail.com dots and any
//	        "+suffix" removed from the local part; phone E.164 with the "+"; SHA-256 hex
//
// Phones are parsed with github.com/nyaruka/phonenumbers (a port of Google's libphonenumber)
// in the customer's country (orders.Customer.Country) or, when that is empty or unknown, the
// configured default region, so "8 (999) 555-11-11", "+7 999 555-11-11" and "9995551111"
// (region RU) all become 79995551111. A number must be valid for its region, not just
// possible: an unassigned range cannot match anyone on a platform and only adds noise to the
// platform's match-rate figures.
//
// A value that cannot be used yields a reason code (see the Reason* constants), never the
// value itself, so callers can count and dead-letter rejects without leaking PII.
//
// Customers without marketing consent are not hashed at all (reason "no_consent"): they can
// never be uploaded, and the next delivery removes their identifiers from every audience
// (unless another member of today carries the same one) because they are missing from that
// day's audience_members.
//
// Performance: a Hasher is built once per worker (no regexp compiled and no map allocated per
// customer) and is safe for concurrent use; Hash keeps per-profile hashes in fixed-size arrays
// indexed by Profile, and hashes that several profiles share (same normalised value, same
// algorithm) are computed once and shared.
package contacts
