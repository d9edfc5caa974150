#!/usr/bin/env bash
# Runs strata's end-to-end tests: every tests/e2e/test_*.sh (or those whose name contains the
# optional FILTER argument), each with a timeout, against $STRATA_BIN or <repo>/build/strata.
# Prints PASS/FAIL/SKIP per test and ends with "N passed, N failed, N skipped"; exits non-zero
# if any test failed.
#
#   tests/e2e/run.sh [FILTER]
#   E2E_TIMEOUT=seconds per test (default 180), E2E_KEEP=1 keeps each test's temp dir,
#   E2E_VERBOSE=1 prints every test's full output.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
export STRATA_BIN=${STRATA_BIN:-$repo/build/strata}
filter=${1:-}
timeout_s=${E2E_TIMEOUT:-180}

if [ ! -x "$STRATA_BIN" ]; then
  echo "warning: strata binary not found at $STRATA_BIN (run make build); every test will fail" >&2
fi

passed=0 failed=0 skipped=0
logdir=$(mktemp -d "${TMPDIR:-/tmp}/strata-e2e-logs.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

for t in "$here"/test_*.sh; do
  [ -e "$t" ] || continue
  name=$(basename "$t" .sh)
  [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
  log="$logdir/$name.log"
  start=$(date +%s.%N)
  # timeout puts the test in its own process group and signals the whole group; the test's
  # EXIT trap (lib.sh) cleans up on TERM.
  timeout --kill-after=15 "$timeout_s" bash "$t" >"$log" 2>&1 </dev/null
  rc=$?
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ "${E2E_VERBOSE:-0}" = 1 ]; then sed 's/^/    /' "$log"; fi
  case $rc in
    0)
      echo "PASS $name (${secs}s)"
      passed=$((passed + 1)) ;;
    77)
      reason=$(grep '^SKIP: ' "$log" | tail -n 1 | sed 's/^SKIP: //')
      echo "SKIP $name: ${reason:-no reason given}"
      skipped=$((skipped + 1)) ;;
    *)
      if [ $rc = 124 ] || [ $rc = 137 ]; then
        echo "FAIL $name (timed out after ${timeout_s}s)"
      else
        echo "FAIL $name (exit $rc, ${secs}s)"
      fi
      tail -n 25 "$log" | sed 's/^/    /'
      failed=$((failed + 1)) ;;
  esac
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
