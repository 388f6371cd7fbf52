// Package bqio loads the finished Parquet tables into BigQuery (one load job per table,
// replacing the run date's partition). Reading bq:// inputs is in transforms/sources.
package bqio

import (
	"context"
	"fmt"

	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// WriteTables loads every table found under outDir into the dataset.
func WriteTables(ctx context.Context, cfg bigquery.Config, outDir string, runDate value.Day, applySQL bool) (map[string]int64, error) {
	c, err := bigquery.NewClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if applySQL {
		if err := bigquery.ApplySQL(ctx, c); err != nil {
			return nil, err
		}
	}
	n, err := c.WriteOutputDir(ctx, outDir, runDate)
	if err == nil && len(n) == 0 {
		err = fmt.Errorf("no table found under %s to load", outDir)
	}
	return n, err
}
