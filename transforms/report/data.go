package report

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/fileio"
)

// File names under the output folder.
const (
	SummaryFile = "run_summary.json"
	ReportFile  = "report.html"
	HistoryFile = "history/report_history.json"
)

// Value kinds decide how a figure and its change are formatted.
const (
	KindCount = "count" // integer, change as +n (+x%)
	KindMoney = "money" // currency units, change as +n (+x%)
	KindPct   = "pct"   // a percentage, change in percentage points
)

// Data is everything the page shows. Build fills it; Render only formats it.
type Data struct {
	RunDate  string // YYYY-MM-DD
	PrevDate string // the latest earlier run date in the history, "" on the first run
	Run      RunInfo

	Currencies  []CurrencyData
	Segments    []SegmentRow
	Audiences   []AudienceRow
	Lookalikes  []LookalikeRow
	DeadLetters []DeadLetterRow
	Warnings    []string // data problems worth a look (missing tables, charts that failed)

	// Today is the history entry Write records after rendering.
	Today HistoryEntry
}

// RunInfo is the run's own summary.
type RunInfo struct {
	OK        bool
	Runner    string
	Period    string
	StartedAt string
	DurationS float64
	Errors    []string
	RowsRead  []KV
	Tables    []KV
	Counters  []KV
}

// KV is a labelled number.
type KV struct {
	Key   string
	Value float64
	Text  string // preformatted when the value is not a plain number
}

// Figure is one headline number with its value on the previous run.
type Figure struct {
	Key   string // stable id used in data-metric (customers, aov_first, ...)
	Label string
	Kind  string
	Note  string // e.g. the period the figure is for
	Value *float64
	Prev  *float64 // nil on the first run or when it was undefined then
	// LowerIsBetter marks figures whose fall is good news (churn, CAC), so the page
	// colours the change by meaning, not by sign.
	LowerIsBetter bool
	// Neutral: a change is neither good nor bad news (segment and audience sizes).
	Neutral bool
}

// Delta is Value - Prev, nil when either is undefined.
func (f Figure) Delta() *float64 {
	if f.Value == nil || f.Prev == nil {
		return nil
	}
	d := round4(*f.Value - *f.Prev)
	return &d
}

// DeltaPct is the relative change in %, nil for percentages (shown in points), undefined
// values or a zero previous value.
func (f Figure) DeltaPct() *float64 {
	if f.Kind == KindPct || f.Value == nil || f.Prev == nil || *f.Prev == 0 {
		return nil
	}
	d := (*f.Value - *f.Prev) / math.Abs(*f.Prev) * 100
	return &d
}

// CurrencyData is every money-bearing section for one currency.
type CurrencyData struct {
	Currency     string
	LastPeriod   string // label of the last complete period, "" when none
	Figures      []Figure
	Cohorts      CohortGrid
	LTVChart     template.HTML
	AOVChart     template.HTML
	RateChart    template.HTML
	RFM          RFMGrid
	RFMSegments  []NamedCount
	Clusters     []Cluster
	ClusterExtra []string // extra centroid feature names, in column order
	CLV          *CLVData
}

// CohortGrid is the retention heatmap: cohorts (rows) x period offsets (columns).
type CohortGrid struct {
	Offsets []int64
	Rows    []CohortRow
	// Compact: many offsets; cells show whole percents without the sign so the grid fits
	// a laptop screen and a landscape page.
	Compact bool
}

// CohortRow is one cohort.
type CohortRow struct {
	Cohort string
	Size   int64
	Cells  []CohortCell // one per Offsets entry
}

// CohortCell is one heatmap cell; Has is false past the as-of date.
type CohortCell struct {
	Offset    int64
	Has       bool
	Active    int64
	Retention float64
	Style     template.CSS
}

// RFMGrid is the R x F grid: customers and revenue per score cell, best scores first.
type RFMGrid struct {
	Best     int64 // best score value (1 or 5)
	RScores  []int64
	FScores  []int64
	Cells    [][]RFMCell // [r index][f index]
	Unscored int64       // customers without scores (0)
}

// RFMCell is one R x F cell.
type RFMCell struct {
	R, F    int64
	Count   int64
	Revenue float64
	Style   template.CSS
}

// NamedCount is a named group's size and revenue.
type NamedCount struct {
	Name    string
	Count   int64
	Share   float64 // % of customers
	Revenue float64
}

// Cluster is a k-means centroid in original units.
type Cluster struct {
	Index       int64
	Name        string
	Size        int64
	Share       float64
	RecencyDays float64
	Frequency   float64
	Monetary    float64
	Extra       []float64 // values for CurrencyData.ClusterExtra, NaN when absent
}

// CLVData is the predicted CLV distribution and the fitted models.
type CLVData struct {
	Customers int64
	Mean      float64
	Median    float64
	P90       float64
	Total     float64
	Histogram template.HTML
	Clipped   int64 // customers above the histogram's upper edge (p99)
	Models    []CLVModelRow
}

// CLVModelRow is one fitted model.
type CLVModelRow struct {
	Model         string
	Params        []KV
	LogLikelihood float64
	Customers     int64
	TimeUnit      string
	FitDate       string
	Converged     bool
}

// SegmentRow is one segment's size today and on the previous run.
type SegmentRow struct {
	Source  string
	Segment string
	Figure  Figure // KindCount, Key "segment:<source>:<segment>"
}

// AudienceRow is one audience on one platform in this run: who should be in it
// (audience_members) and what its delivery did (sync_log; Status "not delivered" when the run
// wrote no sync_log row for it).
type AudienceRow struct {
	Audience      string
	Platform      string
	Mode          string
	DryRun        bool
	Status        string
	Failed        bool // the status fails the run (failed, guarded)
	Error         string
	Emails        int64 // e-mail identifiers in audience_members
	Phones        int64 // phone identifiers in audience_members
	Members       Figure
	Sent          int64
	Accepted      int64
	Rejected      int64
	Added         int64
	Removed       int64
	Requests      int64
	DurationMs    int64
	RejectReasons []KV
}

// DeadLetterRow is one stage and reason.
type DeadLetterRow struct {
	Stage  string
	Reason string
	Count  int64
}

// HistoryEntry is what one run contributes to report_history.json.
type HistoryEntry struct {
	RunDate string `json:"run_date"`
	// Figures: currency -> figure key -> value; undefined figures are absent.
	Figures map[string]map[string]float64 `json:"figures"`
	// Segments: "<source>:<segment>" -> members.
	Segments map[string]int64 `json:"segments,omitempty"`
	// Audiences: "<audience>/<platform>" -> members.
	Audiences map[string]int64 `json:"audiences,omitempty"`
}

// History is report_history.json: one entry per run date, oldest first.
type History struct {
	Runs []HistoryEntry `json:"runs"`
}

// maxHistory bounds the history file; two years of nightly runs.
const maxHistory = 800

// previous returns the latest entry dated before runDate.
func (h History) previous(runDate string) (HistoryEntry, bool) {
	var best HistoryEntry
	found := false
	for _, e := range h.Runs {
		if e.RunDate < runDate && (!found || e.RunDate > best.RunDate) {
			best, found = e, true
		}
	}
	return best, found
}

// with returns the history with e added, replacing an entry of the same date, sorted by
// date and trimmed to maxHistory entries.
func (h History) with(e HistoryEntry) History {
	out := History{Runs: make([]HistoryEntry, 0, len(h.Runs)+1)}
	for _, r := range h.Runs {
		if r.RunDate != e.RunDate {
			out.Runs = append(out.Runs, r)
		}
	}
	out.Runs = append(out.Runs, e)
	sort.Slice(out.Runs, func(i, j int) bool { return out.Runs[i].RunDate < out.Runs[j].RunDate })
	if n := len(out.Runs); n > maxHistory {
		out.Runs = out.Runs[n-maxHistory:]
	}
	return out
}

func readHistory(ctx context.Context, p string) (History, error) {
	// Only a missing file starts a new history: a failed look (a transient store error)
	// must fail the report, not erase the "change since the previous run" figures.
	if ok, err := fileio.Lookup(ctx, p); err != nil {
		return History{}, fmt.Errorf("report: history %s: %w", p, err)
	} else if !ok {
		return History{}, nil
	}
	b, err := fileio.ReadFile(ctx, p)
	if err != nil {
		return History{}, fmt.Errorf("report: read %s: %w", p, err)
	}
	var h History
	if err := json.Unmarshal(b, &h); err != nil {
		return History{}, fmt.Errorf("report: %s is not valid history JSON (%v): fix or delete it; the next run starts a new history", p, err)
	}
	return h, nil
}
