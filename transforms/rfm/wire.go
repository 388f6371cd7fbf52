package rfm

import (
	"maps"
	"slices"

	"github.com/audiencesync/audiencesync/transforms/wire"
)

// EncodeTo writes the summary in the pipeline's wire encoding: each histogram as its
// distinct values in ascending order, delta-coded, with their counts.
func (s *Summary) EncodeTo(e *wire.Enc) {
	e.Int(s.Customers)
	for _, h := range [...]map[int64]int64{s.Recency, s.Frequency, s.Monetary} {
		e.Int(int64(len(h)))
		prev := int64(0)
		for _, k := range slices.Sorted(maps.Keys(h)) {
			e.Int(k - prev)
			e.Int(h[k])
			prev = k
		}
	}
}

// DecodeSummary reads what EncodeTo wrote; errors stick in d.Err.
func DecodeSummary(d *wire.Dec) *Summary {
	s := NewSummary()
	s.Customers = d.Int()
	for _, h := range [...]map[int64]int64{s.Recency, s.Frequency, s.Monetary} {
		n := d.Count()
		prev := int64(0)
		for i := 0; i < n && d.Err == nil; i++ {
			prev += d.Int()
			h[prev] = d.Int()
		}
	}
	return s
}

// EncodeTo writes the model in the pipeline's wire encoding.
func (m Model) EncodeTo(e *wire.Enc) {
	e.Int(int64(m.Cut.Bins))
	e.Ints(m.Cut.Recency)
	e.Ints(m.Cut.Frequency)
	e.Ints(m.Cut.Monetary)
	e.Strs(m.Cells)
}

// DecodeModel reads what Model.EncodeTo wrote; errors stick in d.Err.
func DecodeModel(d *wire.Dec) Model {
	return Model{Cut: Cutpoints{Bins: int(d.Int()), Recency: d.Ints(), Frequency: d.Ints(), Monetary: d.Ints()}, Cells: d.Strs()}
}
