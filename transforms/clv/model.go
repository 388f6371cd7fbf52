package clv

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Model is the fitted BG/NBD and (when it could be fitted) Gamma-Gamma model of one
// currency, plus the spec the predictions use. Exported fields only: it travels to the
// prediction DoFns as a side input.
type Model struct {
	Spec     Spec
	BGNBD    BGNBD
	BGNBDFit FitInfo
	// GG is nil when the Gamma-Gamma fit failed (GGFit.Error says why); predictions then
	// carry no expected AOV and no CLV, but P(alive) and expected purchases are still valid.
	GG      *GammaGamma
	GGFit   FitInfo
	Holdout *HoldoutReport
}

// Fit fits both models on a merged aggregate. It fails when the BG/NBD fit fails; a failed
// Gamma-Gamma fit is recorded in GGFit.Error instead, because churn risk and expected
// purchases do not need it.
func Fit(agg *Aggregate, spec Spec) (*Model, error) {
	if agg.Unit != spec.Unit || agg.CalibrationEnd != spec.CalibrationEnd {
		return nil, fmt.Errorf("clv: aggregate built for (%s, calibration end %s) but the spec says (%s, %s)",
			agg.Unit, agg.CalibrationEnd, spec.Unit, spec.CalibrationEnd)
	}
	agg.Sort()
	m := &Model{Spec: spec}
	var err error
	m.BGNBD, m.BGNBDFit, err = FitBGNBD(agg.Cells, spec.Starts)
	if err != nil {
		return nil, fmt.Errorf("%w (calibration end %s, time unit %s)", err, spec.CalibrationEnd, spec.Unit)
	}
	gg, ggi, err := FitGammaGamma(agg.Repeat, spec.Starts)
	m.GGFit = ggi
	if err != nil {
		m.GGFit.Error = err.Error()
	} else if gg.Q <= 1 {
		m.GGFit.Error = fmt.Sprintf("clv: gamma_gamma: fitted q = %.4g <= 1: the population mean spend p·v/(q−1) does not exist; expected AOV and CLV are left empty", gg.Q)
	} else {
		m.GG = &gg
	}
	if agg.HoldoutEnd > agg.CalibrationEnd {
		m.Holdout = holdoutReport(agg, m.BGNBD)
	}
	return m, nil
}

// Prediction is one customer's model output over the spec's horizon.
type Prediction struct {
	PredPurchases float64 // expected purchase days in the next horizon_days
	PAlive        float64
	ChurnRisk     float64 // 1 − PAlive
	// HasValue reports whether ExpAOV and PredCLV are set (Gamma-Gamma fitted).
	HasValue bool
	ExpAOV   float64 // Gamma-Gamma conditional expected purchase-day amount
	PredCLV  float64 // see CLV
}

// monthDays is the length of the discounting period: a calendar month on average.
const monthDays = 365.25 / 12

// Predict returns the prediction for a customer with statistics s (in the model's unit,
// measured at the date the prediction is for, normally the run's as-of date).
//
// CLV = margin × ExpAOV × Σ_k ΔE_k / (1+d)^k, where the horizon is cut into months of
// 365.25/12 days (the last one possibly partial), ΔE_k is the BG/NBD expected purchases in
// month k (E(t_k) − E(t_{k−1}), the expected count at the end of month k minus that at its
// start) and d is the monthly discount rate (a yearly rate y becomes (1+y)^(1/12) − 1). This
// integrates the purchase rate over discrete periods, like lifetimes'
// customer_lifetime_value; with no discount it is margin × ExpAOV × PredPurchases.
func (m *Model) Predict(s Stats) Prediction {
	du := m.Spec.Unit.DaysPer()
	h := m.Spec.HorizonDays / du
	bg := m.BGNBD
	p := Prediction{PAlive: bg.PAlive(s.X, s.TX, s.T)}
	p.ChurnRisk = 1 - p.PAlive
	p.PredPurchases = bg.ExpectedPurchases(s.X, s.TX, s.T, h)
	if m.GG == nil {
		return p
	}
	aov := m.GG.ExpectedAOV(0, 0) // population mean: no repeat purchase, or no positive mean
	if s.X > 0 && s.MeanRepeatValue > 0 {
		aov = m.GG.ExpectedAOV(s.X, s.MeanRepeatValue)
	}
	if math.IsInf(aov, 0) || math.IsNaN(aov) {
		return p
	}
	disc := p.PredPurchases
	if d := m.Spec.MonthlyDiscount; d > 0 {
		disc = 0
		prev := 0.0
		k := int(math.Ceil(m.Spec.HorizonDays/monthDays - 1e-9))
		for i := 1; i <= k; i++ {
			t := math.Min(float64(i)*monthDays, m.Spec.HorizonDays) / du
			e := p.PredPurchases
			if i < k {
				e = bg.ExpectedPurchases(s.X, s.TX, s.T, t)
			}
			disc += (e - prev) / math.Pow(1+d, float64(i))
			prev = e
		}
	}
	p.HasValue = true
	p.ExpAOV = aov
	p.PredCLV = m.Spec.Margin * aov * disc
	return p
}

// PredictCustomer computes c's statistics as of asOf (normally the run's as-of date: the
// parameters come from the calibration period, the customer's history is the newest) and
// predicts. ok is false when c had no purchase by asOf.
func (m *Model) PredictCustomer(c *facts.Customer, asOf value.Day) (Prediction, bool) {
	s, ok := StatsOf(c, asOf, m.Spec.Unit)
	if !ok {
		return Prediction{}, false
	}
	return m.Predict(s), true
}

// Apply writes the prediction into the customer_metrics row (nullable columns; ExpAOV and
// PredCLV stay null without a Gamma-Gamma fit, and every column stays null if a value is
// not finite, which only extreme parameters can cause).
func (p Prediction) Apply(row *tables.CustomerMetrics) {
	f := func(v float64) *float64 { return &v }
	row.PredPurchases, row.PAlive, row.ChurnRisk, row.ExpAOV, row.PredCLV = nil, nil, nil, nil, nil
	if !finite(p.PredPurchases) || !finite(p.PAlive) {
		return
	}
	row.PredPurchases = f(p.PredPurchases)
	row.PAlive = f(p.PAlive)
	row.ChurnRisk = f(p.ChurnRisk)
	if p.HasValue && finite(p.ExpAOV) && finite(p.PredCLV) {
		row.ExpAOV = f(math.Round(p.ExpAOV*1e4) / 1e4)
		row.PredCLV = f(math.Round(p.PredCLV*1e4) / 1e4)
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Rows returns the clv_model table rows of this model for one currency: bgnbd,
// gamma_gamma when it was fitted, and holdout (Params = the HoldoutReport) when the spec has
// a holdout window.
func (m *Model) Rows(runDate value.Day, currency string) []tables.CLVModel {
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	rows := []tables.CLVModel{{
		RunDate: int32(runDate), Currency: currency, Model: "bgnbd", Params: js(m.BGNBD),
		LogLikelihood: m.BGNBDFit.LogLikelihood, TimeUnit: string(m.Spec.Unit),
		Customers: m.BGNBDFit.Customers, FitDate: int32(m.Spec.CalibrationEnd), Converged: m.BGNBDFit.Converged,
	}}
	if m.GG != nil {
		rows = append(rows, tables.CLVModel{
			RunDate: int32(runDate), Currency: currency, Model: "gamma_gamma", Params: js(m.GG),
			LogLikelihood: m.GGFit.LogLikelihood, TimeUnit: string(m.Spec.Unit),
			Customers: m.GGFit.Customers, FitDate: int32(m.Spec.CalibrationEnd), Converged: m.GGFit.Converged,
		})
	}
	if h := m.Holdout; h != nil {
		// The BG/NBD model's predictions against the purchases after the calibration end.
		rows = append(rows, tables.CLVModel{
			RunDate: int32(runDate), Currency: currency, Model: "holdout", Params: js(h), TimeUnit: string(m.Spec.Unit),
			Customers: h.Customers, FitDate: int32(m.Spec.CalibrationEnd), Converged: m.BGNBDFit.Converged,
		})
	}
	return rows
}

// Report is the model's entry in run_summary.json (tables.Summary.CLV[currency]).
type Report struct {
	TimeUnit       string         `json:"time_unit"`
	CalibrationEnd string         `json:"calibration_end"`
	HorizonDays    float64        `json:"horizon_days"`
	FitSampleRate  float64        `json:"fit_sample_rate"`
	BGNBD          BGNBD          `json:"bgnbd"`
	BGNBDFit       FitInfo        `json:"bgnbd_fit"`
	GammaGamma     *GammaGamma    `json:"gamma_gamma,omitempty"`
	GammaGammaFit  FitInfo        `json:"gamma_gamma_fit"`
	Holdout        *HoldoutReport `json:"holdout,omitempty"`
}

// Report summarises the model for the run summary.
func (m *Model) Report() Report {
	return Report{
		TimeUnit:       string(m.Spec.Unit),
		CalibrationEnd: m.Spec.CalibrationEnd.String(),
		HorizonDays:    m.Spec.HorizonDays,
		FitSampleRate:  m.Spec.FitSampleRate,
		BGNBD:          m.BGNBD,
		BGNBDFit:       m.BGNBDFit,
		GammaGamma:     m.GG,
		GammaGammaFit:  m.GGFit,
		Holdout:        m.Holdout,
	}
}
