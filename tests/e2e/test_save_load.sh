#!/usr/bin/env bash
# strata save [-o FILE] [--format docker-archive|oci-archive] REF... / strata load [-i FILE] [-q]
#
# Checked against docker 20.10 (`docker save` / `docker load`):
#  - docker-archive: manifest.json `[{"Config":"<id hex>.json","RepoTags":["busybox:latest"],
#    "Layers":["<dir>/layer.tar"]}]` (+ `repositories`, `<dir>/VERSION`, `<dir>/json`); the config
#    file is named by its digest (= the image ID); layer.tar is the uncompressed layer, its sha256
#    the diff_id; saving by ID writes "RepoTags":null and loading that prints
#    `Loaded image ID: sha256:<id>`;
#  - load prints `Loaded image: NAME:TAG` per tag (also with -q), reads stdin without -i;
#  - `docker save` to a terminal: "cowardly refusing to save to a terminal. Use the -o flag or
#    redirect", status 1 (strata: 125);
#  - an OCI archive (`oci-layout` {"imageLayoutVersion":"1.0.0"}, `index.json`, `blobs/sha256/*`)
#    names the tag in the `org.opencontainers.image.ref.name` annotation.
source "$(dirname "$0")/lib.sh"

busybox_rootfs_tar "$E2E_TMP/busybox.tar"
diff_id=$(sha256_of "$E2E_TMP/busybox.tar")
id=$(strata import -c 'CMD ["sh"]' -m "round trip" "$E2E_TMP/busybox.tar" busybox:latest)
two_id=$(two_layer_archive "$E2E_TMP/two.tar" two:1)
ok strata load -i "$E2E_TMP/two.tar"
assert_eq "Loaded image: two:1" "$out" "load prints the tag"
assert_eq "$two_id" "$(inspect_field two:1 '{{.Id}}')" "a docker-archive keeps its ID"

# the fields that must survive a round trip
summary() { # REF [ROOT]
  STRATA_ROOT=${2:-$STRATA_ROOT} strata image inspect "$1" | helper json-get \
    "{k: v[0][k] for k in ('Id', 'RepoTags', 'Created', 'Comment', 'Author', 'Config', 'Architecture', 'Os', 'Size', 'RootFS')}"
}
fresh_root() { echo "$E2E_TMP/root-$1"; }

note "docker-archive: layout"
ok strata save -o "$E2E_TMP/bb.tar" busybox
assert_eq "" "$out" "save -o prints nothing"
mkdir "$E2E_TMP/bb" && tar -C "$E2E_TMP/bb" -xf "$E2E_TMP/bb.tar"
m="$E2E_TMP/bb/manifest.json"
assert_file "$m" "docker-archive has manifest.json"
assert_eq 1 "$(helper json-get 'len(v)' <"$m")"
assert_eq '["busybox:latest"]' "$(helper json-get "v[0]['RepoTags']" <"$m")"
cfg=$(helper json-get "v[0]['Config']" <"$m")
assert_eq "${id#sha256:}" "$(sha256sum "$E2E_TMP/bb/$cfg" | cut -c1-64)" "config blob digest is the ID"
assert_eq "[\"$diff_id\"]" "$(helper json-get "v['rootfs']['diff_ids']" <"$E2E_TMP/bb/$cfg")"
layer=$(helper json-get "v[0]['Layers'][0]" <"$m")
assert_eq "$diff_id" "$(helper sha256-uncompressed "$E2E_TMP/bb/$layer")" "layer content matches its diff_id"

note "docker-archive: round trip into a fresh store"
STRATA_ROOT_A=$(fresh_root a)
ok env STRATA_ROOT="$STRATA_ROOT_A" "$STRATA_BIN" load -i "$E2E_TMP/bb.tar"
assert_eq "Loaded image: busybox:latest" "$out"
assert_eq "$(summary busybox)" "$(summary busybox "$STRATA_ROOT_A")" "same image after save/load"

note "--root selects the store"
ok strata --root "$STRATA_ROOT_A" images -q --no-trunc
assert_eq "$id" "$out" "--root DIR"

note "oci-archive: layout"
ok strata save --format oci-archive -o "$E2E_TMP/oci.tar" busybox:latest
mkdir "$E2E_TMP/oci" && tar -C "$E2E_TMP/oci" -xf "$E2E_TMP/oci.tar"
assert_eq '1.0.0' "$(helper json-get "v['imageLayoutVersion']" <"$E2E_TMP/oci/oci-layout")" "oci-layout"
idx="$E2E_TMP/oci/index.json"
assert_eq 2 "$(helper json-get "v['schemaVersion']" <"$idx")"
for b in "$E2E_TMP"/oci/blobs/sha256/*; do
  assert_eq "$(basename "$b")" "$(sha256sum "$b" | cut -c1-64)" "blob named by its digest"
done
assert_eq 1 "$(helper json-get "len(v['manifests'])" <"$idx")"
mdesc=$(helper json-get "v['manifests'][0]" <"$idx")
assert_eq "application/vnd.oci.image.manifest.v1+json" "$(helper json-get "v['mediaType']" <<<"$mdesc")"
assert_eq true "$(helper json-get "'org.opencontainers.image.ref.name' in (v.get('annotations') or {})" <<<"$mdesc")" "ref.name annotation"
mblob="$E2E_TMP/oci/blobs/sha256/$(helper json-get "v['digest'].split(':')[1]" <<<"$mdesc")"
assert_eq "$(stat -c %s "$mblob")" "$(helper json-get "v['size']" <<<"$mdesc")" "manifest size"
assert_eq "application/vnd.oci.image.manifest.v1+json" "$(helper json-get "v['mediaType']" <"$mblob")"
assert_eq "$id" "$(helper json-get "v['config']['digest']" <"$mblob")" "config digest is the ID"
assert_eq "application/vnd.oci.image.config.v1+json" "$(helper json-get "v['config']['mediaType']" <"$mblob")"
lblob="$E2E_TMP/oci/blobs/sha256/$(helper json-get "v['layers'][0]['digest'].split(':')[1]" <"$mblob")"
assert_match "$(helper json-get "v['layers'][0]['mediaType']" <"$mblob")" '^application/vnd\.oci\.image\.layer\.v1\.tar(\+gzip|\+zstd)?$'
assert_eq "$diff_id" "$(helper sha256-uncompressed "$lblob")" "layer content matches its diff_id"

note "oci-archive: round trip into a fresh store"
STRATA_ROOT_B=$(fresh_root b)
ok env STRATA_ROOT="$STRATA_ROOT_B" "$STRATA_BIN" load -i "$E2E_TMP/oci.tar"
assert_eq "Loaded image: busybox:latest" "$out"
assert_eq "$(summary busybox)" "$(summary busybox "$STRATA_ROOT_B")" "same image after oci save/load"

note "several images in one archive; a shared layer is written once"
ok strata save -o "$E2E_TMP/multi.tar" busybox two:1
assert_eq 2 "$(tar -xOf "$E2E_TMP/multi.tar" manifest.json | helper json-get 'len(v)')"
assert_eq 1 "$(tar -tvf "$E2E_TMP/multi.tar" | awk -v min=1900000 '$3 >= min' | wc -l)" "the busybox layer is stored once in the archive"
STRATA_ROOT_C=$(fresh_root c)
ok env STRATA_ROOT="$STRATA_ROOT_C" "$STRATA_BIN" load -i "$E2E_TMP/multi.tar"
assert_eq "Loaded image: busybox:latest
Loaded image: two:1" "$(sort <<<"$out")"
assert_eq "$(summary two:1)" "$(summary two:1 "$STRATA_ROOT_C")"
ok strata save --format oci-archive -o "$E2E_TMP/multi-oci.tar" busybox two:1
STRATA_ROOT_D=$(fresh_root d)
ok env STRATA_ROOT="$STRATA_ROOT_D" "$STRATA_BIN" load -i "$E2E_TMP/multi-oci.tar"
assert_eq "Loaded image: busybox:latest
Loaded image: two:1" "$(sort <<<"$out")"
assert_eq "$(summary two:1)" "$(summary two:1 "$STRATA_ROOT_D")"

note "an archive as Docker >= 25 saves it (OCI layout plus manifest.json into blobs/)"
helper docker25 "$E2E_TMP/two.tar" "$E2E_TMP/two-docker25.tar"
STRATA_ROOT_G=$(fresh_root g)
ok env STRATA_ROOT="$STRATA_ROOT_G" "$STRATA_BIN" load -i "$E2E_TMP/two-docker25.tar"
assert_eq "Loaded image: two:1" "$out"
assert_eq "$(summary two:1)" "$(summary two:1 "$STRATA_ROOT_G")" "same image from a Docker 25 archive"

note "a docker-archive with gzip-compressed layer.tar files"
gz_id=$(helper docker-archive "$E2E_TMP/gz.tar" --tag gz:1 --gzip "$E2E_TMP/busybox.tar" "$E2E_TMP/two.tar.hello-layer")
STRATA_ROOT_H=$(fresh_root h)
ok env STRATA_ROOT="$STRATA_ROOT_H" "$STRATA_BIN" load -i "$E2E_TMP/gz.tar"
assert_eq "Loaded image: gz:1" "$out"
assert_eq "$gz_id" "$(STRATA_ROOT=$STRATA_ROOT_H inspect_field gz:1 '{{.Id}}')"
assert_eq "[\"$diff_id\", \"$(sha256_of "$E2E_TMP/two.tar.hello-layer")\"]" \
  "$(STRATA_ROOT=$STRATA_ROOT_H inspect_json gz:1 "['RootFS']['Layers']")" "diff_ids of the uncompressed layers"

note "stdout and stdin"
strata save busybox >"$E2E_TMP/stdout.tar"
tar -tf "$E2E_TMP/stdout.tar" | grep -x 'manifest.json' >/dev/null || fail "save to stdout is not a docker-archive"
STRATA_ROOT_E=$(fresh_root e)
run_in "$E2E_TMP/stdout.tar" env STRATA_ROOT="$STRATA_ROOT_E" "$STRATA_BIN" load
assert_eq 0 "$status" "load from stdin: $err"
assert_eq "Loaded image: busybox:latest" "$out"
run_in "$E2E_TMP/stdout.tar" env STRATA_ROOT="$STRATA_ROOT_E" "$STRATA_BIN" load -q
assert_eq 0 "$status" "load -q: $err"
assert_eq "Loaded image: busybox:latest" "$out" "-q still names the image (docker does)"
assert_eq "$id" "$(STRATA_ROOT=$STRATA_ROOT_E strata image inspect -f '{{.Id}}' busybox)"

note "loading what is already there changes nothing"
before=$(store_snapshot)
ok strata load -i "$E2E_TMP/bb.tar"
assert_eq "Loaded image: busybox:latest" "$out"
# a load may refresh metadata (e.g. LastTagTime) but must not add blobs or layers
assert_eq "$(grep -c . <<<"$before")" "$(store_snapshot | grep -c .)" "reloading added files"

note "untagged images"
ok strata save -o "$E2E_TMP/byid.tar" "${id:7:12}"
assert_eq "null" "$(tar -xOf "$E2E_TMP/byid.tar" manifest.json | helper json-get "v[0].get('RepoTags')")" "saved by ID: no RepoTags"
STRATA_ROOT_F=$(fresh_root f)
ok env STRATA_ROOT="$STRATA_ROOT_F" "$STRATA_BIN" load -i "$E2E_TMP/byid.tar"
assert_eq "Loaded image ID: $id" "$out"
ok env STRATA_ROOT="$STRATA_ROOT_F" "$STRATA_BIN" images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
assert_eq "<none>:<none> ${id:7:12}" "$out"

note "refusing a terminal"
need_cmd script
run script -qec "$STRATA_BIN save busybox" /dev/null
assert_eq 125 "$status" "save to a terminal"
assert_contains "${out,,}" "terminal"

note "errors"
expect_error --names "nothere" strata save -o "$E2E_TMP/x.tar" nothere
assert_no_file "$E2E_TMP/x.tar" "a failed save leaves no file"
expect_error --names "nothere" strata save -o "$E2E_TMP/x.tar" busybox nothere
assert_no_file "$E2E_TMP/x.tar" "a failed save leaves no file"
expect_error --names "bogus" strata save --format bogus -o "$E2E_TMP/x.tar" busybox
expect_error --names "missing-$E2E_TOKEN" strata load -i "$E2E_TMP/missing-$E2E_TOKEN.tar"
