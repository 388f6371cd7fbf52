package model

import (
	"fmt"
	"maps"
	"slices"

	"github.com/audiencesync/audiencesync/transforms/clv"
	"github.com/audiencesync/audiencesync/transforms/kmeans"
	"github.com/audiencesync/audiencesync/transforms/metrics"
	"github.com/audiencesync/audiencesync/transforms/nightly"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
	"github.com/audiencesync/audiencesync/transforms/wire"
)

// Models are the base-wide results every bucket needs to score its customers.
type Models struct {
	RFM    map[string]rfm.Model     // by currency
	KMeans map[string]*kmeans.Model // by currency
	CLV    map[string]*clv.Model    // by currency; absent when the fit failed
}

// Fitted is what FitPartial produces besides the models: the base-wide tables and what the
// run summary reports about them.
type Fitted struct {
	PeriodMetrics []tables.PeriodMetrics
	Cohorts       []tables.CohortRetention
	CLVModels     []tables.CLVModel
	// CLVFailed are the currencies whose CLV model could not be fitted, as dead letters
	// (input InputCLV, id = currency, reason ReasonCLVFit, detail = why).
	CLVFailed []nightly.DeadLetter
	// Headline: the base-wide totals per currency, reported as counters (HeadlineCounters).
	Totals map[string]*metrics.Totals
}

// InputCLV and ReasonCLVFit name the dead letter of a CLV model that could not be fitted.
const (
	InputCLV     = "clv_model"
	ReasonCLVFit = "fit_failed"
)

// FitPartial computes the models and the base-wide tables from the merged partial.
func FitPartial(p *Partial, s *Settings, spend []orders.Spend) (*Models, *Fitted, error) {
	m := &Models{RFM: map[string]rfm.Model{}, KMeans: map[string]*kmeans.Model{}, CLV: map[string]*clv.Model{}}
	g := &Fitted{Totals: p.Metrics.Totals}
	for _, cur := range slices.Sorted(maps.Keys(p.RFM)) {
		cut, err := rfm.Fit(p.RFM[cur], s.RFM.Bins)
		if err != nil {
			return nil, nil, fmt.Errorf("rfm (%s): %w", cur, err)
		}
		m.RFM[cur] = s.RFM.NewModel(cut)
	}
	if s.KMeansEnabled {
		for cur, smp := range p.KMeans {
			km, err := kmeans.Train(s.KMeans, smp)
			if err != nil {
				return nil, nil, fmt.Errorf("kmeans (%s): %w", cur, err)
			}
			m.KMeans[cur] = km
		}
	}
	var sp map[metrics.SpendKey]value.Money
	if len(spend) > 0 {
		sp = metrics.SpendTable(spend)
	}
	if s.CLVEnabled {
		for _, cur := range slices.Sorted(maps.Keys(p.CLV)) {
			// A model that cannot be fitted (too few repeat buyers, no convergence) leaves
			// the CLV columns null for that currency and says why in a dead letter; the
			// rest of the run is unaffected.
			model, err := clv.Fit(p.CLV[cur], s.CLV)
			if err != nil {
				g.CLVFailed = append(g.CLVFailed, nightly.DeadLetter{Input: InputCLV, ID: cur, Reason: ReasonCLVFit, Detail: err.Error()})
				continue
			}
			m.CLV[cur] = model
			g.CLVModels = append(g.CLVModels, model.Rows(s.Metrics.RunDate, cur)...)
		}
	}
	g.PeriodMetrics, g.Cohorts = metrics.Finalize(p.Metrics, s.Metrics, sp)
	return m, g, nil
}

// MarshalBinary encodes the models in the wire encoding (currencies sorted).
func (m *Models) MarshalBinary() ([]byte, error) {
	e := wire.NewEnc(1024)
	wire.Map(e, m.RFM, rfm.Model.EncodeTo)
	wire.Map(e, m.KMeans, (*kmeans.Model).EncodeTo)
	wire.Map(e, m.CLV, (*clv.Model).EncodeTo)
	return e.B, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (m *Models) UnmarshalBinary(b []byte) error {
	d := wire.NewDec(b)
	q := Models{RFM: wire.ReadMap(d, rfm.DecodeModel), KMeans: wire.ReadMap(d, kmeans.DecodeModel), CLV: wire.ReadMap(d, clv.DecodeModelFrom)}
	if err := d.Done(); err != nil {
		return fmt.Errorf("model: models: %w", err)
	}
	*m = q
	return nil
}
