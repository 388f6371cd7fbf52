package rfm

import (
	"math"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/google/go-cmp/cmp"
)

// The look-back window is [asOf-W, asOf), like "active" in transforms/metrics: an order
// exactly W days before asOf is in, W+1 days before is out, and an order on asOf never counts
// (for recency either). Expected values worked out by hand from the dated orders below.
func TestMeasureWindow(t *testing.T) {
	asOf := value.DayFromDate(2025, 6, 30)
	c := &facts.Customer{CustomerID: "c1", Purchases: []facts.Purchase{
		{OrderID: "o0", Day: asOf - 366, Amount: 1 * value.MoneyScale},  // W+1 days before: out
		{OrderID: "o1", Day: asOf - 365, Amount: 10 * value.MoneyScale}, // exactly W days before: in
		{OrderID: "o2", Day: asOf - 364, Amount: 20 * value.MoneyScale},
		{OrderID: "o3", Day: asOf - 7, Amount: 5 * value.MoneyScale},
		{OrderID: "o4", Day: asOf, Amount: 40 * value.MoneyScale},     // on the as-of date: never counts
		{OrderID: "o5", Day: asOf + 1, Amount: 99 * value.MoneyScale}, // after the as-of date: ignored
	}}
	money := func(units int64) value.Money { return value.Money(units) * value.MoneyScale }
	cases := []struct {
		name     string
		asOf     value.Day
		lookback int
		want     Values
		ok       bool
	}{
		// o1, o2, o3: 10 + 20 + 5; the last order before asOf is o3, 7 days before.
		{"365 days", asOf, 365, Values{RecencyDays: 7, Frequency: 3, Monetary: money(35)}, true},
		// 364 days: [asOf-364, asOf) drops o1.
		{"364 days", asOf, 364, Values{RecencyDays: 7, Frequency: 2, Monetary: money(25)}, true},
		// 366 days: [asOf-366, asOf) takes o0 too.
		{"366 days", asOf, 366, Values{RecencyDays: 7, Frequency: 4, Monetary: money(36)}, true},
		// All history: o0..o3, still not o4 or o5.
		{"all history", asOf, 0, Values{RecencyDays: 7, Frequency: 4, Monetary: money(36)}, true},
		// 7 days: [asOf-7, asOf) holds o3; 6 days does not.
		{"7 days", asOf, 7, Values{RecencyDays: 7, Frequency: 1, Monetary: money(5)}, true},
		{"6 days", asOf, 6, Values{RecencyDays: 7, Frequency: 0, Monetary: 0}, true},
		// As of the day after o4: o4 is 1 day old and in a 1-day window.
		{"day after o4", asOf + 1, 1, Values{RecencyDays: 1, Frequency: 1, Monetary: money(40)}, true},
		// Only old orders (o0, o1, o2 before asOf-300): frequency 0, recency from o2 = 64 days.
		{"old orders only", asOf - 300, 30, Values{RecencyDays: 64, Frequency: 0, Monetary: 0}, true},
		// As of the first order's day: nothing before it, the customer is not scored.
		{"as of the first order", asOf - 366, 365, Values{}, false},
		{"as of the day after it", asOf - 365, 1, Values{RecencyDays: 1, Frequency: 1, Monetary: money(1)}, true},
		{"before any order", asOf - 500, 365, Values{}, false},
	}
	for _, tc := range cases {
		got, ok := Measure(c, tc.asOf, tc.lookback)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: Measure(asOf %s, %d) = %+v, %v; want %+v, %v", tc.name, tc.asOf, tc.lookback, got, ok, tc.want, tc.ok)
		}
	}
	// A customer whose only order is on the as-of date has no counted order yet.
	only := &facts.Customer{CustomerID: "c2", Purchases: []facts.Purchase{{OrderID: "x", Day: asOf, Amount: money(3)}}}
	if v, ok := Measure(only, asOf, 365); ok {
		t.Errorf("only order on asOf: Measure = %+v, ok = true; want not scored", v)
	}
}

func TestWindow(t *testing.T) {
	asOf := value.DayFromDate(2025, 3, 1)
	if from, to := Window(asOf, 365); from != value.DayFromDate(2024, 3, 1) || to != asOf {
		// 2024 is a leap year: 2024-03-01 + 365 days = 2025-03-01.
		t.Errorf("Window(2025-03-01, 365) = [%s, %s), want [2024-03-01, 2025-03-01)", from, to)
	}
	if from, to := Window(asOf, 0); from != math.MinInt32 || to != asOf {
		t.Errorf("Window(all history) = [%d, %s)", from, to)
	}
}

func summaryOf(rec, freq, mon []int64) *Summary {
	s := NewSummary()
	for i := range rec {
		s.Add(Values{RecencyDays: rec[i], Frequency: freq[i], Monetary: value.Money(mon[i])})
	}
	return s
}

// The frequency column is skewed (14 of 20 customers have one order), recency has ties and
// monetary has a single distinct value. Expected groups worked out by hand from the rule in
// doc.go; see the comments.
func fixture() *Summary {
	// Recency: 0 x2, 1 x3, 2, 3 x2, 4, 5, and ten more customers at 5 (so N=20).
	rec := []int64{0, 0, 1, 1, 1, 2, 3, 3, 4, 5}
	// Frequency: 1 x14, 2 x2, 3, 4, 5, 7.
	freq := []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 5, 7}
	for len(rec) < len(freq) {
		rec = append(rec, 5)
	}
	mon := make([]int64, len(freq))
	for i := range mon {
		mon[i] = 100 * value.MoneyScale
	}
	return summaryOf(rec, freq, mon)
}

func TestFitFiveBins(t *testing.T) {
	cp, err := Fit(fixture(), 5)
	if err != nil {
		t.Fatal(err)
	}
	// Frequency, N=20, targets 4, 8, 12, 16; cumulative counts 1:14 2:16 3:17 4:18 5:19 7:20.
	// k=1: first value reaching 4 is 1 -> group {1}; k=2: next value reaching 8 is 2 -> {2};
	// k=3: {3}; k=4: {4}; group 5 = {5, 7}. Thresholds = first value of groups 2..5.
	if want := []int64{2, 3, 4, 5}; !cmp.Equal(cp.Frequency, want) {
		t.Errorf("frequency cutpoints = %v, want %v", cp.Frequency, want)
	}
	// Recency, N=20: counts 0:2 1:3 2:1 3:2 4:1 5:11, cumulative 2,5,6,8,9,20, d=6;
	// targets 4, 8, 12, 16. Group k may end no later than index d-1-(bins-k) so that the
	// later groups get one value each:
	//   k=1: first reaching 4 is index 1 (value 1), cap 1 -> {0,1}, threshold 2;
	//   k=2: first reaching 8 is index 3, cap 2 -> {2}, threshold 3;
	//   k=3: first reaching 12 is index 5, cap 3 -> {3}, threshold 4;
	//   k=4: cap 4 -> {4}, threshold 5; group 5 = {5}.
	if want := []int64{2, 3, 4, 5}; !cmp.Equal(cp.Recency, want) {
		t.Errorf("recency cutpoints = %v, want %v", cp.Recency, want)
	}
	// Monetary: one distinct value -> everyone in the middle group 3.
	if want := []int64{math.MinInt64, math.MinInt64, math.MaxInt64, math.MaxInt64}; !cmp.Equal(cp.Monetary, want) {
		t.Errorf("monetary cutpoints = %v, want %v", cp.Monetary, want)
	}
	checkScores(t, cp, 3, 5, []scoreCase{
		{0, 1, 5, 1}, {1, 2, 5, 2}, {2, 3, 4, 3}, {3, 4, 3, 4}, {4, 5, 2, 5}, {5, 7, 1, 5},
		{100, 50, 1, 5}, // values beyond the fitted range land in the extreme groups
	})
}

// scoreCase is a recency and a frequency with the R and F scores they should get.
type scoreCase struct {
	r, f   int64
	wr, wf int
}

// checkScores scores each case with a monetary value of 100, which must score wm, and checks
// that the best score is best.
func checkScores(t *testing.T, cp Cutpoints, wm, best int, cases []scoreCase) {
	t.Helper()
	for _, tc := range cases {
		r, f, m := cp.Score(tc.r, tc.f, 100*value.MoneyScale)
		if r != tc.wr || f != tc.wf || m != wm {
			t.Errorf("Score(r=%d, f=%d) = %d-%d-%d, want %d-%d-%d", tc.r, tc.f, r, f, m, tc.wr, tc.wf, wm)
		}
	}
	if cp.Best() != best {
		t.Errorf("Best = %d, want %d", cp.Best(), best)
	}
}

func TestFitThreeBins(t *testing.T) {
	cp, err := Fit(fixture(), 3)
	if err != nil {
		t.Fatal(err)
	}
	// Frequency, targets 20/3 = 6.67 and 13.33: value 1 (14) reaches both, so group 1 = {1};
	// group 2 must take the next value {2} (cap d-1-1 = 4 not binding); group 3 = {3,4,5,7}.
	if want := []int64{2, 3}; !cmp.Equal(cp.Frequency, want) {
		t.Errorf("frequency cutpoints = %v, want %v", cp.Frequency, want)
	}
	// Recency cumulative 2,5,6,8,9,20: first reaching 6.67 is value 3 (index 3, cum 8), cap
	// 6-1-2 = 3 -> group {0,1,2,3}; first after reaching 13.33 is value 5 (index 5), cap 4 ->
	// group {4}; group 3 = {5}.
	if want := []int64{4, 5}; !cmp.Equal(cp.Recency, want) {
		t.Errorf("recency cutpoints = %v, want %v", cp.Recency, want)
	}
	// 3 bins: 1 = best. Recent -> R 1; frequent -> F 1; monetary single value -> middle 2.
	checkScores(t, cp, 2, 1, []scoreCase{{0, 1, 1, 3}, {3, 2, 1, 2}, {4, 3, 2, 1}, {5, 7, 3, 1}})
}

func TestFitPlainQuantiles(t *testing.T) {
	// Ten distinct recencies 0, 10, ..., 90: plain quintiles of two values each.
	var rec, freq, mon []int64
	for i := int64(0); i < 10; i++ {
		rec = append(rec, 10*i)
		freq = append(freq, 1+i%2) // two distinct values: spread to groups 1 and 5
		mon = append(mon, i)
	}
	cp, _ := Fit(summaryOf(rec, freq, mon), 5)
	if want := []int64{20, 40, 60, 80}; !cmp.Equal(cp.Recency, want) {
		t.Errorf("recency cutpoints = %v, want %v", cp.Recency, want)
	}
	if want := []int64{2, 2, 2, 2}; !cmp.Equal(cp.Frequency, want) {
		t.Errorf("frequency cutpoints = %v, want %v", cp.Frequency, want)
	}
	// 5 bins, 3 distinct values: groups 1, 3, 5.
	cp3, _ := Fit(summaryOf([]int64{1, 1, 1}, []int64{1, 2, 3}, []int64{0, 0, 0}), 5)
	// Value j -> group 1 + round(j*4/2): 1 -> 1, 2 -> 3, 3 -> 5.
	if !cmp.Equal(cp3.Frequency, []int64{2, 2, 3, 3}) {
		t.Errorf("3-value frequency cutpoints = %v, want [2 2 3 3]", cp3.Frequency)
	}
	// Empty base: no crash, every score is the middle one.
	cpe, err := Fit(NewSummary(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if r, f, m := cpe.Score(1, 1, 1); r != 2 || f != 2 || m != 2 {
		t.Errorf("empty-base score = %d-%d-%d, want 2-2-2", r, f, m)
	}
	if _, err := Fit(NewSummary(), 4); err == nil || err.Error() != "rfm: 4 bins are not supported (use 3 or 5)" {
		t.Errorf("Fit(4 bins) error = %v", err)
	}
}

func TestMergeIsOrderFree(t *testing.T) {
	a := summaryOf([]int64{1, 2}, []int64{1, 1}, []int64{5, 6})
	b := summaryOf([]int64{2, 9}, []int64{3, 1}, []int64{6, 7})
	ab := MergeSummaries(summaryOf(nil, nil, nil), a)
	ab.Merge(b)
	ba := MergeSummaries(summaryOf(nil, nil, nil), b)
	ba.Merge(a)
	whole := summaryOf([]int64{1, 2, 2, 9}, []int64{1, 1, 3, 1}, []int64{5, 6, 6, 7})
	if !cmp.Equal(ab, whole) || !cmp.Equal(ba, whole) {
		t.Errorf("merged summaries differ from the whole: %+v %+v %+v", ab, ba, whole)
	}
}

func TestModelSegments(t *testing.T) {
	cfg := Defaults()
	if err := cfg.Validate("rfm"); err != nil {
		t.Fatal(err)
	}
	cp, _ := Fit(fixture(), 5)
	m := cfg.NewModel(cp)
	// Recency 0 -> R 5; one order -> F 1: "new" in the 5-bin grid.
	s := m.Score(Values{RecencyDays: 0, Frequency: 1, Monetary: 100 * value.MoneyScale})
	if s.Segment != "new" || s.String() != "5-1-3" {
		t.Errorf("score = %s %q, want 5-1-3 new", s, s.Segment)
	}
	// Recency 5 -> R 1; 7 orders -> F 5: "can't lose".
	s = m.Score(Values{RecencyDays: 5, Frequency: 7, Monetary: 100 * value.MoneyScale})
	if s.Segment != "can't lose" {
		t.Errorf("segment = %q, want can't lose", s.Segment)
	}
	var row tables.CustomerMetrics
	s.Fill(&row)
	if row.RFMScore != "1-5-3" || row.RFMBest != 5 || row.RFMSegment != "can't lose" || row.RFMRecency != 1 {
		t.Errorf("Fill: %+v", row)
	}

	cfg3 := Config{Bins: 3}
	cp3, _ := Fit(fixture(), 3)
	m3 := cfg3.NewModel(cp3)
	// Recency 0 -> R 1 (best); 7 orders -> F 1 (best): champions, 1-1-2.
	s = m3.Score(Values{RecencyDays: 0, Frequency: 7, Monetary: 100 * value.MoneyScale})
	if s.Segment != "champions" || s.String() != "1-1-2" || s.Best != 1 {
		t.Errorf("3-bin score = %s %q best %d, want 1-1-2 champions best 1", s, s.Segment, s.Best)
	}
}

func TestValidate(t *testing.T) {
	withGrid := func(bins int, g []GridRule) Config { return Config{Bins: bins, LookbackDays: 365, Segments: g} }
	for _, g := range [][]GridRule{DefaultGrid5} {
		if err := withGrid(5, g).Validate("rfm"); err != nil {
			t.Errorf("DefaultGrid5: %v", err)
		}
	}
	if err := withGrid(3, DefaultGrid3).Validate("rfm"); err != nil {
		t.Errorf("DefaultGrid3: %v", err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Bins: 4}, "rfm.bins: 4 is not supported (use 3 with 1 = best, or 5 with 5 = best)"},
		{Config{Bins: 5, LookbackDays: -1}, "rfm.lookback_days: -1 is negative (use 0 for all history, or a number of days)"},
		{withGrid(3, DefaultGrid3[1:]), "rfm.segments: cell r=1 f=1 is not in any segment; every R x F cell of the 3x3 grid needs exactly one"},
		{withGrid(3, append([]GridRule{{"vip", []int{1, 2}, []int{1}}}, DefaultGrid3...)),
			`rfm.segments[1] ("champions"): cell r=1 f=1 is already in rfm.segments[0] ("vip"); each cell belongs to exactly one segment`},
		{withGrid(3, []GridRule{{"x", []int{1, 4}, []int{1}}}), `rfm.segments[0].r ("x"): score 4 is outside 1..3`},
		{withGrid(3, []GridRule{{" ", []int{1}, []int{1}}}), `rfm.segments[0].name: empty (every grid rule needs a segment name)`},
		{withGrid(3, []GridRule{{"x", []int{1, 1}, []int{1}}}), `rfm.segments[0] ("x"): cell r=1 f=1 is listed twice`},
	} {
		err := tc.cfg.Validate("rfm")
		if err == nil || err.Error() != tc.want {
			t.Errorf("Validate(%+v) = %v\nwant %s", tc.cfg, err, tc.want)
		}
	}
}

// The RFM window and "active" in transforms/metrics are one definition: a customer has an
// order in the RFM window of W days exactly when metrics calls them active at asOf with
// activity window W. Checked for a single order on every day around both edges.
func TestWindowMatchesActive(t *testing.T) {
	asOf := value.DayFromDate(2025, 1, 15)
	for _, w := range []int{1, 30, 365} {
		mc := metrics.Config{RunDate: asOf, ActivityWindowDays: w}
		for d := asOf - value.Day(w) - 3; d <= asOf+2; d++ {
			c := &facts.Customer{CustomerID: "c", Purchases: []facts.Purchase{{OrderID: "o", Day: d, Amount: value.MoneyScale}}}
			v, _ := Measure(c, asOf, w)
			if inRFM, active := v.Frequency > 0, mc.ActiveAt(c.Purchases, asOf); inRFM != active {
				t.Errorf("W=%d, order on %s (asOf %s): in the RFM window %v, active %v", w, d, asOf, inRFM, active)
			}
		}
	}
}
