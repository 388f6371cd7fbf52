package audience_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/value"
)

const aud = "loyal"

func member(i int) audience.Member {
	return audience.Member{Key: fmt.Sprintf("k%05d", i), Email: fmt.Sprintf("e%05d", i)}
}

func members(ids ...int) []audience.Member {
	out := make([]audience.Member, len(ids))
	for i, id := range ids {
		out[i] = member(id)
	}
	return out
}

func span(from, to int) []int { // [from, to)
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func keys(ms []audience.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Key
	}
	return out
}

func keysOf(ids ...int) []string { return keys(members(ids...)) }

func job(date string, ms []audience.Member) audience.Job {
	return audience.Job{Audience: aud, RunDate: date, Members: ms}
}

func mustSync(t *testing.T, d audience.Destination, s audience.StateStore, j audience.Job, o audience.Options) (log struct {
	Status         string
	Added, Removed int64
	Members        int64
}) {
	t.Helper()
	l, err := audience.Sync(context.Background(), d, s, j, o)
	if err != nil {
		t.Fatalf("sync %s: %v", j.RunDate, err)
	}
	log.Status, log.Added, log.Removed, log.Members = l.Status, l.Added, l.Removed, l.Members
	return log
}

func loadState(t *testing.T, s audience.StateStore, platform string) (audience.State, bool) {
	t.Helper()
	st, found, err := s.Load(context.Background(), aud, platform)
	if err != nil {
		t.Fatal(err)
	}
	return st, found
}

func TestFirstSyncCreates(t *testing.T) {
	d, s := newFake("yandex"), &audience.FileStore{Dir: t.TempDir()}
	l := mustSync(t, d, s, job("2026-11-01", members(span(0, 10)...)), audience.Options{})
	if l.Status != "processed" || l.Added != 10 || l.Removed != 0 || l.Members != 10 {
		t.Errorf("log = %+v", l)
	}
	if d.created != 1 || len(d.calls) != 1 {
		t.Fatalf("created %d audiences in %d calls, want 1 in 1", d.created, len(d.calls))
	}
	c := d.calls[0]
	if c.RemoteID != "" || len(c.All) != 10 || len(c.Add) != 10 || len(c.Remove) != 0 || c.Mode != audience.ModeIncremental {
		t.Errorf("creation request = %+v", c)
	}
	if got := d.remoteKeys(aud); !slices.Equal(got, keysOf(span(0, 10)...)) {
		t.Errorf("remote = %v", got)
	}
	st, found := loadState(t, s, "yandex")
	if !found || st.RemoteID != "seg-1" || st.RunDate != "2026-11-01" || !slices.Equal(keys(st.Members), keysOf(span(0, 10)...)) {
		t.Errorf("state = %+v, found %v", st, found)
	}
	if len(d.bad) > 0 {
		t.Errorf("contract violations: %v", d.bad)
	}
}

func TestSecondSyncSendsOnlyDiffAndRerunSendsNothing(t *testing.T) {
	d, s := newFake("vk"), &audience.FileStore{Dir: t.TempDir()}
	mustSync(t, d, s, job("2026-11-01", members(span(0, 10)...)), audience.Options{})
	// Day 2: 0 and 1 left, 10 and 11 joined.
	l := mustSync(t, d, s, job("2026-11-02", members(span(2, 12)...)), audience.Options{})
	if l.Added != 2 || l.Removed != 2 || l.Members != 10 {
		t.Errorf("day 2 log = %+v", l)
	}
	c := d.calls[1]
	if c.RemoteID != "seg-1" || c.All != nil || !slices.Equal(keys(c.Add), keysOf(10, 11)) || !slices.Equal(keys(c.Remove), keysOf(0, 1)) {
		t.Errorf("day 2 request: remote %q add %v remove %v all %d", c.RemoteID, keys(c.Add), keys(c.Remove), len(c.All))
	}
	if got := d.remoteKeys(aud); !slices.Equal(got, keysOf(span(2, 12)...)) {
		t.Errorf("remote = %v", got)
	}
	// Rerun of day 2 and an unchanged day 3: nothing sent.
	for _, date := range []string{"2026-11-02", "2026-11-03"} {
		l := mustSync(t, d, s, job(date, members(span(2, 12)...)), audience.Options{})
		if l.Status != audience.StatusUnchanged || l.Added != 0 || l.Removed != 0 {
			t.Errorf("%s: log = %+v", date, l)
		}
	}
	if len(d.calls) != 2 {
		t.Errorf("%d calls, want 2", len(d.calls))
	}
	if d.created != 1 || len(d.bad) > 0 {
		t.Errorf("created %d, violations %v", d.created, d.bad)
	}
}

func TestTransientFailuresConverge(t *testing.T) {
	d, s := newFake("meta"), &audience.FileStore{Dir: t.TempDir()}
	d.failRate, d.rng = 0.1, rand.New(rand.NewPCG(1, 2))
	change := rand.New(rand.NewPCG(3, 4))
	today := map[int]bool{}
	for i := 0; i < 200; i++ {
		today[i] = true
	}
	next := 200
	for night := 1; night <= 40; night++ {
		if night > 1 { // about 5% leave, 5% join
			for id := range today {
				if change.IntN(20) == 0 {
					delete(today, id)
				}
			}
			for k := 0; k < 10; k++ {
				today[next] = true
				next++
			}
		}
		var ids []int
		for id := range today {
			ids = append(ids, id)
		}
		date := value.Day(20400 + night).String()
		var err error
		for attempt := 0; attempt < 30; attempt++ {
			if _, err = audience.Sync(context.Background(), d, s, job(date, members(ids...)), audience.Options{}); err == nil {
				break
			}
			if !errors.Is(err, errTransient) {
				t.Fatalf("night %d: unexpected error %v", night, err)
			}
		}
		if err != nil {
			t.Fatalf("night %d: still failing: %v", night, err)
		}
		slices.Sort(ids)
		want := keysOf(ids...)
		if got := d.remoteKeys(aud); !slices.Equal(got, want) {
			t.Fatalf("night %d: remote has %d members, want %d", night, len(got), len(want))
		}
		if st, _ := loadState(t, s, "meta"); !slices.Equal(keys(st.Members), want) {
			t.Fatalf("night %d: state differs from remote", night)
		}
	}
	if d.failures < 3 {
		t.Errorf("only %d injected failures: the test did not exercise retries", d.failures)
	}
	if d.created != 1 || len(d.bad) > 0 {
		t.Errorf("created %d audiences, contract violations %v", d.created, d.bad)
	}
}

// failingStore fails Save a number of times, like a crash between upload and state write.
type failingStore struct {
	audience.StateStore
	fails int
}

func (f *failingStore) Save(ctx context.Context, a, p string, st audience.State) error {
	if f.fails > 0 {
		f.fails--
		return errors.New("disk gone")
	}
	return f.StateStore.Save(ctx, a, p, st)
}

func TestCrashBetweenUploadAndStateWriteConverges(t *testing.T) {
	d, fs := newFake("google"), &audience.FileStore{Dir: t.TempDir()}
	crashy := &failingStore{StateStore: fs, fails: 1}
	// Crash on the very first (creating) sync, then on a later diff.
	if _, err := audience.Sync(context.Background(), d, crashy, job("2026-11-01", members(span(0, 10)...)), audience.Options{}); err == nil {
		t.Fatal("want an error when the state cannot be saved")
	}
	if _, found := loadState(t, fs, "google"); found {
		t.Fatal("state written although saving failed")
	}
	mustSync(t, d, crashy, job("2026-11-01", members(span(0, 10)...)), audience.Options{})
	if d.created != 1 {
		t.Fatalf("created %d audiences, want 1 (the rerun must reuse the crashed creation)", d.created)
	}

	crashy.fails = 1
	day2 := func() []audience.Member { return members(span(3, 13)...) }
	l, err := audience.Sync(context.Background(), d, crashy, job("2026-11-02", day2()), audience.Options{})
	if err == nil || l.Status != audience.StatusFailed || !strings.Contains(l.Error, "applied") {
		t.Fatalf("crash: status %q error %v", l.Status, err)
	}
	if st, _ := loadState(t, fs, "google"); st.RunDate != "2026-11-01" {
		t.Fatalf("state moved on to %s after a failed save", st.RunDate)
	}
	mustSync(t, d, crashy, job("2026-11-02", day2()), audience.Options{})
	n := len(d.calls)
	first, rerun := d.calls[n-2], d.calls[n-1]
	if !slices.Equal(keys(first.Add), keys(rerun.Add)) || !slices.Equal(keys(first.Remove), keys(rerun.Remove)) || first.BatchID != rerun.BatchID {
		t.Errorf("rerun sent a different diff: %v/%v vs %v/%v", keys(first.Add), keys(first.Remove), keys(rerun.Add), keys(rerun.Remove))
	}
	if !slices.Equal(keys(rerun.Add), keysOf(10, 11, 12)) || !slices.Equal(keys(rerun.Remove), keysOf(0, 1, 2)) {
		t.Errorf("rerun diff: add %v remove %v", keys(rerun.Add), keys(rerun.Remove))
	}
	if got := d.remoteKeys(aud); !slices.Equal(got, keysOf(span(3, 13)...)) {
		t.Errorf("remote = %v", got)
	}
	if st, _ := loadState(t, fs, "google"); st.RunDate != "2026-11-02" || !slices.Equal(keys(st.Members), keysOf(span(3, 13)...)) {
		t.Errorf("state = %s %v", st.RunDate, keys(st.Members))
	}
	// And a third run has nothing left to send.
	if l := mustSync(t, d, crashy, job("2026-11-02", day2()), audience.Options{}); l.Status != audience.StatusUnchanged {
		t.Errorf("third run: %+v", l)
	}
	if len(d.bad) > 0 {
		t.Errorf("contract violations %v", d.bad)
	}
}

func TestRemovalGuard(t *testing.T) {
	d, s := newFake("yandex"), &audience.FileStore{Dir: t.TempDir()}
	mustSync(t, d, s, job("2026-11-01", members(span(0, 10)...)), audience.Options{})
	calls := len(d.calls)

	// 6 of 10 removed = 60% > 50%: guarded.
	l, err := audience.Sync(context.Background(), d, s, job("2026-11-02", members(span(0, 4)...)), audience.Options{})
	if !errors.Is(err, audience.ErrGuarded) || l.Status != audience.StatusGuarded {
		t.Fatalf("status %q err %v, want guarded", l.Status, err)
	}
	if !strings.Contains(l.Error, "remove 6 of 10") || l.Added != 0 || l.Removed != 0 {
		t.Errorf("guarded log = %+v", l)
	}
	if len(d.calls) != calls {
		t.Error("guarded sync sent something")
	}
	if st, _ := loadState(t, s, "yandex"); st.RunDate != "2026-11-01" || len(st.Members) != 10 {
		t.Errorf("guarded sync changed the state: %s, %d members", st.RunDate, len(st.Members))
	}
	// Everyone gone (an empty upstream day) trips it too.
	if _, err := audience.Sync(context.Background(), d, s, job("2026-11-02", nil), audience.Options{}); !errors.Is(err, audience.ErrGuarded) {
		t.Errorf("empty audience: err %v, want guarded", err)
	}
	// An older run date would roll the audience back: guarded unless forced.
	if l, err := audience.Sync(context.Background(), d, s, job("2026-10-31", members(span(0, 9)...)), audience.Options{}); !errors.Is(err, audience.ErrGuarded) || !strings.Contains(l.Error, "later than 2026-10-31") {
		t.Errorf("older run date: err %v", err)
	}
	// --force overrides.
	l2 := mustSync(t, d, s, job("2026-11-02", members(span(0, 4)...)), audience.Options{Force: true})
	if l2.Removed != 6 || !slices.Equal(d.remoteKeys(aud), keysOf(span(0, 4)...)) {
		t.Errorf("forced sync: %+v, remote %v", l2, d.remoteKeys(aud))
	}
	// Exactly half is allowed: 4 → 2.
	mustSync(t, d, s, job("2026-11-03", members(0, 1)), audience.Options{})

	// A per-audience override: 20% allowed, 30% not.
	d2, s2 := newFake("vk"), &audience.FileStore{Dir: t.TempDir()}
	share := 0.2
	cfg := audience.Config{Name: aud, MaxRemoveShare: &share}
	mustSync(t, d2, s2, cfg.Job("2026-11-01", members(span(0, 10)...)), audience.Options{})
	mustSync(t, d2, s2, cfg.Job("2026-11-02", members(span(2, 10)...)), audience.Options{})
	if _, err := audience.Sync(context.Background(), d2, s2, cfg.Job("2026-11-03", members(span(4, 10)...)), audience.Options{}); !errors.Is(err, audience.ErrGuarded) {
		t.Errorf("2 of 8 = 25%% > 20%%: err %v, want guarded", err)
	}
}

func TestReplaceModeSendsAll(t *testing.T) {
	d, s := newFake("meta"), &audience.FileStore{Dir: t.TempDir()}
	j := job("2026-11-01", members(span(0, 10)...))
	j.Mode = audience.ModeReplace
	mustSync(t, d, s, j, audience.Options{})
	j = job("2026-11-02", members(span(1, 11)...))
	j.Mode = audience.ModeReplace
	l := mustSync(t, d, s, j, audience.Options{})
	c := d.calls[1]
	if c.Mode != audience.ModeReplace || c.RemoteID != "seg-1" || !slices.Equal(keys(c.All), keysOf(span(1, 11)...)) {
		t.Errorf("replace request: mode %s remote %s all %v", c.Mode, c.RemoteID, keys(c.All))
	}
	if l.Added != 1 || l.Removed != 1 || !slices.Equal(d.remoteKeys(aud), keysOf(span(1, 11)...)) {
		t.Errorf("log %+v remote %v", l, d.remoteKeys(aud))
	}
}

func TestDryRun(t *testing.T) {
	d, s, out := newFake("yandex"), &audience.FileStore{Dir: t.TempDir()}, t.TempDir()
	dir := filepath.Join(out, "dry_run", "yandex", aud)
	// A stale file of an earlier dry run must not survive.
	if err := audience.WritePayloadFile(dir, "stale.csv", []byte("x")); err != nil {
		t.Fatal(err)
	}
	l, err := audience.Sync(context.Background(), d, s, job("2026-11-01", members(span(0, 10)...)), audience.Options{DryRun: true, OutDir: out})
	if err != nil || l.Status != audience.StatusDryRun || !l.DryRun || l.Added != 10 || l.Sent != 20 {
		t.Fatalf("dry run: %+v, %v", l, err)
	}
	if len(d.calls) != 0 || len(d.dryRuns) != 1 {
		t.Fatalf("dry run sent %d requests, wrote %d payload sets", len(d.calls), len(d.dryRuns))
	}
	if _, found := loadState(t, s, "yandex"); found {
		t.Error("dry run saved state")
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	if !slices.Equal(names, []string{"add.csv", "all.csv", "diff.json"}) {
		t.Errorf("dry-run files = %v", names)
	}
	var rep map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "diff.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("diff.json: %v %s", err, b)
	}
	if rep["members"] != 10.0 || rep["add"] != 10.0 || rep["remove"] != 0.0 || rep["create"] != true || rep["status"] != "dry_run" || rep["batch_id"] != audience.BatchID("2026-11-01", aud, "yandex") {
		t.Errorf("diff.json = %s", b)
	}
}

func TestStateRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := &audience.FileStore{Dir: dir}
	if _, found, err := s.Load(ctx, aud, "vk"); found || err != nil {
		t.Fatalf("missing state: found %v err %v", found, err)
	}
	in := audience.State{RemoteID: "12345", RunDate: "2026-11-05", Members: []audience.Member{
		{Key: "b", Email: "eb", Phone: "pb"},
		{Key: "a", Email: "ea", ExternID: "x1"},
		{Key: "c", Phone: "pc"},
		{Key: "a", Email: "ea", ExternID: "x1"},
	}}
	if err := s.Save(ctx, aud, "vk", in); err != nil {
		t.Fatal(err)
	}
	got, found, err := s.Load(ctx, aud, "vk")
	want := audience.State{RemoteID: "12345", RunDate: "2026-11-05", Members: []audience.Member{
		{Key: "a", Email: "ea", ExternID: "x1"},
		{Key: "b", Email: "eb", Phone: "pb"},
		{Key: "c", Phone: "pc"},
	}}
	if err != nil || !found || got.RemoteID != want.RemoteID || got.RunDate != want.RunDate || !slices.Equal(got.Members, want.Members) {
		t.Fatalf("round trip: %+v found %v err %v", got, found, err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, aud))
	if len(entries) != 1 || entries[0].Name() != "vk.parquet" {
		t.Errorf("state folder holds %v, want only vk.parquet (no temp files)", entries)
	}
	// Empty audience round trip.
	if err := s.Save(ctx, aud, "meta", audience.State{RemoteID: "m1", RunDate: "2026-11-05"}); err != nil {
		t.Fatal(err)
	}
	if st, found, err := s.Load(ctx, aud, "meta"); err != nil || !found || st.RemoteID != "m1" || len(st.Members) != 0 {
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
}

func TestDiff(t *testing.T) {
	add, remove := audience.Diff(members(1, 2, 4, 7), members(2, 3, 4, 8, 9))
	if !slices.Equal(keys(add), keysOf(3, 8, 9)) || !slices.Equal(keys(remove), keysOf(1, 7)) {
		t.Errorf("add %v remove %v", keys(add), keys(remove))
	}
	add, remove = audience.Diff(nil, members(1))
	if !slices.Equal(keys(add), keysOf(1)) || remove != nil {
		t.Errorf("from empty: add %v remove %v", keys(add), keys(remove))
	}
	ms := members(5, 1, 5, 3)
	if got := audience.NormaliseMembers(ms); !slices.Equal(keys(got), keysOf(1, 3, 5)) {
		t.Errorf("normalise = %v", keys(got))
	}
}

func TestBatchID(t *testing.T) {
	a := audience.BatchID("2026-11-01", "loyal", "vk")
	if len(a) != 16 || a != audience.BatchID("2026-11-01", "loyal", "vk") {
		t.Errorf("batch id %q not stable", a)
	}
	for _, o := range []string{audience.BatchID("2026-11-02", "loyal", "vk"), audience.BatchID("2026-11-01", "loyal2", "vk"), audience.BatchID("2026-11-01", "loyal", "meta")} {
		if o == a {
			t.Errorf("batch id does not depend on every input")
		}
	}
}

func TestBadJob(t *testing.T) {
	d, s := newFake("vk"), &audience.FileStore{Dir: t.TempDir()}
	l, err := audience.Sync(context.Background(), d, s, job("01.11.2026", members(1)), audience.Options{})
	if err == nil || l.Status != audience.StatusFailed {
		t.Errorf("bad date: %+v %v", l, err)
	}
	if _, err := audience.Sync(context.Background(), d, s, job("2026-11-01", members(1)), audience.Options{DryRun: true}); err == nil {
		t.Error("dry run without an output folder accepted")
	}
	l, err = audience.Sync(context.Background(), d, s, job("2026-11-01", nil), audience.Options{})
	if err != nil || l.Status != audience.StatusEmpty || len(d.calls) != 0 {
		t.Errorf("empty first audience: %+v %v", l, err)
	}
}

func benchMembers(n int) []audience.Member {
	out := make([]audience.Member, n)
	for i := range out {
		out[i] = audience.Member{
			Key:   fmt.Sprintf("%032x", uint64(i)*0x9e3779b97f4a7c15),
			Email: fmt.Sprintf("%064x", uint64(i)*31),
			Phone: fmt.Sprintf("%064x", uint64(i)*37),
		}
	}
	return out
}

// BenchmarkStateSaveLoad100k saves and loads the state of a 100,000-member audience.
func BenchmarkStateSaveLoad100k(b *testing.B) {
	s := &audience.FileStore{Dir: b.TempDir()}
	st := audience.State{RemoteID: "1", RunDate: "2026-11-01", Members: audience.NormaliseMembers(benchMembers(100_000))}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Save(ctx, aud, "vk", st); err != nil {
			b.Fatal(err)
		}
		if _, _, err := s.Load(ctx, aud, "vk"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiff1M diffs two 1,000,000-member audiences that differ by about 2%.
func BenchmarkDiff1M(b *testing.B) {
	all := audience.NormaliseMembers(benchMembers(1_020_000))
	prev, today := all[:1_000_000], all[20_000:]
	b.ReportAllocs()
	for b.Loop() {
		audience.Diff(prev, today)
	}
}
