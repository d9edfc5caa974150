#!/usr/bin/env bash
# Prints the path of a tarball of a Debian bookworm minbase root filesystem (debootstrap
# --variant=minbase), made once and then kept in CACHE_DIR:
#
#   scripts/debian-base.sh CACHE_DIR        -> CACHE_DIR/debian-bookworm-minbase.tar
#   DEBIAN_MIRROR=http://... (default http://deb.debian.org/debian)
#
# Used by scripts/demo.sh and tests/e2e/test_nginx_example.sh (`strata import "$tar"
# debian:bookworm`). Needs root and debootstrap the first time. The tarball appears whole or not
# at all (written to a .tmp file, then renamed), and a lock (CACHE_DIR/debian-bookworm-minbase.lock)
# makes concurrent callers wait for the one that builds it. Progress and errors go to stderr; when
# debootstrap fails the script exits 1 with the tail of CACHE_DIR/debootstrap.log.
set -euo pipefail

[ $# = 1 ] || { echo "usage: $0 CACHE_DIR" >&2; exit 2; }
cache=$1
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
tar_path="$cache/debian-bookworm-minbase.tar"

if [ -s "$tar_path" ]; then echo "$tar_path"; exit 0; fi

command -v debootstrap >/dev/null || { echo "debian-base: debootstrap is not installed" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debian-base: debootstrap needs root" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/debian-bookworm-minbase.lock"
flock -w 1800 9 || { echo "debian-base: could not take $cache/debian-bookworm-minbase.lock" >&2; exit 1; }
# another caller may have made it while we waited
if [ -s "$tar_path" ]; then echo "$tar_path"; exit 0; fi

stage=""
remove_stage() {
  [ -n "$stage" ] && [ -d "$stage" ] || return 0
  # debootstrap mounts /proc and /sys in the target while it runs: unmount whatever is left,
  # and never cross into another file system while removing
  { findmnt -rn -o TARGET | grep -F "$stage/" | sort -r || true; } |
    while IFS= read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system -- "$stage"
}
trap 'remove_stage' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# a run killed half-way leaves its stage directory (and its .tmp) behind
for old in "$cache"/rootfs.*; do
  if [ -d "$old" ]; then stage=$old; remove_stage; fi
done
rm -f -- "$tar_path.tmp"

stage=$(mktemp -d "$cache/rootfs.XXXXXX")
log="$cache/debootstrap.log"
echo "debian-base: debootstrap --variant=minbase bookworm from $mirror (log: $log)" >&2
if ! debootstrap --variant=minbase bookworm "$stage/root" "$mirror" >"$log" 2>&1; then
  echo "debian-base: debootstrap failed; the end of $log:" >&2
  tail -n 15 "$log" | sed 's/^/  /' >&2
  exit 1
fi
tar -C "$stage/root" --numeric-owner -cf "$tar_path.tmp" .
mv -f -- "$tar_path.tmp" "$tar_path"
echo "$tar_path"
