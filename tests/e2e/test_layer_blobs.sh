#!/usr/bin/env bash
# A layer made by a RUN or COPY step is written once: its tree. The blob store holds no
# uncompressed tar for it; the tar (blob sha256:<diff_id>) is made from the tree when save, push
# or system check reads it, and checked against the diff_id: a tree changed on disk makes save and
# push fail with one line naming the layer, and the full system check report it.
source "$(dirname "$0")/lib.sh"
need_root
need_cmd curl
bb_image bb

ctx="$E2E_TMP/ctx"; mkdir -p "$ctx/data/sub"
head -c 3000000 /dev/urandom >"$ctx/data/big"
echo hello >"$ctx/data/sub/hello.txt"
cat >"$ctx/Dockerfile" <<'EOF'
FROM bb
COPY data /data
RUN echo built > /msg && mkdir /made && echo x > /made/x && rm /data/sub/hello.txt
CMD ["cat", "/msg"]
EOF
ok strata build -q --network none -t lazy:1 "$ctx"
id=$out
mapfile -t layers < <(inspect_field lazy:1 '{{range .RootFS.Layers}}{{println .}}{{end}}' | sed '/^$/d')
assert_eq 3 "${#layers[@]}" "layers of lazy:1"
built=("${layers[1]#sha256:}" "${layers[2]#sha256:}")

# no_tar_blobs WHY: the built layers have trees and no tar in the blob store
no_tar_blobs() {
  local hex
  for hex in "${built[@]}"; do
    assert_no_file "$STRATA_ROOT/blobs/sha256/$hex" "$1: uncompressed tar of layer $hex"
    assert_file "$STRATA_ROOT/layers/$hex/diff" "$1: tree of layer $hex"
  done
}

note "the built layers are kept as trees only"
no_tar_blobs "after the build"
ok strata system check
assert_contains "$out" "The store is consistent"
ok strata system check --quick
assert_contains "$out" "The store is consistent"

note "save makes the tars, byte for byte what the diff_ids name"
ok strata save -o "$E2E_TMP/lazy.tar" lazy:1
mkdir "$E2E_TMP/x" && tar -C "$E2E_TMP/x" -xf "$E2E_TMP/lazy.tar"
for d in "${layers[@]}"; do
  assert_eq "$d" "$(sha256_of "$E2E_TMP/x/${d#sha256:}/layer.tar")" "layer.tar of $d"
done
ok strata save --format oci-archive -o "$E2E_TMP/lazy-oci.tar" lazy:1
mkdir "$E2E_TMP/o" && tar -C "$E2E_TMP/o" -xf "$E2E_TMP/lazy-oci.tar"
for hex in "${built[@]}"; do
  assert_eq "sha256:$hex" "$(sha256_of "$E2E_TMP/o/blobs/sha256/$hex")" "OCI blob $hex"
done
# loading it back finds the blobs present: nothing is stored twice
ok strata load -i "$E2E_TMP/lazy.tar"
assert_eq "Loaded image: lazy:1" "$out"
no_tar_blobs "after load"

note "push compresses from the tree; a pull into a new store gives the same image"
strata_registry reg
reg="127.0.0.1:$registry_port"
ok strata tag lazy:1 "$reg/lazy:1"
ok strata push "$reg/lazy:1"
assert_eq 3 "$(grep -c ': Pushed$' <<<"$out")" "three layers uploaded: $out"
ok env STRATA_ROOT="$E2E_TMP/fresh" "$STRATA_BIN" pull -q "$reg/lazy:1"
assert_eq "$id" "$(STRATA_ROOT="$E2E_TMP/fresh" "$STRATA_BIN" image inspect --format '{{.Id}}' "$reg/lazy:1")" \
  "image ID after push and pull"
no_tar_blobs "after push"

if [ -x "$DOCKER" ] && { "$DOCKER" info >/dev/null 2>&1 || command -v dockerd >/dev/null; }; then
  note "docker loads and runs what save made"
  start_docker
  name=$(docker_name lazy):1
  ok strata tag lazy:1 "$name"
  ok strata save -o "$E2E_TMP/for-docker.tar" "$name"
  ok docker load -i "$E2E_TMP/for-docker.tar"
  assert_eq "$id" "$(docker image inspect -f '{{.Id}}' "$name")" "docker sees strata's ID"
  assert_eq "built" "$(docker run --rm --network none "$name")" "docker run"
  assert_eq "$(sha256sum <"$ctx/data/big")" "$(docker run --rm --network none "$name" cat /data/big | sha256sum)" \
    "a copied file through docker"
  assert_eq "x" "$(docker run --rm --network none "$name" cat /made/x)"
  run docker run --rm --network none "$name" ls /data/sub/hello.txt
  assert_ne 0 "$status" "the file the RUN step removed"
else
  note "no docker here: docker load not tried"
fi

note "a tree changed on disk: save, push and system check refuse it, naming the layer"
top=${built[1]}
echo tampered >>"$STRATA_ROOT/layers/$top/diff/msg"
expect_error --names "layer sha256:$top changed on disk" strata save -o "$E2E_TMP/bad.tar" lazy:1
assert_no_file "$E2E_TMP/bad.tar"
assert_no_file "$E2E_TMP/bad.tar.strata-tmp"
run strata system check
assert_eq 1 "$status" "system check of a changed tree: $out"
assert_contains "$out" "layer sha256:$top changed on disk: its tar no longer matches its diff_id"
ok strata system check --quick  # does not make the tars
# an image not pushed yet: nothing reaches the registry
printf 'FROM bb\nRUN echo second > /second\n' >"$ctx/Dockerfile"
ok strata build -q --network none -t "$reg/second:1" "$ctx"
second=$(inspect_field "$reg/second:1" '{{range .RootFS.Layers}}{{println .}}{{end}}' | sed '/^$/d' | tail -n 1)
second=${second#sha256:}
echo tampered >>"$STRATA_ROOT/layers/$second/diff/second"
# (not expect_error: the base layer may reach the registry meanwhile, and the store notes where)
run strata push "$reg/second:1"
assert_eq 125 "$status" "push of a changed tree: $out $err"
assert_lines 1 "$err"
assert_contains "$err" "layer sha256:$second changed on disk: its tar no longer matches its diff_id"
assert_no_file "$STRATA_ROOT/layers/$second/gzip" "a compressed blob of the changed layer"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://$reg/v2/second/manifests/1")" \
  "manifest after the failed push"
