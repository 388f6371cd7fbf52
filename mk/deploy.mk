# mk/deploy.mk — deployment targets, included by the top-level Makefile.
#
#   make prism              build Beam's standalone prism job server (bin/prism)
#   make worker-binary      cross-compile the pipeline for Dataflow/Flink/Spark workers (linux/amd64, static)
#   make test-portable      run the sample on the universal runner (prism job server) and on
#                           in-process prism, and check both outputs are equal
#   make dataflow-dryrun    build the Dataflow job offline (--runner=dataflow --dry_run), no credentials
#   make dataflow-template  build the flex-template image (Cloud Build) and spec (needs gcloud + a project)
#   make dataflow-run       launch the flex template once (needs gcloud + a project)
#   make deploy-check       offline syntax checks of deploy/ (DAG, JSON, YAML, HCL, scripts) + compare-tool tests
#
# Variables for the Google Cloud targets (see deploy/dataflow/README.md):
#   PROJECT, REGION (europe-west1), BUCKET (staging bucket, no gs://), AR_REPO (audiencesync),
#   IMAGE_TAG (git short hash), TEMPLATE_PATH, SERVICE_ACCOUNT.

GO ?= go
BIN ?= bin
REGION ?= europe-west1
AR_REPO ?= audiencesync
IMAGE_TAG ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
IMAGE ?= $(REGION)-docker.pkg.dev/$(PROJECT)/$(AR_REPO)/nightly-template:$(IMAGE_TAG)
TEMPLATE_PATH ?= gs://$(BUCKET)/templates/audiencesync-nightly.json
SERVICE_ACCOUNT ?= audiencesync-pipeline@$(PROJECT).iam.gserviceaccount.com

.PHONY: prism worker-binary test-portable dataflow-dryrun dataflow-template dataflow-run deploy-check

# The job server version follows go.mod's Beam version, so rebuild when go.mod changes.
prism: $(BIN)/prism
$(BIN)/prism: go.mod
	@mkdir -p $(BIN)
	$(GO) build -o $@ github.com/apache/beam/sdks/v2/go/cmd/prism

# Static linux/amd64 binary: the worker binary for --runner=dataflow and for universal
# runners with --environment_type=DOCKER|PROCESS (pass it as --worker_binary=...).
worker-binary:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -o $(BIN)/nightly-linux-amd64 ./pipelines/nightly

test-portable: $(BIN)/prism
	PRISM=$(BIN)/prism NIGHTLY=$(BIN)/nightly GO=$(GO) scripts/portable-test.sh

dataflow-dryrun:
	NIGHTLY=$(BIN)/nightly GO=$(GO) scripts/dataflow-dryrun.sh

define need_gcloud
	@command -v gcloud >/dev/null 2>&1 || { \
		echo "$@: gcloud is not installed. Install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)," >&2; \
		echo "    run 'gcloud auth login', then: make $@ PROJECT=<project> BUCKET=<staging bucket> [REGION=$(REGION)]" >&2; \
		echo "    The commands it runs are listed in deploy/dataflow/README.md." >&2; exit 2; }
	@test -n "$(PROJECT)" -a -n "$(BUCKET)" || { \
		echo "$@: set PROJECT and BUCKET, e.g. make $@ PROJECT=my-project BUCKET=my-project-dataflow" >&2; exit 2; }
endef

# Image: built remotely by Cloud Build from deploy/dataflow/Dockerfile (no local Docker
# engine needed); spec: metadata.json + image, written to TEMPLATE_PATH.
dataflow-template:
	$(need_gcloud)
	gcloud builds submit . --project=$(PROJECT) --region=$(REGION) \
		--config=deploy/dataflow/cloudbuild.yaml --substitutions=_IMAGE=$(IMAGE)
	gcloud dataflow flex-template build $(TEMPLATE_PATH) --project=$(PROJECT) \
		--image=$(IMAGE) --sdk-language=GO \
		--metadata-file=deploy/dataflow/metadata.json \
		--staging-location=gs://$(BUCKET)/staging --temp-location=gs://$(BUCKET)/tmp \
		--service-account-email=$(SERVICE_ACCOUNT)
	@echo "dataflow-template: spec at $(TEMPLATE_PATH), image $(IMAGE)"

# One launch with today's date; parameters as in deploy/dataflow/README.md.
# AUDIENCES=dry_run keeps audiences on files (no platform calls); send syncs them.
AUDIENCES ?= dry_run
dataflow-run:
	$(need_gcloud)
	gcloud dataflow flex-template run "audiencesync-nightly-$$(date -u +%Y%m%d-%H%M%S)" \
		--project=$(PROJECT) --region=$(REGION) --template-file-gcs-location=$(TEMPLATE_PATH) \
		--parameters=orders=gs://$(BUCKET)/input/orders/*.csv \
		--parameters=customers=gs://$(BUCKET)/input/customers/*.csv \
		--parameters=config=gs://$(BUCKET)/config/nightly.yaml \
		--parameters=output=gs://$(BUCKET)/out/$$(date -u +%Y-%m-%d) \
		--parameters=state_dir=gs://$(BUCKET)/state \
		--parameters=audiences=$(AUDIENCES)

deploy-check:
	python3 -m py_compile deploy/airflow/audiencesync_nightly.py
	python3 -m json.tool deploy/dataflow/metadata.json >/dev/null
	@if command -v gcloud >/dev/null 2>&1; then \
		tmp=$$(mktemp -d) && CLOUDSDK_CONFIG=$$tmp CLOUDSDK_CORE_DISABLE_PROMPTS=1 \
		gcloud dataflow flex-template build gs://offline-check/spec.json --print-only --project=offline-check \
			--image=example.invalid/nightly-template:check --sdk-language=GO \
			--metadata-file=deploy/dataflow/metadata.json >/dev/null && rm -rf $$tmp && \
		echo "gcloud flex-template spec (print-only): ok"; \
	else echo "deploy-check: gcloud not installed, template spec not built"; fi
	@if python3 -c 'import yaml' 2>/dev/null; then \
		python3 -c 'import sys, yaml; [list(yaml.safe_load_all(open(f))) for f in sys.argv[1:]]' deploy/k8s/*.yaml deploy/dataflow/cloudbuild.yaml && \
		echo "YAML: ok"; \
	else echo "deploy-check: PyYAML missing, YAML not parsed"; fi
	for f in scripts/portable-test.sh scripts/dataflow-dryrun.sh; do bash -n $$f || exit 1; done
	@if command -v terraform >/dev/null 2>&1; then \
		terraform fmt -check -recursive deploy/terraform && echo "terraform fmt: ok"; \
	else echo "deploy-check: terraform not installed, HCL not checked"; fi
	$(GO) test ./deploy/...
