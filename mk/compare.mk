# mk/compare.mk — the spine's work done by DuckDB and pandas, next to ours, included by the
# top-level Makefile. Not part of make test (it takes a minute and needs npm and Debian's
# python3-pandas).
#
#   make bench-compare  on data/bench-1000000 (make bench generates it): wall time and peak
#                       RSS of our spine run, DuckDB (THREADS=2) and pandas, and a check that
#                       their headline figures, monthly metrics, per-customer facts, RFM
#                       scores and cohort rows match ours; RUNS=3 repeats each measurement

.PHONY: bench-compare

bench-compare: ## spine vs DuckDB and pandas on data/bench-1000000 (wall, peak RSS, figures match)
	scripts/compare/run.sh 1000000
