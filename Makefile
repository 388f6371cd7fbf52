# audiencesync — the two commands a new user needs are `make run` and `make test`.
# Everything they need comes from the Go module proxy (and Debian's packages for the
# optional browser test); nothing is downloaded from anywhere else.

SHELL := /bin/bash
GO ?= go
BIN := bin
SAMPLE := data/sample
OUT ?= out
STATE ?= state
CONFIG ?= pipelines/nightly/sample-config.yaml
RUN_FLAGS ?=

.PHONY: all build run sample test unit lint fuzz bench bench-10m clean help

all: build

help: ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-18s %s\n", $$1, $$2}'

build: ## build the pipeline binary into bin/nightly
	$(GO) build -o $(BIN)/nightly ./pipelines/nightly

$(SAMPLE)/orders.csv:
	$(GO) run ./cmd/gensample -out $(SAMPLE)

sample: $(SAMPLE)/orders.csv ## generate the bundled sample shop (deterministic) if absent

run: build sample ## run the nightly pipeline on the sample (prism, dry-run audiences)
	$(BIN)/nightly --orders=$(SAMPLE)/orders.csv --customers=$(SAMPLE)/customers.csv \
		--order_lines=$(SAMPLE)/order_lines.csv --spend=$(SAMPLE)/spend.csv \
		--config=$(CONFIG) --output=$(OUT) --state_dir=$(STATE) --audiences=dry_run $(RUN_FLAGS)

unit: ## fast lane: unit and pipeline tests with -short (slow numerical checks skipped; seconds)
	$(GO) test -short -count=1 ./...

test: ## everything CI runs: every Go test (no -short), then the emulator, runner and browser tests
	$(GO) test -count=1 ./...
	@$(MAKE) --no-print-directory test-extra

FUZZTIME ?= 30s
fuzz: ## run each fuzz target (CSV and Parquet readers, config) for FUZZTIME (default 30s); go test runs only their seeds
	$(GO) test -run XXX -fuzz '^FuzzReadCSV$$' -fuzztime $(FUZZTIME) ./transforms/sources/
	$(GO) test -run XXX -fuzz '^FuzzReadParquet$$' -fuzztime $(FUZZTIME) ./transforms/sources/
	$(GO) test -run XXX -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME) ./pipelines/config/

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: build ## 1M orders / 200k customers: spine and full run vs the plain-Go lower bound (wall, CPU, peak RSS, ratios; RUNS=3 for medians)
	scripts/bench.sh 200000 1000000

bench-10m: build ## 10M orders / 2M customers under prism
	scripts/bench.sh 2000000 10000000

clean: ## remove build outputs and generated data
	rm -rf $(BIN) $(OUT) data .cache

# Fragments for the BigQuery emulator, the universal runner, the report's browser test
# and the deploy targets; each defines its own targets and appends to TEST_EXTRA.
TEST_EXTRA :=
-include mk/*.mk

test-extra: $(TEST_EXTRA)
