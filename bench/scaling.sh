#!/usr/bin/env bash
# How strata's cost grows (issue 9). Each point is the median of 3 runs; the table gives the
# time, the time per unit of the parameter and the marginal time per unit (the slope from the
# previous point: roughly constant when the cost is linear, growing when it is superlinear).
#
#   bash bench/scaling.sh
#   STRATA_BIN=... SCALE_MAX=1000 bash bench/scaling.sh    (skip points above 1000)
#   SERIES=b bash bench/scaling.sh                          (only series b; default abc)
#
# Series:
#   a. build vs context size: `FROM base` + `COPY . /data`, 1k/10k/100k files of 64 bytes in
#      directories of 1000; cold (`--no-cache`, into a fresh store) and cached rebuild.
#   b. images, image inspect, ps -a, rmi, run --rm and import (one more image) vs image count
#      10/100/1000/10000; load of an archive of K images and rmi of K images in one command,
#      K = 10/100/1000; ps -a and create vs container count 10/100/1000.
#   c. build (cold), run --rm, save, load (into a fresh store), push and pull (an empty
#      `strata registry serve`, a fresh store) vs layer count 1/10/100 (`RUN echo i > /fi`).
#
# Series b fills the store by writing image records directly (configs and manifests as blobs,
# a record in images/ and a symlink in refs/ per image, all sharing one layer that strata
# loaded), which is faster than importing them. What one more image costs strata is measured at
# each point (`import`).
#
# Needs root, /bin/busybox (busybox-static), python3 and curl. Takes 10 to 20 minutes on 2 cores
# (most of it series a: writing, syncing and removing stores of 100,000 files).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
strata_bin=${STRATA_BIN:-$repo/build/strata}
scale_max=${SCALE_MAX:-100000}
series=${SERIES:-abc}
[ -x "$strata_bin" ] || { echo "scaling: $strata_bin not found; run make build" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "scaling: needs root" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "scaling: needs /bin/busybox (busybox-static)" >&2; exit 1; }
for t in python3 curl; do command -v $t >/dev/null || { echo "scaling: needs $t" >&2; exit 1; }; done

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-scaling.XXXXXX")
export STRATA_ROOT=$work/store
reg_pid=""
cleanup() {
  [ -z "$reg_pid" ] || { kill "$reg_pid" 2>/dev/null || true; wait "$reg_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

S() { "$strata_bin" "$@"; }
now() { date +%s%N; }
# time_ns CMD...: runs CMD quietly (in this shell: CMD may be a function that keeps state) and
# sets last_ns to its wall time in nanoseconds; a failure stops the run
time_ns() {
  local t0 t1; t0=$(now)
  "$@" >"$work/last.log" 2>&1 || { echo "scaling: [$*] failed:" >&2; tail -n 5 "$work/last.log" >&2; exit 1; }
  t1=$(now); last_ns=$(( t1 - t0 ))
}
# point SERIES UNIT VALUE [--before FN] [--warm] -- CMD...: 3 timed runs (FN untimed before each;
# --warm: one untimed run first), median recorded in results.tsv
point() {
  local series=$1 unit=$2 value=$3; shift 3
  local before=true warm=0
  while [ "$1" != "--" ]; do
    case $1 in --before) before=$2; shift 2 ;; --warm) warm=1; shift ;; *) echo "point: $1?" >&2; exit 1 ;; esac
  done
  shift
  if [ $warm = 1 ]; then $before; time_ns "$@"; fi
  local ts=()
  for _ in 1 2 3; do $before; time_ns "$@"; ts+=("$last_ns"); done
  printf '%s\t%s\t%s\t%s\n' "$series" "$unit" "$value" "${ts[*]}" >>"$work/results.tsv"
  printf '  %-34s %7s %s\n' "$series" "$value" "$(printf '%s ' "${ts[@]}" | awk '{for(i=1;i<=NF;i++) printf "%.1f ", $i/1e6}')ms" >&2
}
upto() { local out=() v; for v in "$@"; do [ "$v" -le "$scale_max" ] && out+=("$v"); done; echo "${out[@]}"; }

# The base: busybox with every applet as a symlink, and /etc/passwd (as bench/run.sh makes it).
rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
tar -C "$rootfs" --owner=0 --group=0 --numeric-owner -cf "$work/base.tar" .
# an empty store with the base image; sync so that the last run's writeback is not timed
fresh_store() { rm -rf "$STRATA_ROOT"; S import "$work/base.tar" base >/dev/null; sync; }

# A docker-archive of COUNT images (labels and tags NAME:START..) sharing one tiny layer.
cat >"$work/mkarchive.py" <<'PY'
import hashlib, io, json, sys, tarfile
name, start, count, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lb = io.BytesIO()
with tarfile.open(fileobj=lb, mode="w", format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo("n"); ti.size = 2; ti.mtime = 0
    t.addfile(ti, io.BytesIO(b"x\n"))
layer = lb.getvalue(); lh = hashlib.sha256(layer).hexdigest()
entries = []
with tarfile.open(out, "w") as t:
    def add(path, data):
        ti = tarfile.TarInfo(path); ti.size = len(data); ti.mtime = 0
        t.addfile(ti, io.BytesIO(data))
    add(lh + "/layer.tar", layer)
    for i in range(start, start + count):
        cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-11-24T00:00:00Z",
                          "config": {"Labels": {"n": "%s-%d" % (name, i)}},
                          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + lh]},
                          "history": [{"created": "2026-11-24T00:00:00Z", "created_by": "scaling"}]},
                         separators=(",", ":")).encode()
        ch = hashlib.sha256(cfg).hexdigest()
        add(ch + ".json", cfg)
        entries.append({"Config": ch + ".json", "RepoTags": ["%s:%d" % (name, i)],
                        "Layers": [lh + "/layer.tar"]})
    add("manifest.json", json.dumps(entries).encode())
PY

# Sets the store's images to base and many:0..N-1: copies of many:0 (which strata loaded)
# differing in one label, written as strata writes them (blobs named by digest, a record in
# images/ and a symlink in refs/ per image). Records of other images (those the previous point
# imported and loaded) go; their blobs stay, unreferenced.
cat >"$work/fill.py" <<'PY'
import hashlib, json, os, sys
root, n = sys.argv[1], int(sys.argv[2])
imgs, refs = os.path.join(root, "images"), os.path.join(root, "refs")
def ref(name): return os.path.join(refs, name.replace("/", "+"))
def owner(name):
    try: return os.readlink(ref(name))
    except FileNotFoundError: return None
keep = {"docker.io/library/base:latest"} | {"docker.io/library/many:%d" % i for i in range(n)}
recs = []
for f in os.listdir(imgs):
    if f.startswith(".") or not f.endswith(".json"): continue
    r = json.load(open(os.path.join(imgs, f)))
    names = [t for t in r["tags"] + r["digests"] if owner(t) == f[:-5]]
    if set(names) & keep:
        recs.append(r)
        continue
    for t in names: os.unlink(ref(t))
    os.unlink(os.path.join(imgs, f))
tags = {t for r in recs for t in r["tags"]}
seed = next(r for r in recs if "docker.io/library/many:0" in r["tags"])
def blob(d): return os.path.join(root, "blobs", "sha256", d.split(":", 1)[1])
def put(data):
    h = hashlib.sha256(data).hexdigest()
    p = os.path.join(root, "blobs", "sha256", h)
    if not os.path.exists(p):
        with open(p + ".tmp", "wb") as f: f.write(data)
        os.chmod(p + ".tmp", 0o444); os.rename(p + ".tmp", p)
    return "sha256:" + h, len(data)
cfg = json.load(open(blob(seed["id"])))
man = json.load(open(blob(seed["manifest"])))
for i in range(1, n):
    tag = "docker.io/library/many:%d" % i
    if tag in tags: continue
    cfg["config"]["Labels"]["n"] = "many-%d" % i
    cid, csize = put(json.dumps(cfg, separators=(",", ":")).encode())
    man["config"]["digest"], man["config"]["size"] = cid, csize
    mid, _ = put(json.dumps(man, separators=(",", ":")).encode())
    r = dict(seed); r.update(id=cid, manifest=mid, tags=[tag], digests=[])
    path = os.path.join(imgs, cid.split(":", 1)[1] + ".json")
    with open(path + ".tmp", "w") as f: json.dump(r, f, indent=1)
    os.rename(path + ".tmp", path)
    os.symlink(cid.split(":", 1)[1], ref(tag) + ".tmp"); os.rename(ref(tag) + ".tmp", ref(tag))
PY

# Contexts of N files of 64 bytes, 1000 per directory.
mkctx() { # DIR N
  python3 - "$1" "$2" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 1000))
    if i % 1000 == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%03d" % (i % 1000)), "wb") as f: f.write(b"%063d\n" % i)
open(os.path.join(root, "Dockerfile"), "w").write("FROM base\nCOPY . /data\n")
PY
}

: >"$work/results.tsv"
echo "scaling: $strata_bin, points up to $scale_max" >&2

# ---------------------------------------------------------------- a. context size
# Each cold build gets a store of its own, in a new directory; the stores are removed after the
# series. (Removing a store and making the next one at the same path left this host's ext4,
# which has no journal, creating the next build's files about 4 times slower: perf puts the time
# in the inode allocator, find_inode_bit and recently_deleted, under overlayfs file creation.
# That is the file system's state, not strata's work, and it is kept out of the timings.)
if [[ $series == *a* ]]; then
echo "a. build vs context size" >&2
stores=0
new_store() { stores=$((stores + 1)); export STRATA_ROOT=$work/store-a$stores; S import "$work/base.tar" base >/dev/null; sync; }
for n in $(upto 1000 10000 100000); do
  ctx=$work/ctx$n
  mkctx "$ctx" "$n"
  point "build --no-cache, COPY" files "$n" --before new_store -- S build --no-cache -q -t ctx "$ctx"
  point "cached rebuild, COPY" files "$n" -- S build -q -t ctx "$ctx"
done
rm -rf "$work"/store-a* "$work"/ctx*
export STRATA_ROOT=$work/store
fi

# ---------------------------------------------------------------- b. image count
if [[ $series == *b* ]]; then
echo "b. commands vs image count" >&2
fresh_store
python3 "$work/mkarchive.py" many 0 1 "$work/seed.tar"
S load -q -i "$work/seed.tar" >/dev/null
tiny=$work/tiny
mkdir -p "$tiny" && echo x >"$tiny/n"
tar -C "$tiny" --owner=0 --group=0 --numeric-owner -cf "$work/tiny.tar" n
seq_import=0
import_one() { seq_import=$((seq_import + 1)); S import -c "LABEL n=extra-$seq_import" "$work/tiny.tar" "extra:$seq_import"; }
rmi_next() { S rmi "many:$((victim--))"; }
for n in $(upto 10 100 1000 10000); do
  python3 "$work/fill.py" "$STRATA_ROOT" "$n"
  have=$(S images -q many | wc -l)
  [ "$have" = "$n" ] || { echo "scaling: the store has $have images many:*, not $n" >&2; exit 1; }
  S tag many:0 gc:1 && S rmi gc:1 >/dev/null  # untimed: collects the previous point's leftovers
  point "images" images "$n" --warm -- S images
  point "image inspect (one)" images "$n" --warm -- S image inspect many:5
  point "ps -a (no containers)" images "$n" --warm -- S ps -a
  point "run --rm --network none base true" images "$n" --warm -- S run --rm --network none base true
  victim=$((n - 1))
  point "rmi (one image)" images "$n" -- rmi_next
  point "import (one more image)" images "$n" -- import_one
done

# One command handling K images: load of an archive of K images into a store holding only base;
# rmi of K images from a store of K images.
echo "b3. load and rmi of K images in one command" >&2
seed_store() { fresh_store; S load -q -i "$work/seed.tar" >/dev/null; }
fill_k() { seed_store; python3 "$work/fill.py" "$STRATA_ROOT" "$k"; sync; }
for k in $(upto 10 100 1000); do
  python3 "$work/mkarchive.py" batch 0 "$k" "$work/batch.tar"
  point "load, archive of K images" images "$k" --before fresh_store -- S load -q -i "$work/batch.tar"
  mapfile -t victims < <(seq -f 'many:%g' 0 $((k - 1)))
  point "rmi of K images" images "$k" --before fill_k -- S rmi "${victims[@]}"
done
rm -f "$work/batch.tar"

echo "b2. ps -a vs container count" >&2
fresh_store
made=0
create_one() { made=$((made + 1)); S create --network none --name "c$made" base true; }
for n in $(upto 10 100 1000); do
  # named: strata's random names (500 of them, no retry on a clash) run out
  while [ $made -lt "$n" ]; do made=$((made + 1)); S create --network none --name "c$made" base true >/dev/null; done
  point "ps -a" containers "$n" --warm -- S ps -a
  point "create (one more container)" containers "$n" -- create_one
done
fi

# ---------------------------------------------------------------- c. layer count
if [[ $series == *c* ]]; then
echo "c. build, run, save, load, push, pull vs layer count" >&2
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fresh_registry() { # an empty `strata registry serve` on 127.0.0.1:$reg_port, with its own store
  [ -z "$reg_pid" ] || { kill "$reg_pid"; wait "$reg_pid" 2>/dev/null || true; reg_pid=""; }
  rm -rf "$work/registry" "$work/regroot"
  reg_port=$(free_port)
  STRATA_ROOT=$work/regroot "$strata_bin" registry serve -q --addr "127.0.0.1:$reg_port" \
    --storage "$work/registry" >"$work/registry.log" 2>&1 &
  reg_pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$reg_port/v2/" && return 0; sleep 0.05; done
  echo "scaling: registry serve did not answer" >&2; exit 1
}
push_fresh() { # untimed: empty registry, image tagged for it
  fresh_registry
  S tag "layers$n" "127.0.0.1:$reg_port/layers$n:1"
}
pull_fresh() { rm -rf "$work/pullstore"; }
load_fresh() { rm -rf "$work/loadstore"; }
rm_save() { rm -f "$work/layers.tar"; }
for n in $(upto 1 10 100); do
  ctx=$work/layers$n
  mkdir -p "$ctx"
  { echo "FROM base"; for i in $(seq 1 "$n"); do echo "RUN echo $i > /f$i"; done; } >"$ctx/Dockerfile"
  point "build --no-cache, RUN steps" layers "$n" --before fresh_store -- \
    S build --no-cache -q --network none -t "layers$n" "$ctx"
  point "run --rm --network none" layers "$n" --warm -- S run --rm --network none "layers$n" true
  point "save" layers "$n" --before rm_save -- S save -o "$work/layers.tar" "layers$n"
  point "load (fresh store)" layers "$n" --before load_fresh -- \
    env STRATA_ROOT="$work/loadstore" "$strata_bin" load -q -i "$work/layers.tar"
  # push to an empty registry each time; then pull that image into an empty store
  pushed=()
  for _ in 1 2 3; do
    push_fresh
    time_ns S push -q "127.0.0.1:$reg_port/layers$n:1"; pushed+=("$last_ns")
  done
  printf '%s\t%s\t%s\t%s\n' "push (empty registry)" layers "$n" "${pushed[*]}" >>"$work/results.tsv"
  point "pull (fresh store)" layers "$n" --before pull_fresh -- \
    env STRATA_ROOT="$work/pullstore" "$strata_bin" pull -q "127.0.0.1:$reg_port/layers$n:1"
  rm -rf "$ctx" "$work/layers.tar" "$work/loadstore" "$work/pullstore"
done
[ -z "$reg_pid" ] || { kill "$reg_pid"; wait "$reg_pid" 2>/dev/null || true; reg_pid=""; }
fi

python3 - "$work/results.tsv" <<'PY'
import statistics, sys
per = {"files": (1000, "1k files"), "images": (1000, "1k images"), "containers": (1000, "1k containers"),
       "layers": (1, "layer")}
print("median of 3 runs; times in ms; marginal = (ms - previous ms) / (value - previous value)")
print(f"{'series':36} {'value':>7} {'ms':>10} {'ms per unit':>12} {'marginal':>10}  unit")
rows = {}
for line in open(sys.argv[1]):
    series, unit, value, runs = line.rstrip("\n").split("\t")
    rows.setdefault((series, unit), []).append((int(value), statistics.median(int(x) / 1e6 for x in runs.split())))
for (series, unit), points in rows.items():
    scale, name = per[unit]
    prev = None
    for value, ms in points:
        marginal = "" if prev is None else f"{(ms - prev[1]) / ((value - prev[0]) / scale):.2f}"
        print(f"{series:36} {value:>7} {ms:>10.1f} {ms / (value / scale):>12.2f} {marginal:>10}  {name}")
        prev = (value, ms)
PY
