package googleads

import (
	"context"
	"strconv"
	"testing"

	"github.com/audiencesync/audiencesync/sinks/internal/sinktest"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// BenchmarkApplyMillion ingests 1,000,000 identifiers into a user list of the fake with 50 ms
// latency per request and the rate limit from BENCH_RATE (requests/s, default
// DefaultRatePerSec = 5; 0 = unlimited). Run:
//
//	go test -run XXX -bench ApplyMillion -benchtime 1x ./sinks/googleads/
func BenchmarkApplyMillion(b *testing.B) {
	k := sinktest.BenchFromEnv(DefaultRatePerSec)
	fake := newFake(b)
	fake.SetLatency(k.Latency)
	all := sinktest.Identifiers(k.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list := strconv.Itoa(900000 + i)
		fake.AddUserList(opAcct, list)
		d, _, _ := newDest(b, fake, Target{OperatingAccountID: opAcct, UserListID: list}, func(c *Config) { c.HTTP = k.HTTP })
		res, err := d.Apply(context.Background(), audience.Request{Audience: "million", Platform: Platform, Create: true, All: all, Add: all})
		if err != nil {
			b.Fatal(err)
		}
		if want := int64((k.N + 9999) / 10000); res.Requests != want || res.Sent != int64(k.N) {
			b.Fatalf("%d requests, %d sent: want %d requests", res.Requests, res.Sent, want)
		}
		if err := k.Held(fake.Size(list)); err != nil {
			b.Fatal(err)
		}
	}
	k.ReportRate(b)
}
