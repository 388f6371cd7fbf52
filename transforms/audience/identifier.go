package audience

import (
	"cmp"
	"fmt"
	"slices"
)

// Identifier types: the kinds of hashed contact an audience holds. They are also the names
// in an audience's `identifiers:` list and the identifier_type column of audience_members.
const (
	TypeEmail = "email"
	TypePhone = "phone"
)

// Identifier is one hashed identifier of an audience on a platform. An audience on a platform
// is a set of identifiers: the platforms match users on each identifier separately, so the
// pipeline adds, removes and records identifiers, never "members" (two customers sharing an
// e-mail are one identifier; removing one of them must not remove it).
type Identifier struct {
	Type string // TypeEmail or TypePhone
	Hash string // lowercase hex digest of the normalised value, with the platform's algorithm
}

func compareIDs(a, b Identifier) int {
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return cmp.Compare(a.Hash, b.Hash)
}

// NormaliseIdentifiers sorts ids by (Type, Hash) and drops repeats, in place, and returns the
// shortened slice. Every set in this package is kept in this form.
func NormaliseIdentifiers(ids []Identifier) []Identifier {
	if !slices.IsSortedFunc(ids, compareIDs) {
		slices.SortFunc(ids, compareIDs)
	}
	return slices.Compact(ids)
}

// union returns a ∪ b; both normalised.
func union(a, b []Identifier) []Identifier {
	if len(a) == 0 {
		return slices.Clone(b)
	}
	if len(b) == 0 {
		return slices.Clone(a)
	}
	out := make([]Identifier, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch c := compareIDs(a[i], b[j]); {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// minus returns a \ b; both normalised.
func minus(a, b []Identifier) []Identifier {
	if len(b) == 0 {
		return slices.Clone(a)
	}
	out := make([]Identifier, 0, len(a))
	j := 0
	for _, x := range a {
		for j < len(b) && compareIDs(b[j], x) < 0 {
			j++
		}
		if j < len(b) && b[j] == x {
			continue
		}
		out = append(out, x)
	}
	return out
}

// CountTypes returns how many identifiers of each type ids holds.
func CountTypes(ids []Identifier) (emails, phones int) {
	for _, id := range ids {
		switch id.Type {
		case TypeEmail:
			emails++
		case TypePhone:
			phones++
		}
	}
	return emails, phones
}

// IsHexHash reports whether s is exactly n lowercase hex digits (0-9, a-f), the shape of an
// n/2-byte digest in the encoding the platforms take. Upper case is refused: the platforms
// match hashes byte for byte, so "AB…" would silently miss the identifier hashed as "ab…".
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

// lowerHex is a lookup table rather than a range test or regexp: the check runs on every
// identifier of a million-identifier upload.
var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

// CheckHashes refuses identifiers that are not of a known type or not a lowercase hex digest
// of hexLen digits (64 for SHA-256, 32 for MD5): that would be raw or wrongly hashed data, and
// raw data must never leave. The error names the platform, the audience, how many are bad and
// the position of the first, never a value. A sink calls it before its first request.
func CheckHashes(platform, audience string, hexLen int, ids []Identifier) error {
	bad, first := 0, -1
	for i := range ids {
		if (ids[i].Type != TypeEmail && ids[i].Type != TypePhone) || !IsHexHash(ids[i].Hash, hexLen) {
			if bad == 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%s: audience %q: %d identifier(s) are not an e-mail or phone hash of %d lowercase hex digits (first at position %d, type %q); nothing was sent: identifiers must be normalised and hashed by transforms/contacts before the sink",
			platform, audience, bad, hexLen, first, ids[first].Type)
	}
	return nil
}

// Check runs CheckHashes on everything the request may send (All and Remove; Add is part of
// All): a sink calls it before its first request.
func (r *Request) Check(hexLen int) error {
	for _, l := range [2][]Identifier{r.All, r.Remove} {
		if err := CheckHashes(r.Platform, r.Audience, hexLen, l); err != nil {
			return err
		}
	}
	return nil
}
