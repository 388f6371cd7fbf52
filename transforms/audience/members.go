package audience

import "fmt"

// Helpers that every sink needs on the way out: a last check that nothing raw leaves (the
// contacts package hashes, the sinks only verify), and the removal list minus identifiers that
// today's members still use. They live here, next to Member, so that the four sinks share one
// tested copy instead of each keeping its own.

// IsHexHash reports whether s is exactly n lowercase hex digits (0-9, a-f), the shape of an
// n/2-byte digest in the encoding the platforms take. Upper case is refused: the platforms
// match hashes byte for byte, so "AB…" would silently miss the member hashed as "ab…".
func IsHexHash(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !lowerHex[s[i]] {
			return false
		}
	}
	return true
}

// IsSHA256Hex reports whether s looks like a SHA-256 digest in lowercase hex (64 digits).
func IsSHA256Hex(s string) bool { return IsHexHash(s, 64) }

// lowerHex is a lookup table rather than a range test or regexp: the check runs on every
// identifier of a million-member upload.
var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

// CheckHashes refuses a request in which an e-mail or phone in Add, Remove or All is not a
// lowercase 64-hex SHA-256: that would be raw or wrongly hashed data, and raw data must never
// leave. The error starts with platform, names the audience, the number of bad identifiers in
// the first list that has any, and where the first one is (e.g. "Remove[3].Phone"), never the
// value. ExternID is not checked: platforms that take it take it unhashed.
func CheckHashes(platform string, req SyncRequest) error {
	for _, l := range []struct {
		name string
		ms   []Member
	}{{"Add", req.Add}, {"Remove", req.Remove}, {"All", req.All}} {
		bad, first := 0, ""
		for i := range l.ms {
			m := &l.ms[i]
			for _, f := range [2]struct{ field, v string }{{"Email", m.Email}, {"Phone", m.Phone}} {
				if f.v != "" && !IsSHA256Hex(f.v) {
					if bad == 0 {
						first = fmt.Sprintf("%s[%d].%s", l.name, i, f.field)
					}
					bad++
				}
			}
		}
		if bad > 0 {
			return fmt.Errorf("%s: audience %q: %d identifier(s) are not lowercase 64-hex SHA-256 hashes (first at %s); nothing was sent: identifiers must be normalised and hashed by transforms/contacts before the sink", platform, req.Audience, bad, first)
		}
	}
	return nil
}

// StripKept returns the members to remove with every identifier that a kept member (in keep,
// usually the request's Add and All) still uses blanked out, and drops members left with no
// identifier: removing by that identifier would take today's member out too (e.g. a customer
// who changed only the phone keeps the e-mail). withExternID says whether ExternID counts as an
// identifier (a platform that removes by it); when false it is neither compared nor enough to
// keep a member. remove is not modified; the result is nil when remove is empty.
func StripKept(remove []Member, withExternID bool, keep ...[]Member) []Member {
	if len(remove) == 0 {
		return nil
	}
	idsOf := func(m *Member) [3]string {
		ids := [3]string{m.Email, m.Phone}
		if withExternID {
			ids[2] = m.ExternID
		}
		return ids
	}
	// ids holds every identifier of remove, true once a kept member uses it.
	ids := make(map[string]bool, 2*len(remove))
	for i := range remove {
		for _, v := range idsOf(&remove[i]) {
			if v != "" {
				ids[v] = false
			}
		}
	}
	for _, list := range keep {
		for i := range list {
			for _, v := range idsOf(&list[i]) {
				if _, ok := ids[v]; ok {
					ids[v] = true
				}
			}
		}
	}
	out := make([]Member, 0, len(remove))
	for _, m := range remove {
		if ids[m.Email] {
			m.Email = ""
		}
		if ids[m.Phone] {
			m.Phone = ""
		}
		if withExternID && ids[m.ExternID] {
			m.ExternID = ""
		}
		if m.Email != "" || m.Phone != "" || (withExternID && m.ExternID != "") {
			out = append(out, m)
		}
	}
	return out
}
