package delivery

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// RunOptions configure Run, the delivery phase of a night.
type RunOptions struct {
	Plan *Plan
	// Members is the run folder whose audience_members table is delivered: the staged output
	// of this night's compute pipeline, or a published run to deliver again (--deliver_only).
	Members string
	// Output receives sync_log/ and, in a dry run, dry_run/ (usually the same folder).
	Output   string
	StateDir string
	DryRun   bool
	Force    bool
	// RunDate is the run date of the identifiers; 0 reads it from audience_members.
	RunDate value.Day
}

// Run is the delivery phase, a pipeline of its own after the compute pipeline: it reads the
// audience_members table, delivers every target of the plan (Deliver) and writes sync_log.
// It returns the sync_log rows it wrote. A failed target is a row with status failed, not
// an error; err reports a pipeline that could not run.
func Run(ctx context.Context, o RunOptions) ([]tables.SyncLog, error) {
	if o.Plan == nil || len(o.Plan.Targets) == 0 {
		return nil, nil
	}
	if o.RunDate == 0 {
		day, found, err := RunDateOf(ctx, o.Members)
		if err != nil {
			return nil, fmt.Errorf("delivery: %w", err)
		}
		if !found {
			return nil, fmt.Errorf("delivery: %s holds no audience_members rows: nothing tells the run date (was the run made with audiences on?)", o.Members)
		}
		o.RunDate = day
	}
	p, s := beam.NewPipelineWithRoot()
	s = s.Scope("audiencesync.Delivery")
	var valued []string
	for _, t := range o.Plan.Targets {
		if t.Value != "" {
			valued = append(valued, t.Key())
		}
	}
	members := ReadMembers(s, o.Members, o.RunDate, valued)
	rows := Deliver(s, members, Config{Plan: o.Plan, Output: o.Output, StateDir: o.StateDir, DryRun: o.DryRun, Force: o.Force, RunDate: o.RunDate})
	WriteSyncLog(s, rows, o.Output)
	if err := beamx.Run(ctx, p); err != nil {
		return nil, fmt.Errorf("delivery pipeline: %w", err)
	}
	return parquetio.ReadDir[tables.SyncLog](ctx, fileio.Join(o.Output, "sync_log"))
}
