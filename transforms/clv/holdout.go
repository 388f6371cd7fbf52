package clv

import "strconv"

// HoldoutBuckets is the number of calibration-frequency buckets in the holdout table: 0..6
// and "7+" (lifetimes' plot_calibration_purchases_vs_holdout_purchases shows 0..6).
const HoldoutBuckets = 8

// HoldoutReport compares the BG/NBD prediction with what calibration customers actually
// bought in the holdout window (calibration_end, holdout_end]. Purchases are distinct
// purchase days, as in the calibration statistics.
type HoldoutReport struct {
	CalibrationEnd string  `json:"calibration_end"`
	HoldoutEnd     string  `json:"holdout_end"`
	Duration       float64 `json:"duration"` // window length in the model's time unit
	Customers      int64   `json:"customers"`
	Actual         float64 `json:"actual_purchases"`
	Predicted      float64 `json:"predicted_purchases"`
	// Buckets by calibration frequency: mean actual vs mean predicted purchases per customer.
	Buckets []HoldoutBucket `json:"buckets"`
}

// HoldoutBucket is one row of the calibration-vs-holdout table.
type HoldoutBucket struct {
	Frequency     string  `json:"frequency"` // "0".."6", "7+"
	Customers     int64   `json:"customers"`
	ActualMean    float64 `json:"actual_mean"`
	PredictedMean float64 `json:"predicted_mean"`
}

func holdoutReport(agg *Aggregate, bg BGNBD) *HoldoutReport {
	du := agg.Unit.DaysPer()
	t := float64(agg.HoldoutEnd-agg.CalibrationEnd) / du
	r := &HoldoutReport{CalibrationEnd: agg.CalibrationEnd.String(), HoldoutEnd: agg.HoldoutEnd.String(), Duration: t}
	type acc struct {
		n         int64
		act, pred float64
	}
	b := make([]acc, HoldoutBuckets)
	for _, c := range agg.Cells {
		if c.Count == 0 {
			continue
		}
		pred := bg.ExpectedPurchases(c.X, c.TX, c.T, t) * float64(c.Count)
		i := int(c.X)
		if i >= HoldoutBuckets-1 {
			i = HoldoutBuckets - 1
		}
		b[i].n += c.Count
		b[i].act += float64(c.HoldoutPurchases)
		b[i].pred += pred
		r.Customers += c.Count
		r.Actual += float64(c.HoldoutPurchases)
		r.Predicted += pred
	}
	for i, a := range b {
		label := strconv.Itoa(i)
		if i == HoldoutBuckets-1 {
			label += "+"
		}
		hb := HoldoutBucket{Frequency: label, Customers: a.n}
		if a.n > 0 {
			hb.ActualMean = a.act / float64(a.n)
			hb.PredictedMean = a.pred / float64(a.n)
		}
		r.Buckets = append(r.Buckets, hb)
	}
	return r
}
