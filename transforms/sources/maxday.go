package sources

import (
	"context"
	"fmt"

	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// MaxPurchaseDay returns the latest day of an accepted purchase in the orders splits: a
// row that passes the pipeline's own validation (orders.ParseOrder in zone z), whose
// status is a purchase and that is not future_date against today (orders.CheckFuture).
// A typo'd date far in the future therefore never moves the run date. Rows rejected for
// any reason are skipped here (the pipeline dead-letters them); duplicate order ids are not
// resolved here, so a purchase row that later loses to a duplicate still counts.
func MaxPurchaseDay(ctx context.Context, splits []Split, bq RowReader, z *orders.Zone, today value.Day) (value.Day, bool, error) {
	var max value.Day
	found := false
	for _, s := range splits {
		if s.Input != orders.InputOrders {
			return 0, false, fmt.Errorf("%s: MaxPurchaseDay reads orders, not %s", s.File(), s.Input)
		}
		err := Read(ctx, s, bq, func(r Record) error {
			o, rej := orders.ParseOrder(r.Fields, z)
			if rej != nil || !o.Status.Counts() || orders.CheckFuture(&o, today) != nil {
				return nil
			}
			if !found || o.Day > max {
				max, found = o.Day, true
			}
			return nil
		}, func(int64, string, string) {})
		if err != nil {
			return 0, false, err
		}
	}
	return max, found, nil
}

// DefaultRunDate is the run date when none is given: the day after the latest accepted
// purchase (MaxPurchaseDay) of the orders inputs (files or bq:// sources). It reads the
// orders once more before the pipeline; give the run date to skip that.
func DefaultRunDate(ctx context.Context, paths []string, bq bigquery.Config, z *orders.Zone, today value.Day) (value.Day, error) {
	var splits []Split
	for _, p := range paths {
		var sp []Split
		var err error
		if IsBigQuery(p) {
			sp, err = PlanBigQuery(ctx, bq, orders.InputOrders, p)
		} else {
			sp, err = Plan(ctx, orders.InputOrders, p, 1<<62)
		}
		if err != nil {
			return 0, err
		}
		splits = append(splits, sp...)
	}
	r := &BQReader{Config: bq}
	defer r.Close()
	last, ok, err := MaxPurchaseDay(ctx, splits, r, z, today)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("the orders input has no accepted purchase (every row is rejected, not a purchase, or future_date): give the run date")
	}
	return last + 1, nil
}
