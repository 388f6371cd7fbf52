package bigquery

import (
	"bufio"
	"io"
	"reflect"
	"testing"

	"github.com/audiencesync/audiencesync/transforms/tables"
)

// BenchmarkAppendRowCustomerMetrics: NDJSON encoding cost of the widest table, per row.
func BenchmarkAppendRowCustomerMetrics(b *testing.B) {
	rt, err := parseRowType(reflect.TypeOf(tables.CustomerMetrics{}))
	if err != nil {
		b.Fatal(err)
	}
	p := 0.5
	row := reflect.ValueOf(tables.CustomerMetrics{RunDate: 20513, CustomerID: "C0000001", Currency: "RUB", Cohort: "2025-11",
		Orders: 3, Revenue: 123456.78, AOV: 41152.26, RFMScore: "1-1-1", RFMSegment: "champions", ClusterName: "loyal",
		RepeatAOV: &p, PAlive: &p, PredCLV: &p})
	w := bufio.NewWriter(io.Discard)
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		line = rt.appendRow(line[:0], row)
		w.Write(line)
	}
	b.SetBytes(int64(len(line)))
}
