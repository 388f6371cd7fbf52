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
// is rewriting. Which layout the last published run wrote is recorded in
// <state>/segment_membership/LAYOUT (WriteLayout, in the run's state staging, published with
// the run): after a change and a change back, the current layout is the other one, even
// though an older part of this bucket count still exists. Layouts other than the current
// one are removed by PruneLayouts. State without LAYOUT (written by older versions) is read
// as before: this bucket count's layout if it has this bucket's part, else the newest other.
//
// Every part also holds a run row (empty customer id, the run date): NewHistory takes the
// latest run date before today as "the previous run", and without that row a bucket that
// had no member at all on the previous run would look as if its last run were an older one.

// layoutFile, under the history root, holds the bucket count of the current layout.
const layoutFile = "LAYOUT"

func historyRoot(state string) string { return fileio.Join(state, "segment_membership") }

func historyDir(state string, buckets int) string {
	return fileio.Join(historyRoot(state), "b"+strconv.Itoa(buckets))
}

// LoadHistory reads the previous membership of one bucket, with the run rows of the runs it
// covers (every layout's run rows, whatever the bucket).
func LoadHistory(ctx context.Context, state string, bucket, buckets int) ([]tables.SegmentMembership, error) {
	from, err := readLayout(ctx, state)
	if err == nil && from == 0 {
		from, err = inferLayout(ctx, state, bucket, buckets)
	}
	if err != nil || from == 0 {
		return nil, err
	}
	if from == buckets {
		// Every run writes every bucket's part (empty ones too), and only this bucket writes
		// its own: a missing part means no history yet.
		p := fileio.Join(historyDir(state, buckets), parquetio.PartName(bucket))
		if ok, err := fileio.Lookup(ctx, p); err != nil || !ok {
			return nil, wrapHistory(p, err)
		}
		return parquetio.ReadFile[tables.SegmentMembership](ctx, p)
	}
	all, err := parquetio.ReadDir[tables.SegmentMembership](ctx, historyDir(state, from))
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, r := range all {
		if r.CustomerID == "" || nightly.Bucket(r.CustomerID, buckets) == bucket {
			out = append(out, r)
		}
	}
	return out, nil
}

func wrapHistory(p string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("segment history %s: %w", p, err)
}

// WriteLayout records that the run writes its history at buckets: the driver calls it once,
// into the run's state staging, so that it is published with the run's parts.
func WriteLayout(ctx context.Context, stage string, buckets int) error {
	return fileio.WriteFile(ctx, fileio.Join(historyRoot(stage), layoutFile), []byte(strconv.Itoa(buckets)+"\n"))
}

// readLayout is the bucket count in LAYOUT, 0 when there is none.
func readLayout(ctx context.Context, state string) (int, error) {
	p := fileio.Join(historyRoot(state), layoutFile)
	if ok, err := fileio.Lookup(ctx, p); err != nil || !ok {
		return 0, wrapHistory(p, err)
	}
	b, err := fileio.ReadFile(ctx, p)
	if err != nil {
		return 0, wrapHistory(p, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("segment history %s: holds %q, not a bucket count (remove it to fall back to the newest layout)", p, b)
	}
	return n, nil
}

// inferLayout is the layout to read from state that has no LAYOUT (written by versions
// before it): this bucket count's when it has this bucket's part, else the one whose part 0
// holds the latest run date; 0 when there is no history. (Own count first keeps a run that
// writes straight into state, without staging, reading the layout it started from; state
// of an older version that changed --buckets and changed it back is read as that version
// read it, once: the first run of this version writes LAYOUT.)
func inferLayout(ctx context.Context, state string, bucket, buckets int) (int, error) {
	p := fileio.Join(historyDir(state, buckets), parquetio.PartName(bucket))
	if ok, err := fileio.Lookup(ctx, p); err != nil || ok {
		return buckets, wrapHistory(p, err)
	}
	others, err := fileio.Glob(ctx, fileio.Join(historyRoot(state), "b*", parquetio.PartName(0)))
	if err != nil {
		return 0, wrapHistory(historyRoot(state), err)
	}
	from, latest := 0, int32(-1)
	for _, p0 := range others {
		if countOf(p0) == buckets {
			continue
		}
		rows, err := parquetio.ReadFile[tables.SegmentMembership](ctx, p0)
		if err != nil {
			return 0, err
		}
		last := int32(0)
		for _, r := range rows {
			last = max(last, r.RunDate)
		}
		if last > latest {
			from, latest = countOf(p0), last
		}
	}
	return from, nil
}

// PruneLayouts removes the layouts other than the one LAYOUT names (none without LAYOUT).
// The driver calls it holding the state lock, before the run's buckets read.
func PruneLayouts(ctx context.Context, state string) error {
	current, err := readLayout(ctx, state)
	if err != nil || current == 0 {
		return err
	}
	parts, err := fileio.Glob(ctx, fileio.Join(historyRoot(state), "b*", parquetio.PartName(0)))
	if err != nil {
		return wrapHistory(historyRoot(state), err)
	}
	for _, p0 := range parts {
		if n := countOf(p0); n != current && n > 0 {
			if err := fileio.RemoveAll(ctx, historyDir(state, n)); err != nil {
				return wrapHistory(historyDir(state, n), err)
			}
		}
	}
	return nil
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
	rows := make([]tables.SegmentMembership, 0, len(today)+2)
	for _, rs := range prev {
		rows = append(rows, rs...)
	}
	previous := int32(-1 << 31) // the previous run's date: its run row is kept with its rows
	for _, r := range prevRows {
		if r.RunDate < int32(run) {
			previous = max(previous, r.RunDate)
		}
	}
	seen := map[int32]bool{} // run rows kept, by date: one each (a regrouped layout brings one per old part)
	for _, r := range prevRows {
		switch {
		case r.CustomerID == "":
			if (r.RunDate == previous || r.RunDate > int32(run)) && !seen[r.RunDate] {
				seen[r.RunDate] = true
				rows = append(rows, r)
			}
		case r.RunDate > int32(run):
			rows = append(rows, r)
		}
	}
	rows = append(rows, today...)
	rows = append(rows, tables.SegmentMembership{RunDate: int32(run)}) // this run's run row
	return parquetio.WriteFile(ctx, fileio.Join(historyDir(state, buckets), parquetio.PartName(bucket)), rows)
}
