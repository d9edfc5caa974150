#!/usr/bin/env bash
# Crash safety: `import`, `load`, `pull`, `build`, `commit` and `rmi` killed with SIGKILL at a
# random moment, many times over, on one store. After every kill `system check` must find the
# store consistent (what the killed command left behind may only be a leftover), the same
# command run again must succeed, and no image that was not being removed may be lost. At the
# end `system prune` must remove every leftover.
#
# Rounds: E2E_CRASH_ROUNDS (default 12; make stress runs 120). Each round kills its command after
# a random delay between 0 and 90% of the time a full run of that command took, so the kills land
# anywhere in it: while blobs are written, layers unpacked, records saved, garbage collected.
source "$(dirname "$0")/lib.sh"
containers_setup

rounds=${E2E_CRASH_ROUNDS:-12}
[ "${E2E_STRESS:-0}" = 1 ] && rounds=${E2E_CRASH_ROUNDS:-120}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

note "setup: base image, inputs for each command, a registry holding an image"
bb_image bb
# An import tar and a context with enough data that each command takes a while (~8 MB).
mkdir -p "$E2E_TMP/data/payload" "$E2E_TMP/ctx/files"
for i in $(seq 1 40); do head -c 200000 /dev/urandom >"$E2E_TMP/data/payload/f$i"; done
cp -r "$E2E_TMP/data/payload" "$E2E_TMP/ctx/files/"
for i in $(seq 1 150); do echo "file $i" >"$E2E_TMP/ctx/files/small$i"; done
tar -C "$E2E_TMP/data" -cf "$E2E_TMP/import.tar" .
printf 'FROM bb\nRUN echo one > /one\nCOPY files /files\nRUN echo two > /two\nCOPY files /again\n' >"$E2E_TMP/ctx/Dockerfile"
ok strata build -q -t built:1 "$E2E_TMP/ctx"
ok strata run --name changed --network none -v "$E2E_TMP/data/payload:/payload:ro" bb \
  sh -c 'cp -r /payload /copied && echo changed > /marker'

# An image in a registry and one in an archive, made in another store from content this store
# lacks, so that pull and load have layers to write.
other() { STRATA_ROOT="$E2E_TMP/other-root" "$STRATA_BIN" "$@"; }
mkdir -p "$E2E_TMP/remote/payload" "$E2E_TMP/archived/payload"
for i in $(seq 1 40); do
  head -c 200000 /dev/urandom >"$E2E_TMP/remote/payload/f$i"
  head -c 200000 /dev/urandom >"$E2E_TMP/archived/payload/f$i"
done
tar -C "$E2E_TMP/remote" -cf "$E2E_TMP/remote.tar" .
tar -C "$E2E_TMP/archived" -cf "$E2E_TMP/archived.tar" .
ok other import "$E2E_TMP/remote.tar" remote:1
ok other import "$E2E_TMP/archived.tar" archived:1
ok other save -o "$E2E_TMP/saved.tar" archived:1

strata_registry registry
port=$registry_port
ok other tag remote:1 "127.0.0.1:$port/crash/remote:1"
ok other push "127.0.0.1:$port/crash/remote:1"

# Images that no round removes: they must survive every kill.
keep_ids=$(strata images -q --no-trunc | sort -u)

# One command of each kind; rmi removes an image made for the round just before.
op_cmd() { # OP: the command line, as words
  case $1 in
    import) echo "strata import $E2E_TMP/import.tar imported:1" ;;
    load) echo "strata load -q -i $E2E_TMP/saved.tar" ;;
    pull) echo "strata pull -q 127.0.0.1:$port/crash/remote:1" ;;
    build) echo "strata build -q --no-cache -t rebuilt:1 $E2E_TMP/ctx" ;;
    commit) echo "strata commit changed committed:1" ;;
    rmi) echo "strata rmi doomed:1" ;;
  esac
}
prepare() { # OP: what the command needs before it runs
  case $1 in
    load) strata rmi archived:1 >/dev/null 2>&1 || true ;;
    pull) strata rmi "127.0.0.1:$port/crash/remote:1" >/dev/null 2>&1 || true ;;
    rmi) strata image inspect doomed:1 >/dev/null 2>&1 ||
           strata import -m "doomed $RANDOM$RANDOM" "$E2E_TMP/import.tar" doomed:1 >/dev/null ;;
  esac
}

check_store() { # WHEN
  run strata system check --quick
  [ "$status" = 0 ] || fail "$1: system check found problems:
$out
$err"
  local id
  for id in $keep_ids; do
    strata image inspect "$id" >/dev/null 2>&1 || fail "$1: image $id was lost"
  done
}

ops=(import load pull build commit rmi)
declare -A took
note "one full run of each command, timed"
for op in "${ops[@]}"; do
  prepare "$op"
  start=$(now_ms)
  # shellcheck disable=SC2046
  ok $(op_cmd "$op")
  took[$op]=$(( $(now_ms) - start ))
done
echo "durations (ms): $(for op in "${ops[@]}"; do printf '%s=%s ' "$op" "${took[$op]}"; done)"
check_store "after the timed runs"

note "$rounds rounds of kill -9 at a random moment"
killed_mid=0
for i in $(seq 1 "$rounds"); do
  op=${ops[$(( (i - 1) % ${#ops[@]} ))]}
  prepare "$op"
  delay=$(( RANDOM % (took[$op] * 9 / 10 + 1) ))
  # shellcheck disable=SC2046
  set -- $(op_cmd "$op")
  shift # "strata"
  "$STRATA_BIN" "$@" >"$E2E_TMP/round.out" 2>&1 </dev/null &
  pid=$!
  sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
  kill -9 "$pid" 2>/dev/null || true
  rc=0
  wait "$pid" 2>/dev/null || rc=$?
  [ "$rc" = 137 ] && killed_mid=$((killed_mid + 1))
  check_store "round $i: $op killed after ${delay} ms"
  prepare "$op"
  run "$STRATA_BIN" "$@"
  [ "$status" = 0 ] || fail "round $i: $op failed after the kill ($status): $err"
  check_store "round $i: $op run again"
done
echo "rounds: $rounds, killed before they finished: $killed_mid"
[ "$killed_mid" -ge $(( rounds / 3 )) ] || fail "only $killed_mid of $rounds commands were killed before they finished"

note "every command still works; system prune removes every leftover"
ok strata run --rm --network none bb true
ok strata run --rm --network none rebuilt:1 cat /two
assert_eq "two" "$out"
ok strata run --rm --network none committed:1 cat /marker
assert_eq "changed" "$out"
ok strata system prune -f
ok strata system check
assert_contains "$out" "The store is consistent"
assert_not_contains "$out" "Leftovers"
assert_eq "" "$(ls "$STRATA_ROOT/tmp")" "tmp/ not emptied by system prune"
