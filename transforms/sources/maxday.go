package sources

import (
	"context"

	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// MaxDay returns the latest valid ordered_at day of an orders file, for the default --as_of
// (the day after the last order). Rows that fail validation are skipped here; the pipeline
// dead-letters them.
func MaxDay(ctx context.Context, path string) (value.Day, bool, error) {
	splits, err := Plan(ctx, orders.InputOrders, path, 1<<62)
	if err != nil {
		return 0, false, err
	}
	var max value.Day
	found := false
	for _, s := range splits {
		idx, err := orders.OrdersSchema.Bind(path, s.Header)
		if err != nil {
			return 0, false, err
		}
		err = s.Read(ctx, orders.Index{idx[2]}, func(r Record) error {
			if t, ok := orders.ParseTime(r.Fields[0]); ok {
				if d := value.DayOf(t); !found || d > max {
					max, found = d, true
				}
			}
			return nil
		}, func(int64, error) {})
		if err != nil {
			return 0, false, err
		}
	}
	return max, found, nil
}
