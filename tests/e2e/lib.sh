# shellcheck shell=bash
# Shared helpers for strata's end-to-end tests. Each tests/e2e/test_*.sh sources this file.
#
# A test is a plain bash script: it exits 0 to pass, 77 to skip (after printing "SKIP: reason"
# via `skip`), anything else to fail. Every test gets a throwaway store in $STRATA_ROOT (under a
# mktemp dir removed at exit, unless E2E_KEEP=1) and TZ=UTC.
#
# Output formats asserted by the tests were checked against real Docker here (Debian docker.io
# 20.10.24 daemon, /usr/bin/docker 20.10 CLI); the comments in each test say what was checked.

set -Eeuo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$E2E_DIR/../.." && pwd)
STRATA_BIN=${STRATA_BIN:-$REPO_ROOT/build/strata}
DOCKER=${DOCKER:-/usr/bin/docker}
E2E_CACHE=${E2E_CACHE:-/var/tmp/strata-test-cache}
E2E_TEST_NAME=$(basename "$0" .sh); export E2E_TEST_NAME
HELPERS="$E2E_DIR/helpers.py"
export TZ=UTC LC_ALL=C.UTF-8

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-e2e.XXXXXX")
export STRATA_ROOT="$E2E_TMP/root"
# a short random token for names that must not collide with concurrent runs (docker images,
# escape sentinels)
E2E_TOKEN=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')

DOCKERD_PID=""

# on_exit CMD...: runs CMD (eval'd) at exit, before the store goes, newest first; its failure
# does not change the test's status. For containers, networks and servers a test started.
_e2e_exit_hooks=()
on_exit() { _e2e_exit_hooks=("$*" "${_e2e_exit_hooks[@]}"); }

_e2e_cleanup() {
  local rc=$?
  set +e
  local hook
  for hook in "${_e2e_exit_hooks[@]}"; do eval "$hook" >/dev/null 2>&1; done
  if [ "${E2E_USED_DOCKER:-0}" = 1 ] && "$DOCKER" info >/dev/null 2>&1; then
    # every docker image a test creates is named [registry/]strata-e2e-<token>-*
    local imgs
    imgs=$("$DOCKER" images --format '{{.Repository}}:{{.Tag}}' | grep -E "(^|/)strata-e2e-$E2E_TOKEN-")
    [ -z "$imgs" ] || "$DOCKER" rmi -f $imgs >/dev/null 2>&1
  fi
  if [ -n "$DOCKERD_PID" ]; then
    # only a daemon this test started, by its pid
    kill "$DOCKERD_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$DOCKERD_PID" 2>/dev/null || true
  fi
  rm -rf -- /tmp/strata-escape-"$E2E_TOKEN"-*
  # helper daemons recorded next to a store (tests/e2e/docker-shim.sh), by pid
  local pf pid
  for pf in "$E2E_TMP"/*.shim-pid; do
    [ -e "$pf" ] || continue
    pid=$(cat "$pf"); kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [ -e "${pf%.shim-pid}.shim-run" ] && xargs -r rm -rf -- <"${pf%.shim-pid}.shim-run"
  done
  if [ "${E2E_KEEP:-0}" = 1 ]; then
    echo "kept $E2E_TMP" >&2
  else
    rm -rf -- "$E2E_TMP"
  fi
  exit "$rc"
}
trap _e2e_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'echo "FAIL: command failed (status $?) at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND" >&2' ERR

# ---------------------------------------------------------------------------------------------
# basic assertions

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
note() { echo "--- $*"; }

assert_eq() { # EXPECTED ACTUAL [MSG]
  [ "$1" == "$2" ] || fail "${3:-values differ}: expected [$1], got [$2]"
}
assert_ne() { # A B [MSG]
  [ "$1" != "$2" ] || fail "${3:-values are equal}: both [$1]"
}
assert_contains() { # HAYSTACK NEEDLE [MSG]
  [[ "$1" == *"$2"* ]] || fail "${3:-missing text}: [$2] not found in:
$1"
}
assert_not_contains() { # HAYSTACK NEEDLE [MSG]
  [[ "$1" != *"$2"* ]] || fail "${3:-unexpected text}: [$2] found in:
$1"
}
assert_match() { # STRING ERE [MSG]
  [[ "$1" =~ $2 ]] || fail "${3:-no match}: [$1] does not match /$2/"
}
assert_file() { [ -e "$1" ] || fail "${2:-missing file}: $1"; }
assert_no_file() { [ ! -e "$1" ] && [ ! -L "$1" ] || fail "${2:-file should not exist}: $1"; }
nlines() { # number of lines in $1 (0 for empty)
  if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l | tr -d ' '; fi
}
assert_lines() { # N TEXT [MSG]
  local n; n=$(nlines "$2")
  [ "$n" = "$1" ] || fail "${3:-line count}: expected $1 lines, got $n:
$2"
}

# run CMD... : runs a command, never fails; sets $out, $err, $status
out="" err="" status=0
run() {
  local o e
  o=$(mktemp "$E2E_TMP/out.XXXXXX"); e=$(mktemp "$E2E_TMP/err.XXXXXX")
  status=0
  "$@" >"$o" 2>"$e" </dev/null || status=$?
  out=$(cat "$o"); err=$(cat "$e")
  rm -f "$o" "$e"
}
# run_in FILE CMD... : like run with stdin from FILE
run_in() {
  local in=$1; shift
  local o e
  o=$(mktemp "$E2E_TMP/out.XXXXXX"); e=$(mktemp "$E2E_TMP/err.XXXXXX")
  status=0
  "$@" >"$o" 2>"$e" <"$in" || status=$?
  out=$(cat "$o"); err=$(cat "$e")
  rm -f "$o" "$e"
}

# assert_status CODE CMD... : runs CMD (via run) and checks its exit status
assert_status() {
  local want=$1; shift
  run "$@"
  [ "$status" = "$want" ] || fail "expected status $want from [$*], got $status
stdout: $out
stderr: $err"
}
# ok CMD... : CMD must succeed; $out/$err hold its output
ok() { assert_status 0 "$@"; }

# store_snapshot [ROOT]: a manifest of every file, symlink and directory in the store (content
# hashes and modes, not times), ignoring */tmp and *lock* files.
# shellcheck disable=SC2120
store_snapshot() { python3 "$HELPERS" snapshot "${1:-$STRATA_ROOT}"; }

# expect_error [--names TEXT]... CMD... : CMD must exit 125 with exactly one line on stderr that
# mentions every TEXT (case-insensitively), and leave the store exactly as it was.
expect_error() {
  local names=()
  while [ "${1:-}" = "--names" ]; do names+=("$2"); shift 2; done
  local before after
  before=$(store_snapshot)
  run "$@"
  after=$(store_snapshot)
  [ "$status" = 125 ] || fail "expected exit status 125 from [$*], got $status
stdout: $out
stderr: $err"
  [ "$(nlines "$err")" = 1 ] || fail "expected exactly one line on stderr from [$*], got:
$err"
  local n
  for n in "${names[@]}"; do
    [[ "${err,,}" == *"${n,,}"* ]] || fail "error from [$*] does not name [$n]: $err"
  done
  if [ "$before" != "$after" ]; then
    fail "store changed by failing [$*]:
$({ diff <(echo "$before") <(echo "$after") || true; } | sed -n 1,20p)"
  fi
}

# ---------------------------------------------------------------------------------------------
# strata

[ -x "$STRATA_BIN" ] || fail "strata binary not found at $STRATA_BIN (run make build or set STRATA_BIN)"
strata() { "$STRATA_BIN" "$@"; }

# helpers.py wrappers
helper() { python3 "$HELPERS" "$@"; }
json_get() { helper json-get "$1"; } # stdin JSON, EXPR on v
human_size() { helper human-size "$@"; }

# inspect_field REF GO-TEMPLATE : strata image inspect --format
inspect_field() { strata image inspect --format "$2" "$1"; }

# ---------------------------------------------------------------------------------------------
# inputs

need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
need_cmd() { local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "needs $c"; done; }

# busybox_rootfs_tar OUT: a small rootfs tarball from Debian's busybox-static, cached under
# $E2E_CACHE/busybox-<sha256 of /bin/busybox>/rootfs.tar. Built reproducibly (sorted names, fixed
# mtime, uid/gid 0), so its sha256 is stable across runs.
BUSYBOX_APPLETS=(sh ls cat echo true false env mkdir rm cp mv ln id pwd sleep test wc touch uname)
busybox_rootfs_tar() {
  local out=$1 bb=/bin/busybox
  [ -x "$bb" ] || skip "busybox-static is not installed (/bin/busybox)"
  local key; key=$(sha256sum "$bb" | cut -c1-64)
  local dir="$E2E_CACHE/busybox-$key"
  if [ ! -s "$dir/rootfs.tar" ]; then
    mkdir -p "$dir"
    local stage; stage=$(mktemp -d "$dir/stage.XXXXXX")
    mkdir -p "$stage/rootfs/bin" "$stage/rootfs/etc" "$stage/rootfs/tmp" "$stage/rootfs/root"
    chmod 1777 "$stage/rootfs/tmp"; chmod 700 "$stage/rootfs/root"
    cp "$bb" "$stage/rootfs/bin/busybox"
    local a; for a in "${BUSYBOX_APPLETS[@]}"; do ln -s busybox "$stage/rootfs/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/rootfs/etc/group"
    tar -C "$stage/rootfs" --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner \
      --format=gnu -cf "$stage/rootfs.tar" .
    mv -f "$stage/rootfs.tar" "$dir/rootfs.tar" # atomic: concurrent runs see a whole file
    rm -rf "$stage"
  fi
  cp "$dir/rootfs.tar" "$out"
}

# a second, different small layer for multi-layer images
small_layer_tar() { # OUT [TEXT]
  helper layer "$1" "[{\"name\":\"hello.txt\",\"data\":\"${2:-hello world}\\n\"}]"
}

sha256_of() { echo "sha256:$(sha256sum "$1" | cut -c1-64)"; }

# import_busybox REF [import args...]: imports the cached busybox rootfs, prints the ID
import_busybox() {
  local ref=$1; shift
  [ -s "$E2E_TMP/busybox.tar" ] || busybox_rootfs_tar "$E2E_TMP/busybox.tar"
  strata import "$@" "$E2E_TMP/busybox.tar" "$ref"
}

# store_bytes: total size of regular files in the store (each inode once)
store_bytes() { du -sb "$STRATA_ROOT" | cut -f1; }
# count_big_files MIN_BYTES: store files at least that big (blobs, unpacked copies), one per inode
count_big_files() { find "$STRATA_ROOT" -type f -size +"$(( $1 / 1024 ))"k -printf '%i\n' | sort -u | wc -l; }

# escape sentinels: unique paths outside the store, removed at exit
escape_path() { echo "/tmp/strata-escape-$E2E_TOKEN-$1"; } # SUFFIX

# ---------------------------------------------------------------------------------------------
# docker (interop tests only)

# start_docker: make sure a Docker daemon answers; start one (and stop it at exit, by pid) if none
# does. Skips the test when docker is missing or cannot start.
start_docker() {
  [ -x "$DOCKER" ] || skip "docker CLI not found at $DOCKER"
  E2E_USED_DOCKER=1
  if "$DOCKER" info >/dev/null 2>&1; then return 0; fi
  need_root
  command -v dockerd >/dev/null || skip "dockerd is not installed"
  mkdir -p "$E2E_CACHE"
  exec 9>"$E2E_CACHE/dockerd.lock"
  flock -w 60 9 || skip "could not take $E2E_CACHE/dockerd.lock"
  if ! "$DOCKER" info >/dev/null 2>&1; then
    dockerd --iptables=false --bridge=none >"$E2E_TMP/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 300); do
      "$DOCKER" info >/dev/null 2>&1 && break
      kill -0 "$DOCKERD_PID" 2>/dev/null || break
      sleep 0.1
    done
    if ! "$DOCKER" info >/dev/null 2>&1; then
      local why; why=$(tail -n 3 "$E2E_TMP/dockerd.log" | tr '\n' ' ')
      skip "dockerd could not start: $why"
    fi
  fi
  flock -u 9
}
# docker_name SUFFIX: a unique docker image name; every docker image named so is removed at exit
docker_name() { echo "strata-e2e-$E2E_TOKEN-$1"; }
docker() { "$DOCKER" "$@"; }

# docker_build_cli: prints the path of a Docker CLI that runs BuildKit builds on its own
# (`DOCKER_BUILDKIT=1 CLI build ...`): Debian's docker.io 20.10 client. Docker CLIs from 23 on
# hand BuildKit builds to the buildx plugin and fail without it. The package is fetched once with
# `apt-get download docker.io` into $E2E_CACHE/docker-cli/ and unpacked there (dpkg-deb -x);
# later calls only print the path. DOCKER_BUILD_CLI=PATH uses that client instead. When no such
# client can be had the test is skipped: the SKIP line goes to stderr and the status is 77, so
# call it as `cli=$(docker_build_cli) || exit`.
docker_build_cli() {
  _bcli_skip() { echo "SKIP: $*" >&2; exit 77; }
  local cli=${DOCKER_BUILD_CLI:-}
  if [ -z "$cli" ]; then
    local dir="$E2E_CACHE/docker-cli"
    cli="$dir/root/usr/bin/docker"
    if [ ! -x "$cli" ]; then
      mkdir -p "$dir" || _bcli_skip "cannot create $dir for the docker.io client"
      # fd 8: held only while fetching and unpacking; concurrent runs wait for one another
      exec 8>"$dir/lock"
      flock -w 300 8 || _bcli_skip "could not take $dir/lock"
      if [ ! -x "$cli" ]; then
        local deb
        deb=$(find "$dir" -maxdepth 1 -name 'docker.io_*.deb' | sort | tail -n 1)
        if [ -z "$deb" ]; then
          command -v apt-get >/dev/null || _bcli_skip "no apt-get to fetch Debian's docker.io client"
          (cd "$dir" && apt-get download docker.io) >"$E2E_TMP/apt-download.log" 2>&1 ||
            _bcli_skip "apt-get download docker.io failed (apt-get update first?): $(tail -n 1 "$E2E_TMP/apt-download.log")"
          deb=$(find "$dir" -maxdepth 1 -name 'docker.io_*.deb' | sort | tail -n 1)
          [ -n "$deb" ] || _bcli_skip "apt-get download docker.io left no .deb in $dir"
        fi
        local stage; stage=$(mktemp -d "$dir/stage.XXXXXX")
        if ! dpkg-deb -x "$deb" "$stage" || [ ! -x "$stage/usr/bin/docker" ]; then
          rm -rf "$stage"
          _bcli_skip "cannot unpack $deb"
        fi
        rm -rf "$dir/root"
        mv "$stage" "$dir/root" # whole tree at once: other runs see all of it or nothing
      fi
      flock -u 8
      exec 8>&-
    fi
  fi
  [ -x "$cli" ] || _bcli_skip "docker build client $cli is not executable"
  local v
  v=$("$cli" --version 2>/dev/null | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p')
  if [ -z "$v" ] || [ "$v" -ge 23 ]; then
    _bcli_skip "$cli is not a Docker CLI older than 23 ($("$cli" --version 2>&1 | head -n 1)); it needs buildx for BuildKit builds"
  fi
  echo "$cli"
}

# inspect_json REF EXPR: evaluates EXPR (python, on v = the first element of `image inspect REF`)
inspect_json() { strata image inspect "$1" | helper json-get "v[0]$2"; }
# table_cells COL... : stdin table -> tab-separated cells of each row (header dropped), cut at the
# header's column positions
table_cells() { helper table-cells "$@"; }
# check_table COL... : stdin table must be laid out like Docker's tabwriter output
check_table() { helper check-table "$@"; }
# cell CELLS ROW COL : one cell (1-based row and column) of table_cells output
cell() { printf '%s\n' "$1" | awk -F'\t' -v r="$2" -v c="$3" 'NR == r { print $c }'; }
# column CELLS COL : every row's cell in column COL
column() { printf '%s\n' "$1" | awk -F'\t' -v c="$2" '{ print $c }'; }

# two_layer_archive OUT TAG [TEXT]: a legacy docker-archive (as `docker save` writes it) of an
# image made of the busybox rootfs plus a layer holding /hello.txt (TEXT, default "hello world"),
# created 2024-01-02T03:04:05Z by "e2e <e2e@example.com>", with three history entries: the
# busybox ADD, an empty_layer CMD, and a long RUN command (commented "second layer").
# Prints the image ID (sha256 of the config).
LONG_CREATED_BY='/bin/sh -c echo hello > /hello.txt && echo this is a rather long command line that goes on'
two_layer_archive() {
  local out=$1 tag=$2 text=${3:-hello world}
  [ -s "$E2E_TMP/busybox.tar" ] || busybox_rootfs_tar "$E2E_TMP/busybox.tar"
  small_layer_tar "$out.hello-layer" "$text"
  local hist
  hist=$(python3 -c 'import json,sys; print(json.dumps([
    {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
    {"created": "2024-01-01T00:00:01Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": True},
    {"created": "2024-01-02T03:04:05Z", "created_by": sys.argv[1], "comment": "second layer"}]))' "$LONG_CREATED_BY")
  helper docker-archive "$out" --tag "$tag" \
    --config-json '{"author": "e2e <e2e@example.com>", "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"], "WorkingDir": "/"}}' \
    --history-json "$hist" "$E2E_TMP/busybox.tar" "$out.hello-layer"
}

# ---------------------------------------------------------------------------------------------
# containers (issue 3)
#
# Container tests call containers_setup first: it makes sure that, at exit (pass or fail), every
# container of the test's store is removed (`strata rm -f`), every process left over from the
# test's store is killed by pid (the monitors and container processes found by their
# STRATA_ROOT, command line or mount table naming $E2E_TMP) and anything mounted under $E2E_TMP
# is unmounted, before lib.sh's own cleanup removes the temp dir.

# the host side of one container-test run
containers_setup() {
  need_root
  trap '_e2e_ctr_rc=$?; trap - ERR; set +e; _e2e_container_cleanup; ( exit "$_e2e_ctr_rc" ); _e2e_cleanup' EXIT
}
_e2e_container_cleanup() {
  local ids
  ids=$(timeout 20 "$STRATA_BIN" ps -a -q --no-trunc 2>/dev/null)
  # shellcheck disable=SC2086
  [ -z "$ids" ] || timeout 30 "$STRATA_BIN" rm -f $ids >/dev/null 2>&1
  python3 "$HELPERS" kill-leftovers "$E2E_TMP" "$$" >&2
  if [ "${E2E_USED_DOCKER:-0}" = 1 ]; then
    # docker containers a test creates are named strata-e2e-<token>-* (docker_name)
    ids=$("$DOCKER" ps -aq --filter "name=strata-e2e-$E2E_TOKEN-" 2>/dev/null)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || "$DOCKER" rm -f $ids >/dev/null 2>&1
  fi
  local m
  findmnt -rn -o TARGET 2>/dev/null | grep -F "$E2E_TMP" | sort -r | while IFS= read -r m; do
    umount -l "$m" 2>/dev/null
  done
  return 0
}

# bb_image [REF] [import args...]: the busybox image (CMD sh) under REF (default bb), imported
# once per test; prints nothing
bb_image() {
  local ref=${1:-bb}; shift || true
  strata image inspect "$ref" >/dev/null 2>&1 && return 0
  import_busybox "$ref" -c 'CMD ["sh"]' "$@" >/dev/null
}

# ctr_json C EXPR: EXPR (python, on v = the first element of `container inspect C`)
ctr_json() { strata container inspect "$1" | helper json-get "v[0]$2"; }
# ctr_status C: State.Status (created, running, paused, exited, ...)
ctr_status() { ctr_json "$1" "['State']['Status']"; }

# wait_for SECONDS CMD... : polls CMD (every 0.1s) until it succeeds; fails the test on timeout
wait_for() {
  local secs=$1; shift
  local end=$(( $(date +%s%N) + secs * 1000000000 ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$end" ] || { fail "timed out after ${secs}s waiting for: $*"; return 1; }
    sleep 0.1
  done
}
_ctr_status_is() { [ "$(ctr_status "$1" 2>/dev/null)" = "$2" ]; }
# wait_status C STATUS [SECONDS]: polls until State.Status is STATUS (default 10s)
wait_status() { wait_for "${3:-10}" _ctr_status_is "$1" "$2"; }

PS_COLS=('CONTAINER ID' IMAGE COMMAND CREATED STATUS PORTS NAMES)
# ps_row NAME [ps args...]: the cells (tab-separated, PS_COLS order) of NAME's row in
# `strata ps -a` (empty when there is none)
ps_row() {
  local name=$1; shift
  strata ps -a "$@" | table_cells "${PS_COLS[@]}" | awk -F'\t' -v n="$name" '$7 == n'
}
# ps_status NAME: the STATUS cell of NAME in `strata ps -a`
ps_status() { ps_row "$1" | cut -f5; }

# run_bg OUTFILE CMD... : starts CMD in the background (stdin /dev/null, output to OUTFILE),
# records its pid for the cleanup and sets $bg_pid
bg_pid=""
run_bg() {
  local o=$1; shift
  "$@" >"$o" 2>&1 </dev/null &
  bg_pid=$!
  echo "$bg_pid" >>"$E2E_TMP/bg-pids"
}
# pty_session [opts] STEPS_JSON CMD... : helpers.py pty-session (sets $out, $err, $status)
pty_session() {
  local opts=()
  while [[ "${1:-}" == --* ]]; do opts+=("$1" "$2"); shift 2; done
  local steps=$1; shift
  run python3 "$HELPERS" pty-session "${opts[@]}" "$steps" -- "$@"
}
# the host's view of a process: session id of PID
proc_sid() { awk '{ sub(/^.*\) /, ""); print $4 }' "/proc/$1/stat"; }
# logs_contain C TEXT: the container's log (stdout and stderr) has a line containing TEXT
logs_contain() { strata logs "$1" 2>&1 | grep -F -- "$2" >/dev/null; }
# logs_count C TEXT N: exactly N lines of the container's log contain TEXT
logs_count() { [ "$(strata logs "$1" 2>&1 | grep -cF -- "$2")" = "$3" ]; }
# json_list TEXT...: the JSON array of the arguments, as json-get prints it
json_list() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"; }
# logs_at_least C TEXT N: at least N lines of the container's log contain TEXT
logs_at_least() { [ "$(strata logs "$1" 2>&1 | grep -cF -- "$2")" -ge "$3" ]; }

# free_port: a TCP port on 127.0.0.1 that nothing listens on
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# strata_registry NAME: runs `strata registry serve` on a free port with its own root and storage
# under $E2E_TMP/NAME-*, stopped by pid at exit; sets $registry_port
registry_port=""
strata_registry() {
  local name=$1
  registry_port=$(free_port)
  STRATA_ROOT="$E2E_TMP/$name-root" "$STRATA_BIN" registry serve --addr "127.0.0.1:$registry_port" \
    --storage "$E2E_TMP/$name-storage" >"$E2E_TMP/$name.log" 2>&1 &
  local pid=$!
  echo "$pid" >>"$E2E_TMP/bg-pids"
  on_exit "kill $pid 2>/dev/null"
  wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$registry_port/v2/"
}
