package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/audiencesync/audiencesync/pipelines/config"
	runpkg "github.com/audiencesync/audiencesync/pipelines/run"
	"github.com/audiencesync/audiencesync/sinks/delivery"
	"github.com/audiencesync/audiencesync/sinks/secret/redact"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// deliver runs the delivery phase after the compute pipeline: the audience_members table it
// just wrote, sent (or written as payloads) to every platform; the sync_log rows go into the
// summary (and to the report, which reads no table twice), and a failed or guarded audience
// fails the run.
func deliver(ctx context.Context, j *job, sum *tables.Summary, t *report.Tables) error {
	if j.opts.Audiences == "off" || j.plan == nil || len(j.plan.Targets) == 0 {
		return nil
	}
	out := j.graph.Output
	logs, err := delivery.Run(ctx, delivery.RunOptions{Plan: j.plan, Members: out, Output: out,
		StateDir: j.graph.StateDir, DryRun: j.opts.Audiences != "send", Force: j.opts.ForceRemovals, RunDate: j.runDate()})
	if err != nil {
		return err
	}
	sum.Audiences = logs
	t.SetSyncLog(logs)
	for _, e := range deliveryErrors(logs) {
		sum.OK = false
		sum.Errors = append(sum.Errors, e)
	}
	sum.Outputs["dry_run"] = fileio.Join(out, "dry_run")
	return nil
}

func deliveryErrors(logs []tables.SyncLog) []string {
	var out []string
	for _, l := range logs {
		if audience.Failed(l.Status) {
			what := "audience"
			if l.Kind == tables.KindLookalike {
				what = "lookalike of audience"
			}
			out = append(out, fmt.Sprintf("%s %s on %s: %s: %s", what, l.Audience, l.Platform, l.Status, l.Error))
		}
	}
	return out
}

// deliverOnly is --deliver_only=PATH: the delivery phase alone, from the audience_members of
// the run in PATH (its run date comes from the table), with today's config and credentials.
func deliverOnly(ctx context.Context, o *Options, log *slog.Logger) int {
	cfg := config.Default()
	if o.Config != "" {
		var err error
		if cfg, err = config.Load(o.Config); err != nil {
			fmt.Fprintln(os.Stderr, "nightly:", err)
			return 2
		}
	}
	plan, err := cfg.AudiencePlan(o.Audiences == "send")
	if err != nil {
		fmt.Fprintf(os.Stderr, "nightly: %s: %v\n", cfg.File, redact.String(err.Error()))
		return 2
	}
	// The audiences' state is the nightly run's too: one of them at a time.
	lock, err := runpkg.Acquire(ctx, []string{o.StateDir}, runpkg.LockOptions{RunID: runpkg.NewID(time.Now()), BreakStale: o.BreakLock})
	if err != nil {
		fmt.Fprintln(os.Stderr, "nightly:", redact.String(err.Error()))
		if code := runpkg.ExitCode(err); code != 0 {
			return code
		}
		return 1
	}
	defer lockRelease(ctx, lock.Release, func(err error) { log.Error("run lock not released", "err", err) })()
	logs, err := delivery.Run(ctx, delivery.RunOptions{Plan: plan, Members: o.DeliverOnly, Output: o.Output,
		StateDir: o.StateDir, DryRun: o.Audiences != "send", Force: o.ForceRemovals})
	if err != nil {
		log.Error("delivery failed", "err", redact.String(err.Error()))
		return 1
	}
	fmt.Printf("audiencesync delivery of %s (sync_log in %s):\n", o.DeliverOnly, fileio.Join(o.Output, "sync_log"))
	printAudiences(os.Stdout, logs)
	if errs := deliveryErrors(logs); len(errs) > 0 {
		fmt.Fprintln(os.Stderr, redact.String("ERROR: "+strings.Join(errs, "\nERROR: ")))
		return 1
	}
	return 0
}

func printAudiences(w io.Writer, logs []tables.SyncLog) {
	fmt.Fprintf(w, "  %-24s %-8s %-13s %11s %9s %9s %9s\n", "audience", "platform", "status", "identifiers", "added", "removed", "sent")
	for _, a := range logs {
		if a.Kind == tables.KindLookalike {
			// The platform builds it: no identifiers of ours; its size when the platform says.
			size := "-"
			if a.PlatformSize != nil {
				size = fmt.Sprint(*a.PlatformSize)
			}
			fmt.Fprintf(w, "  %-24s %-8s %-13s %11s  lookalike of %s\n", "  └ lookalike", a.Platform, a.Status, size, cmp.Or(a.SourceID, "(source not created yet)"))
			continue
		}
		fmt.Fprintf(w, "  %-24s %-8s %-13s %11d %9d %9d %9d\n", a.Audience, a.Platform, a.Status, a.Members, a.Added, a.Removed, a.Sent)
	}
}
