package nightly

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// Segment history lives in the state folder, one part per customer bucket
// (<state>/segment_membership/part-NNNNN.parquet) plus a file naming the bucket count. Each
// part holds the latest earlier run's rows and today's rows, so that a rerun of today
// still sees the previous run (segments.NewHistory ignores today's own rows).

func historyDir(state string) string { return fileio.Join(state, "segment_membership") }

// LoadHistory reads the previous membership of one bucket. When the bucket count changed
// since the history was written, every part is read and filtered.
func LoadHistory(ctx context.Context, state string, bucket, buckets int) ([]tables.SegmentMembership, error) {
	dir := historyDir(state)
	nb, err := fileio.ReadFile(ctx, fileio.Join(dir, "buckets"))
	if err != nil {
		return nil, nil // no history yet
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(nb)))
	if err != nil {
		return nil, fmt.Errorf("segment history %s: bad buckets file", dir)
	}
	if n == buckets {
		p := fileio.Join(dir, parquetio.PartName(bucket))
		if !fileio.Exists(ctx, p) {
			return nil, nil
		}
		return parquetio.ReadFile[tables.SegmentMembership](ctx, p)
	}
	all, err := parquetio.ReadDir[tables.SegmentMembership](ctx, dir)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if Bucket(r.CustomerID, buckets) == bucket {
			out = append(out, r)
		}
	}
	return out, nil
}

// SaveHistory writes the bucket's history for the next run: the previous run's rows and
// today's.
func SaveHistory(ctx context.Context, state string, bucket, buckets int, prev segments.History, today []tables.SegmentMembership) error {
	dir := historyDir(state)
	rows := make([]tables.SegmentMembership, 0, len(today))
	for _, rs := range prev {
		rows = append(rows, rs...)
	}
	rows = append(rows, today...)
	if err := parquetio.WriteFile(ctx, fileio.Join(dir, parquetio.PartName(bucket)), rows); err != nil {
		return err
	}
	return fileio.WriteFile(ctx, fileio.Join(dir, "buckets"), []byte(strconv.Itoa(buckets)+"\n"))
}

// AsOf is the run date the scorer works with.
func (sc *Scorer) AsOf() orders.Day { return sc.s.Metrics.AsOf }
