package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/audiencesync/audiencesync/transforms/fileio"
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

// inputs are the tables of one run, the per-customer ones already aggregated.
type inputs struct {
	summary tables.Summary
	day     int32

	customers map[string]*custAgg // currency -> aggregate
	churned   map[string]int64    // currency -> churn_list rows
	segments  map[[2]string]int64 // (source, segment) -> members
	audIDs    map[[3]string]int64 // (audience, platform, identifier type) -> identifiers
	otherDate map[string]int64    // table -> rows of another run date, left out

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

func readInputs(ctx context.Context, outDir string) (inputs, error) {
	in := inputs{
		customers: map[string]*custAgg{}, churned: map[string]int64{},
		segments: map[[2]string]int64{}, otherDate: map[string]int64{}, audIDs: map[[3]string]int64{},
	}
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
	in.day = int32(day)

	// Tables written by one run hold only its date; a folder that accumulated several
	// dates must not mix them into one figure, so other dates are counted and left out.
	err = scan(ctx, fileio.Join(outDir, "customer_metrics"), func(c custRow) {
		if c.RunDate != in.day {
			in.otherDate["customer_metrics"]++
			return
		}
		a := in.customers[c.Currency]
		if a == nil {
			a = newCustAgg()
			in.customers[c.Currency] = a
		}
		a.add(c)
	})
	if err != nil {
		return in, fmt.Errorf("report: table customer_metrics: %w", err)
	}
	err = scan(ctx, fileio.Join(outDir, "churn_list"), func(c churnRow) {
		if c.RunDate != in.day {
			in.otherDate["churn_list"]++
			return
		}
		in.churned[c.Currency]++
	})
	if err != nil {
		return in, fmt.Errorf("report: table churn_list: %w", err)
	}
	err = scan(ctx, fileio.Join(outDir, "segment_membership"), func(m memberRow) {
		if m.RunDate != in.day {
			in.otherDate["segment_membership"]++
			return
		}
		in.segments[[2]string{m.Source, m.Segment}]++
	})
	if err != nil {
		return in, fmt.Errorf("report: table segment_membership: %w", err)
	}

	// One row per distinct identifier of an audience on a platform: counting rows counts them.
	err = scan(ctx, fileio.Join(outDir, "audience_members"), func(a audienceRow) {
		if a.RunDate != in.day {
			in.otherDate["audience_members"]++
			return
		}
		in.audIDs[[3]string{a.Audience, a.Platform, a.IdentifierType}]++
	})
	if err != nil {
		return in, fmt.Errorf("report: table audience_members: %w", err)
	}

	for _, err := range []error{
		readTable(ctx, outDir, "period_metrics", &in.periods),
		readTable(ctx, outDir, "cohort_retention", &in.cohorts),
		readTable(ctx, outDir, "kmeans_centroids", &in.centroids),
		readTable(ctx, outDir, "sync_log", &in.syncs),
		readTable(ctx, outDir, "clv_model", &in.clv),
	} {
		if err != nil {
			return in, err
		}
	}
	return in, nil
}
