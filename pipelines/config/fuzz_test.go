package config

import (
	"os"
	"testing"
)

// Any bytes as a config file: Parse and Validate return a config or an error, never panic.
// Seeded with the sample config and the test configs of the input corpus.
func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"../nightly/sample-config.yaml", "../../testdata/inputs/base-config.yaml", "../../testdata/inputs/relaxed-config.yaml", "../../scripts/bench-spine.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("audiences:\n  - name: a\n    segment: champions\n    destinations: {yandex: {}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("config.yaml", data)
		if err == nil && c != nil {
			c.Validate()
			c.AudiencePlan(false)
		}
	})
}
