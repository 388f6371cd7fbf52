package rfm

import (
	"math/rand/v2"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// 2M customers: skewed frequency, recency up to 3 years, monetary mostly distinct.
func bigSummary() *Summary {
	rng := rand.New(rand.NewPCG(1, 1))
	s := NewSummary()
	for i := 0; i < 2_000_000; i++ {
		f := int64(1)
		for rng.Float64() < 0.35 {
			f++
		}
		s.Add(Values{RecencyDays: rng.Int64N(1095), Frequency: f, Monetary: value.Money(rng.Int64N(5000_0000) * f)})
	}
	return s
}

func BenchmarkFit2M(b *testing.B) {
	s := bigSummary()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Fit(s, 5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScore(b *testing.B) {
	cp, _ := Fit(fixture(), 5)
	m := Defaults().NewModel(cp)
	v := Values{RecencyDays: 3, Frequency: 2, Monetary: 100}
	b.ReportAllocs()
	for b.Loop() {
		m.Score(v)
	}
}
