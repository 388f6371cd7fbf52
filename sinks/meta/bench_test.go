package meta

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/sinktest"
	"github.com/audiencesync/audiencesync/sinks/meta/metatest"
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
	n := sinktest.EnvInt("BENCH_MEMBERS", 1000000)
	rate := sinktest.EnvInt("BENCH_RATE", DefaultRatePerSec)
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	fake.SetLatency(time.Duration(sinktest.EnvInt("BENCH_LATENCY_MS", 50)) * time.Millisecond)
	a, _, _ := newAccount(b, fake, func(c *Config) {
		c.HTTP = httpx.Config{RatePerSec: float64(rate), Burst: 1}
		if rate == 0 {
			c.HTTP.RatePerSec = 1e9 // effectively unlimited (0 means the default)
		}
	})
	all := sinktest.Identifiers(n)
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
		if want := int64((n+9999)/10000) + 2; res.Requests != want || res.Sent != int64(n) {
			b.Fatalf("%d requests, %d sent: want %d requests (list + create + ⌈n/10,000⌉ uploads)", res.Requests, res.Sent, want)
		}
		if e, p := fake.Size(res.RemoteID); e+p != n {
			b.Fatalf("fake holds %d e-mails, %d phones; want %d in all", e, p, n)
		}
		b.ReportMetric(float64(res.Requests-2), "upload-requests/op")
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "identifiers/s")
}
