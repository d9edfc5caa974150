#!/usr/bin/env bash
# strata system df
#
# Checked against docker 20.10 (`docker system df`):
#      TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE
#      Images          2         0         1.982MB   1.982MB (100%)
#      Containers      0         0         0B        0B
#      Local Volumes   0         0         0B        0B
#      Build Cache     0         0         0B        0B
#  - tabwriter layout; TOTAL counts images, not tags; SIZE counts each layer once (two images
#    sharing a 1.982MB layer -> 1.982MB); sizes use HumanSize (4 significant digits);
#  - RECLAIMABLE is "X (P%)" when SIZE > 0, plain "0B" otherwise.
source "$(dirname "$0")/lib.sh"

cols=(TYPE TOTAL ACTIVE SIZE RECLAIMABLE)
busybox_rootfs_tar "$E2E_TMP/busybox.tar"
bb=$(helper docker-size "$E2E_TMP/busybox.tar")

df_cells() {
  ok strata system df
  printf '%s\n' "$out" | check_table "${cols[@]}"
  assert_match "$(head -n 1 <<<"$out")" '^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$' "header"
  printf '%s\n' "$out" | table_cells "${cols[@]}"
}

note "empty store"
ok strata images # creates the store
cells=$(df_cells)
assert_eq "Images	0	0	0B	0B
Containers	0	0	0B	0B
Local Volumes	0	0	0B	0B
Build Cache	0	0	0B	0B" "$cells" "empty store"

note "two images sharing a layer, one with two tags"
strata import -m one "$E2E_TMP/busybox.tar" one:1 >/dev/null
strata import -m two "$E2E_TMP/busybox.tar" two:1 >/dev/null
ok strata tag two:1 two:2
cells=$(df_cells)
assert_eq "Images	2	0	$(human_size "$bb" 4)	$(human_size "$bb" 4) (100%)" "$(sed -n 1p <<<"$cells")" "Images row"
assert_eq "Containers	0	0	0B	0B" "$(sed -n 2p <<<"$cells")"
assert_eq "Local Volumes	0	0	0B	0B" "$(sed -n 3p <<<"$cells")"
assert_eq "Build Cache	0	0	0B	0B" "$(sed -n 4p <<<"$cells")"

note "a third image with a 100 kB layer of its own"
python3 -c 'import json; print(json.dumps([{"name": "big.bin", "data": "x" * 100000}]))' >"$E2E_TMP/spec"
helper layer "$E2E_TMP/big-layer.tar" "@$E2E_TMP/spec"
helper docker-archive "$E2E_TMP/three.tar" --tag three:1 "$E2E_TMP/busybox.tar" "$E2E_TMP/big-layer.tar" >/dev/null
ok strata load -i "$E2E_TMP/three.tar"
cells=$(df_cells)
total=$(human_size $((bb + 100000)) 4)
assert_eq "Images	3	0	$total	$total (100%)" "$(sed -n 1p <<<"$cells")" "Images row counts each layer once"

note "after removing everything"
ok strata rmi one:1 two:1 two:2 three:1
cells=$(df_cells)
assert_eq "Images	0	0	0B	0B" "$(sed -n 1p <<<"$cells")"
