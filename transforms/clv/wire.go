package clv

import (
	"fmt"

	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// EncodeTo writes the model (spec, parameters, fit diagnostics and the holdout report) in
// the pipeline's wire encoding; floats round-trip bit-exact.
func (m *Model) EncodeTo(e *wire.Enc) {
	s := &m.Spec
	e.Str(string(s.Unit))
	e.Int(int64(s.CalibrationEnd))
	e.Int(int64(s.HoldoutEnd))
	e.Floats([]float64{s.HorizonDays, s.Margin, s.MonthlyDiscount, s.FitSampleRate})
	e.Int(int64(s.Starts))
	e.Floats([]float64{m.BGNBD.R, m.BGNBD.Alpha, m.BGNBD.A, m.BGNBD.B})
	encodeFit(e, &m.BGNBDFit)
	e.Bool(m.GG != nil)
	if m.GG != nil {
		e.Floats([]float64{m.GG.P, m.GG.Q, m.GG.V})
	}
	encodeFit(e, &m.GGFit)
	e.Bool(m.Holdout != nil)
	if h := m.Holdout; h != nil {
		e.Str(h.CalibrationEnd)
		e.Str(h.HoldoutEnd)
		e.Floats([]float64{h.Duration, h.Actual, h.Predicted})
		e.Int(h.Customers)
		e.Int(int64(len(h.Buckets)))
		for _, b := range h.Buckets {
			e.Str(b.Frequency)
			e.Int(b.Customers)
			e.Float(b.ActualMean)
			e.Float(b.PredictedMean)
		}
	}
}

func encodeFit(e *wire.Enc, f *FitInfo) {
	e.Float(f.LogLikelihood)
	e.Ints([]int64{f.Customers, int64(f.Cells), int64(f.Starts), int64(f.ConvergedStarts)})
	e.Bool(f.Converged)
	e.Strs([]string{f.Status, f.Error, f.Warning})
}

func decodeFit(d *wire.Dec) FitInfo {
	f := FitInfo{LogLikelihood: d.Float()}
	if n := d.Ints(); len(n) == 4 {
		f.Customers, f.Cells, f.Starts, f.ConvergedStarts = n[0], int(n[1]), int(n[2]), int(n[3])
	} else {
		d.Fail()
	}
	f.Converged = d.Bool()
	if s := d.Strs(); len(s) == 3 {
		f.Status, f.Error, f.Warning = s[0], s[1], s[2]
	} else {
		d.Fail()
	}
	return f
}

// floats reads n floats written with Enc.Floats.
func floats(d *wire.Dec, n int) []float64 {
	v := d.Floats()
	if len(v) != n {
		d.Fail()
		return make([]float64, n)
	}
	return v
}

// DecodeModelFrom reads what Model.EncodeTo wrote; errors stick in d.Err.
func DecodeModelFrom(d *wire.Dec) *Model {
	m := &Model{}
	s := &m.Spec
	s.Unit, s.CalibrationEnd, s.HoldoutEnd = TimeUnit(d.Str()), value.Day(d.Int()), value.Day(d.Int())
	f := floats(d, 4)
	s.HorizonDays, s.Margin, s.MonthlyDiscount, s.FitSampleRate = f[0], f[1], f[2], f[3]
	s.Starts = int(d.Int())
	f = floats(d, 4)
	m.BGNBD = BGNBD{R: f[0], Alpha: f[1], A: f[2], B: f[3]}
	m.BGNBDFit = decodeFit(d)
	if d.Bool() {
		f = floats(d, 3)
		m.GG = &GammaGamma{P: f[0], Q: f[1], V: f[2]}
	}
	m.GGFit = decodeFit(d)
	if d.Bool() {
		h := &HoldoutReport{CalibrationEnd: d.Str(), HoldoutEnd: d.Str()}
		f = floats(d, 3)
		h.Duration, h.Actual, h.Predicted = f[0], f[1], f[2]
		h.Customers = d.Int()
		n := d.Count()
		for i := 0; i < n && d.Err == nil; i++ {
			h.Buckets = append(h.Buckets, HoldoutBucket{Frequency: d.Str(), Customers: d.Int(), ActualMean: d.Float(), PredictedMean: d.Float()})
		}
		m.Holdout = h
	}
	return m
}

// EncodeModel and DecodeModel serialise a model in the wire encoding, for tests and tools
// that hold it as bytes.
func EncodeModel(m *Model) ([]byte, error) {
	e := wire.NewEnc(256)
	m.EncodeTo(e)
	return e.B, nil
}

// DecodeModel decodes what EncodeModel wrote.
func DecodeModel(b []byte) (*Model, error) {
	d := wire.NewDec(b)
	m := DecodeModelFrom(d)
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("clv: decoding a model: %w", err)
	}
	return m, nil
}
