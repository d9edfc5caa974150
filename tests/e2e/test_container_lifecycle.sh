#!/usr/bin/env bash
# Detached containers: run -d, ps, logs, exec, stop, kill, restart, pause/unpause, rename, top,
# wait, rm, container inspect; a detached container outlives the CLI that started it and its
# monitor records how it ended.
#
# Checked against docker 20.10 (--network none, the busybox tarball imported with CMD ["sh"]):
#  - `run -d` prints the 64-hex ID; `ps` columns `CONTAINER ID   IMAGE     COMMAND   CREATED
#    STATUS    PORTS     NAMES` (Go tabwriter); COMMAND is Path + Args joined by spaces, an arg
#    containing a space wrapped in '...', cut to 20 runes ("…" last) unless --no-trunc, then
#    Go-quoted: "sh -c 'echo hello; …"; STATUS "Up Less than a second" / "Up 2 seconds" /
#    "Up 5 seconds (Paused)" / "Exited (0) 3 seconds ago" / "Created"; CREATED "2 seconds ago";
#    ps lists the newest first; -q prints 12-hex IDs, --no-trunc 64-hex;
#  - `logs` writes the container's stdout to stdout and its stderr to stderr (their relative
#    order in the log is not stable in docker); `--tail N` is the last N lines; `-t` prefixes each line with an RFC 3339 time with exactly 9
#    fractional digits ("2026-11-23T17:20:12.360621399Z hello"); `-f` follows until the
#    container exits, then returns 0; restart appends to the same log;
#  - `exec C sh -c 'echo $$'` is not 1; it sees the container's hostname, env and processes;
#    exec's exit status is the command's; -e/-w/-u apply; exec of a missing command exits 126
#    (docker 20.10; 127 is accepted too); exec into a stopped container fails ("is not
#    running"), into a paused one too;
#  - `stop` prints the name given; a shell trapping TERM exits 0 ("Exited (0)"); `sleep` as pid 1
#    ignores SIGTERM and is killed after -t seconds: exit 137; stopping a stopped container
#    succeeds; `kill` (SIGKILL) -> 137; `kill -s USR1` reaches a trap; `kill` of a stopped
#    container fails; SIGKILL of the container's pid from the host -> "Exited (137)";
#  - `restart` gives a new pid and keeps the log; `pause` -> State.Status "paused",
#    State.Paused true, the processes stop running; `rename` prints nothing, a taken name is
#    refused; `top` prints `UID PID PPID C STIME TTY TIME CMD` with host pids;
#  - --restart on-failure:2 of `sh -c 'echo run; exit 3'`: three runs in the log, RestartCount 2,
#    "Exited (3)", HostConfig.RestartPolicy {"Name": "on-failure", "MaximumRetryCount": 2};
#    on-failure does not restart after exit 0; always restarts until `stop`, which sticks;
#    --restart with --rm ("Conflicting options") and an unknown policy are refused (125);
#  - `rm` of a running container fails without -f; `rm -f` kills it; `rm` prints each name given;
#  - `wait` blocks until the exit, prints the status, exits 0;
#  - `container inspect`: Id, Name "/web", Created, Path, Args, State{Status, Running, Paused,
#    Pid (0 once exited), ExitCode, OOMKilled, StartedAt, FinishedAt ("0001-01-01T00:00:00Z"
#    before the exit)}, Image "sha256:<image id>", Config{Hostname, Cmd, Image (the name used)},
#    HostConfig, Mounts []; `inspect C` is the same document.
source "$(dirname "$0")/lib.sh"

containers_setup
bb_image bb
bb_id=$(strata image inspect --format '{{.Id}}' bb)
rfc3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'
recent='(Less than a second|[0-9]+ seconds?)'

note "run -d"
web_cmd='echo hello; echo oops >&2; echo third; trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done'
ok strata run -d --name web bb sh -c "$web_cmd"
id=$out
assert_match "$id" '^[0-9a-f]{64}$' "run -d prints the full ID"
assert_eq "" "$err" "run -d prints nothing on stderr"
wait_status web running

note "the container outlives the CLI and is not in its session"
pid=$(ctr_json web "['State']['Pid']")
[ "$pid" -gt 1 ] 2>/dev/null || fail "State.Pid of a running container: $pid"
kill -0 "$pid" || fail "State.Pid $pid is not a live process"
assert_ne "$(proc_sid $$)" "$(proc_sid "$pid")" "the container runs in the test's session"
p=$pid
while [ "$p" -gt 1 ]; do
  [ "$p" != $$ ] || fail "the container process is a descendant of the test shell"
  p=$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$p/stat")
done
# namespaces of its own
for ns in pid mnt uts ipc net; do
  assert_ne "$(readlink /proc/self/ns/$ns)" "$(readlink "/proc/$pid/ns/$ns")" "$ns namespace"
done
ctr_cgroups=$(helper cgroup-dirs "$pid" | sort)
own_cgroups=$(helper cgroup-dirs $$ | sort)
ctr_only=$(comm -23 <(echo "$ctr_cgroups") <(echo "$own_cgroups"))
[ -n "$ctr_only" ] || fail "the container is in no cgroup of its own:
$ctr_cgroups"

note "ps"
ok strata ps
printf '%s\n' "$out" | check_table "${PS_COLS[@]}"
assert_match "$(head -n 1 <<<"$out")" '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$' "header"
row=$(ps_row web)
[ -n "$row" ] || fail "web is not in ps -a:
$(strata ps -a)"
assert_eq "${id:0:12}" "$(cut -f1 <<<"$row")" "CONTAINER ID"
assert_eq "bb" "$(cut -f2 <<<"$row")" "IMAGE"
assert_eq "\"sh -c 'echo hello; …\"" "$(cut -f3 <<<"$row")" "COMMAND"
assert_match "$(cut -f4 <<<"$row")" "^$recent ago\$" "CREATED"
assert_match "$(cut -f5 <<<"$row")" "^Up $recent\$" "STATUS"
assert_eq "" "$(cut -f6 <<<"$row")" "PORTS"
ok strata ps -q
assert_eq "${id:0:12}" "$out" "ps -q"
ok strata ps -q --no-trunc
assert_eq "$id" "$out" "ps -q --no-trunc"
ok strata ps --no-trunc
cells=$(printf '%s\n' "$out" | table_cells "${PS_COLS[@]}")
assert_eq "$id" "$(cell "$cells" 1 1)" "--no-trunc ID"
assert_eq "\"sh -c '${web_cmd//\"/\\\"}'\"" "$(cell "$cells" 1 3)" "--no-trunc COMMAND (Go-quoted)"
ok strata ps --format '{{.ID}}|{{.Names}}|{{.Image}}'
assert_eq "${id:0:12}|web|bb" "$out" "ps --format"

note "logs"
wait_for 10 logs_contain web third
ok strata logs web
assert_eq "hello
third" "$out" "stdout lines on stdout"
assert_eq "oops" "$err" "stderr lines on stderr"
ok strata run -d --name lines bb sh -c 'echo l1; echo l2; echo l3; echo l4'
ok strata wait lines
ok strata logs --tail 1 lines
assert_eq "l4" "$out" "--tail 1"
ok strata logs --tail 3 lines
assert_eq "l2
l3
l4" "$out" "--tail 3"
ok strata logs --tail 10 lines
assert_eq "l1
l2
l3
l4" "$out" "--tail more than there is"
# fixed width: trailing zeros kept (a tenth of all times end in 0, so 200 lines show it)
ok strata run --name many bb sh -c 'i=0; while [ $i -lt 200 ]; do echo $i; i=$((i+1)); done'
ok strata logs -t many
assert_lines 200 "$out"
assert_eq "" "$(cut -d' ' -f1 <<<"$out" | { grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$' || true; } | head -n 3)" \
  "logs -t times have exactly 9 fractional digits (Docker's RFC3339NanoFixed)"
ok strata logs -t lines
assert_lines 4 "$out"
while read -r ts line; do
  assert_match "$ts" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$' "logs -t timestamp"
done <<<"$out"
assert_eq "l1
l2
l3
l4" "$(cut -d' ' -f2- <<<"$out")" "logs -t text"
ok strata rm lines many
expect_error --names nosuch strata logs nosuch

note "exec"
ok strata exec web sh -c 'echo $$'
assert_match "$out" '^[0-9]+$' "exec pid"
assert_ne 1 "$out" "exec is not pid 1"
ok strata exec web sh -c 'hostname; echo $HOSTNAME'
assert_eq "${id:0:12}
${id:0:12}" "$out" "exec sees the container's hostname and env"
ok strata exec web sh -c 'ps -o pid,comm; true'
assert_contains "$out" "    1 sh" "exec sees the container's pid 1"
bad=$(awk 'NR > 1 && $2 != "sh" && $2 != "sleep" && $2 != "ps"' <<<"$out")
assert_eq "" "$bad" "exec sees only the container's processes"
ok strata exec web sh -c 'tr "\0" " " </proc/1/cmdline'
assert_eq "sh -c $web_cmd " "$out" "same pid namespace"
assert_status 4 strata exec web sh -c 'exit 4'
ok strata exec web sh -c 'grep -E "^Sig(Blk|Ign)" /proc/self/status; true'
assert_eq "SigBlk:	0000000000000000
SigIgn:	0000000000000000" "$out" "no signal blocked or ignored in exec'd processes"
ok strata exec -e FOO=bar -w /tmp -u nobody web sh -c 'echo $FOO; pwd; id -u'
assert_eq "bar
/tmp
65534" "$out" "exec -e -w -u"
ok strata exec --env FOO=baz --workdir /bin --user 65534:65534 web sh -c 'echo $FOO; pwd; id -g'
assert_eq "baz
/bin
65534" "$out" "exec long options"
printf 'from stdin\n' >"$E2E_TMP/in.txt"
run_in "$E2E_TMP/in.txt" strata exec -i web cat
assert_eq "from stdin" "$out" "exec -i"
run strata exec web nosuchcmd
[ "$status" = 126 ] || [ "$status" = 127 ] || fail "exec of a missing command: status $status ($err)"
assert_status 126 strata exec web /etc/passwd
ok strata exec web sh -c 'echo exec-output; echo exec-err >&2'
assert_eq "exec-output" "$out"
assert_eq "exec-err" "$err"
ok strata logs web
assert_not_contains "$out" "exec-output" "exec output is not in the container's log"
expect_error --names nosuch strata exec nosuch true

note "top"
ok strata top web
assert_match "$(head -n 1 <<<"$out")" '^UID +PID +PPID +C +STIME +TTY +TIME +CMD$' "top header"
assert_contains "$(awk 'NR > 1 { print $2 }' <<<"$out")" "$pid" "top lists the container's pid 1 by its host pid"
assert_contains "$out" "sh -c" "top shows the command line"

note "stop"
start=$(date +%s%N)
ok strata stop web
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "web" "$out" "stop prints the name given"
[ "$elapsed" -lt 5000 ] || fail "stop of a container that exits on SIGTERM took ${elapsed}ms"
assert_match "$(ps_status web)" "^Exited \(0\) $recent ago\$" "STATUS after stop"
assert_eq "exited" "$(ctr_status web)"
ok strata logs web
assert_contains "$out" "got-term" "the container got SIGTERM"
ok strata ps -q
assert_eq "" "$out" "ps without -a hides exited containers"
ok strata ps -a -q
assert_eq "${id:0:12}" "$out" "ps -a"
kill -0 "$pid" 2>/dev/null && fail "the container's process $pid still runs"
ok strata stop web
assert_eq "web" "$out" "stopping a stopped container succeeds"
assert_status 125 strata exec web true
assert_contains "$err" "not running" "exec into a stopped container"

note "container inspect"
ok strata container inspect web
v=$out
j() { helper json-get "v[0]$1" <<<"$v"; }
assert_eq "1" "$(helper json-get 'len(v)' <<<"$v")" "a JSON array of one"
assert_eq "$id" "$(j "['Id']")" "Id"
assert_eq "/web" "$(j "['Name']")" "Name"
assert_match "$(j "['Created']")" "$rfc3339" "Created"
assert_eq "sh" "$(j "['Path']")" "Path"
assert_eq "$(json_list -c "$web_cmd")" "$(j "['Args']")" "Args"
assert_eq "$bb_id" "$(j "['Image']")" "Image is the image ID"
assert_eq "exited" "$(j "['State']['Status']")" "State.Status"
assert_eq "false" "$(j "['State']['Running']")" "State.Running"
assert_eq "false" "$(j "['State']['Paused']")" "State.Paused"
assert_eq "0" "$(j "['State']['Pid']")" "State.Pid of an exited container"
assert_eq "0" "$(j "['State']['ExitCode']")" "State.ExitCode"
assert_eq "false" "$(j "['State']['OOMKilled']")" "State.OOMKilled"
started=$(j "['State']['StartedAt']"); finished=$(j "['State']['FinishedAt']")
assert_match "$started" "$rfc3339" "StartedAt"
assert_match "$finished" "$rfc3339" "FinishedAt"
[[ "$started" < "$finished" ]] || fail "StartedAt $started is not before FinishedAt $finished"
assert_eq "${id:0:12}" "$(j "['Config']['Hostname']")" "Config.Hostname"
assert_eq "bb" "$(j "['Config']['Image']")" "Config.Image is the name used"
assert_eq "$(json_list sh -c "$web_cmd")" "$(j "['Config']['Cmd']")" "Config.Cmd"
assert_eq "dict" "$(j "['HostConfig'].__class__.__name__")" "HostConfig"
assert_eq "[]" "$(j "['Mounts']")" "Mounts"
ok strata inspect web
assert_eq "$(helper json-get "v[0]['Id']" <<<"$v")" "$(helper json-get "v[0]['Id']" <<<"$out")" "inspect C is container inspect"
ok strata container inspect --format '{{.State.Status}} {{.State.ExitCode}} {{.Name}}' web
assert_eq "exited 0 /web" "$out" "container inspect --format"
ok strata container inspect "${id:0:12}"
assert_eq "$id" "$(helper json-get "v[0]['Id']" <<<"$out")" "inspect by short ID"
expect_error --names nosuch strata container inspect nosuch

note "stop of a process that ignores SIGTERM: SIGKILL after -t, 137"
ok strata run -d --name stubborn bb sleep 300
wait_status stubborn running
start=$(date +%s%N)
ok strata stop -t 1 stubborn
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "stubborn" "$out"
[ "$elapsed" -ge 900 ] || fail "stop -t 1 returned after ${elapsed}ms, before the grace period"
[ "$elapsed" -lt 6000 ] || fail "stop -t 1 took ${elapsed}ms"
assert_match "$(ps_status stubborn)" "^Exited \(137\) $recent ago\$" "STATUS after SIGKILL"
ok strata wait stubborn
assert_eq "137" "$out" "wait prints 137"

note "kill"
ok strata run -d --name kk bb sh -c 'trap "echo got-usr1" USR1; while :; do sleep 0.1; done'
wait_status kk running
ok strata kill -s USR1 kk
assert_eq "kk" "$out" "kill prints the name given"
wait_for 10 logs_contain kk got-usr1
assert_eq "running" "$(ctr_status kk)" "a trapped signal does not stop it"
ok strata kill --signal SIGUSR1 kk
ok strata kill kk
wait_status kk exited
assert_eq "137" "$(ctr_json kk "['State']['ExitCode']")" "kill sends SIGKILL"
assert_status 125 strata kill kk
assert_contains "$err" "not running" "kill of a stopped container"

note "wait blocks until the exit"
ok strata run -d --name ww bb sh -c 'sleep 1; exit 7'
start=$(date +%s%N)
ok strata wait ww
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "7" "$out" "wait prints the status (and exits 0)"
[ "$elapsed" -ge 500 ] || fail "wait returned after ${elapsed}ms, before the container exited"
ok strata run -d --name ww2 bb sh -c 'sleep 0.5; exit 3'
ok strata wait ww ww2
assert_eq "7
3" "$out" "wait on several"

note "logs -f follows until the container exits"
ok strata run -d --name ff bb sh -c 'echo one; sleep 1; echo two; sleep 1; echo three'
run timeout 20 "$STRATA_BIN" logs -f ff
assert_eq 0 "$status" "logs -f returns once the container exits: $err"
assert_eq "one
two
three" "$out" "logs -f"
run_bg "$E2E_TMP/follow.out" "$STRATA_BIN" logs -f --tail 0 kk
follower=$bg_pid
sleep 0.5
kill -0 "$follower" 2>/dev/null && fail "logs -f of an exited container keeps running"
wait "$follower" || true

note "restart"
ok strata run -d --name rr bb sh -c 'trap "exit 0" TERM; echo started; while :; do sleep 0.1; done'
wait_for 10 logs_contain rr started
pid1=$(ctr_json rr "['State']['Pid']")
ok strata restart rr
assert_eq "rr" "$out" "restart prints the name given"
wait_status rr running
pid2=$(ctr_json rr "['State']['Pid']")
assert_ne "$pid1" "$pid2" "a new process"
wait_for 10 logs_count rr started 2
ok strata restart -t 1 stubborn
wait_status stubborn running

note "pause / unpause"
# Each tick appends one line: a single write, so a pause never leaves the
# file half-written the way truncate-then-write could.
ok strata run -d --name pp bb sh -c 'while :; do echo x >>/tmp/count; sleep 0.05; done'
wait_status pp running
ppid_=$(ctr_json pp "['State']['Pid']")
wait_for 10 test -s "/proc/$ppid_/root/tmp/count"
ok strata pause pp
assert_eq "pp" "$out" "pause prints the name given"
assert_eq "paused" "$(ctr_status pp)" "State.Status"
assert_eq "true" "$(ctr_json pp "['State']['Paused']")" "State.Paused"
assert_match "$(ps_status pp)" "^Up $recent \(Paused\)\$" "ps STATUS of a paused container"
ticks() { wc -l <"/proc/$ppid_/root/tmp/count"; }
c1=$(ticks); sleep 0.5; c2=$(ticks)
assert_eq "$c1" "$c2" "a paused container does not run"
assert_status 125 strata exec pp true
ok strata unpause pp
assert_eq "pp" "$out" "unpause prints the name given"
assert_eq "running" "$(ctr_status pp)"
sleep 0.5
c3=$(ticks)
[ "$c3" -gt "$c2" ] || fail "an unpaused container runs again ($c2 -> $c3)"

note "rename"
ok strata rename pp pp2
assert_eq "" "$out" "rename prints nothing"
assert_eq "" "$(ps_row pp)" "old name gone"
[ -n "$(ps_row pp2)" ] || fail "new name missing from ps"
assert_eq "/pp2" "$(ctr_json pp2 "['Name']")"
expect_error --names kk strata rename pp2 kk
expect_error --names nosuch strata rename nosuch xx

note "rm"
assert_status 125 strata rm pp2
assert_contains "$err" "running" "rm of a running container needs -f"
[ -n "$(ps_row pp2)" ] || fail "a failed rm removed the container"
ok strata rm -f pp2
assert_eq "pp2" "$out" "rm -f prints the name given"
assert_eq "" "$(ps_row pp2)" "gone from ps -a"
kill -0 "$ppid_" 2>/dev/null && fail "rm -f left the process $ppid_ running"
ok strata rm web kk
assert_eq "web
kk" "$out" "rm prints each name given"
assert_eq "" "$(ps_row web)" "web gone from ps -a"
expect_error --names web strata container inspect web
expect_error --names nosuch strata rm nosuch
# the cgroups of the first container are gone with it
while IFS= read -r d; do
  [ -z "$d" ] || [ ! -e "$d" ] || fail "cgroup $d outlives its container"
done <<<"$ctr_only"

note "--restart, carried out by the monitor"
ok strata run -d --restart on-failure:2 --name rs bb sh -c 'echo run; exit 3'
wait_for 15 logs_count rs run 3
wait_status rs exited
assert_eq "2" "$(ctr_json rs "['RestartCount']")" "RestartCount after on-failure:2"
assert_eq "3" "$(ctr_json rs "['State']['ExitCode']")"
assert_eq '{"MaximumRetryCount": 2, "Name": "on-failure"}' "$(ctr_json rs "['HostConfig']['RestartPolicy']" | helper json-get 'dict(sorted(v.items()))')" "HostConfig.RestartPolicy"
sleep 1
assert_eq "3" "$(strata logs rs | grep -c run)" "no restart beyond the maximum"
assert_match "$(ps_status rs)" "^Exited \(3\) "
ok strata run -d --restart on-failure --name r0 bb true
ok strata run -d --restart always --name ra bb sh -c 'echo run; sleep 0.3; exit 0'
wait_for 15 logs_at_least ra run 3
[ "$(ctr_json ra "['RestartCount']")" -ge 2 ] || fail "RestartCount of an always container: $(ctr_json ra "['RestartCount']")"
assert_eq "0" "$(ctr_json r0 "['RestartCount']")" "on-failure does not restart after exit 0"
assert_eq "exited" "$(ctr_status r0)"
ok strata stop ra
assert_eq "ra" "$out"
n=$(strata logs ra | grep -c run)
sleep 1.5
assert_eq "exited" "$(ctr_status ra)" "a stopped always container stays stopped"
assert_eq "$n" "$(strata logs ra | grep -c run)" "no restart after stop"
expect_error --names rm strata run --restart always --rm bb true
expect_error --names bogus strata run --restart bogus bb true
ok strata rm -f rs r0 ra

note "the container's end is recorded by its monitor"
ok strata run -d --name victim bb sleep 300
wait_status victim running
vpid=$(ctr_json victim "['State']['Pid']")
kill -9 "$vpid"
wait_status victim exited
assert_eq "137" "$(ctr_json victim "['State']['ExitCode']")" "killed from the host: 137"
assert_match "$(ps_status victim)" "^Exited \(137\) $recent ago\$"
ok strata run -d --name orphan bb sleep 300
wait_status orphan running
opid=$(ctr_json orphan "['State']['Pid']")
mon=$(awk '{ sub(/^.*\) /, ""); print $2 }' "/proc/$opid/stat")
[ "$mon" -gt 1 ] || fail "the container's pid 1 has no parent process (monitor)"
# the monitor dies too (like a reboot): the record must not claim the container still runs
kill -9 "$mon" "$opid" 2>/dev/null || true
wait_for 10 sh -c "! kill -0 $opid 2>/dev/null"
run strata ps -a
assert_eq 0 "$status" "ps after the monitor died: $err"
assert_not_contains "$(ps_status orphan)" "Up" "a container whose monitor and process are gone is not Up"
assert_ne "running" "$(ctr_status orphan)" "State.Status"
ok strata rm -f victim orphan stubborn rr ff ww ww2
run strata ps -a -q
assert_eq "" "$out" "all removed"
