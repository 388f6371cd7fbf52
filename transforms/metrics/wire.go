package metrics

import (
	"cmp"

	"github.com/audiencesync/audiencesync/transforms/wire"
)

// fields are a cell's counters in encoding order.
func (c *Cell) fields() [12]*int64 {
	return [...]*int64{&c.Orders, &c.FirstOrders, &c.RepeatOrders, (*int64)(&c.Revenue), (*int64)(&c.RevenueFirst), (*int64)(&c.RevenueRepeat),
		&c.Buyers, &c.NewCustomers, &c.RepeatBuyers, &c.ActiveStart, &c.ActiveEnd, &c.Churned}
}

func (c *CohortCell) fields() [3]*int64 {
	return [...]*int64{&c.Active, &c.Orders, (*int64)(&c.Revenue)}
}

// TotalNames name Totals.Fields, in order.
var TotalNames = [...]string{"customers", "repeat_customers", "orders", "first_orders", "repeat_orders", "revenue", "revenue_first", "revenue_repeat"}

// Fields are the totals in the order of TotalNames (money in value.Money units).
func (t *Totals) Fields() [len(TotalNames)]*int64 {
	return [...]*int64{&t.Customers, &t.RepeatCustomers, &t.Orders, &t.FirstOrders, &t.RepeatOrders,
		(*int64)(&t.Revenue), (*int64)(&t.RevenueFirst), (*int64)(&t.RevenueRepeat)}
}

// EncodeTo writes the aggregate in the pipeline's wire encoding (keys sorted, so equal
// aggregates encode to equal bytes).
func (a *Agg) EncodeTo(e *wire.Enc) {
	wire.MapFunc(e, a.Series, func(x, y SeriesKey) int {
		return cmp.Or(cmp.Compare(x.Currency, y.Currency), cmp.Compare(x.Channel, y.Channel))
	}, func(k SeriesKey, s *Series) {
		e.Sym(k.Currency)
		e.Sym(k.Channel)
		e.Int(int64(s.Base))
		e.Int(int64(len(s.Cells)))
		for i := range s.Cells {
			f := s.Cells[i].fields()
			e.IntFields(f[:]...)
		}
	})
	wire.MapFunc(e, a.Cohorts, func(x, y CohortKey) int {
		return cmp.Or(cmp.Compare(x.Currency, y.Currency), cmp.Compare(x.Period, y.Period))
	}, func(k CohortKey, c *Cohort) {
		e.Sym(k.Currency)
		e.Int(int64(k.Period))
		e.Int(c.Size)
		e.Int(int64(len(c.Cells)))
		for i := range c.Cells {
			f := c.Cells[i].fields()
			e.IntFields(f[:]...)
		}
	})
	wire.Map(e, a.Totals, func(t *Totals, e *wire.Enc) {
		f := t.Fields()
		e.IntFields(f[:]...)
	})
}

// DecodeAgg reads what EncodeTo wrote; errors stick in d.Err.
func DecodeAgg(d *wire.Dec) *Agg {
	a := NewAgg()
	for n, i := d.Count(), 0; i < n && d.Err == nil; i++ {
		k := SeriesKey{Currency: d.Sym(), Channel: d.Sym()}
		s := &Series{Base: int(d.Int())}
		s.Cells = make([]Cell, d.Count())
		for j := 0; j < len(s.Cells) && d.Err == nil; j++ {
			f := s.Cells[j].fields()
			d.IntFields(f[:]...)
		}
		a.Series[k] = s
	}
	for n, i := d.Count(), 0; i < n && d.Err == nil; i++ {
		k := CohortKey{Currency: d.Sym(), Period: int(d.Int())}
		c := &Cohort{Size: d.Int()}
		c.Cells = make([]CohortCell, d.Count())
		for j := 0; j < len(c.Cells) && d.Err == nil; j++ {
			f := c.Cells[j].fields()
			d.IntFields(f[:]...)
		}
		a.Cohorts[k] = c
	}
	a.Totals = wire.ReadMap(d, func(d *wire.Dec) *Totals {
		t := &Totals{}
		f := t.Fields()
		d.IntFields(f[:]...)
		return t
	})
	return a
}
