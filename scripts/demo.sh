#!/usr/bin/env bash
# strata's main example, from nothing: turn Debian's busybox-static into a root filesystem,
# import it as busybox:latest, list, inspect and trace it, tag it, save it in both archive
# formats, and load it into a second, fresh store.
#
#   scripts/demo.sh            uses a throwaway store (or $STRATA_ROOT when set)
#   STRATA_BIN=path/to/strata scripts/demo.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
strata_bin=${STRATA_BIN:-$repo/build/strata}
[ -x "$strata_bin" ] || { echo "demo: $strata_bin not found; run 'make build' first" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "demo: /bin/busybox not found; install busybox-static" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export STRATA_ROOT=${STRATA_ROOT:-$work/store}
second_root="$work/second-store"

step() { printf '\n==> %s\n' "$*"; }
strata() { "$strata_bin" "$@"; }

step "strata --version"
strata --version

step "building a busybox root filesystem in $work/rootfs.tar"
rootfs="$work/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in sh ls cat echo true false env mkdir rm cp mv ln id pwd sleep test wc uname; do
  ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\n' >"$rootfs/etc/group"
tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner -cf "$work/rootfs.tar" .
ls -l "$work/rootfs.tar"

step "strata import -m 'busybox from Debian' -c 'CMD [\"sh\"]' rootfs.tar busybox:latest   (store: $STRATA_ROOT)"
id=$(strata import -m "busybox from Debian" -c 'CMD ["sh"]' "$work/rootfs.tar" busybox:latest)
echo "$id"

step "strata images"
strata images

step "strata image inspect busybox"
strata image inspect busybox

step "strata image inspect --format '{{.Id}} {{json .Config.Cmd}} {{json .RootFS.Layers}}' busybox"
strata image inspect --format '{{.Id}} {{json .Config.Cmd}} {{json .RootFS.Layers}}' busybox

step "strata image history busybox"
strata image history busybox

step "strata tag busybox:latest demo/busybox:1.0"
strata tag busybox:latest demo/busybox:1.0
strata images

step "strata save -o busybox-docker.tar busybox:latest demo/busybox:1.0   (docker-archive)"
strata save -o "$work/busybox-docker.tar" busybox:latest demo/busybox:1.0
tar tvf "$work/busybox-docker.tar"

step "strata save --format oci-archive -o busybox-oci.tar busybox:latest"
strata save --format oci-archive -o "$work/busybox-oci.tar" busybox:latest
tar tvf "$work/busybox-oci.tar"

step "strata --root $second_root load -i busybox-oci.tar   (a second, fresh store)"
strata --root "$second_root" load -i "$work/busybox-oci.tar"

step "strata --root $second_root load -i busybox-docker.tar"
strata --root "$second_root" load -i "$work/busybox-docker.tar"

step "strata --root $second_root images"
strata --root "$second_root" images
loaded=$(strata --root "$second_root" image inspect --format '{{.Id}}' busybox:latest)
[ "$loaded" = "$id" ] || { echo "demo: the reloaded image has ID $loaded, expected $id" >&2; exit 1; }
echo "same image ID in both stores: $id"

step "strata system df"
strata system df

step "strata rmi demo/busybox:1.0 && strata image prune -f"
strata rmi demo/busybox:1.0
strata image prune -f

printf '\ndemo finished\n'
