// Package bqio loads the finished Parquet tables into BigQuery (one load job per table,
// replacing the run date's partition). Reading bq:// inputs is in transforms/sources.
package bqio

import (
	"context"
	"fmt"

	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// WriteTables loads every table found under outDir into the dataset. each, when not nil,
// gets every table's rows as read (see bigquery.Client.WriteOutputDirEach).
func WriteTables(ctx context.Context, cfg bigquery.Config, outDir string, runDate value.Day, applySQL bool, each func(rows any)) (map[string]int64, error) {
	cfg = cfg.Defaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	n, err := writeTables(ctx, cfg, outDir, runDate, applySQL, each)
	return n, cfg.TimedOut(ctx, "the load", err)
}

func writeTables(ctx context.Context, cfg bigquery.Config, outDir string, runDate value.Day, applySQL bool, each func(rows any)) (map[string]int64, error) {
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
	n, err := c.WriteOutputDirEach(ctx, outDir, runDate, each)
	if err == nil && len(n) == 0 {
		err = fmt.Errorf("no table found under %s to load", outDir)
	}
	return n, err
}
