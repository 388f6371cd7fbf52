// Package counters names the Beam counters every stage of the pipeline reports and the
// driver reads back into the run summary: rows read, dead letters by input and reason,
// rows written per table, segment sizes and the base-wide headline totals. Counters are
// the pipeline's only channel to the driver besides the tables it writes.
package counters

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// Namespace of every counter the pipeline reports.
const Namespace = "audiencesync"

// Name prefixes the summary sorts counters by; the rest of a name follows the prefix.
const (
	RowsRead    = "rows_read."    // + input
	DeadLetter  = "dead_letter."  // + input "." reason
	RowsWritten = "rows_written." // + table
	Segment     = "segment."      // + "source:segment"
	Headline    = "headline."     // + currency "." figure (see model.HeadlineCounters)
)

// Inc adds n to the counter name (nothing for 0, so idle stages report no zero counters).
func Inc(ctx context.Context, name string, n int64) {
	if n != 0 {
		beam.NewCounter(Namespace, name).Inc(ctx, n)
	}
}

// IncAll adds every counter of m.
func IncAll(ctx context.Context, m map[string]int64) {
	for k, v := range m {
		Inc(ctx, k, v)
	}
}
