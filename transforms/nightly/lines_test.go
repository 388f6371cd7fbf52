package nightly

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// The exact bytes of a KindLines group, worked out by hand: Int is a zigzag varint
// (3 -> 0x06, 2 -> 0x04, 1 -> 0x02, 7 -> 0x0e), Str is a length then the bytes, and a
// symbol's first use is 0x00 followed by the string.
func TestLineBatchBytes(t *testing.T) {
	b := NewLineBatch(Src{Path: "l.csv"})
	b.Add(3, &orders.Line{OrderID: "O1", ProductID: "P1", Category: "pillow", Quantity: 1, Amount: 5})
	b.Add(4, &orders.Line{OrderID: "O1", ProductID: "P2", Category: "pillow", Quantity: 9, Amount: 2})
	want := []byte{'L',
		0x05, 'l', '.', 'c', 's', 'v', 0x00, 0x00, // source: path, stream 0, not tied
		0x06,                 // first line 3 (delta from 0)
		0x00, 0x02, 'O', '1', // order id: no prefix shared with the (empty) previous id, then "O1"
		0x04,                                     // 2 lines
		0x02,                                     // 1 pair
		0x00, 0x06, 'p', 'i', 'l', 'l', 'o', 'w', // new symbol "pillow"
		0x0e, // 5 + 2 = 7
	}
	if got := b.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("bytes %v, want %v", got, want)
	}
}

// Lines group while they are consecutive input lines of one order; a gap or another order
// starts a new group, and each group keeps its first line and line count.
func TestLineBatchGroups(t *testing.T) {
	b := NewLineBatch(Src{})
	add := func(line int64, oid, cat string, amount value.Money) {
		b.Add(line, &orders.Line{OrderID: oid, ProductID: "P", Category: cat, Quantity: 1, Amount: amount})
	}
	add(2, "O1", "mattress", 1000000)
	add(3, "O1", "mattress", 0)
	add(4, "O1", "pillow", 5)
	add(5, "O9", "", 5)
	add(7, "O9", "pillow", 3) // line 6 was not a line of this bucket: new group
	add(8, "O1", "mattress", 7)
	want := []LineGroup{
		{First: 2, N: 3, OrderID: "O1", Pairs: []CatAmount{{"mattress", 1000000}, {"pillow", 5}}},
		{First: 5, N: 1, OrderID: "O9", Pairs: []CatAmount{{"", 5}}},
		{First: 7, N: 1, OrderID: "O9", Pairs: []CatAmount{{"pillow", 3}}},
		{First: 8, N: 1, OrderID: "O1", Pairs: []CatAmount{{"mattress", 7}}},
	}
	d, kind := NewDec(b.Bytes())
	if kind != KindLines {
		t.Fatalf("kind %q", kind)
	}
	for i, w := range want {
		var g LineGroup
		d.GetLineGroup(&g)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("group %d: %+v, want %+v", i, g, w)
		}
	}
	checkEnd(t, d)
}

// IDStr writes the length of the prefix shared with the previous id, then the rest.
func TestIDStrBytes(t *testing.T) {
	e := NewEnc(KindCustLines)
	for _, id := range []string{"O10000001", "O10000065", "O2", "O", ""} {
		e.IDStr(id)
	}
	want := []byte{'M',
		0x00, 0x09, 'O', '1', '0', '0', '0', '0', '0', '0', '1', // nothing shared
		0x0e, 0x02, '6', '5', // "O100000" (7) shared, then "65"
		0x02, 0x01, '2', // "O" shared, then "2"
		0x02, 0x00, // "O" shared, nothing more
		0x00, 0x00, // the empty id
	}
	if !bytes.Equal(e.B, want) {
		t.Errorf("bytes %v, want %v", e.B, want)
	}
	d, _ := NewDec(e.B)
	for _, id := range []string{"O10000001", "O10000065", "O2", "O", ""} {
		if got := d.IDStr(); got != id {
			t.Errorf("id %q, want %q", got, id)
		}
	}
	checkEnd(t, d)
	// A shared prefix longer than the previous id is corrupt.
	d, _ = NewDec([]byte{'M', 0x02, 0x00})
	if d.IDStr(); d.Err == nil {
		t.Error("prefix beyond the previous id: no error")
	}
}

// The exact bytes of KindCustLines orders: the symbol table numbers "x" 1 and "y" 2 (a
// symbol id is a plain uvarint); amounts are zigzag (3 -> 0x06, -1 -> 0x01, 2 -> 0x04).
func TestOrderLinesBytes(t *testing.T) {
	e := NewEnc(KindCustLines)
	e.PutOrderLines(&OrderLines{"O7", []CatAmount{{"x", 3}}})
	e.PutOrderLines(&OrderLines{"O8", []CatAmount{{"x", -1}, {"y", 2}}})
	want := []byte{'M',
		0x00, 0x02, 'O', '7', // order id
		0x02,                  // 1 pair
		0x00, 0x01, 'x', 0x06, // new symbol "x", amount 3
		0x02, 0x01, '8', // "O" shared, then "8"
		0x04,       // 2 pairs
		0x01, 0x01, // symbol 1 ("x"), amount -1
		0x00, 0x01, 'y', 0x04, // new symbol "y", amount 2
	}
	if !bytes.Equal(e.B, want) {
		t.Errorf("bytes %v, want %v", e.B, want)
	}
	d, _ := NewDec(e.B)
	var got []OrderLines
	for d.More() {
		var o OrderLines
		d.GetOrderLines(&o)
		got = append(got, o)
	}
	checkEnd(t, d)
	wantOrders := []OrderLines{{"O7", []CatAmount{{"x", 3}}}, {"O8", []CatAmount{{"x", -1}, {"y", 2}}}}
	if !reflect.DeepEqual(got, wantOrders) {
		t.Errorf("decoded %+v, want %+v", got, wantOrders)
	}
}

// The join groups a bucket's lines by customer and order, sums lines of one order and
// category even across splits, and dead-letters every line of an unknown order with its
// own input line.
func TestJoinLinesGroups(t *testing.T) {
	keys := NewSrcEnc(KindOrderKeys, Src{Path: "orders.csv"})
	at := func(row int64) RowID { return RowID{Src: Src{Path: "orders.csv"}, Row: row} }
	keys.PutOrderKey(OrderKey{"O2", "C1", "RUB", 20, KeyPurchase, at(3)})
	keys.PutOrderKey(OrderKey{"O1", "C1", "RUB", 10, KeyPurchase, at(2)})
	keys.PutOrderKey(OrderKey{"O3", "C2", "RUB", 5, KeyPurchase, at(4)})
	keys.PutOrderKey(OrderKey{"O4", "C2", "RUB", 5, KeyNotPurchase, at(5)}) // cancelled
	split1 := NewLineBatch(Src{Path: "lines-1.csv"})
	line := func(b *LineBatch, n int64, oid, cat string, a value.Money) {
		b.Add(n, &orders.Line{OrderID: oid, ProductID: "P", Category: cat, Quantity: 1, Amount: a})
	}
	line(split1, 2, "O2", "pillow", 100)
	line(split1, 3, "O2", "mattress", 1000)
	line(split1, 4, "O2", "pillow", 50)
	line(split1, 5, "O9", "pillow", 1) // unknown: lines 5 and 6
	line(split1, 6, "O9", "mattress", 2)
	line(split1, 7, "O1", "pillow", 10)
	line(split1, 8, "O4", "pillow", 10) // cancelled: 2 lines not purchases
	line(split1, 9, "O4", "pillow", 10)
	split2 := NewLineBatch(Src{Path: "lines-2.csv"})
	line(split2, 100, "O2", "pillow", 7)
	line(split2, 101, "O3", "sheets", 4)
	line(split2, 102, "O9", "pillow", 1) // unknown: line 102
	// Lines before keys: the join must not depend on batch order.
	byCust, _, dead, counts, err := JoinLines([][]byte{split1.Bytes(), split2.Bytes(), keys.B}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Lines: 3+1+1 of O2 (2 splits), 1 of O1, 1 of O3 used; 2 of the cancelled O4; 3 of
	// the unknown O9. Orders: 3 purchases, 1 not.
	if !reflect.DeepEqual(counts, map[string]int64{"rows_used.order_lines": 6, "rows_not_purchases.order_lines": 2,
		CounterDead(orders.InputLines, orders.ReasonUnknownOrder): 3, "rows_used.orders": 3, "rows_not_purchases.orders": 1}) {
		t.Errorf("counts %v", counts)
	}
	var deadLines []string
	for _, x := range decodeDead(t, dead) {
		if x.ID != "O9" || x.Reason != orders.ReasonUnknownOrder || x.Input != orders.InputLines {
			t.Errorf("dead letter %+v", x)
		}
		deadLines = append(deadLines, fmt.Sprintf("%s:%d", x.File, x.Line))
	}
	if !reflect.DeepEqual(deadLines, []string{"lines-1.csv:5", "lines-1.csv:6", "lines-2.csv:102"}) {
		t.Errorf("dead letters at %v, want lines-1.csv:5, :6, lines-2.csv:102", deadLines)
	}
	if len(byCust) != 1 {
		t.Fatalf("buckets %d, want 1", len(byCust))
	}
	// One entry per order, by order id; O2's pillow lines 100+50+7 = 157; pairs sorted by
	// category.
	var got []OrderLines
	d, _ := NewDec(byCust[0])
	for d.More() {
		var o OrderLines
		d.GetOrderLines(&o)
		got = append(got, o)
	}
	checkEnd(t, d)
	want := []OrderLines{
		{"O1", []CatAmount{{"pillow", 10}}},
		{"O2", []CatAmount{{"mattress", 1000}, {"pillow", 157}}},
		{"O3", []CatAmount{{"sheets", 4}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("joined\n got %+v\nwant %+v", got, want)
	}

	// The bucket attaches the lines to the kept purchases, dated by them; lines of an order
	// that is not a purchase of this bucket (O3's customer has no order here) are dropped.
	ords := NewEnc(KindOrders)
	ords.PutOrder(2, &orders.Order{OrderID: "O1", CustomerID: "C1", Day: 10, Amount: 10, Currency: "RUB"})
	ords.PutOrder(3, &orders.Order{OrderID: "O2", CustomerID: "C1", Day: 20, Amount: 1157, Currency: "RUB"})
	bd, err := BuildBucket([][]byte{byCust[0], ords.B}, false)
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []facts.LineItem{
		{OrderID: "O1", Day: 10, Category: "pillow", Amount: 10},
		{OrderID: "O2", Day: 20, Category: "mattress", Amount: 1000},
		{OrderID: "O2", Day: 20, Category: "pillow", Amount: 157},
	}
	if len(bd.Customers) != 1 || !reflect.DeepEqual(bd.Customers[0].Lines, wantLines) {
		t.Errorf("bucket %+v, want C1 with lines %+v", bd.Customers, wantLines)
	}
}

// The exact bytes of two order keys: the second id shares "O1" with the first, and its
// input row is a delta (9 - 7 = 2).
func TestOrderKeyBytes(t *testing.T) {
	src := Src{Path: "o"}
	keys := []OrderKey{{"O10", "C1", "RUB", 5, KeyPurchase, RowID{Src: src, Row: 7}}, {"O11", "C2", "RUB", 6, KeyNotPurchase, RowID{Src: src, Row: 9}}}
	e := NewSrcEnc(KindOrderKeys, src)
	for _, k := range keys {
		e.PutOrderKey(k)
	}
	want := []byte{'K',
		0x01, 'o', 0x00, 0x00, // source "o", stream 0, not tied
		0x00, 0x03, 'O', '1', '0', // id, nothing shared
		0x02, 'C', '1', // customer
		0x00, 0x03, 'R', 'U', 'B', // new symbol "RUB"
		0x0a, 0x01, 0x0e, // day 5, a purchase, row 7
		0x04, 0x01, '1', // "O1" shared, then "1"
		0x02, 'C', '2',
		0x01,             // symbol 1 ("RUB")
		0x0c, 0x02, 0x04, // day 6, not a purchase, row +2
	}
	if !bytes.Equal(e.B, want) {
		t.Errorf("bytes %v, want %v", e.B, want)
	}
	d, _ := NewDec(e.B)
	for _, k := range keys {
		if got := d.GetOrderKey(); got != k {
			t.Errorf("key %+v, want %+v", got, k)
		}
	}
	checkEnd(t, d)
}
