package audience

import (
	"context"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/fileio/faultfs"
)

// A transient error while reading an audience's state (or its journal) is an error, never
// "no state" (which would create a second remote audience and re-add everyone).
func TestStateReadErrorIsNotAbsence(t *testing.T) {
	t.Cleanup(faultfs.Reset)
	ctx := context.Background()
	s := &FileStore{Dir: faultfs.URL(t.TempDir())}
	if _, found, err := s.Load(ctx, "a", "yandex"); found || err != nil {
		t.Fatalf("no state yet: found %v, %v", found, err)
	}
	if err := s.Save(ctx, "a", "yandex", State{RemoteID: "42", RunDate: 20454, Confirmed: []Identifier{{Type: TypeEmail, Hash: "k1"}}}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"size", "read"} {
		faultfs.Inject(faultfs.Fault{Op: op, Match: "yandex.parquet", Times: 1})
		if st, found, err := s.Load(ctx, "a", "yandex"); err == nil {
			t.Fatalf("%s fault: Load = %+v, found %v, no error", op, st, found)
		}
	}
	j := s.Journal("a", "yandex")
	if err := j.Write(ctx, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	faultfs.Inject(faultfs.Fault{Op: "size", Match: "yandex.journal.json", Times: 1})
	if b, err := j.Read(ctx); err == nil {
		t.Fatalf("size fault on the journal: %q, no error", b)
	}
	st, found, err := s.Load(ctx, "a", "yandex")
	if err != nil || !found || st.RemoteID != "42" || len(st.Confirmed) != 1 {
		t.Fatalf("after the faults: %+v, %v, %v", st, found, err)
	}
}
