package kmeans

import (
	"fmt"
	"strings"
)

// Config is the `kmeans:` block of the pipeline config.
//
//	kmeans:
//	  k: 0                  # 0 = choose 2..8 by silhouette
//	  seed: 1
//	  restarts: 5
//	  max_iter: 100
//	  tolerance: 0.0001     # stop when no centre moves more (z units)
//	  sample_size: 50000    # customers trained on (hash sample); every customer is assigned
//	  silhouette_sample: 2000
//	  extra_features: [aov, tenure_days, "share:mattress"]
type Config struct {
	K                int      `yaml:"k"`
	Seed             uint64   `yaml:"seed"`
	Restarts         int      `yaml:"restarts"`
	MaxIter          int      `yaml:"max_iter"`
	Tolerance        float64  `yaml:"tolerance"`
	SampleSize       int      `yaml:"sample_size"`
	SilhouetteSample int      `yaml:"silhouette_sample"`
	ExtraFeatures    []string `yaml:"extra_features"`
}

// MaxAutoK is the largest K tried when k is 0.
const MaxAutoK = 8

// Defaults returns the default config; decode YAML over it.
func Defaults() Config {
	return Config{K: 0, Seed: 1, Restarts: 5, MaxIter: 100, Tolerance: 1e-4, SampleSize: 50000, SilhouetteSample: 2000}
}

// Extra feature names accepted in extra_features; "share:<category>" is the share of the
// customer's order-line revenue in the look-back window spent on that category.
const (
	FeatureAOV    = "aov"
	FeatureTenure = "tenure_days"
	SharePrefix   = "share:"
)

// Validate checks the config; path is the config path of the block (e.g. "kmeans").
func (c Config) Validate(path string) error {
	switch {
	case c.K < 0 || c.K == 1 || c.K > 50:
		return fmt.Errorf("%s.k: %d is not usable (use 0 for automatic 2..%d, or 2..50)", path, c.K, MaxAutoK)
	case c.Restarts < 1:
		return fmt.Errorf("%s.restarts: %d must be at least 1", path, c.Restarts)
	case c.MaxIter < 1:
		return fmt.Errorf("%s.max_iter: %d must be at least 1", path, c.MaxIter)
	case !(c.Tolerance >= 0):
		return fmt.Errorf("%s.tolerance: %v must be 0 or more", path, c.Tolerance)
	case c.SampleSize < 10:
		return fmt.Errorf("%s.sample_size: %d is too small (use at least 10; default 50000)", path, c.SampleSize)
	case c.SilhouetteSample < 10 && c.K == 0:
		return fmt.Errorf("%s.silhouette_sample: %d is too small for k: 0 (use at least 10; default 2000)", path, c.SilhouetteSample)
	}
	seen := map[string]bool{}
	for i, f := range c.ExtraFeatures {
		p := fmt.Sprintf("%s.extra_features[%d]", path, i)
		switch {
		case f == FeatureAOV || f == FeatureTenure:
		case strings.HasPrefix(f, SharePrefix) && strings.TrimSpace(f[len(SharePrefix):]) != "":
		default:
			return fmt.Errorf("%s: unknown feature %q (known: %s, %s, %s<category>)", p, f, FeatureAOV, FeatureTenure, SharePrefix)
		}
		if seen[f] {
			return fmt.Errorf("%s: feature %q is listed twice", p, f)
		}
		seen[f] = true
	}
	return nil
}

// FeatureNames lists the model's features in vector order: recency_days, frequency, monetary,
// then the extra features in config order.
func (c Config) FeatureNames() []string {
	return append([]string{"recency_days", "frequency", "monetary"}, c.ExtraFeatures...)
}
