package score

import (
	"context"
	"sort"
	"strconv"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/fileio"
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
			if r.CustomerID == "" {
				continue // the run row
			}
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

// night runs one night's history step the way the pipeline does: the driver marks the run's
// layout in its state staging (WriteLayout), each bucket loads its history from the
// published state, "scores" (the customers in members are in rule segment s today; the
// others in no segment) and saves to the staging, then the run is published (every staged
// file moved into state). It returns entered_at by member.
func night(t *testing.T, state string, day value.Day, buckets int, members ...string) map[string]int32 {
	t.Helper()
	ctx := context.Background()
	stage := fileio.Join(state, ".staging", "run-"+strconv.Itoa(int(day)))
	if err := WriteLayout(ctx, stage, buckets); err != nil {
		t.Fatal(err)
	}
	entered := map[string]int32{}
	for b := 0; b < buckets; b++ {
		prevRows, err := LoadHistory(ctx, state, b, buckets)
		if err != nil {
			t.Fatal(err)
		}
		hist := segments.NewHistory(prevRows, day)
		var today []tables.SegmentMembership
		for _, id := range members {
			if nightly.Bucket(id, buckets) == b {
				e := int32(segments.EnteredAt(hist.Of(id), "rule", "s", day))
				today = append(today, tables.SegmentMembership{RunDate: int32(day), CustomerID: id, Segment: "s", Source: "rule", EnteredAt: e})
				entered[id] = e
			}
		}
		if err := SaveHistory(ctx, stage, b, buckets, day, prevRows, hist, today); err != nil {
			t.Fatal(err)
		}
	}
	files, err := fileio.ListTree(ctx, stage)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := fileio.Rename(ctx, fileio.Join(stage, f.Path), fileio.Join(state, f.Path)); err != nil {
			t.Fatal(err)
		}
	}
	return entered
}

// A customer who leaves a segment and comes back has entered it again, on the day of return:
// also when their bucket had no member at all in between (the bucket's history must still
// say that the run happened), and when --buckets changes and changes back (the run must read
// the layout the last run wrote, not an older one of its own bucket count).
func TestHistoryLeaveAndReturn(t *testing.T) {
	// Worked out by hand: a is in s on day 100 (entered 100), out on 101, back on 102, so
	// entered 102; b stays in throughout, so entered 100.
	for _, c := range []struct {
		name    string
		buckets [3]int
		day101  []string
	}{
		{"same layout, a's bucket empty on day 101", [3]int{64, 64, 64}, nil},
		{"same layout, b stays", [3]int{4, 4, 4}, []string{"b"}},
		{"same layout, b stays elsewhere", [3]int{64, 64, 64}, []string{"b"}},
		{"bucket count changes and changes back", [3]int{2, 4, 2}, []string{"b"}},
		{"bucket count changes twice", [3]int{2, 4, 8}, []string{"b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			state := t.TempDir()
			if got := night(t, state, 100, c.buckets[0], "a", "b"); got["a"] != 100 || got["b"] != 100 {
				t.Fatalf("day 100: entered %v, want a and b 100", got)
			}
			night(t, state, 101, c.buckets[1], c.day101...)
			got := night(t, state, 102, c.buckets[2], "a", "b")
			// Each part holds one run row per run date it covers (a regrouped layout must
			// not bring one per old part).
			for b := 0; b < c.buckets[2]; b++ {
				rows, err := LoadHistory(context.Background(), state, b, c.buckets[2])
				if err != nil {
					t.Fatal(err)
				}
				runRows := map[int32]int{}
				for _, r := range rows {
					if r.CustomerID == "" {
						runRows[r.RunDate]++
					}
				}
				if runRows[102] != 1 || runRows[101] != 1 || len(runRows) != 2 {
					t.Fatalf("bucket %d: run rows by date %v, want one of 101 and one of 102", b, runRows)
				}
			}
			if got["a"] != 102 {
				t.Errorf("a left on day 101 and came back on 102: entered_at %d, want 102", got["a"])
			}
			wantB := int32(102) // b left on day 101 too
			if len(c.day101) > 0 {
				wantB = 100
			}
			if got["b"] != wantB {
				t.Errorf("b (day 101: %v): entered_at %d, want %d", c.day101, got["b"], wantB)
			}
		})
	}
}
