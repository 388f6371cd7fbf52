package sources

// bq:// inputs are planned into Storage Read API streams (one Beam split each) and read
// through bigquery.go, on the connection of sinks/bigquery.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/transforms/orders"
)

// IsBigQuery reports whether path is a bq:// address.
func IsBigQuery(path string) bool { return strings.HasPrefix(path, "bq://") }

// BQConfigFor fills the project (and a dataset, which reading does not use) from the source
// when the config leaves them empty, so that bq:// inputs work without a sink config.
func BQConfigFor(cfg bigquery.Config, src string) (bigquery.Config, error) {
	s, err := ParseBQSource(src)
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

// PlanBigQuery cuts a bq:// input into read streams.
func PlanBigQuery(ctx context.Context, cfg bigquery.Config, input, src string) ([]Split, error) {
	schema, ok := orders.SchemaFor(input)
	if !ok {
		return nil, fmt.Errorf("unknown input %q", input)
	}
	cfg, err := BQConfigFor(cfg, src)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Defaults().Timeout)
	defer cancel()
	c, err := bigquery.NewClient(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	sps, err := BQSplits(ctx, c, src, schema.Columns(), cfg.Defaults().ReadStreams)
	if err != nil {
		return nil, cfg.TimedOut(ctx, "planning "+src, err)
	}
	var out []Split
	for i, sp := range sps {
		if _, err := schema.Bind(src, sp.Header); err != nil {
			return nil, err
		}
		ext, err := json.Marshal(sp)
		if err != nil {
			return nil, err
		}
		out = append(out, Split{Input: input, Path: src, Format: "bq", Start: int64(i), End: int64(i) + 1, FirstLine: 1, Header: sp.Header, Ext: ext})
	}
	return out, nil
}

// BQReader reads bq splits; it implements nightly.External. One client per source project,
// made on first use.
type BQReader struct {
	Config bigquery.Config

	mu      sync.Mutex
	clients map[string]*bigquery.Client
}

// ReadSplit reads one stream.
func (r *BQReader) ReadSplit(ctx context.Context, s Split, emit func([]string) error) error {
	var sp BQSplit
	if err := json.Unmarshal(s.Ext, &sp); err != nil {
		return fmt.Errorf("%s: bad split: %w", s.Path, err)
	}
	cfg, err := BQConfigFor(r.Config, s.Path)
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
	// The stream fails when it stalls: no row for the whole timeout.
	rctx, touch, cancel := idleContext(ctx, cfg.Defaults().Timeout)
	defer cancel()
	n := 0
	err = BQReadSplit(rctx, c, sp, func(row []string) error {
		if n++; n%1024 == 0 {
			touch()
		}
		return emit(row)
	})
	return cfg.TimedOut(rctx, s.Path+": reading stream "+strconv.FormatInt(s.Start, 10)+" (no row for that long)", err)
}

// idleContext is ctx cancelled with cause DeadlineExceeded once touch has not been called
// for d.
func idleContext(ctx context.Context, d time.Duration) (context.Context, func(), context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := time.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return ctx, func() { t.Reset(d) }, func() { t.Stop(); cancel(context.Canceled) }
}

// Close releases the clients.
func (r *BQReader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.clients {
		c.Close()
	}
	r.clients = nil
}

// CheckBQColumns fails fast, before the run, when a bq:// table lacks a required column.
// Query sources are checked when they are planned (running them here would run them twice).
func CheckBQColumns(ctx context.Context, cfg bigquery.Config, input, src string) error {
	s, err := ParseBQSource(src)
	if err != nil {
		return fmt.Errorf("--%s: %w", input, err)
	}
	if s.Query != "" {
		return nil
	}
	cfg, err = BQConfigFor(cfg, src)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Defaults().Timeout)
	defer cancel()
	c, err := bigquery.NewClient(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	md, err := c.BigQuery().DatasetInProject(s.Project, s.Dataset).Table(s.Table).Metadata(ctx)
	if err != nil {
		return fmt.Errorf("--%s %s: %w", input, src, cfg.TimedOut(ctx, "checking its columns", err))
	}
	var cols []string
	for _, f := range md.Schema {
		cols = append(cols, f.Name)
	}
	schema, _ := orders.SchemaFor(input)
	_, err = schema.Bind(src, cols)
	return err
}
