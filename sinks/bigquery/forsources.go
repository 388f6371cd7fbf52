package bigquery

import (
	"context"

	bq "cloud.google.com/go/bigquery"
	storage "cloud.google.com/go/bigquery/storage/apiv1"
)

// The bq:// input reader lives with the other readers in transforms/sources and shares
// this package's connection (one Client per run): these are the hooks it needs.

// ReadClient returns the Storage Read API client, opened on first use.
func (c *Client) ReadClient(ctx context.Context) (*storage.BigQueryReadClient, error) {
	return c.readClient(ctx)
}

// RunQuery runs a GoogleSQL query job (with the client's labels) and waits for it.
func (c *Client) RunQuery(ctx context.Context, sql string) (*bq.Job, error) {
	j, err := c.runSQL(ctx, sql)
	if err == nil {
		err = waitJob(ctx, j)
	}
	return j, err
}

// CanonicalType folds BigQuery's type aliases (see canonicalType).
func CanonicalType(t bq.FieldType) string { return canonicalType(t) }
