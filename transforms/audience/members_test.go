package audience

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Published SHA-256 test vectors (FIPS 180-2): "abc" and the empty string.
const (
	shaABC   = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	shaEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

func TestIsHexHash(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want bool
	}{
		{shaABC, 64, true},
		{shaEmpty, 64, true},
		{strings.ToUpper(shaABC), 64, false},           // upper case would miss the platform's match
		{shaABC[:63], 64, false},                       // one digit short
		{shaABC + "0", 64, false},                      // one digit long
		{shaABC[:63] + "g", 64, false},                 // not hex
		{shaABC[:63] + " ", 64, false},                 // white space
		{"user@example.com", 64, false},                // a raw e-mail
		{"900150983cd24fb0d6963f7d28e17f72", 32, true}, // MD5("abc"), RFC 1321
		{"900150983cd24fb0d6963f7d28e17f72", 64, false},
		{shaABC, 32, false},
		{"", 0, true},
		{"", 64, false},
	} {
		if got := IsHexHash(c.s, c.n); got != c.want {
			t.Errorf("IsHexHash(%q, %d) = %v, want %v", c.s, c.n, got, c.want)
		}
	}
	if !IsSHA256Hex(shaABC) || IsSHA256Hex("900150983cd24fb0d6963f7d28e17f72") || IsSHA256Hex(strings.ToUpper(shaEmpty)) {
		t.Error("IsSHA256Hex: want true only for 64 lowercase hex digits")
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
	ok := Member{Key: "k", Email: shaABC, Phone: shaEmpty, ExternID: "crm-7"}
	if err := CheckHashes("meta", SyncRequest{Audience: "vip", Add: []Member{ok}, Remove: []Member{{Key: "e", Phone: shaABC}}, All: []Member{ok, {Key: "none"}}}); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	if err := CheckHashes("meta", SyncRequest{}); err != nil {
		t.Fatalf("empty request: %v", err)
	}
	raw := "+79161234567"
	req := SyncRequest{
		Audience: "vip",
		Add:      []Member{ok},
		// Remove[1].Phone is the first bad one; Remove[2].Email and Remove[2].Phone make 3.
		Remove: []Member{ok, {Key: "b", Email: shaABC, Phone: raw}, {Key: "c", Email: "Bob@Example.com", Phone: strings.ToUpper(shaABC)}},
		All:    []Member{{Key: "d", Email: "x"}}, // not reached: Remove is reported first
	}
	err := CheckHashes("google", req)
	if err == nil {
		t.Fatal("raw identifiers accepted")
	}
	msg := err.Error()
	for _, want := range []string{"google: ", `audience "vip"`, "3 identifier(s)", "first at Remove[1].Phone", "nothing was sent"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	for _, leak := range []string{raw, "Bob@Example.com", strings.ToUpper(shaABC)} {
		if strings.Contains(msg, leak) {
			t.Errorf("error %q leaks the value %q", msg, leak)
		}
	}
	// Only All is bad: the error names All.
	err = CheckHashes("meta", SyncRequest{Audience: "a", All: []Member{ok, ok, {Key: "x", Email: shaABC[:10]}}})
	if err == nil || !strings.Contains(err.Error(), "meta: ") || !strings.Contains(err.Error(), "1 identifier(s)") || !strings.Contains(err.Error(), "first at All[2].Email") {
		t.Errorf("bad All: got %v", err)
	}
	// ExternID is sent unhashed where allowed, so it is not checked.
	if err := CheckHashes("meta", SyncRequest{Add: []Member{{Key: "x", ExternID: "crm 7"}}}); err != nil {
		t.Errorf("ExternID checked: %v", err)
	}
}

func TestStripKept(t *testing.T) {
	const e1, e2, p1, p2 = "e1", "e2", "p1", "p2" // stand-ins: StripKept compares, never checks shape
	remove := []Member{
		{Key: "a", Email: e1, Phone: p1},      // changed only the phone: e1 is still used by a kept member
		{Key: "b", Email: e2},                 // e2 kept in All: nothing left, dropped
		{Key: "c", Phone: p2, ExternID: "x1"}, // nobody keeps p2; x1 is kept
		{Key: "d", ExternID: "x2"},            // only an extern id, nobody keeps it
		{Key: "e", Email: "e9", ExternID: "x1"},
	}
	orig := append([]Member(nil), remove...)
	add := []Member{{Key: "a2", Email: e1, Phone: "p9"}}
	all := []Member{{Key: "a2", Email: e1, Phone: "p9"}, {Key: "b2", Email: e2, ExternID: "x1"}}

	// Without extern ids (Google): e1 and e2 are blanked; b is left with nothing; d has
	// no e-mail or phone; ExternID is passed through untouched.
	got := StripKept(remove, false, add, all)
	want := []Member{
		{Key: "a", Phone: p1},
		{Key: "c", Phone: p2, ExternID: "x1"},
		{Key: "e", Email: "e9", ExternID: "x1"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("without extern ids (-want +got):\n%s", d)
	}

	// With extern ids (Meta): x1 is kept by b2, so it is blanked; d stays on its extern id.
	got = StripKept(remove, true, add, all)
	want = []Member{
		{Key: "a", Phone: p1},
		{Key: "c", Phone: p2},
		{Key: "d", ExternID: "x2"},
		{Key: "e", Email: "e9"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("with extern ids (-want +got):\n%s", d)
	}

	if d := cmp.Diff(orig, remove); d != "" {
		t.Errorf("remove was modified (-before +after):\n%s", d)
	}
	// Nothing kept: every member with an identifier stays as it was.
	if d := cmp.Diff(orig, StripKept(remove, true)); d != "" {
		t.Errorf("no keep lists (-want +got):\n%s", d)
	}
	if got := StripKept(nil, true, add); got != nil {
		t.Errorf("empty remove: got %v, want nil", got)
	}
	// Members with no identifier at all are dropped even when nothing is kept.
	if got := StripKept([]Member{{Key: "z"}}, false); len(got) != 0 {
		t.Errorf("member without identifiers kept: %v", got)
	}
}
