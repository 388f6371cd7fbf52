package sources

import (
	"context"
	"math/big"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

func bigInt(n int64) *big.Int { return big.NewInt(n) }

// The default run date comes from accepted purchases only: not from a row that fails
// validation, is not a purchase, or is dated implausibly far in the future.
func TestMaxPurchaseDay(t *testing.T) {
	ctx := context.Background()
	p := writeTemp(t, "orders.csv", ordersHeader+"\n"+
		"O1,C1,2024-01-05,completed,1,RUB,\n"+
		"O2,C1,2024-13-45,completed,1,RUB,\n"+ // bad date
		"O3,C1,2024-02-11T01:00:00+03:00,cancelled,1,RUB,\n"+ // not a purchase
		"O4,C1,not a date,completed,1,RUB,\n"+
		"O5,C1,2024-02-01 12:00:00,completed,1,RUB,\n"+
		"O6,C1,2024-02-09T22:30:00Z,partially_refunded,1,RUB,\n"+ // 01:30 on 02-10 in Moscow
		"O7,C1,2206-01-05,completed,1,RUB,\n"+ // a typo'd year: future_date
		"O8,,2024-03-01,completed,1,RUB,\n") // no customer: rejected
	sp, err := Plan(ctx, orders.InputOrders, p, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	today := value.DayFromDate(2024, 6, 1)
	// 2024-02-09 = 19723 + 31 + 8 = 19762; in Moscow O6 is on 02-10 = 19763.
	if d, ok, err := MaxPurchaseDay(ctx, sp, nil, orders.NewZone(nil), today); err != nil || !ok || d != 19762 {
		t.Errorf("UTC: MaxPurchaseDay = %d (%s), %v, %v; want 19762 (2024-02-09)", d, d, ok, err)
	}
	msk, _ := orders.LoadZone("Europe/Moscow")
	if d, ok, err := MaxPurchaseDay(ctx, sp, nil, msk, today); err != nil || !ok || d != 19763 {
		t.Errorf("Moscow: MaxPurchaseDay = %d (%s), %v, %v; want 19763 (2024-02-10)", d, d, ok, err)
	}
	if d, err := DefaultRunDate(ctx, []string{p}, bqConfigNone, msk, today); err != nil || d != 19764 {
		t.Errorf("DefaultRunDate = %s, %v; want 2024-02-11", d, err)
	}
	p = writeTemp(t, "bad.csv", ordersHeader+"\nO1,C1,2024-13-45,completed,1,RUB,\nO2,C1,2024-01-01,cancelled,1,RUB,\n")
	if _, err := DefaultRunDate(ctx, []string{p}, bqConfigNone, msk, today); err == nil {
		t.Error("DefaultRunDate without an accepted purchase: no error")
	}
	p = writeTemp(t, "nocol.csv", "order_id,customer_id\nO1,C1\n")
	if _, err := DefaultRunDate(ctx, []string{p}, bqConfigNone, msk, today); err == nil {
		t.Error("DefaultRunDate on a file without ordered_at: no error")
	}
}
