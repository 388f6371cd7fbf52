// Package portable checks that two runs of the nightly pipeline wrote the same results, so
// that a run on a portable runner (prism's job server, Flink, Spark, Dataflow) can be
// trusted as much as the in-process prism run the tests exercise.
//
// Data flow: CompareDirs walks two output directories (out/<table>/part-*.parquet plus
// out/run_summary.json), reads every part file of a table as generic Parquet rows (no Go
// row type needed, so it keeps working when a table gains a column), turns each row into a
// canonical JSON text with sorted keys, sorts the rows of each side and merges them. Part
// boundaries and row order are therefore irrelevant; only the multiset of rows counts.
// Floating-point cells may differ by a small tolerance because runners may combine
// partial sums in a different order. run_summary.json is compared on its counts: wall-clock
// fields (started_at, duration_s, duration_ms), the runner name and output paths are
// dropped first, and arrays are compared as multisets. Every other file (dead letters,
// dry-run audience payloads) is compared as a multiset of lines, counted but never quoted,
// since payloads hold hashed contacts; files that embed the wall clock (report.html) are
// skipped.
//
// The package is plain Go (parquet-go only, no Beam) so the compare tool builds in seconds;
// the command lives in ./compare and scripts/portable-test.sh drives it. boot-wrapper.sh is
// the PROCESS-environment command of that test (see its header).
package portable
