# mk/bigquery.mk — BigQuery sink targets, included by the top-level Makefile.
#
#   make bqemulator     build the BigQuery emulator (goccy/bigquery-emulator, pinned in
#                       tools/bqemulator/go.mod) once into .cache/bqemulator/ (~4 min and
#                       ~6 GB of memory cold on 2 cores; cached afterwards, never committed)
#   make test-bq        unit tests of sinks/bigquery and sql, then the -tags bqemulator
#                       integration tests: each test starts its own emulator on free
#                       127.0.0.1 ports and stops it at cleanup
#   make sql-apply BQ_PROJECT=p BQ_DATASET=d [BQ_LOCATION=EU] [BQ_ENDPOINT=http://...]
#                       create the tables (IF NOT EXISTS) and (re)create the BI views
#   make sql-print BQ_PROJECT=p BQ_DATASET=d   print the rendered DDL

GO ?= go
BQEMU_BIN ?= .cache/bqemulator/bigquery-emulator
BQ_PROJECT ?=
BQ_DATASET ?=
BQ_LOCATION ?=
BQ_ENDPOINT ?=

.PHONY: bqemulator test-bq sql-apply sql-print

# `make test` runs the emulator tests too (the first run builds the emulator).
TEST_EXTRA += test-bq

# Rebuilt when the pin changes (the Go build cache makes a rebuild mostly a link).
$(BQEMU_BIN): tools/bqemulator/go.mod tools/bqemulator/go.sum
	@rm -f $@
	BQEMU_BIN=$(abspath $(BQEMU_BIN)) scripts/bqemulator.sh build

bqemulator: $(BQEMU_BIN) ## build the BigQuery emulator once (cached in .cache/)

test-bq: $(BQEMU_BIN) ## BigQuery sink + sql tests, integration tests against the emulator
	$(GO) test -count=1 ./sql/... ./sinks/bigquery/...
	BQEMU_BIN=$(abspath $(BQEMU_BIN)) scripts/bqemulator.sh test ./sinks/bigquery/... ./transforms/sources/... ./pipelines/graph/...

sql-apply: ## apply sql/ DDL and views: make sql-apply BQ_PROJECT=p BQ_DATASET=d
	@test -n "$(BQ_PROJECT)" -a -n "$(BQ_DATASET)" || { echo "set BQ_PROJECT and BQ_DATASET"; exit 2; }
	$(GO) run ./sinks/bigquery/cmd/bqsql -project "$(BQ_PROJECT)" -dataset "$(BQ_DATASET)" \
		$(if $(BQ_LOCATION),-location "$(BQ_LOCATION)") $(if $(BQ_ENDPOINT),-endpoint "$(BQ_ENDPOINT)")

sql-print: ## print the rendered DDL and views for BQ_PROJECT / BQ_DATASET
	@$(GO) run ./sinks/bigquery/cmd/bqsql -print -project "$(or $(BQ_PROJECT),PROJECT)" -dataset "$(or $(BQ_DATASET),DATASET)"
