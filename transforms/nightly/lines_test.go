package nightly

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
)

// The exact bytes of a KindLines group, worked out by hand: Int is a zigzag varint
// (3 -> 0x06, 2 -> 0x04, 1 -> 0x02, 7 -> 0x0e), Str is a length then the bytes, and a
// symbol's first use is 0x00 followed by the string.
func TestLineBatchBytes(t *testing.T) {
	b := NewLineBatch()
	b.Add(3, &orders.Line{OrderID: "O1", ProductID: "P1", Category: "pillow", Quantity: 1, Amount: 5})
	b.Add(4, &orders.Line{OrderID: "O1", ProductID: "P2", Category: "pillow", Quantity: 9, Amount: 2})
	want := []byte{'L',
		0x06,           // first line 3 (delta from 0)
		0x02, 'O', '1', // order id
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
	b := NewLineBatch()
	add := func(line int64, oid, cat string, amount orders.Money) {
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

// The exact bytes of a KindCustLines customer: the symbol table numbers "EUR" 1 and "x" 2
// (a symbol id is a plain uvarint, not zigzag);
// days are deltas (10, then 12-10 = 2); -1 is zigzag 0x01.
func TestCustLinesBytes(t *testing.T) {
	e := NewEnc(KindCustLines)
	e.PutCustLines("C", "EUR", []OrderLines{{"O", 10, []CatAmount{{"x", 3}}}, {"P", 12, []CatAmount{{"x", -1}}}})
	want := []byte{'M',
		0x01, 'C', // customer
		0x00, 0x03, 'E', 'U', 'R', // new symbol "EUR"
		0x04,      // 2 orders
		0x01, 'O', // order O
		0x14,                  // day 10
		0x02,                  // 1 pair
		0x00, 0x01, 'x', 0x06, // new symbol "x", amount 3
		0x01, 'P', // order P
		0x04,       // day +2
		0x02,       // 1 pair
		0x02, 0x01, // symbol 2 ("x", a plain uvarint), amount -1
	}
	if !bytes.Equal(e.B, want) {
		t.Errorf("bytes %v, want %v", e.B, want)
	}
	d, _ := NewDec(e.B)
	var got []facts.LineItem
	var who []string
	d.GetCustLines(func(id, cur string) *[]facts.LineItem { who = append(who, id, cur); return &got })
	checkEnd(t, d)
	wantItems := []facts.LineItem{{OrderID: "O", Day: 10, Category: "x", Amount: 3}, {OrderID: "P", Day: 12, Category: "x", Amount: -1}}
	if !reflect.DeepEqual(who, []string{"C", "EUR"}) || !reflect.DeepEqual(got, wantItems) {
		t.Errorf("decoded %v %+v, want [C EUR] %+v", who, got, wantItems)
	}
}

// The join groups a bucket's lines by customer and order, sums lines of one order and
// category even across splits, and dead-letters every line of an unknown order with its
// own input line.
func TestJoinLinesGroups(t *testing.T) {
	keys := NewEnc(KindOrderKeys)
	keys.PutOrderKey(OrderKey{"O2", "C1", "RUB", 20, true, 3})
	keys.PutOrderKey(OrderKey{"O1", "C1", "RUB", 10, true, 2})
	keys.PutOrderKey(OrderKey{"O3", "C2", "RUB", 5, true, 4})
	keys.PutOrderKey(OrderKey{"O4", "C2", "RUB", 5, false, 5}) // cancelled
	split1 := NewLineBatch()
	line := func(b *LineBatch, n int64, oid, cat string, a orders.Money) {
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
	split2 := NewLineBatch()
	line(split2, 100, "O2", "pillow", 7)
	line(split2, 101, "O3", "sheets", 4)
	line(split2, 102, "O9", "pillow", 1) // unknown: line 102
	// Lines before keys: the join must not depend on batch order.
	byCust, dead, counts, err := JoinLines([][]byte{split1.Bytes(), split2.Bytes(), keys.B}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(counts, map[string]int64{CounterLinesNotPurchases: 2, CounterDead(orders.InputLines, orders.ReasonUnknownOrder): 3}) {
		t.Errorf("counts %v", counts)
	}
	var deadLines []int64
	for _, x := range decodeDead(t, dead) {
		if x.ID != "O9" || x.Reason != orders.ReasonUnknownOrder || x.Input != orders.InputLines {
			t.Errorf("dead letter %+v", x)
		}
		deadLines = append(deadLines, x.Line)
	}
	if !reflect.DeepEqual(deadLines, []int64{5, 6, 102}) {
		t.Errorf("dead letters at lines %v, want [5 6 102]", deadLines)
	}
	if len(byCust) != 1 {
		t.Fatalf("buckets %d, want 1", len(byCust))
	}
	// C1: O1 (day 10) before O2 (day 20); O2's pillow lines 100+50+7 = 157; pairs sorted by
	// category. C2: O3 only.
	type cust struct {
		id, cur string
		lines   []facts.LineItem
	}
	var got []cust
	d, _ := NewDec(byCust[0])
	for d.More() {
		var c cust
		d.GetCustLines(func(id, cur string) *[]facts.LineItem { c.id, c.cur = id, cur; return &c.lines })
		got = append(got, c)
	}
	checkEnd(t, d)
	want := []cust{
		{"C1", "RUB", []facts.LineItem{
			{OrderID: "O1", Day: 10, Category: "pillow", Amount: 10},
			{OrderID: "O2", Day: 20, Category: "mattress", Amount: 1000},
			{OrderID: "O2", Day: 20, Category: "pillow", Amount: 157}}},
		{"C2", "RUB", []facts.LineItem{{OrderID: "O3", Day: 5, Category: "sheets", Amount: 4}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("joined\n got %+v\nwant %+v", got, want)
	}
}
