package audience

import (
	"context"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/fileio/faultfs"
)

// A transient error while reading an audience's state is an error, never "no state"
// (which would create a second remote audience and re-add everyone).
func TestStateReadErrorIsNotAbsence(t *testing.T) {
	t.Cleanup(faultfs.Reset)
	ctx := context.Background()
	s := &FileStore{Dir: faultfs.URL(t.TempDir())}
	if _, found, err := s.Load(ctx, "a", "yandex"); found || err != nil {
		t.Fatalf("no state yet: found %v, %v", found, err)
	}
	if err := s.Save(ctx, "a", "yandex", State{RemoteID: "42", RunDate: "2026-01-01", Members: []Member{{Key: "k1"}}}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"size", "read"} {
		faultfs.Inject(faultfs.Fault{Op: op, Match: "yandex.parquet", Times: 1})
		if st, found, err := s.Load(ctx, "a", "yandex"); err == nil {
			t.Fatalf("%s fault: Load = %+v, found %v, no error", op, st, found)
		}
	}
	st, found, err := s.Load(ctx, "a", "yandex")
	if err != nil || !found || st.RemoteID != "42" || len(st.Members) != 1 {
		t.Fatalf("after the faults: %+v, %v, %v", st, found, err)
	}
}
