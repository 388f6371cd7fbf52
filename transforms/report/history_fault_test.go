package report_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/fileio/faultfs"
	"github.com/audiencesync/audiencesync/transforms/report"
)

// A transient error while looking up the report history fails the report; it must not
// start a new history (losing every earlier run's figures).
func TestHistoryLookupErrorFailsTheReport(t *testing.T) {
	t.Cleanup(faultfs.Reset)
	dir := writeFixture(t)
	state := t.TempDir()
	hist := filepath.Join(state, "report_history.json")
	before := []byte(`{"runs":[{"run_date":"2026-11-20"}]}` + "\n")
	if err := os.WriteFile(hist, before, 0o644); err != nil {
		t.Fatal(err)
	}
	faultfs.Inject(faultfs.Fault{Op: "size", Match: "report_history.json", Times: 1})
	if err := report.WriteWithHistory(context.Background(), dir, faultfs.URL(hist)); err == nil {
		t.Fatal("the report was written although its history could not be looked up")
	}
	if after, _ := os.ReadFile(hist); string(after) != string(before) {
		t.Fatalf("history changed after a failed lookup: %s", after)
	}
}
