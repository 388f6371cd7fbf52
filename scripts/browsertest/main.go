// Command browsertest writes out/report.html for the browser test: with -demo it first
// fills the output folder with a synthetic run (reporttest.Demo) and a previous-run
// history entry; without it, it renders the report of whatever run is already in -out.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/audiencesync/audiencesync/transforms/report"
	"github.com/audiencesync/audiencesync/transforms/report/reporttest"
)

func main() {
	out := flag.String("out", "out", "output folder of a run (tables, run_summary.json)")
	demo := flag.Bool("demo", false, "write a synthetic run into -out first (overwrites its tables)")
	date := flag.String("date", "2026-11-27", "run date of the demo run")
	customers := flag.Int("customers", 1500, "customers in the demo run")
	flag.Parse()
	if err := run(*out, *demo, *date, *customers); err != nil {
		fmt.Fprintln(os.Stderr, "browsertest:", err)
		os.Exit(1)
	}
	fmt.Println(filepath.Join(*out, report.ReportFile))
}

func run(out string, demo bool, date string, customers int) error {
	ctx := context.Background()
	if demo {
		t, err := time.Parse("2006-01-02", date)
		if err != nil {
			return fmt.Errorf("-date %q is not YYYY-MM-DD", date)
		}
		ds := reporttest.Demo(t, customers, 18, 7)
		if err := reporttest.WriteDir(ctx, out, ds); err != nil {
			return err
		}
		b, err := json.MarshalIndent(reporttest.DemoHistory(ds, t.AddDate(0, 0, -1).Format("2006-01-02")), "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(out, "history"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, report.HistoryFile), b, 0o644); err != nil {
			return err
		}
	}
	return report.Write(ctx, out)
}
