package report

import (
	"cmp"
	"slices"

	"github.com/audiencesync/audiencesync/transforms/tables"
)

// LookalikeRow is one lookalike audience a platform builds from one of ours (a sync_log row
// of kind lookalike): which audience it comes from, its status, ids and size.
type LookalikeRow struct {
	Audience string // the source audience
	Platform string
	Status   string
	Failed   bool // the status fails the run
	DryRun   bool
	RemoteID string // the lookalike's id on the platform
	SourceID string // the source audience's id on the platform
	Size     int64  // as the platform reports it, when HasSize
	HasSize  bool
	Note     string // why nothing was created yet, or the error
}

func buildLookalikes(syncs []tables.SyncLog) []LookalikeRow {
	var out []LookalikeRow
	for _, s := range syncs {
		if s.Kind != tables.KindLookalike {
			continue
		}
		r := LookalikeRow{Audience: s.Audience, Platform: s.Platform, Status: s.Status, Failed: s.Status == "failed",
			DryRun: s.DryRun, RemoteID: s.RemoteID, SourceID: s.SourceID, Note: scrub(s.Error)}
		if s.PlatformSize != nil {
			r.Size, r.HasSize = *s.PlatformSize, true
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b LookalikeRow) int {
		return cmp.Or(cmp.Compare(a.Audience, b.Audience), cmp.Compare(a.Platform, b.Platform))
	})
	return out
}
