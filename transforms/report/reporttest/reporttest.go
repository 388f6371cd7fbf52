// Package reporttest writes report inputs (the output tables and run_summary.json) into a
// folder, so the report can be rendered without running the pipeline: the unit tests
// write small hand-made datasets, and Demo makes a larger synthetic one for the browser
// test and the README screenshot.
package reporttest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

// Dataset is one run's report inputs.
type Dataset struct {
	Summary         tables.Summary
	CustomerMetrics []tables.CustomerMetrics
	PeriodMetrics   []tables.PeriodMetrics
	CohortRetention []tables.CohortRetention
	ChurnList       []tables.ChurnList
	Segments        []tables.SegmentMembership
	KMeansCentroids []tables.KMeansCentroid
	AudienceMembers []tables.AudienceMember
	SyncLog         []tables.SyncLog
	CLVModel        []tables.CLVModel
}

func writeTable[T any](ctx context.Context, dir, name string, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	return parquetio.WriteFile(ctx, fileio.Join(dir, name, parquetio.PartName(0)), rows)
}

// WriteDir writes every non-empty table as dir/<table>/part-00000.parquet and the summary
// as dir/run_summary.json, the layout the pipeline writes.
func WriteDir(ctx context.Context, dir string, d Dataset) error {
	for _, err := range []error{
		writeTable(ctx, dir, "customer_metrics", d.CustomerMetrics),
		writeTable(ctx, dir, "period_metrics", d.PeriodMetrics),
		writeTable(ctx, dir, "cohort_retention", d.CohortRetention),
		writeTable(ctx, dir, "churn_list", d.ChurnList),
		writeTable(ctx, dir, "segment_membership", d.Segments),
		writeTable(ctx, dir, "kmeans_centroids", d.KMeansCentroids),
		writeTable(ctx, dir, "audience_members", d.AudienceMembers),
		writeTable(ctx, dir, "sync_log", d.SyncLog),
		writeTable(ctx, dir, "clv_model", d.CLVModel),
	} {
		if err != nil {
			return fmt.Errorf("reporttest: %w", err)
		}
	}
	b, err := json.MarshalIndent(d.Summary, "", "  ")
	if err != nil {
		return err
	}
	return fileio.WriteFile(ctx, fileio.Join(dir, "run_summary.json"), b)
}
