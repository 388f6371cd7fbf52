package main

// The run's integrity around the pipeline (pipelines/run): the lock, the run folder, the
// summary of a failed run, and publishing. night (run.go) calls these: begin before the
// pipeline, fail when the run failed, publish when it completed, end (deferred) to
// release the lock; plan calls run.CheckRunDate.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	runpkg "github.com/audiencesync/audiencesync/pipelines/run"
	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/score"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// runState is the lock and the run folder of this run.
type runState struct {
	lock *runpkg.Lock
	// release releases the lock, once, whether a termination signal or end does it.
	release func()
	run     *runpkg.Run
	log     *slog.Logger
}

// begin takes the run lock on the state folder and the output, settles what an earlier
// run left, and points the job at this run's folder and state staging. A non-zero code
// is the exit code (3: another run holds the lock; 4: a stale lock needs --break_lock).
func begin(ctx context.Context, j *job, log *slog.Logger) (*runState, int) {
	id := runpkg.NewID(time.Now())
	lock, err := runpkg.Acquire(ctx, []string{j.graph.StateDir, j.graph.Output}, runpkg.LockOptions{RunID: id, BreakStale: j.opts.BreakLock})
	if err != nil {
		// The night's run did not happen: alert, naming the holder.
		fmt.Fprintln(os.Stderr, "nightly:", redact.String(err.Error()))
		alert(ctx, log, j.opts.AlertWebhook, nil, nil, err)
		if code := runpkg.ExitCode(err); code != 0 {
			return nil, code
		}
		return nil, 1
	}
	release := lockRelease(ctx, lock.Release, func(err error) { log.Error("run lock not released", "err", err) })
	for _, p := range lock.Previous {
		log.Warn("the previous run ended without releasing its lock (killed?); its unpublished outputs are removed", "previous", p.String())
	}
	// What earlier versions wrote straight into the output folder (including the side files
	// _headline.json and _clv.json of versions before the summary came from counters).
	legacy := []string{"dead_letters", "dry_run", "run_summary.json", "report.html", "_headline.json", "_clv.json"}
	for _, t := range tables.All {
		legacy = append(legacy, t.Name)
	}
	r, err := runpkg.Start(ctx, j.graph.Output, j.graph.StateDir, j.runDate(), id, runpkg.StartOptions{Legacy: legacy})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nightly:", redact.String(err.Error()))
		release()
		return nil, 1
	}
	fileio.Checkpoint("run.started", r.Dir)
	// From here on the pipeline writes into the run's folder and state staging.
	j.runID, j.graph.Output, j.graph.HistoryOut = r.ID, r.Dir, r.StateStage
	if j.graph.StateDir != "" {
		j.reportHistory, err = r.StageStateFile(ctx, "report_history.json")
		// Segment history: record the layout this run writes (published with the run) and
		// drop the layouts no run reads any more (a failure to drop them only costs space).
		if err == nil {
			err = score.WriteLayout(ctx, r.StateStage, j.graph.Read.Buckets)
		}
		if err == nil {
			if perr := score.PruneLayouts(ctx, j.graph.StateDir); perr != nil {
				log.Warn("old segment history layouts not removed", "err", perr)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "nightly:", redact.String(err.Error()))
			release()
			return nil, 1
		}
	}
	log.Info("run started", "run_id", r.ID, "run_folder", r.Dir)
	return &runState{lock: lock, release: release, run: r, log: log}, 0
}

// end releases the lock.
func (rs *runState) end(ctx context.Context) { rs.release() }

// fail writes the failed run's summary into its own folder, which is not published: the
// output's current run stays the previous complete one.
func (rs *runState) fail(ctx context.Context, j *job, runErr error) {
	sum := tables.Summary{RunID: rs.run.ID, RunDate: j.runDate().String(), StartedAt: rs.run.StartedAt.Format(time.RFC3339),
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
	var m *runpkg.Manifest
	err := terminating.publish(func() (bool, error) {
		var err error
		m, err = runpkg.Publish(ctx, rs.run, rs.lock, time.Now())
		return m != nil, err
	})
	if err != nil && m != nil {
		// The pointer switched: the run is published; its staged state is moved into
		// place by the next start (or this tidy-up failed).
		return fmt.Errorf("run %s is published, but after publishing: %w (the next run finishes moving its state into place)", m.RunID, err)
	}
	if err != nil {
		return err
	}
	fmt.Printf("published run %s (run date %s, %d files): %s\n", m.RunID, m.RunDate, len(m.Files), publishedAt(rs.run.Out))
	if rs.run.State != "" {
		// The run's segment history layout is now the current one: older ones go (the next
		// start retries what fails here).
		if err := score.PruneLayouts(ctx, rs.run.State); err != nil {
			rs.log.Warn("old segment history layouts not removed", "err", err)
		}
	}
	return nil
}

// publishedAt is where readers find the published run.
func publishedAt(out string) string {
	if fileio.IsLocal(out) {
		return fileio.Join(out, runpkg.CurrentLink)
	}
	return fileio.Join(out, runpkg.CurrentFile)
}
