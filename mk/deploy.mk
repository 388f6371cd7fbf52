# mk/deploy.mk — deployment targets, included by the top-level Makefile (-include mk/*.mk).
#
#   make prism              build Beam's standalone prism job server (bin/prism)
#   make worker-binary      cross-compile the pipeline for Dataflow/Flink/Spark workers (linux/amd64, static)
#   make test-portable      sample on the universal runner (prism job server) == sample on in-process prism
#   make dataflow-dryrun    build the Dataflow job offline (--runner=dataflow --dry_run), no credentials
#   make deploy-check       offline syntax checks of deploy/ (DAG, JSON, YAML, HCL, scripts)
#   make dataflow-template  build the flex-template image (Cloud Build) and spec (needs gcloud + a project)
#   make dataflow-run       launch the flex template once (needs gcloud + a project)
#
# test-portable, dataflow-dryrun and deploy-check run in `make test` (TEST_EXTRA).
# Variables for the Google Cloud targets (see deploy/dataflow/README.md):
#   PROJECT, BUCKET (staging bucket, without gs://), REGION (europe-west1), AR_REPO (audiencesync),
#   IMAGE_TAG (git short hash), TEMPLATE_PATH, SERVICE_ACCOUNT, AUDIENCES (dry_run|send|off).

GO ?= go
BIN ?= bin
REGION ?= europe-west1
AR_REPO ?= audiencesync
IMAGE_TAG ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
IMAGE ?= $(REGION)-docker.pkg.dev/$(PROJECT)/$(AR_REPO)/nightly-template:$(IMAGE_TAG)
TEMPLATE_PATH ?= gs://$(BUCKET)/templates/audiencesync-nightly.json
SERVICE_ACCOUNT ?= audiencesync-pipeline@$(PROJECT).iam.gserviceaccount.com
AUDIENCES ?= dry_run

.PHONY: prism worker-binary test-portable dataflow-dryrun deploy-check dataflow-template dataflow-run

TEST_EXTRA += test-portable dataflow-dryrun deploy-check

prism: $(BIN)/prism ## build Beam's standalone prism job server (bin/prism) from the module proxy
# The job server's version follows go.mod's Beam version: rebuild when go.mod changes.
$(BIN)/prism: go.mod
	@mkdir -p $(BIN)
	$(GO) build -o $@ github.com/apache/beam/sdks/v2/go/cmd/prism

# Static linux/amd64 binary: the worker binary for --runner=dataflow and for universal
# runners with --environment_type=DOCKER|PROCESS (pass it as --worker_binary=...). Keep
# the symbol table (no -ldflags=-s): the Beam Go SDK resolves functions through it.
worker-binary: ## cross-compile bin/nightly-linux-amd64 (static) for Dataflow/Flink/Spark workers
	@mkdir -p $(BIN)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -o $(BIN)/nightly-linux-amd64 ./pipelines/nightly

# The Go SDK's boot program: what a DOCKER/PROCESS worker runs to fetch and start the worker binary.
$(BIN)/beam-boot: go.mod
	@mkdir -p $(BIN)
	$(GO) build -o $@ github.com/apache/beam/sdks/v2/go/container

test-portable: $(BIN)/prism $(BIN)/beam-boot build sample worker-binary ## sample via universal runner (LOOPBACK + PROCESS/worker binary) on a prism job server == in-process prism
	PRISM=$(BIN)/prism NIGHTLY=$(BIN)/nightly NIGHTLY_PREBUILT=1 GO=$(GO) \
		WORKER_BINARY=$(BIN)/nightly-linux-amd64 BEAM_BOOT=$(BIN)/beam-boot scripts/portable-test.sh

dataflow-dryrun: build sample ## build the Dataflow job offline (graph + translation, nothing submitted)
	NIGHTLY=$(BIN)/nightly NIGHTLY_PREBUILT=1 GO=$(GO) scripts/dataflow-dryrun.sh

deploy-check: ## offline syntax checks of deploy/: Airflow DAG, template metadata, YAML, HCL, scripts
	python3 -m py_compile deploy/airflow/audiencesync_nightly.py deploy/airflow/plugins/audiencesync_alerts.py
	python3 deploy/airflow/test_dag_stubbed.py
	python3 -m json.tool deploy/dataflow/metadata.json >/dev/null
	@for f in scripts/portable-test.sh scripts/dataflow-dryrun.sh; do bash -n $$f || exit 1; done
	@if python3 -c 'import yaml' 2>/dev/null; then \
		python3 -c 'import sys, yaml; [list(yaml.safe_load_all(open(f))) for f in sys.argv[1:]]' \
			deploy/k8s/*.yaml deploy/dataflow/cloudbuild.yaml && echo "deploy-check: YAML ok"; \
	else echo "deploy-check: PyYAML missing, YAML not parsed"; fi
	python3 deploy/k8s/check_manifests.py
	@if command -v kubectl >/dev/null 2>&1; then \
		kubectl kustomize deploy/k8s >/dev/null && echo "deploy-check: kustomize render ok"; \
	else echo "deploy-check: kubectl not installed, kustomization not rendered"; fi
	@if command -v terraform >/dev/null 2>&1; then \
		TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive deploy/terraform && echo "deploy-check: terraform fmt ok"; \
	else echo "deploy-check: terraform not installed, HCL not checked"; fi
	@if command -v gcloud >/dev/null 2>&1; then \
		tmp=$$(mktemp -d) && \
		CLOUDSDK_CONFIG=$$tmp CLOUDSDK_CORE_DISABLE_PROMPTS=1 CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true \
		CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=true \
		timeout 120 gcloud dataflow flex-template build gs://offline-check/spec.json --print-only \
			--project=offline-check --image=example.invalid/nightly-template:check --sdk-language=GO \
			--metadata-file=deploy/dataflow/metadata.json >/dev/null && rm -rf $$tmp && \
		echo "deploy-check: gcloud flex-template spec (print-only) ok"; \
	else echo "deploy-check: gcloud not installed, template spec not built"; fi

define need_gcloud
	@command -v gcloud >/dev/null 2>&1 || { \
		echo "$@: gcloud is not installed. Install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)," >&2; \
		echo "    run 'gcloud auth login', then: make $@ PROJECT=<project> BUCKET=<staging bucket> [REGION=$(REGION)]" >&2; \
		echo "    deploy/dataflow/README.md lists the commands this target runs." >&2; exit 2; }
	@test -n "$(PROJECT)" -a -n "$(BUCKET)" || { \
		echo "$@: set PROJECT and BUCKET, e.g. make $@ PROJECT=my-project BUCKET=my-project-dataflow" >&2; exit 2; }
endef

# Image: built remotely by Cloud Build from deploy/dataflow/Dockerfile (no local Docker
# engine needed); spec: metadata.json + image, written to TEMPLATE_PATH.
dataflow-template: ## build the Dataflow flex template (needs gcloud, PROJECT=, BUCKET=)
	$(need_gcloud)
	gcloud builds submit . --project=$(PROJECT) --region=$(REGION) \
		--config=deploy/dataflow/cloudbuild.yaml --substitutions=_IMAGE=$(IMAGE)
	gcloud dataflow flex-template build $(TEMPLATE_PATH) --project=$(PROJECT) \
		--image=$(IMAGE) --sdk-language=GO \
		--metadata-file=deploy/dataflow/metadata.json \
		--staging-location=gs://$(BUCKET)/staging --temp-location=gs://$(BUCKET)/tmp \
		--service-account-email=$(SERVICE_ACCOUNT)
	@echo "dataflow-template: spec at $(TEMPLATE_PATH), image $(IMAGE)"

dataflow-run: ## launch the flex template once (needs gcloud, PROJECT=, BUCKET=; AUDIENCES=dry_run)
	$(need_gcloud)
	gcloud dataflow flex-template run "audiencesync-nightly-$$(date -u +%Y%m%d-%H%M%S)" \
		--project=$(PROJECT) --region=$(REGION) --template-file-gcs-location=$(TEMPLATE_PATH) \
		--parameters=orders=gs://$(BUCKET)/input/orders/*.csv \
		--parameters=customers=gs://$(BUCKET)/input/customers/*.csv \
		--parameters=config=gs://$(BUCKET)/config/nightly.yaml \
		--parameters=output=gs://$(BUCKET)/out/$$(date -u +%Y-%m-%d) \
		--parameters=state_dir=gs://$(BUCKET)/state \
		--parameters=audiences=$(AUDIENCES)
