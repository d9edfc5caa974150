#!/usr/bin/env bash
# strata's main example, from nothing: turn Debian's busybox-static into a root filesystem,
# import it as busybox:latest, list, inspect and trace it, tag it, save it in both archive
# formats, and load it into a second, fresh store. Then run containers from it (in the
# foreground and detached: ps, logs, exec, stop), change one, look at its diff, commit it as a
# new image with a message and an author, read that image's history and run it. Then build
# images from Dockerfiles: a two-stage build on busybox (and its cached rebuild), push it to a
# private registry (`strata registry serve`) and run it from an empty store, which pulls it;
# and the seeds' nginx example on a Debian base made with debootstrap: build it (its RUN steps
# reach Debian's archive through the default bridge network), run it detached with its port
# published (-p 8080:80), fetch the page with curl, change the page in the running container and
# commit that as a new image.
#
#   scripts/demo.sh            uses a throwaway store (or $STRATA_ROOT when set)
#   STRATA_BIN=path/to/strata scripts/demo.sh
#   STRATA_DEMO_NGINX=0        skips the nginx example (it needs root, debootstrap and Debian's
#                              archive; the debootstrap base is kept in /var/tmp/strata-demo-cache
#                              by scripts/debian-base.sh)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
strata_bin=${STRATA_BIN:-$repo/build/strata}
[ -x "$strata_bin" ] || { echo "demo: $strata_bin not found; run 'make build' first" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "demo: /bin/busybox not found; install busybox-static" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-demo.XXXXXX")
demo_containers=(demo-sleeper demo-changer hellonginx)
registry_pid=""
cleanup() {
  # containers first (their processes and mounts live on the store), then the work dir
  "$strata_bin" rm -f "${demo_containers[@]}" >/dev/null 2>&1 || true
  [ -z "$registry_pid" ] || { kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
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

step "strata run --rm busybox sh -c 'echo hello from a container; hostname; echo my pid is \$\$'"
strata run --rm busybox sh -c 'echo hello from a container; hostname; echo my pid is $$'

step "strata run -d --name demo-sleeper busybox sh -c '...'   (detached: it outlives this command)"
strata run -d --name demo-sleeper busybox \
  sh -c 'echo sleeper started; trap "echo sleeper stopping; exit 0" TERM; while :; do sleep 1; done'
sleep 1

step "strata ps"
strata ps

step "strata logs demo-sleeper"
strata logs demo-sleeper

step "strata exec demo-sleeper sh -c 'hostname; echo exec pid \$\$; ps'"
strata exec demo-sleeper sh -c 'hostname; echo exec pid $$; ps'

step "strata stop demo-sleeper"
strata stop demo-sleeper

step "change a container: strata run --name demo-changer busybox sh -c 'mkdir /newdir && echo ... > /newdir/greeting && echo ... >> /etc/passwd && rm /bin/ls'"
strata run --name demo-changer busybox sh -c \
  'mkdir /newdir && echo "hello from a committed layer" > /newdir/greeting &&
   echo "demo:x:1000:1000:demo:/:/bin/sh" >> /etc/passwd && rm /bin/ls'

step "strata ps -a"
strata ps -a

step "strata diff demo-changer"
strata diff demo-changer

step "strata commit -m 'add a greeting' -a 'strata demo <demo@example.com>' -c 'CMD [\"cat\",\"/newdir/greeting\"]' demo-changer demo/greeting:1.0"
strata commit -m "add a greeting" -a "strata demo <demo@example.com>" \
  -c 'CMD ["cat","/newdir/greeting"]' demo-changer demo/greeting:1.0

step "strata history demo/greeting:1.0"
strata history demo/greeting:1.0

step "strata image inspect --format '{{.Author}} | {{.Comment}} | {{json .Config.Cmd}}' demo/greeting:1.0"
strata image inspect --format '{{.Author}} | {{.Comment}} | {{json .Config.Cmd}}' demo/greeting:1.0

step "strata run --rm demo/greeting:1.0   (the committed change is in the new image)"
strata run --rm demo/greeting:1.0

step "strata run --rm busybox sh -c 'cat /newdir/greeting'   (the base image is untouched)"
if strata run --rm busybox sh -c 'cat /newdir/greeting'; then
  echo "demo: the base image sees the committed change" >&2
  exit 1
fi
echo "(no /newdir in busybox:latest, as expected)"

step "strata rm demo-sleeper demo-changer && strata ps -a"
strata rm demo-sleeper demo-changer
strata ps -a

step "strata build: a two-stage Dockerfile (build tools stay in the first stage)"
ctx="$work/hello"
mkdir -p "$ctx"
echo "hello from the build context" >"$ctx/hello.txt"
cat >"$ctx/Dockerfile" <<'DF'
FROM busybox:latest AS builder
RUN echo "made in the builder stage" > /message
FROM busybox:latest
COPY --from=builder /message /message
COPY hello.txt /hello.txt
CMD ["cat", "/message", "/hello.txt"]
DF
cat "$ctx/Dockerfile"
strata build -t demo/hello:1 "$ctx"

step "strata run --rm demo/hello:1"
strata run --rm demo/hello:1

step "strata build -t demo/hello:2 again: every step comes from the cache, same image ID"
strata build -t demo/hello:2 "$ctx"
strata images demo/hello

step "strata history demo/hello:1"
strata history demo/hello:1

step "strata registry serve: a private registry of strata's own, on 127.0.0.1"
reg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$strata_bin" registry serve -q --addr "127.0.0.1:$reg_port" --storage "$work/registry" &
registry_pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$reg_port/v2/" && break; sleep 0.05; done

step "strata tag demo/hello:1 127.0.0.1:$reg_port/demo/hello:1 && strata push 127.0.0.1:$reg_port/demo/hello:1"
strata tag demo/hello:1 "127.0.0.1:$reg_port/demo/hello:1"
strata push "127.0.0.1:$reg_port/demo/hello:1"

step "strata push again: the registry has every layer"
strata push "127.0.0.1:$reg_port/demo/hello:1"

step "strata --root $work/third-store run --rm 127.0.0.1:$reg_port/demo/hello:1   (an empty store: run pulls it)"
strata --root "$work/third-store" run --rm "127.0.0.1:$reg_port/demo/hello:1"
strata --root "$work/third-store" images --digests
kill "$registry_pid"; wait "$registry_pid" 2>/dev/null || true; registry_pid=""

if [ "${STRATA_DEMO_NGINX:-1}" != 0 ]; then
  step "the seeds' nginx example: a Debian base from debootstrap (scripts/debian-base.sh), imported as debian:bookworm"
  base_tar=$("$repo/scripts/debian-base.sh" /var/tmp/strata-demo-cache)
  ls -l "$base_tar"
  strata import "$base_tar" debian:bookworm

  # the seeds' image design: OS -> nginx install -> nginx config -> index.html
  nginx_ctx="$work/nginx"
  cp -r "$repo/examples/hellonginx" "$nginx_ctx"
  cat "$nginx_ctx/Dockerfile"
  step "strata build -t hellonginx:1   (RUN steps reach Debian's archive through the default bridge network)"
  strata build -t hellonginx:1 "$nginx_ctx"

  # the issue's port, 8080, unless something on this host holds it
  port=$(python3 -c '
import socket
def free(port):  # strata binds both 0.0.0.0 and [::]
    try:
        for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            with socket.socket(fam) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((addr, port)); port = s.getsockname()[1]
        return port
    except OSError:
        return None
print(free(8080) or free(0) or free(0))')
  [ "$port" = 8080 ] || echo "(port 8080 is busy on this host: publishing on $port instead)"
  step "strata run -d -p $port:80 --name hellonginx hellonginx:1"
  strata run -d -p "$port:80" --name hellonginx hellonginx:1
  for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done

  step "curl -i http://127.0.0.1:$port/"
  curl -sS -i "http://127.0.0.1:$port/"

  step "strata ps"
  strata ps

  step "strata port hellonginx"
  strata port hellonginx

  step "strata exec hellonginx sh -c 'echo ... > /var/www/html/index.html'   (change the running container)"
  strata exec hellonginx sh -c \
    'echo "<html><body><h1>Changed inside the container, committed by strata</h1></body></html>" > /var/www/html/index.html'
  curl -sS "http://127.0.0.1:$port/"

  step "strata commit -m 'changed page' hellonginx hellonginx:2"
  strata commit -m "changed page" hellonginx hellonginx:2

  step "strata history hellonginx:2"
  strata history hellonginx:2

  step "strata rm -f hellonginx"
  strata rm -f hellonginx
fi

printf '\ndemo finished\n'
