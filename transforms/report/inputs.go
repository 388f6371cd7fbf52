package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/audiencesync/audiencesync/transforms/fileio"
	"github.com/audiencesync/audiencesync/transforms/par"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/parquet-go/parquet-go"
)

// The per-customer tables (customer_metrics, segment_membership, churn_list) have a row
// per customer or more, millions on a big shop. The report reads only the columns it
// needs (parquet-go maps a file onto a smaller struct by column name) and folds the rows
// into aggregates batch by batch, so its memory does not grow with the customer base
// (except 8 bytes per predicted CLV, kept for the quantiles and the histogram).

// custRow is the projection of tables.CustomerMetrics the report uses.
type custRow struct {
	RunDate      int32    `parquet:"run_date,date"`
	Currency     string   `parquet:"currency"`
	Orders       int64    `parquet:"orders"`
	Revenue      float64  `parquet:"revenue"`
	Active       bool     `parquet:"active"`
	RFMRecency   int64    `parquet:"rfm_r"`
	RFMFrequency int64    `parquet:"rfm_f"`
	RFMBest      int64    `parquet:"rfm_best_score"`
	RFMSegment   string   `parquet:"rfm_segment"`
	PredCLV      *float64 `parquet:"pred_clv,optional"`
}

// churnRow is the projection of tables.ChurnList.
type churnRow struct {
	RunDate  int32  `parquet:"run_date,date"`
	Currency string `parquet:"currency"`
}

func (r custRow) runDate() int32   { return r.RunDate }
func (r churnRow) runDate() int32  { return r.RunDate }
func (r memberRow) runDate() int32 { return r.RunDate }

func (r audienceRow) runDate() int32 { return r.RunDate }

// scanRun calls fn for every row of table dated the run's day and counts the others.
func scanRun[T interface{ runDate() int32 }](ctx context.Context, in *Tables, outDir, table string, fn func(T)) error {
	err := scan(ctx, fileio.Join(outDir, table), func(r T) {
		if r.runDate() != in.day {
			in.otherMu.Lock()
			in.otherDate[table]++
			in.otherMu.Unlock()
			return
		}
		fn(r)
	})
	if err != nil {
		return fmt.Errorf("report: table %s: %w", table, err)
	}
	return nil
}

// memberRow is the projection of tables.SegmentMembership.
type memberRow struct {
	RunDate int32  `parquet:"run_date,date"`
	Segment string `parquet:"segment"`
	Source  string `parquet:"source"`
}

// audienceRow is the projection of tables.AudienceMember.
type audienceRow struct {
	RunDate        int32  `parquet:"run_date,date"`
	Audience       string `parquet:"audience"`
	Platform       string `parquet:"platform"`
	IdentifierType string `parquet:"identifier_type"`
}

// custAgg is customer_metrics of one currency folded into what the page shows.
type custAgg struct {
	customers, active, orders int64
	revenue                   float64
	best                      int64 // rfm_best_score
	unscored                  int64
	cells                     map[[2]int64]*rfmAgg // (rfm_r, rfm_f)
	segs                      map[string]*NamedCount
	clv                       []float64
}

type rfmAgg struct {
	count   int64
	revenue float64
}

func newCustAgg() *custAgg {
	return &custAgg{cells: map[[2]int64]*rfmAgg{}, segs: map[string]*NamedCount{}}
}

func (a *custAgg) add(c custRow) {
	a.customers++
	a.orders += c.Orders
	a.revenue += c.Revenue
	if c.Active {
		a.active++
	}
	if c.RFMBest != 0 {
		a.best = c.RFMBest
	}
	if c.RFMRecency <= 0 || c.RFMFrequency <= 0 {
		a.unscored++
	} else {
		k := [2]int64{c.RFMRecency, c.RFMFrequency}
		cell := a.cells[k]
		if cell == nil {
			cell = &rfmAgg{}
			a.cells[k] = cell
		}
		cell.count++
		cell.revenue += c.Revenue
	}
	name := c.RFMSegment
	if name == "" {
		name = "(none)"
	}
	s := a.segs[name]
	if s == nil {
		s = &NamedCount{Name: name}
		a.segs[name] = s
	}
	s.Count++
	s.Revenue += c.Revenue
	if c.PredCLV != nil && !math.IsNaN(*c.PredCLV) {
		a.clv = append(a.clv, *c.PredCLV)
	}
}

// inputs are what the page is built from: the run's summary and its tables.
type inputs struct {
	summary tables.Summary
	*Tables
}

// Tables are the tables of one run as the report needs them, read once (ReadTables): the
// per-customer tables folded into aggregates, the small tables whole. The driver takes the
// sync_log and clv_model rows for the run summary from here too.
type Tables struct {
	day int32

	customers map[string]*custAgg // currency -> aggregate
	churned   map[string]int64    // currency -> churn_list rows
	segments  map[[2]string]int64 // (source, segment) -> members
	audIDs    map[[3]string]int64 // (audience, platform, identifier type) -> identifiers
	otherDate map[string]int64    // table -> rows of another run date, left out
	otherMu   sync.Mutex          // otherDate is counted by concurrent table reads

	periods   []tables.PeriodMetrics
	cohorts   []tables.CohortRetention
	centroids []tables.KMeansCentroid
	syncs     []tables.SyncLog
	clv       []tables.CLVModel
}

// scanBatch is the number of rows decoded at a time.
const scanBatch = 8192

// scan calls fn for every row of every part file of a table folder (a missing folder has
// no rows), decoding only the columns of T.
func scan[T any](ctx context.Context, dir string, fn func(T)) error {
	parts, err := fileio.Glob(ctx, fileio.Join(dir, "part-*.parquet"))
	if err != nil {
		return err
	}
	buf := make([]T, scanBatch)
	for _, p := range parts {
		if err := scanFile(ctx, p, buf, fn); err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
	}
	return nil
}

func scanFile[T any](ctx context.Context, path string, buf []T, fn func(T)) error {
	r, err := fileio.OpenReaderAt(ctx, path)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := parquet.OpenFile(r, r.Size())
	if err != nil {
		return err
	}
	pr := parquet.NewGenericReader[T](f)
	defer pr.Close()
	for {
		n, err := pr.Read(buf)
		for _, row := range buf[:n] {
			fn(row)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func readTable[T any](ctx context.Context, outDir, name string, dst *[]T) error {
	rows, err := parquetio.ReadDir[T](ctx, fileio.Join(outDir, name))
	if err != nil {
		return fmt.Errorf("report: read table %s under %s: %w", name, outDir, err)
	}
	*dst = rows
	return nil
}

// readInputs reads the run summary that the pipeline left in outDir, then the tables: the
// report on its own (Write, Build). The pipeline's driver passes both instead (WriteRun).
func readInputs(ctx context.Context, outDir string) (inputs, error) {
	var in inputs
	sp := fileio.Join(outDir, SummaryFile)
	b, err := fileio.ReadFile(ctx, sp)
	if err != nil {
		return in, fmt.Errorf("report: read %s: %w (the pipeline writes the run summary before the report)", sp, err)
	}
	if err := json.Unmarshal(b, &in.summary); err != nil {
		return in, fmt.Errorf("report: %s is not a run summary: %w", sp, err)
	}
	day, err := value.ParseDay(in.summary.RunDate)
	if err != nil {
		return in, fmt.Errorf("report: %s run_date: %w", sp, err)
	}
	in.Tables, err = ReadTables(ctx, outDir, day)
	return in, err
}

// SyncLog returns the run's sync_log rows.
func (in *Tables) SyncLog() []tables.SyncLog { return in.syncs }

// SetSyncLog sets the run's sync_log rows: the delivery phase writes the table after the
// compute pipeline's tables were read, and hands its rows over instead of a second read.
func (in *Tables) SetSyncLog(rows []tables.SyncLog) { in.syncs = rows }

// CLVModels returns the run's clv_model rows.
func (in *Tables) CLVModels() []tables.CLVModel { return in.clv }

func newTables(runDate value.Day) *Tables {
	return &Tables{
		day:       int32(runDate),
		customers: map[string]*custAgg{}, churned: map[string]int64{},
		segments: map[[2]string]int64{}, otherDate: map[string]int64{}, audIDs: map[[3]string]int64{},
	}
}

// AddRows folds in the rows of one table that another reader of the run's tables already
// decoded (the BigQuery load: the report then needs no read of its own), as ReadTables
// would have read them. rows is the table's []row type (tables.CustomerMetrics, …).
// sync_log and clv_model rows are not added: ReadSummaryTables read them and the delivery
// phase replaced sync_log. It must not run concurrently with itself.
func (in *Tables) AddRows(rows any) {
	switch rs := rows.(type) {
	case []tables.CustomerMetrics:
		addRun(in, "customer_metrics", rs, func(c *tables.CustomerMetrics) int32 { return c.RunDate }, func(c *tables.CustomerMetrics) {
			a := in.customers[c.Currency]
			if a == nil {
				a = newCustAgg()
				in.customers[c.Currency] = a
			}
			a.add(custRow{RunDate: c.RunDate, Currency: c.Currency, Orders: c.Orders, Revenue: c.Revenue, Active: c.Active,
				RFMRecency: c.RFMRecency, RFMFrequency: c.RFMFrequency, RFMBest: c.RFMBest, RFMSegment: c.RFMSegment, PredCLV: c.PredCLV})
		})
	case []tables.ChurnList:
		addRun(in, "churn_list", rs, func(c *tables.ChurnList) int32 { return c.RunDate }, func(c *tables.ChurnList) { in.churned[c.Currency]++ })
	case []tables.SegmentMembership:
		addRun(in, "segment_membership", rs, func(m *tables.SegmentMembership) int32 { return m.RunDate },
			func(m *tables.SegmentMembership) { in.segments[[2]string{m.Source, m.Segment}]++ })
	case []tables.AudienceMember:
		addRun(in, "audience_members", rs, func(a *tables.AudienceMember) int32 { return a.RunDate },
			func(a *tables.AudienceMember) { in.audIDs[[3]string{a.Audience, a.Platform, a.IdentifierType}]++ })
	case []tables.PeriodMetrics:
		in.periods = append(in.periods, rs...)
	case []tables.CohortRetention:
		in.cohorts = append(in.cohorts, rs...)
	case []tables.KMeansCentroid:
		in.centroids = append(in.centroids, rs...)
	}
}

// addRun is scanRun over decoded rows: fn for the rows of the run's day, the others counted.
func addRun[T any](in *Tables, table string, rows []T, date func(*T) int32, fn func(*T)) {
	for i := range rows {
		if date(&rows[i]) != in.day {
			in.otherDate[table]++
			continue
		}
		fn(&rows[i])
	}
}

// ReadSummaryTables reads only what the run summary needs of a run's tables (clv_model and
// sync_log, a few rows each): the driver's read when no report is written.
func ReadSummaryTables(ctx context.Context, outDir string, runDate value.Day) (*Tables, error) {
	in := newTables(runDate)
	for _, err := range []error{
		readTable(ctx, outDir, "sync_log", &in.syncs),
		readTable(ctx, outDir, "clv_model", &in.clv),
	} {
		if err != nil {
			return in, err
		}
	}
	return in, nil
}

// ReadTables reads every table of the run dated runDate under outDir, each once.
func ReadTables(ctx context.Context, outDir string, runDate value.Day) (*Tables, error) {
	in := newTables(runDate)

	// Tables written by one run hold only its date; a folder that accumulated several
	// dates must not mix them into one figure, so other dates are counted and left out.
	// The tables are read concurrently (each fills its own fields; otherDate is shared
	// under a lock): reading them is the report's largest cost.
	reads := []func() error{
		func() error {
			return scanRun(ctx, in, outDir, "customer_metrics", func(c custRow) {
				a := in.customers[c.Currency]
				if a == nil {
					a = newCustAgg()
					in.customers[c.Currency] = a
				}
				a.add(c)
			})
		},
		func() error {
			return scanRun(ctx, in, outDir, "churn_list", func(c churnRow) { in.churned[c.Currency]++ })
		},
		func() error {
			return scanRun(ctx, in, outDir, "segment_membership", func(m memberRow) { in.segments[[2]string{m.Source, m.Segment}]++ })
		},
		func() error {
			// One row per distinct identifier of an audience on a platform: counting rows counts them.
			return scanRun(ctx, in, outDir, "audience_members", func(a audienceRow) { in.audIDs[[3]string{a.Audience, a.Platform, a.IdentifierType}]++ })
		},
		func() error { return readTable(ctx, outDir, "period_metrics", &in.periods) },
		func() error { return readTable(ctx, outDir, "cohort_retention", &in.cohorts) },
		func() error { return readTable(ctx, outDir, "kmeans_centroids", &in.centroids) },
		func() error { return readTable(ctx, outDir, "sync_log", &in.syncs) },
		func() error { return readTable(ctx, outDir, "clv_model", &in.clv) },
	}
	// par.Map returns the error of the first read in the order above, whatever failed first.
	if _, err := par.Map(len(reads), reads, func(_ int, read func() error) (struct{}, error) { return struct{}{}, read() }); err != nil {
		return in, err
	}
	return in, nil
}
