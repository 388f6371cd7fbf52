package bigquery

import (
	"testing"

	"github.com/audiencesync/audiencesync/transforms/tables"
)

// The statement of a small table, written out by hand from tables.SegmentMembership:
// every field REQUIRED (no pointers), DATE for the int32 date fields, the struct's desc
// tags as descriptions and the table's clustering.
func TestDDLByHand(t *testing.T) {
	tb, _ := tables.ByName("segment_membership")
	got, err := DDL(tb)
	if err != nil {
		t.Fatal(err)
	}
	want := "-- segment_membership: One row per customer and segment.\n" +
		"CREATE TABLE IF NOT EXISTS `${project}.${dataset}.segment_membership` (\n" +
		"  run_date DATE NOT NULL OPTIONS(description=\"As-of date of the run that wrote the row\"),\n" +
		"  customer_id STRING NOT NULL OPTIONS(description=\"Customer id\"),\n" +
		"  segment STRING NOT NULL OPTIONS(description=\"Segment name\"),\n" +
		"  source STRING NOT NULL OPTIONS(description=\"rfm, kmeans or rule\"),\n" +
		"  entered_at DATE NOT NULL OPTIONS(description=\"First run date of the current uninterrupted membership\")\n" +
		")\n" +
		"PARTITION BY run_date\n" +
		"CLUSTER BY segment, source\n" +
		"OPTIONS(description=\"One row per customer and segment\");\n"
	if got != want {
		t.Errorf("DDL\n%s\nwant\n%s", got, want)
	}
	if q := quoteSQL(`a "b" \c`); q != `"a \"b\" \\c"` {
		t.Errorf("quoteSQL = %s", q)
	}
}
