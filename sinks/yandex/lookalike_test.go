package yandex

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx/httpxtest"
	"github.com/audiencesync/audiencesync/sinks/yandex/yandextest"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// The lookalike segment of an audience, night by night, through audience.Sync and
// audience.SyncLookalike as the delivery runs them, against the strict fake.

var night1 = value.DayFromDate(2026, 11, 2)

func similar3() *Lookalike {
	no := false
	return &Lookalike{Similarity: 3, KeepGeoDistribution: &no}
}

type lalEnv struct {
	*fixture
	store *audience.FileStore
	tgt   audience.Target
}

func newLalEnv(t *testing.T, cfgEdit func(*Config), target Target) *lalEnv {
	t.Helper()
	f := setup(t, cfgEdit, target)
	return &lalEnv{fixture: f, store: &audience.FileStore{Dir: t.TempDir()},
		tgt: audience.Target{Audience: "vip", Platform: Platform, Lookalike: true}}
}

func (e *lalEnv) night(t *testing.T, day value.Day, members []audience.Identifier) (seed, lal tables.SyncLog) {
	t.Helper()
	seed, err := audience.Sync(context.Background(), e.d, e.store, audience.Job{Target: e.tgt, RunDate: day, Identifiers: members}, audience.Options{})
	if audience.Failed(seed.Status) {
		t.Fatalf("seed %s: %v", seed.Status, err)
	}
	lal, err = audience.SyncLookalike(context.Background(), e.d, e.store, e.tgt, day, audience.Options{})
	if err != nil {
		t.Fatalf("lookalike: %v", err)
	}
	return seed, lal
}

func (e *lalEnv) lookalikes() []yandextest.Segment {
	var out []yandextest.Segment
	for _, s := range e.srv.Segments() {
		if s.Type == "lookalike" {
			out = append(out, s)
		}
	}
	return out
}

func (e *lalEnv) creations() int {
	n := 0
	for _, c := range e.srv.Calls() {
		if c.Path == "segments/create_lookalike" {
			n++
		}
	}
	return n
}

// Night 1 creates the segment and, once Yandex has processed it, its lookalike; night 2 finds
// the lookalike again by name and creates nothing.
func TestLookalikeCreatedOnceAndKept(t *testing.T) {
	e := newLalEnv(t, nil, Target{Name: "vip buyers", Lookalike: similar3()})
	seed, lal := e.night(t, night1, ids(0, 150))
	if seed.Status != "ok" || lal.Status != "ok" || lal.Kind != "lookalike" {
		t.Fatalf("night 1: seed %s, lookalike %s %q", seed.Status, lal.Status, lal.Error)
	}
	ls := e.lookalikes()
	if len(ls) != 1 {
		t.Fatalf("%d lookalike segments", len(ls))
	}
	l := ls[0]
	if l.Name != "vip buyers lookalike 3" || strconv.FormatInt(l.LookalikeLink, 10) != seed.RemoteID || l.LookalikeValue != 3 || !l.KeepDevice || l.KeepGeo {
		t.Errorf("lookalike %+v (seed %s)", l, seed.RemoteID)
	}
	if lal.RemoteID != strconv.FormatInt(l.ID, 10) || lal.SourceID != seed.RemoteID {
		t.Errorf("row: remote %s source %s", lal.RemoteID, lal.SourceID)
	}
	seed, lal = e.night(t, night1+1, ids(0, 150))
	if seed.Status != "unchanged" || lal.Status != "unchanged" || lal.RemoteID != strconv.FormatInt(l.ID, 10) {
		t.Errorf("night 2: seed %s, lookalike %s %s", seed.Status, lal.Status, lal.RemoteID)
	}
	if len(e.lookalikes()) != 1 || e.creations() != 1 {
		t.Errorf("%d lookalikes after %d creations, want 1 and 1", len(e.lookalikes()), e.creations())
	}
}

// The source does not reach processed within the poll budget: its sync is processing, the
// lookalike waiting, neither fails the run, and nothing is created; the next night, once
// Yandex has processed the source, the lookalike is created.
func TestLookalikeWaitsForProcessedSource(t *testing.T) {
	e := newLalEnv(t, nil, Target{Lookalike: similar3()})
	e.srv.SetPollsUntilProcessed(1_000_000)
	seed, lal := e.night(t, night1, ids(0, 150))
	if seed.Status != "processing" || lal.Status != "waiting" || audience.Failed(lal.Status) || e.creations() != 0 {
		t.Fatalf("night 1: seed %s, lookalike %s %q, %d creations", seed.Status, lal.Status, lal.Error, e.creations())
	}
	if !strings.Contains(lal.Error, "is is_processed, not processed yet") {
		t.Errorf("note %q", lal.Error)
	}
	id, _ := strconv.ParseInt(seed.RemoteID, 10, 64)
	e.srv.Process(id)
	e.srv.SetPollsUntilProcessed(1)
	seed, lal = e.night(t, night1+1, ids(0, 150))
	if seed.Status != "ok" || lal.Status != "ok" || len(e.lookalikes()) != 1 {
		t.Errorf("night 2: seed %s, lookalike %s %q, %d lookalikes", seed.Status, lal.Status, lal.Error, len(e.lookalikes()))
	}
}

// A source Yandex marked few_data is below the minimum: nothing created, not a failure.
func TestLookalikeFewDataSource(t *testing.T) {
	e := newLalEnv(t, nil, Target{Lookalike: similar3()})
	small := e.srv.AddSegment("vip", remote(ids(0, 50))...)
	res, err := e.d.Lookalike(context.Background(), audience.LookalikeRequest{Audience: "vip", Platform: Platform, SourceID: strconv.FormatInt(small, 10)})
	if err != nil || res.Status != "below_minimum" || !strings.Contains(res.Note, "few_data") || e.creations() != 0 {
		t.Errorf("%+v %v, %d creations", res, err, e.creations())
	}
}

// The creation's answer is lost (Yandex creates all the same): the sink lists before sending
// it again: one lookalike.
func TestLookalikeCreateTimeoutListsFirst(t *testing.T) {
	e := newLalEnv(t, func(c *Config) { c.HTTP.Timeout = 200 * time.Millisecond }, Target{Lookalike: similar3()})
	e.srv.Faults.PushFor("POST /v1/management/segments/create_lookalike", httpxtest.Fault{Delay: 2 * time.Second})
	_, lal := e.night(t, night1, ids(0, 150))
	if lal.Status != "ok" || len(e.lookalikes()) != 1 || e.creations() != 1 {
		t.Errorf("lookalike %s %q, %d lookalikes, %d creations", lal.Status, lal.Error, len(e.lookalikes()), e.creations())
	}
}

// Quotas: with Yandex's write quota enforced on the test clock, five audiences and their
// lookalikes in one run (15 writes: upload, confirm and create_lookalike each) go through
// the sink's write bucket (10 a minute) without one 429, never more than 10 writes in a
// minute; once the day's quota is used up, a lookalike waits for a later run.
func TestLookalikeQuotas(t *testing.T) {
	f := setup(t, nil, Target{})
	f.srv.SetPollsUntilProcessed(0)
	f.srv.EnforceQuotas(f.clk.Now)
	store := &audience.FileStore{Dir: t.TempDir()}
	for i := 0; i < 5; i++ {
		tgt := audience.Target{Audience: fmt.Sprintf("aud%d", i), Platform: Platform, Lookalike: true}
		d, err := f.d.acct.Destination(Target{Lookalike: similar3()})
		if err != nil {
			t.Fatal(err)
		}
		if l, err := audience.Sync(context.Background(), d, store, audience.Job{Target: tgt, RunDate: night1, Identifiers: ids(100*i, 100*i+120)}, audience.Options{}); err != nil {
			t.Fatalf("%s: %s %v", tgt.Audience, l.Status, err)
		}
		if l, err := audience.SyncLookalike(context.Background(), d, store, tgt, night1, audience.Options{}); err != nil || l.Status != "ok" {
			t.Fatalf("%s lookalike: %s %q %v", tgt.Audience, l.Status, l.Error, err)
		}
	}
	times := f.srv.WriteTimes()
	if len(times) != 15 {
		t.Fatalf("%d writes counted, want 15", len(times))
	}
	for i := range times {
		n := 0
		for _, u := range times[i:] {
			if u.Sub(times[i]) < time.Minute {
				n++
			}
		}
		if n > yandextest.WritesPerMinute {
			t.Errorf("%d writes in the minute from %s", n, times[i].Format(time.TimeOnly))
		}
	}
	// The day's 500 used up (other tools, earlier runs): the next lookalike waits.
	f.srv.UseQuota(yandextest.WritesPerDay)
	d, _ := f.d.acct.Destination(Target{Name: "aud0", Lookalike: &Lookalike{Similarity: 5}})
	l, err := audience.SyncLookalike(context.Background(), d, store, audience.Target{Audience: "aud0", Platform: Platform, Lookalike: true}, night1, audience.Options{})
	if err != nil || l.Status != "waiting" || !strings.Contains(l.Error, "quota") {
		t.Errorf("after the day's quota: %s %q %v", l.Status, l.Error, err)
	}
}

// A dry run writes the exact create_lookalike body (source 0: the segment does not exist yet).
func TestLookalikeDryRun(t *testing.T) {
	e := newLalEnv(t, nil, Target{Name: "vip buyers", Lookalike: similar3()})
	out := t.TempDir()
	opts := audience.Options{DryRun: true, OutDir: out}
	lal, err := audience.SyncLookalike(context.Background(), e.d, e.store, e.tgt, night1, opts)
	if err != nil || lal.Status != "dry_run" || len(e.srv.Calls()) != 0 {
		t.Fatalf("%s %v, %d calls", lal.Status, err, len(e.srv.Calls()))
	}
	b, err := os.ReadFile(filepath.Join(out, "dry_run", "lookalikes", "yandex", "vip", "segments_create_lookalike.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "segment": {
    "name": "vip buyers lookalike 3",
    "lookalike_link": 0,
    "lookalike_value": 3,
    "maintain_device_distribution": true,
    "maintain_geo_distribution": false
  }
}
`
	if string(b) != want {
		t.Errorf("payload\n%s\nwant\n%s", b, want)
	}
}

// The fake's create_lookalike contract, with Yandex's own messages.
func TestFakeLookalikeContract(t *testing.T) {
	f := setup(t, nil, Target{})
	c := f.client(t)
	ctx := context.Background()
	done := f.srv.AddSegment("done", remote(ids(0, 120))...)
	f.srv.SetPollsUntilProcessed(1_000_000)
	csv, _, _ := BuildCSV(ids(200, 320))
	up, err := c.UploadCSVFile(ctx, csv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Confirm(ctx, confirmFor(up.ID, "busy")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		l    LookalikeSegment
		want string
	}{
		{"similarity 6", LookalikeSegment{Name: "x", LookalikeLink: done, LookalikeValue: 6}, "должно быть меньше или равно 5"},
		{"similarity 0", LookalikeSegment{Name: "x", LookalikeLink: done, LookalikeValue: 0}, "должно быть больше или равно 1"},
		{"empty name", LookalikeSegment{LookalikeLink: done, LookalikeValue: 2}, "длина должна быть между 1 и 250"},
		{"long name", LookalikeSegment{Name: strings.Repeat("я", 251), LookalikeLink: done, LookalikeValue: 2}, "длина должна быть между 1 и 250"},
		{"unknown source", LookalikeSegment{Name: "x", LookalikeLink: 9, LookalikeValue: 2}, "You must be owner of segment 9"},
		{"source processing", LookalikeSegment{Name: "x", LookalikeLink: up.ID, LookalikeValue: 2}, fmt.Sprintf("Source segment %d must be processed but is not", up.ID)},
	} {
		if _, err := c.CreateLookalike(ctx, tc.l); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	l, err := c.CreateLookalike(ctx, LookalikeSegment{Name: "x", LookalikeLink: done, LookalikeValue: 2, MaintainDeviceDistribution: true})
	if err != nil || l.Type != "lookalike" || l.Status != "is_processed" || l.LookalikeLink != done {
		t.Fatalf("%+v %v", l, err)
	}
	if err := c.DeleteSegment(ctx, done); err == nil || !strings.Contains(err.Error(), "has dependent segments") {
		t.Errorf("source with a lookalike deleted: %v", err)
	}
}
