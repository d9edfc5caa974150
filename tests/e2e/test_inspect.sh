#!/usr/bin/env bash
# strata image inspect / strata inspect
#
# Checked against docker 20.10 (`docker image inspect` of an imported busybox rootfs):
#  - a JSON array, one object per argument, in argument order, with the fields Id ("sha256:" +
#    config digest), RepoTags, RepoDigests ([] for an imported image), Parent (""), Comment,
#    Created (RFC 3339 with nanoseconds), Author, Config{Env,Cmd,Entrypoint,WorkingDir,...},
#    Architecture, Os, Size, RootFS{Type:"layers",Layers:[diff_ids]}, Metadata{LastTagTime};
#  - Size is the unpacked size of the layers: the sum of the lstat sizes of every non-directory
#    (regular file bytes + symlink target lengths): 1982331 for busybox + 5 symlinks + passwd/group
#    where the tar itself is 1996800 bytes;
#  - images are found by name, name:tag, full ID with or without "sha256:", and a unique ID prefix;
#  - `--format '{{.Id}}'` prints one line per image; `{{json .Config.Cmd}}` prints compact JSON;
#  - an unknown image: "Error: No such image: NAME", status 1 (strata: 125).
source "$(dirname "$0")/lib.sh"

tarball="$E2E_TMP/rootfs.tar"
busybox_rootfs_tar "$tarball"
diff_id=$(sha256_of "$tarball")
id=$(strata import -m "the comment" -c 'CMD ["sh"]' -c 'ENV PATH=/bin' -c 'WORKDIR /root' "$tarball" insp:1)
hex=${id#sha256:}

note "fields and values"
ok strata image inspect insp:1
json=$out
field() { printf '%s' "$json" | helper json-get "$1"; }
assert_eq 1 "$(field 'len(v)')" "one element per argument"
for k in Id RepoTags RepoDigests Parent Comment Created Author Config Architecture Os Size RootFS Metadata; do
  assert_eq true "$(field "'$k' in v[0]")" "inspect lacks field $k"
done
assert_eq "$id" "$(field "v[0]['Id']")"
assert_eq '["insp:1"]' "$(field "v[0]['RepoTags']")"
assert_eq list "$(field "type(v[0]['RepoDigests']).__name__")" "RepoDigests is an array"
assert_eq "" "$(field "v[0]['Parent']")"
assert_eq "the comment" "$(field "v[0]['Comment']")"
assert_eq "" "$(field "v[0]['Author']")"
assert_match "$(field "v[0]['Created']")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'
assert_eq '["sh"]' "$(field "v[0]['Config']['Cmd']")"
assert_eq '["PATH=/bin"]' "$(field "v[0]['Config']['Env']")"
assert_eq "/root" "$(field "v[0]['Config']['WorkingDir']")"
assert_eq "linux" "$(field "v[0]['Os']")"
assert_eq '{"Type": "layers", "Layers": ["'"$diff_id"'"]}' "$(field "{'Type': v[0]['RootFS']['Type'], 'Layers': v[0]['RootFS']['Layers']}")"
assert_eq dict "$(field "type(v[0]['Metadata']).__name__")" "Metadata is an object"
assert_eq "$(helper docker-size "$tarball")" "$(field "v[0]['Size']")" "Size is the unpacked size, as Docker computes it"

note "the ID is the sha256 of the image config (checked through save)"
ok strata save -o "$E2E_TMP/s.tar" insp:1
mkdir "$E2E_TMP/s" && tar -C "$E2E_TMP/s" -xf "$E2E_TMP/s.tar"
cfgfile=$(helper json-get "v[0]['Config']" <"$E2E_TMP/s/manifest.json")
assert_eq "$hex" "$(sha256sum "$E2E_TMP/s/$cfgfile" | cut -c1-64)" "Id is the config's digest"

note "lookup by ID, ID prefix, sha256: prefix; the inspect alias"
assert_eq "$id" "$(inspect_field "$hex" '{{.Id}}')"
assert_eq "$id" "$(inspect_field "$id" '{{.Id}}')"
assert_eq "$id" "$(inspect_field "${hex:0:12}" '{{.Id}}')"
assert_eq "$id" "$(inspect_field "${hex:0:5}" '{{.Id}}')"
ok strata inspect insp:1
assert_eq "$id" "$(printf '%s' "$out" | helper json-get "v[0]['Id']")" "strata inspect is image inspect"

note "several references, in order"
id2=$(strata import "$tarball" insp:2)
ok strata image inspect insp:2 insp:1
assert_eq 2 "$(printf '%s' "$out" | helper json-get 'len(v)')"
assert_eq "$id2 $id" "$(printf '%s' "$out" | helper json-get "' '.join(x['Id'] for x in v)")"
ok strata image inspect --format '{{.Id}}' insp:1 insp:2
assert_eq "$id
$id2" "$out" "--format prints a line per image"

note "--format templates"
assert_eq "/root" "$(inspect_field insp:1 '{{.Config.WorkingDir}}')"
assert_eq '["sh"]' "$(inspect_field insp:1 '{{json .Config.Cmd}}')"
assert_eq "[\"$diff_id\"]" "$(inspect_field insp:1 '{{json .RootFS.Layers}}')"
assert_eq "linux/$(inspect_json insp:1 "['Architecture']")" "$(inspect_field insp:1 '{{.Os}}/{{.Architecture}}')"
ok strata image inspect -f '{{.Comment}}' insp:1
assert_eq "the comment" "$out" "-f is --format"

note "unknown images"
expect_error --names "nothere" strata image inspect nothere
expect_error --names "nothere" strata inspect nothere:1
expect_error --names "0123456789ab" strata image inspect 0123456789ab
# one good and one unknown reference: status 125 and the unknown one named (docker prints the
# found image and the error, status 1)
run strata image inspect insp:1 nothere
assert_eq 125 "$status" "inspect with an unknown ref"
assert_contains "$err" "nothere"
