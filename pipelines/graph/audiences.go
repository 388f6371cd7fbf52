package graph

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/score"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// The audience stage of the compute pipeline: today's identifiers of every audience on
// every platform, written as the audience_members table. It consumes only
// score.Scored.Segmented; sending them is the delivery phase after the pipeline
// (sinks/delivery).

// buildAudiences adds the audience stage.
// In: KV<int, score.Segmented>.
// Writes: audience_members (audience.WriteMembers).
func buildAudiences(s beam.Scope, segmented beam.PCollection, c Config) {
	s = s.Scope("audiences")
	batches := beam.ParDo(s, &membersFn{Targets: c.Audiences}, segmented)
	audience.WriteMembers(s, batches, c.Audiences, c.Output, c.RunDate)
}

func init() {
	register.DoFn3x1[int, score.Segmented, func(string, audience.Batch), error](&membersFn{})
}

// membersFn turns one bucket's segmented customers into each target's identifiers
// (KV<target key, audience.Batch>), in the same fused stage as the scoring.
type membersFn struct {
	Targets []audience.Target

	members *audience.Members
}

func (f *membersFn) Setup() (err error) {
	f.members, err = audience.NewMembers(f.Targets)
	return err
}

func (f *membersFn) ProcessElement(_ int, x score.Segmented, emit func(string, audience.Batch)) error {
	segments := make(map[string][]string, len(x.Records))
	hashed := make(map[string]*contacts.Hashed, len(x.Records))
	var values []tables.CustomerMetrics
	for i := range x.Records {
		id := x.Records[i].CustomerID
		segments[id], hashed[id] = x.Segments[i], &x.Records[i].Hashed
		if i < len(x.Values) {
			values = append(values, x.Values[i]...)
		}
	}
	f.members.EmitBatches(segments, func(id string) *contacts.Hashed { return hashed[id] }, values, emit)
	return nil
}
