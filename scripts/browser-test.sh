#!/usr/bin/env bash
# Browser test of the nightly HTML report: renders the report, loads it offline in headless
# Chromium and fails on any console message (the page has no scripts, so every console
# line is a problem: a Content-Security-Policy block of an external or missing resource, a
# parse error), checks the rendered DOM, and saves a screenshot and a PDF print.
#
# Usage: scripts/browser-test.sh [OUT]
#   OUT  output folder of a pipeline run (default: out). When it has a published run
#        (OUT/current/run_summary.json), a copy of that run in out/report-browser is
#        rendered (the published run is never modified); otherwise a synthetic demo run is
#        written to out/report-demo and used instead (never mixed into a real run's history).
# Writes <dir>/report.html, <dir>/report.png (1280 px wide) and <dir>/report.pdf.
# Installs Debian's chromium when missing; skips (exit 0) only when it cannot be installed.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT="${1:-out}"

if [[ -f "$OUT/current/run_summary.json" ]]; then
  DIR="out/report-browser"
  echo "browser-test: rendering a copy of the published run $(readlink "$OUT/current") in $DIR"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  cp -rL "$OUT/current/." "$DIR/"
  go run ./scripts/browsertest -out "$DIR" >/dev/null
else
  DIR="out/report-demo"
  echo "browser-test: no run_summary.json in $OUT: using a synthetic demo run in $DIR"
  rm -rf "$DIR"
  go run ./scripts/browsertest -demo -out "$DIR" >/dev/null
fi
PAGE="$(cd "$DIR" && pwd)/report.html"

CHROME="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$CHROME" ]]; then
  echo "browser-test: chromium not found, installing Debian's chromium"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/tmp/browser-test-apt.log 2>&1; then
    echo "browser-test: SKIPPED: chromium is not installed and apt-get install failed (see /tmp/browser-test-apt.log)"
    exit 0
  fi
  CHROME="$(command -v chromium)"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Offline: file:// URL, no network services, a fresh profile each time.
chrome() {
  rm -rf "$WORK/profile"
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$WORK/profile" --enable-logging=stderr --v=0 --hide-scrollbars \
    --virtual-time-budget=5000 "$@"
}

# console_errors FILE: the console lines Chromium logged (CSP blocks, failed loads, errors).
console_errors() {
  grep -E ':CONSOLE|Refused to|Content Security Policy|net::ERR_|Failed to load resource' "$1" || true
}

fail=0

# 1. The checker must see a blocked load: a copy of the page with an external image and a
#    missing local one has to produce console errors, or the check below proves nothing.
sed 's|<body>|<body><img src="http://127.0.0.1:9/x.png" alt=""><img src="missing-asset.png" alt="">|' "$PAGE" >"$WORK/negative.html"
chrome --dump-dom "file://$WORK/negative.html" >"$WORK/negative.dom" 2>"$WORK/negative.log" || true
if [[ -z "$(console_errors "$WORK/negative.log")" ]]; then
  echo "browser-test: FAIL: a page with an external image logged no console error; the check is blind"
  fail=1
fi

# 2. The real page: no console messages at all, and the DOM has the expected parts.
chrome --dump-dom "file://$PAGE" >"$WORK/page.dom" 2>"$WORK/page.log" || {
  echo "browser-test: FAIL: chromium could not load $PAGE"; cat "$WORK/page.log"; exit 1; }
errs="$(console_errors "$WORK/page.log")"
if [[ -n "$errs" ]]; then
  echo "browser-test: FAIL: console errors while loading the report:"
  echo "$errs"
  fail=1
fi
for want in 'id="run-date"' 'data-metric="customers"' 'data-metric="aov_first"' 'class="heat cohorts' \
  'class="heat rfmgrid"' 'class="chart"' 'id="segments"' 'id="run"'; do
  if ! grep -q "$want" "$WORK/page.dom"; then
    echo "browser-test: FAIL: rendered DOM lacks $want"
    fail=1
  fi
done
charts="$(grep -o '<svg class="chart"' "$WORK/page.dom" | wc -l)"
if grep -Eq '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}' "$WORK/page.dom"; then
  echo "browser-test: FAIL: the rendered page has an e-mail-like string"
  fail=1
fi

# 3. Screenshot at laptop width and a PDF print (print CSS: a page per section).
chrome --window-size=1280,4000 --screenshot="$DIR/report.png" "file://$PAGE" >/dev/null 2>"$WORK/shot.log" || {
  echo "browser-test: FAIL: screenshot failed"; fail=1; }
chrome --no-pdf-header-footer --print-to-pdf="$DIR/report.pdf" "file://$PAGE" >/dev/null 2>"$WORK/pdf.log" || {
  echo "browser-test: FAIL: print to PDF failed"; fail=1; }
pages="$( (grep -aoE '/Type */Page([^s]|$)' "$DIR/report.pdf" 2>/dev/null || true) | wc -l)"
if [[ "$pages" -lt 2 ]]; then
  echo "browser-test: FAIL: the PDF print has $pages pages, want one or more per section"
  fail=1
fi

if [[ "$fail" -ne 0 ]]; then
  exit 1
fi
echo "browser-test: OK: $PAGE loaded offline with no console errors; $charts charts; screenshot $DIR/report.png; PDF $DIR/report.pdf ($pages pages)"
