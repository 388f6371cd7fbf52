package delivery_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/audiencesync/audiencesync/sinks/delivery"
	"github.com/audiencesync/audiencesync/sinks/meta/metatest"
	"github.com/audiencesync/audiencesync/sinks/yandex/yandextest"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

const topCLV = `
  - name: top_clv
    source: {segments: ["rule:top_clv"]}
    destinations:
      yandex: {name: "top clv"}
      meta: {ad_account_id: "act_77", name: "top clv"}
    lookalikes:
      yandex: {similarity: 2}
      meta: {ratio: 0.03, country: RU, value: pred_clv}`

// writeValued writes audience_members for top_clv: n e-mails on each platform, the Meta rows
// with value v(i).
func writeValued(t *testing.T, dir string, n int, v func(i int) float64) {
	t.Helper()
	var rows []tables.AudienceMember
	for i := 0; i < n; i++ {
		h := hashOf(false, fmt.Sprintf("top-%d@example.com", i))
		x := v(i)
		rows = append(rows, tables.AudienceMember{RunDate: int32(runDay), Audience: "top_clv", Platform: "meta", IdentifierType: "email", Hash: h, Value: &x},
			tables.AudienceMember{RunDate: int32(runDay), Audience: "top_clv", Platform: "yandex", IdentifierType: "email", Hash: h})
	}
	if err := parquetio.WriteFile(context.Background(), filepath.Join(dir, "audience_members", parquetio.PartName(0)), rows); err != nil {
		t.Fatal(err)
	}
}

func rowsOf(logs []tables.SyncLog) []string {
	var out []string
	for _, l := range logs {
		out = append(out, fmt.Sprintf("%s/%s %s %s", l.Audience, l.Platform, l.Kind, l.Status))
	}
	return out
}

// The delivery phase syncs each source, then its lookalike: four sync_log rows (audience
// before lookalike); a second delivery of the same table sends nothing and creates no second
// lookalike on either platform.
func TestRunLookalikes(t *testing.T) {
	ys := yandextest.NewServer("tok")
	t.Cleanup(ys.Close)
	ms := metatest.New("meta-tok", "meta-secret")
	t.Cleanup(ms.Close)
	t.Setenv("RUN_TEST_YANDEX", "tok")
	t.Setenv("RUN_TEST_META_TOKEN", "meta-tok")
	t.Setenv("RUN_TEST_META_SECRET", "meta-secret")
	sinks := fmt.Sprintf(`
  yandex: {base_url: %q, token: {env: RUN_TEST_YANDEX}, writes_per_minute: 60000, poll_interval: 1ms, http: {rate_per_sec: 1000}}
  meta: {base_url: %q, access_token: {env: RUN_TEST_META_TOKEN}, app_secret: {env: RUN_TEST_META_SECRET}, http: {rate_per_sec: 1000}}`, ys.BaseURL(), ms.URL)
	ys.SetPollsUntilProcessed(0)
	p := plan(t, topCLV, sinks)
	in, state := t.TempDir(), t.TempDir()
	writeValued(t, in, 120, func(i int) float64 { return float64(i) })
	for run, want := range [][]string{
		{"top_clv/meta audience ok", "top_clv/meta lookalike ok", "top_clv/yandex audience ok", "top_clv/yandex lookalike ok"},
		{"top_clv/meta audience unchanged", "top_clv/meta lookalike unchanged", "top_clv/yandex audience unchanged", "top_clv/yandex lookalike unchanged"},
	} {
		logs, err := delivery.Run(context.Background(), delivery.RunOptions{Plan: p, Members: in, Output: t.TempDir(), StateDir: state})
		if err != nil {
			t.Fatal(err)
		}
		if got := rowsOf(logs); !slices.Equal(got, want) {
			t.Errorf("run %d: %v, want %v (%v)", run+1, got, want, logs)
		}
	}
	var metaLookalikes, yandexLookalikes int
	for _, a := range ms.Audiences("77") {
		if a.Subtype == "LOOKALIKE" {
			metaLookalikes++
		}
	}
	for _, s := range ys.Segments() {
		if s.Type == "lookalike" {
			yandexLookalikes++
		}
	}
	if metaLookalikes != 1 || yandexLookalikes != 1 {
		t.Errorf("%d Meta and %d Yandex lookalikes, want one each", metaLookalikes, yandexLookalikes)
	}
	seed := ms.Audiences("77")[0]
	if vals := ms.Values(seed.ID); !seed.ValueBased || vals[hashOf(false, "top-7@example.com")] != 7 {
		t.Errorf("seed %+v, value of top-7 %v", seed, vals[hashOf(false, "top-7@example.com")])
	}
}

// A table computed under another config is refused, not sent without its values: Meta's
// rows of a value-based audience must carry values, and rows of a plain one none.
func TestRunRefusesValuesOfAnotherConfig(t *testing.T) {
	in := t.TempDir()
	writeMembers(t, in, runDay, map[string]int{"top_clv/meta": 3}) // no values
	_, err := delivery.Run(context.Background(), delivery.RunOptions{Plan: plan(t, topCLV, ""), Members: in, Output: t.TempDir(),
		StateDir: t.TempDir(), DryRun: true, RunDate: runDay})
	if err == nil || !strings.Contains(err.Error(), `audience "top_clv" on meta is value-based (lookalikes.meta.value) but its rows have no value`) {
		t.Errorf("err = %v", err)
	}
	in = t.TempDir()
	writeValued(t, in, 3, func(int) float64 { return 1 })
	_, err = delivery.Run(context.Background(), delivery.RunOptions{Plan: plan(t, `
  - name: top_clv
    source: {segments: ["rule:top_clv"]}
    destinations: {meta: {ad_account_id: "77"}, yandex: {}}`, ""), Members: in, Output: t.TempDir(), StateDir: t.TempDir(), DryRun: true, RunDate: runDay})
	if err == nil || !strings.Contains(err.Error(), "has values but is not value-based in this config") {
		t.Errorf("err = %v", err)
	}
}
