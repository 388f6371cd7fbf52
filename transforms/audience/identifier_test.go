package audience

import (
	"slices"
	"strings"
	"testing"
)

// Published SHA-256 test vectors (FIPS 180-2): "abc" and the empty string.
const (
	shaABC   = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	shaEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	md5ABC   = "900150983cd24fb0d6963f7d28e17f72" // RFC 1321
)

func TestIsHexHash(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want bool
	}{
		{shaABC, 64, true},
		{shaEmpty, 64, true},
		{strings.ToUpper(shaABC), 64, false}, // upper case would miss the platform's match
		{shaABC[:63], 64, false},             // one digit short
		{shaABC + "0", 64, false},            // one digit long
		{shaABC[:63] + "g", 64, false},       // not hex
		{shaABC[:63] + " ", 64, false},       // white space
		{"user@example.com", 64, false},      // a raw e-mail
		{md5ABC, 32, true},
		{md5ABC, 64, false},
		{shaABC, 32, false},
		{"", 0, true},
		{"", 64, false},
	} {
		if got := IsHexHash(c.s, c.n); got != c.want {
			t.Errorf("IsHexHash(%q, %d) = %v, want %v", c.s, c.n, got, c.want)
		}
	}
	// Every byte value: exactly the 16 lowercase hex digits pass.
	n := 0
	for b := 0; b < 256; b++ {
		if IsHexHash(string([]byte{byte(b)}), 1) {
			n++
		}
	}
	if n != 16 {
		t.Errorf("%d single bytes pass as hex, want 16", n)
	}
}

func TestCheckHashes(t *testing.T) {
	good := []Identifier{{Type: TypeEmail, Hash: shaABC}, {Type: TypePhone, Hash: shaEmpty}}
	if err := CheckHashes("meta", "vip", 64, good); err != nil {
		t.Fatalf("valid identifiers: %v", err)
	}
	if err := CheckHashes("vk", "vip", 32, []Identifier{{Type: TypePhone, Hash: md5ABC}}); err != nil {
		t.Fatalf("valid md5: %v", err)
	}
	for _, c := range []struct {
		ids  []Identifier
		want string
	}{
		{append(slices.Clone(good), Identifier{Type: TypeEmail, Hash: "olga@example.ru"}, Identifier{Type: TypePhone, Hash: "79161234567"}), "2 identifier(s)"},
		{[]Identifier{{Type: TypeEmail, Hash: strings.ToUpper(shaABC)}}, "first at position 0"},
		{[]Identifier{{Type: TypeEmail, Hash: shaABC}, {Type: "extern_id", Hash: shaABC}}, `first at position 1, type "extern_id"`},
		{[]Identifier{{Type: TypeEmail, Hash: md5ABC}}, "64 lowercase hex"},
	} {
		err := CheckHashes("meta", "vip", 64, c.ids)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), `meta: audience "vip"`) {
			t.Errorf("CheckHashes = %v, want it to mention %q", err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "olga") || strings.Contains(err.Error(), "7916")) {
			t.Errorf("error leaks a raw value: %v", err)
		}
	}
}

func TestSetOperations(t *testing.T) {
	id := func(typ string, h string) Identifier { return Identifier{Type: typ, Hash: h} }
	a := NormaliseIdentifiers([]Identifier{id(TypePhone, "2"), id(TypeEmail, "3"), id(TypeEmail, "1"), id(TypeEmail, "3")})
	if want := []Identifier{id(TypeEmail, "1"), id(TypeEmail, "3"), id(TypePhone, "2")}; !slices.Equal(a, want) {
		t.Fatalf("normalised %v, want %v", a, want)
	}
	b := []Identifier{id(TypeEmail, "3"), id(TypeEmail, "4"), id(TypePhone, "1")}
	if got, want := union(a, b), []Identifier{id(TypeEmail, "1"), id(TypeEmail, "3"), id(TypeEmail, "4"), id(TypePhone, "1"), id(TypePhone, "2")}; !slices.Equal(got, want) {
		t.Errorf("union %v", got)
	}
	if got, want := minus(a, b), []Identifier{id(TypeEmail, "1"), id(TypePhone, "2")}; !slices.Equal(got, want) {
		t.Errorf("minus %v", got)
	}
	if got := minus(a, nil); !slices.Equal(got, a) {
		t.Errorf("minus nothing %v", got)
	}
	if e, p := CountTypes(union(a, b)); e != 3 || p != 2 {
		t.Errorf("counts %d %d", e, p)
	}
}

// TestStateApply works the next state out by hand for each outcome.
func TestStateApply(t *testing.T) {
	id := func(h string) Identifier { return Identifier{Type: TypeEmail, Hash: h} }
	ids := func(hs ...string) []Identifier {
		var out []Identifier
		for _, h := range hs {
			out = append(out, id(h))
		}
		return out
	}
	start := State{Confirmed: ids("a", "b", "c"), Pending: ids("d")}
	for _, c := range []struct {
		name    string
		applied []Applied
		c, p    []Identifier
	}{
		{"confirmed add", []Applied{{OpAdd, ids("d", "e"), Confirmed}}, ids("a", "b", "c", "d", "e"), nil},
		{"confirmed remove", []Applied{{OpRemove, ids("a", "d"), Confirmed}}, ids("b", "c"), nil},
		{"confirmed replace", []Applied{{OpReplace, ids("c", "x"), Confirmed}}, ids("c", "x"), nil},
		{"unconfirmed add", []Applied{{OpAdd, ids("e"), Unconfirmed}}, ids("a", "b", "c"), ids("d", "e")},
		{"unconfirmed remove", []Applied{{OpRemove, ids("a"), Unconfirmed}}, ids("b", "c"), ids("a", "d")},
		{"unconfirmed replace", []Applied{{OpReplace, ids("x"), Unconfirmed}}, nil, ids("a", "b", "c", "d", "x")},
		{"not sent, validated", []Applied{{OpAdd, ids("x"), NotSent}, {OpRemove, ids("a"), Validated}}, ids("a", "b", "c"), ids("d")},
		{"batches coalesce", []Applied{{OpAdd, ids("e"), Confirmed}, {OpAdd, ids("f"), Confirmed}, {OpAdd, ids("g"), Unconfirmed}}, ids("a", "b", "c", "e", "f"), ids("d", "g")},
		{"replace then invalid batch", []Applied{{OpReplace, ids("a", "x", "y"), Confirmed}, {OpAdd, ids("y"), Unconfirmed}}, ids("a", "x"), ids("y")},
	} {
		got := start.apply(c.applied)
		if !slices.Equal(got.Confirmed, c.c) || !slices.Equal(got.Pending, c.p) {
			t.Errorf("%s: confirmed %v pending %v, want %v %v", c.name, got.Confirmed, got.Pending, c.c, c.p)
		}
	}
	if !slices.Equal(start.Confirmed, ids("a", "b", "c")) {
		t.Error("apply changed its receiver's slices")
	}
}

func TestBatchCoder(t *testing.T) {
	in := Batch{IDs: []Identifier{{Type: TypeEmail, Hash: shaABC}, {Type: TypePhone, Hash: md5ABC}, {Type: TypePhone, Hash: "NOT-HEX"}, {Type: TypeEmail, Hash: ""}}}
	b, err := EncodeBatch(in)
	if err != nil {
		t.Fatal(err)
	}
	// count 1 + (1+1+32) + (1+1+16) + (1+1+7 raw) + (1+1+0): worked out from the format.
	if len(b) != 1+34+18+9+2 {
		t.Errorf("encoded %d bytes, want %d", len(b), 1+34+18+9+2)
	}
	out, err := DecodeBatch(b)
	if err != nil || !slices.Equal(out.IDs, in.IDs) {
		t.Fatalf("round trip: %v %v", out, err)
	}
	if _, err := EncodeBatch(Batch{IDs: []Identifier{{Type: "extern_id", Hash: shaABC}}}); err == nil {
		t.Error("unknown type encoded")
	}
	for _, bad := range [][]byte{nil, {5}, b[:len(b)-1], append(slices.Clone(b), 0)} {
		if _, err := DecodeBatch(bad); err == nil {
			t.Errorf("decoded corrupt batch %v", bad)
		}
	}
}
