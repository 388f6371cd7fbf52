package bigquery

import (
	"context"
	"fmt"
	"net/http"

	bq "cloud.google.com/go/bigquery"

	"github.com/audiencesync/audiencesync/sql"
)

// ApplySQL creates the dataset when missing and runs every statement of package sql
// (tables: CREATE TABLE IF NOT EXISTS; views: CREATE OR REPLACE VIEW) in cfg's project and
// dataset. It is idempotent. The pipeline does not need it (WriteTable creates tables from
// the Go schema); it is for setting up a dataset for BI before the first run and for
// refreshing the views (`make sql-apply`).
func ApplySQL(ctx context.Context, c *Client) error {
	if err := c.ensureDataset(ctx); err != nil {
		return err
	}
	sts, err := sql.Statements(c.cfg.Project, c.cfg.Dataset)
	if err != nil {
		return err
	}
	for _, st := range sts {
		job, err := c.runSQL(ctx, st.SQL)
		if err != nil && !st.View && httpCode(err) == http.StatusConflict {
			// IF NOT EXISTS means an existing table is success. BigQuery says so silently;
			// the emulator answers 409, which is the same fact.
			continue
		}
		if err != nil && st.View && httpCode(err) == http.StatusConflict {
			// CREATE OR REPLACE never conflicts in BigQuery; the emulator cannot replace a
			// view, so drop it and create it again.
			job, err = c.runSQL(ctx, fmt.Sprintf("DROP VIEW IF EXISTS `%s.%s.%s`", c.cfg.Project, c.cfg.Dataset, st.Object))
			if err == nil {
				job, err = c.runSQL(ctx, st.SQL)
			}
		}
		if err == nil {
			err = waitJob(ctx, job)
		}
		if err != nil {
			return fmt.Errorf("bigquery: apply sql/%s.sql to %s.%s: %w", st.Name, c.cfg.Project, c.cfg.Dataset, err)
		}
	}
	return nil
}

func (c *Client) runSQL(ctx context.Context, sql string) (*bq.Job, error) {
	q := c.bq.Query(sql)
	q.Labels = c.labels()
	return q.Run(ctx)
}
