package score

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Segment history lives in the state folder, one part per customer bucket, in a folder per
// bucket count: <state>/segment_membership/b<N>/part-NNNNN.parquet. A part holds the
// latest earlier run's rows, today's rows and any rows of later run dates (a backfill must
// not erase them), so a rerun of today still sees the previous run (segments.NewHistory
// ignores today's own rows and later ones).
//
// When --buckets changes, the new layout is written to its own folder while the old one is
// only read (every part, filtered by the new bucket), so no bucket reads a part that another
// is rewriting.

func historyRoot(state string) string { return fileio.Join(state, "segment_membership") }

func historyDir(state string, buckets int) string {
	return fileio.Join(historyRoot(state), "b"+strconv.Itoa(buckets))
}

// LoadHistory reads the previous membership of one bucket.
func LoadHistory(ctx context.Context, state string, bucket, buckets int) ([]tables.SegmentMembership, error) {
	// Every run writes every bucket's part (empty ones too), and only this bucket writes its
	// own: a missing part means this bucket count has no history yet.
	p := fileio.Join(historyDir(state, buckets), parquetio.PartName(bucket))
	if ok, err := fileio.Lookup(ctx, p); err != nil {
		return nil, fmt.Errorf("segment history %s: %w", p, err)
	} else if ok {
		return parquetio.ReadFile[tables.SegmentMembership](ctx, p)
	}
	// No history at this bucket count: take the newest other layout, if any.
	others, err := fileio.Glob(ctx, fileio.Join(historyRoot(state), "b*", parquetio.PartName(0)))
	if err != nil {
		return nil, fmt.Errorf("segment history %s: %w", historyRoot(state), err)
	}
	if len(others) == 0 {
		return nil, nil // no history yet
	}
	// Among the other layouts, the one written last: its part 0 holds the latest run date.
	old, latest := "", int32(-1)
	for _, p0 := range others {
		if countOf(p0) == buckets {
			continue
		}
		rows, err := parquetio.ReadFile[tables.SegmentMembership](ctx, p0)
		if err != nil {
			return nil, err
		}
		last := int32(0)
		for _, r := range rows {
			last = max(last, r.RunDate)
		}
		if last > latest {
			old, latest = strings.TrimSuffix(p0, parquetio.PartName(0)), last
		}
	}
	if old == "" {
		return nil, nil
	}
	all, err := parquetio.ReadDir[tables.SegmentMembership](ctx, old)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if nightly.Bucket(r.CustomerID, buckets) == bucket {
			out = append(out, r)
		}
	}
	return out, nil
}

// countOf is the bucket count of a layout folder (…/b<N>/part-00000.parquet).
func countOf(part string) int {
	dir := strings.TrimSuffix(strings.TrimSuffix(part, parquetio.PartName(0)), "/")
	i := strings.LastIndex(dir, "/b")
	n, _ := strconv.Atoi(dir[i+2:])
	return n
}

// SaveHistory writes the bucket's history for the next run: the previous run's rows, today's,
// and any later run dates found in prev (kept for backfills).
func SaveHistory(ctx context.Context, state string, bucket, buckets int, run value.Day, prevRows []tables.SegmentMembership, prev segments.History, today []tables.SegmentMembership) error {
	rows := make([]tables.SegmentMembership, 0, len(today))
	for _, rs := range prev {
		rows = append(rows, rs...)
	}
	for _, r := range prevRows {
		if r.RunDate > int32(run) {
			rows = append(rows, r)
		}
	}
	rows = append(rows, today...)
	return parquetio.WriteFile(ctx, fileio.Join(historyDir(state, buckets), parquetio.PartName(bucket)), rows)
}
