package meta

import (
	"strconv"
	"testing"

	"github.com/audiencesync/audiencesync/sinks/internal/sinktest"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// BenchmarkApplyMillion creates an audience and uploads 1,000,000 identifiers to the fake
// with 50 ms latency per request and the rate limit from BENCH_RATE (requests/s, default
// DefaultRatePerSec = 5; 0 = unlimited). Run:
//
//	go test -run XXX -bench ApplyMillion -benchtime 1x ./sinks/meta/
//
// BENCH_MEMBERS and BENCH_LATENCY_MS change the size and the latency.
func BenchmarkApplyMillion(b *testing.B) {
	k := sinktest.BenchFromEnv(DefaultRatePerSec)
	fake := newFake(b)
	fake.SetLatency(k.Latency)
	a, _, _ := newAccount(b, fake, func(c *Config) { c.HTTP = k.HTTP })
	uploads := int64((k.N + 9999) / 10000)
	// List + create + ⌈n/10,000⌉ uploads.
	k.Run(b, uploads+2, fake.Size, func(i int, all []audience.Identifier) (audience.Result, error) {
		d, err := a.Destination(Target{AdAccountID: account, Name: "million_" + strconv.Itoa(i)})
		if err != nil {
			return audience.Result{}, err
		}
		return d.Apply(b.Context(), audience.Request{Audience: "million", Platform: Platform, Create: true, Mode: audience.ModeReplace, All: all, Add: all})
	})
	b.ReportMetric(float64(uploads), "upload-requests/op")
}
