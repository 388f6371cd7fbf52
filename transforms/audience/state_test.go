package audience_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/audiencesync/audiencesync/transforms/audience"
)

func TestStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := &audience.FileStore{Dir: dir}
	if _, found, err := s.Load(ctx, aud, "vk"); found || err != nil {
		t.Fatalf("missing state: found %v err %v", found, err)
	}
	in := audience.State{RemoteID: "12345", RunDate: day("2026-11-05"), Generation: 7,
		Confirmed: set(e(2), p(1), e(1)), Pending: set(p(9))}
	if err := s.Save(ctx, aud, "vk", in); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Load(ctx, aud, "vk")
	if err != nil || !found || got.RemoteID != "12345" || got.RunDate != day("2026-11-05") || got.Generation != 7 ||
		!slices.Equal(got.Confirmed, []audience.Identifier{e(1), e(2), p(1)}) || !slices.Equal(got.Pending, []audience.Identifier{p(9)}) {
		t.Fatalf("round trip: %+v found %v err %v", got, found, err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, aud))
	if len(entries) != 1 || entries[0].Name() != "vk.parquet" {
		t.Errorf("state folder holds %v, want only vk.parquet (no temp files)", entries)
	}
	// Empty audience round trip.
	if err := s.Save(ctx, aud, "meta", audience.State{RemoteID: "m1", RunDate: day("2026-11-05")}); err != nil {
		t.Fatal(err)
	}
	if st, found, err := s.Load(ctx, aud, "meta"); err != nil || !found || st.RemoteID != "m1" || len(st.Confirmed)+len(st.Pending) != 0 {
		t.Errorf("empty state: %+v %v %v", st, found, err)
	}
	// A corrupt file is an error that names the file, never "no state".
	bad := filepath.Join(dir, aud, "google.parquet")
	if err := os.WriteFile(bad, []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Load(ctx, aud, "google"); err == nil || found || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt state: found %v err %v", found, err)
	}
	// An unreadable folder is an error too, not "no state".
	if os.Getuid() != 0 {
		locked := &audience.FileStore{Dir: filepath.Join(dir, "locked")}
		os.MkdirAll(filepath.Join(dir, "locked", aud), 0o755)
		os.Chmod(filepath.Join(dir, "locked"), 0)
		defer os.Chmod(filepath.Join(dir, "locked"), 0o755)
		if _, found, err := locked.Load(ctx, aud, "vk"); err == nil || found {
			t.Errorf("unreadable state dir: found %v err %v", found, err)
		}
	}
}

// writeOldState writes rows as the audience's state file for platform under dir, in the
// layout of an earlier version (its row type and metadata).
func writeOldState[T any](t *testing.T, dir, platform string, rows []T, md ...parquet.WriterOption) {
	t.Helper()
	path := filepath.Join(dir, aud, platform+".parquet")
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, md...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	w.Close()
	f.Close()
}

// A version 1 state file (one row per member: key, email, phone, extern_id) is read as
// confirmed identifiers, so an upgrade keeps the audiences it synced.
func TestStateVersion1IsRead(t *testing.T) {
	type v1 struct {
		Key      string `parquet:"key"`
		Email    string `parquet:"email"`
		Phone    string `parquet:"phone"`
		ExternID string `parquet:"extern_id"`
	}
	dir := t.TempDir()
	// Two members share e(1); one has no phone.
	writeOldState(t, dir, "yandex", []v1{{Key: "k1", Email: e(1).Hash, Phone: p(1).Hash}, {Key: "k2", Email: e(1).Hash, Phone: p(2).Hash}, {Key: "k3", Email: e(3).Hash}},
		parquet.KeyValueMetadata("audiencesync.remote_id", "777"), parquet.KeyValueMetadata("audiencesync.run_date", "2026-10-01"), parquet.KeyValueMetadata("audiencesync.state_version", "1"))
	st, found, err := (&audience.FileStore{Dir: dir}).Load(context.Background(), aud, "yandex")
	if err != nil || !found || st.RemoteID != "777" || st.RunDate != day("2026-10-01") ||
		!slices.Equal(st.Confirmed, []audience.Identifier{e(1), e(3), p(1), p(2)}) || len(st.Pending) != 0 {
		t.Errorf("v1 state: %+v %v %v", st, found, err)
	}
}

// A version 2 state file (identifiers without values) is read as a plain audience's state.
func TestStateVersion2IsRead(t *testing.T) {
	type v2 struct {
		Type    string `parquet:"type,dict"`
		Hash    string `parquet:"hash"`
		Pending bool   `parquet:"pending"`
	}
	dir := t.TempDir()
	writeOldState(t, dir, "meta", []v2{{Type: "email", Hash: e(2).Hash}, {Type: "phone", Hash: p(1).Hash, Pending: true}, {Type: "email", Hash: e(1).Hash}},
		parquet.KeyValueMetadata("audiencesync.remote_id", "55"), parquet.KeyValueMetadata("audiencesync.generation", "4"), parquet.KeyValueMetadata("audiencesync.state_version", "2"))
	st, found, err := (&audience.FileStore{Dir: dir}).Load(context.Background(), aud, "meta")
	if err != nil || !found || st.RemoteID != "55" || st.Generation != 4 || st.Value != "" ||
		!slices.Equal(st.Confirmed, []audience.Identifier{e(1), e(2)}) || !slices.Equal(st.Pending, []audience.Identifier{p(1)}) {
		t.Errorf("v2 state: %+v %v %v", st, found, err)
	}
}

func TestJournal(t *testing.T) {
	ctx := context.Background()
	j := (&audience.FileStore{Dir: t.TempDir()}).Journal(aud, "yandex")
	if b, err := j.Read(ctx); b != nil || err != nil {
		t.Fatalf("empty journal: %q %v", b, err)
	}
	if err := j.Write(ctx, []byte(`{"upload":1}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := j.Read(ctx); string(b) != `{"upload":1}` || err != nil {
		t.Fatalf("journal: %q %v", b, err)
	}
	if err := j.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if b, err := j.Read(ctx); b != nil || err != nil {
		t.Fatalf("cleared journal: %q %v", b, err)
	}
}
