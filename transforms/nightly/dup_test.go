package nightly

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

func at(path string, row int64) RowID { return RowID{Src: Src{Path: path}, Row: row} }

func keyBatch(src Src, keys ...OrderKey) []byte {
	e := NewSrcEnc(KindOrderKeys, src)
	for _, k := range keys {
		k.At.Src = src
		e.PutOrderKey(k)
	}
	return e.B
}

func orderBatch(src Src, rows []int64, os ...orders.Order) []byte {
	e := NewSrcEnc(KindOrders, src)
	for i := range os {
		e.PutOrder(rows[i], &os[i])
	}
	return e.B
}

// A duplicated order id keeps the row with the smallest RowID whatever order the batches
// arrive in, and the bucket keeps that row's purchase.
func TestDuplicateOrderKeepsFirstRow(t *testing.T) {
	src := Src{Path: "orders.csv"}
	k9 := keyBatch(src, OrderKey{"o1", "c1", "RUB", 200, KeyPurchase, RowID{Row: 9}})
	k2 := keyBatch(src, OrderKey{"o1", "c1", "RUB", 100, KeyPurchase, RowID{Row: 2}})
	ords := orderBatch(src, []int64{9, 2},
		orders.Order{OrderID: "o1", CustomerID: "c1", Day: 200, Amount: 99 * value.MoneyScale, Currency: "RUB"},
		orders.Order{OrderID: "o1", CustomerID: "c1", Day: 100, Amount: 10 * value.MoneyScale, Currency: "RUB"})
	for _, in := range [][][]byte{{k9, k2}, {k2, k9}} {
		_, drops, dead, counts, err := JoinLines(in, 1)
		if err != nil {
			t.Fatal(err)
		}
		dl := decodeDead(t, dead)
		if len(dl) != 1 || dl[0].Line != 9 || dl[0].File != "orders.csv" || !strings.Contains(dl[0].Detail, "orders.csv:2 is kept") {
			t.Errorf("dead letters %+v", dl)
		}
		if counts["rows_used.orders"] != 1 || counts[CounterDead(orders.InputOrders, orders.ReasonDuplicateOrder)] != 1 {
			t.Errorf("counts %v", counts)
		}
		bd, err := BuildBucket([][]byte{drops[0], ords}, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(bd.Customers) != 1 || len(bd.Customers[0].Purchases) != 1 || bd.Customers[0].Purchases[0].Day != 100 {
			t.Errorf("customers %+v, want c1 with the row-2 purchase (day 100)", bd.Customers)
		}
	}
	// Without the drops the bucket finds the order twice: not a dead letter but an error,
	// since the join decides every duplicate.
	if _, err := BuildBucket([][]byte{ords}, false); err == nil || !strings.Contains(err.Error(), "kept twice") {
		t.Errorf("undecided duplicate: %v", err)
	}
}

// The item 13: the same order on line 5 of two files. Rows are identified by
// (file, row): the file whose path sorts first keeps it, the other row is dead-lettered
// naming both places, and the customer keeps exactly one purchase (before, both rows were
// dropped as "line 5" and the customer had none).
func TestDuplicateAcrossFiles(t *testing.T) {
	a, b := Src{Path: "in/a.csv"}, Src{Path: "in/b.csv"}
	o := orders.Order{OrderID: "o5", CustomerID: "c1", Day: 100, Amount: value.MoneyScale, Currency: "RUB"}
	keys := [][]byte{keyBatch(b, OrderKey{"o5", "c1", "RUB", 100, KeyPurchase, RowID{Row: 5}}), keyBatch(a, OrderKey{"o5", "c1", "RUB", 100, KeyPurchase, RowID{Row: 5}})}
	_, drops, dead, counts, err := JoinLines(keys, 1)
	if err != nil {
		t.Fatal(err)
	}
	dl := decodeDead(t, dead)
	if len(dl) != 1 || dl[0].File != "in/b.csv" || dl[0].Line != 5 || !strings.Contains(dl[0].Detail, "in/a.csv:5 is kept") {
		t.Errorf("dead letters %+v", dl)
	}
	if counts["rows_used.orders"] != 1 {
		t.Errorf("counts %v", counts)
	}
	bd, err := BuildBucket([][]byte{orderBatch(a, []int64{5}, o), orderBatch(b, []int64{5}, o), drops[0]}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(bd.Customers) != 1 || len(bd.Customers[0].Purchases) != 1 {
		t.Errorf("customers %+v, want c1 with one purchase", bd.Customers)
	}
}

// BigQuery rows have no stable position between runs: duplicates among them are decided
// by content (Tie) first, so the same table gives the same kept row whatever streams
// BigQuery chose.
func TestDuplicateFromBigQueryDecidedByContent(t *testing.T) {
	s0, s1 := Src{Path: "bq://p.d.t", Stream: 0, Tied: true}, Src{Path: "bq://p.d.t", Stream: 1, Tied: true}
	small := OrderKey{"o1", "c1", "RUB", 100, KeyPurchase, RowID{Tie: 5, Row: 7}}
	big := OrderKey{"o1", "c2", "RUB", 100, KeyPurchase, RowID{Tie: 9, Row: 1}}
	for _, layout := range [][][]byte{{keyBatch(s0, small), keyBatch(s1, big)}, {keyBatch(s1, small), keyBatch(s0, big)}} {
		_, drops, _, _, err := JoinLines(layout, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := NewDec(drops[0])
		if k := d.getDrop(); k.row != 1 { // the c2 row (tie 9) loses wherever it was read
			t.Errorf("dropped %+v, want the tie-9 row", k)
		}
	}
}

// Duplicates across statuses and customers are decided where every row of an order id
// meets: the order-id join. Worked by hand: o1 cancelled on line 2 and completed on line 9
// keeps the cancelled row (no purchase, line 9 dead-lettered); o2 for c1 on line 3 and for
// c2 on line 7 keeps c1's (c2's row dropped from its bucket, line 7 dead-lettered).
func TestDuplicatesDecidedByTheOrderJoin(t *testing.T) {
	src := Src{Path: "o.csv"}
	keys := keyBatch(src,
		OrderKey{"o1", "c1", "RUB", 100, KeyNotPurchase, RowID{Row: 2}},
		OrderKey{"o1", "c1", "RUB", 101, KeyPurchase, RowID{Row: 9}},
		OrderKey{"o2", "c2", "RUB", 110, KeyPurchase, RowID{Row: 7}},
		OrderKey{"o2", "c1", "RUB", 110, KeyPurchase, RowID{Row: 3}})
	_, drops, dead, counts, err := JoinLines([][]byte{keys}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Each of the four rows counted once: o1's kept row is not a purchase, o2's is used.
	want := map[string]int64{"dead_letter.orders.duplicate_order_id": 2, "rows_used.orders": 1, "rows_not_purchases.orders": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	var lines []int64
	for _, x := range decodeDead(t, dead) {
		lines = append(lines, x.Line)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i] < lines[j] })
	if len(lines) != 2 || lines[0] != 7 || lines[1] != 9 {
		t.Errorf("dead-lettered lines %v, want [7 9]", lines)
	}
	ords := orderBatch(src, []int64{9, 3, 7},
		orders.Order{OrderID: "o1", CustomerID: "c1", Day: 101, Amount: 5 * value.MoneyScale, Currency: "RUB"},
		orders.Order{OrderID: "o2", CustomerID: "c1", Day: 110, Amount: 7 * value.MoneyScale, Currency: "RUB"},
		orders.Order{OrderID: "o2", CustomerID: "c2", Day: 110, Amount: 7 * value.MoneyScale, Currency: "RUB"})
	bd, err := BuildBucket([][]byte{ords, drops[0]}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(bd.Customers) != 1 || bd.Customers[0].CustomerID != "c1" || len(bd.Customers[0].Purchases) != 1 || bd.Customers[0].Purchases[0].OrderID != "o2" {
		t.Errorf("customers after drops: %+v, want only c1 with o2", bd.Customers)
	}
	if bd.Dead != nil {
		t.Errorf("bucket dead letters %v, want none (the join reported them)", bd.Dead)
	}
}

// The item 10: a losing duplicate that is cancelled is one dead letter and
// nothing else (it used to be counted as "not a purchase" by the reader too).
func TestCancelledLosingDuplicateCountedOnce(t *testing.T) {
	keys := keyBatch(Src{Path: "o.csv"},
		OrderKey{"o1", "c1", "RUB", 100, KeyPurchase, RowID{Row: 2}},
		OrderKey{"o1", "c1", "RUB", 100, KeyNotPurchase, RowID{Row: 3}},
		OrderKey{"o1", "c1", "RUB", 100, KeyAfterRunDate, RowID{Row: 4}})
	_, drops, _, counts, err := JoinLines([][]byte{keys}, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"dead_letter.orders.duplicate_order_id": 2, "rows_used.orders": 1}
	if !reflect.DeepEqual(counts, want) || len(drops) != 0 {
		t.Errorf("counts %v (want %v), drops %d (the losers were no purchases)", counts, want, len(drops))
	}
}

func customerBatch(src Src, recs ...CustomerRec) []byte {
	e := NewSrcEnc(KindCustomers, src)
	for i := range recs {
		e.PutCustomer(&recs[i])
	}
	return e.B
}

// A customer listed twice: the first row gives country, created_at and contacts, but any
// row without marketing consent withdraws it (privacy wins), and nothing stays hashed.
// Every other row is a duplicate_customer_id dead letter naming the kept row.
func TestDuplicateCustomerConsentWithdrawn(t *testing.T) {
	src := Src{Path: "customers.csv"}
	hashed := contacts.Hashed{CustomerID: "c1", Consent: true, Email: [contacts.NumProfiles]string{shaE, md5E, shaE, shaE}}
	first := CustomerRec{At: RowID{Row: 2}, CustomerID: "c1", Country: "RU", Consent: true, CreatedAt: 100, Hashed: hashed}
	later := CustomerRec{At: RowID{Row: 9}, CustomerID: "c1", Country: "KZ", Consent: false, CreatedAt: 200, Hashed: contacts.Hashed{CustomerID: "c1"}}
	other := CustomerRec{At: RowID{Row: 3}, CustomerID: "c2", Country: "RU", Consent: true, Hashed: contacts.Hashed{CustomerID: "c2", Consent: true}}
	ords := orderBatch(Src{Path: "o.csv"}, []int64{2}, orders.Order{OrderID: "o1", CustomerID: "c1", Day: 150, Amount: 1, Currency: "RUB"})
	for _, in := range [][][]byte{
		{customerBatch(src, first, other), customerBatch(src, later), ords},
		{customerBatch(src, later), ords, customerBatch(src, other, first)},
	} {
		for _, withHashes := range []bool{true, false} {
			bd, err := BuildBucket(in, withHashes)
			if err != nil {
				t.Fatal(err)
			}
			r := bd.Records["c1"]
			if r == nil || r.At.Row != 2 || r.Country != "RU" || r.CreatedAt != 100 || r.Consent || r.Hashed.Consent || r.Hashed.Email != [contacts.NumProfiles]string{} {
				t.Errorf("kept %+v: want row 2's country and date, no consent, no hashes", r)
			}
			want := []*facts.Customer{{CustomerID: "c1", Currency: "RUB", Purchases: []facts.Purchase{{OrderID: "o1", Day: 150, Amount: 1}},
				HasRecord: true, Country: "RU", MarketingConsent: false, CreatedAt: 100}}
			if !reflect.DeepEqual(bd.Customers, want) {
				t.Errorf("customers %+v", bd.Customers[0])
			}
			dl := decodeDead(t, bd.Dead)
			if len(dl) != 1 || dl[0].File != "customers.csv" || dl[0].Line != 9 || dl[0].Reason != orders.ReasonDuplicateCustomer ||
				!strings.Contains(dl[0].Detail, "customers.csv:2 is kept") || !strings.Contains(dl[0].Detail, "customers.csv:9 withdraws it") {
				t.Errorf("dead letters %+v", dl)
			}
			wantCounts := map[string]int64{"rows_used.customers": 2, "dead_letter.customers.duplicate_customer_id": 1, "customers_without_consent": 1}
			if !reflect.DeepEqual(bd.Counts, wantCounts) {
				t.Errorf("counts %v, want %v", bd.Counts, wantCounts)
			}
		}
	}
}
