package clv

import (
	"fmt"
	"sync"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/value"
)

var benchData struct {
	once  sync.Once
	custs []*facts.Customer
	spec  Spec
	asOf  value.Day
}

// benchCustomers simulates 200,000 customers over three years of daily orders (day-unit
// parameters of a typical shop), first purchases spread over the first 900 days.
func benchCustomers(b *testing.B) ([]*facts.Customer, Spec, value.Day) {
	benchData.once.Do(func() {
		sim := newSimulator(1, BGNBD{0.6, 45, 0.9, 4}, GammaGamma{3, 5, 200})
		d0 := value.DayFromDate(2022, 1, 1)
		asOf := d0 + 3*365
		for i := 0; i < 200000; i++ {
			first := d0 + value.Day(i%900)
			c := sim.customer(float64(asOf-first)).factsCustomer(fmt.Sprint(i), first)
			c.Sort()
			benchData.custs = append(benchData.custs, c)
		}
		spec, err := Config{TimeUnit: "weeks", DiscountRate: 0.1}.Resolve("clv", asOf)
		if err != nil {
			panic(err)
		}
		benchData.spec, benchData.asOf = spec, asOf
	})
	return benchData.custs, benchData.spec, benchData.asOf
}

func BenchmarkAggregate200k(b *testing.B) {
	cs, spec, _ := benchCustomers(b)
	for b.Loop() {
		agg := NewAggregate(spec)
		for _, c := range cs {
			agg.AddCustomer(c)
		}
	}
}

// benchAggregate is the aggregate of the benchmark's customers.
func benchAggregate(b *testing.B) (*Aggregate, []*facts.Customer, Spec, value.Day) {
	cs, spec, asOf := benchCustomers(b)
	agg := NewAggregate(spec)
	for _, c := range cs {
		agg.AddCustomer(c)
	}
	return agg, cs, spec, asOf
}

func BenchmarkFit200k(b *testing.B) {
	agg, _, spec, _ := benchAggregate(b)
	for b.Loop() {
		if _, err := Fit(agg, spec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPredict200k(b *testing.B) {
	agg, cs, spec, asOf := benchAggregate(b)
	m, err := Fit(agg, spec)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, c := range cs {
			m.PredictCustomer(c, asOf)
		}
	}
}
