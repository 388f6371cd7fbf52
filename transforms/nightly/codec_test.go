package nightly

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
)

func TestBucket(t *testing.T) {
	// FNV-1a 32-bit test vectors (the FNV reference): "" -> 0x811c9dc5, "a" -> 0xe40c292c,
	// "foobar" -> 0xbf9cf968.
	cases := []struct {
		id   string
		n    int
		want int
	}{
		{"", 1000, 0x811c9dc5 % 1000}, // 2166136261 -> 261
		{"a", 1000, 220},              // 3826002220
		{"a", 7, 5},                   // 3826002220 = 7 * 546571745 + 5
		{"foobar", 1000, 720},         // 3214735720
		{"foobar", 1, 0},
	}
	for _, c := range cases {
		if got := Bucket(c.id, c.n); got != c.want {
			t.Errorf("Bucket(%q, %d) = %d, want %d", c.id, c.n, got, c.want)
		}
	}
	for _, n := range []int{1, 2, 3, 64, 1000} {
		for i := 0; i < 2000; i++ {
			id := "C" + strings.Repeat("x", i%7) + string(rune('0'+i%10)) + string(rune('a'+i%26))
			b := Bucket(id, n)
			if b < 0 || b >= n || b != Bucket(id, n) {
				t.Fatalf("Bucket(%q, %d) = %d", id, n, b)
			}
		}
	}
}

func TestSymBytes(t *testing.T) {
	e := NewEnc(KindSpend)
	for _, s := range []string{"RUB", "RUB", "EUR", "RUB", "", "", "EUR"} {
		e.Sym(s)
	}
	// New symbol: 0 then the string (length + bytes), taking id len+1; known: its id.
	want := []byte{
		0, 3, 'R', 'U', 'B', // RUB -> id 1
		1,                   // RUB
		0, 3, 'E', 'U', 'R', // EUR -> id 2
		1,    // RUB
		0, 0, // "" -> id 3
		3, // ""
		2, // EUR
	}
	if !bytes.Equal(e.B, want) {
		t.Fatalf("bytes %v, want %v", e.B, want)
	}
	d := NewDec(e.B, KindSpend)
	var got []string
	for d.More() {
		got = append(got, d.Sym())
	}
	if d.Err != nil || !reflect.DeepEqual(got, []string{"RUB", "RUB", "EUR", "RUB", "", "", "EUR"}) {
		t.Errorf("decoded %q, %v", got, d.Err)
	}
	// A reference to a symbol never defined is an error, not a panic.
	d = NewDec([]byte{5}, KindSpend)
	if d.Sym(); d.Err == nil {
		t.Error("undefined symbol accepted")
	}
	d = NewDec([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, KindSpend) // id 2^64-1
	if d.Sym(); d.Err == nil {
		t.Error("huge symbol id accepted")
	}
}

func TestOrderRoundTrip(t *testing.T) {
	in := []orders.Order{
		{OrderID: "O1", CustomerID: "C1", Day: 19732, Amount: 1000000, Currency: "RUB", Channel: "ads"},
		{OrderID: "O2", CustomerID: "C1", Day: 19763, Amount: 505000, Currency: "RUB", Channel: ""},
		{OrderID: "O3", CustomerID: "Ж-2", Day: -5, Amount: -1, Currency: "EUR", Channel: "ads"},
	}
	e := NewEnc(KindOrders)
	for i := range in {
		e.PutOrder(int64(10+i), &in[i])
	}
	d := NewDec(e.B, KindOrders)
	for i := range in {
		line, o := d.GetOrder()
		want := in[i]
		want.Status = orders.StatusCompleted // only counted orders travel
		if line != int64(10+i) || o != want {
			t.Errorf("order %d: line %d %+v, want %+v", i, line, o, want)
		}
	}
	if d.More() || d.Err != nil {
		t.Errorf("trailing data or error: %v", d.Err)
	}
}

func TestOtherRoundTrips(t *testing.T) {
	// Keys carry their batch's source; a BigQuery batch (Tied) also each row's tie-break.
	for _, src := range []Src{{Path: "in/orders.csv"}, {Path: "bq://p.d.t", Stream: 3, Tied: true}} {
		at := func(row int64, tie uint64) RowID {
			if !src.Tied {
				tie = 0
			}
			return RowID{src, tie, row}
		}
		keys := []OrderKey{{"O1", "C1", "RUB", 19732, KeyPurchase, at(2, 7)}, {"O2", "C2", "RUB", 19733, KeyNotPurchase, at(3, 1<<63)},
			{"O3", "C1", "USD", 0, KeyAfterRunDate, at(1<<40, 0)}}
		e := NewSrcEnc(KindOrderKeys, src)
		for _, k := range keys {
			e.PutOrderKey(k)
		}
		d := NewDec(e.B, KindOrderKeys)
		if d.Src != src {
			t.Errorf("src %+v, want %+v", d.Src, src)
		}
		for _, k := range keys {
			if got := d.GetOrderKey(); got != k {
				t.Errorf("order key %+v, want %+v", got, k)
			}
		}
		checkEnd(t, d)
	}

	dead := []DeadLetter{{"orders", "in/orders.csv", 4, "O1", "duplicate_order_id", "order O1 twice"}, {"contacts", "", 0, "", "", ""}}
	e := NewEnc(KindDead)
	for i := range dead {
		e.PutDead(&dead[i])
	}
	d := NewDec(e.B, KindDead)
	for _, x := range dead {
		if got := d.GetDead(); got != x {
			t.Errorf("dead %+v, want %+v", got, x)
		}
	}
	checkEnd(t, d)

	spend := []orders.Spend{{Period: "2024-01", Channel: "ads", Amount: 4000005000, Currency: "RUB"}, {Period: "2024-02", Channel: "", Amount: 0, Currency: "EUR"}}
	e = NewEnc(KindSpend)
	for i := range spend {
		e.PutSpend(&spend[i])
	}
	d = NewDec(e.B, KindSpend)
	for _, s := range spend {
		if got := d.GetSpend(); got != s {
			t.Errorf("spend %+v, want %+v", got, s)
		}
	}
	checkEnd(t, d)
}

func checkEnd(t *testing.T, d *Dec) {
	t.Helper()
	if d.Err != nil || d.More() {
		t.Errorf("after the last record: err %v, %d bytes left", d.Err, len(d.B))
	}
}

var (
	shaE = strings.Repeat("ab", 32) // 32-byte hashes as hex
	shaP = strings.Repeat("cd", 32)
	md5E = strings.Repeat("01", 16) // 16-byte hashes as hex
	md5P = strings.Repeat("23", 16)
)

func sampleCustomers() []CustomerRec {
	// Rows are decoded with the batch's source: the empty one of NewEnc.
	return []CustomerRec{
		{CustomerID: "C1", Country: "RU", Consent: true, CreatedAt: 19723, Hashed: contacts.Hashed{CustomerID: "C1", Consent: true,
			Email: [contacts.NumProfiles]string{shaE, md5E, shaE, shaE},
			Phone: [contacts.NumProfiles]string{shaP, md5P, shaP, ""}}},
		// No consent: nothing hashed.
		{CustomerID: "C2", Country: "", Consent: false, CreatedAt: 0, Hashed: contacts.Hashed{CustomerID: "C2"}},
		// Phone only, and a value that is not hex (kept as text).
		{CustomerID: "C3", Country: "KZ", Consent: true, CreatedAt: -1, Hashed: contacts.Hashed{CustomerID: "C3", Consent: true,
			Phone: [contacts.NumProfiles]string{shaP, "not-hex", shaP, shaP}}},
	}
}

func TestCustomerRoundTrip(t *testing.T) {
	in := sampleCustomers()
	e := NewEnc(KindCustomers)
	e.PutCustomer(&in[0])
	// By hand: row 0 1, id "C1" 1+2, country "RU" 1+2, consent 1, CreatedAt 19723 zigzag
	// 39446 is a 3-byte varint, hashed consent 1, count 1, four distinct hashes (sha
	// e-mail, md5 e-mail, sha phone, md5 phone) as a hex flag + length + raw bytes:
	// 34+18+34+18 = 104, then 8 index bytes: 1+3+3+1+3+1+1+104+8 = 125, plus the empty
	// source (path length, stream, tied: 3 bytes).
	if len(e.B) != 128 {
		t.Errorf("C1 encodes to %d bytes, want 128 (each distinct hash once, raw)", len(e.B))
	}
	if idx := e.B[len(e.B)-8:]; !bytes.Equal(idx, []byte{1, 2, 1, 1, 3, 4, 3, 0}) {
		t.Errorf("index bytes %v, want [1 2 1 1 3 4 3 0]", idx)
	}
	e.PutCustomer(&in[1])
	e.PutCustomer(&in[2])

	d := NewDec(e.B, KindCustomers)
	for i := range in {
		if got := d.GetCustomer(true); !reflect.DeepEqual(got, in[i]) {
			t.Errorf("customer %d:\n got %+v\nwant %+v", i, got, in[i])
		}
	}
	checkEnd(t, d)

	// Without hashes the other fields still decode, and every record stays in step.
	d = NewDec(e.B, KindCustomers)
	for i := range in {
		got := d.GetCustomer(false)
		want := in[i]
		want.Hashed.Email, want.Hashed.Phone = [contacts.NumProfiles]string{}, [contacts.NumProfiles]string{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("customer %d without hashes:\n got %+v\nwant %+v", i, got, want)
		}
	}
	checkEnd(t, d)
}

// Every cut of a batch decodes without a panic; a cut inside a record is an error.
func TestTruncatedBatches(t *testing.T) {
	type batch struct {
		name       string
		b          []byte
		kind       byte
		boundaries map[int]bool
		decode     func(d *Dec)
	}
	var batches []batch
	{
		e := NewEnc(KindOrders)
		bd := map[int]bool{len(e.B): true}
		for i, o := range []orders.Order{{OrderID: "O1", CustomerID: "C1", Day: 19732, Amount: 1000000, Currency: "RUB", Channel: "ads"}, {OrderID: "O2", CustomerID: "C1", Day: 19763, Amount: 5, Currency: "RUB"}} {
			e.PutOrder(int64(i), &o)
			bd[len(e.B)] = true
		}
		batches = append(batches, batch{"orders", e.B, KindOrders, bd, func(d *Dec) { d.GetOrder() }})
	}
	{
		e := NewSrcEnc(KindCustomers, Src{Path: "bq://p.d.c", Stream: 1, Tied: true})
		bd := map[int]bool{len(e.B): true}
		for _, c := range sampleCustomers() {
			e.PutCustomer(&c)
			bd[len(e.B)] = true
		}
		batches = append(batches, batch{"customers", e.B, KindCustomers, bd, func(d *Dec) { d.GetCustomer(true) }})
		batches = append(batches, batch{"customers without hashes", e.B, KindCustomers, bd, func(d *Dec) { d.GetCustomer(false) }})
	}
	{
		lb := NewLineBatch(Src{Path: "l.csv"})
		bd := map[int]bool{len(lb.Bytes()): true}
		lb.Add(2, &orders.Line{OrderID: "O1", Category: "mattress", Amount: 1000000})
		lb.Add(3, &orders.Line{OrderID: "O1", Category: "pillow", Amount: 5})
		bd[len(lb.Bytes())] = true
		lb.Add(4, &orders.Line{OrderID: "O2", Category: "pillow", Amount: -3})
		b := lb.Bytes()
		bd[len(b)] = true
		batches = append(batches, batch{"lines", b, KindLines, bd, func(d *Dec) { d.GetLineGroup(&LineGroup{}) }})
	}
	{
		e := NewEnc(KindCustLines)
		bd := map[int]bool{len(e.B): true}
		e.PutOrderLines(&OrderLines{"O1", []CatAmount{{"mattress", 1000000}, {"pillow", 5}}})
		bd[len(e.B)] = true
		e.PutOrderLines(&OrderLines{"O12", []CatAmount{{"", 0}}})
		bd[len(e.B)] = true
		batches = append(batches, batch{"cust lines", e.B, KindCustLines, bd, func(d *Dec) { d.GetOrderLines(&OrderLines{}) }})
	}
	for _, bt := range batches {
		for cut := 0; cut <= len(bt.b); cut++ {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s cut at %d of %d: panic %v", bt.name, cut, len(bt.b), r)
					}
				}()
				d := NewDec(bt.b[:cut], bt.kind)
				n := 0
				for d.More() && n < 100 {
					bt.decode(d)
					n++
				}
				if cut == 0 {
					bt.boundaries[0] = true // an empty field holds no records
				}
				if bt.boundaries[cut] && d.Err != nil {
					t.Errorf("%s cut at record boundary %d: %v", bt.name, cut, d.Err)
				}
				if !bt.boundaries[cut] && d.Err == nil {
					t.Errorf("%s cut at %d inside a record: no error", bt.name, cut)
				}
			}()
		}
	}
}

// More symbols than the encoder's short list: ids stay in order of first use.
func TestManySymbols(t *testing.T) {
	e := NewEnc(KindSpend)
	var in []string
	for i := 0; i < 30; i++ {
		in = append(in, fmt.Sprintf("s%d", i%13), fmt.Sprintf("s%d", (i*7)%13))
	}
	for _, s := range in {
		e.Sym(s)
	}
	d := NewDec(e.B, KindSpend)
	for i, want := range in {
		if got := d.Sym(); got != want {
			t.Fatalf("symbol %d: %q, want %q", i, got, want)
		}
	}
	checkEnd(t, d)
}

// The batch types' own encoding, by hand: each field is a uvarint length then its bytes;
// the last field is the spill reference, empty (length 0) for a batch held in memory.
func TestBatchCoders(t *testing.T) {
	cb := CustomerBatch{Orders: []byte{1, 2}, Lines: []byte{3}}
	b, _ := cb.MarshalBinary()
	if want := []byte{2, 1, 2, 0, 1, 3, 0, 0}; !bytes.Equal(b, want) {
		t.Errorf("customer batch bytes %v, want %v", b, want)
	}
	var got CustomerBatch
	if err := got.UnmarshalBinary(b); err != nil || !bytes.Equal(got.Orders, cb.Orders) || len(got.Customers) != 0 || !bytes.Equal(got.Lines, cb.Lines) || len(got.Drops) != 0 {
		t.Errorf("customer batch round trip %+v, %v", got, err)
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(append([]byte{}, b...), 9), {5, 1}} {
		if err := got.UnmarshalBinary(bad); err == nil {
			t.Errorf("customer batch %v decoded without error", bad)
		}
	}
	ob := OrderBatch{Keys: []byte{7}}
	b, _ = ob.MarshalBinary()
	if want := []byte{1, 7, 0, 0}; !bytes.Equal(b, want) {
		t.Errorf("order batch bytes %v, want %v", b, want)
	}
	var gotO OrderBatch
	if err := gotO.UnmarshalBinary(b); err != nil || !bytes.Equal(gotO.Keys, ob.Keys) || len(gotO.Lines) != 0 {
		t.Errorf("order batch round trip %+v, %v", gotO, err)
	}
	dead := DeadLetters{Rows: []DeadLetter{{"orders", "in/o.csv", 4, "O1", "duplicate_order_id", "order O1 twice"}, {"contacts", "", 0, "", "", ""}}}
	b, _ = dead.MarshalBinary()
	var gotD DeadLetters
	if err := gotD.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(gotD, dead) {
		t.Errorf("dead letters round trip %+v, %v", gotD, err)
	}
	if err := gotD.UnmarshalBinary(b[:len(b)-1]); err == nil {
		t.Error("truncated dead letters decoded")
	}
	spend := SpendRows{Rows: []orders.Spend{{Period: "2024-01", Channel: "ads", Amount: 4000005000, Currency: "RUB"}}}
	b, _ = spend.MarshalBinary()
	var gotS SpendRows
	if err := gotS.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(gotS, spend) {
		t.Errorf("spend round trip %+v, %v", gotS, err)
	}
}
