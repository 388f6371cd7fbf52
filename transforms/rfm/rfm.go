package rfm

import (
	"fmt"
	"math"
	"slices"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Values are one customer's raw RFM measures as of a run date.
type Values struct {
	RecencyDays int64       // as-of date minus the day of the last counted order before it (any age; >= 1)
	Frequency   int64       // counted orders in the look-back window (see Window)
	Monetary    value.Money // revenue of those orders
}

// Window is the look-back window of a run as of asOf: the half-open day range [from, to) =
// [asOf - lookbackDays, asOf), the same window as "active" in transforms/metrics. asOf itself
// is never in it (a run as of a date sees the orders before that date), an order exactly
// lookbackDays days before asOf is in, one a day older is out. lookbackDays = 0 means all
// history: from is then the smallest Day.
func Window(asOf value.Day, lookbackDays int) (from, to value.Day) {
	if lookbackDays <= 0 {
		return math.MinInt32, asOf
	}
	return asOf - value.Day(lookbackDays), asOf
}

// Measure computes the customer's Values as of asOf, from the orders dated before asOf (a
// rerun of a past night gives the same numbers): recency counts from the last of them (so it
// is at least 1), frequency and monetary count those in Window(asOf, lookbackDays). ok is
// false when the customer has no counted order before asOf.
func Measure(c *facts.Customer, asOf value.Day, lookbackDays int) (v Values, ok bool) {
	upto := c.Window(math.MinInt32, asOf)
	if len(upto) == 0 {
		return Values{}, false
	}
	v.RecencyDays = int64(asOf - upto[len(upto)-1].Day)
	from, to := Window(asOf, lookbackDays)
	for _, p := range c.Window(from, to) {
		v.Frequency++
		v.Monetary += p.Amount
	}
	return v, true
}

// Summary is an exact, mergeable histogram of every scored customer's Values: distinct value
// -> number of customers, per column. Recency and frequency are small integers; monetary is
// keyed by exact Money units, so even 2M customers with all-distinct revenues stay a few tens
// of MB. The zero value is not usable; call NewSummary.
type Summary struct {
	Customers int64
	Recency   map[int64]int64
	Frequency map[int64]int64
	Monetary  map[int64]int64 // key: value.Money units
}

// NewSummary returns an empty summary.
func NewSummary() *Summary {
	return &Summary{Recency: map[int64]int64{}, Frequency: map[int64]int64{}, Monetary: map[int64]int64{}}
}

// Add counts one customer.
func (s *Summary) Add(v Values) {
	s.Customers++
	s.Recency[v.RecencyDays]++
	s.Frequency[v.Frequency]++
	s.Monetary[int64(v.Monetary)]++
}

// Merge adds every count of o into s (o is not modified). Merging is associative and
// commutative, so the order of bundles does not matter.
func (s *Summary) Merge(o *Summary) {
	s.Customers += o.Customers
	for k, n := range o.Recency {
		s.Recency[k] += n
	}
	for k, n := range o.Frequency {
		s.Frequency[k] += n
	}
	for k, n := range o.Monetary {
		s.Monetary[k] += n
	}
}

// MergeSummaries is Merge as a function for a combiner: it merges b into a and returns a.
func MergeSummaries(a, b *Summary) *Summary {
	a.Merge(b)
	return a
}

// Cutpoints are the fitted thresholds. For a column with thresholds t (len Bins-1,
// non-decreasing) a value v is in group 1 + #{i : v >= t[i]} (1 = lowest values); Score turns
// groups into scores in the direction of the bin convention. Thresholds equal to MinInt64 /
// MaxInt64 mark groups that every / no value reaches. Exported fields so that a runner can
// serialise it as a side input; it is also readable ("frequency >= 2 is group 2 or better").
type Cutpoints struct {
	Bins      int
	Recency   []int64
	Frequency []int64
	Monetary  []int64 // value.Money units
}

// Fit computes the cutpoints of the summary for 3 or 5 bins (see the package doc for the
// exact rule).
func Fit(s *Summary, bins int) (Cutpoints, error) {
	if bins != 3 && bins != 5 {
		return Cutpoints{}, fmt.Errorf("rfm: %d bins are not supported (use 3 or 5)", bins)
	}
	return Cutpoints{
		Bins:      bins,
		Recency:   cuts(s.Recency, bins),
		Frequency: cuts(s.Frequency, bins),
		Monetary:  cuts(s.Monetary, bins),
	}, nil
}

// cuts implements the quantile rule of the package doc for one column.
func cuts(hist map[int64]int64, bins int) []int64 {
	vals := make([]int64, 0, len(hist))
	for v, n := range hist {
		if n > 0 {
			vals = append(vals, v)
		}
	}
	slices.Sort(vals)
	d := len(vals)
	t := make([]int64, bins-1)
	switch {
	case d <= 1:
		mid := (bins + 1) / 2
		for b := 2; b <= bins; b++ {
			if b <= mid {
				t[b-2] = math.MinInt64
			} else {
				t[b-2] = math.MaxInt64
			}
		}
	case d < bins:
		// Group of value j is 1 + round(j*(bins-1)/(d-1)); threshold of group b is the
		// smallest value whose group is >= b.
		j := 0
		for b := 2; b <= bins; b++ {
			for 1+(2*j*(bins-1)+(d-1))/(2*(d-1)) < b {
				j++
			}
			t[b-2] = vals[j]
		}
	default:
		var n int64
		for _, v := range vals {
			n += hist[v]
		}
		prev := -1 // index of the last value of the previous group
		var cum int64
		j := -1 // index of the last value whose count is in cum
		for k := 1; k < bins; k++ {
			// Smallest j > prev with cum(j)*bins >= k*n.
			for j <= prev || cum*int64(bins) < int64(k)*n {
				j++
				cum += hist[vals[j]]
			}
			last := j
			if maxJ := d - 1 - (bins - k); last > maxJ {
				last = maxJ
			}
			if last < prev+1 {
				last = prev + 1
			}
			t[k-1] = vals[last+1]
			prev = last
			// Rewind cum to prev so the next search starts right after this group.
			for j > prev {
				cum -= hist[vals[j]]
				j--
			}
		}
	}
	return t
}

func group(t []int64, v int64) int {
	g := 1
	for _, c := range t {
		if v >= c {
			g++
		}
	}
	return g
}

// Best is the best score value: 1 with 3 bins (marketing convention), Bins with 5.
func (c Cutpoints) Best() int {
	if c.Bins == 3 {
		return 1
	}
	return c.Bins
}

// Score returns the R, F and M scores of one customer's values.
func (c Cutpoints) Score(recencyDays, frequency int64, monetary value.Money) (r, f, m int) {
	gr := group(c.Recency, recencyDays)
	gf := group(c.Frequency, frequency)
	gm := group(c.Monetary, int64(monetary))
	inv := func(g int) int { return c.Bins + 1 - g }
	if c.Best() == 1 {
		// Low recency is best and best is 1: group 1 (most recent) is score 1.
		return gr, inv(gf), inv(gm)
	}
	return inv(gr), gf, gm
}

// Scores is one customer's RFM result.
type Scores struct {
	R, F, M int
	Best    int    // the best score value (1 or 5)
	Segment string // from the R x F grid
}

// String is the R-F-M combination, e.g. "1-1-1".
func (s Scores) String() string { return fmt.Sprintf("%d-%d-%d", s.R, s.F, s.M) }

// Fill writes the scores into the RFM columns of a customer_metrics row.
func (s Scores) Fill(row *tables.CustomerMetrics) {
	row.RFMRecency = int64(s.R)
	row.RFMFrequency = int64(s.F)
	row.RFMMonetary = int64(s.M)
	row.RFMScore = s.String()
	row.RFMBest = int64(s.Best)
	row.RFMSegment = s.Segment
}

// Model is everything needed to score a customer: the fitted cutpoints and the segment grid.
// Build it once with Config.NewModel and pass it to the per-bucket code (all fields exported
// so a runner can serialise it).
type Model struct {
	Cut Cutpoints
	// Cells[(r-1)*Bins+(f-1)] is the segment name of the cell R=r, F=f.
	Cells []string
}

// Score scores one customer's values and names their segment.
func (m *Model) Score(v Values) Scores {
	r, f, mm := m.Cut.Score(v.RecencyDays, v.Frequency, v.Monetary)
	return Scores{R: r, F: f, M: mm, Best: m.Cut.Best(), Segment: m.Cells[(r-1)*m.Cut.Bins+(f-1)]}
}
