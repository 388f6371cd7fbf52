package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Namespace of the Beam counters of the audience steps (the pipeline's own namespace).
const Namespace = "audiencesync"

func init() {
	beam.RegisterType(reflect.TypeOf((*kvBytes)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Plan)(nil)).Elem())
	register.Function1x2(splitKV)
	register.DoFn4x1[context.Context, string, func(*[]byte) bool, func(int, []byte), error](&syncFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&syncLogFn{})
	register.Emitter2[string, []byte]()
	register.Emitter2[int, []byte]()
	register.Iter1[[]byte]()
}

func counter(ctx context.Context, name string, n int64) {
	if n != 0 {
		beam.NewCounter(Namespace, name).Inc(ctx, n)
	}
}

func collect(it func(*[]byte) bool) [][]byte {
	var all [][]byte
	var b []byte
	for it(&b) {
		all = append(all, b)
		b = nil
	}
	return all
}

// EmitMembers emits, for every target, one batch of the members of the customers in
// segments (customer id → "source:segment" names) as KV<target key, batch>. hashed returns a
// customer's hashed contacts, nil for a customer without a customers record.
func (m *Members) EmitMembers(segments map[string][]string, hashed func(id string) *contacts.Hashed, emit func(string, []byte)) {
	encs := map[int]*nightly.Enc{}
	ids := make([]string, 0, len(segments))
	for id := range segments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		h := hashed(id)
		if h == nil {
			continue // no customers record: no contacts, no consent
		}
		m.Add(h, segments[id], func(i int, mem audience.Member) {
			e := encs[i]
			if e == nil {
				e = nightly.NewEnc(nightly.KindMembers)
				encs[i] = e
			}
			e.PutMember(&mem)
		})
	}
	for i := range m.targets {
		if e := encs[i]; e != nil {
			emit(m.targets[i].Key(), e.B)
		}
	}
}

// SyncOptions configure Sync.
type SyncOptions struct {
	Output   string
	StateDir string
	DryRun   bool
	Force    bool
	RunDate  value.Day
}

// kvBytes seeds the audience shuffle.
type kvBytes struct {
	Key   string
	Value []byte
}

func splitKV(kv kvBytes) (string, []byte) { return kv.Key, kv.Value }

// Sync syncs every target of plan with its platform and writes the sync_log table.
// In: KV<string, []byte> (target key → batches of members, see Members.EmitMembers).
func Sync(s beam.Scope, members beam.PCollection, plan *Plan, o SyncOptions) {
	s = s.Scope("delivery.Sync")
	// Every target gets an element even when nobody is in it today, so that an audience
	// whose members all left is emptied (subject to the removal guard).
	var seeds []kvBytes
	for _, t := range plan.Targets {
		seeds = append(seeds, kvBytes{Key: t.Key(), Value: []byte{nightly.KindMembers}})
	}
	seeded := beam.ParDo(s, splitKV, beam.CreateList(s, seeds))
	synced := beam.ParDo(s, &syncFn{Plan: plan, Output: o.Output, StateDir: o.StateDir, DryRun: o.DryRun,
		Force: o.Force, RunDate: o.RunDate.String()}, beam.GroupByKey(s, beam.Flatten(s, members, seeded)))
	beam.ParDo0(s, &syncLogFn{Output: o.Output}, beam.GroupByKey(s, synced))
}

// syncFn syncs one audience on one platform: today's members against the state of the
// last confirmed sync. A failed or guarded sync is a sync_log row, not a pipeline failure,
// so that the other audiences and tables still complete; the driver exits non-zero.
type syncFn struct {
	Plan     *Plan
	Output   string
	StateDir string
	DryRun   bool
	Force    bool
	RunDate  string

	dests *Destinations
}

func (f *syncFn) Setup() error {
	f.dests = NewDestinations(f.Plan, f.DryRun, f.StateDir, nil)
	return nil
}

func (f *syncFn) ProcessElement(ctx context.Context, key string, vals func(*[]byte) bool, out func(int, []byte)) error {
	var target *Target
	for i := range f.Plan.Targets {
		if f.Plan.Targets[i].Key() == key {
			target = &f.Plan.Targets[i]
		}
	}
	if target == nil {
		return fmt.Errorf("sync: unknown audience target %q", key)
	}
	var members []audience.Member
	for _, b := range collect(vals) {
		d, _ := nightly.NewDec(b)
		for d.More() {
			members = append(members, d.GetMember())
		}
		if d.Err != nil {
			return d.Err
		}
	}
	row, err := f.sync(ctx, target, members)
	if err != nil {
		counter(ctx, "sync_failed."+target.Platform, 1)
		slog.Error("audience sync failed", "audience", target.Audience, "platform", target.Platform, "status", row.Status, "err", err)
	}
	counter(ctx, "sync_members."+target.Platform, row.Members)
	b, err := json.Marshal(row)
	if err != nil {
		return err
	}
	out(0, b)
	return nil
}

func (f *syncFn) sync(ctx context.Context, t *Target, members []audience.Member) (tables.SyncLog, error) {
	run, _ := value.ParseDay(f.RunDate)
	fail := func(err error) (tables.SyncLog, error) {
		return tables.SyncLog{RunDate: int32(run), Audience: t.Audience, Platform: t.Platform, Mode: string(t.Mode),
			DryRun: f.DryRun, Members: int64(len(members)), Status: "failed", Error: err.Error()}, err
	}
	dest, err := f.dests.For(ctx, *t)
	if err != nil {
		return fail(err)
	}
	store := &audience.FileStore{Dir: fileio.Join(f.StateDir, "audiences")}
	job := audience.Job{Audience: t.Audience, RunDate: f.RunDate, Mode: t.Mode, MaxRemoveShare: t.MaxRemoveShare, Members: members}
	return audience.Sync(ctx, dest, store, job, audience.Options{DryRun: f.DryRun, OutDir: f.Output, Force: f.Force})
}

// syncLogFn writes the run's sync_log rows.
type syncLogFn struct {
	Output string
}

func (f *syncLogFn) ProcessElement(ctx context.Context, _ int, vals func(*[]byte) bool) error {
	var rows []tables.SyncLog
	for _, b := range collect(vals) {
		var r tables.SyncLog
		if err := json.Unmarshal(b, &r); err != nil {
			return err
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Audience != rows[j].Audience {
			return rows[i].Audience < rows[j].Audience
		}
		return rows[i].Platform < rows[j].Platform
	})
	if err := parquetio.WriteFile(ctx, fileio.Join(f.Output, "sync_log", parquetio.PartName(0)), rows); err != nil {
		return err
	}
	counter(ctx, "rows_written.sync_log", int64(len(rows)))
	return nil
}
