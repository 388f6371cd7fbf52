package metrics

import (
	"fmt"
	"math"
	"sort"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Config holds the settings every metric depends on.
type Config struct {
	RunDate            value.Day // exclusive: the run sees days before it
	Calendar           Calendar
	ActivityWindowDays int // W; default 365
	CLVLifetimeDays    int // expected customer lifetime for simple CLV; default 730
}

// Defaults fills zero fields.
func (c *Config) Defaults() {
	if c.ActivityWindowDays == 0 {
		c.ActivityWindowDays = 365
	}
	if c.CLVLifetimeDays == 0 {
		c.CLVLifetimeDays = 730
	}
}

// Validate checks the settings.
func (c Config) Validate() error {
	if c.ActivityWindowDays <= 0 {
		return fmt.Errorf("activity_window_days: %d must be > 0", c.ActivityWindowDays)
	}
	if c.CLVLifetimeDays <= 0 {
		return fmt.Errorf("clv_lifetime_days: %d must be > 0", c.CLVLifetimeDays)
	}
	return nil
}

// CurrentPeriod is the period of the last day the run sees (RunDate - 1).
func (c Config) CurrentPeriod() int { return c.Calendar.Index(c.RunDate - 1) }

// LastCompletePeriod is the latest period that ended before RunDate.
func (c Config) LastCompletePeriod() int {
	p := c.CurrentPeriod()
	if c.Calendar.End(p) < c.RunDate {
		return p
	}
	return p - 1
}

// ActiveAt reports whether the customer bought in [d-W, d).
func (c Config) ActiveAt(ps []facts.Purchase, d value.Day) bool {
	// Index of the first purchase on or after d; the one before it is the last before d.
	i := sort.Search(len(ps), func(i int) bool { return ps[i].Day >= d })
	return i > 0 && ps[i-1].Day >= d-value.Day(c.ActivityWindowDays)
}

// periodLen is the average period length in days, for converting tenure and lifetime.
func (c Config) periodLen() float64 {
	if c.Calendar.Weeks {
		return 7
	}
	return 365.2425 / 12
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

func ptr(f float64) *float64 { return &f }

// Churned reports whether the customer churned in period p: active at its first day and not
// at the day after its last.
func (c Config) Churned(ps []facts.Purchase, p int) bool {
	return c.ActiveAt(ps, c.Calendar.Start(p)) && !c.ActiveAt(ps, c.Calendar.End(p)+1)
}

// CustomerRow computes a customer's customer_metrics row (RFM, cluster and CLV columns are
// filled later by their own transforms). ok is false for a customer without purchases.
func CustomerRow(c *facts.Customer, cfg Config) (row tables.CustomerMetrics, ok bool) {
	n := c.Orders()
	if n == 0 {
		return row, false
	}
	rev := c.Revenue()
	first, last := c.FirstDay(), c.LastDay()
	aov := rev.Float() / float64(n)
	row = tables.CustomerMetrics{
		RunDate:         int32(cfg.RunDate),
		CustomerID:      c.CustomerID,
		Currency:        c.Currency,
		FirstOrderDate:  int32(first),
		LastOrderDate:   int32(last),
		Cohort:          cfg.Calendar.Label(cfg.Calendar.Index(first)),
		AcqChannel:      c.AcquisitionChannel(),
		Orders:          int64(n),
		Revenue:         rev.Float(),
		AOV:             round4(aov),
		FirstOrderValue: c.Purchases[0].Amount.Float(),
		RecencyDays:     int64(cfg.RunDate - last),
		TenureDays:      int64(cfg.RunDate - first),
		Active:          cfg.ActiveAt(c.Purchases, cfg.RunDate),
		Churned:         cfg.Churned(c.Purchases, cfg.LastCompletePeriod()),
		HasConsent:      c.MarketingConsent,
		Cluster:         -1,
	}
	if n > 1 {
		row.RepeatAOV = ptr(round4((rev - c.Purchases[0].Amount).Float() / float64(n-1)))
	}
	row.CLVSimple = round4(SimpleCLV(aov, n, row.TenureDays, cfg))
	return row, true
}

// SimpleCLV = AOV x purchases per period x expected lifetime in periods.
func SimpleCLV(aov float64, orders int, tenureDays int64, cfg Config) float64 {
	tenure := math.Max(1, float64(tenureDays)/cfg.periodLen())
	lifetime := float64(cfg.CLVLifetimeDays) / cfg.periodLen()
	return aov * float64(orders) / tenure * lifetime
}
