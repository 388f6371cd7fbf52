package audience

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Sync statuses written to tables.SyncLog.Status. Only StatusFailed and StatusGuarded fail
// the run (Sync then also returns an error); every other status is an outcome the run
// records and the next run builds on.
const (
	StatusOK        = "ok"        // every change confirmed by the platform
	StatusUnchanged = "unchanged" // nothing to add or remove: nothing sent
	StatusEmpty     = "empty"     // no remote audience yet and nobody in it: nothing created
	StatusDryRun    = "dry_run"   // payloads written to files, nothing sent
	// StatusValidated: the platform checked the requests without applying them (Google
	// validate_only); the state is unchanged, so the next real run sends everything again.
	StatusValidated = "validated"
	// StatusProcessing: the platform accepted the change but had not finished processing it
	// (Yandex); those identifiers stay unconfirmed and the next run sends them again.
	StatusProcessing = "processing"
	// StatusPartial: the platform refused part of the identifiers (Meta num_invalid_entries);
	// the batches concerned stay unconfirmed and are sent again.
	StatusPartial = "partial"
	// StatusBelowMinimum: the audience is smaller than the platform's minimum (VK: 2,000
	// for a new list; Yandex: 100, or few_data); a new audience is created on a later run
	// once it is large enough. Not a failure. For a lookalike: its source is too small.
	StatusBelowMinimum = "below_minimum"
	// StatusWaiting (lookalikes): the source audience is not ready (not on the platform yet,
	// or still being processed): nothing created, the next run tries again. Not a failure.
	StatusWaiting = "waiting"
	StatusGuarded = "guarded" // too many removals: nothing sent, state kept
	StatusFailed  = "failed"  // an error; what the platform confirmed before it is kept
)

// Failed reports whether a sync_log status fails the run.
func Failed(status string) bool { return status == StatusFailed || status == StatusGuarded }

// ErrGuarded is wrapped by the error Sync returns when a guard stopped a sync.
var ErrGuarded = errors.New("removal guard")

// DefaultMaxRemoveShare is the share of the previous audience that one run may remove
// without Options.Force.
const DefaultMaxRemoveShare = 0.5

// Job is one audience's identifiers for one platform on one run date.
type Job struct {
	Target
	RunDate value.Day
	// Identifiers is today's audience on this platform. Sync normalises it in place
	// (NormaliseIdentifiers) to avoid copying millions of rows.
	Identifiers []Identifier
}

// Options are the run-wide switches of a sync.
type Options struct {
	DryRun bool   // write payloads and diff.json, send nothing, keep state
	OutDir string // dry-run files go to OutDir/dry_run/<platform>/<audience>/
	Force  bool   // let a sync remove more than MaxRemoveShare of the audience, or roll back
	// Now returns the current time (StartedAt, DurationMs); nil means time.Now.
	Now func() time.Time
}

// DryRunDir is the folder for one audience's dry-run files on one platform.
func DryRunDir(outDir, platform, audience string) string {
	return fileio.Join(outDir, "dry_run", platform, audience)
}

// diffReport is diff.json in a dry run: sizes only, never identifiers.
type diffReport struct {
	Audience    string `json:"audience"`
	Platform    string `json:"platform"`
	RunDate     string `json:"run_date"`
	Mode        Mode   `json:"mode"`
	RemoteID    string `json:"remote_id"`
	Create      bool   `json:"create"`
	Confirmed   int    `json:"confirmed"`
	Pending     int    `json:"pending"`
	Identifiers int    `json:"identifiers"`
	Add         int    `json:"add"`
	Remove      int    `json:"remove"`
	Status      string `json:"status"`
	Error       string `json:"error,omitempty"`
}

// Sync brings the platform's audience to job.Identifiers: it loads the last confirmed
// state, plans the identifier-level diff (an identifier is removed only when no member of
// today carries it), applies the guards, sends the change through dest (or writes it to
// files in a dry run) and saves exactly what the platform confirmed. It always returns a
// filled SyncLog row; err is non-nil exactly when the row's status fails the run.
func Sync(ctx context.Context, dest Destination, store StateStore, job Job, opts Options) (tables.SyncLog, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	mode := job.Mode
	if mode == "" {
		mode = ModeIncremental
	}
	log := tables.SyncLog{RunDate: int32(job.RunDate), Audience: job.Audience, Platform: job.Platform, Mode: string(mode),
		DryRun: opts.DryRun, StartedAt: started.UTC(), Kind: tables.KindAudience}
	where := fmt.Sprintf("audience %q on %s", job.Audience, job.Platform)
	finish := func(status string, err error) (tables.SyncLog, error) {
		log.Status = status
		if err != nil {
			log.Error = redact.String(err.Error()) // sync_log is a table: no secret in any form
		}
		if log.RejectReasons == "" {
			log.RejectReasons = "{}"
		}
		log.DurationMs = now().Sub(started).Milliseconds()
		return log, err
	}
	if mode != ModeIncremental && mode != ModeReplace {
		return finish(StatusFailed, fmt.Errorf("%s: unknown mode %q (known: incremental, replace)", where, mode))
	}
	if opts.DryRun && opts.OutDir == "" {
		return finish(StatusFailed, fmt.Errorf("%s: dry run needs an output folder (Options.OutDir)", where))
	}
	today := NormaliseIdentifiers(job.Identifiers)
	log.Members = int64(len(today))
	if i := DuplicateKey(today); i >= 0 {
		return finish(StatusFailed, fmt.Errorf("%s: identifier %d (type %s) comes twice with different values: an audience holds each identifier once; the audience_members table is damaged, recompute the run", where, i, today[i].Type))
	}

	prev, _, err := store.Load(ctx, job.Audience, job.Platform)
	if err != nil {
		return finish(StatusFailed, fmt.Errorf("%s: %w", where, err))
	}
	log.RemoteID = prev.RemoteID
	if prev.RunDate > job.RunDate && !opts.Force {
		// An older run date (a backfill of metrics) would roll the audience back to old
		// segment membership and consent.
		return finish(StatusGuarded, fmt.Errorf("%s: %w: the platform already has the audience of run date %s, later than %s; nothing sent and state kept. Rerun with --force_removals to roll the audience back on purpose",
			where, ErrGuarded, prev.RunDate, job.RunDate))
	}
	if prev.RemoteID != "" && (prev.Value == "") != (job.Value == "") {
		// A plain remote audience cannot become value-based or back (Meta fixes it at
		// creation): the audience is another one now, found by name or created.
		prev = State{RunDate: prev.RunDate, Generation: prev.Generation, Value: job.Value}
	}
	req := Request{Audience: job.Audience, Platform: job.Platform, RunDate: job.RunDate, Mode: mode, Value: job.Value,
		RemoteID: prev.RemoteID, Create: prev.RemoteID == "", All: today,
		Journal: store.Journal(job.Audience, job.Platform), base: prev.digest()}
	if req.Create {
		req.Add = today
	} else {
		// A changed value is a change: the identifier is sent again with its new value.
		req.Add = changed(today, prev.Confirmed)
		req.Remove = minus(union(prev.Confirmed, prev.Pending), today)
	}

	report := diffReport{Audience: job.Audience, Platform: job.Platform, RunDate: job.RunDate.String(), Mode: mode,
		RemoteID: prev.RemoteID, Create: req.Create, Confirmed: len(prev.Confirmed), Pending: len(prev.Pending),
		Identifiers: len(today), Add: len(req.Add), Remove: len(req.Remove)}
	dryDir := DryRunDir(opts.OutDir, job.Platform, job.Audience)
	// In a dry run every outcome leaves a diff.json, so that the operator sees why nothing
	// (or what) would be sent.
	done := func(status string, e error) (tables.SyncLog, error) {
		if opts.DryRun {
			report.Status = status
			if e != nil {
				report.Error = redact.String(e.Error())
			}
			body, err := json.MarshalIndent(report, "", "  ")
			if err == nil {
				err = WritePayloadFile(ctx, dryDir, "diff.json", append(body, '\n'))
			}
			if err != nil {
				return finish(StatusFailed, fmt.Errorf("%s: %w", where, err))
			}
		}
		return finish(status, e)
	}

	share := DefaultMaxRemoveShare
	if job.MaxRemoveShare != nil {
		share = *job.MaxRemoveShare
	}
	if n := len(prev.Confirmed) + len(prev.Pending); !req.Create && !opts.Force && n > 0 && float64(len(req.Remove)) > share*float64(n) {
		return done(StatusGuarded, fmt.Errorf("%s: %w: this run would remove %d of %d identifiers (%.1f%%), above max_remove_share %.0f%%; nothing sent and state kept. Check the segments and consent data; if the drop is intended, rerun with --force_removals or raise max_remove_share",
			where, ErrGuarded, len(req.Remove), n, 100*float64(len(req.Remove))/float64(n), 100*share))
	}
	if req.Create && len(today) == 0 {
		return done(StatusEmpty, nil)
	}
	if !req.Create && len(req.Add) == 0 && len(req.Remove) == 0 {
		return done(StatusUnchanged, nil)
	}

	if opts.DryRun {
		// Stale files of an earlier dry run would be taken for today's payloads.
		if err := fileio.RemoveGlob(ctx, fileio.Join(dryDir, "*")); err != nil {
			return finish(StatusFailed, fmt.Errorf("%s: clearing %s: %w", where, dryDir, err))
		}
		res, err := dest.WritePayloads(ctx, req, dryDir)
		fill(&log, res)
		if err != nil {
			return finish(StatusFailed, fmt.Errorf("%s: dry run: %w", where, err))
		}
		if res.BelowMinimum { // nothing would be sent
			return done(StatusBelowMinimum, nil)
		}
		log.Added, log.Removed = int64(len(req.Add)), int64(len(req.Remove))
		return done(StatusDryRun, nil)
	}

	res, applyErr := dest.Apply(ctx, req)
	fill(&log, res)
	next, advanced := nextState(prev, req, res)
	if advanced {
		next.RunDate, next.Generation, next.Value = job.RunDate, prev.Generation+1, job.Value
		log.RemoteID = next.RemoteID
		// Confirmed changes only: an identifier whose removal is unconfirmed is not "removed".
		log.Added = int64(len(changed(next.Confirmed, prev.Confirmed)))
		log.Removed = int64(len(minus(minus(prev.Confirmed, next.Confirmed), next.Pending)))
		if err := store.Save(ctx, job.Audience, job.Platform, next); err != nil {
			err = fmt.Errorf("%s: the platform answered but %w; the next run sends the same change again, which the platform treats as a replay", where, err)
			if applyErr != nil {
				err = fmt.Errorf("%w; and before that: %v", err, applyErr)
			}
			return finish(StatusFailed, err)
		}
	}
	if applyErr != nil {
		kept := "nothing was confirmed, the state is kept"
		if advanced {
			kept = "what the platform confirmed before the error is recorded"
		}
		return finish(StatusFailed, fmt.Errorf("%s: %w (%s; the next run sends the rest)", where, applyErr, kept))
	}
	return finish(statusOf(res), nil)
}

// nextState is prev after the platform's answers in res. changed is false when nothing is to
// be recorded. The contents of a remote audience that Apply found by name (req.Create) are
// unknown until a replace is confirmed: until then its id is not recorded either, so that
// the next run replaces it again instead of diffing against a guess.
func nextState(prev State, req Request, res Result) (State, bool) {
	if len(res.Applied) == 0 && !res.Created {
		return prev, false
	}
	next := prev
	if req.Create {
		known := res.Created
		for _, a := range res.Applied {
			known = known || a.Op == OpReplace && a.Outcome == Confirmed
		}
		if !known {
			return prev, false
		}
		next = State{}
	}
	next = next.apply(res.Applied)
	if res.RemoteID != "" {
		next.RemoteID = res.RemoteID
	}
	return next, true
}

// statusOf derives the status of a sync that returned no error.
func statusOf(res Result) string {
	var validated, unconfirmed bool
	for _, a := range res.Applied {
		validated = validated || a.Outcome == Validated
		unconfirmed = unconfirmed || a.Outcome == Unconfirmed
	}
	switch {
	case validated:
		return StatusValidated
	case res.Rejected > 0:
		return StatusPartial
	case unconfirmed:
		return StatusProcessing
	case res.BelowMinimum:
		return StatusBelowMinimum
	}
	return StatusOK
}

// fill copies the platform's counters into the log row.
func fill(log *tables.SyncLog, res Result) {
	log.Sent, log.Accepted, log.Rejected, log.Requests = res.Sent, res.Accepted, res.Rejected, res.Requests
	if len(res.RejectReasons) > 0 {
		if b, err := json.Marshal(res.RejectReasons); err == nil { // map keys come out sorted
			log.RejectReasons = string(b)
		}
	}
}
