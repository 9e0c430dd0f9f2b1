#!/usr/bin/env bash
# The whole test suite: what `npm test` and CI run. Installs what the tests need when missing
# (Debian's chromium for the browser tests, the tiny model set, the built editor), type-checks
# the project, then runs every test once.
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
npx tsc -p tsconfig.json

npx vitest run "$@"
