package meta

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/sinks/meta/metatest"
	"github.com/audiencesync/audiencesync/sinks/secret"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// benchMembers makes n members with distinct e-mail and phone hashes (the key reuses the
// e-mail hash to keep the test data small).
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

// BenchmarkSyncMillion creates an audience and uploads 1,000,000 members to the fake with
// 50 ms latency per request and the rate limit from BENCH_RATE (requests/s, default DefaultRatePerSec = 5;
// 0 = unlimited). Run:
//
//	go test -run XXX -bench SyncMillion -benchtime 1x ./sinks/meta/
//
// BENCH_MEMBERS and BENCH_LATENCY_MS change the size and the latency.
func BenchmarkSyncMillion(b *testing.B) {
	n := envInt("BENCH_MEMBERS", 1000000)
	rateLimit := envInt("BENCH_RATE", DefaultRatePerSec)
	fake := metatest.New(testToken, testSecret)
	defer fake.Close()
	fake.SetLatency(time.Duration(envInt("BENCH_LATENCY_MS", 50)) * time.Millisecond)
	b.Setenv("TEST_META_TOKEN", testToken)
	b.Setenv("TEST_META_SECRET", testSecret)
	cfg := Config{BaseURL: fake.URL, AccessToken: secret.Ref{Env: "TEST_META_TOKEN"}, AppSecret: secret.Ref{Env: "TEST_META_SECRET"},
		HTTP: httpx.Config{RatePerSec: float64(rateLimit), Burst: 1}}
	if rateLimit == 0 {
		cfg.HTTP.RatePerSec = 1e9 // effectively unlimited (0 means the default)
	}
	c, err := NewClient(cfg)
	if err != nil {
		b.Fatal(err)
	}
	all := benchMembers(n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, err := NewDestination(c, Target{AdAccountID: account, Name: "million_" + strconv.Itoa(i)})
		if err != nil {
			b.Fatal(err)
		}
		res, err := d.Sync(context.Background(), audience.SyncRequest{Audience: "million", BatchID: "bench/" + strconv.Itoa(i), Mode: audience.ModeReplace, All: all})
		if err != nil {
			b.Fatal(err)
		}
		if want := int64((n+9999)/10000) + 2; res.Requests != want || res.Sent != int64(n) {
			b.Fatalf("result %+v: want %d requests (list + create + ⌈n/10,000⌉ uploads)", res, want)
		}
		if e, p := fake.Size(res.RemoteID); e != n || p != n {
			b.Fatalf("fake holds %d e-mails, %d phones; want %d", e, p, n)
		}
		b.ReportMetric(float64(res.Requests-2), "upload-requests/op")
		b.ReportMetric(float64(fake.MaxRowsSeen()), "max-rows/request")
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "members/s")
}

// BenchmarkBaselineMillionMembers only builds the benchmark's test data, so that its peak
// RSS (/usr/bin/time -v) can be subtracted from BenchmarkSyncMillion's.
func BenchmarkBaselineMillionMembers(b *testing.B) {
	all := benchMembers(envInt("BENCH_MEMBERS", 1000000))
	for i := 0; i < b.N; i++ {
		if len(all[len(all)-1].Email) != 64 {
			b.Fatal("bad data")
		}
	}
}
