package nightly

import (
	"reflect"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
)

// A duplicated order id keeps the row with the lowest input line whatever order the batches
// arrive in, and JoinLines picks the same row's key, so lines get that row's day.
func TestDuplicateOrderKeepsLowestLine(t *testing.T) {
	late := NewEnc(KindOrders)
	late.PutOrder(2, &orders.Order{OrderID: "o1", CustomerID: "c1", Day: 100, Amount: 10 * orders.MoneyScale, Currency: "RUB"})
	early := NewEnc(KindOrders)
	early.PutOrder(9, &orders.Order{OrderID: "o1", CustomerID: "c1", Day: 200, Amount: 99 * orders.MoneyScale, Currency: "RUB"})
	for _, batches := range [][][]byte{{late.B, early.B}, {early.B, late.B}} {
		bd, err := BuildBucket(batches, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(bd.Customers) != 1 || len(bd.Customers[0].Purchases) != 1 {
			t.Fatalf("customers %+v", bd.Customers)
		}
		if p := bd.Customers[0].Purchases[0]; p.Day != 100 || p.Amount != 10*orders.MoneyScale {
			t.Errorf("kept %+v, want the line-2 row (day 100, amount 10)", p)
		}
		if n := bd.Counts[CounterDead(orders.InputOrders, orders.ReasonDuplicateOrder)]; n != 1 {
			t.Errorf("duplicate dead letters = %d, want 1", n)
		}
	}
	k1, k2 := NewEnc(KindOrderKeys), NewEnc(KindOrderKeys)
	k1.PutOrderKey(OrderKey{"o1", "c1", "RUB", 200, true, 9})
	k2.PutOrderKey(OrderKey{"o1", "c1", "RUB", 100, true, 2})
	l := NewLineBatch()
	l.Add(5, &orders.Line{OrderID: "o1", ProductID: "p", Category: "pillow", Quantity: 1, Amount: orders.MoneyScale})
	byCust, _, _, err := JoinLines([][]byte{k1.B, k2.B, l.Bytes()}, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range byCust {
		d, _ := NewDec(b)
		var ol OrderLines
		d.GetOrderLines(&ol)
		if ol.OrderID != "o1" || len(ol.Pairs) != 1 || d.Err != nil {
			t.Errorf("joined %+v, err %v", ol, d.Err)
		}
		// The bucket dates the line by the kept row (line 2, day 100), as the join keyed it.
		kept := NewEnc(KindOrders)
		kept.PutOrder(9, &orders.Order{OrderID: "o1", CustomerID: "c1", Day: 200, Amount: 99 * orders.MoneyScale, Currency: "RUB"})
		kept.PutOrder(2, &orders.Order{OrderID: "o1", CustomerID: "c1", Day: 100, Amount: 10 * orders.MoneyScale, Currency: "RUB"})
		bd, err := BuildBucket([][]byte{b, kept.B}, false)
		if err != nil {
			t.Fatal(err)
		}
		want := []facts.LineItem{{OrderID: "o1", Day: 100, Category: "pillow", Amount: orders.MoneyScale}}
		if len(bd.Customers) != 1 || !reflect.DeepEqual(bd.Customers[0].Lines, want) {
			t.Errorf("bucket lines %+v, want %+v", bd.Customers, want)
		}
	}
}
