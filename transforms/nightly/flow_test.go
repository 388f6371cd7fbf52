package nightly

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/sources"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// The tiny shop. Days since 1970-01-01 by hand: 2024-01-01 = 19723, so 2024-01-10 = 19732,
// 2024-01-20 = 19742, 2024-02-10 = 19763, 2024-03-01 = 19783 (2024 is a leap year),
// 2023-12-01 = 19692.
const (
	shopOrders = `order_id,customer_id,ordered_at,status,amount,currency,channel
O1,C1,2024-01-10,completed,100,RUB,ads
O2,C1,2024-02-10T12:00:00Z,completed,50.5,RUB,
O1,C1,2024-01-11,completed,999,RUB,seo
O3,C2,2024-01-15,cancelled,70,RUB,ads
O4,C2,2024-03-01,completed,10,RUB,ads
O5,C3,2024-01-20,partially_refunded,30,eur,email
O6,,2024-01-20,completed,30,RUB,
`
	shopLines = `order_id,product_id,category,quantity,amount
O1,P1,Mattress,1,100
O3,P2,pillow,2,70
O4,P3,pillow,1,10
O9,P4,pillow,1,5
O2,P5,bed linen,two,50
O5,P6,service,1,30
`
	shopCustomers = `customer_id,email,phone,country,marketing_consent,created_at
C1, Ivan.Petrov@Example.com ,+7 916 123-45-67,RU,true,2023-12-01
C2,petr.sidorov@example.com,+7 916 765-43-21,RU,false,2024-01-01
C3,not-an-email,12-34,RU,yes,
C4,maria@example.com,,RU,maybe,
`
	asOf value.Day = 19783 // 2024-03-01: O4 (that day) is after the as-of
)

func readInput(t *testing.T, input, content string, o ReadOptions, h *contacts.Hasher) *ReadResult {
	t.Helper()
	p := filepath.Join(t.TempDir(), input+".csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	splits, err := sources.Plan(context.Background(), input, p, 1<<20)
	if err != nil || len(splits) != 1 {
		t.Fatalf("plan: %v, %d splits", err, len(splits))
	}
	res, err := ReadSplit(context.Background(), splits[0], o, h)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func hexSum(b []byte) string { return hex.EncodeToString(b) }
func sha(s string) string    { s2 := sha256.Sum256([]byte(s)); return hexSum(s2[:]) }
func md5hex(s string) string { s2 := md5.Sum([]byte(s)); return hexSum(s2[:]) }

func TestReadJoinBuild(t *testing.T) {
	h, err := contacts.NewHasher(contacts.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	opt := ReadOptions{Buckets: 1, RunDate: asOf}
	ro := readInput(t, orders.InputOrders, shopOrders, opt, h)
	rl := readInput(t, orders.InputLines, shopLines, opt, h)
	rc := readInput(t, orders.InputCustomers, shopCustomers, opt, h)

	// Orders: 7 rows; O6 has no customer (dead here); the other six become keys, which the
	// join counts. Purchases for the money bound: 100 + 50.5 + 999 + 30 = 1179.5 -> 1180.
	wantCounts := map[string]int64{
		"rows_read.orders":                     7,
		"dead_letter.orders.empty_customer_id": 1,
		"amount_units.orders":                  1180,
	}
	if !reflect.DeepEqual(ro.Counts, wantCounts) {
		t.Errorf("orders counts %v, want %v", ro.Counts, wantCounts)
	}
	if dl := []DeadLetter(ro.Dead); len(dl) != 1 || dl[0] != (DeadLetter{"orders", dl[0].File, 8, "O6", orders.ReasonEmptyCustomerID, dl[0].Detail}) ||
		!strings.HasSuffix(dl[0].File, "/orders.csv") {
		t.Errorf("orders dead letters %+v", dl)
	}
	// Lines: O2's quantity is bad (line 6). Amounts of the five others: 100+70+10+5+30.
	wantCounts = map[string]int64{"rows_read.order_lines": 6, "dead_letter.order_lines.bad_quantity": 1, "amount_units.order_lines": 215}
	if !reflect.DeepEqual(rl.Counts, wantCounts) {
		t.Errorf("lines counts %v, want %v", rl.Counts, wantCounts)
	}
	if dl := []DeadLetter(rl.Dead); len(dl) != 1 || dl[0].Line != 6 || dl[0].ID != "O2" || dl[0].Reason != orders.ReasonBadQuantity {
		t.Errorf("lines dead letters %+v", dl)
	}
	// Customers: C2 without consent (counted, kept); C3's contacts unusable (dead-lettered
	// by reason, customer kept); C4's consent is unreadable (row dead-lettered).
	if rc.Counts["rows_read.customers"] != 4 ||
		rc.Counts["dead_letter.customers.bad_marketing_consent"] != 1 || rc.Counts["dead_letter.contacts.email_invalid"] != 1 {
		t.Errorf("customers counts %v", rc.Counts)
	}
	cdead := []DeadLetter(rc.Dead)
	var reasons []string
	for _, d := range cdead {
		for _, v := range []string{"ivan", "petrov", "916", "not-an-email", "12-34", "maria", "example.com"} {
			if strings.Contains(strings.ToLower(d.Detail+d.ID+d.Reason), v) {
				t.Errorf("dead letter %+v holds contact data %q", d, v)
			}
		}
		switch d.Input {
		case "contacts":
			if d.ID != "C3" || d.Line != 4 {
				t.Errorf("contact dead letter %+v, want C3 at line 4", d)
			}
			reasons = append(reasons, d.Reason)
		case orders.InputCustomers:
			if d.ID != "C4" || d.Line != 5 || d.Reason != orders.ReasonBadConsent {
				t.Errorf("customer dead letter %+v", d)
			}
		default:
			t.Errorf("dead letter %+v", d)
		}
	}
	if len(reasons) != 2 || reasons[0] != contacts.ReasonEmailInvalid || !strings.HasPrefix(reasons[1], "phone_") {
		t.Errorf("contact reasons %v, want email_invalid and a phone reason", reasons)
	}

	// Join: O3 (cancelled) and O4 (after as-of) lines are not purchases; O9 is unknown.
	keyBatches := []OrderBatch{ro.ByOrder[0], rl.ByOrder[0]}
	byCust, jdead, jcounts, err := JoinLines(keyBatches, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The order-id join also decides the duplicate O1 (lines 2 and 4): line 2 wins, line 4
	// is a dead letter there and a drop for C1's bucket. It counts every valid orders row
	// once: O1, O2, O5 used; O3 (cancelled) and O4 (after the run date) not purchases.
	// With the reader's one dead letter: 7 = 3 + 2 + 1 + 1.
	if !reflect.DeepEqual(jcounts, map[string]int64{"rows_not_purchases.order_lines": 2, "rows_used.order_lines": 2,
		"dead_letter.order_lines.line_of_unknown_order": 1, "dead_letter.orders.duplicate_order_id": 1,
		"rows_used.orders": 3, "rows_not_purchases.orders": 2, CounterAfterRunDate: 1}) {
		t.Errorf("join counts %v", jcounts)
	}
	jdl := []DeadLetter(jdead)
	sort.Slice(jdl, func(i, j int) bool { return jdl[i].Input < jdl[j].Input })
	if len(jdl) != 2 || jdl[0].Input != orders.InputLines || jdl[0].Line != 5 || jdl[0].ID != "O9" || jdl[0].Reason != orders.ReasonUnknownOrder ||
		jdl[1].Input != orders.InputOrders || jdl[1].Line != 4 || jdl[1].ID != "O1" || jdl[1].Reason != orders.ReasonDuplicateOrder {
		t.Errorf("join dead letters %+v", jdl)
	}
	if len(byCust) != 1 || byCust[0].Drops == nil || byCust[0].Lines == nil {
		t.Fatalf("join output %+v, want one batch with lines and drops for bucket 0", byCust)
	}

	bd, err := BuildBucket([]CustomerBatch{ro.ByCustomer[0], byCust[0], rc.ByCustomer[0]}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []*facts.Customer{
		{CustomerID: "C1", Currency: "RUB",
			Purchases: []facts.Purchase{pu("O1", 19732, 1000000, "ads"), pu("O2", 19763, 505000, "")},
			Lines:     []facts.LineItem{li("O1", 19732, "mattress", 1000000)},
			HasRecord: true, Country: "RU", MarketingConsent: true, CreatedAt: 19692},
		{CustomerID: "C3", Currency: "EUR",
			Purchases: []facts.Purchase{pu("O5", 19742, 300000, "email")},
			Lines:     []facts.LineItem{li("O5", 19742, "service", 300000)},
			HasRecord: true, Country: "RU", MarketingConsent: true},
	}
	if !reflect.DeepEqual(bd.Customers, want) {
		for _, c := range bd.Customers {
			t.Logf("got %+v", *c)
		}
		t.Errorf("bucket customers differ")
	}
	// The drop took O1's line-4 row out, so the bucket itself finds no duplicate; it counts
	// the customers: C1, C2, C3 used (C4 was dead-lettered), C2 without consent.
	if !reflect.DeepEqual(bd.Counts, map[string]int64{"rows_used.customers": 3, CounterNoConsent: 1}) || bd.Dead != nil {
		t.Errorf("bucket counts %v, dead %v", bd.Counts, bd.Dead)
	}
	if len(bd.Records) != 3 || bd.Records["C2"] == nil || bd.Records["C2"].Hashed.Consent {
		t.Errorf("records %+v", bd.Records)
	}
	// C1's hashes follow ad-platforms.md: e-mail trimmed and lower-cased, phone as digits
	// with the country code; SHA-256 for Yandex and Meta, MD5 (the default) for VK.
	r1 := bd.Records["C1"].Hashed
	if r1.Email[contacts.Yandex] != sha("ivan.petrov@example.com") || r1.Email[contacts.Meta] != r1.Email[contacts.Yandex] ||
		r1.Email[contacts.VK] != md5hex("ivan.petrov@example.com") ||
		r1.Phone[contacts.Yandex] != sha("79161234567") || r1.Phone[contacts.VK] != md5hex("79161234567") {
		t.Errorf("C1 hashes %+v", r1)
	}
	// The same bucket without hashes: facts identical, no hash strings.
	bd2, err := BuildBucket([]CustomerBatch{rc.ByCustomer[0], byCust[0], ro.ByCustomer[0]}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(bd2.Customers, want) || bd2.Records["C1"].Hashed.Email[0] != "" {
		t.Errorf("without hashes: %+v", bd2.Records["C1"])
	}
	// A corrupt batch field is an error, not a short bucket.
	bad := ro.ByCustomer[0]
	bad.Orders = bad.Orders[:len(bad.Orders)-1]
	if _, err := BuildBucket([]CustomerBatch{bad}, false); err == nil {
		t.Error("BuildBucket took a truncated orders field")
	}
	badKeys := ro.ByOrder[0]
	badKeys.Keys = badKeys.Keys[:len(badKeys.Keys)-1]
	if _, _, _, err := JoinLines([]OrderBatch{badKeys}, 1); err == nil {
		t.Error("JoinLines took a truncated keys field")
	}
}

// With several buckets every batch holds only its bucket's ids.
func TestReadBuckets(t *testing.T) {
	h, _ := contacts.NewHasher(contacts.Defaults())
	const n = 4
	opt := ReadOptions{Buckets: n, RunDate: asOf}
	ro := readInput(t, orders.InputOrders, shopOrders, opt, h)
	total := 0
	for b, batch := range ro.ByCustomer {
		d := NewDec(batch.Orders, KindOrders)
		for d.More() {
			_, o := d.GetOrder()
			total++
			if Bucket(o.CustomerID, n) != b {
				t.Errorf("order %s of %s in bucket %d, want %d", o.OrderID, o.CustomerID, b, Bucket(o.CustomerID, n))
			}
		}
	}
	if total != 4 { // O1 twice, O2, O5
		t.Errorf("%d purchases, want 4", total)
	}
	keys := 0
	for b, batch := range ro.ByOrder {
		d := NewDec(batch.Keys, KindOrderKeys)
		for d.More() {
			k := d.GetOrderKey()
			keys++
			if Bucket(k.OrderID, n) != b {
				t.Errorf("key %s in bucket %d", k.OrderID, b)
			}
		}
	}
	if keys != 6 { // every valid order, counted or not
		t.Errorf("%d order keys, want 6", keys)
	}
	// Spend goes to one batch.
	rs := readInput(t, orders.InputSpend, "period,channel,amount,currency\n2024-01,ads,100,RUB\n2024-13,ads,1,RUB\n", opt, h)
	if want := []orders.Spend{{Period: "2024-01", Channel: "ads", Amount: 1000000, Currency: "RUB"}}; !reflect.DeepEqual(rs.Spend, want) {
		t.Errorf("spend %+v, want %+v", rs.Spend, want)
	}
	if rs.Counts["dead_letter.spend.bad_period"] != 1 || rs.Counts["rows_used.spend"] != 1 || rs.Counts["rows_read.spend"] != 2 {
		t.Errorf("spend counts %v", rs.Counts)
	}
}

func pu(id string, d value.Day, a value.Money, ch string) facts.Purchase {
	return facts.Purchase{OrderID: id, Day: d, Amount: a, Channel: ch}
}

func li(id string, d value.Day, cat string, a value.Money) facts.LineItem {
	return facts.LineItem{OrderID: id, Day: d, Category: cat, Amount: a}
}

// A CSV syntax error is a dead letter with the file's line and no row content, and the rows
// around it are still read; a bare quote inside an unquoted field is an ordinary
// character (C2's e-mail is then just invalid), an unterminated quote costs its own line.
func TestReadSplitCSVSyntax(t *testing.T) {
	h, _ := contacts.NewHasher(contacts.Defaults())
	content := "customer_id,email,phone,country,marketing_consent,created_at\n" +
		"C1,a@example.com,,RU,true,\n" +
		"C2,bo\"b@example.com,+79161234567,RU,true,\n" + // bare quote: line 3
		"C3,c@example.com,,RU,true,\n" +
		"C4,\"d@example.com,+79167654321,RU,true,\n" + // never closed: line 5 only
		"C5,e@example.com,,RU,true,\n"
	res := readInput(t, orders.InputCustomers, content, ReadOptions{Buckets: 1, RunDate: asOf}, h)
	if res.Counts["rows_read.customers"] != 5 || res.Counts["dead_letter.customers.csv_syntax"] != 1 {
		t.Errorf("counts %v", res.Counts)
	}
	var lines []int64
	for _, d := range []DeadLetter(res.Dead) {
		for _, v := range []string{"example.com", "b@", "9161234567", "9167654321"} {
			if strings.Contains(d.Detail, v) {
				t.Errorf("dead letter %+v quotes the row", d)
			}
		}
		if d.Reason != orders.ReasonCSV {
			continue // C2's e-mail under contacts
		}
		lines = append(lines, d.Line)
	}
	if !reflect.DeepEqual(lines, []int64{5}) {
		t.Errorf("csv dead letters at lines %v, want [5]", lines)
	}
	d := NewDec(res.ByCustomer[0].Customers, KindCustomers)
	var ids []string
	for d.More() {
		ids = append(ids, d.GetCustomer(false).CustomerID)
	}
	if !reflect.DeepEqual(ids, []string{"C1", "C2", "C3", "C5"}) {
		t.Errorf("customers read %v, want [C1 C2 C3 C5]", ids)
	}
}
