package audience

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Sync statuses written to tables.SyncLog.Status. A successful send records the platform's
// own status (e.g. "processed") when the Destination reports one, otherwise StatusOK; only
// StatusFailed and StatusGuarded are failures (Sync then also returns an error).
const (
	StatusOK        = "ok"
	StatusUnchanged = "unchanged" // nothing added or removed: nothing sent
	StatusEmpty     = "empty"     // no remote audience yet and no members: nothing to create
	StatusDryRun    = "dry_run"   // payloads written to files, nothing sent
	StatusGuarded   = "guarded"   // too many removals: nothing sent, state kept
	StatusFailed    = "failed"
)

// ErrGuarded is wrapped by the error Sync returns when the removal guard stopped a sync.
var ErrGuarded = errors.New("removal guard")

// Job is one audience's members for one platform on one run date.
type Job struct {
	Audience string // audience name (Config.Name)
	RunDate  string // YYYY-MM-DD, the run's --as_of
	Mode     Mode   // "" means incremental
	// MaxRemoveShare is the largest share of the previous audience one run may remove
	// without Options.Force; nil means DefaultMaxRemoveShare.
	MaxRemoveShare *float64
	// Members is today's audience on this platform (contacts.Hashed.Member). Sync sorts
	// and de-duplicates it in place (NormaliseMembers) to avoid copying millions of rows.
	Members []Member
}

// Options are the run-wide switches of a sync.
type Options struct {
	DryRun bool   // write payloads and diff.json, send nothing, keep state
	OutDir string // dry-run files go to OutDir/dry_run/<platform>/<audience>/
	Force  bool   // let a sync remove more than MaxRemoveShare of the audience
	// Now returns the current time (StartedAt, DurationMs); nil means time.Now.
	Now func() time.Time
}

// BatchID is the deterministic id of the sync of one audience on one platform for one run
// date: 16 lowercase hex digits (64 bits; sinks that need a number, such as Meta's
// session_id, can use strconv.ParseUint(id, 16, 64) masked to 63 bits). A rerun of the same
// night sends the same id.
func BatchID(runDate, audience, platform string) string {
	sum := sha256.Sum256([]byte("audiencesync-batch\x00" + runDate + "\x00" + audience + "\x00" + platform))
	return hex.EncodeToString(sum[:8])
}

// DryRunDir is the folder for one audience's dry-run files on one platform.
func DryRunDir(outDir, platform, audience string) string {
	return fileio.Join(outDir, "dry_run", platform, audience)
}

// diffReport is diff.json in a dry run: sizes only, never identifiers.
type diffReport struct {
	Audience        string `json:"audience"`
	Platform        string `json:"platform"`
	RunDate         string `json:"run_date"`
	BatchID         string `json:"batch_id"`
	Mode            Mode   `json:"mode"`
	RemoteID        string `json:"remote_id"`
	Create          bool   `json:"create"`
	PreviousMembers int    `json:"previous_members"`
	Members         int    `json:"members"`
	Add             int    `json:"add"`
	Remove          int    `json:"remove"`
	Status          string `json:"status"`
	Error           string `json:"error,omitempty"`
}

// Sync brings the platform's audience to job.Members: it loads the confirmed state, diffs,
// applies the removal guard, sends the change through dest (or writes it to files in a dry
// run) and saves the new state only after the platform confirmed. It always returns a
// filled SyncLog row; err is non-nil exactly when the row's status is failed or guarded.
func Sync(ctx context.Context, dest Destination, store StateStore, job Job, opts Options) (tables.SyncLog, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	started := now()
	platform := dest.Platform()
	mode := job.Mode
	if mode == "" {
		mode = ModeIncremental
	}
	log := tables.SyncLog{
		Audience:  job.Audience,
		Platform:  platform,
		Mode:      string(mode),
		DryRun:    opts.DryRun,
		StartedAt: started.UTC(),
	}
	where := fmt.Sprintf("audience %q on %s", job.Audience, platform)
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

	day, err := value.ParseDay(job.RunDate)
	if err != nil {
		return finish(StatusFailed, fmt.Errorf("%s: run date: %v", where, err))
	}
	log.RunDate = int32(day)
	if mode != ModeIncremental && mode != ModeReplace {
		return finish(StatusFailed, fmt.Errorf("%s: unknown mode %q (known: incremental, replace)", where, mode))
	}
	if opts.DryRun && opts.OutDir == "" {
		return finish(StatusFailed, fmt.Errorf("%s: dry run needs an output folder (Options.OutDir)", where))
	}
	members := NormaliseMembers(job.Members)
	log.Members = int64(len(members))

	prev, found, err := store.Load(ctx, job.Audience, platform)
	if err != nil {
		return finish(StatusFailed, fmt.Errorf("%s: %w", where, err))
	}
	if found && prev.RunDate > job.RunDate && !opts.Force {
		// An older --as_of (a backfill of metrics) would roll the audience back to old
		// segment membership and consent.
		return finish(StatusGuarded, fmt.Errorf("%s: %w: the platform already has the audience of run date %s, later than %s; nothing sent and state kept. Rerun with --force to roll the audience back on purpose",
			where, ErrGuarded, prev.RunDate, job.RunDate))
	}
	create := prev.RemoteID == ""
	var add, remove []Member
	if create {
		// No confirmed remote audience: everyone is added. The sink finds an audience
		// of this name that a crashed earlier run created instead of making a second.
		add = members
	} else {
		add, remove = Diff(prev.Members, members)
	}
	req := SyncRequest{
		Audience: job.Audience,
		RunDate:  job.RunDate,
		BatchID:  BatchID(job.RunDate, job.Audience, platform),
		RemoteID: prev.RemoteID,
		Mode:     mode,
		Add:      add,
		Remove:   remove,
	}
	if create || mode == ModeReplace {
		req.All = members
	}
	report := diffReport{
		Audience: job.Audience, Platform: platform, RunDate: job.RunDate, BatchID: req.BatchID,
		Mode: mode, RemoteID: prev.RemoteID, Create: create, PreviousMembers: len(prev.Members),
		Members: len(members), Add: len(add), Remove: len(remove),
	}
	dryDir := DryRunDir(opts.OutDir, platform, job.Audience)
	// In a dry run every outcome leaves a diff.json, so that the operator sees why nothing
	// (or what) would be sent.
	writeReport := func(status string, e error) error {
		if !opts.DryRun {
			return nil
		}
		report.Status = status
		if e != nil {
			report.Error = redact.String(e.Error())
		}
		body, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		return WritePayloadFile(dryDir, "diff.json", append(body, '\n'))
	}

	share := DefaultMaxRemoveShare
	if job.MaxRemoveShare != nil {
		share = *job.MaxRemoveShare
	}
	if n := len(prev.Members); !create && !opts.Force && n > 0 && float64(len(remove)) > share*float64(n) {
		gerr := fmt.Errorf("%s: %w: this run would remove %d of %d members (%.1f%%), above max_remove_share %.0f%%; nothing sent and state kept. Check the segments and consent data; if the drop is intended, rerun with --force or raise max_remove_share",
			where, ErrGuarded, len(remove), n, 100*float64(len(remove))/float64(n), 100*share)
		if err := writeReport(StatusGuarded, gerr); err != nil {
			return finish(StatusFailed, fmt.Errorf("%s: %w", where, err))
		}
		return finish(StatusGuarded, gerr)
	}
	if create && len(members) == 0 {
		if err := writeReport(StatusEmpty, nil); err != nil {
			return finish(StatusFailed, fmt.Errorf("%s: %w", where, err))
		}
		return finish(StatusEmpty, nil)
	}
	if !create && found && len(add) == 0 && len(remove) == 0 {
		if err := writeReport(StatusUnchanged, nil); err != nil {
			return finish(StatusFailed, fmt.Errorf("%s: %w", where, err))
		}
		return finish(StatusUnchanged, nil)
	}

	log.Added, log.Removed = int64(len(add)), int64(len(remove))
	if opts.DryRun {
		// Stale files of an earlier dry run would be taken for today's payloads.
		if err := fileio.RemoveGlob(ctx, fileio.Join(dryDir, "*")); err != nil {
			return finish(StatusFailed, fmt.Errorf("%s: clearing %s: %w", where, dryDir, err))
		}
		res, err := dest.WritePayloads(req, dryDir)
		fill(&log, res)
		if err != nil {
			log.Added, log.Removed = 0, 0
			return finish(StatusFailed, fmt.Errorf("%s: dry run: %w", where, err))
		}
		if err := writeReport(StatusDryRun, nil); err != nil {
			return finish(StatusFailed, fmt.Errorf("%s: %w", where, err))
		}
		return finish(StatusDryRun, nil)
	}

	res, err := dest.Sync(ctx, req)
	fill(&log, res)
	if err != nil {
		log.Added, log.Removed = 0, 0
		return finish(StatusFailed, fmt.Errorf("%s: %w (state kept: the next run sends the same changes again)", where, err))
	}
	next := State{RemoteID: res.RemoteID, RunDate: job.RunDate, Members: members}
	if next.RemoteID == "" {
		next.RemoteID = prev.RemoteID
	}
	if err := store.Save(ctx, job.Audience, platform, next); err != nil {
		return finish(StatusFailed, fmt.Errorf("%s: the platform applied the changes but %w; the next run sends them again, which the platform treats as a no-op", where, err))
	}
	status := res.Status
	if status == "" {
		status = StatusOK
	}
	return finish(status, nil)
}

// fill copies the platform's counters into the log row.
func fill(log *tables.SyncLog, res Result) {
	log.Sent, log.Accepted, log.Rejected, log.Requests = res.Sent, res.Accepted, res.Rejected, res.Requests
	if len(res.RejectReasons) > 0 {
		b, err := json.Marshal(res.RejectReasons) // map keys come out sorted
		if err == nil {
			log.RejectReasons = string(b)
		}
	}
}
