#!/usr/bin/env bash
# strata images / strata image ls
#
# Checked against docker 20.10 (`docker images`):
#  - header `REPOSITORY   TAG       IMAGE ID       CREATED         SIZE`, Go tabwriter layout
#    (minwidth 10, padding 3); an empty store prints just
#    `REPOSITORY   TAG       IMAGE ID   CREATED   SIZE`;
#  - one row per tag (an image with 3 tags gives 3 rows with the same ID), newest image first;
#    dangling images are listed as `<none>   <none>` even WITHOUT -a (-a adds intermediate images);
#  - familiar names: docker.io/library/x:1 shows as `x`; localhost:5000/team/app stays as it is;
#  - IMAGE ID is 12 hex digits (--no-trunc: sha256:<64 hex>); SIZE has 3 significant digits in
#    decimal units (1.98MB for 1982331 bytes); CREATED is relative ("Less than a second ago",
#    "2 years ago");
#  - `images REPO` lists that repository's tags; `images REPO:TAG` one; no match -> header only,
#    status 0;
#  - -q prints the short ID of every row (docker 20.10 repeats an ID once per tag);
#  - --digests adds a DIGEST column after TAG (`<none>` for imported/loaded images);
#  - --filter dangling=true|false; --filter reference=GLOB matches the familiar name with and
#    without the tag (`alpha` -> all alpha tags, `*:v1`, `b*`);
#  - --format '{{json .}}' prints one JSON object per row with keys Containers, CreatedAt
#    ("2026-11-23 16:33:58 +0000 UTC"), CreatedSince, Digest, ID, Repository, SharedSize, Size,
#    Tag, UniqueSize, VirtualSize; `table {{.Repository}}\t{{.Tag}}` prints a header.
source "$(dirname "$0")/lib.sh"

cols=(REPOSITORY TAG 'IMAGE ID' CREATED SIZE)
busybox_rootfs_tar "$E2E_TMP/busybox.tar"
bb_hsize=$(human_size "$(helper docker-size "$E2E_TMP/busybox.tar")")

note "empty store"
ok strata images
assert_eq "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE" "$(sed 's/ *$//' <<<"$out")" "empty listing"

note "setup: an old loaded image, an imported one with several tags, a dangling one"
old_id=$(two_layer_archive "$E2E_TMP/old.tar" old:1)
ok strata load -i "$E2E_TMP/old.tar"
dang_id=$(strata import -m first "$E2E_TMP/busybox.tar" gamma:1)
sleep 1.1 # distinct creation times so that the order is defined
id=$(strata import "$E2E_TMP/busybox.tar" alpha:v1)
for t in alpha:v2 beta:v1 localhost:5000/team/app:1 docker.io/library/delta:1; do ok strata tag alpha:v1 "$t"; done
sleep 1.1
gamma_id=$(strata import -m second "$E2E_TMP/busybox.tar" gamma:1) # leaves the first gamma:1 dangling
s_id=${id:7:12} s_old=${old_id:7:12} s_dang=${dang_id:7:12} s_gamma=${gamma_id:7:12}

note "the table"
ok strata images
table=$out
printf '%s\n' "$table" | check_table "${cols[@]}"
assert_match "$(head -n 1 <<<"$table")" '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$'
cells=$(printf '%s\n' "$table" | table_cells "${cols[@]}")
assert_lines 8 "$cells" "one row per tag plus the dangling image"
rows=$(printf '%s\n' "$cells" | cut -f1-3 | sort)
assert_eq "$(printf '%s\t%s\t%s\n' \
  '<none>' '<none>' "$s_dang" \
  alpha v1 "$s_id" alpha v2 "$s_id" beta v1 "$s_id" delta 1 "$s_id" \
  gamma 1 "$s_gamma" localhost:5000/team/app 1 "$s_id" old 1 "$s_old" | sort)" "$rows" "rows"
# newest first: gamma:1, then the alpha image's tags, then the dangling one, then old:1
assert_eq "$s_gamma" "$(cell "$cells" 1 3)" "newest image first"
assert_eq "$s_dang" "$(cell "$cells" 7 3)" "order by creation time"
assert_eq "old	1	$s_old" "$(sed -n 8p <<<"$cells" | cut -f1-3)" "oldest image last"
assert_eq "$(helper human-duration 2024-01-02T03:04:05Z) ago" "$(cell "$cells" 8 4)" "CREATED of old:1"
assert_match "$(cell "$cells" 1 4)" '^(Less than a second|[0-9]+ seconds?|About a minute) ago$' "CREATED"
assert_eq "$bb_hsize" "$(cell "$cells" 1 5)" "SIZE"
assert_eq "$(human_size "$(( $(helper docker-size "$E2E_TMP/busybox.tar") + 12 ))")" "$(cell "$cells" 8 5)" "SIZE of two layers"

ok strata image ls
assert_eq "$(cut -f1-3 <<<"$cells")" "$(printf '%s\n' "$out" | table_cells "${cols[@]}" | cut -f1-3)" "image ls == images"

note "repository arguments"
ok strata images alpha
assert_eq "alpha	v1
alpha	v2" "$(printf '%s\n' "$out" | table_cells "${cols[@]}" | cut -f1-2 | sort)"
ok strata images alpha:v2
assert_eq "alpha	v2	$s_id" "$(printf '%s\n' "$out" | table_cells "${cols[@]}" | cut -f1-3)"
ok strata images localhost:5000/team/app
assert_eq "localhost:5000/team/app	1" "$(printf '%s\n' "$out" | table_cells "${cols[@]}" | cut -f1-2)"
ok strata images nothere
assert_lines 1 "$out" "no match: header only"

note "-q, -a, --no-trunc"
ok strata images -q
assert_eq "$(printf '%s\n' "$s_gamma" "$s_id" "$s_dang" "$s_old")" "$(awk '!seen[$0]++' <<<"$out")" "-q: short IDs, newest first"
ok strata images -a -q
assert_eq "$(printf '%s\n' "$s_gamma" "$s_id" "$s_dang" "$s_old")" "$(awk '!seen[$0]++' <<<"$out")" "-a -q"
ok strata images --no-trunc
cells=$(printf '%s\n' "$out" | table_cells "${cols[@]}")
printf '%s\n' "$out" | check_table "${cols[@]}"
assert_eq "$id" "$(printf '%s\n' "$cells" | awk -F'\t' '$1 == "alpha" && $2 == "v1" { print $3 }')" "--no-trunc ID"
ok strata images -q --no-trunc alpha:v1
assert_eq "$id" "$out"

note "--digests"
ok strata images --digests alpha
printf '%s\n' "$out" | check_table REPOSITORY TAG DIGEST 'IMAGE ID' CREATED SIZE
cells=$(printf '%s\n' "$out" | table_cells REPOSITORY TAG DIGEST 'IMAGE ID' CREATED SIZE)
assert_lines 2 "$cells"
for d in $(column "$cells" 3); do assert_match "$d" '^(<none>|sha256:[0-9a-f]{64})$' "DIGEST column"; done
assert_eq "$s_id" "$(cell "$cells" 1 4)"

note "--filter"
ok strata images -q --filter dangling=true
assert_eq "$s_dang" "$out" "dangling=true"
ok strata images --filter dangling=false --format '{{.Repository}}:{{.Tag}}'
assert_eq "alpha:v1 alpha:v2 beta:v1 delta:1 gamma:1 localhost:5000/team/app:1 old:1" "$(sort <<<"$out" | xargs)" "dangling=false"
ok strata images --filter reference=alpha --format '{{.Repository}}:{{.Tag}}'
assert_eq "alpha:v1 alpha:v2" "$(sort <<<"$out" | xargs)" "reference=alpha"
ok strata images --filter reference=alpha:v1 --format '{{.Repository}}:{{.Tag}}'
assert_eq "alpha:v1" "$out" "reference=alpha:v1"
ok strata images --filter 'reference=*:v1' --format '{{.Repository}}:{{.Tag}}'
assert_eq "alpha:v1 beta:v1" "$(sort <<<"$out" | xargs)" "reference=*:v1"
ok strata images --filter 'reference=b*' --format '{{.Repository}}:{{.Tag}}'
assert_eq "beta:v1" "$out" "reference=b*"
ok strata images --filter 'reference=localhost:5000/*/*' --format '{{.Repository}}:{{.Tag}}'
assert_eq "localhost:5000/team/app:1" "$out" "reference with a registry"
expect_error --names "bogus" strata images --filter bogus=1

note "--format"
ok strata images --format '{{.Repository}}:{{.Tag}} {{.ID}}' alpha
assert_eq "alpha:v1 $s_id
alpha:v2 $s_id" "$(sort <<<"$out")"
ok strata images --format '{{.ID}}' gamma
assert_eq "$s_gamma" "$out"
ok strata images --format '{{json .}}' old
assert_lines 1 "$out"
j=$out
for k in Repository Tag ID Size CreatedSince CreatedAt Digest; do
  assert_eq true "$(helper json-get "'$k' in v" <<<"$j")" "{{json .}} lacks $k"
done
assert_eq "old 1 $s_old" "$(helper json-get "' '.join([v['Repository'], v['Tag'], v['ID']])" <<<"$j")"
assert_eq "$(human_size "$(( $(helper docker-size "$E2E_TMP/busybox.tar") + 12 ))")" "$(helper json-get "v['Size']" <<<"$j")"
assert_eq "$(helper human-duration 2024-01-02T03:04:05Z) ago" "$(helper json-get "v['CreatedSince']" <<<"$j")"
assert_eq "2024-01-02 03:04:05 +0000 UTC" "$(helper json-get "v['CreatedAt']" <<<"$j")"
ok strata images --format '{{json .}}' -a
assert_eq 8 "$(nlines "$out")" "{{json .}} -a: one object per row"
assert_eq true "$(printf '%s\n' "$out" | python3 -c 'import json,sys; print(str(any(json.loads(l)["Repository"] == "<none>" for l in sys.stdin)).lower())')" "dangling row in json"
ok strata images --format 'table {{.Repository}}\t{{.Tag}}' alpha
assert_eq "REPOSITORY   TAG" "$(head -n 1 <<<"$out" | sed 's/ *$//')" "table header"
printf '%s\n' "$out" | check_table REPOSITORY TAG
assert_eq "alpha	v1
alpha	v2" "$(printf '%s\n' "$out" | table_cells REPOSITORY TAG | sort)"
