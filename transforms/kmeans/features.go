package kmeans

import (
	"math"
	"strings"

	"github.com/audiencesync/audiencesync/transforms/facts"
	"github.com/audiencesync/audiencesync/transforms/rfm"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// Featurizer turns one customer into a feature vector. Build one per run (it holds the as-of
// date and look-back window) and reuse it; Extract does not allocate when dst has capacity.
type Featurizer struct {
	asOf  value.Day
	from  value.Day // first day of the look-back window rfm.Window; asOf is its exclusive end
	names []string
	cats  map[string]int // category -> index into the share features
	first int            // index of the first share feature
}

// NewFeaturizer prepares feature extraction as of asOf with the RFM look-back window
// (lookbackDays; 0 = all history), the same window rfm.Measure used.
func NewFeaturizer(cfg Config, asOf value.Day, lookbackDays int) *Featurizer {
	f := &Featurizer{asOf: asOf, names: cfg.FeatureNames(), cats: map[string]int{}, first: -1}
	f.from, _ = rfm.Window(asOf, lookbackDays)
	for i, n := range f.names {
		if cat, ok := strings.CutPrefix(n, SharePrefix); ok {
			if f.first < 0 {
				f.first = i
			}
			f.cats[cat] = i
		}
	}
	return f
}

// Dim is the length of a feature vector.
func (f *Featurizer) Dim() int { return len(f.names) }

// isLog reports whether the feature is log1p-transformed (everything but category shares).
func isLog(name string) bool { return !strings.HasPrefix(name, SharePrefix) }

func log1p0(x float64) float64 { return math.Log1p(math.Max(x, 0)) }

// Extract appends the customer's features to dst[:0] and returns it. v must be
// rfm.Measure(c, asOf, lookbackDays) for the same customer.
func (f *Featurizer) Extract(dst []float64, c *facts.Customer, v rfm.Values) []float64 {
	dst = dst[:0]
	money := v.Monetary.Float()
	dst = append(dst, log1p0(float64(v.RecencyDays)), log1p0(float64(v.Frequency)), log1p0(money))
	var lineTotal value.Money
	for _, n := range f.names[3:] {
		switch {
		case n == FeatureAOV:
			aov := 0.0
			if v.Frequency > 0 {
				aov = money / float64(v.Frequency)
			}
			dst = append(dst, log1p0(aov))
		case n == FeatureTenure:
			t := 0.0
			if c.Orders() > 0 {
				t = float64(f.asOf - c.FirstDay())
			}
			dst = append(dst, log1p0(t))
		default:
			dst = append(dst, 0) // share, filled below
		}
	}
	if f.first >= 0 {
		for i := range c.Lines {
			l := &c.Lines[i]
			if l.Day < f.from || l.Day >= f.asOf { // rfm.Window: [asOf-W, asOf)
				continue
			}
			lineTotal += l.Amount
			if j, ok := f.cats[l.Category]; ok {
				dst[j] += l.Amount.Float()
			}
		}
		for j := f.first; j < len(dst); j++ {
			if isLog(f.names[j]) {
				continue
			}
			if lineTotal > 0 {
				dst[j] /= lineTotal.Float()
			} else {
				dst[j] = 0
			}
		}
	}
	return dst
}
