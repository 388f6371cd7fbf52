package graph

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/audiencesync/audiencesync/pipelines/audiences"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/counters"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/score"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// The audience stage: today's members of every audience × platform, synced against the
// last confirmed state, and the sync_log table. It consumes only score.Scored.Segmented, so
// that it can be replaced (or moved to a delivery phase of its own) without touching the
// rest of the graph.

// Audiences configures the audience stage.
type Audiences struct {
	Plan   audiences.Plan
	DryRun bool // write the exact payloads under <output>/dry_run/, send nothing
	Force  bool // let a sync remove more than the audience's max_remove_share
}

// buildAudiences adds the audience stage.
// In: KV<int, score.Segmented>.
// Writes: sync_log, dry-run payloads, audience state.
func buildAudiences(s beam.Scope, segmented beam.PCollection, c Config) {
	s = s.Scope("audiences")
	a := c.Audiences
	members := beam.ParDo(s, &membersFn{Plan: a.Plan}, segmented)
	// Every target gets an element even when nobody is in it today, so that an audience
	// whose members all left is emptied (subject to the removal guard).
	var keys []string
	for _, t := range a.Plan.Targets {
		keys = append(keys, t.Key())
	}
	seeded := beam.ParDo(s, seedTarget, beam.CreateList(s, keys))
	synced := beam.ParDo(s, &syncFn{Plan: a.Plan, Output: c.Output, StateDir: c.StateDir, DryRun: a.DryRun, Force: a.Force, RunDate: c.RunDate},
		beam.GroupByKey(s, beam.Flatten(s, members, seeded)))
	beam.ParDo0(s, &syncLogFn{Output: c.Output}, beam.GroupByKey(s, synced))
}

// MemberBatch is one bucket's members of one target (KV<target key, MemberBatch>).
type MemberBatch struct{ Members []audience.Member }

// SyncRow is one sync_log row on its way to the writer (KV<0, SyncRow>).
type SyncRow tables.SyncLog

func init() {
	wire.RegisterCoder(reflect.TypeOf(MemberBatch{}))
	wire.RegisterCoder(reflect.TypeOf(SyncRow{}))
	register.DoFn3x0[int, score.Segmented, func(string, MemberBatch)](&membersFn{})
	register.Emitter2[string, MemberBatch]()
	register.Function1x2(seedTarget)
	register.Iter1[MemberBatch]()
	register.DoFn4x1[context.Context, string, func(*MemberBatch) bool, func(int, SyncRow), error](&syncFn{})
	register.Emitter2[int, SyncRow]()
	register.Iter1[SyncRow]()
	register.DoFn3x1[context.Context, int, func(*SyncRow) bool, error](&syncLogFn{})
}

func seedTarget(key string) (string, MemberBatch) { return key, MemberBatch{} }

// membersFn makes each segmented customer's members of every target.
type membersFn struct {
	Plan audiences.Plan

	members *audiences.Members
}

func (f *membersFn) Setup() { f.members = audiences.NewMembers(&f.Plan) }

func (f *membersFn) ProcessElement(_ int, x score.Segmented, emit func(string, MemberBatch)) {
	by := map[int][]audience.Member{}
	for i := range x.Records {
		f.members.Add(&x.Records[i].Hashed, x.Segments[i], func(t int, m audience.Member) { by[t] = append(by[t], m) })
	}
	ts := f.members.Targets()
	for i := range ts {
		if b := by[i]; len(b) > 0 {
			emit(ts[i].Key(), MemberBatch{Members: b})
		}
	}
}

// syncFn syncs one audience on one platform: today's members against the state of the
// last confirmed sync. A failed or guarded sync is a sync_log row, not a pipeline failure,
// so that the other audiences and tables still complete; the driver exits non-zero.
type syncFn struct {
	Plan     audiences.Plan
	Output   string
	StateDir string
	DryRun   bool
	Force    bool
	RunDate  value.Day

	dests *audiences.Destinations
}

func (f *syncFn) Setup() { f.dests = audiences.NewDestinations(&f.Plan, f.DryRun, f.StateDir, nil) }

func (f *syncFn) ProcessElement(ctx context.Context, key string, vals func(*MemberBatch) bool, out func(int, SyncRow)) error {
	var target *audiences.Target
	for i := range f.Plan.Targets {
		if f.Plan.Targets[i].Key() == key {
			target = &f.Plan.Targets[i]
		}
	}
	if target == nil {
		return fmt.Errorf("sync: unknown audience target %q", key)
	}
	var members []audience.Member
	var b MemberBatch
	for vals(&b) {
		members = append(members, b.Members...)
	}
	row, err := f.sync(ctx, target, members)
	if err != nil {
		counters.Inc(ctx, "sync_failed."+target.Platform, 1)
		slog.Error("audience sync failed", "audience", target.Audience, "platform", target.Platform, "status", row.Status, "err", err)
	}
	counters.Inc(ctx, "sync_members."+target.Platform, row.Members)
	out(0, SyncRow(row))
	return nil
}

func (f *syncFn) sync(ctx context.Context, t *audiences.Target, members []audience.Member) (tables.SyncLog, error) {
	fail := func(err error) (tables.SyncLog, error) {
		return tables.SyncLog{RunDate: int32(f.RunDate), Audience: t.Audience, Platform: t.Platform, Mode: string(t.Mode),
			DryRun: f.DryRun, Members: int64(len(members)), Status: "failed", Error: err.Error()}, err
	}
	dest, err := f.dests.For(ctx, *t)
	if err != nil {
		return fail(err)
	}
	store := &audience.FileStore{Dir: fileio.Join(f.StateDir, "audiences")}
	job := audience.Job{Audience: t.Audience, RunDate: f.RunDate.String(), Mode: t.Mode, MaxRemoveShare: t.MaxRemoveShare, Members: members}
	return audience.Sync(ctx, dest, store, job, audience.Options{DryRun: f.DryRun, OutDir: f.Output, Force: f.Force})
}

// syncLogFn writes the run's sync_log rows.
type syncLogFn struct {
	Output string
}

func (f *syncLogFn) ProcessElement(ctx context.Context, _ int, vals func(*SyncRow) bool) error {
	var rows []tables.SyncLog
	var r SyncRow
	for vals(&r) {
		rows = append(rows, tables.SyncLog(r))
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Audience != rows[j].Audience {
			return rows[i].Audience < rows[j].Audience
		}
		return rows[i].Platform < rows[j].Platform
	})
	return tables.WriteFile(ctx, f.Output, 0, rows)
}

// MarshalBinary encodes the members.
func (b MemberBatch) MarshalBinary() ([]byte, error) {
	e := wire.NewEnc(64 * len(b.Members))
	e.Int(int64(len(b.Members)))
	for _, m := range b.Members {
		e.Strs([]string{m.Key, m.Email, m.Phone, m.ExternID})
	}
	return e.B, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (b *MemberBatch) UnmarshalBinary(data []byte) error {
	d := wire.NewDec(data)
	n := d.Count()
	b.Members = make([]audience.Member, 0, n)
	for i := 0; i < n && d.Err == nil; i++ {
		s := d.Strs()
		if len(s) != 4 {
			d.Fail()
			break
		}
		b.Members = append(b.Members, audience.Member{Key: s[0], Email: s[1], Phone: s[2], ExternID: s[3]})
	}
	return d.Done()
}

// MarshalBinary encodes the row.
func (r SyncRow) MarshalBinary() ([]byte, error) {
	e := wire.NewEnc(256)
	e.Int(int64(r.RunDate))
	e.Strs([]string{r.Audience, r.Platform, r.Mode, r.RejectReasons, r.Status, r.Error})
	e.Bool(r.DryRun)
	e.Ints([]int64{r.Members, r.Added, r.Removed, r.Sent, r.Accepted, r.Rejected, r.Requests, r.DurationMs, r.StartedAt.UnixMilli()})
	return e.B, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (r *SyncRow) UnmarshalBinary(data []byte) error {
	d := wire.NewDec(data)
	*r = SyncRow{RunDate: int32(d.Int())}
	s, dry, n := d.Strs(), d.Bool(), d.Ints()
	if len(s) != 6 || len(n) != 9 {
		d.Fail()
		return d.Err
	}
	r.Audience, r.Platform, r.Mode, r.RejectReasons, r.Status, r.Error = s[0], s[1], s[2], s[3], s[4], s[5]
	r.DryRun = dry
	r.Members, r.Added, r.Removed, r.Sent, r.Accepted, r.Rejected, r.Requests, r.DurationMs = n[0], n[1], n[2], n[3], n[4], n[5], n[6], n[7]
	r.StartedAt = time.UnixMilli(n[8]).UTC()
	return d.Done()
}
