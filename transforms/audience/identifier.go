package audience

import (
	"cmp"
	"fmt"
	"math"
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
//
// In a value-based audience (Target.Value set, Meta's value-based lookalike seeds) each
// identifier also carries a Value, the worth of the customers behind it; elsewhere Value is
// 0. The identifier's identity is (Type, Hash): a set never holds one twice, and a changed
// Value is a change of that identifier, not another identifier.
type Identifier struct {
	Type  string  // TypeEmail or TypePhone
	Hash  string  // lowercase hex digest of the normalised value, with the platform's algorithm
	Value float64 // value-based audiences only: >= 0, see Target.Value
}

// compareKeys orders identifiers by their identity (Type, Hash).
func compareKeys(a, b Identifier) int {
	if c := cmp.Compare(a.Type, b.Type); c != 0 {
		return c
	}
	return cmp.Compare(a.Hash, b.Hash)
}

// compareIDs orders by identity, then by value, so that a list's order never depends on the
// order it was built in.
func compareIDs(a, b Identifier) int {
	if c := compareKeys(a, b); c != 0 {
		return c
	}
	return cmp.Compare(a.Value, b.Value)
}

// NormaliseIdentifiers sorts ids by (Type, Hash, Value) and drops exact repeats, in place,
// and returns the shortened slice. Every set in this package is kept in this form; a set
// holds each (Type, Hash) once (see DuplicateKey for lists read from outside).
func NormaliseIdentifiers(ids []Identifier) []Identifier {
	if !slices.IsSortedFunc(ids, compareIDs) {
		slices.SortFunc(ids, compareIDs)
	}
	return slices.Compact(ids)
}

// MergeIdentifiers is NormaliseIdentifiers for the contributions of several customers: the
// repeats of one (Type, Hash) become one identifier whose Value is the sum of theirs (two
// customers sharing an e-mail: the e-mail stands for both), rounded to cents. The sum runs
// in value order, so the result does not depend on the order of ids (bucket order, retries).
func MergeIdentifiers(ids []Identifier) []Identifier {
	ids = NormaliseIdentifiers(ids)
	out := ids[:0]
	for i := 0; i < len(ids); {
		j, sum := i+1, ids[i].Value
		for j < len(ids) && compareKeys(ids[j], ids[i]) == 0 {
			sum += ids[j].Value
			j++
		}
		x := ids[i]
		if j > i+1 {
			x.Value = RoundValue(sum)
		}
		out = append(out, x)
		i = j
	}
	return out
}

// RoundValue rounds a value to cents: values feed a ranking on the platform, and noise below
// a cent would make every nightly refit a change.
func RoundValue(v float64) float64 { return math.Round(v*100) / 100 }

// DuplicateKey returns the index of the first identifier of normalised ids whose (Type, Hash)
// repeats the one before it (the same identifier with two values), or -1.
func DuplicateKey(ids []Identifier) int {
	for i := 1; i < len(ids); i++ {
		if compareKeys(ids[i-1], ids[i]) == 0 {
			return i
		}
	}
	return -1
}

// union returns a ∪ b by identity; both normalised. An identifier in both takes b's value
// (b is the newer answer).
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
		switch c := compareKeys(a[i], b[j]); {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			out = append(out, b[j])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// minus returns a \ b by identity (an identifier of a whose (Type, Hash) is in b is dropped,
// whatever the values); both normalised.
func minus(a, b []Identifier) []Identifier {
	return filter(a, b, func(x, y Identifier) bool { return true })
}

// changed returns the identifiers of a that b lacks or holds with another value: what must be
// sent so that the platform holds a (Add of a plan); both normalised. Without values it is
// minus.
func changed(a, b []Identifier) []Identifier {
	return filter(a, b, func(x, y Identifier) bool { return x.Value == y.Value })
}

// filter returns the identifiers of a except those whose identity is in b and for which
// same(a's, b's) holds; both normalised.
func filter(a, b []Identifier, same func(x, y Identifier) bool) []Identifier {
	if len(b) == 0 {
		return slices.Clone(a)
	}
	out := make([]Identifier, 0, len(a))
	j := 0
	for _, x := range a {
		for j < len(b) && compareKeys(b[j], x) < 0 {
			j++
		}
		if j < len(b) && compareKeys(b[j], x) == 0 && same(x, b[j]) {
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

// CheckValues refuses, in a value-based audience (valueColumn set), a value that is negative,
// NaN or infinite (the platforms take non-negative numbers), and elsewhere any value at all
// (it would be dropped without a word). The error names how many and the first position.
func CheckValues(platform, audience, valueColumn string, ids []Identifier) error {
	bad, first := 0, -1
	for i := range ids {
		v := ids[i].Value
		ok := v == 0 || valueColumn != "" && v > 0 && !math.IsInf(v, 1)
		if !ok {
			if bad == 0 {
				first = i
			}
			bad++
		}
	}
	switch {
	case bad == 0:
		return nil
	case valueColumn == "":
		return fmt.Errorf("%s: audience %q: %d identifier(s) carry a value (first at position %d) but the audience is not value-based; nothing was sent", platform, audience, bad, first)
	}
	return fmt.Errorf("%s: audience %q: %d identifier(s) have a %s value that is negative or not a number (first at position %d, %v); nothing was sent: a value-based audience takes values >= 0",
		platform, audience, bad, valueColumn, first, ids[first].Value)
}

// Check runs CheckHashes and CheckValues on everything the request may send (All and Remove;
// Add is part of All): a sink calls it before its first request.
func (r *Request) Check(hexLen int) error {
	for _, l := range [2][]Identifier{r.All, r.Remove} {
		if err := CheckHashes(r.Platform, r.Audience, hexLen, l); err != nil {
			return err
		}
		if err := CheckValues(r.Platform, r.Audience, r.Value, l); err != nil {
			return err
		}
	}
	return nil
}
