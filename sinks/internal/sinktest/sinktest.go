// Package sinktest holds what the sinks' tests and benchmarks share: synthetic identifiers,
// an in-memory journal, benchmark knobs from the environment, and checks of config blocks.
package sinktest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/audiencesync/audiencesync/sinks/internal/httpx"
	"github.com/audiencesync/audiencesync/transforms/audience"
)

// Identifiers returns n distinct SHA-256 identifiers, half e-mails and half phones,
// normalised (the benchmarks' data).
func Identifiers(n int) []audience.Identifier {
	out := make([]audience.Identifier, n)
	var buf [8]byte
	for i := range out {
		binary.LittleEndian.PutUint64(buf[:], uint64(i))
		sum := sha256.Sum256(buf[:])
		typ := audience.TypeEmail
		if i%2 == 1 {
			typ = audience.TypePhone
		}
		out[i] = audience.Identifier{Type: typ, Hash: hex.EncodeToString(sum[:])}
	}
	return audience.NormaliseIdentifiers(out)
}

// EnvInt reads a benchmark knob, def when unset or not a number.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// Journal is an in-memory audience.Journal.
type Journal struct {
	mu sync.Mutex
	b  []byte
}

var _ audience.Journal = (*Journal)(nil)

func (j *Journal) Read(context.Context) ([]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.b, nil
}
func (j *Journal) Write(_ context.Context, b []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.b = append([]byte(nil), b...)
	return nil
}
func (j *Journal) Clear(context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.b = nil
	return nil
}

// Outcomes renders a Result's Applied as "op count outcome" lines, for comparisons.
func Outcomes(res audience.Result) []string {
	var out []string
	for _, a := range res.Applied {
		out = append(out, a.Op.String()+" "+strconv.Itoa(len(a.IDs))+" "+a.Outcome.String())
	}
	return out
}

// SHA256 is the lowercase hex SHA-256 of s (a normalised test identifier).
func SHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Bytes returns the note (nil when there is none).
func (j *Journal) Bytes() []byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.b
}

// Validator is a sink's config block or target: Validate checks it, path naming it.
type Validator interface{ Validate(path string) error }

// Mod returns v changed by f: a valid config with one field broken.
func Mod[V any](v V, f func(*V)) V {
	f(&v)
	return v
}

// RefusedAll checks that Validate(path) refuses each value of refused with an error whose
// message starts with its key, and returns the errors for further checks (that none leaks a
// secret).
func RefusedAll[V Validator](t testing.TB, path string, refused map[string]V) []error {
	t.Helper()
	var errs []error
	for want, v := range refused {
		err := v.Validate(path)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+v: Validate = %v, want prefix %q", v, err, want)
		}
		errs = append(errs, err)
	}
	return errs
}

// YAMLKeys decodes src, a document with the keys config and target, and compares them with
// want and wantTarget: the YAML keys of a sink's blocks.
func YAMLKeys[C, T any](t testing.TB, src string, want C, wantTarget T) {
	t.Helper()
	var doc struct {
		Config C `yaml:"config"`
		Target T `yaml:"target"`
	}
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, doc.Config); diff != "" {
		t.Fatalf("config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantTarget, doc.Target); diff != "" {
		t.Fatalf("target (-want +got):\n%s", diff)
	}
}

// Bench is the knobs of a sink's million-identifier benchmark, read from the environment by
// BenchFromEnv.
type Bench struct {
	N       int           // BENCH_MEMBERS identifiers, default 1,000,000
	HTTP    httpx.Config  // BENCH_RATE requests/s, default the sink's; 0 = unlimited; burst 1
	Latency time.Duration // BENCH_LATENCY_MS of the fake per request, default 50
}

// BenchFromEnv reads the benchmark's knobs; rate is the sink's default rate limit.
func BenchFromEnv(rate int) Bench {
	k := Bench{N: EnvInt("BENCH_MEMBERS", 1000000), Latency: time.Duration(EnvInt("BENCH_LATENCY_MS", 50)) * time.Millisecond}
	rate = EnvInt("BENCH_RATE", rate)
	k.HTTP = httpx.Config{RatePerSec: float64(rate), Burst: 1}
	if rate == 0 {
		k.HTTP.RatePerSec = 1e9 // effectively unlimited (0 means the default)
	}
	return k
}

// Held checks that the fake holds N identifiers, e-mails and phones.
func (k Bench) Held(emails, phones int) error {
	if emails+phones != k.N {
		return fmt.Errorf("fake holds %d e-mails, %d phones; want %d in all", emails, phones, k.N)
	}
	return nil
}

// Run is the benchmark loop: apply sends all (N identifiers) to a new audience once per
// iteration; Run checks that each result took want requests and sent every identifier, and
// that the fake holds them all (held: its e-mails and phones of the result's remote id).
func (k Bench) Run(b *testing.B, want int64, held func(remoteID string) (int, int), apply func(i int, all []audience.Identifier) (audience.Result, error)) {
	all := Identifiers(k.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := apply(i, all)
		if err != nil {
			b.Fatal(err)
		}
		if res.Requests != want || res.Sent != int64(k.N) {
			b.Fatalf("%d requests, %d sent: want %d requests and %d sent", res.Requests, res.Sent, want, k.N)
		}
		if err := k.Held(held(res.RemoteID)); err != nil {
			b.Fatal(err)
		}
	}
	k.ReportRate(b)
}

// ReportRate reports the identifiers sent per second over the whole benchmark.
func (k Bench) ReportRate(b *testing.B) {
	b.ReportMetric(float64(k.N)*float64(b.N)/b.Elapsed().Seconds(), "identifiers/s")
}
