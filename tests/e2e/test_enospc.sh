#!/usr/bin/env bash
# A full disk: the store on a small tmpfs. `import`, `load`, `build` (COPY) and `commit` that run
# out of space fail with status 125 and one line naming the write and "No space left on device",
# leave the store as it was (tmp/ emptied again), and `system check` still finds it consistent;
# once space is freed the same commands work.
source "$(dirname "$0")/lib.sh"
containers_setup

small=$E2E_TMP/small
mkdir -p "$small"
mount -t tmpfs -o size=6m tmpfs "$small" || skip "cannot mount a tmpfs"
on_exit "umount -l '$small' 2>/dev/null"
export STRATA_ROOT=$small/root

note "setup: busybox in a 6 MiB store"
bb_image bb
ok strata run --name writer --network none bb sh -c 'echo small > /small'
free_kb=$(df -k --output=avail "$small" | tail -1)
echo "free after setup: ${free_kb} KiB"
# More than is left: every write below runs out of space part-way.
big_kb=$(( free_kb + 1024 ))
mkdir -p "$E2E_TMP/big/data" "$E2E_TMP/ctx"
head -c "$(( big_kb * 1024 ))" /dev/urandom >"$E2E_TMP/big/data/blob"
tar -C "$E2E_TMP/big" -cf "$E2E_TMP/big.tar" .
cp "$E2E_TMP/big/data/blob" "$E2E_TMP/ctx/blob"
printf 'FROM bb\nCOPY blob /blob\n' >"$E2E_TMP/ctx/Dockerfile"
other() { STRATA_ROOT="$E2E_TMP/other-root" "$STRATA_BIN" "$@"; }
ok other import "$E2E_TMP/big.tar" big:1
ok other save -o "$E2E_TMP/big-archive.tar" big:1

consistent() { # WHEN
  run strata system check
  [ "$status" = 0 ] || fail "$1: system check found problems:
$out
$err"
  assert_not_contains "$out" "Leftovers" "$1: leftovers after a failed write"
  assert_eq "" "$(ls "$STRATA_ROOT/tmp")" "$1: tmp/ not emptied"
}

note "import of a tar larger than the free space"
expect_error --names "No space left on device" strata import "$E2E_TMP/big.tar" big:1
consistent "after import"

note "load of an archive larger than the free space"
expect_error --names "No space left on device" strata load -i "$E2E_TMP/big-archive.tar"
consistent "after load"

note "build whose COPY does not fit"
expect_error --names "No space left on device" strata build -q -t big:2 "$E2E_TMP/ctx"
consistent "after build"

note "commit of a container whose changes do not fit twice"
# The container writes into its own layer until the disk is full; committing it needs as much
# again for the layer's blob and tree.
run strata run --name filler --network none bb sh -c "head -c $(( free_kb * 1024 / 2 )) /dev/zero > /fill"
assert_eq 0 "$status" "filling the container layer: $err"
expect_error --names "No space left on device" strata commit filler filled:1
consistent "after commit"

note "after freeing space the same commands work"
ok strata rm filler
ok strata image inspect bb
ok strata run --rm --network none bb cat /etc/passwd
umount -l "$small"
mount -t tmpfs -o size=64m tmpfs "$small"
export STRATA_ROOT=$small/root2
ok strata import "$E2E_TMP/big.tar" big:1
ok strata load -i "$E2E_TMP/big-archive.tar"
bb_image bb
ok strata build -q -t big:2 "$E2E_TMP/ctx"
ok strata system check
assert_contains "$out" "The store is consistent"
