package nightly

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Spilled batches come back byte for byte, through the Beam coder too (the reference is
// what crosses the shuffle), and one file holds all the batches of a producer.
func TestSpillRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cust := map[int]CustomerBatch{
		3: {Orders: []byte("orders of bucket 3"), Customers: []byte("c3"), Drops: []byte{0, 1, 2}},
		0: {Lines: []byte("lines of bucket 0")},
		7: {}, // an empty batch stays empty
	}
	want := map[int]CustomerBatch{}
	for k, v := range cust {
		want[k] = v
	}
	if err := SpillCustomerBatches(dir, cust); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 {
		t.Fatalf("%d files for one producer's batches, want 1", len(files))
	}
	for k, b := range cust {
		if b.Spilled.File == "" || b.Orders != nil || b.Customers != nil || b.Lines != nil || b.Drops != nil {
			t.Fatalf("bucket %d: %+v is not a bare reference", k, b)
		}
		// Through the coder, as the shuffle moves it.
		enc, _ := b.MarshalBinary()
		var dec CustomerBatch
		if err := dec.UnmarshalBinary(enc); err != nil || dec.Spilled != b.Spilled {
			t.Fatalf("bucket %d: reference %+v decoded as %+v (%v)", k, b.Spilled, dec.Spilled, err)
		}
		got := []CustomerBatch{dec}
		if err := LoadCustomerBatches(got); err != nil {
			t.Fatal(err)
		}
		w := want[k]
		if string(got[0].Orders) != string(w.Orders) || string(got[0].Customers) != string(w.Customers) ||
			string(got[0].Lines) != string(w.Lines) || string(got[0].Drops) != string(w.Drops) || got[0].Spilled != (SpillRef{}) {
			t.Errorf("bucket %d: loaded %+v, want %+v", k, got[0], w)
		}
	}

	ord := map[int]OrderBatch{1: {Keys: []byte("keys"), Lines: []byte("lines")}, 2: {Keys: []byte("k2")}}
	if err := SpillOrderBatches(dir, ord); err != nil {
		t.Fatal(err)
	}
	got := []OrderBatch{ord[2], {Keys: []byte("in memory")}, ord[1]}
	if err := LoadOrderBatches(got); err != nil {
		t.Fatal(err)
	}
	wantOrd := []OrderBatch{{Keys: []byte("k2"), Lines: []byte{}}, {Keys: []byte("in memory")}, {Keys: []byte("keys"), Lines: []byte("lines")}}
	for i := range got {
		if string(got[i].Keys) != string(wantOrd[i].Keys) || string(got[i].Lines) != string(wantOrd[i].Lines) {
			t.Errorf("order batch %d: %+v, want %+v", i, got[i], wantOrd[i])
		}
	}
}

// A reference to a file that is gone, or to bytes beyond its end, is an error naming the
// file, never an empty batch.
func TestSpillLoadErrors(t *testing.T) {
	dir := t.TempDir()
	m := map[int]CustomerBatch{0: {Orders: []byte("x")}}
	if err := SpillCustomerBatches(dir, m); err != nil {
		t.Fatal(err)
	}
	past := m[0]
	past.Spilled.Off += 100
	if err := LoadCustomerBatches([]CustomerBatch{past}); err == nil || !strings.Contains(err.Error(), m[0].Spilled.File) {
		t.Errorf("reading past the end: %v", err)
	}
	os.Remove(m[0].Spilled.File)
	if err := LoadCustomerBatches([]CustomerBatch{m[0]}); err == nil || !strings.Contains(err.Error(), filepath.Base(m[0].Spilled.File)) {
		t.Errorf("a removed file: %v", err)
	}
	var b CustomerBatch
	if err := b.UnmarshalBinary(marshalFields(nil, nil, nil, nil, []byte{0x05, 'a'})); err == nil {
		t.Error("a truncated reference decoded")
	}
}

// The folder of a run that was killed (its process gone, untouched for over an hour) is
// removed by the next run's NewSpillDir; a recent one of a gone process (maybe alive in
// another pid namespace), the folder of a live process, and anything not named like a
// spill folder stay.
func TestNewSpillDirRemovesStale(t *testing.T) {
	parent := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no `true` to get a dead pid from:", err)
	}
	dead := filepath.Join(parent, SpillPrefix+strconv.Itoa(cmd.Process.Pid)+"-abc")
	recent := filepath.Join(parent, SpillPrefix+strconv.Itoa(cmd.Process.Pid)+"-ghi")
	live := filepath.Join(parent, SpillPrefix+strconv.Itoa(os.Getpid())+"-def")
	other := filepath.Join(parent, "not-ours")
	old := time.Now().Add(-2 * time.Hour)
	for _, d := range []string{dead, recent, live, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "f"), []byte("x"), 0o644)
		if d != recent {
			if err := os.Chtimes(d, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir, err := NewSpillDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(dir), SpillPrefix+strconv.Itoa(os.Getpid())+"-") {
		t.Errorf("spill folder %s", dir)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if exists(dead) || !exists(recent) || !exists(live) || !exists(other) || !exists(dir) {
		t.Errorf("after NewSpillDir: dead %v recent %v live %v other %v new %v, want false true true true true",
			exists(dead), exists(recent), exists(live), exists(other), exists(dir))
	}
	if !reflect.DeepEqual(RemoveStaleSpillDirs(parent), 0) {
		t.Error("a second sweep removed something")
	}
}
