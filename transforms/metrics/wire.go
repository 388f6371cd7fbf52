package metrics

import (
	"cmp"
	"maps"
	"slices"

	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// EncodeTo writes the aggregate in the pipeline's wire encoding (keys sorted, so equal
// aggregates encode to equal bytes).
func (a *Agg) EncodeTo(e *wire.Enc) {
	sk := slices.SortedFunc(maps.Keys(a.Series), func(x, y SeriesKey) int {
		return cmp.Or(cmp.Compare(x.Currency, y.Currency), cmp.Compare(x.Channel, y.Channel))
	})
	e.Int(int64(len(sk)))
	for _, k := range sk {
		s := a.Series[k]
		e.Sym(k.Currency)
		e.Sym(k.Channel)
		e.Int(int64(s.Base))
		e.Int(int64(len(s.Cells)))
		for i := range s.Cells {
			c := &s.Cells[i]
			for _, v := range [...]int64{c.Orders, c.FirstOrders, c.RepeatOrders, int64(c.Revenue), int64(c.RevenueFirst), int64(c.RevenueRepeat),
				c.Buyers, c.NewCustomers, c.RepeatBuyers, c.ActiveStart, c.ActiveEnd, c.Churned} {
				e.Int(v)
			}
		}
	}
	ck := slices.SortedFunc(maps.Keys(a.Cohorts), func(x, y CohortKey) int {
		return cmp.Or(cmp.Compare(x.Currency, y.Currency), cmp.Compare(x.Period, y.Period))
	})
	e.Int(int64(len(ck)))
	for _, k := range ck {
		c := a.Cohorts[k]
		e.Sym(k.Currency)
		e.Int(int64(k.Period))
		e.Int(c.Size)
		e.Int(int64(len(c.Cells)))
		for _, cc := range c.Cells {
			e.Int(cc.Active)
			e.Int(cc.Orders)
			e.Int(int64(cc.Revenue))
		}
	}
	tk := slices.Sorted(maps.Keys(a.Totals))
	e.Int(int64(len(tk)))
	for _, cur := range tk {
		t := a.Totals[cur]
		e.Sym(cur)
		for _, v := range [...]int64{t.Customers, t.RepeatCustomers, t.Orders, t.FirstOrders, t.RepeatOrders,
			int64(t.Revenue), int64(t.RevenueFirst), int64(t.RevenueRepeat)} {
			e.Int(v)
		}
	}
}

// DecodeAgg reads what EncodeTo wrote; errors stick in d.Err.
func DecodeAgg(d *wire.Dec) *Agg {
	a := NewAgg()
	n := d.Count()
	for i := 0; i < n && d.Err == nil; i++ {
		k := SeriesKey{Currency: d.Sym(), Channel: d.Sym()}
		s := &Series{Base: int(d.Int())}
		m := d.Count()
		s.Cells = make([]Cell, m)
		for j := 0; j < m && d.Err == nil; j++ {
			s.Cells[j] = Cell{Orders: d.Int(), FirstOrders: d.Int(), RepeatOrders: d.Int(),
				Revenue: value.Money(d.Int()), RevenueFirst: value.Money(d.Int()), RevenueRepeat: value.Money(d.Int()),
				Buyers: d.Int(), NewCustomers: d.Int(), RepeatBuyers: d.Int(), ActiveStart: d.Int(), ActiveEnd: d.Int(), Churned: d.Int()}
		}
		a.Series[k] = s
	}
	n = d.Count()
	for i := 0; i < n && d.Err == nil; i++ {
		k := CohortKey{Currency: d.Sym(), Period: int(d.Int())}
		c := &Cohort{Size: d.Int()}
		m := d.Count()
		c.Cells = make([]CohortCell, m)
		for j := 0; j < m && d.Err == nil; j++ {
			c.Cells[j] = CohortCell{Active: d.Int(), Orders: d.Int(), Revenue: value.Money(d.Int())}
		}
		a.Cohorts[k] = c
	}
	n = d.Count()
	for i := 0; i < n && d.Err == nil; i++ {
		cur := d.Sym()
		a.Totals[cur] = &Totals{Customers: d.Int(), RepeatCustomers: d.Int(), Orders: d.Int(), FirstOrders: d.Int(), RepeatOrders: d.Int(),
			Revenue: value.Money(d.Int()), RevenueFirst: value.Money(d.Int()), RevenueRepeat: value.Money(d.Int())}
	}
	return a
}
