package run

import (
	"fmt"
	"time"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// CheckRunDate refuses a run date after tomorrow (host clock, UTC; a day of slack for time
// zones). Metrics as of a day that has not begun describe no data, and a far-future date
// (a typo such as 2999-01-01) makes every customer's cohort run to that date: on a
// 1,620-order shop that was 420,642 empty cohort rows, 67 MB and 31 s of work.
func CheckRunDate(d value.Day, now time.Time) error {
	if limit := value.DayOf(now.UTC()) + 1; d > limit {
		return fmt.Errorf("--as_of %s is after tomorrow (%s by this host's clock): a run date must be a day that has begun; leave --as_of out to use the day after the last order", d, limit)
	}
	return nil
}
