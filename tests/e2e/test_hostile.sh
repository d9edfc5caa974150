#!/usr/bin/env bash
# Hostile archives: layer tars (through `import` and through `load`) whose entries try to write
# outside the layer: `../` paths, absolute paths, a symlink to a directory outside followed by a
# write through it, a symlink to a file outside overwritten by a regular entry, hardlinks to a
# file outside (absolute, relative, via a symlink); and docker-archives whose own members or
# manifest paths point outside the archive. And a gzip bomb against the size limit.
#
# Each command must either fail (status 125, one line on stderr naming the entry, store unchanged)
# or succeed with the entry confined inside the layer. Either way nothing may appear at the
# sentinel paths /tmp/strata-escape-<token>-*-evil, the hardlink target
# /tmp/strata-escape-<token>-hl must keep its content and link count 1, and nothing named after a
# sentinel may appear anywhere under the test's temp dir outside the layer it belongs to.
#
# Docker 20.10 for comparison (`docker import`): `../../x` and `/tmp/x` entries are confined
# (extracted as tmp/x inside the layer); a write through a symlink to /tmp fails ("open
# /link-evil/...: no such file or directory"); a hardlink to /tmp/... fails ("link /tmp/... 
# /hard-evil: no such file or directory").
source "$(dirname "$0")/lib.sh"

T=$E2E_TOKEN
S=/tmp/strata-escape-$T
UP=$(printf '../%.0s' $(seq 1 16)) # deeper than any store layout
hl="$S-hl"
printf 'original\n' >"$hl"

busybox_rootfs_tar "$E2E_TMP/busybox.tar"
strata import "$E2E_TMP/busybox.tar" base:1 >/dev/null # an initialised store

declare -A SPEC
SPEC[dotdot]='[{"name":"ok-'$T'-dotdot"},{"name":"'$UP'tmp/strata-escape-'$T'-dotdot-evil","data":"pwned\n"}]'
SPEC[oneup]='[{"name":"ok-'$T'-oneup"},{"name":"../strata-escape-'$T'-oneup-evil","data":"pwned\n"},{"name":"../../strata-escape-'$T'-oneup2-evil","data":"pwned\n"}]'
SPEC[abs]='[{"name":"ok-'$T'-abs"},{"name":"'$S'-abs-evil","data":"pwned\n"}]'
SPEC[symdir]='[{"name":"ok-'$T'-symdir"},{"name":"link-evil","type":"sym","link":"/tmp"},{"name":"link-evil/strata-escape-'$T'-symdir-evil","data":"pwned\n"}]'
SPEC[relsym]='[{"name":"ok-'$T'-relsym"},{"name":"rlink-evil","type":"sym","link":"'$UP'tmp"},{"name":"rlink-evil/strata-escape-'$T'-relsym-evil","data":"pwned\n"}]'
SPEC[nested]='[{"name":"ok-'$T'-nested"},{"name":"d-evil","type":"dir"},{"name":"d-evil/up","type":"sym","link":"'$UP'"},{"name":"d-evil/up/tmp/strata-escape-'$T'-nested-evil","data":"pwned\n"}]'
SPEC[symfile]='[{"name":"ok-'$T'-symfile"},{"name":"flink-evil","type":"sym","link":"'$S'-symfile-evil"},{"name":"flink-evil","data":"pwned\n"}]'
SPEC[hardabs]='[{"name":"ok-'$T'-hardabs"},{"name":"hard-evil","type":"hard","link":"'$hl'"},{"name":"hard-evil","data":"pwned\n"}]'
SPEC[hardrel]='[{"name":"ok-'$T'-hardrel"},{"name":"rhard-evil","type":"hard","link":"'$UP'tmp/strata-escape-'$T'-hl"},{"name":"rhard-evil","data":"pwned\n"}]'
SPEC[hardsym]='[{"name":"ok-'$T'-hardsym"},{"name":"s-evil","type":"sym","link":"'$hl'"},{"name":"h-evil","type":"hard","link":"s-evil"},{"name":"h-evil","data":"pwned\n"}]'

# nothing escaped: sentinels absent, the hardlink target untouched, nothing named after a
# KIND's sentinels under $E2E_TMP except inside the layer of KIND (below the directory holding
# its ok-<token>-KIND marker)
check_no_escape() { # KIND WHAT
  local kind=$1 what=$2 f
  for f in "$S"-*-evil; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    fail "$what: $f was written outside the store"
  done
  assert_eq "original" "$(cat "$hl")" "$what: the hardlink target outside was modified"
  assert_eq 1 "$(stat -c %h "$hl")" "$what: the file outside was hard-linked into the store"
  local marker_dirs
  marker_dirs=$(find "$E2E_TMP" -name "ok-$T-$kind" -printf '%h\n' 2>/dev/null | sort -u)
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    local d=$f confined=0 m
    while [ "$d" != "$E2E_TMP" ] && [ "$d" != / ]; do
      d=$(dirname "$d")
      while IFS= read -r m; do [ -n "$m" ] && [ "$m" = "$d" ] && confined=1; done <<<"$marker_dirs"
    done
    [ "$confined" = 1 ] || fail "$what: $f lies outside the layer (layer dirs: ${marker_dirs:-none found})"
  done < <(find "$E2E_TMP" \( -name "strata-escape-$T-$kind-evil" -o -name "strata-escape-$T-${kind}2-evil" \) \
    -not -path "$E2E_TMP/in/*" 2>/dev/null)
}

# the outcome of a hostile command (already run with `run`): clean failure or confined success
check_outcome() { # KIND WHAT REF BEFORE_SNAPSHOT
  local kind=$1 what=$2 ref=$3 before=$4
  if [ "$status" = 0 ]; then
    echo "$what: accepted (entries confined)"
    ok strata image inspect "$ref"
  else
    echo "$what: refused: $err"
    assert_eq 125 "$status" "$what: status"
    [ "$(nlines "$err")" = 1 ] || fail "$what: expected one line on stderr, got:
$err"
    assert_match "${err,,}" "evil|strata-escape" "$what: the error names the entry"
    [ "$before" = "$(store_snapshot)" ] || fail "$what: a refused archive changed the store:
$({ diff <(echo "$before") <(store_snapshot) || true; } | sed -n 1,20p)"
    assert_status 125 strata image inspect "$ref"
  fi
  check_no_escape "$kind" "$what"
}

mkdir -p "$E2E_TMP/in"
for kind in "${!SPEC[@]}"; do
  layer="$E2E_TMP/in/$kind.tar"
  helper layer "$layer" "${SPEC[$kind]}"

  note "$kind via import"
  before=$(store_snapshot)
  run strata import "$layer" "hostile-import-$kind:1"
  check_outcome "$kind" "import $kind" "hostile-import-$kind:1" "$before"

  note "$kind via load"
  helper docker-archive "$E2E_TMP/in/$kind-archive.tar" --tag "hostile-load-$kind:1" "$layer" >/dev/null
  before=$(store_snapshot)
  run strata load -i "$E2E_TMP/in/$kind-archive.tar"
  check_outcome "$kind" "load $kind" "hostile-load-$kind:1" "$before"
done

note "a docker-archive member outside the archive"
python3 - "$E2E_TMP/in/outer.tar" "$E2E_TMP/in/symfile-archive.tar" "${UP}tmp/strata-escape-$T-outer-evil" "/tmp/strata-escape-$T-outer2-evil" <<'EOF'
import io, sys, tarfile
out, src, *names = sys.argv[1:]
with tarfile.open(src) as s, tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as o:
    for name in names:
        ti = tarfile.TarInfo(name); data = b"pwned\n"; ti.size = len(data)
        o.addfile(ti, io.BytesIO(data))
    for m in s.getmembers():
        o.addfile(m, s.extractfile(m) if m.isfile() else None)
EOF
before=$(store_snapshot)
run strata load -i "$E2E_TMP/in/outer.tar"
if [ "$status" != 0 ]; then
  assert_eq 125 "$status" "outer: status"
  [ "$before" = "$(store_snapshot)" ] || fail "outer: a refused archive changed the store"
fi
check_no_escape outer "archive member outside"

note "manifest.json paths outside the archive are never read"
# a valid layer and config on the host; an archive whose manifest points at them
mkdir -p "$S-src"
helper layer "$S-src/layer.tar" '[{"name":"from-host-'$T'","data":"read from the host\n"}]'
host_diff=$(sha256_of "$S-src/layer.tar")
python3 - "$E2E_TMP/in" "$S-src" "$host_diff" "$UP" <<'EOF'
import hashlib, io, json, sys, tarfile
d, src, diff, up = sys.argv[1:]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                  "rootfs": {"type": "layers", "diff_ids": [diff]},
                  "history": [{"created_by": "host"}]}).encode()
open(src + "/config.json", "wb").write(cfg)
cid = hashlib.sha256(cfg).hexdigest()
def archive(name, manifest, members):
    with tarfile.open(d + "/" + name, "w") as t:
        for n, data in members + [("manifest.json", json.dumps(manifest).encode())]:
            ti = tarfile.TarInfo(n); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
# layer path escaping with ../ (config inside the archive)
archive("mlayer-rel.tar", [{"Config": cid + ".json", "RepoTags": ["mlayer-rel:1"],
        "Layers": [up + src.lstrip("/") + "/layer.tar"]}], [(cid + ".json", cfg)])
# absolute layer path
archive("mlayer-abs.tar", [{"Config": cid + ".json", "RepoTags": ["mlayer-abs:1"],
        "Layers": [src + "/layer.tar"]}], [(cid + ".json", cfg)])
# config path escaping (layer inside the archive)
layer = open(src + "/layer.tar", "rb").read()
archive("mconfig.tar", [{"Config": up + src.lstrip("/") + "/config.json", "RepoTags": ["mconfig:1"],
        "Layers": ["l/layer.tar"]}], [("l/layer.tar", layer)])
EOF
for a in mlayer-rel mlayer-abs mconfig; do
  expect_error strata load -i "$E2E_TMP/in/$a.tar"
  assert_status 125 strata image inspect "$a:1"
  [ -z "$(find "$STRATA_ROOT" -name "from-host-$T")" ] || fail "$a: a host file was read into the store"
done
check_no_escape manifest "manifest paths"

note "a gzip bomb stops at the size limit (STRATA_MAX_LAYER_SIZE), as import and as load"
mkdir -p "$E2E_TMP/bomb"
head -c 60000000 /dev/zero >"$E2E_TMP/bomb/zeros"
tar -C "$E2E_TMP/bomb" -cf - zeros | gzip -1 >"$E2E_TMP/bomb.tar.gz"
[ "$(stat -c %s "$E2E_TMP/bomb.tar.gz")" -lt 1000000 ] || fail "the bomb did not compress"
STRATA_MAX_LAYER_SIZE=10m expect_error --names "size limit of 10485760" strata import "$E2E_TMP/bomb.tar.gz" bomb:1
STRATA_MAX_LAYER_SIZE=nonsense expect_error --names "STRATA_MAX_LAYER_SIZE" strata images
ok strata import "$E2E_TMP/bomb.tar.gz" bomb:1 # the default limit (1 TiB) lets it through
ok strata save -o "$E2E_TMP/bomb-archive.tar" bomb:1
ok strata rmi bomb:1
STRATA_MAX_LAYER_SIZE=10m expect_error --names "size limit" strata load -i "$E2E_TMP/bomb-archive.tar"

note "the store still works"
ok strata image inspect base:1
