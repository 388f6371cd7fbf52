package run

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/fileio/faultfs"
	"github.com/audiencesync/audiencesync/transforms/value"
)

func TestLocalLockIsExclusiveAndNamesTheHolder(t *testing.T) {
	ctx := context.Background()
	state, out := t.TempDir(), t.TempDir()
	l, err := Acquire(ctx, []string{state, out}, LockOptions{RunID: "run-A"})
	if err != nil {
		t.Fatal(err)
	}
	// Locks are per open file: a second attempt, even from this process, is refused.
	_, err = Acquire(ctx, []string{state, out}, LockOptions{RunID: "run-B"})
	var held *HeldError
	if !errors.As(err, &held) || held.Stale {
		t.Fatalf("second Acquire = %v; want a HeldError", err)
	}
	if ExitCode(err) != ExitLocked || held.Holder.RunID != "run-A" || held.Holder.PID != os.Getpid() ||
		!strings.Contains(err.Error(), "run-A") || !strings.Contains(err.Error(), "another run is in progress") {
		t.Fatalf("error %q (exit %d) does not name the holder run-A", err, ExitCode(err))
	}
	// The output alone is held too.
	if _, err := Acquire(ctx, []string{t.TempDir(), out}, LockOptions{RunID: "run-C"}); ExitCode(err) != ExitLocked {
		t.Fatalf("a run on another state folder but the same output: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(ctx, []string{state, out}, LockOptions{RunID: "run-D"})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if len(l2.Previous) != 0 {
		t.Fatalf("a released lock left a previous holder: %v", l2.Previous)
	}
	l2.Release(ctx)
}

func TestFailedAcquireReleasesWhatItTook(t *testing.T) {
	ctx := context.Background()
	state, out := t.TempDir(), t.TempDir()
	other, err := Acquire(ctx, []string{out}, LockOptions{RunID: "other"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release(ctx)
	if _, err := Acquire(ctx, []string{state, out}, LockOptions{RunID: "me"}); ExitCode(err) != ExitLocked {
		t.Fatalf("Acquire = %v; want held", err)
	}
	l, err := Acquire(ctx, []string{state}, LockOptions{RunID: "me-again"})
	if err != nil {
		t.Fatalf("the state lock was not released after the failed Acquire: %v", err)
	}
	l.Release(ctx)
}

func TestLocalLockOfAKilledRunIsFree(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	// A killed run's lock file still names it; the kernel released its flock.
	dead := Holder{RunID: "killed", Host: "h", PID: 999999, StartedAt: time.Now()}
	b, _ := json.Marshal(dead)
	os.WriteFile(filepath.Join(state, LockFile), b, 0o644)
	l, err := Acquire(ctx, []string{state}, LockOptions{RunID: "next"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	if len(l.Previous) != 1 || l.Previous[0].RunID != "killed" {
		t.Fatalf("Previous = %v; want the killed run", l.Previous)
	}
}

func TestObjectLock(t *testing.T) {
	ctx := context.Background()
	state := faultfs.URL(t.TempDir())
	opts := LockOptions{RunID: "A", StaleAfter: 250 * time.Millisecond}
	a, err := Acquire(ctx, []string{state}, opts)
	if err != nil {
		t.Fatal(err)
	}
	lockPath := fileio.Join(state, LockFile)
	first, _ := fileio.ReadFile(ctx, lockPath)
	_, err = Acquire(ctx, []string{state}, LockOptions{RunID: "B", StaleAfter: 250 * time.Millisecond})
	var held *HeldError
	if !errors.As(err, &held) || held.Stale || held.Holder.RunID != "A" || ExitCode(err) != ExitLocked {
		t.Fatalf("second Acquire = %v; want held by A", err)
	}
	// The holder refreshes the object (every StaleAfter/5 = 50ms; allow a loaded machine).
	refreshed := false
	for deadline := time.Now().Add(5 * time.Second); !refreshed && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		again, _ := fileio.ReadFile(ctx, lockPath)
		refreshed = len(again) > 0 && string(again) != string(first)
	}
	if !refreshed {
		t.Fatal("the lock was not refreshed")
	}
	if a.Err() != nil {
		t.Fatalf("a refreshed lock reports %v", a.Err())
	}
	// Seen from an hour later, A's lock is stale: refused without BreakStale …
	later := func() time.Time { return time.Now().Add(time.Hour) }
	_, err = Acquire(ctx, []string{state}, LockOptions{RunID: "C", StaleAfter: 250 * time.Millisecond, Now: later})
	if !errors.As(err, &held) || !held.Stale || ExitCode(err) != ExitStale || !strings.Contains(err.Error(), "--break_lock") {
		t.Fatalf("stale lock: %v (exit %d); want ExitStale naming --break_lock", err, ExitCode(err))
	}
	// … and broken with it; A then finds its lock lost and must not publish.
	c, err := Acquire(ctx, []string{state}, LockOptions{RunID: "C", StaleAfter: 250 * time.Millisecond, Now: later, BreakStale: true})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for a.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if a.Err() == nil {
		t.Fatal("the holder of a broken lock did not notice")
	}
	if _, err := Publish(ctx, &Run{ID: "A", Out: t.TempDir(), Dir: t.TempDir()}, a, time.Now()); err == nil {
		t.Fatal("a run that lost its lock published")
	}
	a.Release(ctx) // must not delete C's lock
	if ok, _ := fileio.Lookup(ctx, lockPath); !ok {
		t.Fatal("releasing a lost lock deleted the new holder's lock")
	}
	if err := c.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := fileio.Lookup(ctx, lockPath); ok || err != nil {
		t.Fatalf("released lock still there (%v)", err)
	}
}

func TestObjectLockTransientErrorIsNotFree(t *testing.T) {
	t.Cleanup(faultfs.Reset)
	ctx := context.Background()
	state := faultfs.URL(t.TempDir())
	a, err := Acquire(ctx, []string{state}, LockOptions{RunID: "A"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(ctx)
	faultfs.Inject(faultfs.Fault{Op: "read", Match: LockFile, Times: 1})
	_, err = Acquire(ctx, []string{state}, LockOptions{RunID: "B"})
	if err == nil || ExitCode(err) != 0 || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("Acquire while the holder cannot be read = %v; want the read error", err)
	}
}

// put writes files (relative path -> content) under dir.
func put(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		if err := fileio.WriteFile(context.Background(), fileio.Join(dir, p), []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := fileio.ReadFile(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func publishedFiles(t *testing.T, out string) (string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	m, err := Current(ctx, out)
	if err != nil || m == nil {
		t.Fatalf("Current = %v, %v", m, err)
	}
	got := map[string]string{}
	for _, f := range m.Files {
		got[f.Path] = read(t, m.Path(out, f.Path))
	}
	return m.RunID, got
}

func TestStagePublishRecover(t *testing.T) {
	ctx := context.Background()
	for name := range faultfs.Roots(t) {
		t.Run(name, func(t *testing.T) {
			r := faultfs.Roots(t)[name]
			out, state := fileio.Join(r, "out"), fileio.Join(r, "state")
			day := value.DayFromDate(2026, 6, 1)
			clock := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
			// An old-layout output and state temp files of a killed write.
			put(t, out, map[string]string{"customer_metrics/part-00000.parquet": "old layout", "run_summary.json": "old"})
			put(t, state, map[string]string{"segment_membership/b4/part-00000.parquet": "h0", "report_history.json": "r0"})
			if fileio.IsLocal(state) {
				os.WriteFile(filepath.Join(state, "segment_membership", "b4", ".part-00001.parquet.tmp-77"), []byte("x"), 0o644)
			}

			// Run 1 publishes.
			r1, err := Start(ctx, out, state, day, "20260601T020000Z-00000001", StartOptions{Legacy: []string{"customer_metrics", "run_summary.json"}, Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			if ok, _ := fileio.Lookup(ctx, fileio.Join(out, "run_summary.json")); ok {
				t.Fatal("legacy run_summary.json kept")
			}
			if ms, _ := filepath.Glob(filepath.Join(state, "segment_membership", "b4", ".*tmp*")); len(ms) != 0 {
				t.Fatalf("temporary files kept: %v", ms)
			}
			put(t, r1.Dir, map[string]string{"customer_metrics/part-00000.parquet": "c1", "run_summary.json": "s1"})
			put(t, r1.StateStage, map[string]string{"segment_membership/b4/part-00000.parquet": "h1"})
			hist, err := r1.StageStateFile(ctx, "report_history.json")
			if err != nil || read(t, hist) != "r0" {
				t.Fatalf("StageStateFile = %s, %v; want a copy of the current history", hist, err)
			}
			put(t, r1.StateStage, map[string]string{"report_history.json": "r1"})
			if m, _ := Current(ctx, out); m != nil {
				t.Fatalf("published before Publish: %v", m)
			}
			if read(t, fileio.Join(state, "segment_membership/b4/part-00000.parquet")) != "h0" {
				t.Fatal("staged state visible before publish")
			}
			m, err := Publish(ctx, r1, nil, clock.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			id, files := publishedFiles(t, out)
			if id != r1.ID || len(files) != 2 || files["customer_metrics/part-00000.parquet"] != "c1" || m.RunDate != "2026-06-01" {
				t.Fatalf("published %s %v", id, files)
			}
			if read(t, fileio.Join(state, "segment_membership/b4/part-00000.parquet")) != "h1" || read(t, fileio.Join(state, "report_history.json")) != "r1" {
				t.Fatal("state not moved into place at publish")
			}
			if fileio.IsLocal(out) {
				if b, err := os.ReadFile(filepath.Join(out, "current", "customer_metrics", "part-00000.parquet")); err != nil || string(b) != "c1" {
					t.Fatalf("out/current/customer_metrics: %q, %v", b, err)
				}
			}

			// Run 2 fails before publishing: run 1 stays published, state stays run 1's.
			r2, err := Start(ctx, out, state, day+1, "20260602T020000Z-00000002", StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			put(t, r2.Dir, map[string]string{"customer_metrics/part-00000.parquet": "c2-partial"})
			put(t, r2.StateStage, map[string]string{"segment_membership/b4/part-00000.parquet": "h2-partial"})
			if id, files := publishedFiles(t, out); id != r1.ID || files["customer_metrics/part-00000.parquet"] != "c1" {
				t.Fatalf("a failed run changed the published run: %s %v", id, files)
			}

			// Run 3 publishes, but is killed between the switch and the state move.
			r3, err := Start(ctx, out, state, day+1, "20260602T030000Z-00000003", StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, gone := range []string{r2.Dir, r2.StateStage} {
				if files, _ := fileio.ListTree(ctx, gone); len(files) != 0 {
					t.Fatalf("the failed run's %s was not removed: %v", gone, files)
				}
			}
			if read(t, fileio.Join(state, "segment_membership/b4/part-00000.parquet")) != "h1" {
				t.Fatal("the failed run's staged state reached the state folder")
			}
			put(t, r3.Dir, map[string]string{"customer_metrics/part-00000.parquet": "c3", "run_summary.json": "s3"})
			put(t, r3.StateStage, map[string]string{"segment_membership/b4/part-00000.parquet": "h3"})
			killAt := "publish.switched"
			fileio.SetHook(func(op, path string) {
				if op == killAt {
					panic(killAt)
				}
			})
			func() {
				defer func() { recover() }()
				Publish(ctx, r3, nil, clock)
			}()
			fileio.SetHook(nil)
			if id, _ := publishedFiles(t, out); id != r3.ID {
				t.Fatalf("published %s; want run 3", id)
			}
			if read(t, fileio.Join(state, "segment_membership/b4/part-00000.parquet")) != "h1" {
				t.Fatal("test setup: state moved although publish was stopped before it")
			}
			// The next start rolls run 3's state forward and keeps runs 3 and 1 only.
			r4, err := Start(ctx, out, state, day+2, "20260603T020000Z-00000004", StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if read(t, fileio.Join(state, "segment_membership/b4/part-00000.parquet")) != "h3" {
				t.Fatal("state of the published run 3 was not rolled forward")
			}
			ids, _ := runFolders(ctx, out)
			want := []string{r1.ID, r3.ID, "20260603T020000Z-00000004"}
			if !fileio.IsLocal(out) {
				want = []string{r1.ID, r3.ID} // an object store has no empty folders
			}
			if strings.Join(ids, ",") != strings.Join(want, ",") {
				t.Fatalf("run folders %v; want %v", ids, want)
			}
			if files, _ := fileio.ListTree(ctx, fileio.Join(state, StagingDir)); len(files) != 1 || !strings.HasSuffix(files[0].Path, stagingInfo) {
				t.Fatalf("state staging after start: %v; want only the new run's info", files)
			}
			// Publishing run 4 leaves runs 4 and 3.
			put(t, r4.Dir, map[string]string{"run_summary.json": "s4"})
			if _, err := Publish(ctx, r4, nil, clock); err != nil {
				t.Fatal(err)
			}
			if ids, _ := runFolders(ctx, out); strings.Join(ids, ",") != r3.ID+","+r4.ID {
				t.Fatalf("run folders after publishing run 4: %v", ids)
			}
		})
	}
}

func TestCheckRunDate(t *testing.T) {
	today := value.DayFromDate(2026, 12, 6)
	for _, c := range []struct {
		day value.Day
		ok  bool
	}{
		{value.DayFromDate(2026, 12, 6), true},
		{value.DayFromDate(2026, 12, 7), true}, // tomorrow: the next night's run date
		{value.DayFromDate(2026, 12, 8), false},
		{value.DayFromDate(2999, 1, 1), false},
		{value.DayFromDate(2020, 1, 1), true},
	} {
		if err := CheckRunDate(c.day, today); (err == nil) != c.ok {
			t.Errorf("CheckRunDate(%s) = %v; want ok=%v", c.day, err, c.ok)
		}
	}
}
