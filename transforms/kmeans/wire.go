package kmeans

import "github.com/audiencesync/audiencesync/transforms/wire"

// EncodeTo writes the sample in the pipeline's wire encoding.
func (s *Sample) EncodeTo(e *wire.Enc) {
	e.Int(int64(s.Max))
	e.Int(int64(len(s.Points)))
	for _, p := range s.Points {
		e.Uint(p.Hash)
		e.Str(p.Key)
		e.Floats(p.X)
	}
}

// DecodeSample reads what Sample.EncodeTo wrote; errors stick in d.Err.
func DecodeSample(d *wire.Dec) *Sample {
	s := &Sample{Max: int(d.Int())}
	n := d.Count()
	s.Points = make([]Point, 0, n)
	for i := 0; i < n && d.Err == nil; i++ {
		s.Points = append(s.Points, Point{Hash: d.Uint(), Key: d.Str(), X: d.Floats()})
	}
	return s
}

// EncodeTo writes the model in the pipeline's wire encoding.
func (m *Model) EncodeTo(e *wire.Enc) {
	e.Strs(m.Features)
	e.Int(int64(len(m.Log)))
	for _, l := range m.Log {
		e.Bool(l)
	}
	e.Floats(m.Mean)
	e.Floats(m.Std)
	e.Int(int64(len(m.Centroids)))
	for _, c := range m.Centroids {
		e.Floats(c)
	}
	e.Strs(m.Names)
	e.Int(int64(m.SampleSize))
	e.Float(m.Inertia)
	e.Float(m.Silhouette)
	e.Int(int64(len(m.TriedK)))
	for _, k := range m.TriedK {
		e.Int(int64(k))
	}
	e.Floats(m.Scores)
}

// DecodeModel reads what Model.EncodeTo wrote; errors stick in d.Err.
func DecodeModel(d *wire.Dec) *Model {
	m := &Model{Features: d.Strs()}
	n := d.Count()
	for i := 0; i < n && d.Err == nil; i++ {
		m.Log = append(m.Log, d.Bool())
	}
	m.Mean, m.Std = d.Floats(), d.Floats()
	n = d.Count()
	for i := 0; i < n && d.Err == nil; i++ {
		m.Centroids = append(m.Centroids, d.Floats())
	}
	m.Names = d.Strs()
	m.SampleSize = int(d.Int())
	m.Inertia, m.Silhouette = d.Float(), d.Float()
	n = d.Count()
	for i := 0; i < n && d.Err == nil; i++ {
		m.TriedK = append(m.TriedK, int(d.Int()))
	}
	m.Scores = d.Floats()
	return m
}
