package googleads

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/audiencesync/audiencesync/sinks/googleads/googleadstest"
	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

func benchMembers(n int) []audience.Member {
	out := make([]audience.Member, n)
	var buf [9]byte
	for i := range out {
		binary.LittleEndian.PutUint64(buf[:8], uint64(i))
		buf[8] = 'e'
		e := sha256.Sum256(buf[:])
		buf[8] = 'p'
		p := sha256.Sum256(buf[:])
		es := hex.EncodeToString(e[:])
		out[i] = audience.Member{Key: es, Email: es, Phone: hex.EncodeToString(p[:])}
	}
	return out
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// BenchmarkSyncMillion ingests 1,000,000 members into a user list of the fake with 50 ms
// latency per request and the rate limit from BENCH_RATE (requests/s, default DefaultRatePerSec = 5;
// 0 = unlimited). Run:
//
//	go test -run XXX -bench SyncMillion -benchtime 1x ./sinks/googleads/
func BenchmarkSyncMillion(b *testing.B) {
	n := envInt("BENCH_MEMBERS", 1000000)
	rateLimit := envInt("BENCH_RATE", DefaultRatePerSec)
	fake := googleadstest.New(testToken)
	defer fake.Close()
	fake.SetLatency(time.Duration(envInt("BENCH_LATENCY_MS", 50)) * time.Millisecond)
	cfg := Config{Endpoint: fake.URL + "/", HTTP: httpx.Config{RatePerSec: float64(rateLimit), Burst: 1}}
	if rateLimit == 0 {
		cfg.HTTP.RatePerSec = 1e9
	}
	c, err := NewClient(context.Background(), cfg, WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: testToken})))
	if err != nil {
		b.Fatal(err)
	}
	all := benchMembers(n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list := strconv.Itoa(900000 + i)
		fake.AddUserList(opAcct, list)
		d, err := NewDestination(c, Target{OperatingAccountID: opAcct, UserListID: list})
		if err != nil {
			b.Fatal(err)
		}
		res, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "million", BatchID: "bench", Mode: audience.ModeReplace, All: all})
		if err != nil {
			b.Fatal(err)
		}
		if want := int64((n + 9999) / 10000); res.Requests != want || res.Sent != int64(n) {
			b.Fatalf("result %+v: want %d requests", res, want)
		}
		if e, p := fake.Size(list); e != n || p != n {
			b.Fatalf("fake holds %d e-mails, %d phones; want %d", e, p, n)
		}
		b.ReportMetric(float64(res.Requests), "requests/op")
		b.ReportMetric(float64(fake.MaxMembersSeen()), "max-members/request")
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "members/s")
}
