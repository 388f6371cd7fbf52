package main

// The run's integrity around the pipeline (pipelines/run): the lock, the run folder, the
// summary of a failed run, and publishing. main.go calls these at five places: begin
// after the flags are checked, fail when the run failed, publish when it completed, end
// (deferred) to release the lock, and checkRunDate in prepare.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/audiencesync/audiencesync/pipelines/graph"
	runpkg "github.com/audiencesync/audiencesync/pipelines/run"
	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

var breakLockFlag = flag.Bool("break_lock", false, "break a stale run lock on an object store (one whose holder stopped refreshing it; check that run is gone first)")

// runState is the lock and the run folder of this run.
type runState struct {
	lock *runpkg.Lock
	run  *runpkg.Run
	log  *slog.Logger
}

// begin takes the run lock on the state folder and the output, settles what an earlier
// run left, and points the job at this run's folder and state staging. A non-zero code
// is the exit code (3: another run holds the lock; 4: a stale lock needs --break_lock).
func begin(ctx context.Context, j *job, log *slog.Logger) (*runState, int) {
	id := runpkg.NewID(time.Now())
	lock, err := runpkg.Acquire(ctx, []string{j.opts.StateDir, j.output}, runpkg.LockOptions{RunID: id, BreakStale: *breakLockFlag})
	if err != nil {
		// The night's run did not happen: alert, naming the holder.
		fmt.Fprintln(os.Stderr, "nightly:", redact.String(err.Error()))
		alert(ctx, log, nil, nil, err)
		if code := runpkg.ExitCode(err); code != 0 {
			return nil, code
		}
		return nil, 1
	}
	for _, p := range lock.Previous {
		log.Warn("the previous run ended without releasing its lock (killed?); its unpublished outputs are removed", "previous", p.String())
	}
	legacy := []string{"dead_letters", "dry_run", "run_summary.json", "report.html", graph.HeadlineFile, graph.CLVFile}
	for _, t := range tables.All {
		legacy = append(legacy, t.Name)
	}
	r, err := runpkg.Start(ctx, j.output, j.opts.StateDir, j.asOf, id, runpkg.StartOptions{Legacy: legacy})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nightly:", redact.String(err.Error()))
		lock.Release(ctx)
		return nil, 1
	}
	fileio.Checkpoint("run.started", r.Dir)
	j.runID, j.output, j.opts.Output, j.opts.HistoryOut = r.ID, r.Dir, r.Dir, r.StateStage
	if j.opts.StateDir != "" {
		if j.reportHistory, err = r.StageStateFile(ctx, "report_history.json"); err != nil {
			fmt.Fprintln(os.Stderr, "nightly:", redact.String(err.Error()))
			lock.Release(ctx)
			return nil, 1
		}
	}
	log.Info("run started", "run_id", r.ID, "run_folder", r.Dir)
	return &runState{lock: lock, run: r, log: log}, 0
}

// end releases the lock.
func (rs *runState) end(ctx context.Context) {
	if err := rs.lock.Release(ctx); err != nil {
		rs.log.Error("run lock not released", "err", err)
	}
}

// fail writes the failed run's summary into its own folder, which is not published: the
// output's current run stays the previous complete one.
func (rs *runState) fail(ctx context.Context, j *job, runErr error) {
	sum := tables.Summary{RunID: rs.run.ID, RunDate: j.asOf.String(), StartedAt: rs.run.StartedAt.Format(time.RFC3339),
		DurationS: time.Since(rs.run.StartedAt).Seconds(), Runner: runnerName(), Period: j.cfg.Metrics.Period,
		OK: false, Errors: []string{runErr.Error()}, Outputs: map[string]string{"run_folder": rs.run.Dir}}
	b, _ := json.MarshalIndent(sum, "", "  ")
	p := fileio.Join(rs.run.Dir, "run_summary.json")
	if err := fileio.WriteFile(ctx, p, redact.JSON(b)); err != nil {
		rs.log.Error("summary of the failed run not written", "err", err)
		return
	}
	fmt.Fprintf(os.Stderr, "nightly: run %s failed and was not published; its summary: %s; the published run is unchanged\n", rs.run.ID, p)
}

// publish makes the completed run the output's current run.
func (rs *runState) publish(ctx context.Context) error {
	m, err := runpkg.Publish(ctx, rs.run, rs.lock, time.Now())
	if err != nil && m != nil {
		// The pointer switched: the run is published; its staged state is moved into
		// place by the next start (or this tidy-up failed).
		return fmt.Errorf("run %s is published, but after publishing: %w (the next run finishes moving its state into place)", m.RunID, err)
	}
	if err != nil {
		return err
	}
	fmt.Printf("published run %s (run date %s, %d files): %s\n", m.RunID, m.RunDate, len(m.Files), publishedAt(rs.run.Out))
	return nil
}

// publishedAt is where readers find the published run.
func publishedAt(out string) string {
	if fileio.IsLocal(out) {
		return fileio.Join(out, runpkg.CurrentLink)
	}
	return fileio.Join(out, runpkg.CurrentFile)
}

// checkRunDate refuses a run date after tomorrow (today: the run's clock date, --today).
func checkRunDate(d, today value.Day) error { return runpkg.CheckRunDate(d, today) }
