package vkads

import (
	"testing"

	"github.com/audiencesync/audiencesync/transforms/audience"
)

// go test -run=^$ -bench=. ./sinks/vkads/
func BenchmarkPlanDiff100k(b *testing.B) {
	d := &Destination{acct: &Account{cfg: Config{}.Defaults()}, target: Target{Type: TypeEmails}}
	req := audience.SyncRequest{RemoteID: "1", Add: members(0, 100_000), Remove: members(100_000, 200_000)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := d.plan(req)
		if err != nil {
			b.Fatal(err)
		}
		joinLines(p.add)
		joinLines(p.remove)
	}
}
