package audience_test

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/audiencesync/audiencesync/transforms/audience"
	"github.com/audiencesync/audiencesync/transforms/parquetio"
	"github.com/audiencesync/audiencesync/transforms/tables"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

type keyedBatch struct {
	Key string
	IDs []audience.Identifier
}

func splitBatch(k keyedBatch) (string, audience.Batch) { return k.Key, audience.Batch{IDs: k.IDs} }

func init() {
	beam.RegisterType(reflect.TypeOf((*keyedBatch)(nil)).Elem())
	beam.RegisterFunction(splitBatch)
}

// TestWriteMembers: batches of two buckets (with an identifier in both, as when two customers
// in different buckets share an e-mail) become one part per target of distinct identifiers
// sorted by type and hash, parts numbered by the target's place in the list.
func TestWriteMembers(t *testing.T) {
	targets := []audience.Target{{Audience: "a", Platform: "meta"}, {Audience: "a", Platform: "yandex"}, {Audience: "b", Platform: "vk"}}
	out := t.TempDir()
	pipe, s := beam.NewPipelineWithRoot()
	in := beam.ParDo(s, splitBatch, beam.CreateList(s, []keyedBatch{
		{"a/yandex", []audience.Identifier{e(2), p(1)}},
		{"a/yandex", []audience.Identifier{e(2), e(1)}},
		{"a/meta", []audience.Identifier{e(9)}},
	}))
	audience.WriteMembers(s, in, targets, out, day("2026-11-02"))
	if err := ptest.Run(pipe); err != nil {
		t.Fatal(err)
	}
	read := func(part int) []string {
		rows, err := parquetio.ReadFile[tables.AudienceMember](t.Context(), filepath.Join(out, "audience_members", parquetio.PartName(part)))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			if r.RunDate != int32(day("2026-11-02")) {
				t.Errorf("run date %d", r.RunDate)
			}
			got = append(got, r.Audience+"/"+r.Platform+" "+r.IdentifierType+" "+r.Hash[62:])
		}
		return got
	}
	if got, want := read(1), []string{"a/yandex email 01", "a/yandex email 02", "a/yandex phone 01"}; !slices.Equal(got, want) {
		t.Errorf("part 1: %v, want %v", got, want)
	}
	if got, want := read(0), []string{"a/meta email 09"}; !slices.Equal(got, want) {
		t.Errorf("part 0: %v, want %v", got, want)
	}
	if parts, _ := filepath.Glob(filepath.Join(out, "audience_members", "*")); len(parts) != 2 {
		t.Errorf("parts %v: a target without members writes none", parts)
	}
}
