#!/usr/bin/env bash
# The program and its store: --version, STRATA_ROOT and --root (the flag wins over the variable),
# two stores never mix, a store is created on first use, parallel strata processes do not corrupt
# the store (imports, tags and loads running at once all land, layers still stored once), and
# the usual docker status for a bad flag (125).
source "$(dirname "$0")/lib.sh"

busybox_rootfs_tar "$E2E_TMP/busybox.tar"
big=$(( $(stat -c %s /bin/busybox) - 1024 ))

note "--version"
ok strata --version
assert_lines 1 "$out"
assert_match "$out" '^strata version [0-9]+\.[0-9]+\.[0-9]+' "version line"

note "STRATA_ROOT and --root"
A="$E2E_TMP/store-a" B="$E2E_TMP/store-b"
ok env STRATA_ROOT="$A" "$STRATA_BIN" import "$E2E_TMP/busybox.tar" in-a:1
assert_file "$A" "the store is created on first use"
ok env STRATA_ROOT="$B" "$STRATA_BIN" images -q
assert_eq "" "$out" "store B does not see store A's image"
ok env STRATA_ROOT="$B" "$STRATA_BIN" --root "$A" images --format '{{.Repository}}:{{.Tag}}'
assert_eq "in-a:1" "$out" "--root wins over STRATA_ROOT"
ok "$STRATA_BIN" --root "$B" import "$E2E_TMP/busybox.tar" in-b:1
ok env STRATA_ROOT="$A" "$STRATA_BIN" images --format '{{.Repository}}:{{.Tag}}'
assert_eq "in-a:1" "$out" "store A does not see store B's image"

note "bad flags and commands"
# docker: "unknown flag: --bogus" + "See 'docker images --help'.", status 125
run strata images --bogus
assert_eq 125 "$status" "a bad flag"
assert_contains "$err" "--bogus"
run strata no-such-command
assert_ne 0 "$status" "an unknown command fails"
assert_contains "$err" "no-such-command"

note "parallel processes"
pids=()
for i in 1 2 3 4 5 6; do
  strata import -m "parallel $i" "$E2E_TMP/busybox.tar" "par:$i" >"$E2E_TMP/par-$i.out" 2>&1 &
  pids+=($!)
done
two_layer_archive "$E2E_TMP/two.tar" partwo:1 >/dev/null
for i in 1 2; do
  strata load -i "$E2E_TMP/two.tar" >"$E2E_TMP/load-$i.out" 2>&1 &
  pids+=($!)
done
for i in 1 2 3 4; do
  strata tag par:1 "partag:$i" >"$E2E_TMP/tag-$i.out" 2>&1 &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
# the tags race the import of par:1, so they may fail with "No such image"; nothing else may fail
for i in 1 2 3 4 5 6; do
  grep -Eq '^sha256:[0-9a-f]{64}$' "$E2E_TMP/par-$i.out" || fail "parallel import $i: $(cat "$E2E_TMP/par-$i.out")"
done
for i in 1 2; do
  assert_eq "Loaded image: partwo:1" "$(cat "$E2E_TMP/load-$i.out")" "parallel load $i"
done
ok strata images --format '{{.Repository}}:{{.Tag}}' par
assert_eq "par:1 par:2 par:3 par:4 par:5 par:6" "$(sort <<<"$out" | xargs)"
for i in 1 2 3 4 5 6; do
  assert_eq "$(cat "$E2E_TMP/par-$i.out")" "$(inspect_field "par:$i" '{{.Id}}')" "par:$i"
done
for i in 1 2 3 4; do
  if [ -z "$(cat "$E2E_TMP/tag-$i.out")" ]; then
    assert_eq "$(inspect_field par:1 '{{.Id}}')" "$(inspect_field "partag:$i" '{{.Id}}')" "partag:$i"
  fi
done
ok strata image inspect partwo:1
# as many copies of the busybox layer as a store with one import of it (store B) holds
single=$(STRATA_ROOT=$B count_big_files "$big")
[ "$single" -ge 1 ] || fail "store B holds no copy of the layer?"
assert_eq "$single" "$(count_big_files "$big")" "parallel imports stored the layer once"
