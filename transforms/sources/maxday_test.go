package sources

import (
	"context"
	"math/big"
	"testing"
)

func bigInt(n int64) *big.Int { return big.NewInt(n) }

func TestMaxDay(t *testing.T) {
	ctx := context.Background()
	p := writeTemp(t, "orders.csv", ordersHeader+"\n"+
		"O1,C1,2024-01-05,completed,1,RUB,\n"+
		"O2,C1,2024-13-45,completed,1,RUB,\n"+ // bad date: skipped, no error
		"O3,C1,2024-02-11T01:00:00+03:00,cancelled,1,RUB,\n"+ // 2024-02-10 in UTC; any status counts
		"O4,C1,not a date,completed,1,RUB,\n"+
		"O5,C1,2024-02-01 12:00:00,completed,1,RUB,\n")
	// 2024-02-10 = 19723 + 31 + 9 = 19763.
	d, ok, err := MaxDay(ctx, p)
	if err != nil || !ok || d != 19763 {
		t.Errorf("MaxDay = %d (%s), %v, %v; want 19763 (2024-02-10)", d, d, ok, err)
	}
	p = writeTemp(t, "bad.csv", ordersHeader+"\nO1,C1,2024-13-45,completed,1,RUB,\n")
	if d, ok, err := MaxDay(ctx, p); err != nil || ok {
		t.Errorf("MaxDay(only bad dates) = %d, %v, %v; want not found", d, ok, err)
	}
	p = writeTemp(t, "nocol.csv", "order_id,customer_id\nO1,C1\n")
	if _, _, err := MaxDay(ctx, p); err == nil {
		t.Error("MaxDay on a file without ordered_at: no error")
	}
}
