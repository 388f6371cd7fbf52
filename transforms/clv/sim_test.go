package clv

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// simulator draws customers from the BG/NBD and Gamma-Gamma generative stories, written
// from the model definitions (not from the likelihood code):
//   - λ ~ Gamma(shape r, rate α), p ~ Beta(a, b), per customer;
//   - the first purchase is at time 0; while alive, purchases follow a Poisson process of
//     rate λ; after each repeat purchase the customer drops out with probability p;
//   - ν ~ Gamma(shape q, rate v); each purchase amount ~ Gamma(shape p, rate ν).
type simulator struct {
	rng *rand.Rand
	bg  BGNBD
	gg  GammaGamma
}

func newSimulator(seed uint64, bg BGNBD, gg GammaGamma) *simulator {
	return &simulator{rng: rand.New(rand.NewPCG(seed, 7)), bg: bg, gg: gg}
}

type simCustomer struct {
	times   []float64 // purchase times, first = 0
	amounts []float64
	lambda  float64
	p       float64
	deathAt float64 // +Inf while alive at the end of the simulated span
}

// customer simulates purchases in [0, span].
func (s *simulator) customer(span float64) simCustomer {
	lam := distuv.Gamma{Alpha: s.bg.R, Beta: s.bg.Alpha, Src: s.rng}.Rand()
	p := distuv.Beta{Alpha: s.bg.A, Beta: s.bg.B, Src: s.rng}.Rand()
	nu := distuv.Gamma{Alpha: s.gg.Q, Beta: s.gg.V, Src: s.rng}.Rand()
	spend := distuv.Gamma{Alpha: s.gg.P, Beta: nu, Src: s.rng}
	c := simCustomer{times: []float64{0}, amounts: []float64{spend.Rand()}, lambda: lam, p: p, deathAt: math.Inf(1)}
	t := 0.0
	for {
		t += s.rng.ExpFloat64() / lam
		if t > span {
			return c
		}
		c.times = append(c.times, t)
		c.amounts = append(c.amounts, spend.Rand())
		if s.rng.Float64() < p {
			c.deathAt = t
			return c
		}
	}
}

// stats of a simulated customer observed for T time units (continuous times, no days).
func (c simCustomer) stats(T float64) Stats {
	var s Stats
	s.T = T
	var sum float64
	for i, t := range c.times {
		if t > T {
			break
		}
		if i > 0 {
			s.X++
			s.TX = t
			sum += c.amounts[i]
		}
	}
	if s.X > 0 {
		s.MeanRepeatValue = sum / s.X
	}
	return s
}

// factsCustomer turns a simulated customer whose time unit is days into dated orders,
// first purchase on day first.
func (c simCustomer) factsCustomer(id string, first value.Day) *facts.Customer {
	fc := &facts.Customer{CustomerID: id, Currency: "EUR"}
	for i, t := range c.times {
		fc.Purchases = append(fc.Purchases, facts.Purchase{
			OrderID: fmt.Sprintf("%s-%04d", id, i),
			Day:     first + value.Day(math.Floor(t)),
			Amount:  value.MoneyFromFloat(c.amounts[i]),
		})
	}
	return fc
}
