//go:build bqemulator

package bigquery_test

import (
	"context"
	"sort"
	"strings"

	bq "cloud.google.com/go/bigquery"

	bqsink "github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sinks/bigquery/bqtest"
)

func canon(t bq.FieldType) string {
	switch strings.ToUpper(string(t)) {
	case "FLOAT", "FLOAT64":
		return "FLOAT64"
	case "INTEGER", "INT64":
		return "INT64"
	case "BOOLEAN", "BOOL":
		return "BOOL"
	}
	return strings.ToUpper(string(t))
}

func queryStrings(ctx context.Context, c *bqsink.Client, sql string) ([][]string, error) {
	return bqtest.Query(ctx, c, sql)
}

// sorted orders rows by their text, for comparisons that must not depend on read order.
func sorted(rows [][]string) [][]string {
	sort.Slice(rows, func(i, j int) bool { return strings.Join(rows[i], "\x00") < strings.Join(rows[j], "\x00") })
	return rows
}

func fp(f float64) *float64 { return &f }

// withReadAPI returns a second client on the same dataset that reads through api.
func withReadAPI(ctx context.Context, c *bqsink.Client, api string) (*bqsink.Client, error) {
	cfg := c.Config()
	cfg.ReadAPI = api
	return bqsink.NewClient(ctx, cfg)
}
