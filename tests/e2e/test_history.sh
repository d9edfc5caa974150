#!/usr/bin/env bash
# strata image history / strata history
#
# Checked against docker 20.10 (`docker history`):
#  - header `IMAGE          CREATED                  CREATED BY   SIZE      COMMENT` laid out by Go's
#    tabwriter (every column max(10, widest cell + 3) wide);
#  - newest entry first; the top row shows the 12-hex image ID, rows below it `<missing>` (no local
#    image for them, as after `docker load`);
#  - an imported image has one row with an empty CREATED BY, the layer size and the comment
#    (`-m` text, or "Imported from -");
#  - CREATED BY is cut to 45 runes, the last being "…", unless --no-trunc; an empty_layer entry shows
#    0B; sizes use 3 significant digits (12B, 1.98MB); CREATED is relative ("2 years ago");
#  - --no-trunc prints `sha256:<64 hex>` IDs; -q prints only the IMAGE column;
#  - -H=false prints `CREATED AT` as RFC 3339 (2024-01-02T03:04:05Z) and sizes in bytes.
source "$(dirname "$0")/lib.sh"

busybox_rootfs_tar "$E2E_TMP/busybox.tar"
bb_size=$(helper docker-size "$E2E_TMP/busybox.tar")
cols=(IMAGE CREATED 'CREATED BY' SIZE COMMENT)

note "an imported image"
id=$(strata import -m "imported msg" "$E2E_TMP/busybox.tar" hist:imp)
ok strata history hist:imp
printf '%s\n' "$out" | check_table "${cols[@]}"
assert_match "$(head -n 1 <<<"$out")" '^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$' "header"
cells=$(printf '%s\n' "$out" | table_cells "${cols[@]}")
assert_lines 1 "$cells" "one history row"
assert_eq "${id:7:12}" "$(cell "$cells" 1 1)" "IMAGE"
assert_match "$(cell "$cells" 1 2)" '^(Less than a second|[0-9]+ seconds?|About a minute) ago$' "CREATED"
assert_eq "" "$(cell "$cells" 1 3)" "CREATED BY of an import is empty"
assert_eq "$(human_size "$bb_size")" "$(cell "$cells" 1 4)" "SIZE"
assert_eq "imported msg" "$(cell "$cells" 1 5)" "COMMENT"
ok strata image history hist:imp
assert_eq "$(cut -f1,3- <<<"$cells")" "$(printf '%s\n' "$out" | table_cells "${cols[@]}" | cut -f1,3-)" "image history == history"

note "a loaded three-entry image (two layers + an empty_layer entry)"
two_id=$(two_layer_archive "$E2E_TMP/two.tar" hist:two)
ok strata load -i "$E2E_TMP/two.tar"
ok strata history hist:two
printf '%s\n' "$out" | check_table "${cols[@]}"
cells=$(printf '%s\n' "$out" | table_cells "${cols[@]}")
assert_lines 3 "$cells" "one row per history entry"
assert_eq "${two_id:7:12}
<missing>
<missing>" "$(column "$cells" 1)" "IMAGE column"
assert_eq "$(helper human-duration 2024-01-02T03:04:05Z) ago
$(helper human-duration 2024-01-01T00:00:01Z) ago
$(helper human-duration 2024-01-01T00:00:00Z) ago" "$(column "$cells" 2)" "CREATED column"
trunc="${LONG_CREATED_BY:0:44}…"
assert_eq "$trunc" "$(cell "$cells" 1 3)" "long CREATED BY is cut to 45 runes"
assert_eq '/bin/sh -c #(nop)  CMD ["sh"]' "$(cell "$cells" 2 3)"
assert_eq '/bin/sh -c #(nop) ADD file:abc in /' "$(cell "$cells" 3 3)"
assert_eq "12B
0B
$(human_size "$bb_size")" "$(column "$cells" 4)" "SIZE column"
assert_eq "second layer" "$(cell "$cells" 1 5)"
assert_eq "" "$(cell "$cells" 2 5)"

note "--no-trunc"
ok strata history --no-trunc hist:two
printf '%s\n' "$out" | check_table "${cols[@]}"
cells=$(printf '%s\n' "$out" | table_cells "${cols[@]}")
assert_eq "$two_id" "$(cell "$cells" 1 1)" "full ID"
assert_eq "$LONG_CREATED_BY" "$(cell "$cells" 1 3)" "full CREATED BY"

note "-q"
ok strata history -q hist:two
assert_eq "${two_id:7:12}
<missing>
<missing>" "$out"
ok strata history -q --no-trunc hist:imp
assert_eq "$id" "$out"

note "-H=false"
ok strata history -H=false hist:two
assert_match "$(head -n 1 <<<"$out")" '^IMAGE +CREATED AT +CREATED BY +SIZE +COMMENT$' "header with -H=false"
cells=$(printf '%s\n' "$out" | table_cells IMAGE 'CREATED AT' 'CREATED BY' SIZE COMMENT)
assert_eq "2024-01-02T03:04:05Z
2024-01-01T00:00:01Z
2024-01-01T00:00:00Z" "$(column "$cells" 2)" "CREATED AT is RFC 3339"
assert_eq "12
0
$bb_size" "$(column "$cells" 4)" "sizes in bytes"

note "errors"
expect_error --names "nothere" strata history nothere
expect_error --names "Foo" strata image history Foo
