#!/usr/bin/env bash
# strata import FILE|- REF [-m MSG] [-c CHANGE]...
#
# Checked against docker 20.10 (`docker import`):
#  - stdout is exactly the image ID `sha256:<64 hex>`, equal to `inspect .Id`;
#  - RootFS.Layers == [sha256 of the uncompressed tar] (a gzip stream is decompressed first:
#    `gzip -c rootfs.tar | docker import -` gives the same diff_id as the plain tar);
#  - -m sets .Comment (and the history entry's comment); without -m docker sets the comment
#    "Imported from -" -- for a FILE argument too, because the CLI streams the file (src "-");
#    the config's history is one entry {"created": <same as created>, "comment": <comment>}
#    with no created_by;
#  - -c changes land in .Config: `CMD ["sh"]` -> ["sh"], `CMD echo hi` -> ["/bin/sh","-c","echo hi"],
#    `ENV A=1 B=2` -> ["A=1","B=2"], `EXPOSE 8080` + `EXPOSE 53/udp` ->
#    {"53/udp":{},"8080/tcp":{}}, `LABEL a=b c="d e"` -> {"a":"b","c":"d e"}, `VOLUME /data` ->
#    {"/data":{}}, `USER 1000:1000`, `WORKDIR /srv`, `ENTRYPOINT ["/bin/sh","-c"]`;
#  - a ref without a tag gets :latest; Architecture amd64 (on x86_64), Os linux;
#  - a non-tar input fails and creates no image ("Error processing tar file ... unexpected EOF").
source "$(dirname "$0")/lib.sh"

tarball="$E2E_TMP/rootfs.tar"
busybox_rootfs_tar "$tarball"
diff_id=$(sha256_of "$tarball")

note "import from a file"
ok strata import "$tarball" busybox
assert_lines 1 "$out" "import prints one line"
assert_match "$out" '^sha256:[0-9a-f]{64}$' "import prints the image ID"
id=$out
assert_eq "$id" "$(inspect_field busybox '{{.Id}}')" "printed ID equals inspect .Id"
assert_eq '["busybox:latest"]' "$(inspect_json busybox "['RepoTags']")" "tag defaults to latest"
assert_eq "[\"$diff_id\"]" "$(inspect_json busybox "['RootFS']['Layers']")" "diff_id is the tar's sha256"
assert_eq "layers" "$(inspect_json busybox "['RootFS']['Type']")"
assert_eq "Imported from -" "$(inspect_json busybox "['Comment']")" "no -m: docker's default comment"
case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
assert_eq "$arch" "$(inspect_json busybox "['Architecture']")"
assert_eq "linux" "$(inspect_json busybox "['Os']")"
created=$(inspect_json busybox "['Created']")
assert_match "$created" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$' "Created is RFC 3339 UTC"
age=$(( $(date +%s) - $(date -d "$created" +%s) ))
[ "$age" -ge -5 ] && [ "$age" -le 120 ] || fail "Created ($created) is not now"
ok strata images
assert_contains "$out" "busybox" "images lists the imported image"

note "import from stdin (-) with -m (flags after the arguments, as the usage line shows them)"
run_in "$tarball" strata import - stdin/img:v1 -m "from stdin"
assert_eq 0 "$status" "import - failed: $err"
assert_match "$out" '^sha256:[0-9a-f]{64}$'
id2=$out
assert_ne "$id" "$id2" "a different comment gives a different image"
assert_eq "$id2" "$(inspect_field stdin/img:v1 '{{.Id}}')"
assert_eq "from stdin" "$(inspect_json stdin/img:v1 "['Comment']")"
assert_eq "[\"$diff_id\"]" "$(inspect_json stdin/img:v1 "['RootFS']['Layers']")"

note "a gzip-compressed tarball: diff_id is the sha256 of the uncompressed tar"
gzip -c "$tarball" >"$E2E_TMP/rootfs.tar.gz"
ok strata import "$E2E_TMP/rootfs.tar.gz" gz:1
assert_eq "[\"$diff_id\"]" "$(inspect_json gz:1 "['RootFS']['Layers']")"
run_in "$E2E_TMP/rootfs.tar.gz" strata import - gz:2
assert_eq 0 "$status" "import - of gzip failed: $err"
assert_eq "[\"$diff_id\"]" "$(inspect_json gz:2 "['RootFS']['Layers']")"

note "-c / --change"
ok strata import \
  -c 'ENTRYPOINT ["/bin/sh","-c"]' -c 'WORKDIR /srv' --change 'USER 1000:1000' \
  -c 'EXPOSE 8080' -c 'EXPOSE 53/udp' -c 'LABEL a=b c="d e"' -c 'VOLUME /data' \
  -c 'ENV A=1 B=2' -c 'CMD echo hi' "$tarball" changes:1
cfg=$(inspect_json changes:1 "['Config']")
jq_cfg() { printf '%s' "$cfg" | helper json-get "$1"; }
assert_eq '["/bin/sh", "-c"]' "$(jq_cfg "v['Entrypoint']")" "ENTRYPOINT"
assert_eq '["/bin/sh", "-c", "echo hi"]' "$(jq_cfg "v['Cmd']")" "shell-form CMD"
assert_eq "/srv" "$(jq_cfg "v['WorkingDir']")" "WORKDIR"
assert_eq "1000:1000" "$(jq_cfg "v['User']")" "USER"
assert_eq '["53/udp", "8080/tcp"]' "$(jq_cfg "sorted(v['ExposedPorts'])")" "EXPOSE"
assert_eq '{"a": "b", "c": "d e"}' "$(jq_cfg "dict(sorted(v['Labels'].items()))")" "LABEL"
assert_eq '["/data"]' "$(jq_cfg "list(v['Volumes'])")" "VOLUME"
assert_eq '["A=1", "B=2"]' "$(jq_cfg "v['Env']")" "ENV"
ok strata import -c 'CMD ["sh"]' "$tarball" cmd:1
assert_eq '["sh"]' "$(inspect_json cmd:1 "['Config']['Cmd']")" "exec-form CMD"
assert_eq 'null' "$(inspect_json cmd:1 "['Config'].get('Entrypoint')")" "no ENTRYPOINT"

note "identical layers are stored once"
big=$(( $(stat -c %s /bin/busybox) - 1024 ))
files_before=$(count_big_files "$big")
[ "$files_before" -ge 1 ] || fail "no file of the layer's size in the store?"
bytes_before=$(store_bytes)
ok strata import -m "another" "$tarball" dedupe:1
assert_eq "$files_before" "$(count_big_files "$big")" "a second import of the same tar added big files"
growth=$(( $(store_bytes) - bytes_before ))
[ "$growth" -lt 200000 ] || fail "store grew by $growth bytes for an already stored layer"

note "bad input leaves the store unchanged"
expect_error --names "FROB" strata import -c 'FROB x' "$tarball" bad:1
expect_error --names "/nonexistent-$E2E_TOKEN" strata import "/nonexistent-$E2E_TOKEN.tar" bad:1
printf 'hello, not a tar\n' >"$E2E_TMP/notar.txt"
expect_error strata import "$E2E_TMP/notar.txt" bad:1
expect_error --names "Foo" strata import "$tarball" Foo
expect_error --names "a:b:c" strata import "$tarball" a:b:c
assert_status 125 strata image inspect bad:1
