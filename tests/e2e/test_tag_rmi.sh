#!/usr/bin/env bash
# strata tag / strata rmi
#
# Checked against docker 20.10:
#  - `docker tag SRC TARGET` prints nothing; SRC may be name[:tag], an ID or an ID prefix;
#  - `docker rmi NAME:TAG` of an image with other tags prints only `Untagged: NAME:TAG`;
#  - `docker rmi NAME:TAG` of its last tag prints `Untagged: NAME:TAG` then
#    `Deleted: sha256:<image id>` (docker adds `Deleted: sha256:<layer chain id>` lines for layers
#    it frees; strata may or may not print those);
#  - `docker rmi ID` of an image with several tags fails without -f ("conflict: unable to delete
#    50f752225efa (must be forced) - image is referenced in multiple repositories");
#    `rmi -f ID` prints an `Untagged:` line per tag, then `Deleted: sha256:<id>`;
#  - unknown image: "Error: No such image: nothere"; malformed names: "invalid reference format".
source "$(dirname "$0")/lib.sh"

busybox_rootfs_tar "$E2E_TMP/busybox.tar"
big=$(( $(stat -c %s /bin/busybox) - 1024 ))

note "tag"
id=$(strata import "$E2E_TMP/busybox.tar" a:1)
hex=${id#sha256:}
ok strata tag a:1 a:2
assert_eq "" "$out" "tag prints nothing"
ok strata tag a:1 b
ok strata tag "${hex:0:12}" c:1
ok strata tag "$id" localhost:5000/team/c:1
ok strata image tag a:1 d:1
assert_eq '["a:1", "a:2", "b:latest", "c:1", "d:1", "localhost:5000/team/c:1"]' \
  "$(inspect_json a:1 "['RepoTags']" | helper json-get 'sorted(v)')" "RepoTags after tagging"
ok strata tag a:1 a:2 # re-tagging the same target is fine
ok strata images -q --no-trunc b
assert_eq "$id" "$out"

note "tag errors"
expect_error --names "nothere" strata tag nothere x:1
expect_error --names "Foo" strata tag a:1 Foo
expect_error --names "a:b:c" strata tag a:1 a:b:c
expect_error --names "x@sha256:zz" strata tag a:1 'x@sha256:zz'

note "moving a tag to another image"
id2=$(strata import -m other "$E2E_TMP/busybox.tar" other:1)
ok strata tag other:1 d:1
assert_eq "$id2" "$(inspect_field d:1 '{{.Id}}')" "tag moves d:1"
assert_eq '["a:1", "a:2", "b:latest", "c:1", "localhost:5000/team/c:1"]' \
  "$(inspect_json a:1 "['RepoTags']" | helper json-get 'sorted(v)')"

note "rmi of one of several tags only untags"
ok strata rmi a:2
assert_eq "Untagged: a:2" "$out"
assert_status 125 strata image inspect a:2
assert_eq "$id" "$(inspect_field a:1 '{{.Id}}')" "image still there"
ok strata image rm c:1
assert_eq "Untagged: c:1" "$out" "image rm is rmi"

note "rmi by ID with several tags needs -f"
expect_error --names "${hex:0:12}" strata rmi "${hex:0:12}"
ok strata rmi -f "${hex:0:12}"
assert_contains "$out" "Untagged: a:1"
assert_contains "$out" "Untagged: b:latest"
assert_contains "$out" "Untagged: localhost:5000/team/c:1"
assert_contains "$out" "Deleted: $id"
assert_eq "Deleted: $id" "$(grep '^Deleted:' <<<"$out" | sed -n 1p)" "the image is the first thing deleted"
assert_eq 0 "$(grep -vc -e '^Untagged: ' -e '^Deleted: sha256:[0-9a-f]\{64\}$' <<<"$out" || true)" "only Untagged:/Deleted: lines"
assert_status 125 strata image inspect "$id"
ok strata images -q -a
assert_eq "${id2:7:12}" "$(awk '!seen[$0]++' <<<"$out")" "only the other image is left"

note "rmi of the last tag deletes the image, and its blobs once no image needs them"
ok strata rmi other:1
assert_eq "Untagged: other:1" "$out" "other:1 is not the last tag (d:1)"
ok strata rmi d:1
assert_eq "Untagged: d:1" "$(head -n 1 <<<"$out")"
assert_eq "Deleted: $id2" "$(sed -n 2p <<<"$out")"
ok strata images -a -q
assert_eq "" "$out" "store is empty"
assert_eq 0 "$(count_big_files "$big")" "no layer blob or unpacked copy left"
[ "$(store_bytes)" -lt 500000 ] || fail "an empty store still holds $(store_bytes) bytes:
$(find "$STRATA_ROOT" -type f -size +100k)"

note "a layer shared by two images survives the removal of one"
x=$(strata import -m x "$E2E_TMP/busybox.tar" x:1)
n1=$(count_big_files "$big")
[ "$n1" -ge 1 ] || fail "no big file after an import?"
y=$(strata import -m y "$E2E_TMP/busybox.tar" y:1)
assert_eq "$n1" "$(count_big_files "$big")" "the shared layer is stored once"
ok strata rmi x:1
assert_eq "Untagged: x:1" "$(head -n 1 <<<"$out")"
assert_contains "$out" "Deleted: $x"
assert_not_contains "$out" "Deleted: $y"
assert_eq "$n1" "$(count_big_files "$big")" "the layer y needs is still there"
ok strata save -o "$E2E_TMP/y.tar" y:1
mkdir "$E2E_TMP/y" && tar -C "$E2E_TMP/y" -xf "$E2E_TMP/y.tar"
layer=$(helper json-get "v[0]['Layers'][0]" <"$E2E_TMP/y/manifest.json")
assert_eq "$(sha256_of "$E2E_TMP/busybox.tar")" "$(helper sha256-uncompressed "$E2E_TMP/y/$layer")" "y's layer content is intact"
ok strata rmi y:1
assert_eq 0 "$(count_big_files "$big")" "the layer is freed with its last image"

note "rmi of several refs, and errors"
strata import -m p "$E2E_TMP/busybox.tar" p:1 >/dev/null
strata import -m q "$E2E_TMP/busybox.tar" q:1 >/dev/null
ok strata rmi p:1 q:1
assert_contains "$out" "Untagged: p:1"
assert_contains "$out" "Untagged: q:1"
strata import "$E2E_TMP/busybox.tar" keep:1 >/dev/null
expect_error --names "nothere" strata rmi nothere
expect_error --names "Foo" strata rmi Foo
expect_error --names "0123456789ab" strata rmi 0123456789ab

note "valid edge cases of the name grammar (accepted by docker 20.10)"
strata import "$E2E_TMP/busybox.tar" edge:1 >/dev/null
long_tag=$(printf 't%.0s' $(seq 1 128))
for ref in a__b "x:$long_tag" Example.com/x localhost/x my-registry.local:5000/a/b-c/d_e:v1.0_beta-2 a.b-c/d; do
  ok strata tag edge:1 "$ref"
done
ok strata images --format '{{.Repository}}:{{.Tag}}'
for want in a__b:latest "x:$long_tag" Example.com/x:latest localhost/x:latest \
  my-registry.local:5000/a/b-c/d_e:v1.0_beta-2 a.b-c/d:latest; do
  grep -qxF "$want" <<<"$out" || fail "images lacks $want:
$out"
done
