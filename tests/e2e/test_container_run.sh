#!/usr/bin/env bash
# strata run (foreground): output and exit codes, what the process sees (pid 1, its own pids,
# hostname, environment, user, working dir), entrypoint/cmd composition, stdin, --rm,
# create/start/wait, and run's errors.
#
# Checked against docker 20.10 (`docker import` of the same busybox tarball, --network none):
#  - `run IMG sh -c 'exit 3'` -> 3; `run IMG nosuchcmd` -> 127, `run IMG /etc/passwd` and
#    `run IMG /etc` -> 126 (permission denied), --entrypoint /nonexistent -> 127; an unknown
#    flag, an unknown image, an invalid --name, a relative -w, an unknown -u user or group, -w
#    naming a file, a -v target below a file -> 125;
#  - stdout and stderr of the container stay separate; without -i the container's stdin is
#    empty (cat prints nothing, exit 0), with -i it is the CLI's stdin;
#  - `echo $$` is 1; `ps` inside lists only the container's processes; no signal is blocked or
#    ignored in the container's processes (SigBlk and SigIgn of /proc/self/status are 0);
#  - hostname == /etc/hostname == $HOSTNAME == the first 12 hex of the container ID ==
#    Config.Hostname; --hostname sets all of them;
#  - `env` of an image without Env: PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
#    HOME=/root, HOSTNAME=<short id> (plus the shell's PWD/SHLVL when run through sh);
#    --env-file skips comments and blank lines, keeps "SPACED=a b" whole and takes a bare NAME
#    (and -e NAME) from the CLI's environment, dropping it when unset; -e overrides image ENV;
#  - -u nobody: `uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)`, HOME=/nonexistent;
#    -u 1234: uid 1234 gid 0; -u 1234:5678: uid 1234, gid 5678, groups 5678;
#  - -w /some/dir is created (root-owned, 755) when missing; an image WORKDIR is created too;
#  - ENTRYPOINT ["echo","ep"] + CMD ["default"]: `run IMG` -> "ep default", `run IMG x y` ->
#    "ep x y"; --entrypoint drops the image's CMD (`--entrypoint /bin/echo IMG` prints an empty
#    line); inspect: Path = entrypoint[0] (or cmd[0]), Args = the rest, Config.Cmd/Entrypoint;
#  - `create` prints the 64-hex ID and the container shows as "Created"; `start -a` streams its
#    output and exits with its status; `start` prints the name given; `wait` prints the status
#    and exits 0; a --rm container is gone after it exits; a second --name X is refused (125).
source "$(dirname "$0")/lib.sh"

containers_setup
bb_image bb
import_busybox cmdimg -c 'CMD ["sh","-c","echo from-cmd"]' >/dev/null
import_busybox epimg -c 'ENTRYPOINT ["echo","ep"]' -c 'CMD ["default"]' -c 'ENV GREETING=hello' \
  -c 'WORKDIR /srv/app' -c 'USER nobody' >/dev/null
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

note "output and exit status"
ok strata run --rm bb echo hello world
assert_eq "hello world" "$out"
assert_eq "" "$err" "nothing on stderr"
ok strata run --rm bb sh -c 'echo out; echo err >&2'
assert_eq "out" "$out" "stdout"
assert_eq "err" "$err" "stderr stays on stderr"
assert_status 3 strata run --rm bb sh -c 'exit 3'
assert_status 1 strata run --rm bb false
assert_status 0 strata run --rm bb true
assert_status 42 strata run --rm bb sh -c 'echo before; exit 42'
assert_eq "before" "$out" "output before a non-zero exit"
ok strata run --rm bb sh -c 'head -c 1000000 /dev/zero | tr "\0" x'
assert_eq 1000000 "${#out}" "1 MB of output arrives whole"
[ "${out:0:1}${out: -1}" = xx ] || fail "output content"

note "commands that cannot run: 127 not found, 126 not executable"
assert_status 127 strata run --rm bb nosuchcmd
assert_contains "$err" "nosuchcmd" "the error names the command"
assert_status 127 strata run --rm bb /no/such/binary
assert_status 126 strata run --rm bb /etc/passwd
assert_contains "$err" "/etc/passwd"
assert_status 126 strata run --rm bb /etc
run strata ps -a -q
assert_eq "" "$out" "--rm removed the containers whose command could not run"

note "run's own errors: 125, one line, nothing left behind"
expect_error --names "Unable to find image 'nosuchimage:1' locally" strata run --rm --pull never nosuchimage:1 true
# without --pull never, run tries the registry first (unreachable from here): Docker's two lines
run strata run --rm nosuchimage:1 true
assert_eq 125 "$status" "$err"
assert_eq "Unable to find image 'nosuchimage:1' locally" "$(head -n 1 <<<"$err")"
assert_match "$(tail -n 1 <<<"$err")" "^Error: .*nosuchimage:1"
expect_error --names no-such-image strata run --pull never no-such-image
expect_error --names bogus strata run --bogus bb true
expect_error --names Foo strata run Foo
expect_error strata run
expect_error --names "bad name!" strata run --name 'bad name!' bb true
expect_error --names relative strata run -w relative bb true
assert_status 125 strata run --rm -u nosuchuser bb true
assert_contains "$err" "nosuchuser" "the error names the user"
# errors found while setting the container up (after clone) come back as one line
assert_status 125 strata run --rm -u nobody:nosuchgroup bb true
assert_contains "$err" "nosuchgroup" "the error names the group"
assert_lines 1 "$err" "one line on stderr"
assert_status 125 strata run --rm -w /etc/passwd bb true
assert_contains "$err" "/etc/passwd" "the error names the working dir"
assert_lines 1 "$err" "one line on stderr"
assert_status 125 strata run --rm -v "$E2E_TMP:/etc/passwd/x" bb true
assert_contains "$err" "/etc/passwd/x" "the error names the mount point"
assert_lines 1 "$err" "one line on stderr"
assert_status 127 strata run --rm --entrypoint /nonexistent bb
assert_contains "$err" "/nonexistent"
run strata ps -a -q
assert_eq "" "$out" "no container left by the failed runs"

note "pid 1 and only the container's processes"
ok strata run --rm bb sh -c 'echo $$'
assert_eq 1 "$out" "\$\$ is 1"
ok strata run --rm bb sh -c 'ps -o pid,comm; true'
assert_eq "PID COMMAND|1 sh|ps" "$(awk 'NR == 1 { print $1, $2; next } $1 == 1 { print $1, $2; next } { print $2 }' <<<"$out" | paste -sd'|')" \
  "ps inside lists the shell (pid 1) and ps only:
$out"
ok strata run --rm bb sh -c 'ls /proc | grep -c "^[0-9][0-9]*$"'
[ "$out" -le 4 ] || fail "/proc inside lists $out processes"
ok strata run --rm bb cat /proc/1/comm
assert_eq "cat" "$out" "pid 1 is the command itself"
ok strata run --rm bb sh -c 'grep -E "^Sig(Blk|Ign)" /proc/self/status; true'
assert_eq "SigBlk:	0000000000000000
SigIgn:	0000000000000000" "$out" "no signal blocked or ignored in the container (nothing inherited from strata)"
# with SIGPIPE ignored the writer loops on EPIPE forever
run timeout 20 "$STRATA_BIN" run --rm --name sigpipe bb sh -c '(while :; do echo y; done) | head -n 1; echo done'
sigpipe="$status|$out"
strata rm -f sigpipe >/dev/null 2>&1 || true # (left running when timeout killed the CLI)
assert_eq "0|y
done" "$sigpipe" "SIGPIPE ends a writer whose reader is gone"

note "hostname: the short container ID, never the host's"
ok strata run --name hn bb sh -c 'hostname; cat /etc/hostname; echo $HOSTNAME'
id=$(ctr_json hn "['Id']")
assert_match "$id" '^[0-9a-f]{64}$' "Id"
assert_eq "${id:0:12}
${id:0:12}
${id:0:12}" "$out" "hostname, /etc/hostname and \$HOSTNAME"
assert_ne "$(hostname)" "${id:0:12}" "differs from the host's"
assert_eq "${id:0:12}" "$(ctr_json hn "['Config']['Hostname']")" "Config.Hostname"
ok strata rm hn
ok strata run --rm --hostname myhost bb sh -c 'hostname; cat /etc/hostname; echo $HOSTNAME'
assert_eq "myhost
myhost
myhost" "$out" "--hostname"
assert_eq "$(hostname)" "$(cat /proc/sys/kernel/hostname)" "the host's hostname is untouched"
ok strata run --rm bb sh -c 'test -s /etc/hosts && grep -q localhost /etc/hosts && test -e /etc/resolv.conf'

note "environment"
ok strata run --rm bb env
assert_eq "HOME=/root
HOSTNAME=
PATH=$DEFAULT_PATH" "$(sed 's/^HOSTNAME=.*/HOSTNAME=/' <<<"$out" | sort)" "env of an image without Env"
printf 'FROMFILE=yes\n# a comment\n\nSPACED=a b\nEMPTY=\nHOSTVAR\nUNSETVAR\nEQ=a=b\n' >"$E2E_TMP/env.list"
export HOSTVAR=fromhost HV=hostval
unset UNSETVAR NOPE
ok strata run --rm -e A=1 --env B=two -e HV -e NOPE --env-file "$E2E_TMP/env.list" bb env
assert_eq "A=1
B=two
EMPTY=
EQ=a=b
FROMFILE=yes
HOME=/root
HOSTVAR=fromhost
HV=hostval
PATH=$DEFAULT_PATH
SPACED=a b" "$(grep -v '^HOSTNAME=' <<<"$out" | sort)" "-e and --env-file"
ok strata run --rm -e PATH=/bin -e HOME=/tmp bb env
assert_contains "$out" "PATH=/bin"
assert_not_contains "$out" "$DEFAULT_PATH" "-e PATH replaces the default"
assert_contains "$out" "HOME=/tmp"
ok strata run --rm --entrypoint sh epimg -c 'echo $GREETING'
assert_eq "hello" "$out" "image ENV"
ok strata run --rm -e GREETING=over --entrypoint sh epimg -c 'echo $GREETING'
assert_eq "over" "$out" "-e overrides image ENV"
expect_error --names nosuchfile strata run --rm --env-file "$E2E_TMP/nosuchfile" bb true

note "user"
ok strata run --rm -u nobody bb id
assert_eq "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)" "$out" "-u nobody"
ok strata run --rm -u 65534:65534 bb id
assert_eq "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)" "$out" "-u 65534:65534"
ok strata run --rm -u nobody:root bb sh -c 'id -u; id -g'
assert_eq "65534
0" "$out" "-u name:group"
ok strata run --rm -u nobody bb sh -c 'echo $HOME; id -G'
assert_eq "/nonexistent
65534" "$out" "HOME from /etc/passwd and no supplementary group of root"
ok strata run --rm -u 1234 bb sh -c 'id -u; id -g'
assert_eq "1234
0" "$out" "-u UID not in /etc/passwd"
ok strata run --rm -u 1234:5678 bb sh -c 'id -u; id -g; id -G'
assert_eq "1234
5678
5678" "$out" "-u UID:GID"
ok strata run --rm -u nobody bb sh -c 'touch /etc/x 2>/dev/null && echo wrote || echo denied'
assert_eq "denied" "$out" "nobody cannot write root's files"
ok strata run --rm --entrypoint id epimg -u
assert_eq "65534" "$out" "image USER"
ok strata run --rm -u root --entrypoint id epimg -u
assert_eq "0" "$out" "-u overrides image USER"

note "working directory"
ok strata run --rm bb pwd
assert_eq "/" "$out" "default"
ok strata run --rm -w /some/dir bb sh -c 'pwd; stat -c "%U %a" .'
assert_eq "/some/dir
root 755" "$out" "-w creates the directory"
ok strata run --rm -w /tmp bb pwd
assert_eq "/tmp" "$out"
ok strata run --rm -w /some/dir -u nobody bb pwd
assert_eq "/some/dir" "$out" "-w with a user"
ok strata run --rm --entrypoint pwd epimg
assert_eq "/srv/app" "$out" "image WORKDIR (created)"

note "entrypoint and command"
ok strata run --rm cmdimg
assert_eq "from-cmd" "$out" "image CMD"
ok strata run --rm cmdimg echo override
assert_eq "override" "$out" "command replaces CMD"
ok strata run --rm epimg
assert_eq "ep default" "$out" "ENTRYPOINT + CMD"
ok strata run --rm epimg x y
assert_eq "ep x y" "$out" "ENTRYPOINT + command"
ok strata run --rm --entrypoint echo bb hello world
assert_eq "hello world" "$out" "--entrypoint + command"
ok strata run --rm --entrypoint /bin/echo cmdimg
assert_eq "" "$out" "--entrypoint drops the image's CMD"
ok strata run --name comp epimg x y
assert_eq "echo" "$(ctr_json comp "['Path']")" "Path"
assert_eq '["ep", "x", "y"]' "$(ctr_json comp "['Args']")" "Args"
assert_eq '["echo", "ep"]' "$(ctr_json comp "['Config']['Entrypoint']")" "Config.Entrypoint"
assert_eq '["x", "y"]' "$(ctr_json comp "['Config']['Cmd']")" "Config.Cmd"
assert_eq "nobody" "$(ctr_json comp "['Config']['User']")" "Config.User from the image"
assert_eq "/srv/app" "$(ctr_json comp "['Config']['WorkingDir']")" "Config.WorkingDir from the image"
ok strata rm comp

note "stdin"
printf 'line one\nline two\n' >"$E2E_TMP/stdin.txt"
run_in "$E2E_TMP/stdin.txt" strata run --rm -i bb cat
assert_eq 0 "$status" "run -i: $err"
assert_eq "line one
line two" "$out" "-i passes stdin"
run_in "$E2E_TMP/stdin.txt" strata run --rm -i bb sh -c 'read a; read b; echo "[$b] [$a]"'
assert_eq "[line two] [line one]" "$out"
run_in "$E2E_TMP/stdin.txt" strata run --rm bb cat
assert_eq 0 "$status" "run without -i: $err"
assert_eq "" "$out" "without -i the container's stdin is empty"

note "--rm"
ok strata run --rm --name gone bb true
assert_eq "" "$(ps_row gone)" "a --rm container is removed after it exits"
expect_error --names gone strata container inspect gone
assert_status 5 strata run --rm --name gone bb sh -c 'exit 5'
assert_eq "" "$(ps_row gone)" "also after a failure, and the name is free again"

note "create, start, wait"
ok strata create --name cr bb sh -c 'echo created-run; exit 2'
cid=$out
assert_match "$cid" '^[0-9a-f]{64}$' "create prints the full ID"
assert_eq "created" "$(ctr_status cr)"
assert_eq "Created" "$(ps_status cr)" "ps STATUS of a created container"
assert_eq "${cid:0:12}" "$(ps_row cr | cut -f1)" "CONTAINER ID column"
ok strata ps -q
assert_not_contains "$out" "${cid:0:12}" "ps without -a hides created containers"
assert_status 2 strata start -a cr
assert_eq "created-run" "$out" "start -a streams the output"
assert_match "$(ps_status cr)" '^Exited \(2\) (Less than a second|[0-9]+ seconds?) ago$' "ps STATUS after exit"
ok strata wait cr
assert_eq "2" "$out" "wait prints the exit status of an exited container"
ok strata start cr
assert_eq "cr" "$out" "start prints the name given"
ok strata wait cr
assert_eq "2" "$out"
ok strata logs cr
assert_eq "created-run
created-run" "$out" "logs of both runs"
ok strata start "${cid:0:12}"
assert_eq "${cid:0:12}" "$out" "start by short ID prints the short ID"
ok strata wait "$cid"
assert_eq "2" "$out" "wait by full ID"

note "names"
ok strata create --name dup bb true
expect_error --names dup strata run --name dup bb true
expect_error --names dup strata create --name dup bb true
ok strata create bb true
auto=$(ctr_json "$out" "['Name']")
assert_match "$auto" '^/[a-zA-Z0-9][a-zA-Z0-9_.-]+$' "a generated name"
assert_eq "${auto#/}" "$(strata ps -a --format '{{.Names}}' | sed -n 1p)" "ps lists the newest first, by its name"
ok strata rm dup "${auto#/}" cr
assert_eq "dup
${auto#/}
cr" "$out" "rm prints each name given"
run strata ps -a -q
assert_eq "" "$out" "every container removed"
