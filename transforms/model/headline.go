package model

import (
	"strings"

	"github.com/audiencesync/audiencesync/transforms/counters"
	"github.com/audiencesync/audiencesync/transforms/metrics"
)

// The headline figures of the run summary come from the fit's counters: each currency's
// base-wide totals are counted as headline.<currency>.<total> (money in value.Money units,
// so the sums are exact), and the driver rebuilds metrics.Headline from them.

// HeadlineCounters names one currency's totals as counters.
func HeadlineCounters(currency string, t *metrics.Totals) map[string]int64 {
	out := make(map[string]int64, len(metrics.TotalNames))
	for i, f := range t.Fields() {
		out[counters.Headline+currency+"."+metrics.TotalNames[i]] = *f
	}
	return out
}

// Headline rebuilds the per-currency headline figures (metrics.Headline) from counters
// named by HeadlineCounters; other counters are ignored.
func Headline(cs map[string]int64) map[string]map[string]float64 {
	totals := map[string]*metrics.Totals{}
	for name, v := range cs {
		rest, ok := strings.CutPrefix(name, counters.Headline)
		if !ok {
			continue
		}
		i := strings.LastIndexByte(rest, '.')
		if i < 0 {
			continue
		}
		cur, field := rest[:i], rest[i+1:]
		t := totals[cur]
		if t == nil {
			t = &metrics.Totals{}
			totals[cur] = t
		}
		for j, f := range t.Fields() {
			if metrics.TotalNames[j] == field {
				*f += v
			}
		}
	}
	out := make(map[string]map[string]float64, len(totals))
	for cur, t := range totals {
		out[cur] = metrics.Headline(t)
	}
	return out
}
