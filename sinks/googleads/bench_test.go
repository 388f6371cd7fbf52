package googleads

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/internal/sinktest"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// BenchmarkApplyMillion ingests 1,000,000 identifiers into a user list of the fake with 50 ms
// latency per request and the rate limit from BENCH_RATE (requests/s, default
// DefaultRatePerSec = 5; 0 = unlimited). Run:
//
//	go test -run XXX -bench ApplyMillion -benchtime 1x ./sinks/googleads/
func BenchmarkApplyMillion(b *testing.B) {
	n := sinktest.EnvInt("BENCH_MEMBERS", 1000000)
	rate := sinktest.EnvInt("BENCH_RATE", DefaultRatePerSec)
	fake := newFake(b)
	fake.SetLatency(time.Duration(sinktest.EnvInt("BENCH_LATENCY_MS", 50)) * time.Millisecond)
	all := sinktest.Identifiers(n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list := strconv.Itoa(900000 + i)
		fake.AddUserList(opAcct, list)
		d, _, _ := newDest(b, fake, Target{OperatingAccountID: opAcct, UserListID: list}, func(c *Config) {
			c.HTTP = httpx.Config{RatePerSec: float64(rate), Burst: 1}
			if rate == 0 {
				c.HTTP.RatePerSec = 1e9
			}
		})
		res, err := d.Apply(context.Background(), audience.Request{Audience: "million", Platform: Platform, Create: true, All: all, Add: all})
		if err != nil {
			b.Fatal(err)
		}
		if want := int64((n + 9999) / 10000); res.Requests != want || res.Sent != int64(n) {
			b.Fatalf("%d requests, %d sent: want %d requests", res.Requests, res.Sent, want)
		}
		if e, p := fake.Size(list); e+p != n {
			b.Fatalf("fake holds %d e-mails, %d phones; want %d in all", e, p, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "identifiers/s")
}
