package report_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/report/reporttest"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// BenchmarkBuildRender200k measures Build + Render over a run with 200,000 customers
// (customer_metrics, two segment memberships each) on top of the demo's other tables.
func BenchmarkBuildRender200k(b *testing.B) {
	ds := reporttest.Demo(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), 2000, 18, 3)
	base := ds.CustomerMetrics
	ds.CustomerMetrics, ds.Segments = nil, nil
	for i := range 200_000 {
		c := base[i%len(base)]
		c.CustomerID = fmt.Sprintf("c%07d", i)
		ds.CustomerMetrics = append(ds.CustomerMetrics, c)
		ds.Segments = append(ds.Segments,
			tables.SegmentMembership{RunDate: c.RunDate, CustomerID: c.CustomerID, Segment: c.RFMSegment, Source: "rfm"},
			tables.SegmentMembership{RunDate: c.RunDate, CustomerID: c.CustomerID, Segment: c.ClusterName, Source: "kmeans"})
	}
	dir := b.TempDir()
	ctx := context.Background()
	if err := reporttest.WriteDir(ctx, dir, ds); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		d, err := report.Build(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		if err := report.Render(io.Discard, d); err != nil {
			b.Fatal(err)
		}
	}
}
