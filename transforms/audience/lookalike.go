package audience

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// A lookalike is an audience the platform builds itself from one of ours (its source, or
// seed): people who resemble the source's members, the members themselves left out. The
// pipeline never uploads to it: it makes sure the lookalike exists, created once, when the
// source is ready, found again on every later run (by name and source), never recreated.

// LookalikeRequest asks a platform to make sure the lookalike of one audience exists.
type LookalikeRequest struct {
	Audience string // the source audience's name from the config
	Platform string
	RunDate  value.Day
	// SourceID is the platform's id of the source audience, from its confirmed state; ""
	// when the source is not on the platform yet.
	SourceID string
	// SourceSize is how many identifiers the platform confirmed in the source.
	SourceSize int
}

// LookalikeResult is what the platform answered about the lookalike.
type LookalikeResult struct {
	RemoteID string // the lookalike's id; "" when it does not exist
	// Status is StatusOK (created now), StatusUnchanged (found), StatusWaiting (the source is
	// not ready: processing), StatusBelowMinimum (the source is too small) or StatusDryRun.
	Status string
	// Note says why nothing was created (waiting, below_minimum), in the platform's words
	// where it gave some; it goes to sync_log.error.
	Note           string
	PlatformStatus string // the platform's own status of the lookalike, e.g. is_processed
	Size           *int64 // the size the platform reports, nil when it reports none
	Requests       int64
}

// Lookalikes is implemented by the Destination of a platform that builds lookalike audiences
// (Yandex, Meta). The Destination knows the lookalike's settings from its config.
type Lookalikes interface {
	// Lookalike finds the lookalike of req's source (by name and source) or creates it once
	// the source is ready. A creation whose answer was lost is never sent again before
	// listing. A source not ready or too small is a Result status, not an error.
	Lookalike(ctx context.Context, req LookalikeRequest) (LookalikeResult, error)
	// WriteLookalikePayload writes under dir (local or gs://) the body of the creation call
	// Lookalike would make, and sends nothing.
	WriteLookalikePayload(ctx context.Context, req LookalikeRequest, dir string) (LookalikeResult, error)
}

// LookalikeDryRunDir is the folder of one lookalike's dry-run payload. It is apart from the
// source's folder (DryRunDir), which a dry run clears file by file; "lookalikes" is no
// platform name.
func LookalikeDryRunDir(outDir, platform, audience string) string {
	return fileio.Join(outDir, "dry_run", "lookalikes", platform, audience)
}

// SyncLookalike makes sure the lookalike of target t (t.Lookalike set) exists on its
// platform, after t's own Sync: it reads the source's confirmed state (its remote id and
// size), asks dest (which must implement Lookalikes) and returns the sync_log row (Kind
// lookalike). A source not on the platform yet, still processing or too small is a row with
// status waiting or below_minimum, not a failure: a later run creates the lookalike. err is
// non-nil exactly when the row's status is failed.
func SyncLookalike(ctx context.Context, dest Destination, store StateStore, t Target, runDate value.Day, opts Options) (tables.SyncLog, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	row := tables.SyncLog{RunDate: int32(runDate), Audience: t.Audience, Platform: t.Platform, DryRun: opts.DryRun,
		StartedAt: started.UTC(), Kind: tables.KindLookalike, RejectReasons: "{}"}
	where := fmt.Sprintf("lookalike of audience %q on %s", t.Audience, t.Platform)
	finish := func(res LookalikeResult, err error) (tables.SyncLog, error) {
		row.RemoteID, row.PlatformSize, row.Requests = res.RemoteID, res.Size, res.Requests
		row.Status = res.Status
		if res.Note != "" {
			row.Error = redact.String(res.Note)
		}
		if err != nil {
			row.Status, row.Error = StatusFailed, redact.String(fmt.Sprintf("%s: %v", where, err))
			err = fmt.Errorf("%s: %w", where, err)
		}
		row.DurationMs = now().Sub(started).Milliseconds()
		return row, err
	}
	lk, ok := dest.(Lookalikes)
	if !ok {
		return finish(LookalikeResult{}, fmt.Errorf("the %s sink builds no lookalikes", t.Platform))
	}
	st, _, err := store.Load(ctx, t.Audience, t.Platform)
	if err != nil {
		return finish(LookalikeResult{}, err)
	}
	if (st.Value == "") != (t.Value == "") {
		// The state is of the audience before it became value-based or plain (see Sync):
		// not the source the lookalike is built from.
		st = State{}
	}
	req := LookalikeRequest{Audience: t.Audience, Platform: t.Platform, RunDate: runDate, SourceID: st.RemoteID, SourceSize: len(st.Confirmed)}
	row.SourceID = req.SourceID
	if opts.DryRun {
		if opts.OutDir == "" {
			return finish(LookalikeResult{}, errors.New("dry run needs an output folder (Options.OutDir)"))
		}
		dir := LookalikeDryRunDir(opts.OutDir, t.Platform, t.Audience)
		if err := fileio.RemoveGlob(ctx, fileio.Join(dir, "*")); err != nil {
			return finish(LookalikeResult{}, fmt.Errorf("clearing %s: %w", dir, err))
		}
		res, err := lk.WriteLookalikePayload(ctx, req, dir)
		res.Status = StatusDryRun
		return finish(res, err)
	}
	if req.SourceID == "" {
		return finish(LookalikeResult{Status: StatusWaiting, Note: fmt.Sprintf("the source audience %q is not on %s yet (see its own sync_log row): the lookalike is created on a later run, once it is", t.Audience, t.Platform)}, nil)
	}
	res, err := lk.Lookalike(ctx, req)
	return finish(res, err)
}
