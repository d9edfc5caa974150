#!/usr/bin/env bash
# skopeo (1.9) and umoci (0.4.7) read strata's oci-archive; strata loads skopeo's oci-archive.
#  - `skopeo inspect oci-archive:FILE` (single image, no ref needed), `--config` shows the config
#    with rootfs.diff_ids, `--raw` the manifest whose config.digest is the image ID;
#  - `skopeo copy oci-archive:FILE dir:D` verifies every blob's digest while copying;
#  - umoci needs a tag: `umoci unpack --image LAYOUT:REF bundle` with REF the manifest's
#    `org.opencontainers.image.ref.name` annotation, after extracting the archive into LAYOUT;
#    it writes bundle/rootfs and bundle/config.json (process.args from Entrypoint+Cmd);
#  - skopeo writes oci-archives with gzip layers and the ref.name it is given ("two:1" here).
source "$(dirname "$0")/lib.sh"

need_cmd skopeo umoci
busybox_rootfs_tar "$E2E_TMP/busybox.tar"
diff_id=$(sha256_of "$E2E_TMP/busybox.tar")
id=$(strata import -c 'CMD ["sh"]' -c 'ENV A=1' "$E2E_TMP/busybox.tar" busybox:latest)
ok strata save --format oci-archive -o "$E2E_TMP/oci.tar" busybox:latest

note "skopeo inspect"
ok skopeo inspect "oci-archive:$E2E_TMP/oci.tar"
j=$out
assert_eq 1 "$(helper json-get "len(v['Layers'])" <<<"$j")" "one layer"
assert_eq "amd64 linux" "$(helper json-get "v['Architecture'] + ' ' + v['Os']" <<<"$j")"
assert_eq '["A=1"]' "$(helper json-get "v['Env']" <<<"$j")"
ok skopeo inspect --config "oci-archive:$E2E_TMP/oci.tar"
assert_eq "[\"$diff_id\"]" "$(helper json-get "v['rootfs']['diff_ids']" <<<"$out")"
assert_eq '["sh"]' "$(helper json-get "v['config']['Cmd']" <<<"$out")"
ok skopeo inspect --raw "oci-archive:$E2E_TMP/oci.tar"
assert_eq "$id" "$(helper json-get "v['config']['digest']" <<<"$out")" "manifest's config digest is the ID"

note "skopeo copy to dir: (digests verified)"
ok skopeo copy "oci-archive:$E2E_TMP/oci.tar" "dir:$E2E_TMP/dir"
assert_file "$E2E_TMP/dir/manifest.json"
assert_file "$E2E_TMP/dir/${id#sha256:}" "config blob copied"
# and back into docker-archive form, which strata loads with the same layers
ok skopeo copy "oci-archive:$E2E_TMP/oci.tar" "docker-archive:$E2E_TMP/via-skopeo.tar:viaskopeo:1"
ok env STRATA_ROOT="$E2E_TMP/root2" "$STRATA_BIN" load -i "$E2E_TMP/via-skopeo.tar"
assert_eq "Loaded image: viaskopeo:1" "$out"
assert_eq "[\"$diff_id\"]" "$(STRATA_ROOT=$E2E_TMP/root2 inspect_field viaskopeo:1 '{{json .RootFS.Layers}}')"

note "umoci unpack"
mkdir "$E2E_TMP/layout"
tar -C "$E2E_TMP/layout" -xf "$E2E_TMP/oci.tar"
ref=$(helper json-get "v['manifests'][0]['annotations']['org.opencontainers.image.ref.name']" <"$E2E_TMP/layout/index.json")
ok umoci unpack --image "$E2E_TMP/layout:$ref" "$E2E_TMP/bundle"
cmp /bin/busybox "$E2E_TMP/bundle/rootfs/bin/busybox" || fail "unpacked busybox differs"
assert_eq busybox "$(readlink "$E2E_TMP/bundle/rootfs/bin/sh")"
assert_file "$E2E_TMP/bundle/rootfs/etc/passwd"
assert_eq '["sh"]' "$(helper json-get "v['process']['args']" <"$E2E_TMP/bundle/config.json")"
assert_contains "$(helper json-get "v['process']['env']" <"$E2E_TMP/bundle/config.json")" '"A=1"'

note "strata loads skopeo's oci-archive (gzip layers)"
two_id=$(two_layer_archive "$E2E_TMP/two.tar" two:1)
ok skopeo copy "docker-archive:$E2E_TMP/two.tar" "oci-archive:$E2E_TMP/skopeo-oci.tar:two:1"
ok env STRATA_ROOT="$E2E_TMP/root3" "$STRATA_BIN" load -i "$E2E_TMP/skopeo-oci.tar"
assert_eq "Loaded image: two:1" "$out"
want=$(tar -xOf "$E2E_TMP/two.tar" "${two_id#sha256:}.json" | helper json-get "v['rootfs']['diff_ids']")
assert_eq "$want" "$(STRATA_ROOT=$E2E_TMP/root3 inspect_json two:1 "['RootFS']['Layers']")" "diff_ids survive"
sk_cfg=$(skopeo inspect --raw "oci-archive:$E2E_TMP/skopeo-oci.tar" | helper json-get "v['config']['digest']")
assert_eq "$sk_cfg" "$(STRATA_ROOT=$E2E_TMP/root3 inspect_field two:1 '{{.Id}}')" "ID is the config digest"
ok env STRATA_ROOT="$E2E_TMP/root3" "$STRATA_BIN" save --format oci-archive -o "$E2E_TMP/resaved.tar" two:1
ok skopeo inspect --config "oci-archive:$E2E_TMP/resaved.tar"
assert_eq "$want" "$(helper json-get "v['rootfs']['diff_ids']" <<<"$out")"
