package yandex

import "testing"

// go test -run=^$ -bench=. ./sinks/yandex/
func BenchmarkBuildCSV100k(b *testing.B) {
	ms := ids(0, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := BuildCSV(ms); err != nil {
			b.Fatal(err)
		}
	}
}
