#!/usr/bin/env bash
# The whole test suite: what `npm test` and CI run. Installs what the tests need when missing
# (Debian's chromium for the browser tests, the tiny model set, the built editor), type-checks
# the project, then runs every test once. The last line is the plain count
# "N passed, N failed[, N skipped]" read from vitest's JSON report; the exit code is vitest's
# (or 1 when only the type-check failed).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "test: installing Debian's chromium for the browser tests" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

npx tsx server/cli.ts models tiny --if-missing
npx vite build --config editor/vite.config.ts --logLevel warn

echo "test: type-checking" >&2
typecheck=0
npx tsc -p tsconfig.json || typecheck=$?

report="$(mktemp -t mudi-vitest-XXXXXX.json)"
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?

if [ "$status" -eq 0 ] && [ "$typecheck" -ne 0 ]; then
  echo "test: type-check failed (see above)" >&2
  status=1
fi
# Last: one plain line from the JSON report; a test file that failed to load counts as one failure.
node --input-type=module - "$report" <<'JS'
import { readFileSync } from "node:fs";

let report;
try {
  report = JSON.parse(readFileSync(process.argv[2], "utf8"));
} catch {
  console.log("0 passed, 1 failed"); // vitest wrote no report: it did not get to run the tests
  process.exit(0);
}
const brokenFiles = (report.testResults ?? []).filter((f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed")).length;
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + brokenFiles;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
JS
exit "$status"
