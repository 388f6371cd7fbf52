package googleads

import (
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
	// One ingest request per 10,000 members.
	k.Run(b, int64((k.N+9999)/10000), fake.Size, func(i int, all []audience.Identifier) (audience.Result, error) {
		list := strconv.Itoa(900000 + i)
		fake.AddUserList(opAcct, list)
		d, _, _ := newDest(b, fake, Target{OperatingAccountID: opAcct, UserListID: list}, func(c *Config) { c.HTTP = k.HTTP })
		return d.Apply(b.Context(), audience.Request{Audience: "million", Platform: Platform, Create: true, All: all, Add: all})
	})
}
