#!/usr/bin/env bash
# --userns=auto: container root is an unprivileged host uid/gid (a block of 65536 ids from the
# lines of user "strata" in /etc/subuid and /etc/subgid), the image's files still belong to root
# inside, what the container writes is stored with the container's own ids, and host root's
# files are out of its reach. Also exec, cp, commit, restart and the refusals.
#
# Docker's userns-remap (a daemon option) was the model for what container root can and cannot
# do and for the refusals (--privileged, --network host); no remapped daemon runs here, so the
# values asserted come from the kernel's rules, not from a Docker run.
source "$(dirname "$0")/lib.sh"

containers_setup
bb_image bb

# A strata line in both files, added by the test when missing and removed again (only that line).
LINE="strata:200000:655360"
added=()
for f in /etc/subuid /etc/subgid; do
  if ! grep -q '^strata:' "$f" 2>/dev/null; then
    echo "$LINE" >>"$f"
    added+=("$f")
  fi
done
remove_added_lines() {
  local f
  for f in "${added[@]}"; do sed -i "\|^$LINE\$|d" "$f"; done
}
on_exit remove_added_lines
BASE=$(awk -F: '$1 == "strata" { print $2; exit }' /etc/subuid)
GBASE=$(awk -F: '$1 == "strata" { print $2; exit }' /etc/subgid)
maps() { awk '{ $1 = $1; print }'; }
# tar_owners NAME...: "uid/gid" of each NAME in the tar on stdin (with or without ./ and a final /)
tar_owners() {
  tar -tvf - --numeric-owner | awk -v want="$*" 'BEGIN { n = split(want, w, " ") }
    { name = $6; sub(/^\.\//, "", name); sub(/\/$/, "", name); own[name] = $2 }
    END { for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? " " : ""), own[w[i]] }'
}

note "the container's root is host uid $BASE, root inside"
ok strata run --rm --userns=auto bb sh -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g'
assert_eq "0 $BASE 65536
0 $GBASE 65536
0
0" "$(maps <<<"$out")" "uid_map, gid_map, id inside"
ok strata run --rm bb cat /proc/self/uid_map
assert_eq "0 0 4294967295" "$(maps <<<"$out")" "without --userns: the host's user namespace"

ok strata run -d --name d1 --userns=auto bb sleep 300
pid=$(ctr_json d1 "['State']['Pid']")
assert_eq "$BASE $BASE $BASE $BASE" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/"$pid"/status)" "pid 1's uids on the host"
assert_eq "$GBASE" "$(awk '/^Gid:/ { print $2 }' /proc/"$pid"/status)" "pid 1's gid on the host"
assert_eq "auto" "$(ctr_json d1 "['HostConfig']['UsernsMode']")" "HostConfig.UsernsMode"
ok strata create --name plain bb true
assert_eq "" "$(ctr_json plain "['HostConfig']['UsernsMode']")" "HostConfig.UsernsMode without --userns"

note "the image's files and strata's own belong to root inside"
ok strata exec d1 sh -c 'stat -c %u:%g /bin /etc/passwd /etc/hosts /etc/hostname /etc/resolv.conf /dev /dev/shm; ls -ln /etc | awk "NR > 1 { print \$3 \":\" \$4 }" | sort -u'
assert_eq "0:0
0:0
0:0
0:0
0:0
0:0
0:0
0:0" "$out" "owners of /bin, /etc/*, /dev, /dev/shm"

note "exec joins the same user namespace, as root inside"
ok strata exec d1 sh -c 'cat /proc/self/uid_map; id -u; echo $$ >/tmp/pid; sleep 0.1'
assert_eq "0 $BASE 65536
0" "$(maps <<<"$out")" "exec: uid_map and id"
ok strata exec -u 1000 d1 id -u
assert_eq "1000" "$out" "exec -u 1000"

note "a second container gets the next block"
ok strata run -d --name d2 --userns=auto bb sleep 300
ok strata exec d2 cat /proc/self/uid_map /proc/self/gid_map
assert_eq "0 $((BASE + 65536)) 65536
0 $((GBASE + 65536)) 65536" "$(maps <<<"$out")" "d2's ranges"

note "what the container writes is stored with its own ids"
ok strata run --name wr --userns=auto bb sh -c 'echo hi >/newfile; mkdir /d; chown 1000:1001 /d; echo x >>/etc/passwd; stat -c %u:%g /newfile /d'
assert_eq "0:0
1000:1001" "$out" "owners inside"
upper=$(ctr_json wr "['GraphDriver']['Data']['UpperDir']")
assert_eq "0:0 1000:1001 0:0" "$(stat -c %u:%g "$upper/newfile" "$upper/d" "$upper/etc/passwd" | tr '\n' ' ' | sed 's/ $//')" "owners in the upper dir on disk"
ok strata diff wr
assert_contains "$out" "A /newfile"
assert_contains "$out" "C /etc/passwd"
ok strata export -o "$E2E_TMP/w.tar" wr
assert_eq "0/0 1000/1001 0/0" "$(tar_owners newfile d bin <"$E2E_TMP/w.tar")" "owners in export"
ok strata commit wr wimg
ok strata run --rm wimg sh -c "stat -c %u:%g /newfile /d"
assert_eq "0:0
1000:1001" "$out" "the committed image, run without --userns"

note "restart keeps the block"
ok strata start -a wr
ok strata restart d1
ok strata exec d1 cat /proc/self/uid_map
assert_eq "0 $BASE 65536" "$(maps <<<"$out")" "d1 after restart"

note "host files: a shared directory, a root-only file"
shared="$E2E_TMP/shared"
mkdir "$shared" && chmod 1777 "$shared"
ok strata run --rm --userns=auto -v "$shared:/shared" bb sh -c 'touch /shared/f; stat -c %u /shared/f; cat /proc/self/uid_map'
assert_eq "0" "$(head -n 1 <<<"$out")" "owner inside"
# d1, d2 and wr hold the first three blocks
assert_eq "0 $((BASE + 3 * 65536)) 65536" "$(tail -n 1 <<<"$out" | maps)" "the lowest free block"
assert_eq "$((BASE + 3 * 65536))" "$(stat -c %u "$shared/f")" "owner on the host"
secret="$E2E_TMP/secret"
echo s3cret >"$secret" && chmod 0600 "$secret"
run strata run --rm --userns=auto -v "$secret:/secret" bb cat /secret
assert_ne 0 "$status" "reading a root-only host file"
assert_contains "$err" "Permission denied"
ok strata run --rm -v "$secret:/secret" bb cat /secret
assert_eq "s3cret" "$out" "the same without --userns"

note "a named volume made for the container belongs to its root"
ok strata run --rm --userns=auto -v uvol:/data bb sh -c 'touch /data/x && stat -c %u:%g /data /data/x'
assert_eq "0:0
0:0" "$out" "volume owners inside"

note "-u and -w: ids inside, host ids outside"
ok strata run --name u1 --userns=auto -u 1000:1000 -w /work bb sh -c 'id -u; stat -c %u /work; touch f'
assert_eq "1000
1000" "$out" "-u 1000 -w /work"
upper=$(ctr_json u1 "['GraphDriver']['Data']['UpperDir']")
assert_eq "1000:1000 1000:1000" "$(stat -c %u:%g "$upper/work" "$upper/work/f" | tr '\n' ' ' | sed 's/ $//')" "owners on disk"

note "root inside cannot mount, make devices or write kernel settings, even with CAP_SYS_ADMIN and no filter"
ok strata run --rm --userns=auto --cap-add SYS_ADMIN --security-opt seccomp=unconfined bb sh -c 'mkdir -p /mnt
mount -t tmpfs none /mnt 2>/dev/null && echo mounted || echo refused
mknod /tmp/null c 1 3 2>/dev/null && echo made || echo refused
echo x >/proc/sys/kernel/hostname 2>/dev/null && echo wrote || echo refused
hostname evil 2>/dev/null && echo renamed || echo refused'
assert_eq "refused
refused
refused
refused" "$out" "mount, mknod, /proc/sys, sethostname"
ok strata run --rm --privileged bb sh -c 'mkdir -p /mnt && mount -t tmpfs none /mnt && echo mounted'
assert_eq "mounted" "$out" "the same mount in a privileged container (the refusal above is the user namespace's)"

note "cp in and out, running and stopped"
echo data >"$E2E_TMP/cpfile" && chown 1234:1234 "$E2E_TMP/cpfile"
ok strata cp "$E2E_TMP/cpfile" d1:/cpfile
ok strata cp -a "$E2E_TMP/cpfile" d1:/cpfile-a
ok strata exec d1 sh -c "stat -c %u:%g /cpfile /cpfile-a"
assert_eq "0:0
1234:1234" "$out" "cp into a running container, without and with -a"
upper=$(ctr_json d1 "['GraphDriver']['Data']['UpperDir']")
assert_eq "0:0 1234:1234" "$(stat -c %u:%g "$upper/cpfile" "$upper/cpfile-a" | tr '\n' ' ' | sed 's/ $//')" "on disk"
ok strata cp d1:/cpfile-a "$E2E_TMP/back"
assert_eq "data" "$(cat "$E2E_TMP/back")" "cp out"
assert_eq "1234/1234" "$(strata cp d1:/cpfile-a - | tar_owners cpfile-a)" "cp out to a tar: the container's ids"
ok strata cp "$E2E_TMP/cpfile" wr:/cpfile
upper=$(ctr_json wr "['GraphDriver']['Data']['UpperDir']")
assert_eq "0:0" "$(stat -c %u:%g "$upper/cpfile")" "cp into a stopped container"
assert_eq "0/0 1000/1001 0/0" "$(strata cp wr:/ - | tar_owners cpfile d etc/hosts)" "cp out of a stopped container"

if command -v script >/dev/null; then
  note "a tty belongs to the container's user"
  tty_owner() { script -qec "$STRATA_BIN run --rm -t $* -u 1000 bb sh -c 'stat -c %u:%g /proc/self/fd/0'" /dev/null | tr -d '\r'; }
  out=$(tty_owner --userns=auto)
  assert_match "$out" "^1000:" "the pty's owner inside"
  assert_eq "$(tty_owner)" "$out" "the pty's owner and group, as without --userns"
fi

note "--rm leaves nothing behind"
before=$(strata ps -a -q | sort)
ok strata run --rm --userns=auto bb true
assert_eq "$before" "$(strata ps -a -q | sort)" "ps -a after run --rm"

note "refusals: one line, status 125, nothing created"
expect_error --names "--privileged" --names "--userns=auto" strata create --userns=auto --privileged bb true
expect_error --names "--network host" strata create --userns=auto --network host bb true
expect_error --names '"bogus"' --names "--userns" strata create --userns=bogus bb true
ok strata run --rm --userns=host bb true
if [ "${#added[@]}" = 2 ]; then
  sed -i "\|^$LINE\$|d" /etc/subuid
  expect_error --names /etc/subuid --names 'strata:100000:655360' strata run --userns=auto bb true
  echo "$LINE" >>/etc/subuid
  sed -i "\|^$LINE\$|d" /etc/subgid
  expect_error --names /etc/subgid strata create --userns=auto bb true
  echo "$LINE" >>/etc/subgid
else
  note "(the host has its own strata lines: the missing-line refusal is not tried)"
fi
assert_eq "$before" "$(strata ps -a -q | sort)" "ps -a after the refusals"

echo "PASS"
