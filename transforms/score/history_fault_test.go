package score

import (
	"context"
	"reflect"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/fileio/faultfs"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// A transient store error while reading segment history must fail the bucket, never read
// as "no history" (which would reset entered_at and every reminder).
func TestHistoryReadErrorsAreNotAbsence(t *testing.T) {
	ctx := context.Background()
	state := faultfs.URL(t.TempDir())
	if rows, err := LoadHistory(ctx, state, 0, 1); err != nil || rows != nil {
		t.Fatalf("no history yet: %v, %v; want none and no error", rows, err)
	}
	rows := []tables.SegmentMembership{{RunDate: 100, CustomerID: "a", Segment: "s", Source: "rule", EnteredAt: 40}}
	if err := SaveHistory(ctx, state, 0, 1, 100, nil, nil, rows); err != nil {
		t.Fatal(err)
	}
	part := fileio.Join(historyDir(state, 1), "part-00000.parquet")
	for _, op := range []string{"size", "read", "list"} {
		t.Run(op, func(t *testing.T) {
			t.Cleanup(faultfs.Reset)
			match := "part-00000.parquet"
			bucketsRead := 1
			if op == "list" {
				// The fallback to another bucket layout lists the history root.
				match, bucketsRead = "segment_membership", 2
			}
			faultfs.Inject(faultfs.Fault{Op: op, Match: match, Times: 1})
			got, err := LoadHistory(ctx, state, 0, bucketsRead)
			if err == nil {
				t.Fatalf("LoadHistory with a failing %s returned %v and no error", op, got)
			}
			if faultfs.Hits(op) != 1 {
				t.Fatalf("the %s fault did not fire", op)
			}
		})
	}
	got, err := LoadHistory(ctx, state, 0, 1)
	want := append(rows, tables.SegmentMembership{RunDate: 100}) // + the run row
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("after the faults: %v, %v; want %v (file %s untouched)", got, err, want, part)
	}
	// Once a run has recorded its layout, a failing read of LAYOUT fails the bucket too.
	if err := WriteLayout(ctx, state, 1); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"size", "read"} {
		t.Cleanup(faultfs.Reset)
		faultfs.Inject(faultfs.Fault{Op: op, Match: layoutFile, Times: 1})
		if got, err := LoadHistory(ctx, state, 0, 1); err == nil {
			t.Fatalf("LoadHistory with a failing %s of LAYOUT returned %v and no error", op, got)
		}
		faultfs.Reset()
	}
}
