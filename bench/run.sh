#!/usr/bin/env bash
# strata against Docker, side by side (`make bench`). Both tools start from the same busybox base
# image; each workload runs A/B/A/B (strata, then Docker) ROUNDS times after one warm-up pair,
# and the table gives each tool's median, min and max and the median of the per-pair ratios
# strata/Docker. Benchmarks are not tests: nothing here asserts a time.
#
#   bench/run.sh [ROUNDS]          (default 10)
#   STRATA_BIN=... DOCKER_BUILD_CLI=... bench/run.sh
#
# Needs root, /bin/busybox (busybox-static) and a Docker daemon (started here with
# --iptables=false --bridge=none when none answers, and stopped again by pid).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
rounds=${1:-10}
strata_bin=${STRATA_BIN:-$repo/build/strata}
[ -x "$strata_bin" ] || { echo "bench: $strata_bin not found; run make build" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "bench: needs /bin/busybox (busybox-static)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
export STRATA_ROOT=$work/store
dockerd_pid=""
token=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
cleanup() {
  docker ps -aq --filter "label=strata-bench=$token" | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker images -q "strata-bench-$token-many" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  docker rmi -f "strata-bench-$token-base:1" "strata-bench-$token-app:1" "strata-bench-$token-big:1" >/dev/null 2>&1 || true
  [ -z "$dockerd_pid" ] || { kill "$dockerd_pid"; wait "$dockerd_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
  dockerd --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
fi
# Docker's BuildKit needs a 20.10 client (the 28.x one here wants buildx): Debian's, cached.
build_cli=${DOCKER_BUILD_CLI:-}
if [ -z "$build_cli" ]; then
  cache=/var/tmp/strata-test-cache/docker-cli
  if [ ! -x "$cache/x/usr/bin/docker" ]; then
    mkdir -p "$cache" && (cd "$cache" && apt-get download docker.io >/dev/null 2>&1 && dpkg-deb -x docker.io_*.deb x)
  fi
  build_cli=$cache/x/usr/bin/docker
fi

# The base: the same busybox root file system in both tools.
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/"
for a in sh true echo cat ls mkdir cp rm; do ln -s busybox "$rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
tar -C "$rootfs" --owner=0 --group=0 --numeric-owner -cf "$work/base.tar" .
"$strata_bin" import "$work/base.tar" base:1 >/dev/null
docker import "$work/base.tar" "strata-bench-$token-base:1" >/dev/null

# The build: 9 steps on a context of 200 files.
ctx=$work/ctx
mkdir -p "$ctx/files"
for i in $(seq 1 200); do head -c 2048 /dev/urandom >"$ctx/files/f$i"; done
cat >"$ctx/Dockerfile" <<'DF'
ARG BASE
FROM $BASE
ENV APP=/app
WORKDIR /app
COPY files/ ./files/
RUN ls files | wc -l > count
LABEL bench=yes
EXPOSE 8080
USER root
CMD ["cat", "/app/count"]
DF

now() { date +%s%N; }
# time_ns CMD...: runs CMD quietly, prints its wall time in nanoseconds
# (a failing command stops the benchmark: a fast failure is not a result)
time_ns() {
  local t0 t1; t0=$(now)
  "$@" >"$work/last.log" 2>&1 || { echo "bench: [$*] failed:" >&2; tail -n 5 "$work/last.log" >&2; exit 1; }
  t1=$(now); echo $(( t1 - t0 ))
}

declare -A results
measure() { # NAME STRATA_CMD -- DOCKER_CMD
  local name=$1; shift
  local s=() d=() seen=0
  while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then seen=1; shift; continue; fi
    if [ $seen = 0 ]; then s+=("$1"); else d+=("$1"); fi
    shift
  done
  # $before_each (when set) runs untimed before every timed command
  ${before_each:-true}; time_ns "${s[@]}" >/dev/null; ${before_each:-true}; time_ns "${d[@]}" >/dev/null  # warm-up
  local st=() dt=() t
  for _ in $(seq 1 "$rounds"); do
    ${before_each:-true}; t=$(time_ns "${s[@]}") || exit 1; st+=("$t")
    ${before_each:-true}; t=$(time_ns "${d[@]}") || exit 1; dt+=("$t")
  done
  results[$name]="${st[*]}|${dt[*]}"
}

base="strata-bench-$token-base:1"
measure "run --rm --network none busybox true" \
  "$strata_bin" run --rm --network none base:1 true -- \
  docker run --rm --network none "$base" true
"$strata_bin" build -q --network host --build-arg BASE=base:1 -t app:1 "$ctx" >/dev/null
DOCKER_BUILDKIT=1 "$build_cli" build -q --network host --build-arg BASE="$base" -t "strata-bench-$token-app:1" "$ctx" >/dev/null
measure "cached rebuild, 9 steps, 200 files" \
  "$strata_bin" build -q --network host --build-arg BASE=base:1 -t app:1 "$ctx" -- \
  env DOCKER_BUILDKIT=1 "$build_cli" build -q --network host --build-arg BASE="$base" -t "strata-bench-$token-app:1" "$ctx"
measure "cold build --no-cache, same" \
  "$strata_bin" build -q --network host --no-cache --build-arg BASE=base:1 -t app:1 "$ctx" -- \
  env DOCKER_BUILDKIT=1 "$build_cli" build -q --no-cache --network host --build-arg BASE="$base" -t "strata-bench-$token-app:1" "$ctx"

# A cold build copying a 512 MiB context of 1 MiB files (issue 9: ratio <= 0.5, strata's peak
# memory <= 64 MiB, measured once with GNU time over strata and the children it waits for).
bigctx=$work/bigctx
mkdir -p "$bigctx/data"
for i in $(seq 1 512); do head -c 1048576 /dev/urandom >"$bigctx/data/f$i"; done
printf 'ARG BASE\nFROM $BASE\nCOPY . /data\n' >"$bigctx/Dockerfile"
measure "cold build, COPY of 512 MiB context" \
  "$strata_bin" build -q --no-cache --network host --build-arg BASE=base:1 -t bigctx:1 "$bigctx" -- \
  env DOCKER_BUILDKIT=1 "$build_cli" build -q --no-cache --network host --build-arg BASE="$base" -t "strata-bench-$token-bigctx:1" "$bigctx"
peak_kib=$(/usr/bin/time -f %M "$strata_bin" build -q --no-cache --network host --build-arg BASE=base:1 \
  -t bigctx:1 "$bigctx" 2>&1 >/dev/null | tail -n 1)
docker rmi -f "strata-bench-$token-bigctx:1" >/dev/null 2>&1 || true
rm -rf "$bigctx"

# Listing and inspecting with 200 images and 200 containers in the store (issue 9: <= 20 ms each).
# The images are distinct (one small file each), the containers created and never started.
many=$work/many
mkdir -p "$many"
for i in $(seq 1 200); do
  echo "$i" >"$many/n"
  tar -C "$many" --owner=0 --group=0 --numeric-owner -cf "$many/i.tar" n
  "$strata_bin" import "$many/i.tar" "many:$i" >/dev/null
  docker import "$many/i.tar" "strata-bench-$token-many:$i" >/dev/null
  "$strata_bin" create --network none --name "many$i" base:1 true >/dev/null
  docker create --network none --label "strata-bench=$token" "$base" true >/dev/null
done
measure "images, 200 images" "$strata_bin" images -- docker images
measure "ps -a, 200 containers" "$strata_bin" ps -a -- docker ps -a
measure "image inspect, 200 images" "$strata_bin" image inspect many:100 -- \
  docker image inspect "strata-bench-$token-many:100"

# Push then pull of a 500 MiB, 5-layer image through Debian's docker-registry: each round pushes
# to a registry started empty (outside the timing) and pulls back after removing the image.
# strata compresses a built layer once and keeps the result, so only its first round pays for
# compression; Docker compresses on every push.
if command -v docker-registry >/dev/null; then
  big=$work/big
  mkdir -p "$big"
  cat >"$big/Dockerfile" <<'DF'
ARG BASE
FROM $BASE
RUN head -c 50000000 /dev/urandom > /r1 && yes layer-one | head -c 50000000 > /t1
RUN head -c 50000000 /dev/urandom > /r2 && yes layer-two | head -c 50000000 > /t2
RUN head -c 50000000 /dev/urandom > /r3 && yes layer-three | head -c 50000000 > /t3
RUN head -c 50000000 /dev/urandom > /r4 && yes layer-four | head -c 50000000 > /t4
RUN head -c 50000000 /dev/urandom > /r5 && yes layer-five | head -c 50000000 > /t5
DF
  "$strata_bin" build -q --network none --build-arg BASE=base:1 -t big:1 "$big" >/dev/null
  DOCKER_BUILDKIT=1 "$build_cli" build -q --network host --build-arg BASE="$base" -t "strata-bench-$token-big:1" "$big" >/dev/null
  reg_pid=""
  fresh_registry() { # starts an empty docker-registry on 127.0.0.1:$reg_port
    [ -z "$reg_pid" ] || { kill "$reg_pid"; wait "$reg_pid" 2>/dev/null || true; }
    rm -rf "$work/registry"
    reg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
      "$work/registry" "$reg_port" >"$work/registry.yml"
    docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
    reg_pid=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$reg_port/v2/" && break; sleep 0.05; done
  }
  strata_push_pull() {
    local ref=127.0.0.1:$reg_port/big:1
    "$strata_bin" tag big:1 "$ref" && "$strata_bin" push "$ref" &&
      "$strata_bin" rmi "$ref" && STRATA_ROOT=$work/pullstore "$strata_bin" pull "$ref" &&
      STRATA_ROOT=$work/pullstore "$strata_bin" rmi "$ref"
  }
  docker_push_pull() {
    local ref=127.0.0.1:$reg_port/strata-bench-$token-big:1
    docker tag "strata-bench-$token-big:1" "$ref" && docker push "$ref" && docker rmi "$ref" &&
      docker rmi "strata-bench-$token-big:1" && docker pull "$ref" &&
      docker tag "$ref" "strata-bench-$token-big:1" && docker rmi "$ref"
  }
  before_each=fresh_registry measure "push+pull 500 MiB, 5 layers" strata_push_pull -- docker_push_pull
  [ -z "$reg_pid" ] || kill "$reg_pid"
  reg_pid=""
fi

# Serving: 8 clients at once pulling one 200 MiB blob from `strata registry serve` and from
# docker-registry (time ratio < 1: strata serves faster).
if command -v docker-registry >/dev/null; then
  head -c 200000000 /dev/urandom >"$work/blob200"
  blob_digest="sha256:$(sha256sum "$work/blob200" | cut -c1-64)"
  sport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$strata_bin" registry serve -q --addr "127.0.0.1:$sport" --storage "$work/serve-storage" >/dev/null 2>&1 &
  serve_pid=$!
  fresh_registry
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$sport/v2/" && break; sleep 0.05; done
  for p in "$sport" "$reg_port"; do  # POST, then PUT the whole blob (docker-registry's monolithic form)
    loc=$(curl -sf -X POST -D - -o /dev/null "http://127.0.0.1:$p/v2/bench/blob/blobs/uploads/" |
      sed -n 's/^[Ll]ocation: *//p' | tr -d '\r')
    case $loc in http*) ;; *) loc="http://127.0.0.1:$p$loc" ;; esac
    sep='?'; [[ "$loc" == *'?'* ]] && sep='&'
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
      --data-binary "@$work/blob200" "$loc${sep}digest=$blob_digest")
    [ "$code" = 201 ] || { echo "bench: uploading the 200 MiB blob to port $p answered $code" >&2; exit 1; }
  done
  parallel_pull() { # PORT: 8 concurrent GETs of the blob (bodies discarded, statuses checked)
    local i pids=()
    for i in 1 2 3 4 5 6 7 8; do
      curl -sSf "http://127.0.0.1:$1/v2/bench/blob/blobs/$blob_digest" -o /dev/null & pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || return 1; done
  }
  measure "serve: 8 clients pull a 200 MiB blob" parallel_pull "$sport" -- parallel_pull "$reg_port"
  kill "$serve_pid" "$reg_pid"
fi

for k in "${!results[@]}"; do printf '%s\t%s\n' "$k" "${results[$k]}"; done >"$work/results.tsv"
python3 - "$rounds" "$work/results.tsv" <<'PY'
import statistics, sys
print(f"rounds per tool: {sys.argv[1]} (after one warm-up pair); times in ms")
print(f"{'workload':40} {'strata med':>11} {'(min-max)':>17} {'docker med':>11} {'(min-max)':>17} {'ratio':>7}")
for line in sorted(open(sys.argv[2])):
    name, cell = line.rstrip("\n").split("\t")
    s, d = cell.split("|")
    s = [int(x) / 1e6 for x in s.split()]
    d = [int(x) / 1e6 for x in d.split()]
    ratio = statistics.median([a / b for a, b in zip(s, d)])
    print(f"{name:40} {statistics.median(s):11.1f} {f'({min(s):.1f}-{max(s):.1f})':>17} "
          f"{statistics.median(d):11.1f} {f'({min(d):.1f}-{max(d):.1f})':>17} {ratio:7.3f}")
PY
echo "strata's peak memory building the 512 MiB context: $((peak_kib / 1024)) MiB"
