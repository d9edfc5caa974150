#!/usr/bin/env bash
# `strata debug dockerfile-ast` against BuildKit's own parser cases (../shared/conformance): every
# positive case prints its `result` byte for byte, every negative case fails with status 125 and
# one line naming the file and line. Then the instruction reader's errors through the CLI, stdin
# input, and the empty-continuation warnings on stderr.
source "$(dirname "$0")/lib.sh"

repo=$(cd "$(dirname "$0")/../.." && pwd)
conf=${STRATA_CONFORMANCE_DIR:-$repo/../shared/conformance}
[ -d "$conf/dockerfile-parser" ] || fail "conformance data not found at $conf"

note "positive cases"
cases=0
for dir in "$conf"/dockerfile-parser/*/; do
  name=$(basename "$dir")
  # Compare files byte for byte: command substitution would drop trailing newlines.
  strata debug dockerfile-ast "$dir/Dockerfile" >"$E2E_TMP/got" 2>"$E2E_TMP/err" \
    || fail "$name: exit $? $(cat "$E2E_TMP/err")"
  cmp -s "$E2E_TMP/got" "$dir/result" || fail "$name: dump differs:
$(diff "$dir/result" "$E2E_TMP/got" | head -20)"
  cases=$((cases + 1))
done
assert_eq 33 "$cases" "positive cases found"

note "negative cases"
cases=0
for dir in "$conf"/dockerfile-parser-negative/*/; do
  expect_error --names "Dockerfile:" strata debug dockerfile-ast "$dir/Dockerfile"
  assert_match "$err" "Dockerfile:[0-9]+: " "the error names a line: $err"
  cases=$((cases + 1))
done
assert_eq 4 "$cases" "negative cases found"
expect_error --names "Dockerfile:3" --names "ENV PATH" \
  strata debug dockerfile-ast "$conf/dockerfile-parser-negative/env_no_value/Dockerfile"

note "warnings go to stderr, the tree to stdout"
ok strata debug dockerfile-ast "$conf/dockerfile-parser-warnings/Dockerfile"
assert_lines 6 "$out" "one line per instruction"
assert_lines 2 "$err" "two warnings"
assert_contains "$err" "Dockerfile:7: Empty continuation line found in: RUN something     following     more"

note "stdin and a custom file name"
printf 'FROM busybox\nRUN echo hi\n' >"$E2E_TMP/in"
run_in "$E2E_TMP/in" strata debug dockerfile-ast -
assert_eq 0 "$status" "stdin: $err"
assert_eq '(from "busybox")
(run "echo hi")' "$out"
printf 'FROM busybox\n\nRUNN echo hi\n' >"$E2E_TMP/Dockerfile.dev"
ok strata debug dockerfile-ast "$E2E_TMP/Dockerfile.dev"
assert_contains "$out" '(runn "")' "unknown keywords still parse"
expect_error --names "Dockerfile.dev:3: unknown instruction: RUNN (did you mean RUN?)" --names '`RUNN echo hi`' \
  strata debug dockerfile-ast --instructions "$E2E_TMP/Dockerfile.dev"
printf 'FROM busybox\nCOPY --chwon=1 a b\n' >"$E2E_TMP/flags"
expect_error --names "flags:2: unknown flag: chwon (did you mean chown?)" \
  strata debug dockerfile-ast --instructions "$E2E_TMP/flags"
expect_error --names "nothere" strata debug dockerfile-ast "$E2E_TMP/nothere"
expect_error --names "debug dockerfile-ast" strata debug dockerfile-ast
