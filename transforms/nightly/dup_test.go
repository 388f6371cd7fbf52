package nightly

import (
	"reflect"
	"sort"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// A duplicated order id keeps the row with the lowest input line whatever order the batches
// arrive in, and JoinLines picks the same row's key, so lines get that row's day.
func TestDuplicateOrderKeepsLowestLine(t *testing.T) {
	late := NewEnc()
	late.PutOrder(2, &orders.Order{OrderID: "o1", CustomerID: "c1", Day: 100, Amount: 10 * value.MoneyScale, Currency: "RUB"})
	early := NewEnc()
	early.PutOrder(9, &orders.Order{OrderID: "o1", CustomerID: "c1", Day: 200, Amount: 99 * value.MoneyScale, Currency: "RUB"})
	for _, batches := range [][]CustomerBatch{{{Orders: late.B}, {Orders: early.B}}, {{Orders: early.B}, {Orders: late.B}}} {
		bd, err := BuildBucket(batches, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(bd.Customers) != 1 || len(bd.Customers[0].Purchases) != 1 {
			t.Fatalf("customers %+v", bd.Customers)
		}
		if p := bd.Customers[0].Purchases[0]; p.Day != 100 || p.Amount != 10*value.MoneyScale {
			t.Errorf("kept %+v, want the line-2 row (day 100, amount 10)", p)
		}
		if n := bd.Counts[CounterDead(orders.InputOrders, orders.ReasonDuplicateOrder)]; n != 1 {
			t.Errorf("duplicate dead letters = %d, want 1", n)
		}
	}
	k1, k2 := NewEnc(), NewEnc()
	k1.PutOrderKey(OrderKey{"o1", "c1", "RUB", 200, true, 9})
	k2.PutOrderKey(OrderKey{"o1", "c1", "RUB", 100, true, 2})
	l := NewLineBatch()
	l.Add(5, &orders.Line{OrderID: "o1", ProductID: "p", Category: "pillow", Quantity: 1, Amount: value.MoneyScale})
	byCust, _, _, err := JoinLines([]OrderBatch{{Keys: k1.B}, {Keys: k2.B}, {Lines: l.Bytes()}}, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range byCust {
		d := NewDec(b.Lines)
		var ol OrderLines
		d.GetOrderLines(&ol)
		if ol.OrderID != "o1" || len(ol.Pairs) != 1 || d.Err != nil {
			t.Errorf("joined %+v, err %v", ol, d.Err)
		}
		// The bucket dates the line by the kept row (line 2, day 100), as the join keyed it.
		kept := NewEnc()
		kept.PutOrder(9, &orders.Order{OrderID: "o1", CustomerID: "c1", Day: 200, Amount: 99 * value.MoneyScale, Currency: "RUB"})
		kept.PutOrder(2, &orders.Order{OrderID: "o1", CustomerID: "c1", Day: 100, Amount: 10 * value.MoneyScale, Currency: "RUB"})
		bd, err := BuildBucket([]CustomerBatch{b, {Orders: kept.B}}, false)
		if err != nil {
			t.Fatal(err)
		}
		want := []facts.LineItem{{OrderID: "o1", Day: 100, Category: "pillow", Amount: value.MoneyScale}}
		if len(bd.Customers) != 1 || !reflect.DeepEqual(bd.Customers[0].Lines, want) {
			t.Errorf("bucket lines %+v, want %+v", bd.Customers, want)
		}
	}
}

// Duplicates across statuses and customers are decided where every row of an order id
// meets: the order-id join. Worked by hand: o1 cancelled on line 2 and completed on line 9
// keeps the cancelled row (no purchase, line 9 dead-lettered); o2 for c1 on line 3 and for
// c2 on line 7 keeps c1's (c2's row dropped from its bucket, line 7 dead-lettered).
func TestDuplicatesDecidedByTheOrderJoin(t *testing.T) {
	keys := NewEnc()
	keys.PutOrderKey(OrderKey{"o1", "c1", "RUB", 100, false, 2})
	keys.PutOrderKey(OrderKey{"o1", "c1", "RUB", 101, true, 9})
	keys.PutOrderKey(OrderKey{"o2", "c2", "RUB", 110, true, 7})
	keys.PutOrderKey(OrderKey{"o2", "c1", "RUB", 110, true, 3})
	drops, dead, counts, err := JoinLines([]OrderBatch{{Keys: keys.B}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if counts[CounterDead(orders.InputOrders, orders.ReasonDuplicateOrder)] != 2 {
		t.Errorf("counts %v, want 2 duplicates", counts)
	}
	var lines []int64
	for _, x := range dead {
		lines = append(lines, x.Line)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i] < lines[j] })
	if len(lines) != 2 || lines[0] != 7 || lines[1] != 9 {
		t.Errorf("dead-lettered lines %v, want [7 9]", lines)
	}
	ords := NewEnc()
	ords.PutOrder(9, &orders.Order{OrderID: "o1", CustomerID: "c1", Day: 101, Amount: 5 * value.MoneyScale, Currency: "RUB"})
	ords.PutOrder(3, &orders.Order{OrderID: "o2", CustomerID: "c1", Day: 110, Amount: 7 * value.MoneyScale, Currency: "RUB"})
	ords.PutOrder(7, &orders.Order{OrderID: "o2", CustomerID: "c2", Day: 110, Amount: 7 * value.MoneyScale, Currency: "RUB"})
	bd, err := BuildBucket([]CustomerBatch{{Orders: ords.B}, drops[0]}, false)
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
