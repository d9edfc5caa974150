#!/usr/bin/env bash
# strata's containers side by side with Docker's (Debian docker.io 20.10, --network none): the
# same image (the busybox tarball, imported into both), the same commands, and outputs compared:
# diff lines (as a set, parents before children: docker's order varies), ps COMMAND cells
# (quoting and truncation), what the process sees (env, id, /dev, capabilities, pid 1), the
# State keys of inspect, and commit's history row (CREATED BY, SIZE, COMMENT) and Author.
# Docker containers and images are named strata-e2e-<token>-* and removed at exit.
source "$(dirname "$0")/lib.sh"

containers_setup
start_docker
busybox_rootfs_tar "$E2E_TMP/busybox.tar"
dimg=$(docker_name bb):1
docker import -c 'CMD ["sh"]' "$E2E_TMP/busybox.tar" "$dimg" >/dev/null
strata import -c 'CMD ["sh"]' "$E2E_TMP/busybox.tar" bb >/dev/null
dn() { docker_name "c-$1"; } # a docker container name
both() { # NAME CMD... : run CMD in a new container named NAME in both; sets $d_out/$s_out (stdout)
  local name=$1; shift
  d_out=$(docker run --network none --name "$(dn "$name")" "$dimg" "$@" 2>"$E2E_TMP/d.err") || true
  s_out=$(strata run --name "$name" bb "$@" 2>"$E2E_TMP/s.err") || true
}
same() { # WHAT: $d_out and $s_out must be equal
  assert_eq "$d_out" "$s_out" "$1 (docker vs strata)"
}

note "what the process sees"
both env-flags sh -c 'env | grep -v ^HOSTNAME= | sort'
same "environment"
both env-e env -e A=1 -e B=two env
d_out=$(grep -v ^HOSTNAME= <<<"$d_out" | sort); s_out=$(grep -v ^HOSTNAME= <<<"$s_out" | sort)
same "environment with env -e"
for u in nobody 65534:65534 1234 1234:5678 nobody:root root; do
  d_out=$(docker run --rm --network none -u "$u" "$dimg" id)
  s_out=$(strata run --rm -u "$u" bb id)
  same "id with -u $u"
done
both dev sh -c 'ls /dev'
same "/dev"
both caps sh -c 'grep -E "^(Cap|Seccomp:)" /proc/self/status'
same "capabilities and seccomp"
both pid1 sh -c 'echo $$; cat /proc/1/comm'
same "pid 1"
both wd sh -c 'cd /; pwd; ls -ld / | cut -c1-10'
same "working directory"
d_out=$(docker run --rm --network none -w /some/dir "$dimg" sh -c 'pwd; stat -c "%U %G %a" .')
s_out=$(strata run --rm -w /some/dir bb sh -c 'pwd; stat -c "%U %G %a" .')
same "-w of a missing directory"
both hosts sh -c 'grep -v "^#" /etc/hosts | grep -c localhost'
same "/etc/hosts localhost entries"

note "diff"
changes=(
  'mkdir /newdir && echo hi > /newdir/newfile && echo "x:x:1:1::/:/bin/sh" >> /etc/passwd && rm /bin/ls'
  'chmod 600 /etc/group; touch /etc/passwd; mkdir /tmp/t; echo a >/tmp/t/f; rm -rf /tmp/t; rm -rf /root; mkdir /root; echo z >/root/z'
  'mkdir -p /a/b/c && echo f >/a/b/c/f && ln -s /a/b/c/f /a/link && rm /bin/cat /bin/echo && ln -s busybox /bin/cat'
  'true'
  'rm -rf /bin && mkdir /bin && ln -s /bin/nothing /bin/sh; true'
)
n=0
for c in "${changes[@]}"; do
  n=$((n + 1))
  both "diff$n" sh -c "$c"
  docker diff "$(dn "diff$n")" >"$E2E_TMP/d.diff"
  ok strata diff "diff$n"
  printf '%s\n' "$out" >"$E2E_TMP/s.diff"
  helper diff-lines "$E2E_TMP/d.diff" "$E2E_TMP/s.diff" >&2 || fail "diff after [$c]: docker
$(cat "$E2E_TMP/d.diff")
strata
$out"
done

note "ps COMMAND cells"
cmds=('true' 'echo a b' 'echo "quoted words" plain' 'sh -c exit' "echo it's" 'echo 0123456789012345678901234')
n=0
for c in "${cmds[@]}"; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  docker create --network none --name "$(dn "cmd$n")" "$dimg" $c >/dev/null
  # shellcheck disable=SC2086
  strata create --name "cmd$n" bb $c >/dev/null
done
dcells=$(docker ps -a --filter "name=$(dn cmd)" | table_cells "${PS_COLS[@]}" | cut -f3)
scells=$(strata ps -a | table_cells "${PS_COLS[@]}" | awk -F'\t' '$7 ~ /^cmd/' | cut -f3)
assert_eq "$dcells" "$scells" "ps COMMAND cells"
dcells=$(docker ps -a --no-trunc --filter "name=$(dn cmd)" | table_cells "${PS_COLS[@]}" | cut -f3)
scells=$(strata ps -a --no-trunc | table_cells "${PS_COLS[@]}" | awk -F'\t' '$7 ~ /^cmd/' | cut -f3)
assert_eq "$dcells" "$scells" "ps --no-trunc COMMAND cells"
assert_eq "$(docker ps -a --filter "name=$(dn cmd)" --format '{{.Status}}' | sort -u)" \
  "$(strata ps -a --format '{{.Status}} {{.Names}}' | awk '$2 ~ /^cmd/ { print $1 }' | sort -u)" "STATUS of created containers"

note "inspect"
dkeys=$(docker container inspect "$(dn diff1)" | helper json-get 'sorted(v[0]["State"])')
skeys=$(strata container inspect diff1 | helper json-get 'sorted(v[0]["State"])')
missing=$(python3 -c 'import json, sys; print(sorted(set(json.loads(sys.argv[1])) - set(json.loads(sys.argv[2]))))' "$dkeys" "$skeys")
assert_eq "[]" "$missing" "State keys docker has and strata lacks"
for k in Status Running Paused Restarting OOMKilled Dead Pid ExitCode; do
  assert_eq "$(docker container inspect "$(dn diff1)" | helper json-get "v[0]['State']['$k']")" \
    "$(strata container inspect diff1 | helper json-get "v[0]['State']['$k']")" "State.$k"
done
for k in Path Args "['Config']['Cmd']" "['Config']['Entrypoint']" "['Config']['User']" "['Config']['WorkingDir']"; do
  [[ $k == \[* ]] || k="['$k']"
  assert_eq "$(docker container inspect "$(dn diff1)" | helper json-get "v[0]$k")" \
    "$(strata container inspect diff1 | helper json-get "v[0]$k")" "inspect $k"
done

note "commit"
sc=$(docker_name scommitted):1 # strata's image, later loaded into docker
docker commit -m "the message" -a "An Author <a@example.com>" "$(dn diff1)" "$(docker_name committed):1" >/dev/null
ok strata commit -m "the message" -a "An Author <a@example.com>" diff1 "$sc"
cols=(IMAGE CREATED 'CREATED BY' SIZE COMMENT)
assert_eq "$(docker history --no-trunc "$(docker_name committed):1" | table_cells "${cols[@]}" | sed -n 1p | cut -f3-)" \
  "$(strata history --no-trunc "$sc" | table_cells "${cols[@]}" | sed -n 1p | cut -f3-)" "history row of the commit"
assert_eq "$(docker history "$(docker_name committed):1" | table_cells "${cols[@]}" | sed -n 1p | cut -f3-)" \
  "$(strata history "$sc" | table_cells "${cols[@]}" | sed -n 1p | cut -f3-)" "truncated history row"
for k in Author Comment "['Config']['Cmd']"; do
  [[ $k == \[* ]] || k="['$k']"
  assert_eq "$(docker image inspect "$(docker_name committed):1" | helper json-get "v[0]$k")" \
    "$(strata image inspect "$sc" | helper json-get "v[0]$k")" "image $k"
done
assert_eq "$(docker image inspect "$(docker_name committed):1" | helper json-get "v[0]['Size']")" \
  "$(strata image inspect "$sc" | helper json-get "v[0]['Size']")" "Size of the committed image"

note "strata's committed image in docker, docker's in strata"
ok strata save -o "$E2E_TMP/committed.tar" "$sc"
docker load -i "$E2E_TMP/committed.tar" >/dev/null
assert_eq "hi" "$(docker run --rm --network none "$sc" cat /newdir/newfile)" "docker runs strata's committed image"
docker save -o "$E2E_TMP/dcommitted.tar" "$(docker_name committed):1"
ok strata load -i "$E2E_TMP/dcommitted.tar"
ok strata run --rm "$(docker_name committed):1" sh -c 'cat /newdir/newfile; test -e /bin/ls || echo no-ls'
assert_eq "hi
no-ls" "$out" "strata runs docker's committed image"
