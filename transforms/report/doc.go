// Package report writes the nightly HTML report, <run folder>/report.html: one self-contained,
// offline page (no scripts, no external assets, a Content-Security-Policy that blocks any
// load) that a marketer can open from a file share or print to PDF.
//
// Data flows in three steps:
//
//  1. Build reads the run's output tables (out/<table>/part-*.parquet, row structs in
//     transforms/tables), out/run_summary.json and the report history
//     (out/history/report_history.json), and aggregates them into Data: headline figures
//     per currency with their change since the latest earlier run date, the cohort
//     retention grid, the R x F grid, k-means centroids, segment and audience sizes with
//     per-platform sync counts, dead letters and the predicted CLV distribution. Charts
//     are drawn with gonum.org/v1/plot onto SVG canvases (vg/vgsvg) and kept as inline
//     SVG.
//  2. Render executes the embedded html/template (templates/report.html.tmpl, with the
//     embedded report.css inlined) into a writer.
//  3. Write does both, replaces report.html atomically and then records today's figures in
//     the history (a rerun of the same date replaces its own entry, so changes are always
//     against an earlier date).
//
// Only aggregates reach the page: customer ids, contacts and hashes never do, and error
// texts from the summary or the sync log pass through an e-mail scrubber as a last guard.
// Money figures never mix currencies: every currency found in customer_metrics gets its
// own block.
package report
