package metrics

import (
	"cmp"
	"slices"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// AllChannels is the channel value of rows that count every customer.
const AllChannels = "all"

// Cell holds one period's counters for one currency and channel.
type Cell struct {
	Orders, FirstOrders, RepeatOrders    int64
	Revenue, RevenueFirst, RevenueRepeat value.Money
	Buyers, NewCustomers, RepeatBuyers   int64
	ActiveStart, ActiveEnd, Churned      int64
}

func (c *Cell) add(o *Cell) {
	c.Orders += o.Orders
	c.FirstOrders += o.FirstOrders
	c.RepeatOrders += o.RepeatOrders
	c.Revenue += o.Revenue
	c.RevenueFirst += o.RevenueFirst
	c.RevenueRepeat += o.RevenueRepeat
	c.Buyers += o.Buyers
	c.NewCustomers += o.NewCustomers
	c.RepeatBuyers += o.RepeatBuyers
	c.ActiveStart += o.ActiveStart
	c.ActiveEnd += o.ActiveEnd
	c.Churned += o.Churned
}

// Series is a run of cells over consecutive periods starting at Base.
type Series struct {
	Base  int
	Cells []Cell
}

func (s *Series) at(p int) *Cell {
	if len(s.Cells) == 0 {
		s.Base = p
	}
	if p < s.Base {
		grow := make([]Cell, s.Base-p, s.Base-p+len(s.Cells))
		s.Cells = append(grow, s.Cells...)
		s.Base = p
	}
	for p-s.Base >= len(s.Cells) {
		s.Cells = append(s.Cells, Cell{})
	}
	return &s.Cells[p-s.Base]
}

// CohortCell is one cohort's activity at one period offset.
type CohortCell struct {
	Active, Orders int64
	Revenue        value.Money
}

// Cohort is one first-purchase period's customers.
type Cohort struct {
	Size  int64
	Cells []CohortCell // by offset
}

// SeriesKey names a series.
type SeriesKey struct{ Currency, Channel string }

// CohortKey names a cohort.
type CohortKey struct {
	Currency string
	Period   int
}

// Agg is a mergeable partial of every period and cohort metric; it crosses the pipeline's
// single combine in the wire encoding (EncodeTo, DecodeAgg).
type Agg struct {
	Series  map[SeriesKey]*Series
	Cohorts map[CohortKey]*Cohort
	// Base-wide counters per currency for the headline: customers, repeat customers, orders,
	// revenue, first and repeat orders and revenue.
	Totals map[string]*Totals
}

// Totals are base-wide counters per currency.
type Totals struct {
	Customers, RepeatCustomers, Orders, FirstOrders, RepeatOrders int64
	Revenue, RevenueFirst, RevenueRepeat                          value.Money
}

// NewAgg returns an empty Agg.
func NewAgg() *Agg {
	return &Agg{Series: map[SeriesKey]*Series{}, Cohorts: map[CohortKey]*Cohort{}, Totals: map[string]*Totals{}}
}

func (a *Agg) series(cur, ch string) *Series { return entry(a.Series, SeriesKey{cur, ch}) }

// entry returns m[k], putting a zero value there first when there is none.
func entry[K comparable, V any](m map[K]*V, k K) *V {
	v := m[k]
	if v == nil {
		v = new(V)
		m[k] = v
	}
	return v
}

// Add counts one customer. cfg must be the same for every Add of a run.
func (a *Agg) Add(c *facts.Customer, cfg Config) {
	ps := c.Purchases
	if len(ps) == 0 {
		return
	}
	cal := cfg.Calendar
	cur := cfg.CurrentPeriod()
	firstP := cal.Index(ps[0].Day)
	targets := [2]*Series{a.series(c.Currency, AllChannels), nil}
	nt := 1
	if ch := c.AcquisitionChannel(); ch != "" && ch != AllChannels {
		targets[1] = a.series(c.Currency, ch)
		nt = 2
	}
	ck := CohortKey{c.Currency, firstP}
	co := entry(a.Cohorts, ck)
	co.Size++
	tot := entry(a.Totals, c.Currency)
	tot.Customers++
	if len(ps) > 1 {
		tot.RepeatCustomers++
	}

	lastP := firstP - 1
	for i, pu := range ps {
		p := cal.Index(pu.Day)
		newPeriod := p != lastP
		lastP = p
		off := p - firstP
		for len(co.Cells) <= off {
			co.Cells = append(co.Cells, CohortCell{})
		}
		cc := &co.Cells[off]
		cc.Orders++
		cc.Revenue += pu.Amount
		if newPeriod {
			cc.Active++
		}
		tot.Orders++
		tot.Revenue += pu.Amount
		if i == 0 {
			tot.FirstOrders++
			tot.RevenueFirst += pu.Amount
		} else {
			tot.RepeatOrders++
			tot.RevenueRepeat += pu.Amount
		}
		for t := 0; t < nt; t++ {
			cell := targets[t].at(p)
			cell.Orders++
			cell.Revenue += pu.Amount
			if i == 0 {
				cell.FirstOrders++
				cell.RevenueFirst += pu.Amount
				cell.NewCustomers++
			} else {
				cell.RepeatOrders++
				cell.RevenueRepeat += pu.Amount
			}
			if newPeriod {
				cell.Buyers++
				if p > firstP {
					cell.RepeatBuyers++
				}
			}
		}
	}
	// Activity: a customer can be active only from their first purchase until W days after
	// their last one.
	lastActiveP := cal.Index(ps[len(ps)-1].Day + value.Day(cfg.ActivityWindowDays))
	if lastActiveP > cur {
		lastActiveP = cur
	}
	for p := firstP; p <= lastActiveP; p++ {
		endD := cal.End(p) + 1
		if endD > cfg.RunDate {
			endD = cfg.RunDate
		}
		s := cfg.ActiveAt(ps, cal.Start(p))
		e := cfg.ActiveAt(ps, endD)
		if !s && !e {
			continue
		}
		for t := 0; t < nt; t++ {
			cell := targets[t].at(p)
			if s {
				cell.ActiveStart++
				if !e {
					cell.Churned++
				}
			}
			if e {
				cell.ActiveEnd++
			}
		}
	}
}

// Merge adds o into a.
func (a *Agg) Merge(o *Agg) {
	for k, s := range o.Series {
		d := a.series(k.Currency, k.Channel)
		for i := range s.Cells {
			d.at(s.Base + i).add(&s.Cells[i])
		}
	}
	for k, c := range o.Cohorts {
		d := entry(a.Cohorts, k)
		d.Size += c.Size
		for len(d.Cells) < len(c.Cells) {
			d.Cells = append(d.Cells, CohortCell{})
		}
		for i, cc := range c.Cells {
			d.Cells[i].Active += cc.Active
			d.Cells[i].Orders += cc.Orders
			d.Cells[i].Revenue += cc.Revenue
		}
	}
	for cur, t := range o.Totals {
		d := entry(a.Totals, cur)
		d.Customers += t.Customers
		d.RepeatCustomers += t.RepeatCustomers
		d.Orders += t.Orders
		d.FirstOrders += t.FirstOrders
		d.RepeatOrders += t.RepeatOrders
		d.Revenue += t.Revenue
		d.RevenueFirst += t.RevenueFirst
		d.RevenueRepeat += t.RevenueRepeat
	}
}

func div(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	return ptr(round4(a / b))
}

// SpendKey names one spend figure.
type SpendKey struct{ Period, Channel, Currency string }

// SpendTable sums spend rows by period, channel and currency.
func SpendTable(rows []orders.Spend) map[SpendKey]value.Money {
	m := map[SpendKey]value.Money{}
	for _, r := range rows {
		if r.Channel != AllChannels { // spend given for "all" is the total already
			m[SpendKey{r.Period, r.Channel, r.Currency}] += r.Amount
		}
		m[SpendKey{r.Period, AllChannels, r.Currency}] += r.Amount
	}
	return m
}

// Finalize turns a merged Agg into period_metrics and cohort_retention rows, sorted.
// spend may be nil.
func Finalize(a *Agg, cfg Config, spend map[SpendKey]value.Money) ([]tables.PeriodMetrics, []tables.CohortRetention) {
	cal := cfg.Calendar
	cur := cfg.CurrentPeriod()
	var pm []tables.PeriodMetrics
	for k, s := range a.Series {
		var custToDate int64
		var revToDate value.Money
		for p := s.Base; p <= cur; p++ {
			var c Cell
			if p-s.Base < len(s.Cells) {
				c = s.Cells[p-s.Base]
			}
			custToDate += c.NewCustomers
			revToDate += c.Revenue
			row := tables.PeriodMetrics{
				RunDate:         int32(cfg.RunDate),
				Period:          cal.Label(p),
				PeriodStart:     int32(cal.Start(p)),
				PeriodEnd:       int32(cal.End(p)),
				Complete:        cal.End(p) < cfg.RunDate,
				Currency:        k.Currency,
				Channel:         k.Channel,
				Orders:          c.Orders,
				Revenue:         c.Revenue.Float(),
				Buyers:          c.Buyers,
				NewCustomers:    c.NewCustomers,
				FirstOrders:     c.FirstOrders,
				RepeatOrders:    c.RepeatOrders,
				RevenueFirst:    c.RevenueFirst.Float(),
				RevenueRepeat:   c.RevenueRepeat.Float(),
				AOV:             div(c.Revenue.Float(), float64(c.Orders)),
				AOVFirst:        div(c.RevenueFirst.Float(), float64(c.FirstOrders)),
				AOVRepeat:       div(c.RevenueRepeat.Float(), float64(c.RepeatOrders)),
				ActiveStart:     c.ActiveStart,
				ActiveEnd:       c.ActiveEnd,
				Churned:         c.Churned,
				RepeatBuyers:    c.RepeatBuyers,
				RPR:             div(100*float64(c.RepeatBuyers), float64(c.Buyers)),
				CustomersToDate: custToDate,
				LTVAvg:          div(revToDate.Float(), float64(custToDate)),
			}
			if row.CRR = CRR(c.ActiveStart, c.ActiveEnd, c.NewCustomers); row.CRR != nil {
				row.ChurnRate = ptr(round4(100 - *row.CRR))
			}
			if spend != nil && !cal.Weeks {
				if sp, ok := spend[SpendKey{row.Period, k.Channel, k.Currency}]; ok {
					row.Spend = ptr(sp.Float())
					row.CAC = div(sp.Float(), float64(c.NewCustomers))
				}
			}
			pm = append(pm, row)
		}
	}
	slices.SortFunc(pm, func(a, b tables.PeriodMetrics) int {
		return cmp.Or(cmp.Compare(a.Currency, b.Currency), cmp.Compare(a.Channel, b.Channel), cmp.Compare(a.PeriodStart, b.PeriodStart))
	})

	var cr []tables.CohortRetention
	for k, co := range a.Cohorts {
		var cum value.Money
		for off := 0; off <= cur-k.Period; off++ {
			var cc CohortCell
			if off < len(co.Cells) {
				cc = co.Cells[off]
			}
			cum += cc.Revenue
			cr = append(cr, tables.CohortRetention{
				RunDate:               int32(cfg.RunDate),
				Cohort:                cal.Label(k.Period),
				CohortStart:           int32(cal.Start(k.Period)),
				Currency:              k.Currency,
				PeriodOffset:          int64(off),
				CohortSize:            co.Size,
				ActiveCustomers:       cc.Active,
				RetentionPct:          round4(100 * float64(cc.Active) / float64(co.Size)),
				Orders:                cc.Orders,
				Revenue:               cc.Revenue.Float(),
				CumRevenuePerCustomer: round4(cum.Float() / float64(co.Size)),
			})
		}
	}
	slices.SortFunc(cr, func(a, b tables.CohortRetention) int {
		return cmp.Or(cmp.Compare(a.Currency, b.Currency), cmp.Compare(a.CohortStart, b.CohortStart), cmp.Compare(a.PeriodOffset, b.PeriodOffset))
	})
	return pm, cr
}

// CRR is the customer retention rate in percent, (E - N) / S x 100, rounded to 4 decimals;
// nil when S = 0.
func CRR(s, e, n int64) *float64 {
	if s == 0 {
		return nil
	}
	return ptr(round4(float64(e-n) / float64(s) * 100))
}

// Headline is the base-wide figures of one currency for the run summary and the report.
func Headline(t *Totals) map[string]float64 {
	h := map[string]float64{
		"customers":        float64(t.Customers),
		"repeat_customers": float64(t.RepeatCustomers),
		"orders":           float64(t.Orders),
		"revenue":          t.Revenue.Float(),
	}
	if t.Orders > 0 {
		h["aov"] = round4(t.Revenue.Float() / float64(t.Orders))
	}
	if t.FirstOrders > 0 {
		h["aov_first"] = round4(t.RevenueFirst.Float() / float64(t.FirstOrders))
	}
	if t.RepeatOrders > 0 {
		h["aov_repeat"] = round4(t.RevenueRepeat.Float() / float64(t.RepeatOrders))
	}
	if t.Customers > 0 {
		h["rpr"] = round4(100 * float64(t.RepeatCustomers) / float64(t.Customers))
		h["ltv_avg"] = round4(t.Revenue.Float() / float64(t.Customers))
	}
	return h
}
