#!/usr/bin/env bash
# A container's file system: the copy-on-write layer (diff), commit (-m, -a, -c, -p), history of
# the committed image, the base image left untouched, export, cp both ways, bind mounts (rw, ro),
# named volumes, --read-only, and images in use by containers.
#
# Checked against docker 20.10 (overlay2, --network none, the busybox tarball imported):
#  - diff after `mkdir /newdir && echo hi > /newdir/newfile && echo ... >> /etc/passwd &&
#    rm /bin/ls` is exactly the lines C /bin, D /bin/ls, C /etc, C /etc/passwd, A /newdir,
#    A /newdir/newfile. Docker's order varies from run to run (top-level subtrees come in Go map
#    order) but a directory always precedes what is inside it: compared as a set plus that rule;
#  - `chmod 600 /etc/group; touch /etc/passwd; mkdir /tmp/t; echo a >/tmp/t/f; rm -rf /tmp/t;
#    rm -rf /root; mkdir /root; echo z >/root/z` -> C /etc, C /etc/passwd, C /etc/group,
#    C /root, A /root/z (a directory merely copied up, like /tmp here, is not listed; a
#    directory replaced by a new one (opaque) is C);
#  - in a container of an image holding /newdir/newfile: `rm -rf /newdir; mkdir /newdir;
#    echo new >/newdir/other` -> C /newdir, A /newdir/other, D /newdir/newfile;
#  - a container that changed nothing (running or exited) has an empty diff: the runtime's own
#    mount points (/proc, /sys, /dev, /etc/hostname, /etc/hosts, /etc/resolv.conf) are not changes;
#    bind-mount targets missing from the image appear as "A /data" (docker creates them in the
#    container layer; not asserted here) but nothing written through the mount does;
#  - `commit -m MSG -a AUTHOR C REPO:TAG` prints sha256:<64 hex>; the image's Author and Comment
#    are those; Config.Cmd is the container's Cmd; `history` shows the new layer on top
#    (CREATED BY = the container's command, SIZE = the bytes of the files in the layer: 104B here,
#    COMMENT = MSG) and the base image's row below it, with its ID since it is local;
#  - `commit -c` takes CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE ("80/tcp": {}), LABEL;
#  - `export` is a plain tar of the container's file system (no whiteouts): the change is in it,
#    the deleted file is not;
#  - `cp C:/path HOST` and `cp HOST C:/path` work on running and stopped containers; a missing
#    source fails;
#  - Mounts: {"Type":"bind","Source":HOST,"Destination":CTR,"Mode":"","RW":true,...},
#    ":ro" -> "Mode":"ro","RW":false; a named volume -> {"Type":"volume","Name":N,...};
#    -v with a missing host dir creates it;
#  - `rmi IMG` of an image a container (even an exited one) uses fails without -f; after
#    `rmi -f` the container still starts.
source "$(dirname "$0")/lib.sh"

containers_setup
bb_image bb
bb_id=$(strata image inspect --format '{{.Id}}' bb)
bb_layers=$(strata image inspect --format '{{json .RootFS.Layers}}' bb)
snap_bb=$(strata image inspect bb)

check_diff() { # CONTAINER EXPECTED-LINES WHAT
  ok strata diff "$1"
  printf '%s\n' "$out" >"$E2E_TMP/diff.got"
  printf '%s\n' "$2" >"$E2E_TMP/diff.want"
  helper diff-lines "$E2E_TMP/diff.want" "$E2E_TMP/diff.got" >&2 || fail "$3: diff of $1 is
$out"
}

note "diff"
change='mkdir /newdir && echo hi > /newdir/newfile && echo "x:x:1:1::/:/bin/sh" >> /etc/passwd && rm /bin/ls'
ok strata run --name changer bb sh -c "$change"
check_diff changer "C /bin
D /bin/ls
C /etc
C /etc/passwd
A /newdir
A /newdir/newfile" "add, modify, delete"
ok strata run --name more bb sh -c 'chmod 600 /etc/group; touch /etc/passwd; mkdir /tmp/t; echo a >/tmp/t/f; rm -rf /tmp/t; rm -rf /root; mkdir /root; echo z >/root/z'
check_diff more "C /etc
C /etc/passwd
C /etc/group
C /root
A /root/z" "metadata changes, an opaque directory, a directory only copied up"
ok strata run --name deep bb sh -c 'mkdir -p /a/b/c && echo f >/a/b/c/f && ln -s /a/b/c/f /a/link'
check_diff deep "A /a
A /a/b
A /a/b/c
A /a/b/c/f
A /a/link" "new nested directories and a symlink"
ok strata run --name nothing bb true
ok strata diff nothing
assert_eq "" "$out" "a container that changed nothing"
ok strata run -d --name idle bb sleep 300
wait_status idle running
ok strata diff idle
assert_eq "" "$out" "a running container that changed nothing"
ok strata exec idle sh -c 'echo new >/tmp/created-by-exec'
check_diff idle "C /tmp
A /tmp/created-by-exec" "diff of a running container sees exec's change"
expect_error --names nosuch strata diff nosuch

note "commit -m -a"
ok strata commit -m "my msg" -a "Me <me@example.com>" changer committed:1
img=$out
assert_match "$img" '^sha256:[0-9a-f]{64}$' "commit prints the image ID"
assert_eq "$img" "$(strata image inspect --format '{{.Id}}' committed:1)" "the ID printed is the image's"
assert_eq "Me <me@example.com>" "$(inspect_json committed:1 "['Author']")" "Author"
assert_eq "my msg" "$(inspect_json committed:1 "['Comment']")" "Comment"
assert_eq "$(json_list sh -c "$change")" "$(inspect_json committed:1 "['Config']['Cmd']")" "Config.Cmd is the container's"
nl=$(inspect_json committed:1 "['RootFS']['Layers']" | helper json-get 'len(v)')
assert_eq 2 "$nl" "one layer on top of the base"
assert_eq "$bb_layers" "$(inspect_json committed:1 "['RootFS']['Layers'][:1]")" "the base layer is shared"
ok strata images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
assert_contains "$out" "committed:1 ${img:7:12}" "images lists the committed image"

note "history of the committed image"
cols=(IMAGE CREATED 'CREATED BY' SIZE COMMENT)
ok strata history committed:1
printf '%s\n' "$out" | check_table "${cols[@]}"
cells=$(printf '%s\n' "$out" | table_cells "${cols[@]}")
assert_lines 2 "$cells" "two history rows"
assert_eq "${img:7:12}" "$(cell "$cells" 1 1)" "top row is the new image"
assert_match "$(cell "$cells" 1 2)" '^(Less than a second|[0-9]+ seconds?) ago$' "CREATED"
assert_eq "104B" "$(cell "$cells" 1 4)" "SIZE of the new layer (/etc/passwd 101B + /newdir/newfile 3B)"
assert_eq "my msg" "$(cell "$cells" 1 5)" "COMMENT is the commit message"
assert_eq "${bb_id:7:12}" "$(cell "$cells" 2 1)" "the base image's row"
ok strata history --no-trunc committed:1
cells=$(printf '%s\n' "$out" | table_cells "${cols[@]}")
assert_eq "sh -c $change" "$(cell "$cells" 1 3)" "CREATED BY is the container's command"

note "the change is in the new image, the base image is untouched"
ok strata run --rm committed:1 cat /newdir/newfile
assert_eq "hi" "$out" "new file"
ok strata run --rm committed:1 sh -c 'test -e /bin/ls && echo present || echo absent; grep -c . /etc/passwd'
assert_eq "absent
3" "$out" "deleted file and modified file"
ok strata run --rm bb sh -c 'test -e /newdir && echo present || echo absent; test -e /bin/ls && echo present || echo absent; grep -c . /etc/passwd'
assert_eq "absent
present
2" "$out" "a container of the base image sees none of it"
assert_eq "$snap_bb" "$(strata image inspect bb)" "the base image is unchanged"
ok strata diff changer
assert_contains "$out" "A /newdir/newfile" "commit leaves the container's changes in place"
ok strata run --name fromcommit committed:1 true
ok strata diff fromcommit
assert_eq "" "$out" "a container of the committed image starts with no changes"

note "commit on top of a commit, with an opaque directory"
ok strata run --name opaque committed:1 sh -c 'rm -rf /newdir; mkdir /newdir; echo new >/newdir/other'
check_diff opaque "C /newdir
A /newdir/other
D /newdir/newfile" "a directory replaced in a container of a committed image"
ok strata commit opaque committed:2
ok strata run --rm committed:2 sh -c 'ls -A /newdir'
assert_eq "other" "$out" "the replaced directory holds only the new file"
assert_eq 3 "$(inspect_json committed:2 "['RootFS']['Layers']" | helper json-get 'len(v)')" "three layers"
ok strata history -q committed:2
assert_lines 3 "$out" "three history rows"
ok strata commit changer
assert_match "$out" '^sha256:[0-9a-f]{64}$' "commit without a name"

note "commit -c"
ok strata commit -c 'CMD ["cat","/newdir/newfile"]' changer withcmd:1
ok strata run --rm withcmd:1
assert_eq "hi" "$out" "the new CMD runs"
ok strata commit -c 'ENV FOO=bar' -c 'WORKDIR /newdir' -c 'USER nobody' -c 'EXPOSE 80' \
  -c 'LABEL a=b' -c 'ENTRYPOINT ["echo"]' --change 'CMD ["x"]' changer changes:1
cfg=$(inspect_json changes:1 "['Config']")
assert_eq "nobody" "$(helper json-get "v['User']" <<<"$cfg")" "USER"
assert_eq "/newdir" "$(helper json-get "v['WorkingDir']" <<<"$cfg")" "WORKDIR"
assert_eq '{"80/tcp": {}}' "$(helper json-get "v['ExposedPorts']" <<<"$cfg")" "EXPOSE"
assert_eq '{"a": "b"}' "$(helper json-get "v['Labels']" <<<"$cfg")" "LABEL"
assert_eq '["echo"]' "$(helper json-get "v['Entrypoint']" <<<"$cfg")" "ENTRYPOINT"
assert_eq '["x"]' "$(helper json-get "v['Cmd']" <<<"$cfg")" "CMD"
assert_contains "$(helper json-get "v['Env']" <<<"$cfg")" '"FOO=bar"' "ENV"
ok strata run --rm changes:1
assert_eq "x" "$out" "ENTRYPOINT + CMD of the committed image"
ok strata run --rm --entrypoint sh changes:1 -c 'echo $FOO; pwd; id -u'
assert_eq "bar
/newdir
65534" "$out" "ENV, WORKDIR, USER of the committed image"
expect_error --names BOGUS strata commit -c 'BOGUS x' changer bad:1
expect_error --names nosuch strata commit nosuch x:1
expect_error --names Foo strata commit changer Foo

note "commit of a running container (paused during the commit by default)"
ok strata commit -m live idle live:1
assert_eq "running" "$(ctr_status idle)" "the container runs on after the commit"
ok strata run --rm live:1 cat /tmp/created-by-exec
assert_eq "new" "$out"
ok strata commit -p=false idle live:2

note "export"
ok strata export -o "$E2E_TMP/changer.tar" changer
assert_eq "" "$out" "export -o prints nothing"
names=$(tar -tf "$E2E_TMP/changer.tar" | sed -e 's|^\./||' -e 's|/$||' | grep -v '^\.\?$' | sort)
for want in bin/busybox bin/sh etc/passwd etc/group newdir newdir/newfile; do
  grep -qxF "$want" <<<"$names" || fail "export lacks $want:
$names"
done
assert_not_contains "$names" "bin/ls" "export has the deleted file"
assert_not_contains "$names" ".wh." "export has whiteouts"
assert_eq "hi" "$(tar -xOf "$E2E_TMP/changer.tar" newdir/newfile 2>/dev/null || tar -xOf "$E2E_TMP/changer.tar" ./newdir/newfile)" "exported file content"
strata export changer >"$E2E_TMP/changer-stdout.tar" || fail "export to stdout failed"
assert_eq "$names" "$(tar -tf "$E2E_TMP/changer-stdout.tar" | sed -e 's|^\./||' -e 's|/$||' | grep -v '^\.\?$' | sort)" "export to stdout = export -o"
ok strata import "$E2E_TMP/changer.tar" reimported:1
ok strata run --rm reimported:1 sh -c 'cat /newdir/newfile; test -e /bin/ls || echo no-ls'
assert_eq "hi
no-ls" "$out" "the export imports back"
ok strata export -o "$E2E_TMP/idle.tar" idle
tar -tf "$E2E_TMP/idle.tar" | grep 'tmp/created-by-exec$' >/dev/null || fail "export of a running container lacks its change"
expect_error --names nosuch strata export nosuch

note "cp"
ok strata cp idle:/tmp/created-by-exec "$E2E_TMP/copied-out"
assert_eq "new" "$(cat "$E2E_TMP/copied-out")" "cp out of a running container"
printf 'from host\n' >"$E2E_TMP/host.txt"
ok strata cp "$E2E_TMP/host.txt" idle:/tmp/host.txt
ok strata exec idle cat /tmp/host.txt
assert_eq "from host" "$out" "cp into a running container"
ok strata cp changer:/newdir "$E2E_TMP/newdir-copy"
assert_eq "hi" "$(cat "$E2E_TMP/newdir-copy/newfile")" "cp of a directory out of a stopped container"
ok strata cp "$E2E_TMP/host.txt" changer:/newdir/
ok strata cp changer:/newdir/host.txt "$E2E_TMP/roundtrip.txt"
assert_eq "from host" "$(cat "$E2E_TMP/roundtrip.txt")" "cp into a stopped container"
ok strata diff changer
assert_contains "$out" "A /newdir/host.txt" "a copied-in file is a change"
assert_status 125 strata cp idle:/nonexistent "$E2E_TMP/x"
assert_no_file "$E2E_TMP/x"
assert_status 125 strata cp nosuch:/etc/passwd "$E2E_TMP/x"

note "bind mounts and volumes"
hostdir="$E2E_TMP/hostdir"
mkdir -p "$hostdir" && printf 'hostdata\n' >"$hostdir/f"
ok strata run --name binder -v "$hostdir:/data" bb sh -c 'cat /data/f; echo fromctr >/data/g'
assert_eq "hostdata" "$out" "the container reads the host's file"
assert_eq "fromctr" "$(cat "$hostdir/g")" "the host sees the container's write"
assert_eq "0 0" "$(stat -c '%u %g' "$hostdir/g")" "written as root"
ok strata diff binder
assert_not_contains "$out" "/data/" "writes through a bind mount are not changes"
m=$(ctr_json binder "['Mounts']")
assert_eq "bind|$hostdir|/data|True" "$(helper json-get "'|'.join(str(v[0][k]) for k in ('Type', 'Source', 'Destination', 'RW'))" <<<"$m")" "Mounts"
ok strata run --rm -v "$hostdir:/data:ro" bb sh -c 'cat /data/f; echo x >/data/h && echo wrote || echo refused'
assert_eq "hostdata
refused" "$out" ":ro"
assert_no_file "$hostdir/h" ":ro kept the host dir unchanged"
ok strata run --name robinder -v "$hostdir:/ro:ro" bb true
assert_eq "false" "$(ctr_json robinder "['Mounts'][0]['RW']")" "Mounts RW of :ro"
ok strata run --rm -v "$hostdir/f:/etc/motd" bb cat /etc/motd
assert_eq "hostdata" "$out" "a file bind mount"
ok strata run --rm -v "$E2E_TMP/made/by/run:/data" bb true
[ -d "$E2E_TMP/made/by/run" ] || fail "-v of a missing host dir does not create it"
ok strata run --rm -v myvol:/vol bb sh -c 'echo persisted >/vol/f'
ok strata run --name volreader -v myvol:/vol bb cat /vol/f
assert_eq "persisted" "$out" "a named volume outlives its container"
assert_eq "volume|myvol|/vol" "$(ctr_json volreader "['Mounts']" | helper json-get "'|'.join(str(v[0][k]) for k in ('Type', 'Name', 'Destination'))")" "Mounts of a volume"
ok strata rm -v volreader
ok strata run --rm -v myvol:/vol bb cat /vol/f
assert_eq "persisted" "$out" "rm -v keeps named volumes"
assert_status 125 strata run --rm -v "$hostdir:relative" bb true

note "--read-only"
ok strata run --rm --read-only bb sh -c 'touch /x 2>/dev/null && echo wrote || echo refused; touch /tmp/y 2>/dev/null && echo wrote || echo refused; echo ok >/dev/null && echo devnull'
assert_eq "refused
refused
devnull" "$out" "--read-only root"
ok strata run --rm --read-only -v "$hostdir:/data" bb sh -c 'echo rw >/data/rw && cat /data/rw'
assert_eq "rw" "$out" "a bind mount stays writable under --read-only"
ok strata run --name roc --read-only bb true
assert_eq "true" "$(ctr_json roc "['HostConfig']['ReadonlyRootfs']")" "HostConfig.ReadonlyRootfs"

note "images in use by containers"
import_busybox inuse:1 -m inuse >/dev/null
ok strata create --name user inuse:1 echo still-works
expect_error --names inuse strata rmi inuse:1
ok strata image inspect inuse:1
ok strata rmi -f inuse:1
assert_status 0 strata start -a user
assert_eq "still-works" "$out" "the container of a force-removed image still runs"
ok strata rm user
ok strata rm -f changer more deep nothing idle fromcommit opaque binder robinder roc
run strata ps -a -q
assert_eq "" "$out"
ok strata rmi committed:2 committed:1 withcmd:1 changes:1 live:1 live:2 reimported:1
