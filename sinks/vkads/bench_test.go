package vkads

import "testing"

// go test -run=^$ -bench=. ./sinks/vkads/
func BenchmarkJoinLines100k(b *testing.B) {
	ids := members(0, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		joinLines(ids)
	}
}
