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
  docker rmi -f "strata-bench-$token-base:1" "strata-bench-$token-app:1" >/dev/null 2>&1 || true
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
time_ns() { local t0; t0=$(now); "$@" >/dev/null 2>&1; echo $(( $(now) - t0 )); }

declare -A results
measure() { # NAME STRATA_CMD -- DOCKER_CMD
  local name=$1; shift
  local s=() d=() seen=0
  while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then seen=1; shift; continue; fi
    if [ $seen = 0 ]; then s+=("$1"); else d+=("$1"); fi
    shift
  done
  time_ns "${s[@]}" >/dev/null; time_ns "${d[@]}" >/dev/null  # warm-up
  local st=() dt=()
  for _ in $(seq 1 "$rounds"); do
    st+=("$(time_ns "${s[@]}")")
    dt+=("$(time_ns "${d[@]}")")
  done
  results[$name]="${st[*]}|${dt[*]}"
}

base="strata-bench-$token-base:1"
measure "run --rm --network none busybox true" \
  "$strata_bin" run --rm --network none base:1 true -- \
  docker run --rm --network none "$base" true
"$strata_bin" build -q --build-arg BASE=base:1 -t app:1 "$ctx" >/dev/null
DOCKER_BUILDKIT=1 "$build_cli" build -q --network host --build-arg BASE="$base" -t "strata-bench-$token-app:1" "$ctx" >/dev/null
measure "cached rebuild, 9 steps, 200 files" \
  "$strata_bin" build -q --build-arg BASE=base:1 -t app:1 "$ctx" -- \
  env DOCKER_BUILDKIT=1 "$build_cli" build -q --network host --build-arg BASE="$base" -t "strata-bench-$token-app:1" "$ctx"
measure "cold build --no-cache, same" \
  "$strata_bin" build -q --no-cache --build-arg BASE=base:1 -t app:1 "$ctx" -- \
  env DOCKER_BUILDKIT=1 "$build_cli" build -q --no-cache --network host --build-arg BASE="$base" -t "strata-bench-$token-app:1" "$ctx"

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
