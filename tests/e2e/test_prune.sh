#!/usr/bin/env bash
# strata image prune [-a] [-f]
#
# Checked against docker 20.10 (`docker image prune`):
#  - without -f it asks "WARNING! This will remove all dangling images.\nAre you sure you want to
#    continue? [y/N] " on stdout and reads stdin; "n" removes nothing (status 0);
#  - -f removes dangling images and prints
#        Deleted Images:
#        deleted: sha256:<id>            (one line per image; lower-case "deleted:")
#        <empty line>
#        Total reclaimed space: 1.982MB  (HumanSize, 4 significant digits)
#    with nothing to remove it prints only "Total reclaimed space: 0B";
#  - a layer still used by a kept image is not reclaimed (0B reclaimed for such a prune);
#  - -a also removes unused tagged images, printing "untagged: NAME:TAG" before their
#    "deleted:" lines.
source "$(dirname "$0")/lib.sh"

busybox_rootfs_tar "$E2E_TMP/busybox.tar"
big=$(( $(stat -c %s /bin/busybox) - 1024 ))

note "setup: two tagged images and two dangling ones"
keep=$(strata import -m keep "$E2E_TMP/busybox.tar" keep:1)
d1=$(strata import -m d1 "$E2E_TMP/busybox.tar" dang:1)
strata import -m d1-successor "$E2E_TMP/busybox.tar" dang:1 >/dev/null
d2=$(two_layer_archive "$E2E_TMP/two.tar" dang2:1 "unique layer content")
ok strata load -i "$E2E_TMP/two.tar"
ok strata tag keep:1 dang2:1 # the loaded image becomes dangling; its hello layer is unique
ok strata images -q --no-trunc --filter dangling=true
assert_eq "$(printf '%s\n' "$d1" "$d2" | sort)" "$(sort <<<"$out")" "two dangling images"
before=$(strata images -a -q --no-trunc | sort -u)

note "answering n removes nothing"
printf 'n\n' >"$E2E_TMP/no"
run_in "$E2E_TMP/no" strata image prune
assert_eq 0 "$status" "prune answered n: $err"
assert_contains "$out" "WARNING! This will remove all dangling images."
assert_contains "$out" "Are you sure you want to continue? [y/N]"
assert_eq "$before" "$(strata images -a -q --no-trunc | sort -u)" "nothing removed"

note "prune -f removes the dangling images only"
ok strata image prune -f
assert_eq "Deleted Images:" "$(head -n 1 <<<"$out")"
assert_eq "$(printf 'deleted: %s\n' "$d1" "$d2" | sort)" "$(grep '^deleted: ' <<<"$out" | grep -e "$d1" -e "$d2" | sort)" "deleted lines"
assert_eq 0 "$(grep -c '^untagged: ' <<<"$out" || true)" "nothing untagged without -a"
assert_eq "" "$(tail -n 2 <<<"$out" | sed -n 1p)" "an empty line before the total"
total=$(tail -n 1 <<<"$out")
assert_match "$total" '^Total reclaimed space: [0-9.]+[kMGT]?B$' "total line"
assert_ne "Total reclaimed space: 0B" "$total" "the unique hello layer was reclaimed"
ok strata images -q --no-trunc --filter dangling=true
assert_eq "" "$out" "no dangling image left"
ok strata images --format '{{.Repository}}:{{.Tag}}'
assert_eq "dang2:1 dang:1 keep:1" "$(sort <<<"$out" | xargs)" "tagged images kept"

note "nothing left to prune"
ok strata image prune -f
assert_eq "Total reclaimed space: 0B" "$out"

note "answering y prunes"
strata import -m d3 "$E2E_TMP/busybox.tar" dang:1 >/dev/null # the previous dang:1 dangles
printf 'y\n' >"$E2E_TMP/yes"
run_in "$E2E_TMP/yes" strata image prune
assert_eq 0 "$status" "prune answered y: $err"
assert_contains "$out" "Deleted Images:"
ok strata images -q --filter dangling=true
assert_eq "" "$out" "pruned after y"

note "prune -a -f removes every unused image and frees the layers"
ok strata image prune -a -f
assert_eq "Deleted Images:" "$(head -n 1 <<<"$out")"
assert_contains "$out" "untagged: keep:1"
assert_contains "$out" "untagged: dang:1"
assert_contains "$out" "deleted: $keep"
assert_match "$(tail -n 1 <<<"$out")" '^Total reclaimed space: [0-9.]+[kMGT]?B$'
assert_ne "Total reclaimed space: 0B" "$(tail -n 1 <<<"$out")"
ok strata images -a -q
assert_eq "" "$out" "nothing left"
assert_eq 0 "$(count_big_files "$big")" "layers freed"
