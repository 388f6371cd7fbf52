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

// e and p are the e-mail and phone identifiers of number i (synthetic hashes: the core never
// looks inside a hash).
func e(i int) audience.Identifier {
	return audience.Identifier{Type: audience.TypeEmail, Hash: fmt.Sprintf("%064x", i)}
}
func p(i int) audience.Identifier {
	return audience.Identifier{Type: audience.TypePhone, Hash: fmt.Sprintf("%064x", i)}
}

// emails returns the e-mails of [from, to).
func emails(from, to int) []audience.Identifier {
	var out []audience.Identifier
	for i := from; i < to; i++ {
		out = append(out, e(i))
	}
	return out
}

func set(ids ...audience.Identifier) []audience.Identifier {
	return audience.NormaliseIdentifiers(slices.Clone(ids))
}

func day(d string) value.Day {
	v, err := value.ParseDay(d)
	if err != nil {
		panic(err)
	}
	return v
}

func job(date string, ids []audience.Identifier) audience.Job {
	return audience.Job{Target: audience.Target{Audience: aud, Platform: "yandex"}, RunDate: day(date), Identifiers: slices.Clone(ids)}
}

type logRow struct {
	Status         string
	Added, Removed int64
	Members        int64
}

func mustSync(t *testing.T, d *fakeDest, s audience.StateStore, j audience.Job, o audience.Options) logRow {
	t.Helper()
	j.Platform = d.platform
	l, err := audience.Sync(context.Background(), d, s, j, o)
	if err != nil {
		t.Fatalf("sync %s: %v", j.RunDate, err)
	}
	return logRow{l.Status, l.Added, l.Removed, l.Members}
}

func trySync(d *fakeDest, s audience.StateStore, j audience.Job, o audience.Options) (logRow, error) {
	j.Platform = d.platform
	l, err := audience.Sync(context.Background(), d, s, j, o)
	return logRow{l.Status, l.Added, l.Removed, l.Members}, err
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
	l := mustSync(t, d, s, job("2026-11-01", emails(0, 10)), audience.Options{})
	if l != (logRow{"ok", 10, 0, 10}) {
		t.Errorf("log = %+v", l)
	}
	if d.created != 1 || len(d.calls) != 1 {
		t.Fatalf("created %d audiences in %d calls, want 1 in 1", d.created, len(d.calls))
	}
	c := d.calls[0]
	if !c.Create || c.RemoteID != "" || len(c.All) != 10 || len(c.Add) != 10 || len(c.Remove) != 0 || c.Mode != audience.ModeIncremental {
		t.Errorf("creation request = %+v", c)
	}
	if got := d.remote(aud); !slices.Equal(got, emails(0, 10)) {
		t.Errorf("remote = %v", got)
	}
	st, found := loadState(t, s, "yandex")
	if !found || st.RemoteID != "seg-1" || st.RunDate != day("2026-11-01") || !slices.Equal(st.Confirmed, emails(0, 10)) || len(st.Pending) != 0 {
		t.Errorf("state = %+v, found %v", st, found)
	}
	if len(d.bad) > 0 {
		t.Errorf("contract violations: %v", d.bad)
	}
}

func TestSecondSyncSendsOnlyDiffAndRerunSendsNothing(t *testing.T) {
	d, s := newFake("vk"), &audience.FileStore{Dir: t.TempDir()}
	mustSync(t, d, s, job("2026-11-01", emails(0, 10)), audience.Options{})
	// Day 2: 0 and 1 left, 10 and 11 joined.
	if l := mustSync(t, d, s, job("2026-11-02", emails(2, 12)), audience.Options{}); l != (logRow{"ok", 2, 2, 10}) {
		t.Errorf("day 2 log = %+v", l)
	}
	c := d.calls[1]
	if c.Create || c.RemoteID != "seg-1" || !slices.Equal(c.Add, set(e(10), e(11))) || !slices.Equal(c.Remove, set(e(0), e(1))) {
		t.Errorf("day 2 request: remote %q add %v remove %v", c.RemoteID, c.Add, c.Remove)
	}
	if got := d.remote(aud); !slices.Equal(got, emails(2, 12)) {
		t.Errorf("remote = %v", got)
	}
	// Rerun of day 2 and an unchanged day 3: nothing sent.
	for _, date := range []string{"2026-11-02", "2026-11-03"} {
		if l := mustSync(t, d, s, job(date, emails(2, 12)), audience.Options{}); l != (logRow{"unchanged", 0, 0, 10}) {
			t.Errorf("%s: log = %+v", date, l)
		}
	}
	if len(d.calls) != 2 || d.created != 1 || len(d.bad) > 0 {
		t.Errorf("%d calls (want 2), created %d, violations %v", len(d.calls), d.created, d.bad)
	}
}

// TestSharedIdentifiers is the A/B/C/D case: A and B share an e-mail, C and D a phone; B and
// D revoke consent. Worked by hand: today's identifiers are A's e-mail (= B's), A's phone,
// C's e-mail and C's phone (= D's); B's phone and D's e-mail are carried by nobody any more,
// so exactly those two are removed and nothing is added.
func TestSharedIdentifiers(t *testing.T) {
	shared, aPhone, bPhone := e(1), p(10), p(20)
	cEmail, dEmail, sharedPhone := e(30), e(40), p(2)
	a := []audience.Identifier{shared, aPhone}
	b := []audience.Identifier{shared, bPhone}
	c := []audience.Identifier{cEmail, sharedPhone}
	dd := []audience.Identifier{dEmail, sharedPhone}
	for _, mode := range []audience.Mode{audience.ModeIncremental, audience.ModeReplace} {
		t.Run(string(mode), func(t *testing.T) {
			d, s := newFake("meta"), &audience.FileStore{Dir: t.TempDir()}
			j := job("2026-11-01", slices.Concat(a, b, c, dd))
			j.Mode = mode
			if l := mustSync(t, d, s, j, audience.Options{}); l.Members != 6 {
				t.Fatalf("day 1: %d identifiers, want 6 (shared ones once)", l.Members)
			}
			j = job("2026-11-02", slices.Concat(a, c))
			j.Mode = mode
			l := mustSync(t, d, s, j, audience.Options{})
			if l != (logRow{"ok", 0, 2, 4}) {
				t.Errorf("day 2 log = %+v", l)
			}
			if last := d.calls[len(d.calls)-1]; !slices.Equal(last.Remove, set(bPhone, dEmail)) || len(last.Add) != 0 {
				t.Errorf("plan: add %v remove %v, want remove only B's phone and D's e-mail", last.Add, last.Remove)
			}
			if got, want := d.remote(aud), set(shared, aPhone, cEmail, sharedPhone); !slices.Equal(got, want) {
				t.Errorf("remote %v, want %v", got, want)
			}
		})
	}
}

func TestTransientFailuresConverge(t *testing.T) {
	d, s := newFake("meta"), &audience.FileStore{Dir: t.TempDir()}
	d.failRate, d.rng = 0.15, rand.New(rand.NewPCG(1, 2))
	change := rand.New(rand.NewPCG(3, 4))
	today := map[int]bool{}
	for i := 0; i < 200; i++ {
		today[i] = true
	}
	next := 200
	for night := 1; night <= 40; night++ {
		if night > 1 { // about 5% leave, 10 join
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
		var ids []audience.Identifier
		for id := range today {
			ids = append(ids, e(id), p(id))
		}
		date := value.Day(20400 + night).String()
		var err error
		for attempt := 0; attempt < 30; attempt++ {
			if _, err = trySync(d, s, job(date, ids), audience.Options{}); err == nil {
				break
			}
			if !errors.Is(err, errTransient) {
				t.Fatalf("night %d: unexpected error %v", night, err)
			}
		}
		if err != nil {
			t.Fatalf("night %d: still failing: %v", night, err)
		}
		want := set(ids...)
		if got := d.remote(aud); !slices.Equal(got, want) {
			t.Fatalf("night %d: remote has %d identifiers, want %d", night, len(got), len(want))
		}
		if st, _ := loadState(t, s, "meta"); !slices.Equal(st.Confirmed, want) || len(st.Pending) != 0 {
			t.Fatalf("night %d: state (%d confirmed, %d pending) differs from remote", night, len(st.Confirmed), len(st.Pending))
		}
	}
	if d.failures < 5 {
		t.Errorf("only %d injected failures: the test did not exercise retries", d.failures)
	}
	if d.created != 1 || len(d.bad) > 0 {
		t.Errorf("created %d audiences, contract violations %v", d.created, d.bad)
	}
}

// A failure after the first of two steps: the confirmed step is recorded, the failed one
// becomes pending, and the next run sends only what is not confirmed.
func TestFailureRecordsWhatWasConfirmed(t *testing.T) {
	d, s := newFake("google"), &audience.FileStore{Dir: t.TempDir()}
	mustSync(t, d, s, job("2026-11-01", emails(0, 10)), audience.Options{})
	d.failStep = 2 // the removal is applied, its answer lost
	l, err := trySync(d, s, job("2026-11-02", emails(3, 13)), audience.Options{})
	if err == nil || l.Status != "failed" || l.Added != 3 || l.Removed != 0 {
		t.Fatalf("failed sync: %+v, %v (want 3 confirmed added, no removal confirmed)", l, err)
	}
	st, _ := loadState(t, s, "google")
	if !slices.Equal(st.Confirmed, emails(3, 13)) || !slices.Equal(st.Pending, emails(0, 3)) {
		t.Errorf("state: confirmed %v pending %v", st.Confirmed, st.Pending)
	}
	// The rerun re-sends the removal of 0-2 (unknown whether applied) and nothing else.
	mustSync(t, d, s, job("2026-11-02", emails(3, 13)), audience.Options{})
	last := d.calls[len(d.calls)-1]
	if len(last.Add) != 0 || !slices.Equal(last.Remove, emails(0, 3)) {
		t.Errorf("rerun: add %v remove %v", last.Add, last.Remove)
	}
	if st, _ := loadState(t, s, "google"); !slices.Equal(st.Confirmed, emails(3, 13)) || len(st.Pending) != 0 {
		t.Errorf("state after rerun: %+v", st)
	}
}

// "Still processing" is not a confirmation: nothing becomes confirmed, everything sent is
// pending, and the next run sends it again, including an identifier whose removal was not
// confirmed and which is back today.
func TestProcessingIsNotConfirmation(t *testing.T) {
	d, s := newFake("yandex"), &audience.FileStore{Dir: t.TempDir()}
	mustSync(t, d, s, job("2026-11-01", emails(0, 5)), audience.Options{})
	d.processing = true
	if l := mustSync(t, d, s, job("2026-11-02", emails(1, 6)), audience.Options{}); l != (logRow{"processing", 0, 0, 5}) {
		t.Errorf("log %+v: want processing, nothing confirmed added or removed", l)
	}
	st, _ := loadState(t, s, "yandex")
	if !slices.Equal(st.Confirmed, emails(1, 5)) || !slices.Equal(st.Pending, set(e(0), e(5))) {
		t.Errorf("state: confirmed %v pending %v", st.Confirmed, st.Pending)
	}
	d.processing = false
	// e0 is back: its removal was never confirmed, so it is sent as an addition; e5 was
	// never confirmed either and is sent again.
	mustSync(t, d, s, job("2026-11-03", emails(0, 6)), audience.Options{})
	if last := d.calls[len(d.calls)-1]; !slices.Equal(last.Add, set(e(0), e(5))) || len(last.Remove) != 0 {
		t.Errorf("day 3 plan: add %v remove %v", last.Add, last.Remove)
	}
	if got := d.remote(aud); !slices.Equal(got, emails(0, 6)) {
		t.Errorf("remote %v", got)
	}
}

// A validate-only answer records nothing: the next real run sends everything.
func TestValidatedThenRealSend(t *testing.T) {
	d, s := newFake("google"), &audience.FileStore{Dir: t.TempDir()}
	d.validate = true
	if l := mustSync(t, d, s, job("2026-11-01", emails(0, 4)), audience.Options{}); l.Status != "validated" || l.Added != 0 {
		t.Errorf("validate-only log %+v", l)
	}
	if _, found := loadState(t, s, "google"); found {
		t.Error("a validate-only run saved state")
	}
	if got := d.remote(aud); len(got) != 0 {
		t.Errorf("validate-only applied %v", got)
	}
	d.validate = false
	if l := mustSync(t, d, s, job("2026-11-01", emails(0, 4)), audience.Options{}); l != (logRow{"ok", 4, 0, 4}) {
		t.Errorf("real run after validate-only: %+v", l)
	}
	if got := d.remote(aud); !slices.Equal(got, emails(0, 4)) {
		t.Errorf("remote %v", got)
	}
}

// Request ids come from content: a rerun of the same plan reuses them, changed data gets new
// ones, and the same change on another state (added, removed, added again) is new too.
func TestRequestIDsFromContent(t *testing.T) {
	d, fs := newFake("meta"), &audience.FileStore{Dir: t.TempDir()}
	crashy := &failingStore{StateStore: fs}
	mustSync(t, d, crashy, job("2026-11-01", emails(0, 3)), audience.Options{})
	crashy.fails = 1 // the platform applies day 2, the state write fails
	if _, err := trySync(d, crashy, job("2026-11-02", emails(0, 4)), audience.Options{}); err == nil {
		t.Fatal("want an error when the state cannot be saved")
	}
	mustSync(t, d, crashy, job("2026-11-02", emails(0, 4)), audience.Options{})
	n := len(d.steps)
	if d.steps[n-1] != d.steps[n-2] || !strings.HasPrefix(d.steps[n-1], "add:") {
		t.Errorf("rerun of the same plan: ids %s and %s, want the same", d.steps[n-2], d.steps[n-1])
	}
	addX := d.steps[n-1]
	// Same night, changed data: a new request.
	mustSync(t, d, crashy, job("2026-11-02", emails(0, 5)), audience.Options{})
	if d.steps[len(d.steps)-1] == addX {
		t.Error("changed data reused the request id")
	}
	// Remove e3, e4, then add e3 again: the same identifiers as the day-2 addition of e3
	// alone would be, but on another state, so a new id.
	mustSync(t, d, crashy, job("2026-11-03", emails(0, 3)), audience.Options{})
	mustSync(t, d, crashy, job("2026-11-04", emails(0, 4)), audience.Options{})
	last := d.steps[len(d.steps)-1]
	if last == addX || !strings.HasPrefix(last, "add:") {
		t.Errorf("re-adding after a removal reused id %s", last)
	}
	if got := d.remote(aud); !slices.Equal(got, emails(0, 4)) {
		t.Errorf("remote %v", got)
	}
	if len(d.bad) > 0 {
		t.Errorf("violations %v", d.bad)
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
	if _, err := trySync(d, crashy, job("2026-11-01", emails(0, 10)), audience.Options{}); err == nil {
		t.Fatal("want an error when the state cannot be saved")
	}
	if _, found := loadState(t, fs, "google"); found {
		t.Fatal("state written although saving failed")
	}
	mustSync(t, d, crashy, job("2026-11-01", emails(0, 10)), audience.Options{})
	if d.created != 1 {
		t.Fatalf("created %d audiences, want 1 (the rerun must reuse the crashed creation)", d.created)
	}
	if l := mustSync(t, d, crashy, job("2026-11-01", emails(0, 10)), audience.Options{}); l.Status != "unchanged" {
		t.Errorf("third run: %+v", l)
	}
}

func TestRemovalGuard(t *testing.T) {
	d, s := newFake("yandex"), &audience.FileStore{Dir: t.TempDir()}
	mustSync(t, d, s, job("2026-11-01", emails(0, 10)), audience.Options{})
	calls := len(d.calls)
	// 6 of 10 removed = 60% > 50%: guarded.
	l, err := trySync(d, s, job("2026-11-02", emails(0, 4)), audience.Options{})
	if !errors.Is(err, audience.ErrGuarded) || l.Status != "guarded" || !strings.Contains(err.Error(), "remove 6 of 10") {
		t.Fatalf("status %q err %v, want guarded", l.Status, err)
	}
	if len(d.calls) != calls {
		t.Error("guarded sync sent something")
	}
	if st, _ := loadState(t, s, "yandex"); st.RunDate != day("2026-11-01") || len(st.Confirmed) != 10 {
		t.Errorf("guarded sync changed the state: %s, %d", st.RunDate, len(st.Confirmed))
	}
	if _, err := trySync(d, s, job("2026-11-02", nil), audience.Options{}); !errors.Is(err, audience.ErrGuarded) {
		t.Errorf("empty audience: err %v, want guarded", err)
	}
	if _, err := trySync(d, s, job("2026-10-31", emails(0, 9)), audience.Options{}); !errors.Is(err, audience.ErrGuarded) || !strings.Contains(err.Error(), "later than 2026-10-31") {
		t.Errorf("older run date: err %v", err)
	}
	if l := mustSync(t, d, s, job("2026-11-02", emails(0, 4)), audience.Options{Force: true}); l.Removed != 6 || !slices.Equal(d.remote(aud), emails(0, 4)) {
		t.Errorf("forced sync: %+v", l)
	}
	// Exactly half is allowed: 4 → 2.
	mustSync(t, d, s, job("2026-11-03", emails(0, 2)), audience.Options{})

	// A per-audience share: 20% allowed, 25% not.
	d2, s2 := newFake("vk"), &audience.FileStore{Dir: t.TempDir()}
	share := 0.2
	j := func(date string, ids []audience.Identifier) audience.Job {
		x := job(date, ids)
		x.MaxRemoveShare = &share
		return x
	}
	mustSync(t, d2, s2, j("2026-11-01", emails(0, 10)), audience.Options{})
	mustSync(t, d2, s2, j("2026-11-02", emails(2, 10)), audience.Options{})
	if _, err := trySync(d2, s2, j("2026-11-03", emails(4, 10)), audience.Options{}); !errors.Is(err, audience.ErrGuarded) {
		t.Errorf("2 of 8 = 25%% > 20%%: err %v, want guarded", err)
	}
}

func TestReplaceMode(t *testing.T) {
	d, s := newFake("meta"), &audience.FileStore{Dir: t.TempDir()}
	j := job("2026-11-01", emails(0, 10))
	j.Mode = audience.ModeReplace
	mustSync(t, d, s, j, audience.Options{})
	j = job("2026-11-02", emails(1, 11))
	j.Mode = audience.ModeReplace
	l := mustSync(t, d, s, j, audience.Options{})
	c := d.calls[1]
	if c.Mode != audience.ModeReplace || c.RemoteID != "seg-1" || !slices.Equal(c.All, emails(1, 11)) {
		t.Errorf("replace request: mode %s remote %s all %d", c.Mode, c.RemoteID, len(c.All))
	}
	if l != (logRow{"ok", 1, 1, 10}) || !slices.Equal(d.remote(aud), emails(1, 11)) {
		t.Errorf("log %+v remote %v", l, d.remote(aud))
	}
}

func TestBelowMinimumNotAFailureAndCreatedLater(t *testing.T) {
	d, s := newFake("vk"), &audience.FileStore{Dir: t.TempDir()}
	d.tooSmall = 5
	l, err := trySync(d, s, job("2026-11-01", emails(0, 3)), audience.Options{})
	if err != nil || l.Status != "below_minimum" || d.created != 0 {
		t.Fatalf("small audience: %+v, %v, %d created", l, err, d.created)
	}
	if _, found := loadState(t, s, "vk"); found {
		t.Error("below-minimum run saved state")
	}
	if l := mustSync(t, d, s, job("2026-11-02", emails(0, 6)), audience.Options{}); l.Status != "ok" || d.created != 1 {
		t.Errorf("large enough: %+v, %d created", l, d.created)
	}
}

func TestDryRun(t *testing.T) {
	ctx := context.Background()
	d, s, out := newFake("yandex"), &audience.FileStore{Dir: t.TempDir()}, t.TempDir()
	dir := filepath.Join(out, "dry_run", "yandex", aud)
	// A stale file of an earlier dry run must not survive.
	if err := audience.WritePayloadFile(ctx, dir, "stale.csv", []byte("x")); err != nil {
		t.Fatal(err)
	}
	j := job("2026-11-01", emails(0, 10))
	j.Platform = "yandex"
	l, err := audience.Sync(ctx, d, s, j, audience.Options{DryRun: true, OutDir: out})
	if err != nil || l.Status != "dry_run" || !l.DryRun || l.Added != 10 || l.Sent != 20 {
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
	if rep["identifiers"] != 10.0 || rep["add"] != 10.0 || rep["remove"] != 0.0 || rep["create"] != true || rep["status"] != "dry_run" || rep["run_date"] != "2026-11-01" {
		t.Errorf("diff.json = %s", b)
	}
}

func TestBadJob(t *testing.T) {
	d, s := newFake("vk"), &audience.FileStore{Dir: t.TempDir()}
	j := job("2026-11-01", emails(1, 2))
	j.Mode = "sometimes"
	if l, err := trySync(d, s, j, audience.Options{}); err == nil || l.Status != "failed" {
		t.Errorf("bad mode: %+v %v", l, err)
	}
	if _, err := trySync(d, s, job("2026-11-01", emails(1, 2)), audience.Options{DryRun: true}); err == nil {
		t.Error("dry run without an output folder accepted")
	}
	if l, err := trySync(d, s, job("2026-11-01", nil), audience.Options{}); err != nil || l.Status != "empty" || len(d.calls) != 0 {
		t.Errorf("empty first audience: %+v %v", l, err)
	}
}
