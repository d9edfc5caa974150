#!/usr/bin/env bash
# Eight strata processes at a time on one store: builds, pulls, runs, imports and rmi's (each rmi
# collects garbage while the others add content), and creates racing rmi's of the image they
# use. Every command must succeed (or, for the racing pairs, fail cleanly), `system check` must
# find the store consistent afterwards, and no image that was not removed may be missing. A
# running container's image cannot be removed out from under it (Docker's "image is being used
# by running container" conflict), with or without -f.
source "$(dirname "$0")/lib.sh"
containers_setup

loops=${E2E_CONCURRENCY_LOOPS:-3}

note "setup: base image, two build contexts, a registry with two images"
bb_image bb
for n in 1 2; do
  mkdir -p "$E2E_TMP/ctx$n/files"
  for i in $(seq 1 60); do echo "ctx $n file $i" >"$E2E_TMP/ctx$n/files/f$i"; done
  printf 'FROM bb\nRUN echo %s > /built\nCOPY files /files\nRUN ls /files | wc -l > /count\n' "$n" >"$E2E_TMP/ctx$n/Dockerfile"
done
other() { STRATA_ROOT="$E2E_TMP/other-root" "$STRATA_BIN" "$@"; }
strata_registry registry
port=$registry_port
for n in 1 2; do
  mkdir -p "$E2E_TMP/remote$n"
  head -c 2000000 /dev/urandom >"$E2E_TMP/remote$n/data"
  tar -C "$E2E_TMP/remote$n" -cf "$E2E_TMP/remote$n.tar" .
  ok other import "$E2E_TMP/remote$n.tar" "127.0.0.1:$port/conc/remote$n:1"
  ok other push "127.0.0.1:$port/conc/remote$n:1"
done
import_busybox keep:1 -m "never removed" >/dev/null
keep=$(strata image inspect --format '{{.Id}}' keep:1)

note "a running container's image cannot be removed"
import_busybox victim:1 -m victim >/dev/null
victim=$(strata image inspect --format '{{.Id}}' victim:1)
ok strata run -d --name holder --network none victim:1 sleep 300
holder=$out
expect_error --names "victim:1" --names "container" strata rmi victim:1
expect_error --names "${victim:7:12}" --names "being used by a container" strata rmi -f "$victim"
ok strata image inspect "$victim"

# worker NAME CMD...: runs CMD in the background, its output in $E2E_TMP/NAME.log
pids=()
worker() { local name=$1; shift; "$@" >"$E2E_TMP/$name.log" 2>&1 </dev/null & pids+=($!); echo $! >>"$E2E_TMP/bg-pids"; }
builder() { # N
  local i; for i in $(seq 1 "$loops"); do
    strata build -q --no-cache -t "built$1:1" "$E2E_TMP/ctx$1" || { echo "build $i failed"; return 1; }
  done
}
puller() { # N
  local ref="127.0.0.1:$port/conc/remote$1:1" i
  for i in $(seq 1 "$loops"); do
    strata pull -q "$ref" || { echo "pull $i failed"; return 1; }
    [ "$i" = "$loops" ] || strata rmi "$ref" || { echo "rmi after pull $i failed"; return 1; }
  done
}
runner() { # N
  local i; for i in $(seq 1 $((loops * 2))); do
    [ "$(strata run --rm --network none bb cat /etc/passwd | head -c 4)" = root ] || { echo "run $i failed"; return 1; }
  done
}
churner() { # N: imports an image and removes it again, collecting garbage each time
  local i; for i in $(seq 1 $((loops * 2))); do
    strata import -m "churn $1 $i" "$E2E_TMP/busybox.tar" "churn$1:$i" >/dev/null || { echo "import $i failed"; return 1; }
    strata rmi "churn$1:$i" >/dev/null || { echo "rmi $i failed"; return 1; }
  done
}
racer_create() { # containers from racer:1, while racer_rmi tries to remove it
  local i; for i in $(seq 1 $((loops * 2))); do
    strata create --network none racer:1 true >/dev/null 2>>"$E2E_TMP/racer-create.err" || true
  done
}
racer_rmi() {
  local i; for i in $(seq 1 $((loops * 2))); do
    strata rmi racer:1 >/dev/null 2>>"$E2E_TMP/racer-rmi.err" || true
  done
}

note "eight processes at once: 2 builds, 2 pulls, 2 runs, 2 import+rmi loops"
for n in 1 2; do worker "builder$n" builder "$n"; worker "puller$n" puller "$n"; done
for n in 1 2; do worker "runner$n" runner "$n"; worker "churner$n" churner "$n"; done
failed=""
for i in "${!pids[@]}"; do wait "${pids[$i]}" || failed+=" ${pids[$i]}"; done
for f in "$E2E_TMP"/{builder,puller,runner,churner}?.log; do
  [ -z "$failed" ] || echo "== $f"; [ -z "$failed" ] || cat "$f"
done
[ -z "$failed" ] || fail "workers failed:$failed"

note "every image that was not removed is there, and works"
for ref in built1:1 built2:1 "127.0.0.1:$port/conc/remote1:1" "127.0.0.1:$port/conc/remote2:1" keep:1 victim:1 bb; do
  ok strata image inspect "$ref"
done
assert_eq "$keep" "$(strata image inspect --format '{{.Id}}' keep:1)" "keep:1 changed"
ok strata run --rm --network none built1:1 cat /built /count
assert_eq "1
60" "$out"
ok strata run --rm --network none built2:1 cat /built /count
assert_eq "2
60" "$out"
run strata images -q --filter reference='churn*'
assert_eq "" "$out" "churn images left behind"
ok strata system check
assert_contains "$out" "The store is consistent"

note "creates racing rmi's of their image: no container is left without its image"
pids=()
import_busybox racer:1 -m racer >/dev/null
worker racer-create racer_create
worker racer-rmi racer_rmi
for p in "${pids[@]}"; do wait "$p"; done
ok strata system check
assert_contains "$out" "The store is consistent"
for id in $(strata ps -a -q --no-trunc --filter status=created); do
  img=$(strata container inspect --format '{{.Image}}' "$id")
  ok strata image inspect "$img"
done
# Errors on either side are the clean conflicts, never a broken record.
if [ -s "$E2E_TMP/racer-rmi.err" ]; then
  assert_not_contains "$(cat "$E2E_TMP/racer-rmi.err")" "corrupt"
fi
if [ -s "$E2E_TMP/racer-create.err" ]; then
  # the image gone before the create looked (it then tries to pull it, which fails offline), or
  # gone while it was being created (found under the containers lock)
  grep -v -e "Unable to find image 'racer:1' locally" -e "^Error: pull racer:1: " \
    -e "(removed while the container was created)$" "$E2E_TMP/racer-create.err" &&
    fail "create failed in an unexpected way: $(cat "$E2E_TMP/racer-create.err")"
fi

note "once its container is gone the image can be removed"
ok strata rm -f "$holder"
ok strata rmi victim:1
ok strata system check
assert_contains "$out" "The store is consistent"
