package main

// Black-box tests of a run's integrity (issue 15): they build the binary with
// -tags testhooks (testhooks.go: checkpoint log, SIGKILL at the Nth checkpoint, a hold
// after the lock is taken, the faultfs:// filesystem) and run it on a generated shop. The
// only coupling to the code is the checkpoint hook: fileio.Checkpoint is called before and
// after every file operation and at each publish step.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/deploy/portable"
	runpkg "github.com/audiencesync/audiencesync/pipelines/run"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/fileio/faultfs"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

const (
	day1 = "2026-06-01" // the previous complete run
	day2 = "2026-07-01" // the run that is killed, overlapped or faulted
)

type harness struct {
	t              *testing.T
	bin, data, tmp string // tmp: the runs' TMPDIR (a killed run's spill folder stays there)
}

func newHarness(t *testing.T) *harness {
	if testing.Short() {
		t.Skip("builds and runs the nightly binary dozens of times")
	}
	dir := t.TempDir()
	h := &harness{t: t, bin: filepath.Join(dir, "nightly"), data: filepath.Join(dir, "shop"), tmp: filepath.Join(dir, "tmp")}
	if err := os.Mkdir(h.tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"go", "build", "-tags", "testhooks", "-o", h.bin, "."},
		{"go", "run", "../../cmd/gensample", "-out", h.data, "-customers", "400", "-orders", "1600"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	return h
}

type result struct {
	code           int
	killed         bool
	stdout, stderr string
}

func (h *harness) cmd(out, state, asOf string, env ...string) *exec.Cmd {
	d := h.data
	c := exec.Command(h.bin, "--orders="+d+"/orders.csv", "--customers="+d+"/customers.csv",
		"--order_lines="+d+"/order_lines.csv", "--spend="+d+"/spend.csv", "--config=sample-config.yaml",
		"--output="+out, "--state_dir="+state, "--audiences=dry_run", "--buckets=4", "--as_of="+asOf)
	c.Env = append(append(os.Environ(), "TMPDIR="+h.tmp), env...)
	return c
}

func (h *harness) run(out, state, asOf string, env ...string) result {
	c := h.cmd(out, state, asOf, env...)
	var so, se bytes.Buffer
	c.Stdout, c.Stderr = &so, &se
	err := c.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			r.killed = true
		}
		r.code = ee.ExitCode()
	} else if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *harness) mustRun(out, state, asOf string, env ...string) result {
	h.t.Helper()
	r := h.run(out, state, asOf, env...)
	if r.code != 0 || r.killed {
		h.t.Fatalf("run %s: exit %d\n%s\n%s", asOf, r.code, r.stdout, r.stderr)
	}
	return r
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

// published is what a reader of <out>/current sees.
type published struct {
	runID, runDate string
	dir            string            // the run folder
	files          map[string]string // path -> sha256, files whose bytes do not depend on the clock
}

// volatile files carry timestamps or durations; they are checked for the run id and date.
func volatile(p string) bool {
	return p == runpkg.ManifestFile || p == "run_summary.json" || p == "report.html" || strings.HasPrefix(p, "sync_log/")
}

// readPublished reads the published run and checks it is one whole run: the manifest
// lists exactly the files of the run folder, and the summary, report and sync_log name the
// manifest's run id and date.
func readPublished(out string) (*published, error) {
	ctx := context.Background()
	m, err := runpkg.Current(ctx, out)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("nothing published")
	}
	dir := fileio.Join(out, m.Dir)
	if fileio.IsLocal(out) {
		if target, err := os.Readlink(filepath.Join(out, runpkg.CurrentLink)); err != nil || filepath.ToSlash(target) != m.Dir {
			return nil, fmt.Errorf("current -> %s (%v) holds the manifest of %s", target, err, m.RunID)
		}
	}
	onDisk, err := fileio.ListTree(ctx, dir)
	if err != nil {
		return nil, err
	}
	onDisk = slices.DeleteFunc(onDisk, func(f fileio.File) bool { return f.Path == runpkg.ManifestFile })
	if !slices.Equal(onDisk, m.Files) {
		return nil, fmt.Errorf("run %s: files on disk %v differ from its manifest %v", m.RunID, onDisk, m.Files)
	}
	var sum tables.Summary
	if b, err := fileio.ReadFile(ctx, fileio.Join(dir, "run_summary.json")); err != nil {
		return nil, err
	} else if err := json.Unmarshal(b, &sum); err != nil {
		return nil, err
	}
	if sum.RunID != m.RunID || sum.RunDate != m.RunDate || !sum.OK {
		return nil, fmt.Errorf("published summary says run %s of %s ok=%v; the manifest says run %s of %s", sum.RunID, sum.RunDate, sum.OK, m.RunID, m.RunDate)
	}
	if b, err := fileio.ReadFile(ctx, fileio.Join(dir, "report.html")); err != nil || !bytes.Contains(b, []byte(`data-run-date="`+m.RunDate+`"`)) {
		return nil, fmt.Errorf("report.html of run %s is missing or not of %s (%v)", m.RunID, m.RunDate, err)
	}
	logs, err := parquetio.ReadDir[tables.SyncLog](ctx, fileio.Join(dir, "sync_log"))
	if err != nil {
		return nil, err
	}
	for _, l := range logs {
		if value.Day(l.RunDate).String() != m.RunDate {
			return nil, fmt.Errorf("sync_log row of %s in run %s of %s", value.Day(l.RunDate), m.RunID, m.RunDate)
		}
	}
	p := &published{runID: m.RunID, runDate: m.RunDate, dir: dir, files: map[string]string{}}
	for _, f := range m.Files {
		if volatile(f.Path) {
			continue
		}
		b, err := fileio.ReadFile(ctx, fileio.Join(dir, f.Path))
		if err != nil {
			return nil, err
		}
		s := sha256.Sum256(b)
		p.files[f.Path] = hex.EncodeToString(s[:])
	}
	return p, nil
}

// sameRun reports whether a published run has exactly the files (and bytes) of want.
func sameRun(got, want *published) bool {
	if got.runDate != want.runDate || len(got.files) != len(want.files) {
		return false
	}
	for p, h := range want.files {
		if got.files[p] != h {
			return false
		}
	}
	return true
}

// readState is the state folder's content in a canonical form: the report history's
// bytes and the segment history's rows, sorted (a part's row order is not significant).
func readState(t *testing.T, state string) string {
	t.Helper()
	var b strings.Builder
	if h, err := os.ReadFile(filepath.Join(state, "report_history.json")); err == nil {
		b.Write(h)
	} else if !os.IsNotExist(err) {
		t.Fatal(err)
	}
	parts, _ := filepath.Glob(filepath.Join(state, "segment_membership", "b*", "part-*.parquet"))
	for _, p := range parts {
		rows, err := parquetio.ReadFile[tables.SegmentMembership](context.Background(), p)
		if err != nil {
			t.Fatalf("state part %s: %v", p, err)
		}
		lines := make([]string, len(rows))
		for i, r := range rows {
			lines[i] = fmt.Sprintf("%d,%s,%s,%s,%d", r.RunDate, r.CustomerID, r.Source, r.Segment, r.EnteredAt)
		}
		sort.Strings(lines)
		rel, _ := filepath.Rel(state, p)
		fmt.Fprintf(&b, "\n%s\n%s", rel, strings.Join(lines, "\n"))
	}
	return b.String()
}

// leftovers lists temporary files and unpublished state staging under root.
func leftovers(t *testing.T, root string) []string {
	var found []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if fileio.IsTemp(d.Name()) || (!d.IsDir() && strings.Contains(p, "/"+runpkg.StagingDir+"/")) {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// withPending is the state of work/state after the pending staging of run id is moved
// into place (on a copy).
func withPending(t *testing.T, work, id string) string {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "state")
	copyTree(t, filepath.Join(work, "state"), tmp)
	stage := filepath.Join(tmp, runpkg.StagingDir, id)
	files, err := fileio.ListTree(context.Background(), stage)
	if err != nil || len(files) == 0 {
		return "no pending state"
	}
	for _, f := range files {
		if strings.HasPrefix(f.Path, "_") {
			continue
		}
		dst := filepath.Join(tmp, f.Path)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.Rename(filepath.Join(stage, f.Path), dst); err != nil {
			t.Fatal(err)
		}
	}
	return readState(t, tmp)
}

func lastLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	for s := bufio.NewScanner(f); s.Scan(); {
		last = s.Text()
	}
	return last
}

func TestRunIntegrity(t *testing.T) {
	h := newHarness(t)
	root := t.TempDir()

	// The previous complete run, and a clean run of the next date from it (the reference).
	base := filepath.Join(root, "base")
	h.mustRun(base+"/out", base+"/state", day1)
	p1, err := readPublished(base + "/out")
	if err != nil {
		t.Fatal(err)
	}
	s1 := readState(t, base+"/state")
	ref := filepath.Join(root, "ref")
	copyTree(t, base, ref)
	h.mustRun(ref+"/out", ref+"/state", day2, "AUDIENCESYNC_TEST_CHECKPOINTS="+ref+"/checkpoints.log")
	p2, err := readPublished(ref + "/out")
	if err != nil {
		t.Fatal(err)
	}
	s2 := readState(t, ref+"/state")
	if p2.runDate != day2 || sameRun(p1, p2) || s1 == s2 {
		t.Fatal("test setup: the two run dates must give different outputs and state")
	}
	if l := leftovers(t, ref); len(l) != 0 {
		t.Fatalf("a clean run left %v", l)
	}

	t.Run("run date", func(t *testing.T) {
		work := filepath.Join(root, "far")
		copyTree(t, base, work)
		r := h.run(work+"/out", work+"/state", "2999-01-01")
		if r.code != 2 || !strings.Contains(r.stderr, "after tomorrow") {
			t.Errorf("--as_of=2999-01-01: exit %d, %s; want 2 and the reason", r.code, r.stderr)
		}
		if pub, err := readPublished(work + "/out"); err != nil || !sameRun(pub, p1) {
			t.Errorf("a refused run date changed the output: %+v %v", pub, err)
		}
	})
	t.Run("buckets", func(t *testing.T) { testBucketChanges(t, h, root, base, ref) })
	t.Run("kill", func(t *testing.T) { testKill(t, h, root, base, p1, p2, s1, s2, ref+"/checkpoints.log") })
	t.Run("overlap", func(t *testing.T) { testOverlap(t, h, root, base) })
	t.Run("sigterm", func(t *testing.T) { testTerminate(t, h, root, base, p1) })
	t.Run("faults", func(t *testing.T) { testFaults(t, h, root) })
}

// testKill SIGKILLs the run of day2 at checkpoints spread over the whole run, and reruns.
func testKill(t *testing.T, h *harness, root, base string, p1, p2 *published, s1, s2, refLog string) {
	var total int
	fmt.Sscan(lastLine(refLog), &total)
	if total < 50 {
		t.Fatalf("the reference run passed only %d checkpoints", total)
	}
	// 24 points spread evenly over the run, and every publish step (the manifest, the
	// pointer switch, each state file moved into place).
	const spread = 24
	var ns []int
	for i := 0; i < spread; i++ {
		ns = append(ns, 1+i*(total-1)/(spread-1))
	}
	f, err := os.Open(refLog)
	if err != nil {
		t.Fatal(err)
	}
	for s := bufio.NewScanner(f); s.Scan(); {
		var n int
		var op string
		fmt.Sscan(s.Text(), &n, &op)
		if strings.HasPrefix(op, "publish.") || op == "rename" || strings.HasSuffix(s.Text(), runpkg.ManifestFile) {
			ns = append(ns, n)
		}
	}
	f.Close()
	slices.Sort(ns)
	ns = slices.Compact(ns)
	kills := 0
	for _, n := range ns {
		work := filepath.Join(root, fmt.Sprintf("kill-%04d", n))
		copyTree(t, base, work)
		out, state := work+"/out", work+"/state"
		ck := work + "/checkpoints.log"
		r := h.run(out, state, day2, fmt.Sprintf("AUDIENCESYNC_TEST_KILL_AT=%d", n), "AUDIENCESYNC_TEST_CHECKPOINTS="+ck)
		at := strings.SplitN(lastLine(ck), " ", 2)
		where := strings.Join(at[1:], "")
		if !r.killed {
			t.Logf("checkpoint %d: the run ended first (exit %d)", n, r.code)
		} else {
			kills++
		}
		// Right after the kill: the previous run or the new one, whole; state to match.
		pub, err := readPublished(out)
		if err != nil {
			t.Fatalf("killed at %d (%s): the published run is broken: %v", n, where, err)
		}
		st := readState(t, state)
		seen := pub.runDate
		switch {
		case sameRun(pub, p1):
			if st != s1 {
				t.Errorf("killed at %d (%s): the previous run is published but the state changed", n, where)
			}
		case sameRun(pub, p2):
			// The state is the new run's, or becomes it when the staging the next start
			// rolls forward is applied (a kill while it was being moved into place).
			if st != s2 && withPending(t, work, pub.runID) != s2 {
				t.Errorf("killed at %d (%s): the new run is published but its state is neither in place nor pending", n, where)
			}
		default:
			t.Fatalf("killed at %d (%s): the published run %s (%s) is neither the previous nor the new run", n, where, pub.runID, pub.runDate)
		}
		// The rerun completes the new run; nothing of the killed one is left.
		h.mustRun(out, state, day2)
		pub, err = readPublished(out)
		if err != nil || !sameRun(pub, p2) {
			t.Fatalf("killed at %d (%s), rerun: published %+v (%v); want the run of %s", n, where, pub, err, day2)
		}
		if st := readState(t, state); st != s2 {
			t.Errorf("killed at %d (%s), rerun: the state differs from a clean run's", n, where)
		}
		if l := leftovers(t, work); len(l) != 0 {
			t.Errorf("killed at %d (%s), rerun: left %v", n, where, l)
		}
		runs, _ := os.ReadDir(filepath.Join(out, runpkg.RunsDir))
		if len(runs) > 2 {
			t.Errorf("killed at %d (%s), rerun: %d run folders; want the published run and the one before", n, where, len(runs))
		}
		t.Logf("checkpoint %4d of %d (%s): published %s after the kill; rerun ok", n, total, where, seen)
		os.RemoveAll(work)
	}
	if kills < 20 {
		t.Fatalf("only %d of %d runs were killed", kills, len(ns))
	}
}

// testOverlap starts a second run while one holds the lock.
func testOverlap(t *testing.T, h *harness, root, base string) {
	work := filepath.Join(root, "overlap")
	copyTree(t, base, work)
	out, state := work+"/out", work+"/state"
	hold := filepath.Join(root, "hold")
	os.WriteFile(hold, nil, 0o644)
	a := h.cmd(out, state, day2, "AUDIENCESYNC_TEST_HOLD="+hold)
	var aOut bytes.Buffer
	a.Stdout, a.Stderr = &aOut, &aOut
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	defer a.Process.Kill()
	var holder runpkg.Holder
	for deadline := time.Now().Add(2 * time.Minute); holder.PID != a.Process.Pid; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first run did not take the lock:\n%s", aOut.String())
		}
		b, _ := os.ReadFile(filepath.Join(state, runpkg.LockFile))
		json.Unmarshal(b, &holder)
	}
	// Same state and output; then another output on the same state; then another state
	// on the same output.
	for _, c := range [][2]string{{out, state}, {work + "/out2", state}, {out, work + "/state2"}} {
		r := h.run(c[0], c[1], day2)
		if r.code != runpkg.ExitLocked || !strings.Contains(r.stderr, "another run is in progress") ||
			!strings.Contains(r.stderr, fmt.Sprintf("pid %d", a.Process.Pid)) || !strings.Contains(r.stderr, holder.RunID) {
			t.Errorf("second run on %v: exit %d, stderr:\n%s\nwant exit %d naming run %s, pid %d", c, r.code, r.stderr, runpkg.ExitLocked, holder.RunID, a.Process.Pid)
		}
	}
	os.Remove(hold)
	if err := a.Wait(); err != nil {
		t.Fatalf("the first run: %v\n%s", err, aOut.String())
	}
	pub, err := readPublished(out)
	if err != nil || pub.runID != holder.RunID {
		t.Fatalf("published %+v (%v); want the first run %s", pub, err, holder.RunID)
	}
	h.mustRun(out, state, day2)
	if pub, err := readPublished(out); err != nil || pub.runID == holder.RunID {
		t.Fatalf("after the first run ended, a new run did not publish: %+v %v", pub, err)
	}
}

// testFaults puts the state and the output on faultfs:// (the object-store code paths:
// current.json, conditional lock objects, aborted writes) and injects transient errors:
// the run fails and publishes nothing, history is untouched, and a later run keeps every
// segment's entered_at.
func testFaults(t *testing.T, h *harness, root string) {
	work := filepath.Join(root, "faults")
	out, stateDir := faultfs.URL(work+"/out"), work+"/state"
	state := faultfs.URL(stateDir)
	h.mustRun(out, state, day1)
	p1, err := readPublished(out)
	if err != nil {
		t.Fatal(err)
	}
	s1 := readState(t, stateDir)
	for _, fault := range []string{
		"size:segment_membership/b4/part-00001.parquet:1000", // a history part's lookup
		"read:segment_membership/b4/part-00002.parquet:1000", // a history part's read
		"size:report_history.json:1000",                      // the report history's lookup
		"close:customer_metrics/part-00003.parquet:1000",     // a table's commit
	} {
		r := h.run(out, state, day2, faultfs.EnvFaults+"="+fault)
		if r.code != 1 || !strings.Contains(r.stderr, "injected transient error") {
			t.Errorf("fault %s: exit %d; want 1 naming the error\n%s", fault, r.code, r.stderr)
		}
		if pub, err := readPublished(out); err != nil || !sameRun(pub, p1) {
			t.Errorf("fault %s: the published run changed: %+v %v", fault, pub, err)
		}
		if readState(t, stateDir) != s1 {
			t.Errorf("fault %s: the state changed", fault)
		}
	}
	h.mustRun(out, state, day2)
	p2, err := readPublished(out)
	if err != nil || p2.runDate != day2 {
		t.Fatalf("after the faults: %+v %v", p2, err)
	}
	before := map[[3]string]int32{}
	after := map[[3]string]int32{}
	for _, m := range []struct {
		dir string
		dst map[[3]string]int32
	}{{p1.dir, before}, {p2.dir, after}} {
		rows, err := parquetio.ReadDir[tables.SegmentMembership](context.Background(), fileio.Join(m.dir, "segment_membership"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			m.dst[[3]string{r.CustomerID, r.Source, r.Segment}] = r.EnteredAt
		}
	}
	kept := 0
	for k, e := range after {
		if b, ok := before[k]; ok {
			if e != b {
				t.Fatalf("%v entered_at %s after the faulted runs; it was %s on %s: history was reset", k, value.Day(e), value.Day(b), day1)
			}
			kept++
		}
	}
	if kept == 0 {
		t.Fatal("test setup: no membership carried over from the first run")
	}
}

// testBucketChanges: segment history follows --buckets changes. After day1 at 4 buckets,
// day2 at 8 and day3 back at 4 give the same tables (entered_at included) as three runs at 4:
// day3 must read day2's layout, not the older one at its own bucket count.
func testBucketChanges(t *testing.T, h *harness, root, base, ref string) {
	const day3 = "2026-08-01"
	ctrl := filepath.Join(root, "buckets-ctrl")
	copyTree(t, ref, ctrl) // day1 and day2 at 4 buckets
	h.mustRun(ctrl+"/out", ctrl+"/state", day3)
	work := filepath.Join(root, "buckets")
	copyTree(t, base, work)
	for _, r := range []struct{ day, buckets string }{{day2, "8"}, {day3, "4"}} {
		c := h.cmd(work+"/out", work+"/state", r.day)
		c.Args = append(c.Args, "--buckets="+r.buckets)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("%s at %s buckets: %v\n%s", r.day, r.buckets, err, out)
		}
	}
	rep, err := portable.CompareDirs(ctrl+"/out/current", work+"/out/current", portable.Options{Ignore: portable.DefaultOptions().Ignore, Examples: 5, SkipFiles: portable.DefaultOptions().SkipFiles})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Equal() {
		t.Errorf("day3 after a change to 8 buckets and back differs from three runs at 4:\n%s", rep)
	}
	layouts, _ := filepath.Glob(work + "/state/segment_membership/b*")
	if len(layouts) != 1 || filepath.Base(layouts[0]) != "b4" {
		t.Errorf("history layouts left after the changes: %v, want only b4", layouts)
	}
}

// testTerminate: a run stopped by SIGTERM while its spill folder exists exits 143, removes
// the spill folder and releases the lock; the published run stays the previous one, and the
// next run starts cleanly (no "did not release its lock" warning) and publishes.
func testTerminate(t *testing.T, h *harness, root, base string, p1 *published) {
	work := filepath.Join(root, "sigterm")
	copyTree(t, base, work)
	out, state := work+"/out", work+"/state"
	tmp := filepath.Join(work, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	hold := filepath.Join(work, "hold")
	a, aOut := h.startHeld(t, out, state, hold, "spill.created", "TMPDIR="+tmp)
	spill := func() []string { m, _ := filepath.Glob(filepath.Join(tmp, "audiencesync-spill-*")); return m }
	for deadline := time.Now().Add(2 * time.Minute); len(spill()) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the run made no spill folder in %s:\n%s", tmp, aOut.String())
		}
	}
	if err := a.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := a.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Fatalf("after SIGTERM: %v, want exit 143\n%s", err, aOut.String())
	}
	if !strings.Contains(aOut.String(), "not published") {
		t.Errorf("no word that the run is not published:\n%s", aOut.String())
	}
	if m := spill(); len(m) != 0 {
		t.Errorf("SIGTERM left the spill folder %v", m)
	}
	if pub, err := readPublished(out); err != nil || !sameRun(pub, p1) {
		t.Errorf("the terminated run changed the published run: %+v %v", pub, err)
	}
	r := h.mustRun(out, state, day2)
	if strings.Contains(r.stderr, "without releasing its lock") {
		t.Errorf("the terminated run left its lock:\n%s", r.stderr)
	}
	if pub, err := readPublished(out); err != nil || pub.runDate != day2 {
		t.Errorf("the run after the terminated one did not publish: %+v %v", pub, err)
	}

	// A signal while the run publishes: the publish ends first (its state moved into place)
	// and the message says the run was published.
	work2 := filepath.Join(root, "sigterm-publish")
	copyTree(t, base, work2)
	out, state = work2+"/out", work2+"/state"
	b, bOut := h.startHeld(t, out, state, hold, "publish.switched", "TMPDIR="+tmp)
	before := readLink(out + "/current") // day1's run
	for deadline := time.Now().Add(2 * time.Minute); readLink(out+"/current") == before; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the run did not reach publish.switched:\n%s", bOut.String())
		}
	}
	if err := b.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the handler is waiting for the publish to end
	os.Remove(hold)
	err = b.Wait()
	if !errors.As(err, &ee) || ee.ExitCode() != 143 || !strings.Contains(bOut.String(), "the run was published before the signal") {
		t.Fatalf("SIGTERM during publish: %v, want exit 143 and the word that the run was published\n%s", err, bOut.String())
	}
	if pub, err := readPublished(out); err != nil || pub.runDate != day2 {
		t.Errorf("the run published during the signal is not the published run: %+v %v", pub, err)
	}
	if staged, _ := filepath.Glob(filepath.Join(state, runpkg.StagingDir, "*")); len(staged) != 0 {
		t.Errorf("the publish did not finish before the exit: state staging left %v", staged)
	}
}

// startHeld starts the run of day2 that holds at checkpoint op while the file hold exists
// (it makes it); the process is killed at the end of the test if still running.
func (h *harness) startHeld(t *testing.T, out, state, hold, op string, env ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	if err := os.WriteFile(hold, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := h.cmd(out, state, day2, append(env, "AUDIENCESYNC_TEST_HOLD="+hold, "AUDIENCESYNC_TEST_HOLD_OP="+op)...)
	var buf bytes.Buffer
	c.Stdout, c.Stderr = &buf, &buf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill() })
	return c, &buf
}

// readLink is the target of a symbolic link, "" when there is none.
func readLink(p string) string {
	s, _ := os.Readlink(p)
	return s
}
