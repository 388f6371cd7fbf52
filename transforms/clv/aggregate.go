package clv

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Cell is every calibration customer with the same (x, t_x, T): the BG/NBD likelihood, the
// predictions and the holdout report depend on nothing else.
type Cell struct {
	X, TX, T float64
	Count    int64
	// HoldoutPurchases sums the cell's actual purchase days in the holdout window.
	HoldoutPurchases int64
}

// RepeatCell is every repeat buyer with the same frequency x and mean repeat value m (the
// Gamma-Gamma likelihood depends on (x, m) only).
type RepeatCell struct {
	X, M  float64
	Count int64
}

// Aggregate is the mergeable summary the models are fitted on. Per-bucket aggregates are
// merged in a Beam combine; its exported fields are its whole state (the index maps are
// rebuilt on demand after decoding), and MarshalBinary gives a compact encoding.
//
// Size: customers with x = 0 collapse to one cell per T (a few hundred or thousand days),
// repeat buyers to one cell per distinct (x, t_x, T); in weeks the values are days/7, so the
// number of cells is the same in either unit. Repeat cells are one per distinct (x, m).
type Aggregate struct {
	Unit           TimeUnit
	CalibrationEnd value.Day
	HoldoutEnd     value.Day // 0: no holdout window
	// SampleRate < 1 keeps only the customers whose id hashes below it (see
	// Config.FitSampleRate); 0 or 1 keeps everyone.
	SampleRate float64
	Cells      []Cell
	Repeat     []RepeatCell

	idx  map[[3]float64]int
	ridx map[[2]float64]int
}

// NewAggregate returns an empty aggregate for the spec's unit and dates.
func NewAggregate(s Spec) *Aggregate {
	a := &Aggregate{Unit: s.Unit, CalibrationEnd: s.CalibrationEnd, SampleRate: s.FitSampleRate}
	if s.HasHoldout() {
		a.HoldoutEnd = s.HoldoutEnd
	}
	return a
}

func (a *Aggregate) index() {
	if a.idx != nil {
		return
	}
	a.idx = make(map[[3]float64]int, len(a.Cells))
	for i, c := range a.Cells {
		a.idx[[3]float64{c.X, c.TX, c.T}] = i
	}
	a.ridx = make(map[[2]float64]int, len(a.Repeat))
	for i, c := range a.Repeat {
		a.ridx[[2]float64{c.X, c.M}] = i
	}
}

// AddCustomer adds one customer as of the calibration end. Customers whose first purchase
// is after the calibration end are skipped (they are not in the model's population), and
// so are those outside the sample when SampleRate < 1; it reports whether c was added.
func (a *Aggregate) AddCustomer(c *facts.Customer) bool {
	if a.SampleRate > 0 && a.SampleRate < 1 && sampleUnit(c.CustomerID) >= a.SampleRate {
		return false
	}
	s, ok := StatsOf(c, a.CalibrationEnd, a.Unit)
	if !ok {
		return false
	}
	var hold int64
	if a.HoldoutEnd > a.CalibrationEnd {
		hold = HoldoutPurchases(c, a.CalibrationEnd, a.HoldoutEnd)
	}
	a.Add(s, 1, hold)
	return true
}

// sampleUnit maps a customer id to [0, 1) by 64-bit FNV-1a, a fixed function so that every
// bucket and every run samples the same customers.
func sampleUnit(id string) float64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	// FNV's low bits mix poorly for short ids; fold the high half in before scaling.
	h ^= h >> 29
	return float64(h>>11) / (1 << 53)
}

// Add adds count customers with statistics s (in the aggregate's unit) and holdout purchase
// days summed over them. The Gamma-Gamma side takes repeat buyers with a positive mean.
func (a *Aggregate) Add(s Stats, count, holdoutPurchases int64) {
	a.index()
	k := [3]float64{s.X, s.TX, s.T}
	if i, ok := a.idx[k]; ok {
		a.Cells[i].Count += count
		a.Cells[i].HoldoutPurchases += holdoutPurchases
	} else {
		a.idx[k] = len(a.Cells)
		a.Cells = append(a.Cells, Cell{X: s.X, TX: s.TX, T: s.T, Count: count, HoldoutPurchases: holdoutPurchases})
	}
	if s.X > 0 && s.MeanRepeatValue > 0 {
		a.addRepeat(s.X, s.MeanRepeatValue, count)
	}
}

func (a *Aggregate) addRepeat(x, m float64, count int64) {
	k := [2]float64{x, m}
	if i, ok := a.ridx[k]; ok {
		a.Repeat[i].Count += count
		return
	}
	a.ridx[k] = len(a.Repeat)
	a.Repeat = append(a.Repeat, RepeatCell{X: x, M: m, Count: count})
}

// Merge adds o into a. Aggregates built for different units or dates do not mix.
func (a *Aggregate) Merge(o *Aggregate) error {
	if o == nil {
		return nil
	}
	if len(a.Cells) == 0 && len(a.Repeat) == 0 && a.Unit == "" {
		a.Unit, a.CalibrationEnd, a.HoldoutEnd, a.SampleRate = o.Unit, o.CalibrationEnd, o.HoldoutEnd, o.SampleRate
	}
	if a.Unit != o.Unit || a.CalibrationEnd != o.CalibrationEnd || a.HoldoutEnd != o.HoldoutEnd || a.SampleRate != o.SampleRate {
		return fmt.Errorf("clv: cannot merge aggregates built for (%s, calibration end %s, holdout end %s, sample rate %v) and (%s, %s, %s, %v)",
			a.Unit, a.CalibrationEnd, a.HoldoutEnd, a.SampleRate, o.Unit, o.CalibrationEnd, o.HoldoutEnd, o.SampleRate)
	}
	a.index()
	for _, c := range o.Cells {
		a.Add(Stats{X: c.X, TX: c.TX, T: c.T}, c.Count, c.HoldoutPurchases)
	}
	for _, c := range o.Repeat {
		a.addRepeat(c.X, c.M, c.Count)
	}
	return nil
}

// Customers is the number of customers in the aggregate.
func (a *Aggregate) Customers() int64 {
	var n int64
	for _, c := range a.Cells {
		n += c.Count
	}
	return n
}

// RepeatBuyers is the number of customers the Gamma-Gamma model is fitted on.
func (a *Aggregate) RepeatBuyers() int64 {
	var n int64
	for _, c := range a.Repeat {
		n += c.Count
	}
	return n
}

// Sort orders the cells canonically, so that a fit does not depend on the merge order
// (floating-point sums are order-sensitive in the last bits).
func (a *Aggregate) Sort() {
	slices.SortFunc(a.Cells, func(x, y Cell) int {
		return cmp.Or(cmp.Compare(x.X, y.X), cmp.Compare(x.TX, y.TX), cmp.Compare(x.T, y.T))
	})
	slices.SortFunc(a.Repeat, func(x, y RepeatCell) int { return cmp.Or(cmp.Compare(x.X, y.X), cmp.Compare(x.M, y.M)) })
	a.idx, a.ridx = nil, nil
}

// EncodeTo writes the aggregate in the pipeline's wire encoding (floats bit-exact, counts
// as varints).
func (a *Aggregate) EncodeTo(e *wire.Enc) {
	e.Str(string(a.Unit))
	e.Int(int64(a.CalibrationEnd))
	e.Int(int64(a.HoldoutEnd))
	e.Float(a.SampleRate)
	e.Int(int64(len(a.Cells)))
	for i := range a.Cells {
		c := &a.Cells[i]
		e.FloatFields(&c.X, &c.TX, &c.T)
		e.IntFields(&c.Count, &c.HoldoutPurchases)
	}
	e.Int(int64(len(a.Repeat)))
	for i := range a.Repeat {
		c := &a.Repeat[i]
		e.FloatFields(&c.X, &c.M)
		e.Int(c.Count)
	}
}

// DecodeAggregateFrom reads what EncodeTo wrote; errors stick in d.Err.
func DecodeAggregateFrom(d *wire.Dec) *Aggregate {
	a := &Aggregate{Unit: TimeUnit(d.Str()), CalibrationEnd: value.Day(d.Int()), HoldoutEnd: value.Day(d.Int()), SampleRate: d.Float()}
	a.Cells = make([]Cell, d.Count())
	for i := 0; i < len(a.Cells) && d.Err == nil; i++ {
		c := &a.Cells[i]
		d.FloatFields(&c.X, &c.TX, &c.T)
		d.IntFields(&c.Count, &c.HoldoutPurchases)
	}
	a.Repeat = make([]RepeatCell, d.Count())
	for i := 0; i < len(a.Repeat) && d.Err == nil; i++ {
		c := &a.Repeat[i]
		d.FloatFields(&c.X, &c.M)
		c.Count = d.Int()
	}
	return a
}

// MarshalBinary encodes the aggregate (EncodeTo).
func (a *Aggregate) MarshalBinary() ([]byte, error) {
	e := wire.NewEnc(32 + len(a.Cells)*34 + len(a.Repeat)*18)
	a.EncodeTo(e)
	return e.B, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (a *Aggregate) UnmarshalBinary(b []byte) error {
	d := wire.NewDec(b)
	x := DecodeAggregateFrom(d)
	if err := d.Done(); err != nil {
		return fmt.Errorf("clv: aggregate: %w", err)
	}
	*a = *x
	return nil
}

// EncodeAggregate and DecodeAggregate are MarshalBinary and UnmarshalBinary as functions.
func EncodeAggregate(a *Aggregate) ([]byte, error) { return a.MarshalBinary() }

// DecodeAggregate decodes what EncodeAggregate wrote.
func DecodeAggregate(b []byte) (*Aggregate, error) {
	a := &Aggregate{}
	if err := a.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	return a, nil
}
