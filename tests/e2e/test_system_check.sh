#!/usr/bin/env bash
# strata system check, system prune, container prune.
#
# `system check` is strata's fsck: it changes nothing, exits 0 when every image record is usable
# (manifest and config present and matching their digests, every layer blob present, every
# diff_id unpacked), every blob hashes to its name and every container names an image the store
# has, and 1 with a "Problems:" list otherwise. What an interrupted operation leaves behind
# (tmp/ entries, unreferenced blobs and layers, a container directory without a record) is a
# leftover, listed but not a problem; `system prune` removes it.
#
# Checked against docker 20.10 for the prune commands (docker has no `system check`):
#  - `docker system prune` asks "WARNING! This will remove:\n  - all stopped containers\n  - all
#    networks not used by at least one container\n  - all dangling images\n  - all dangling build
#    cache\n\nAre you sure you want to continue? [y/N] "; with -a the images line is "all images
#    without at least one container associated to them" and the cache line "all build cache";
#    "n" removes nothing;
#  - -f removes stopped containers ("Deleted Containers:" then their full IDs), keeps running
#    ones and their images, removes dangling images ("Deleted Images:", lower-case "deleted:"
#    lines) and ends with "Total reclaimed space: <size>";
#  - `docker container prune` asks "WARNING! This will remove all stopped containers." and then
#    the same question; -f prints "Deleted Containers:" and "Total reclaimed space:".
source "$(dirname "$0")/lib.sh"
containers_setup

note "setup: imported, loaded and built images; a stopped and a running container"
bb_image bb
two_layer_archive "$E2E_TMP/two.tar" two:1
ok strata load -i "$E2E_TMP/two.tar"
mkdir -p "$E2E_TMP/ctx"
echo data >"$E2E_TMP/ctx/f"
printf 'FROM bb\nRUN echo a > /a\nCOPY f /f\n' >"$E2E_TMP/ctx/Dockerfile"
ok strata build -q -t app:1 "$E2E_TMP/ctx"
app=$out
ok strata run --name stopped --network none bb sh -c 'echo x > /x'
ok strata run -d --name running --network none app:1 sleep 300
running_id=$out

check_ok() { # MSG
  run strata system check
  [ "$status" = 0 ] || fail "$1: system check found problems ($status):
$out
$err"
}

note "a store after normal use is consistent, with nothing left over, and check changes nothing"
before=$(store_snapshot)
check_ok "after normal use"
assert_contains "$out" "Checked 3 images, "
assert_contains "$out" "2 containers"
assert_contains "$out" "The store is consistent"
assert_not_contains "$out" "Leftovers"
assert_eq "$before" "$(store_snapshot)" "system check changed the store"

# expect_problem WHAT... : system check exits 1 naming every WHAT, and changes nothing
expect_problem() {
  local before; before=$(store_snapshot)
  run strata system check
  [ "$status" = 1 ] || fail "expected status 1 from system check, got $status:
$out
$err"
  assert_contains "$out" "Problems:"
  local w; for w in "$@"; do assert_contains "$out" "$w"; done
  assert_eq "$before" "$(store_snapshot)" "system check changed the store"
}

blobs=$STRATA_ROOT/blobs/sha256
manifest_layer() { # IMAGE_ID N: the digest hex of the N-th layer its manifest lists
  python3 - "$STRATA_ROOT" "$1" "$2" <<'EOF'
import json, sys
root, image, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(root + "/images/" + image.split(":")[1] + ".json"))
m = json.load(open(root + "/blobs/sha256/" + r["manifest"].split(":")[1]))
print(m["layers"][n]["digest"].split(":")[1])
EOF
}

note "a blob whose content no longer matches its digest"
layer_blob=$(manifest_layer "$(strata image inspect --format '{{.Id}}' two:1)" 1)
[ -n "$layer_blob" ] || fail "no layer blob found for two:1"
cp "$blobs/$layer_blob" "$E2E_TMP/blob.save"
echo corrupt >>"$blobs/$layer_blob"
expect_problem "blob sha256:$layer_blob: its content hashes to sha256:"
note "--quick does not hash blobs"
ok strata system check --quick
assert_contains "$out" "The store is consistent"
cp "$E2E_TMP/blob.save" "$blobs/$layer_blob"

note "a missing layer blob"
mv "$blobs/$layer_blob" "$E2E_TMP/blob.moved"
expect_problem "layer blob sha256:$layer_blob is missing"
mv "$E2E_TMP/blob.moved" "$blobs/$layer_blob"

note "a corrupt image config"
cfg=$(strata image inspect --format '{{.Id}}' two:1 | cut -d: -f2)
cp "$blobs/$cfg" "$E2E_TMP/cfg.save"
printf 'x' >>"$blobs/$cfg"
expect_problem "image sha256:$cfg: config:"
cp "$E2E_TMP/cfg.save" "$blobs/$cfg"

note "a layer whose unpacked tree is gone"
diffid=$(strata image inspect --format '{{index .RootFS.Layers 1}}' two:1 | cut -d: -f2)
mv "$STRATA_ROOT/layers/$diffid/diff" "$E2E_TMP/diff.moved"
expect_problem "layer sha256:$diffid has no unpacked tree"
mv "$E2E_TMP/diff.moved" "$STRATA_ROOT/layers/$diffid/diff"
mv "$STRATA_ROOT/layers/$diffid/meta.json" "$E2E_TMP/meta.moved"
expect_problem "layer sha256:$diffid is not in the store"
mv "$E2E_TMP/meta.moved" "$STRATA_ROOT/layers/$diffid/meta.json"

note "a container whose image is not in the store"
rec=$STRATA_ROOT/containers/$running_id/container.json
cp "$rec" "$E2E_TMP/rec.save"
python3 - "$rec" <<'EOF'
import json, sys
p = sys.argv[1]; j = json.load(open(p)); j["Image"] = "sha256:" + "ab" * 32
json.dump(j, open(p, "w"))
EOF
expect_problem "container $running_id: its image sha256:$(printf 'ab%.0s' $(seq 32)) is not in the store"
cp "$E2E_TMP/rec.save" "$rec"

note "an unreadable image record"
two_rec=$STRATA_ROOT/images/$(strata image inspect --format '{{.Id}}' two:1 | cut -d: -f2).json
cp "$two_rec" "$E2E_TMP/images.save"
echo '{garbage' >"$two_rec"
expect_problem "image records: image record \`$two_rec\` is corrupt"
cp "$E2E_TMP/images.save" "$two_rec"
check_ok "after restoring every fault"

note "leftovers are listed, are not problems, and system prune removes them"
mkdir -p "$STRATA_ROOT/tmp/layer-killed/diff"
orphan_ctr=$(printf 'cd%.0s' $(seq 32))
mkdir -p "$STRATA_ROOT/containers/$orphan_ctr/upper"
printf 'orphan blob' >"$E2E_TMP/orphan"
orphan=$(sha256sum "$E2E_TMP/orphan" | cut -c1-64)
cp "$E2E_TMP/orphan" "$blobs/$orphan"
printf '{' >"$STRATA_ROOT/images/.tmp-killed.json-1"       # a record write killed before its rename
ln -s "${app#sha256:}" "$STRATA_ROOT/refs/docker.io+library+untagged:x"  # an untag killed half way
check_ok "with leftovers"
assert_contains "$out" "images/.tmp-killed.json-1"
assert_contains "$out" "refs/docker.io+library+untagged:x"
assert_contains "$out" "Leftovers of interrupted operations"
assert_contains "$out" "tmp/layer-killed"
assert_contains "$out" "containers/$orphan_ctr"
assert_contains "$out" "blobs/sha256/$orphan"
assert_contains "$out" "The store is consistent"
run strata image inspect untagged:x
assert_eq 125 "$status" "a name no record lists resolved"

note "system prune: asked, and n removes nothing"
printf 'n\n' >"$E2E_TMP/no"
before=$(store_snapshot)
run_in "$E2E_TMP/no" strata system prune
assert_eq 0 "$status" "system prune answered n: $err"
assert_contains "$out" "WARNING! This will remove:
  - all stopped containers
  - all networks not used by at least one container
  - all dangling images
  - all dangling build cache

Are you sure you want to continue? [y/N]"
assert_eq "$before" "$(store_snapshot)" "system prune answered n changed the store"
run_in "$E2E_TMP/no" strata system prune -a
assert_contains "$out" "  - all images without at least one container associated to them
  - all build cache"

note "system prune -f: stopped containers, dangling images, build cache and leftovers go"
stopped_id=$(strata inspect --format '{{.Id}}' stopped)
ok strata tag bb:latest two:1 # the loaded image becomes dangling
two_id=$(strata images -q --no-trunc --filter dangling=true)
[ -n "$two_id" ] || fail "no dangling image after retagging"
ok strata system prune -f
assert_contains "$out" "Deleted Containers:
$stopped_id"
assert_not_contains "$out" "$running_id"
assert_contains "$out" "Deleted Images:
deleted: $two_id"
assert_contains "$out" "Total reclaimed space:"
run strata inspect stopped
assert_eq 125 "$status" "the stopped container survived system prune"
ok strata inspect running
ok strata image inspect app:1
assert_eq "" "$(ls "$STRATA_ROOT/tmp")" "tmp/ not emptied"
assert_no_file "$STRATA_ROOT/containers/$orphan_ctr" "the recordless container directory survived"
assert_no_file "$blobs/$orphan" "the orphan blob survived"
assert_no_file "$STRATA_ROOT/images/.tmp-killed.json-1" "a temp record survived"
assert_no_file "$STRATA_ROOT/refs/docker.io+library+untagged:x" "a stale name survived"
assert_eq "" "$(ls "$STRATA_ROOT/builder/cache" 2>/dev/null)" "build cache records survived"
check_ok "after system prune"
assert_not_contains "$out" "Leftovers"

note "system prune -a keeps the running container's image, removes the other tagged ones"
ok strata system prune -a -f
ok strata image inspect app:1
run strata image inspect bb
assert_eq 125 "$status" "bb (used by no container) survived system prune -a"
check_ok "after system prune -a"

note "container prune removes stopped containers only (120 unnamed ones, whose generated names never clash, among them)"
ok strata create --name c2 --network none app:1 true
c2=$out
for i in $(seq 1 120); do strata create --network none app:1 true >/dev/null || fail "unnamed create $i failed"; done
assert_eq "" "$(strata ps -a --format '{{.Names}}' | sort | uniq -d)" "two containers got the same generated name"
printf 'n\n' >"$E2E_TMP/no"
run_in "$E2E_TMP/no" strata container prune
assert_contains "$out" "WARNING! This will remove all stopped containers.
Are you sure you want to continue? [y/N]"
ok strata inspect c2
ok strata container prune -f
assert_contains "$out" "Deleted Containers:"
assert_contains "$out" "$c2"
assert_eq 121 "$(grep -cE '^[0-9a-f]{64}$' <<<"$out")" "container prune: the removed IDs"
assert_contains "$out" "Total reclaimed space:"
ok strata inspect running
run strata inspect c2
assert_eq 125 "$status" "c2 survived container prune"

note "bad input"
expect_error --names "system check" strata system check extra
expect_error --names "--nope" strata system check --nope
expect_error --names "--filter" strata system prune -f --filter until=1h
expect_error --names "--filter" strata container prune -f --filter until=1h
ok strata rm -f running
check_ok "at the end"
