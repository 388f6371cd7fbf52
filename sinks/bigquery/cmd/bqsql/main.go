// Command bqsql applies the DDL and BI views of package sql to a BigQuery dataset
// (`make sql-apply`), prints them rendered for a project and dataset (-print), or renders
// sql/tables.sql from the Go row types (-ddl, `make sql-ddl`).
//
//	bqsql -project shop-prod -dataset metrics [-location EU]
//	bqsql -project test -dataset metrics -endpoint http://127.0.0.1:9050   # the emulator
//	bqsql -project shop-prod -dataset metrics -print > ddl.sql
//	bqsql -ddl > sql/tables.sql
//
// Credentials: Application Default Credentials (gcloud auth application-default login, or
// GOOGLE_APPLICATION_CREDENTIALS); needs roles/bigquery.dataEditor on the dataset (or
// dataOwner on the project to create it) and roles/bigquery.jobUser on the project.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	bqsink "github.com/audiencesync/audiencesync/sinks/bigquery"
	"github.com/audiencesync/audiencesync/sql"
)

func main() {
	var cfg bqsink.Config
	flag.StringVar(&cfg.Project, "project", "", "Google Cloud project id (required)")
	flag.StringVar(&cfg.Dataset, "dataset", "", "dataset for the tables and views (required; created when missing)")
	flag.StringVar(&cfg.Location, "location", "", "dataset location when it is created, e.g. EU")
	flag.StringVar(&cfg.Endpoint, "endpoint", "", "REST endpoint override, e.g. http://127.0.0.1:9050 for the emulator (unauthenticated)")
	print := flag.Bool("print", false, "print the rendered statements instead of applying them")
	ddl := flag.Bool("ddl", false, "print sql/tables.sql (the tables' DDL from the Go row types, templated) and exit")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()

	if *ddl {
		s, err := bqsink.DDLAll()
		if err != nil {
			fail(err)
		}
		fmt.Print(s)
		return
	}
	if *print {
		sts, err := sql.Statements(cfg.Project, cfg.Dataset)
		if err != nil {
			fail(err)
		}
		for _, st := range sts {
			fmt.Printf("-- %s\n%s\n", st.Name, st.SQL)
		}
		return
	}
	cfg.ReadAPI = bqsink.ReadREST // nothing is read; do not ask for a gRPC endpoint
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c, err := bqsink.NewClient(ctx, cfg)
	if err != nil {
		fail(err)
	}
	defer c.Close()
	if err := bqsink.ApplySQL(ctx, c); err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "bqsql: applied sql/ to %s.%s\n", cfg.Project, cfg.Dataset)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bqsql:", err)
	os.Exit(1)
}
