// Package bqio connects the nightly pipeline to BigQuery: bq:// inputs are planned into
// Storage Read API streams (one Beam split each) and read through sinks/bigquery, and the
// finished Parquet tables are loaded into the dataset (one load job per table, replacing
// the run date's partition).
package bqio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// IsSource reports whether path is a bq:// address.
func IsSource(path string) bool { return strings.HasPrefix(path, "bq://") }

// ForSource fills the project (and a dataset, which reading does not use) from the source
// when the config leaves them empty, so that bq:// inputs work without a sink config.
func ForSource(cfg bigquery.Config, src string) (bigquery.Config, error) {
	s, err := bigquery.ParseSource(src)
	if err != nil {
		return cfg, err
	}
	if cfg.Project == "" {
		cfg.Project = s.Project
	}
	if cfg.Dataset == "" {
		cfg.Dataset = s.Dataset
		if cfg.Dataset == "" {
			cfg.Dataset = "unused"
		}
	}
	return cfg, nil
}

// Plan cuts a bq:// input into read streams.
func Plan(ctx context.Context, cfg bigquery.Config, input, src string) ([]orders.Split, error) {
	schema, ok := orders.SchemaFor(input)
	if !ok {
		return nil, fmt.Errorf("unknown input %q", input)
	}
	cfg, err := ForSource(cfg, src)
	if err != nil {
		return nil, err
	}
	c, err := bigquery.NewClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	sps, err := c.Splits(ctx, src, schema.Columns(), cfg.Defaults().ReadStreams)
	if err != nil {
		return nil, err
	}
	var out []orders.Split
	for i, sp := range sps {
		if _, err := schema.Bind(src, sp.Header); err != nil {
			return nil, err
		}
		ext, err := json.Marshal(sp)
		if err != nil {
			return nil, err
		}
		out = append(out, orders.Split{Input: input, Path: src, Format: "bq", Start: int64(i), End: int64(i) + 1, FirstLine: 1, Header: sp.Header, Ext: ext})
	}
	return out, nil
}

// Reader reads bq splits; it implements nightly.External. One client per source project,
// made on first use.
type Reader struct {
	Config bigquery.Config

	mu      sync.Mutex
	clients map[string]*bigquery.Client
}

// ReadSplit reads one stream.
func (r *Reader) ReadSplit(ctx context.Context, s orders.Split, emit func([]string) error) error {
	var sp bigquery.Split
	if err := json.Unmarshal(s.Ext, &sp); err != nil {
		return fmt.Errorf("%s: bad split: %w", s.Path, err)
	}
	cfg, err := ForSource(r.Config, s.Path)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.clients == nil {
		r.clients = map[string]*bigquery.Client{}
	}
	c := r.clients[cfg.Project]
	if c == nil {
		if c, err = bigquery.NewClient(ctx, cfg); err != nil {
			r.mu.Unlock()
			return err
		}
		r.clients[cfg.Project] = c
	}
	r.mu.Unlock()
	return c.ReadSplit(ctx, sp, emit)
}

// Close releases the clients.
func (r *Reader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.Close()
	}
	r.clients = nil
}

// CheckColumns fails fast, before the run, when a bq:// table lacks a required column.
// Query sources are checked when they are planned (running them here would run them twice).
func CheckColumns(ctx context.Context, cfg bigquery.Config, input, src string) error {
	s, err := bigquery.ParseSource(src)
	if err != nil {
		return fmt.Errorf("--%s: %w", input, err)
	}
	if s.Query != "" {
		return nil
	}
	cfg, err = ForSource(cfg, src)
	if err != nil {
		return err
	}
	c, err := bigquery.NewClient(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	md, err := c.BigQuery().DatasetInProject(s.Project, s.Dataset).Table(s.Table).Metadata(ctx)
	if err != nil {
		return fmt.Errorf("--%s %s: %w", input, src, err)
	}
	var cols []string
	for _, f := range md.Schema {
		cols = append(cols, f.Name)
	}
	schema, _ := orders.SchemaFor(input)
	_, err = schema.Bind(src, cols)
	return err
}

// MaxOrderDay is the latest ordered_at of a bq:// orders input (for the default --as_of).
func MaxOrderDay(ctx context.Context, cfg bigquery.Config, src string) (value.Day, bool, error) {
	s, err := bigquery.ParseSource(src)
	if err != nil {
		return 0, false, err
	}
	from := fmt.Sprintf("`%s.%s.%s`", s.Project, s.Dataset, s.Table)
	if s.Query != "" {
		from = "(" + s.Query + ")"
	}
	cfg, err = ForSource(cfg, src)
	if err != nil {
		return 0, false, err
	}
	c, err := bigquery.NewClient(ctx, cfg)
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	q := "bq://" + s.Project + "?query=" + url.QueryEscape("SELECT MAX(ordered_at) AS ordered_at FROM "+from)
	var max value.Day
	found := false
	err = c.ReadRows(ctx, q, []string{"ordered_at"}, nil, func(row []string) error {
		if len(row) > 0 {
			if t, ok := orders.ParseTime(row[0]); ok {
				max, found = value.DayOf(t), true
			}
		}
		return nil
	})
	return max, found, err
}

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
