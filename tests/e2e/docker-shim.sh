#!/usr/bin/env bash
# A stand-in "strata" made of real Docker, for checking the e2e tests themselves:
#
#   STRATA_BIN=tests/e2e/docker-shim.sh tests/e2e/run.sh [FILTER]
#
# Each store root ($STRATA_ROOT or --root) gets its own dockerd (data-root <root>/docker, socket
# under /run/strata-shim), started on first use; its pid is written to <root>.shim-pid and its
# run-time paths to <root>.shim-run, which lib.sh's cleanup stops and removes. Errors exit 125 instead of docker's 1. `save --format oci-archive` and
# loading an OCI archive convert from/to docker-archive in python (docker 20.10 knows only
# docker-archive), keeping config blobs unchanged.
# Expected differences from strata: the store snapshot also sees dockerd's own database writes,
# and docker's store layout is not strata's.
set -uo pipefail
DOCKER=${DOCKER:-/usr/bin/docker}

root=${STRATA_ROOT:-/var/lib/strata-shim}
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=$2; shift 2 ;;
    --root=*) root=${1#--root=}; shift ;;
    --version) echo "strata version 0.0.0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]}"

mkdir -p "$root"
root=$(cd "$root" && pwd)
h=$(echo -n "$root" | md5sum | cut -c1-12)
run=/run/strata-shim
mkdir -p "$run"
sock="$run/$h.sock"
export DOCKER_HOST="unix://$sock"
if ! "$DOCKER" info >/dev/null 2>&1; then
  (
    exec 9>"$run/$h.lock"; flock 9
    if ! "$DOCKER" info >/dev/null 2>&1; then
      setsid dockerd --iptables=false --bridge=none --data-root "$root/docker" --exec-root "$run/$h" \
        --pidfile "$run/$h.pid" -H "$DOCKER_HOST" >"$root.shim-log" 2>&1 </dev/null &
      echo $! >"$root.shim-pid"
      printf '%s\n' "$run/$h" "$run/$h.lock" "$run/$h.pid" "$sock" >"$root.shim-run"
      for _ in $(seq 1 300); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 0.1; done
    fi
  )
fi

fail() { echo "Error: $*" >&2; exit 125; }
# run docker; on failure print its error (one line) and exit 125. docker's "invalid reference
# format" does not say which reference; strata's errors must, so the shim adds the arguments.
d() {
  local errf rc
  errf=$(mktemp)
  "$DOCKER" "$@" 2>"$errf"; rc=$?
  if [ $rc != 0 ]; then
    if grep -q -e 'invalid reference format' -e 'repository name must' "$errf"; then
      echo "$(head -n 1 "$errf") (in: ${*: -2})" >&2
    else
      cat "$errf" >&2
    fi
    rm -f "$errf"; exit 125
  fi
  cat "$errf" >&2; rm -f "$errf"
}

# rewrite `image X` to the top-level command
if [ "${1:-}" = image ]; then
  shift
  case ${1:-} in
    ls|list) shift; set -- images "$@" ;;
    rm) shift; set -- rmi "$@" ;;
    inspect) shift; set -- inspect --type image "$@" ;;
    *) set -- image "$@" ;;
  esac
fi
[ "${1:-}" = inspect ] && [ "${2:-}" != --type ] && { shift; set -- inspect --type image "$@"; }

case ${1:-} in
  save)
    shift
    fmt=docker-archive out="" refs=()
    while [ $# -gt 0 ]; do
      case $1 in
        -o|--output) out=$2; shift 2 ;;
        --format) fmt=$2; shift 2 ;;
        --format=*) fmt=${1#--format=}; shift ;;
        *) refs+=("$1"); shift ;;
      esac
    done
    case $fmt in docker-archive|oci-archive) ;; *) fail "unknown format: $fmt" ;; esac
    if [ "$fmt" = docker-archive ]; then
      if [ -n "$out" ]; then d save -o "$out" "${refs[@]}"; else d save "${refs[@]}"; fi
      exit 0
    fi
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    d save -o "$tmp/d.tar" "${refs[@]}"
    # docker-archive -> OCI layout tar, keeping the config blob (so the ID) as it is
    python3 - "$tmp/d.tar" "$tmp/o.tar" <<'PY' || exit 125
import hashlib, io, json, sys, tarfile
src, out = sys.argv[1:]
t = tarfile.open(src)
blobs = {}
def blob(data):
    d = hashlib.sha256(data).hexdigest(); blobs[d] = data; return "sha256:" + d, len(data)
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
for e in json.load(t.extractfile("manifest.json")):
    cd, cs = blob(t.extractfile(e["Config"]).read())
    layers = []
    for l in e["Layers"]:
        ld, ls = blob(t.extractfile(l).read())
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls})
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
         "layers": layers}
    md, ms = blob(json.dumps(m).encode())
    for tag in e.get("RepoTags") or [None]:
        desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms}
        if tag:
            desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
        index["manifests"].append(desc)
with tarfile.open(out, "w") as o:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); o.addfile(ti, io.BytesIO(data))
    add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add("index.json", json.dumps(index).encode())
    for d, data in blobs.items():
        add("blobs/sha256/" + d, data)
PY
    if [ -n "$out" ]; then cp "$tmp/o.tar" "$out"; else cat "$tmp/o.tar"; fi
    ;;
  load)
    shift
    in="" q=()
    while [ $# -gt 0 ]; do
      case $1 in -i|--input) in=$2; shift 2 ;; -q|--quiet) q=(-q); shift ;; *) shift ;; esac
    done
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    if [ -z "$in" ]; then cat >"$tmp/in.tar"; in="$tmp/in.tar"; fi
    [ -e "$in" ] || fail "open $in: no such file or directory"
    if tar -tf "$in" 2>/dev/null | grep -qx 'index.json' && ! tar -tf "$in" | grep -qx 'manifest.json'; then
      # OCI layout tar -> docker-archive, keeping the config blob (so the ID) as it is
      python3 - "$in" "$tmp/d.tar" <<'PY' || exit 125
import gzip, hashlib, io, json, sys, tarfile
src, out = sys.argv[1:]
t = tarfile.open(src)
def blob(desc):
    return t.extractfile("blobs/" + desc["digest"].replace(":", "/")).read()
entries, files = [], {}
for desc in json.load(t.extractfile("index.json"))["manifests"]:
    m = json.loads(blob(desc))
    cfg = blob(m["config"]); cname = hashlib.sha256(cfg).hexdigest() + ".json"; files[cname] = cfg
    layers = []
    for l in m["layers"]:
        data = blob(l)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        name = hashlib.sha256(data).hexdigest() + "/layer.tar"; files[name] = data; layers.append(name)
    ref = (desc.get("annotations") or {}).get("org.opencontainers.image.ref.name")
    entries.append({"Config": cname, "RepoTags": [ref] if ref else None, "Layers": layers})
with tarfile.open(out, "w") as o:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); o.addfile(ti, io.BytesIO(data))
    for n, d in files.items():
        add(n, d)
    add("manifest.json", json.dumps(entries).encode())
PY
      in="$tmp/d.tar"
    fi
    d load "${q[@]}" -i "$in"
    ;;
  *)
    d "$@"
    ;;
esac
