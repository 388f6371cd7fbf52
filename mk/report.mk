# mk/report.mk — nightly HTML report targets, included by the top-level Makefile.
#
#   make test-report    unit tests of transforms/report (numbers on the page, no PII, history)
#   make test-browser   render the report (of $(REPORT_OUT)/current when it has a published run, else a
#                       synthetic demo run in out/report-demo), load it offline in headless
#                       Chromium (installed from Debian when missing), fail on console errors,
#                       save report.png and report.pdf next to it
#   make report-screenshot  refresh docs/report.png from the browser test's screenshot

GO ?= go
REPORT_OUT ?= out

.PHONY: test-report test-browser report-screenshot

# `make test` runs the browser test too (it skips itself when Chromium cannot be installed).
TEST_EXTRA += test-browser

test-report: ## unit tests of the HTML report (page numbers vs tables, no PII, history)
	$(GO) test ./transforms/report/...

test-browser: ## load the report offline in headless Chromium; fail on console errors; report.png + report.pdf
	scripts/browser-test.sh $(REPORT_OUT)

report-screenshot: test-browser ## refresh docs/report.png from the browser test
	@if [ -f $(REPORT_OUT)/current/run_summary.json ]; then cp out/report-browser/report.png docs/report.png; \
	else cp out/report-demo/report.png docs/report.png; fi
	@echo "docs/report.png updated"
