// Command compare checks that two nightly-pipeline output directories hold the same rows,
// irrespective of part-file boundaries and row order, the same run_summary.json counts, and
// the same lines in every other file (dead letters, dry-run audience payloads).
//
//	go run ./deploy/portable/compare [-tol 1e-9] [-ignore table.col,...] out/inproc out/portable
//
// Exit status: 0 equal, 1 different, 2 could not read the inputs.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/audiencesync/audiencesync/deploy/portable"
)

func main() {
	def := portable.DefaultOptions()
	tol := flag.Float64("tol", def.Tolerance, "allowed relative difference of float cells (0 = exact)")
	ignore := flag.String("ignore", strings.Join(def.Ignore, ","), "comma-separated columns to drop before comparing: table.column or *.column")
	examples := flag.Int("examples", def.Examples, "differing rows to quote per table")
	skipFiles := flag.String("skip_files", strings.Join(def.SkipFiles, ","), "comma-separated base-name patterns of non-Parquet files not to compare")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: compare [flags] DIR_A DIR_B\n\nCompares every <table>/*.parquet and run_summary.json of two pipeline outputs.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	opts := portable.Options{Tolerance: *tol, Examples: *examples}
	for _, s := range strings.Split(*ignore, ",") {
		if s = strings.TrimSpace(s); s != "" {
			opts.Ignore = append(opts.Ignore, s)
		}
	}
	for _, s := range strings.Split(*skipFiles, ",") {
		if s = strings.TrimSpace(s); s != "" {
			opts.SkipFiles = append(opts.SkipFiles, s)
		}
	}
	a, b := flag.Arg(0), flag.Arg(1)
	rep, err := portable.CompareDirs(a, b, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	fmt.Printf("A = %s\nB = %s\n%s", a, b, rep)
	if !rep.Equal() {
		fmt.Println("compare: outputs DIFFER")
		os.Exit(1)
	}
	fmt.Println("compare: outputs equal")
}
