package segments

import (
	"fmt"
	"math"
	"sort"

	"github.com/expr-lang/expr/vm"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Env is what a condition sees: one customer as of the run date. The `expr` tags are the
// names in the condition language; the func fields are bound to the Evaluator.
type Env struct {
	RecencyDays       int     `expr:"recency_days"`
	Frequency         int     `expr:"frequency"`
	Monetary          float64 `expr:"monetary"`
	AOV               float64 `expr:"aov"`
	TenureDays        int     `expr:"tenure_days"`
	FirstOrderDaysAgo int     `expr:"first_order_days_ago"`
	AccountAgeDays    int     `expr:"account_age_days"`
	Country           string  `expr:"country"`
	Consent           bool    `expr:"consent"`
	Currency          string  `expr:"currency"`
	RFMR              int     `expr:"rfm_r"`
	RFMF              int     `expr:"rfm_f"`
	RFMM              int     `expr:"rfm_m"`
	RFMSegment        string  `expr:"rfm_segment"`
	Cluster           string  `expr:"cluster"`
	Active            bool    `expr:"active"`
	Churned           bool    `expr:"churned"`
	HasCLV            bool    `expr:"has_clv"`
	PredCLV           float64 `expr:"pred_clv"`
	PAlive            float64 `expr:"p_alive"`
	ChurnRisk         float64 `expr:"churn_risk"`

	DaysSinceLast  func(category string) int                `expr:"days_since_last"`
	DaysSinceFirst func(category string) int                `expr:"days_since_first"`
	Bought         func(category string, from, to int) bool `expr:"bought"`
	BoughtSince    func(category string, days int) bool     `expr:"bought_since"`
	Count          func(category string, days int) int      `expr:"count"`
	MonthsAgo      func(n int) int                          `expr:"months_ago"`
	InSegment      func(name string) bool                   `expr:"in_segment"`
	DaysInSegment  func(name string) int                    `expr:"days_in_segment"`
}

// Evaluator runs the rules for one customer at a time. Not safe for concurrent use: build
// one per worker (DoFn instance) with Rules.NewEvaluator.
type Evaluator struct {
	rules *Rules
	asOf  value.Day
	env   Env
	vm    vm.VM

	cat     map[string]int // category -> index into days
	days    [][]value.Day  // per indexed category: days of the customer's orders, ascending
	lastOID []string       // per indexed category: order id last appended (dedupe lines)
	scratch []value.Day    // days of a category that is not indexed
	c       *facts.Customer

	months  [241]int    // months_ago(0..240)
	member  []bool      // per rule: in the segment today (rules evaluated so far)
	entered []value.Day // per rule: entered_at of today's membership
}

// NewEvaluator prepares evaluation as of asOf.
func (r *Rules) NewEvaluator(asOf value.Day) *Evaluator {
	e := &Evaluator{rules: r, asOf: asOf, cat: map[string]int{},
		member: make([]bool, len(r.rules)), entered: make([]value.Day, len(r.rules))}
	for i, c := range r.categories {
		e.cat[c] = i
	}
	e.days = make([][]value.Day, len(r.categories))
	e.lastOID = make([]string, len(r.categories))
	t := asOf.Time()
	for n := range e.months {
		e.months[n] = int(asOf - value.DayOf(t.AddDate(0, -n, 0)))
	}
	e.env.DaysSinceLast = e.daysSinceLast
	e.env.DaysSinceFirst = e.daysSinceFirst
	e.env.Bought = e.bought
	e.env.BoughtSince = func(cat string, days int) bool { return e.bought(cat, 0, days) }
	e.env.Count = e.count
	e.env.MonthsAgo = e.monthsAgo
	e.env.InSegment = e.inSegment
	e.env.DaysInSegment = e.daysInSegment
	return e
}

// Env returns the environment of the last evaluated customer (for tests and debugging).
func (e *Evaluator) Env() *Env { return &e.env }

// Evaluate runs every rule for one customer and appends a segment_membership row (source
// "rule") for each segment the customer is in. row must be the customer's customer_metrics
// row with everything filled in (RFM, cluster, CLV); prev is the customer's membership on
// the previous run (History.Of), used to carry entered_at over. An error names the rule and
// the customer id.
func (e *Evaluator) Evaluate(dst []tables.SegmentMembership, c *facts.Customer, row *tables.CustomerMetrics, prev []tables.SegmentMembership) ([]tables.SegmentMembership, error) {
	e.load(c, row)
	for i := range e.rules.rules {
		rule := &e.rules.rules[i]
		e.member[i] = false
		out, err := e.vm.Run(rule.prog, &e.env)
		if err != nil {
			return dst, fmt.Errorf("segments: rule %q for customer %q: %v", rule.name, c.CustomerID, err)
		}
		if in, _ := out.(bool); in {
			e.member[i] = true
			e.entered[i] = EnteredAt(prev, SourceRule, rule.name, e.asOf)
			dst = append(dst, tables.SegmentMembership{RunDate: int32(e.asOf), CustomerID: c.CustomerID,
				Segment: rule.name, Source: SourceRule, EnteredAt: int32(e.entered[i])})
		}
	}
	return dst, nil
}

func (e *Evaluator) load(c *facts.Customer, row *tables.CustomerMetrics) {
	e.c = c
	env := &e.env
	env.RecencyDays = int(row.RecencyDays)
	env.Frequency = int(row.Orders)
	env.Monetary = row.Revenue
	env.AOV = row.AOV
	env.TenureDays = int(row.TenureDays)
	env.FirstOrderDaysAgo = int(row.TenureDays)
	env.AccountAgeDays = -1
	if c.HasRecord {
		env.AccountAgeDays = int(e.asOf - c.CreatedAt)
	}
	env.Country = c.Country
	env.Consent = c.MarketingConsent
	env.Currency = c.Currency
	env.RFMR, env.RFMF, env.RFMM = int(row.RFMRecency), int(row.RFMFrequency), int(row.RFMMonetary)
	env.RFMSegment = row.RFMSegment
	env.Cluster = row.ClusterName
	env.Active, env.Churned = row.Active, row.Churned
	env.HasCLV = row.PredCLV != nil
	env.PredCLV, env.PAlive, env.ChurnRisk = orNaN(row.PredCLV), orNaN(row.PAlive), orNaN(row.ChurnRisk)

	// One pass over the lines: the order days of every category a rule names.
	for i := range e.days {
		e.days[i] = e.days[i][:0]
		e.lastOID[i] = ""
	}
	if len(e.days) > 0 {
		for i := range c.Lines {
			l := &c.Lines[i]
			if l.Day > e.asOf {
				break // sorted by day
			}
			if j, ok := e.cat[l.Category]; ok && (len(e.days[j]) == 0 || e.lastOID[j] != l.OrderID) {
				e.days[j] = append(e.days[j], l.Day)
				e.lastOID[j] = l.OrderID
			}
		}
	}
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// daysOf returns the ascending order days of a category (up to asOf).
func (e *Evaluator) daysOf(cat string) []value.Day {
	if j, ok := e.cat[cat]; ok {
		return e.days[j]
	}
	// Not named literally by any rule: scan the lines.
	e.scratch = e.scratch[:0]
	last := ""
	for i := range e.c.Lines {
		l := &e.c.Lines[i]
		if l.Day > e.asOf {
			break
		}
		if l.Category == cat && (len(e.scratch) == 0 || l.OrderID != last) {
			e.scratch = append(e.scratch, l.Day)
			last = l.OrderID
		}
	}
	return e.scratch
}

func (e *Evaluator) daysSinceLast(cat string) int {
	d := e.daysOf(cat)
	if len(d) == 0 {
		return -1
	}
	return int(e.asOf - d[len(d)-1])
}

func (e *Evaluator) daysSinceFirst(cat string) int {
	d := e.daysOf(cat)
	if len(d) == 0 {
		return -1
	}
	return int(e.asOf - d[0])
}

// inRange counts the orders between from and to days ago, inclusive.
func (e *Evaluator) inRange(cat string, from, to int) int {
	if from > to {
		from, to = to, from
	}
	if to < 0 {
		return 0
	}
	from = max(from, 0)
	d := e.daysOf(cat)
	lo := e.asOf - value.Day(to)   // earliest day
	hi := e.asOf - value.Day(from) // latest day
	i := sort.Search(len(d), func(k int) bool { return d[k] >= lo })
	j := sort.Search(len(d), func(k int) bool { return d[k] > hi })
	return j - i
}

func (e *Evaluator) bought(cat string, from, to int) bool { return e.inRange(cat, from, to) > 0 }

func (e *Evaluator) count(cat string, days int) int { return e.inRange(cat, 0, days) }

func (e *Evaluator) monthsAgo(n int) int {
	if n >= 0 && n < len(e.months) {
		return e.months[n]
	}
	return int(e.asOf - value.DayOf(e.asOf.Time().AddDate(0, -n, 0)))
}

func (e *Evaluator) inSegment(name string) bool {
	i, ok := e.rules.index[name]
	return ok && e.member[i]
}

func (e *Evaluator) daysInSegment(name string) int {
	i, ok := e.rules.index[name]
	if !ok || !e.member[i] {
		return -1
	}
	return int(e.asOf - e.entered[i])
}
