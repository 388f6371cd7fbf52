package graph

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/model"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/score"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Config is everything the graph needs; plain data.
type Config struct {
	RunDate  value.Day // metrics are computed as of the start of this day
	Sources  []nightly.Source
	Output   string             // tables and dead letters are written here
	Read     nightly.ReadConfig // buckets, split size, today, time zone, contacts, BigQuery (RunDate is set from RunDate)
	Settings model.Settings     // metrics, RFM, k-means, segments, CLV (Metrics.RunDate is set from RunDate)
	StateDir string             // segment history (and audience state); "" keeps no history
	// HistoryOut is where this run's segment history is written (the run's state staging,
	// published with the run by pipelines/run); "" writes it to StateDir.
	HistoryOut string
	// Audiences are the targets whose members make the audience_members table; none builds
	// no audiences (their delivery is a phase of its own, sinks/delivery).
	Audiences []audience.Target
}

// Outputs are the graph's PCollections that tests and callers may look at.
type Outputs struct {
	Models beam.PCollection // *model.Models, one element
	Scored score.Scored
}

// Build adds the nightly compute pipeline to s: read → join → bucket → aggregate and fit
// → score → tables and dead letters (the audience stage, when configured, hangs off the
// scored buckets: audiences.go).
func Build(s beam.Scope, c Config) (*Outputs, error) {
	if c.Read.Buckets <= 0 {
		return nil, fmt.Errorf("graph: buckets must be > 0")
	}
	s = s.Scope("audiencesync.Nightly")
	c.Read.RunDate, c.Settings.Metrics.RunDate = c.RunDate, c.RunDate
	out := c.Output

	in := nightly.Read(s, beam.CreateList(s, c.Sources), c.Read)
	joined, joinDead := nightly.Join(s, in.ByOrder, c.Read)
	batches := beam.Flatten(s, in.ByCustomer, joined) // KV<bucket, nightly.CustomerBatch>
	buckets := nightly.GroupBuckets(s, batches)

	fit := model.Fit(s, model.Aggregate(s, buckets, in.Spend, c.Settings), c.Settings)
	tables.Write[tables.PeriodMetrics](s, out, fit.Periods)
	tables.Write[tables.CohortRetention](s, out, fit.Cohorts)
	if c.Settings.CLVEnabled {
		tables.Write[tables.CLVModel](s, out, fit.CLVModels)
	}

	scored := score.Score(s, batches, fit.Models, score.Config{Settings: c.Settings, StateDir: c.StateDir, HistoryOut: c.HistoryOut,
		Buckets: c.Read.Buckets, WithContacts: len(c.Audiences) > 0})
	tables.Write[tables.CustomerMetrics](s, out, scored.Customers)
	tables.Write[tables.ChurnList](s, out, scored.Churn)
	tables.Write[tables.SegmentMembership](s, out, scored.Membership)
	if c.Settings.KMeansEnabled {
		tables.Write[tables.KMeansCentroid](s, out, score.Centroids(s, scored.Customers, fit.Models, c.RunDate))
	}
	if len(c.Audiences) > 0 {
		buildAudiences(s, scored.Segmented, c)
	}

	nightly.WriteDeadLetters(s, out, in.Dead, joinDead, fit.Dead, scored.Dead)
	return &Outputs{Models: fit.Models, Scored: scored}, nil
}
