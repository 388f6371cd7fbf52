package delivery_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"gopkg.in/yaml.v3"

	"github.com/audiencesync/audiencesync/sinks/delivery"
	"github.com/audiencesync/audiencesync/sinks/yandex/yandextest"
	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/contacts"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
	"github.com/audiencesync/audiencesync/transforms/value"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

var runDay = value.DayFromDate(2026, 11, 2)

func plan(t *testing.T, auds, sinks string) *delivery.Plan {
	t.Helper()
	var cfg struct {
		Audiences []audience.Config `yaml:"audiences"`
		Sinks     delivery.Sinks    `yaml:"sinks"`
	}
	if err := yaml.Unmarshal([]byte("audiences:\n"+auds+"\nsinks:\n"+sinks), &cfg); err != nil {
		t.Fatal(err)
	}
	p, err := delivery.NewPlan(cfg.Audiences, cfg.Sinks, contacts.Defaults(), false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeMembers writes an audience_members table: the identifiers of customers [0, n) of each
// target, split over two part files, with a repeat, as the compute pipeline may leave them.
func writeMembers(t *testing.T, dir string, day value.Day, targets map[string]int) map[string][]audience.Identifier {
	t.Helper()
	want := map[string][]audience.Identifier{}
	var parts [2][]tables.AudienceMember
	for key, n := range targets {
		a, p, _ := strings.Cut(key, "/")
		for i := 0; i < n; i++ {
			id := audience.Identifier{Type: audience.TypeEmail, Hash: hashOf(false, fmt.Sprintf("%s-%d@example.com", a, i))}
			want[key] = append(want[key], id)
			row := tables.AudienceMember{RunDate: int32(day), Audience: a, Platform: p, IdentifierType: id.Type, Hash: id.Hash}
			parts[i%2] = append(parts[i%2], row)
			if i == 0 {
				parts[1] = append(parts[1], row)
			}
		}
		want[key] = audience.NormaliseIdentifiers(want[key])
	}
	for i, rows := range parts {
		if err := parquetio.WriteFile(context.Background(), filepath.Join(dir, "audience_members", parquetio.PartName(i)), rows); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

const twoTargets = `
  - name: vip
    source: {segments: ["rfm:champions"]}
    destinations:
      yandex: {}
      google: {operating_account_id: "1234567890", user_list_id: "777"}
  - name: gone
    source: {segments: ["rule:x"]}
    destinations:
      yandex: {}
`

// TestRunDryRun runs the delivery phase on prism from an audience_members table: every target
// gets a sync_log row and its payloads, a target without rows is "empty", nothing is sent.
func TestRunDryRun(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	writeMembers(t, in, runDay, map[string]int{"vip/yandex": 120, "vip/google": 80})
	logs, err := delivery.Run(context.Background(), delivery.RunOptions{Plan: plan(t, twoTargets, ""), Members: in, Output: out,
		StateDir: t.TempDir(), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range logs {
		got = append(got, fmt.Sprintf("%s/%s %s %d %s", l.Audience, l.Platform, l.Status, l.Members, value.Day(l.RunDate)))
	}
	want := []string{"gone/yandex empty 0 2026-11-02", "vip/google dry_run 80 2026-11-02", "vip/yandex dry_run 120 2026-11-02"}
	if !slices.Equal(got, want) {
		t.Errorf("sync_log %v, want %v", got, want)
	}
	for _, f := range []string{"dry_run/yandex/vip/1-segments_upload_csv_file.csv", "dry_run/google/vip/google-0001-ingest.json", "dry_run/yandex/gone/diff.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("dry-run file: %v", err)
		}
	}
}

// TestRunSendsAndRerunIsUnchanged delivers to the Yandex fake through the Beam pipeline, the
// run date read from the table (a --deliver_only run); a second delivery of the same table
// sends nothing.
func TestRunSendsAndRerunIsUnchanged(t *testing.T) {
	srv := yandextest.NewServer("tok")
	t.Cleanup(srv.Close)
	t.Setenv("RUN_TEST_YANDEX", "tok")
	sinks := fmt.Sprintf(`
  yandex: {base_url: %q, token: {env: RUN_TEST_YANDEX}, writes_per_minute: 60000, poll_interval: 1ms, http: {rate_per_sec: 1000}}`, srv.BaseURL())
	p := plan(t, `
  - name: vip
    source: {segments: ["rfm:champions"]}
    destinations: {yandex: {}}`, sinks)
	in, state := t.TempDir(), t.TempDir()
	want := writeMembers(t, in, runDay, map[string]int{"vip/yandex": 150})
	for i, status := range []string{"ok", "unchanged"} {
		logs, err := delivery.Run(context.Background(), delivery.RunOptions{Plan: p, Members: in, Output: t.TempDir(), StateDir: state})
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) != 1 || logs[0].Status != status || logs[0].Members != 150 || logs[0].RunDate != int32(runDay) {
			t.Fatalf("run %d: sync_log %+v, want status %s for 150 identifiers", i+1, logs, status)
		}
	}
	segs := srv.Segments()
	if len(segs) != 1 || len(srv.IDs(segs[0].ID)) != 150 {
		t.Fatalf("%d segments, want one of 150 identifiers", len(segs))
	}
	var got []audience.Identifier
	for _, x := range srv.IDs(segs[0].ID) {
		got = append(got, audience.Identifier{Type: x.Type, Hash: x.Hash})
	}
	if !slices.Equal(got, want["vip/yandex"]) {
		t.Error("the segment differs from the table's identifiers")
	}
}

func TestRunRefusesMixedRunDates(t *testing.T) {
	in := t.TempDir()
	writeMembers(t, in, runDay, map[string]int{"vip/yandex": 3})
	other := []tables.AudienceMember{{RunDate: int32(runDay - 1), Audience: "vip", Platform: "yandex", IdentifierType: "email", Hash: hashOf(false, "x")}}
	if err := parquetio.WriteFile(context.Background(), filepath.Join(in, "audience_members", parquetio.PartName(2)), other); err != nil {
		t.Fatal(err)
	}
	_, err := delivery.Run(context.Background(), delivery.RunOptions{Plan: plan(t, twoTargets, ""), Members: in, Output: t.TempDir(),
		StateDir: t.TempDir(), DryRun: true, RunDate: runDay})
	if err == nil || !strings.Contains(err.Error(), "one run's audience_members at a time") {
		t.Fatalf("err = %v", err)
	}
}
