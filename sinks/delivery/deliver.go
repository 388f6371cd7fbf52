package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/parquet-go/parquet-go"

	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Namespace of the Beam counters of the delivery steps (the pipeline's own namespace).
const Namespace = "audiencesync"

// readBatch is how many audience_members rows one element carries at most.
const readBatch = 50_000

func init() {
	beam.RegisterType(reflect.TypeOf((*Plan)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*Config)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*tables.SyncLog)(nil)).Elem(), encodeSyncLog, decodeSyncLog)
	register.DoFn3x1[context.Context, string, func(string, audience.Batch), error](&readMembersFn{})
	register.DoFn4x1[context.Context, string, func(*audience.Batch) bool, func(tables.SyncLog), error](&deliverFn{})
	register.DoFn3x1[context.Context, int, func(*tables.SyncLog) bool, error](&writeSyncLogFn{})
	register.Function2x1(globParts)
	register.Function1x2(seedBatch)
	register.Function1x2(keySyncLog)
	register.Emitter1[string]()
	register.Emitter2[string, audience.Batch]()
	register.Emitter1[tables.SyncLog]()
	register.Iter1[tables.SyncLog]()
	register.Iter1[audience.Batch]()
}

func counter(ctx context.Context, name string, n int64) {
	if n != 0 {
		beam.NewCounter(Namespace, name).Inc(ctx, n)
	}
}

// Config configures Deliver: plain data, carried by its DoFn.
type Config struct {
	Plan     *Plan
	Output   string    // dry-run payloads go under <Output>/dry_run/<platform>/<audience>/
	StateDir string    // <StateDir>/audiences holds each audience's confirmed state
	DryRun   bool      // write the payloads, send nothing, keep the state
	Force    bool      // pass the removal and run-date guards
	RunDate  value.Day // the run date of the identifiers
}

// Deliver brings every target of cfg.Plan to today's audience on its platform: for each
// target it plans the identifier-level change against the last confirmed state, sends it
// through the platform's Destination and records what the platform confirmed
// (transforms/audience.Sync). A failed sync is a sync_log row with status failed, not a
// pipeline failure, so that the other audiences still go out.
//
// In:  PCollection<KV<string, audience.Batch>>: target key → identifiers of that target, in
// any number of batches (ReadMembers gives them from an audience_members table).
// Out: PCollection<tables.SyncLog>, one row per target of the plan, plus one per lookalike
// (Kind lookalike) of a target that asks for one (audience.SyncLookalike).
func Deliver(s beam.Scope, members beam.PCollection, cfg Config) beam.PCollection {
	s = s.Scope("delivery.Deliver")
	// Every target gets an element even when nobody is in it today, so that an audience
	// whose members all left is emptied (subject to the removal guard).
	keys := make([]string, len(cfg.Plan.Targets))
	for i, t := range cfg.Plan.Targets {
		keys[i] = t.Key()
	}
	seeds := beam.ParDo(s, seedBatch, beam.CreateList(s, keys))
	return beam.ParDo(s, &deliverFn{Config: cfg}, beam.GroupByKey(s, beam.Flatten(s, members, seeds)))
}

func seedBatch(key string) (string, audience.Batch) { return key, audience.Batch{} }

func keySyncLog(r tables.SyncLog) (int, tables.SyncLog) { return 0, r }

// deliverFn syncs one target.
type deliverFn struct {
	Config Config

	accounts *Accounts
}

func (f *deliverFn) Setup() {
	f.accounts = NewAccounts(f.Config.Plan, f.Config.DryRun, f.Config.StateDir, slog.Default())
}

func (f *deliverFn) ProcessElement(ctx context.Context, key string, it func(*audience.Batch) bool, emit func(tables.SyncLog)) error {
	t, ok := f.Config.Plan.target(key)
	if !ok {
		return fmt.Errorf("delivery: identifiers for %q, which is no target of the config", key)
	}
	var ids []audience.Identifier
	var b audience.Batch
	for it(&b) {
		ids = append(ids, b.IDs...)
	}
	for _, r := range deliverOne(ctx, f.accounts, t, ids, f.Config) {
		if r.err != nil {
			counter(ctx, "sync_failed."+t.Platform, 1)
			slog.Error("audience sync failed", "audience", t.Audience, "platform", t.Platform, "kind", r.row.Kind, "status", r.row.Status, "err", r.err)
		}
		if r.row.Kind == tables.KindLookalike {
			counter(ctx, "lookalike_"+r.row.Status+"."+t.Platform, 1)
		} else {
			counter(ctx, "sync_identifiers."+t.Platform, r.row.Members)
		}
		emit(r.row)
	}
	return nil
}

// synced is one sync_log row and the error that failed it.
type synced struct {
	row tables.SyncLog
	err error
}

// deliverOne syncs one target with its identifiers, then, when the target asks for one, its
// lookalike (after the source: the lookalike is built from what the source sync left): the
// plain-Go step under deliverFn. One row per sync.
func deliverOne(ctx context.Context, accounts *Accounts, t *Target, ids []audience.Identifier, cfg Config) []synced {
	job := audience.Job{Target: t.Target, RunDate: cfg.RunDate, Identifiers: ids}
	dest, err := accounts.Destination(t)
	if err != nil {
		return []synced{{tables.SyncLog{RunDate: int32(cfg.RunDate), Audience: t.Audience, Platform: t.Platform, Mode: string(t.Mode),
			DryRun: cfg.DryRun, Members: int64(len(audience.NormaliseIdentifiers(ids))), Status: audience.StatusFailed,
			RejectReasons: "{}", Error: err.Error(), Kind: tables.KindAudience}, err}}
	}
	store := &audience.FileStore{Dir: fileio.Join(cfg.StateDir, "audiences")}
	opts := audience.Options{DryRun: cfg.DryRun, OutDir: cfg.Output, Force: cfg.Force}
	row, err := audience.Sync(ctx, dest, store, job, opts)
	out := []synced{{row, err}}
	if t.Lookalike {
		row, err := audience.SyncLookalike(ctx, dest, store, t.Target, cfg.RunDate, opts)
		out = append(out, synced{row, err})
	}
	return out
}

// ReadMembers reads an audience_members table (the part files under <dir>/audience_members)
// and checks that every row has runDate, and that the rows of the value-based targets (keys
// in valued) carry a value and no other row does: a table computed under another config is
// refused, not sent without its values.
// Out: PCollection<KV<string, audience.Batch>>: target key → up to 50,000 identifiers.
func ReadMembers(s beam.Scope, dir string, runDate value.Day, valued []string) beam.PCollection {
	s = s.Scope("delivery.ReadMembers")
	parts := beam.ParDo(s, globParts, beam.Create(s, fileio.Join(dir, audience.MembersTable)))
	return beam.ParDo(s, &readMembersFn{RunDate: int32(runDate), Valued: valued}, beam.Reshuffle(s, parts))
}

func globParts(dir string, emit func(string)) error {
	parts, err := fileio.Glob(context.Background(), fileio.Join(dir, "part-*.parquet"))
	if err != nil {
		return fmt.Errorf("delivery: listing %s: %w", dir, err)
	}
	for _, p := range parts {
		emit(p)
	}
	return nil
}

type readMembersFn struct {
	RunDate int32
	Valued  []string // keys of the value-based targets
}

func (f *readMembersFn) ProcessElement(ctx context.Context, path string, emit func(string, audience.Batch)) error {
	out := map[string][]audience.Identifier{}
	flush := func(k string) {
		if len(out[k]) > 0 {
			emit(k, audience.Batch{IDs: out[k]})
			out[k] = nil
		}
	}
	rows := int64(0)
	err := scanMembers(ctx, path, func(r tables.AudienceMember) error {
		rows++
		if r.RunDate != f.RunDate {
			return fmt.Errorf("delivery: %s holds run date %s, this delivery is for %s: deliver one run's audience_members at a time", path, value.Day(r.RunDate), value.Day(f.RunDate))
		}
		k := audience.Target{Audience: r.Audience, Platform: r.Platform}.Key()
		id := audience.Identifier{Type: r.IdentifierType, Hash: r.Hash}
		switch want := slices.Contains(f.Valued, k); {
		case want && r.Value == nil:
			return fmt.Errorf("delivery: %s: audience %q on %s is value-based (lookalikes.%s.value) but its rows have no value: the table was computed under another config; recompute the run", path, r.Audience, r.Platform, r.Platform)
		case !want && r.Value != nil:
			return fmt.Errorf("delivery: %s: audience %q on %s has values but is not value-based in this config: the table was computed under another config; recompute the run", path, r.Audience, r.Platform)
		case want:
			id.Value = *r.Value
		}
		out[k] = append(out[k], id)
		if len(out[k]) >= readBatch {
			flush(k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		flush(k)
	}
	counter(ctx, "rows_read."+audience.MembersTable, rows)
	return nil
}

// scanMembers calls fn for every row of one audience_members part file.
func scanMembers(ctx context.Context, path string, fn func(tables.AudienceMember) error) error {
	r, err := fileio.OpenReaderAt(ctx, path)
	if err != nil {
		return fmt.Errorf("delivery: %s: %w", path, err)
	}
	defer r.Close()
	pf, err := parquet.OpenFile(r, r.Size())
	if err != nil {
		return fmt.Errorf("delivery: %s is not a readable audience_members part: %w", path, err)
	}
	rd := parquet.NewGenericReader[tables.AudienceMember](pf)
	defer rd.Close()
	buf := make([]tables.AudienceMember, 8192)
	for {
		n, err := rd.Read(buf)
		for _, row := range buf[:n] {
			if err := fn(row); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delivery: %s: %w", path, err)
		}
	}
}

// RunDateOf returns the run date of the audience_members table under dir (the one date of its
// rows), for a delivery from a published run. found is false when the table has no rows.
func RunDateOf(ctx context.Context, dir string) (day value.Day, found bool, err error) {
	parts, err := fileio.Glob(ctx, fileio.Join(dir, audience.MembersTable, "part-*.parquet"))
	if err != nil {
		return 0, false, err
	}
	stop := errors.New("stop")
	for _, p := range parts {
		err := scanMembers(ctx, p, func(r tables.AudienceMember) error {
			day, found = value.Day(r.RunDate), true
			return stop
		})
		if err != nil && !errors.Is(err, stop) {
			return 0, false, err
		}
		if found {
			return day, true, nil
		}
	}
	return 0, false, nil
}

// WriteSyncLog writes the sync_log table (one part, rows sorted by audience and platform).
// In: PCollection<tables.SyncLog>.
func WriteSyncLog(s beam.Scope, rows beam.PCollection, output string) {
	s = s.Scope("delivery.WriteSyncLog")
	keyed := beam.ParDo(s, keySyncLog, rows)
	beam.ParDo0(s, &writeSyncLogFn{Output: output}, beam.GroupByKey(s, keyed))
}

type writeSyncLogFn struct {
	Output string
}

func (f *writeSyncLogFn) ProcessElement(ctx context.Context, _ int, it func(*tables.SyncLog) bool) error {
	var rows []tables.SyncLog
	var r tables.SyncLog
	for it(&r) {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Audience != rows[j].Audience {
			return rows[i].Audience < rows[j].Audience
		}
		if rows[i].Platform != rows[j].Platform {
			return rows[i].Platform < rows[j].Platform
		}
		return rows[i].Kind < rows[j].Kind // audience before lookalike
	})
	if err := parquetio.WriteFile(ctx, fileio.Join(f.Output, "sync_log", parquetio.PartName(0)), rows); err != nil {
		return err
	}
	counter(ctx, "rows_written.sync_log", int64(len(rows)))
	return nil
}
