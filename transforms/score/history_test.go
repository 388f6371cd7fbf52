package score

import (
	"context"
	"sort"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/segments"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

func TestHistoryAcrossBucketCountsAndBackfills(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	ids := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	// Run of day 100 with 2 buckets: every customer in segment s.
	for b := 0; b < 2; b++ {
		var rows []tables.SegmentMembership
		for _, id := range ids {
			if nightly.Bucket(id, 2) == b {
				rows = append(rows, tables.SegmentMembership{RunDate: 100, CustomerID: id, Segment: "s", Source: "rule", EnteredAt: 90})
			}
		}
		if err := SaveHistory(ctx, state, b, 2, 100, nil, nil, rows); err != nil {
			t.Fatal(err)
		}
	}
	// Day 101 with 4 buckets: each bucket reads the old layout filtered to its customers,
	// even after other buckets have written the new layout.
	var seen []string
	for b := 0; b < 4; b++ {
		rows, err := LoadHistory(ctx, state, b, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if nightly.Bucket(r.CustomerID, 4) != b {
				t.Errorf("bucket %d got customer %s of bucket %d", b, r.CustomerID, nightly.Bucket(r.CustomerID, 4))
			}
			seen = append(seen, r.CustomerID)
		}
		hist := segments.NewHistory(rows, 101)
		if err := SaveHistory(ctx, state, b, 4, 101, rows, hist, nil); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(seen)
	if len(seen) != len(ids) {
		t.Fatalf("history after the bucket change covers %v, want all of %v", seen, ids)
	}
	// A backfill of day 95 keeps the day-100 rows it cannot see as "previous".
	rows, _ := LoadHistory(ctx, state, nightly.Bucket("a", 4), 4)
	hist := segments.NewHistory(rows, 95)
	if err := SaveHistory(ctx, state, nightly.Bucket("a", 4), 4, value.Day(95), rows, hist, nil); err != nil {
		t.Fatal(err)
	}
	after, _ := LoadHistory(ctx, state, nightly.Bucket("a", 4), 4)
	kept := false
	for _, r := range after {
		kept = kept || (r.CustomerID == "a" && r.RunDate == 100)
	}
	if !kept {
		t.Errorf("the backfill erased the day-100 history: %+v", after)
	}
}
