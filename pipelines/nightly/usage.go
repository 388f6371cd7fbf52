package main

import (
	"flag"
	"fmt"
	"os"
)

func usage() {
	fmt.Fprintf(os.Stderr, `nightly: the audiencesync nightly pipeline.

Reads orders (and customers, order lines and acquisition spend) from CSV, Parquet or
BigQuery; computes the repeat-sales metrics (AOV first vs repeat, CAC, LTV/CLV, CRR and
churn, RPR, cohorts), RFM and k-means segments, smart rule segments and predicted CLV;
hashes contacts and syncs audiences to Yandex, VK, Meta and Google (a dry run by default);
writes the tables as Parquet under --output (and to BigQuery with --bq_project and
--bq_dataset), dead letters, run_summary.json and report.html. Runs on the in-process
prism runner by default.

Usage:
  nightly --orders=PATH [--customers=PATH] [--order_lines=PATH] [--spend=PATH] [--config=FILE] [flags]

PATH is a CSV or Parquet file, a glob or comma-separated list of them (local or gs://), or
bq://PROJECT.DATASET.TABLE or bq://PROJECT?query=URL-ENCODED-SQL.

Flags of audiencesync:
`)
	for _, n := range ownFlags {
		if f := flag.Lookup(n); f != nil {
			fmt.Fprintf(os.Stderr, "  --%s (default %q)\n      %s\n", f.Name, f.DefValue, f.Usage)
		}
	}
	fmt.Fprintf(os.Stderr, `
Runner flags (Apache Beam):
  --runner        prism (default, in-process), universal (with --endpoint=HOST:PORT and
                  --environment_type=LOOPBACK|DOCKER|PROCESS), dataflow (with --project,
                  --region, --staging_location, --temp_location)
  Run with --help_beam to list every Beam flag.

Outputs of a run go to <output>/runs/<run id>/ and are published at its end as
<output>/current (gs://: <output>/current.json); see README "Operations".

Exit codes: 0 ok; 1 the run failed (not published) or a sink, the report or the BigQuery
load failed (published; see run_summary.json); 2 bad flags or config; 3 another run holds
the lock of the state folder or output; 4 a stale lock on an object store (--break_lock).
`)
}
