package meta

import (
	"context"
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
	all := sinktest.Identifiers(k.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := a.Destination(Target{AdAccountID: account, Name: "million_" + strconv.Itoa(i)})
		if err != nil {
			b.Fatal(err)
		}
		res, err := d.Apply(context.Background(), audience.Request{Audience: "million", Platform: Platform, Create: true, Mode: audience.ModeReplace, All: all, Add: all})
		if err != nil {
			b.Fatal(err)
		}
		if want := int64((k.N+9999)/10000) + 2; res.Requests != want || res.Sent != int64(k.N) {
			b.Fatalf("%d requests, %d sent: want %d requests (list + create + ⌈n/10,000⌉ uploads)", res.Requests, res.Sent, want)
		}
		if err := k.Held(fake.Size(res.RemoteID)); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Requests-2), "upload-requests/op")
	}
	k.ReportRate(b)
}
