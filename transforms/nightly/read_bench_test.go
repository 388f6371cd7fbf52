package nightly

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/orders"
	"github.com/audiencesync/audiencesync/transforms/sources"
	"github.com/audiencesync/audiencesync/transforms/value"
)

// benchFile is a generated orders file: go run ./cmd/gensample -out data/bench-200k
// -customers 40000 -orders 200000 (BENCH_ORDERS overrides the path).
func benchFile(b *testing.B) string {
	p := os.Getenv("BENCH_ORDERS")
	if p == "" {
		p = "../../data/bench-200k/orders.csv"
	}
	if _, err := os.Stat(p); err != nil {
		b.Skipf("no bench file %s (go run ./cmd/gensample -out data/bench-200k -customers 40000 -orders 200000)", p)
	}
	return p
}

// benchSplits plans the bench file as one split.
func benchSplits(b *testing.B) (context.Context, []sources.Split) {
	ctx := context.Background()
	splits, err := sources.Plan(ctx, orders.InputOrders, benchFile(b), 1<<40)
	if err != nil {
		b.Fatal(err)
	}
	return ctx, splits
}

func BenchmarkReadOrdersCSV(b *testing.B) {
	h, _ := contacts.NewHasher(contacts.Defaults())
	benchSplitRows(b, func(ctx context.Context, s sources.Split) (int64, error) {
		res, err := ReadSplit(ctx, s, ReadOptions{Buckets: 64, RunDate: value.DayFromDate(2100, 1, 1), TimeZone: benchZone()}, h)
		if err != nil {
			return 0, err
		}
		return res.Counts[CounterRows(orders.InputOrders)], nil
	})
}

func BenchmarkScanOrdersCSV(b *testing.B) {
	benchSplitRows(b, func(ctx context.Context, s sources.Split) (int64, error) {
		var rows int64
		err := sources.Read(ctx, s, nil, func(sources.Record) error { rows++; return nil }, func(int64, string, string) {})
		return rows, err
	})
}

// benchSplitRows times read over the bench file's splits and reports per-row figures
// (rows as read returns them).
func benchSplitRows(b *testing.B, read func(context.Context, sources.Split) (int64, error)) {
	ctx, splits := benchSplits(b)
	var rows int64
	b.ResetTimer()
	cpuStart := cpuTime()
	for i := 0; i < b.N; i++ {
		rows = 0
		for _, s := range splits {
			n, err := read(ctx, s)
			if err != nil {
				b.Fatal(err)
			}
			rows += n
		}
	}
	reportPerRow(b, rows, cpuStart)
}

func BenchmarkPlanOrdersCSV(b *testing.B) {
	p := benchFile(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if _, err := sources.Plan(ctx, orders.InputOrders, p, 32<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// benchZone is the shop's zone of the bench (BENCH_TZ; default Europe/Moscow, the sample
// config's, so that offset timestamps are converted).
func benchZone() string {
	if z := os.Getenv("BENCH_TZ"); z != "" {
		return z
	}
	return "Europe/Moscow"
}

// cpuTime is the process's user+system CPU time: on a shared machine it moves much less
// than wall time with other people's load.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportPerRow reports wall and CPU nanoseconds per row (the benchmark is single-threaded
// apart from the garbage collector).
func reportPerRow(b *testing.B, rows int64, cpuStart time.Duration) {
	n := float64(int64(b.N) * rows)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
	b.ReportMetric(float64((cpuTime()-cpuStart).Nanoseconds())/n, "cpu-ns/row")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkBuildBucket builds the customer facts of every bucket of the bench file (read
// and joined once, outside the timing), as partials and scoring do per bucket.
func BenchmarkBuildBucket(b *testing.B) {
	ctx, splits := benchSplits(b)
	h, _ := contacts.NewHasher(contacts.Defaults())
	const buckets = 64
	opts := ReadOptions{Buckets: buckets, RunDate: value.DayFromDate(2100, 1, 1), TimeZone: benchZone()}
	byBucket := map[int][]CustomerBatch{}
	var byOrder []OrderBatch
	for _, s := range splits {
		res, err := ReadSplit(ctx, s, opts, h)
		if err != nil {
			b.Fatal(err)
		}
		for k, v := range res.ByCustomer {
			byBucket[k] = append(byBucket[k], v)
		}
		for _, v := range res.ByOrder {
			byOrder = append(byOrder, v)
		}
	}
	joined, _, _, err := JoinLines(byOrder, buckets)
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range joined {
		byBucket[k] = append(byBucket[k], v)
	}
	var customers int
	b.ResetTimer()
	cpuStart := cpuTime()
	for i := 0; i < b.N; i++ {
		customers = 0
		for k := 0; k < buckets; k++ {
			bd, err := BuildBucket(byBucket[k], false)
			if err != nil {
				b.Fatal(err)
			}
			customers += len(bd.Customers)
		}
	}
	reportPerRow(b, int64(customers), cpuStart)
}
