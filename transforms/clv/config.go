package clv

import (
	"fmt"
	"math"

	"github.com/audiencesync/audiencesync/transforms/value"
)

// Discount periods for Config.DiscountPeriod.
const (
	DiscountPerYear  = "year"
	DiscountPerMonth = "month"
)

// Config is the clv section of the pipeline config. Zero values mean the documented
// defaults, so an empty section with enabled: true is a working configuration.
//
// YAML:
//
//	clv:
//	  enabled: true
//	  time_unit: weeks            # weeks (default) | days: the unit of x, t_x, T and the parameters
//	  horizon_days: 365           # CLV and expected-purchases horizon, in days (default 365)
//	  margin: 0.3                 # profit margin applied to CLV, 0 < margin <= 1 (default 1 = revenue CLV)
//	  discount_rate: 0.1          # discount rate per discount_period (default 0 = no discounting)
//	  discount_period: year       # year (default) | month
//	  calibration_end: 2024-06-30 # fit on orders up to and including this day (default: the run's as-of date)
//	  holdout_end: 2024-12-31     # optional: compare predictions with actual purchases after calibration_end
//	  starts: 5                   # optimiser starting points per model (default 5)
//	  fit_sample_rate: 1          # share of customers the models are fitted on (default 1 = all)
type Config struct {
	Enabled bool `yaml:"enabled"`
	// TimeUnit is days or weeks (days/7, not rounded). Weeks is the published convention
	// (Fader, Hardie & Lee 2005 on CDNOW) and keeps the parameters in a well-conditioned range.
	TimeUnit string `yaml:"time_unit"`
	// HorizonDays is the prediction horizon in days, whatever the time unit: a marketer
	// thinks of "the next 365 days", not of 52.14 weeks.
	HorizonDays float64 `yaml:"horizon_days"`
	// Margin turns revenue into profit; 1 (the default) gives revenue CLV.
	Margin float64 `yaml:"margin"`
	// DiscountRate per DiscountPeriod; 0 means no discounting.
	DiscountRate   float64 `yaml:"discount_rate"`
	DiscountPeriod string  `yaml:"discount_period"`
	// CalibrationEnd (YYYY-MM-DD, inclusive) bounds the data the models are fitted on; empty
	// means the run's as-of date. Predictions per customer always use the history up to the
	// as-of date with the fitted parameters.
	CalibrationEnd string `yaml:"calibration_end"`
	// HoldoutEnd (YYYY-MM-DD, inclusive), when set, turns on the holdout report: predicted
	// vs actual repeat purchases in (calibration_end, holdout_end].
	HoldoutEnd string `yaml:"holdout_end"`
	// Starts is the number of optimiser starting points per model.
	Starts int `yaml:"starts"`
	// FitSampleRate, in (0, 1], fits the models on a deterministic sample of customers
	// (chosen by a hash of the customer id, so every run and every bucket picks the same
	// ones). The aggregate holds about one cell per repeat buyer, so for many millions of
	// customers a rate such as 0.1 bounds its size and the fit time; the estimates from a
	// million customers are already far more precise than the model is right. Predictions
	// are made for every customer either way. 0 means 1.
	FitSampleRate float64 `yaml:"fit_sample_rate"`
}

// Defaults returns the configuration used when the config file says nothing (disabled).
func Defaults() Config {
	return Config{TimeUnit: string(Weeks), HorizonDays: 365, Margin: 1, DiscountPeriod: DiscountPerYear, Starts: 5, FitSampleRate: 1}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	if c.TimeUnit == "" {
		c.TimeUnit = d.TimeUnit
	}
	if c.HorizonDays == 0 {
		c.HorizonDays = d.HorizonDays
	}
	if c.Margin == 0 {
		c.Margin = d.Margin
	}
	if c.DiscountPeriod == "" {
		c.DiscountPeriod = d.DiscountPeriod
	}
	if c.Starts == 0 {
		c.Starts = d.Starts
	}
	if c.FitSampleRate == 0 {
		c.FitSampleRate = 1
	}
	return c
}

// Validate checks the config; path is where it sits in the config file (e.g. "clv").
func (c Config) Validate(path string) error {
	c = c.withDefaults()
	if _, err := ParseTimeUnit(c.TimeUnit); err != nil {
		return fmt.Errorf("%s.time_unit: %v", path, err)
	}
	if !(c.HorizonDays > 0 && c.HorizonDays <= 3660) || math.IsNaN(c.HorizonDays) {
		return fmt.Errorf("%s.horizon_days: %v is out of range (want 0 < horizon_days <= 3660, e.g. 365)", path, c.HorizonDays)
	}
	if !(c.Margin > 0 && c.Margin <= 1) {
		return fmt.Errorf("%s.margin: %v is out of range (want 0 < margin <= 1; 1 = revenue CLV)", path, c.Margin)
	}
	if !(c.DiscountRate >= 0 && c.DiscountRate < 10) {
		return fmt.Errorf("%s.discount_rate: %v is out of range (want a rate such as 0.1 for 10%% per discount_period, 0 <= rate < 10)", path, c.DiscountRate)
	}
	switch c.DiscountPeriod {
	case DiscountPerYear, DiscountPerMonth:
	default:
		return fmt.Errorf("%s.discount_period: unknown period %q (known: year, month)", path, c.DiscountPeriod)
	}
	if c.Starts < 1 || c.Starts > 100 {
		return fmt.Errorf("%s.starts: %d is out of range (want 1..100)", path, c.Starts)
	}
	if !(c.FitSampleRate > 0 && c.FitSampleRate <= 1) {
		return fmt.Errorf("%s.fit_sample_rate: %v is out of range (want 0 < rate <= 1, e.g. 0.1 to fit on a tenth of the customers)", path, c.FitSampleRate)
	}
	var cal, hold value.Day
	var err error
	if c.CalibrationEnd != "" {
		if cal, err = value.ParseDay(c.CalibrationEnd); err != nil {
			return fmt.Errorf("%s.calibration_end: %v", path, err)
		}
	}
	if c.HoldoutEnd != "" {
		if hold, err = value.ParseDay(c.HoldoutEnd); err != nil {
			return fmt.Errorf("%s.holdout_end: %v", path, err)
		}
		if c.CalibrationEnd == "" {
			return fmt.Errorf("%s.holdout_end: set calibration_end too (the holdout window is calibration_end < day <= holdout_end)", path)
		}
		if hold <= cal {
			return fmt.Errorf("%s.holdout_end: %s is not after calibration_end %s", path, c.HoldoutEnd, c.CalibrationEnd)
		}
	}
	return nil
}

// Spec is the config resolved against the run's as-of date: what the DoFns carry (exported
// fields only, so it serialises with the DoFn).
type Spec struct {
	Unit           TimeUnit
	CalibrationEnd value.Day
	// HoldoutEnd is 0 when there is no holdout window.
	HoldoutEnd      value.Day
	HorizonDays     float64
	Margin          float64
	MonthlyDiscount float64 // discount rate per month (converted from a yearly rate)
	Starts          int
	FitSampleRate   float64
}

// HasHoldout reports whether a holdout window is configured.
func (s Spec) HasHoldout() bool { return s.HoldoutEnd > s.CalibrationEnd }

// Resolve validates the config and fixes its dates against the run's as-of date: the
// calibration end defaults to asOf, and neither it nor the holdout end may lie after asOf
// (the data would silently stop short of them).
func (c Config) Resolve(path string, asOf value.Day) (Spec, error) {
	if err := c.Validate(path); err != nil {
		return Spec{}, err
	}
	c = c.withDefaults()
	unit, _ := ParseTimeUnit(c.TimeUnit)
	s := Spec{Unit: unit, CalibrationEnd: asOf, HorizonDays: c.HorizonDays, Margin: c.Margin, Starts: c.Starts, FitSampleRate: c.FitSampleRate}
	if c.CalibrationEnd != "" {
		s.CalibrationEnd, _ = value.ParseDay(c.CalibrationEnd)
		if s.CalibrationEnd > asOf {
			return Spec{}, fmt.Errorf("%s.calibration_end: %s is after the run's as-of date %s", path, c.CalibrationEnd, asOf)
		}
	}
	if c.HoldoutEnd != "" {
		s.HoldoutEnd, _ = value.ParseDay(c.HoldoutEnd)
		if s.HoldoutEnd > asOf {
			return Spec{}, fmt.Errorf("%s.holdout_end: %s is after the run's as-of date %s", path, c.HoldoutEnd, asOf)
		}
	}
	switch c.DiscountPeriod {
	case DiscountPerMonth:
		s.MonthlyDiscount = c.DiscountRate
	default:
		s.MonthlyDiscount = math.Pow(1+c.DiscountRate, 1.0/12) - 1
	}
	return s, nil
}
