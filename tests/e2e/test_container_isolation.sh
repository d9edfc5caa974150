#!/usr/bin/env bash
# What a container may not do, and the limits put on it: mount, device nodes, /proc/sys, masked
# /proc files, capabilities, seccomp, sethostname; kexec_load, init_module, ptrace of a host
# process, raw sockets, user namespaces; seccomp profiles from files (--security-opt
# seccomp=FILE); network none/host (and the default bridge's eth0); memory (OOM kill), CPU
# and pids limits in the container's cgroup; --init (a pid 1 that reaps zombies and forwards
# signals).
#
# Checked against docker 20.10 (runc, this hybrid cgroup v1/v2 host, --network none unless said):
#  - `mount -t tmpfs none /mnt`, `mount -t proc proc /mnt`, `unshare -m true`,
#    `hostname evil` fail; `echo x > /proc/sys/kernel/hostname` fails (read-only /proc/sys);
#    /sys is mounted ro; /proc/kcore (absent on this kernel), /proc/keys and /proc/timer_list read
#    empty (masked, the host's have content); /sys/firmware is empty;
#  - CapBnd/CapEff 00000000a80425fb (docker's default set), Seccomp: 2 (filter); docker leaves
#    NoNewPrivs 0 (not asserted);
#  - with tests/e2e/isolation_probe.c bind-mounted (docker 20.10.24 daemon, this 6.18 kernel):
#    kexec_load and init_module fail with EPERM (ENOSYS with seccomp=unconfined: this kernel has
#    neither), a raw ICMP socket opens (EPERM with --cap-drop NET_RAW), PTRACE_ATTACH to a host
#    process's pid gives ESRCH (the pid is not in the container's namespace), `unshare -U true`
#    says "Operation not permitted", /proc/kcore is absent (ENOENT) as on the host; busybox
#    `ping -c 1 127.0.0.1` works, and with --cap-drop NET_RAW fails with status 1 and "ping:
#    permission denied (are you root?)" (busybox ping uses raw sockets only, so docker's
#    ping_group_range does not help it);
#  - --security-opt seccomp=FILE: a profile denying mkdir/mkdirat (errnoRet 1) gives "mkdir: can't
#    create directory '/x': Operation not permitted" where the default profile allows it, with
#    Seccomp: 2; {"defaultAction": "SCMP_ACT_ALLOW"} lets `unshare -U true` succeed; errnoRet 28
#    gives "No space left on device"; a rule with excludes.caps [CAP_SYS_ADMIN] is left out with
#    --cap-add SYS_ADMIN; unknown syscall names are skipped; HostConfig.SecurityOpt is
#    ["seccomp=<the file's JSON, compacted>"] (the CLI reads the file). An unknown action or
#    operator makes `docker run` fail with 125 when runc starts it (the container stays created;
#    strata refuses at create and creates nothing); malformed JSON fails in the CLI ("compacting
#    json for seccomp profile (bad.json) failed: unexpected end of JSON input"). --privileged
#    drops the profile (moby's WithSeccomp; `docker run --privileged` fails on this host, so not
#    observed);
#  - `mknod /tmp/disk b <host disk>` SUCCEEDS in docker (CAP_MKNOD; the device cgroup allows "m"
#    for every device) but reading the node fails ("Operation not permitted"). The test accepts
#    either a refused mknod or an unreadable node: what matters is that the host's disk stays out
#    of reach;
#  - /dev holds fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero
#    (console only with -t); writing /dev/full fails with ENOSPC;
#  - appending to /etc/hosts in the container does not touch the host's;
#  - --network none: only `lo` in /sys/class/net, up, with 127.0.0.1; --network host: the host's
#    interfaces, and the host's hostname;
#  - `-m 32m` + a shell building an 80 MB string: killed by the kernel, exit 137,
#    State.OOMKilled true, HostConfig.Memory 33554432; the cgroup's memory.limit_in_bytes
#    (v1) / memory.max (v2) is 33554432;
#  - `--cpus 0.5`: cpu.cfs_quota_us 50000 with cpu.cfs_period_us 100000 (v1) / cpu.max
#    "50000 100000" (v2), HostConfig.NanoCpus 500000000;
#  - `--pids-limit 8`: forking 20 sleeps fails ("can't fork"), pids.max 8, HostConfig.PidsLimit 8;
#  - `--init`: pid 1 is the init (docker-init), not the command; an orphaned zombie is reaped
#    (without --init, `sh -c '(sleep 0.2 &); exec sleep 30'` leaves a Z process); `stop` of
#    `--init sleep 300` returns at once with 143 (SIGTERM forwarded to sleep); exit statuses pass
#    through (`sh -c 'exit 3'` -> 3).
source "$(dirname "$0")/lib.sh"

containers_setup
bb_image bb

note "mount, unshare, sethostname are refused"
ok strata run --rm bb sh -c 'mkdir -p /mnt
mount -t tmpfs none /mnt 2>/dev/null && echo mounted || echo refused
mount -t proc proc /mnt 2>/dev/null && echo mounted || echo refused
unshare -m true 2>/dev/null && echo unshared || echo refused
hostname evil 2>/dev/null && echo renamed || echo refused
grep -c " /mnt " /proc/mounts; true'
assert_eq "refused
refused
refused
refused
0" "$out" "mount / unshare / sethostname inside"
assert_ne "evil" "$(hostname)" "the host's hostname"

note "/proc/sys and /sys are read-only, sensitive /proc files are masked"
ok strata run --rm bb sh -c 'echo x > /proc/sys/kernel/hostname 2>/dev/null && echo wrote || echo refused
echo 1 > /proc/sysrq-trigger 2>/dev/null && echo wrote || echo refused
grep " /sys " /proc/mounts | grep -c "[ ,]ro[ ,]"
cat /proc/kcore 2>/dev/null | wc -c
cat /proc/keys 2>/dev/null | wc -c
cat /proc/timer_list 2>/dev/null | wc -c
ls /sys/firmware 2>/dev/null | wc -l
hostname'
host_name=$(hostname)
lines=$(sed '$d' <<<"$out")
assert_eq "refused
refused
1
0
0
0
0" "$lines" "/proc/sys, /proc/sysrq-trigger, /sys, /proc/kcore, /proc/keys, /proc/timer_list, /sys/firmware"
assert_ne "x" "$(tail -n 1 <<<"$out")" "the container's hostname"
assert_eq "$host_name" "$(cat /proc/sys/kernel/hostname)" "the host's hostname"

note "capabilities and seccomp"
ok strata run --rm bb sh -c 'grep -E "^(CapBnd|CapEff|CapPrm|CapInh|CapAmb|Seccomp):" /proc/self/status'
assert_eq "CapInh:	0000000000000000
CapPrm:	00000000a80425fb
CapEff:	00000000a80425fb
CapBnd:	00000000a80425fb
CapAmb:	0000000000000000
Seccomp:	2" "$out" "docker's default capabilities and a seccomp filter"
ok strata run --rm -u nobody bb sh -c 'grep -E "^(CapEff|CapPrm):" /proc/self/status'
assert_eq "CapPrm:	0000000000000000
CapEff:	0000000000000000" "$out" "a non-root user has no effective capabilities"
note "--cap-add, --cap-drop, --privileged, --security-opt"
caps_of() { strata run --rm --network none "$@" bb sh -c 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | tr "\n\t" "  "'; }
assert_eq "CapEff: 00000000a80405fb NoNewPrivs: 1 Seccomp: 2 " "$(caps_of --cap-drop NET_RAW)" "--cap-drop NET_RAW"
assert_eq "CapEff: 00000000aa0425fb NoNewPrivs: 1 Seccomp: 2 " "$(caps_of --cap-add sys_time)" "--cap-add sys_time"
assert_eq "CapEff: 0000000000000001 NoNewPrivs: 1 Seccomp: 2 " "$(caps_of --cap-drop ALL --cap-add CAP_CHOWN)" "--cap-drop ALL --cap-add CHOWN"
own_bnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
assert_eq "CapEff: $own_bnd NoNewPrivs: 0 Seccomp: 0 " "$(caps_of --privileged)" "--privileged: every capability strata has, no seccomp"
assert_eq "CapEff: 00000000a80425fb NoNewPrivs: 1 Seccomp: 0 " "$(caps_of --security-opt seccomp=unconfined)" "seccomp=unconfined"
assert_eq "CapEff: 00000000a80425fb NoNewPrivs: 0 Seccomp: 2 " "$(caps_of --security-opt no-new-privileges=false)" "no-new-privileges=false"
ok strata run --rm --network none --privileged bb sh -c 'mkdir /tmp/m && mount -t tmpfs none /tmp/m && cat /proc/keys >/dev/null && echo mounted'
assert_eq "mounted" "$out" "--privileged may mount"
run strata run --rm --network none --cap-drop CHOWN bb sh -c 'touch /tmp/f && chown 1:1 /tmp/f'
assert_ne 0 "$status" "chown without CAP_CHOWN"
expect_error --names "unknown capability: FOO" strata create --cap-add FOO bb true
expect_error --names "seccomp=/no/such.json" strata create --security-opt seccomp=/no/such.json bb true
expect_error --names "bogus" strata create --security-opt bogus bb true
ok strata create --name capy --privileged --cap-drop MKNOD --security-opt seccomp=unconfined bb true
ok strata inspect -f '{{.HostConfig.Privileged}} {{json .HostConfig.CapDrop}} {{json .HostConfig.SecurityOpt}}' capy
assert_eq 'true ["MKNOD"] ["seccomp=unconfined"]' "$out"
ok strata rm capy

ok strata run -d --name capx bb sleep 300
wait_status capx running
ok strata exec capx sh -c 'grep -E "^(CapBnd|CapEff|Seccomp):" /proc/self/status'
assert_eq "CapEff:	00000000a80425fb
CapBnd:	00000000a80425fb
Seccomp:	2" "$out" "exec gets the same confinement"
ok strata rm -f capx

note "kexec_load, init_module, ptrace of a host process, raw sockets, user namespaces, /proc/kcore"
# busybox has no tool for most of these: a static probe (tests/e2e/isolation_probe.c) is
# bind-mounted in and prints "ok" or the errno's name.
command -v gcc >/dev/null || fail "gcc is needed to build isolation_probe.c (scripts/install-deps.sh installs it)"
mkdir -p "$E2E_TMP/probe"
gcc -static -O2 -o "$E2E_TMP/probe/probe" "$E2E_DIR/isolation_probe.c"
run_bg "$E2E_TMP/host-sleep.out" sleep 300
host_pid=$bg_pid
kcore_want=ENOENT
[ -e /proc/kcore ] && kcore_want="ok 0"
probes() {
  strata run --rm --network none -v "$E2E_TMP/probe:/probe:ro" "$@" bb sh -c "
for c in kexec_load init_module rawsock; do echo \$c \$(/probe/probe \$c); done
echo ptrace \$(/probe/probe ptrace $host_pid)
[ -e /proc/$host_pid ] && echo host-pid-visible || echo host-pid-hidden
unshare -U true 2>/dev/null && echo userns || echo userns-refused
echo kcore \$(/probe/probe read /proc/kcore)"
}
kill -0 "$host_pid" || fail "the host's sleep ($host_pid) is not running"
assert_eq "kexec_load EPERM
init_module EPERM
rawsock ok
ptrace ESRCH
host-pid-hidden
userns-refused
kcore $kcore_want" "$(probes)" "a default container"
assert_eq "kexec_load EPERM
init_module EPERM
rawsock EPERM
ptrace ESRCH
host-pid-hidden
userns-refused
kcore $kcore_want" "$(probes --cap-drop NET_RAW)" "--cap-drop NET_RAW"
# Without a filter (and with every capability) the container gets the host's own answers (on a
# kernel without kexec or modules ENOSYS, else EINVAL/ENOEXEC for the probe's invalid
# arguments): the EPERM above is the filter's.
host_kexec=$("$E2E_TMP/probe/probe" kexec_load)
host_module=$("$E2E_TMP/probe/probe" init_module)
ok strata run --rm --network none --privileged -v "$E2E_TMP/probe:/probe:ro" bb sh -c '/probe/probe kexec_load; /probe/probe init_module'
assert_eq "$host_kexec
$host_module" "$out" "--privileged: kexec_load and init_module as on the host"
ok strata run --rm --network none bb sh -c 'ping -c 1 -W 2 127.0.0.1 | grep -c "bytes from"'
assert_eq "1" "$out" "ping (NET_RAW is a default capability)"
run strata run --rm --network none --cap-drop NET_RAW bb sh -c "ping -c 1 -W 2 127.0.0.1"
assert_eq 1 "$status" "ping without NET_RAW"
assert_contains "$err" "ping: permission denied (are you root?)"

note "--security-opt seccomp=FILE: Docker's JSON profiles"
cat >"$E2E_TMP/deny-mkdir.json" <<'EOF'
{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1 }
  ]
}
EOF
deny_mkdir_compact='{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
ok strata run --rm --network none bb sh -c 'mkdir /x && echo made'
assert_eq "made" "$out" "the default profile allows mkdir"
run strata run --rm --network none --security-opt seccomp="$E2E_TMP/deny-mkdir.json" bb sh -c 'mkdir /x'
assert_eq 1 "$status" "mkdir under a profile that denies it"
assert_eq "mkdir: can't create directory '/x': Operation not permitted" "$err"
assert_eq "CapEff: 00000000a80425fb NoNewPrivs: 1 Seccomp: 2 " \
  "$(caps_of --security-opt seccomp="$E2E_TMP/deny-mkdir.json")" "a profile is a seccomp filter"
echo '{"defaultAction": "SCMP_ACT_ALLOW"}' >"$E2E_TMP/allow.json"
ok strata run --rm --network none --security-opt seccomp="$E2E_TMP/allow.json" bb sh -c 'unshare -U true && echo userns; grep "^Seccomp:" /proc/self/status'
assert_eq "userns
Seccomp:	2" "$out" "a profile allowing everything lets unshare -U past the filter"
assert_eq "CapEff: $own_bnd NoNewPrivs: 0 Seccomp: 0 " \
  "$(caps_of --privileged --security-opt seccomp="$E2E_TMP/deny-mkdir.json")" "--privileged ignores the profile"

# errnoRet, includes/excludes caps, and names this libseccomp does not know (skipped)
cat >"$E2E_TMP/caps.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
  {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
  {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_TIME"]}},
  {"names": ["no_such_syscall"], "action": "SCMP_ACT_KILL"}]}
EOF
run strata run --rm --network none --security-opt seccomp="$E2E_TMP/caps.json" bb sh -c 'mkdir /x'
assert_eq "mkdir: can't create directory '/x': No space left on device" "$err" "errnoRet 28, rule excluded only with CAP_SYS_ADMIN"
ok strata run --rm --network none --cap-add SYS_ADMIN --cap-add SYS_TIME --security-opt seccomp="$E2E_TMP/caps.json" bb sh -c 'mkdir /x && echo mkdir-ok; rmdir /x 2>&1 || true'
assert_eq "mkdir-ok
rmdir: '/x': Operation not permitted" "$out" "with CAP_SYS_ADMIN and CAP_SYS_TIME"

# The profile is read at create and kept in the record (Docker's "seccomp=<compacted JSON>"):
# start and exec no longer need the file.
cp "$E2E_TMP/deny-mkdir.json" "$E2E_TMP/gone.json"
ok strata create --name prof --network none --security-opt seccomp="$E2E_TMP/gone.json" bb sleep 300
rm "$E2E_TMP/gone.json"
ok strata inspect -f '{{json .HostConfig.SecurityOpt}}' prof
assert_eq "$(json_list "seccomp=$deny_mkdir_compact")" "$out" "HostConfig.SecurityOpt"
ok strata start prof
wait_status prof running
run strata exec prof mkdir /x
assert_eq 1 "$status" "exec under the container's profile"
assert_eq "mkdir: can't create directory '/x': Operation not permitted" "$err"
ok strata rm -f prof

echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_FOO"}]}' >"$E2E_TMP/bad-action.json"
echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_FOO"}]}]}' >"$E2E_TMP/bad-op.json"
printf '{"defaultAction": ' >"$E2E_TMP/bad-json.json"
ids_before=$(strata ps -a -q --no-trunc)
expect_error --names "$E2E_TMP/bad-action.json" --names 'syscalls[0].action: unknown action "SCMP_ACT_FOO"' \
  strata create --security-opt seccomp="$E2E_TMP/bad-action.json" bb true
expect_error --names "$E2E_TMP/bad-op.json" --names 'syscalls[0].args[0].op: unknown operator "SCMP_CMP_FOO"' \
  strata run --rm --security-opt seccomp="$E2E_TMP/bad-op.json" bb true
expect_error --names "$E2E_TMP/bad-json.json" --names "invalid JSON" \
  strata run --security-opt seccomp="$E2E_TMP/bad-json.json" bb true
expect_error --names "$E2E_TMP/probe" \
  strata create --security-opt seccomp="$E2E_TMP/probe" bb true
assert_eq "$ids_before" "$(strata ps -a -q --no-trunc)" "no container is created by a bad profile"

note "devices"
ok strata run --rm bb sh -c 'ls /dev'
for d in null zero full random urandom tty pts shm mqueue ptmx fd stdin stdout stderr; do
  grep -qx "$d" <<<"$out" || fail "/dev lacks $d:
$out"
done
for d in kmsg mem kcore vda sda loop0 tty0 console; do
  grep -qx "$d" <<<"$out" && fail "/dev has the host's $d"
done
ok strata run --rm bb sh -c 'echo x >/dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c; echo x >/dev/full 2>/dev/null && echo full-wrote || echo full-refused'
assert_eq "null-ok
4
4
full-refused" "$out" "/dev/null, /dev/zero, /dev/urandom, /dev/full"
read -r major minor < <(awk 'NR > 2 && $4 !~ /^(loop|ram)/ { print $1, $2; exit }' /proc/partitions)
if [ -n "${major:-}" ]; then
  ok strata run --rm bb sh -c "mknod /tmp/disk b $major $minor 2>/dev/null || { echo mknod-refused; exit 0; }; head -c 512 /tmp/disk 2>/dev/null | wc -c"
  [ "$out" = mknod-refused ] || [ "$out" = 0 ] || fail "the host's disk ($major:$minor) is readable from a container: read $out bytes"
fi
ok strata run --rm bb sh -c 'mknod /tmp/mem c 1 1 2>/dev/null || { echo mknod-refused; exit 0; }; head -c 16 /tmp/mem 2>/dev/null | wc -c'
[ "$out" = mknod-refused ] || [ "$out" = 0 ] || fail "/dev/mem is readable from a container through mknod"

note "the container's /etc/hosts is its own"
hosts_before=$(sha256sum /etc/hosts)
ok strata run --rm bb sh -c 'echo "6.6.6.6 evil" >> /etc/hosts; grep -c evil /etc/hosts'
assert_eq "1" "$out"
assert_eq "$hosts_before" "$(sha256sum /etc/hosts)" "the host's /etc/hosts"

note "network none and host"
ok strata run --rm bb sh -c 'ls /sys/class/net'
assert_eq "eth0
lo" "$out" "the default (bridge) has eth0 and lo"
ok strata run --rm --network none bb sh -c 'ls /sys/class/net; ip addr show lo | grep -c "inet 127.0.0.1"; ip link show lo | grep -c "UP"'
assert_eq "lo
1
1" "$out" "--network none: lo, up, 127.0.0.1"
ok strata run --rm --network host bb sh -c 'ls /sys/class/net; hostname'
assert_eq "$(ls /sys/class/net)
$(hostname)" "$out" "--network host: the host's interfaces and hostname"
ok strata run --name nethost --network host bb true
assert_eq "host" "$(ctr_json nethost "['HostConfig']['NetworkMode']")" "HostConfig.NetworkMode"
ok strata rm nethost

# cgroup_file PID FILE...: the content of the first FILE found in PID's cgroup directories
cgroup_file() {
  local pid=$1 d f; shift
  for d in $(helper cgroup-dirs "$pid"); do
    for f in "$@"; do
      [ -r "$d/$f" ] && { cat "$d/$f"; return 0; }
    done
  done
  echo "<none of $* in the cgroups of $pid>"
}

note "memory limit"
ok strata run -d --name mem -m 32m bb sleep 300
wait_status mem running
mpid=$(ctr_json mem "['State']['Pid']")
assert_eq "33554432" "$(cgroup_file "$mpid" memory.max memory.limit_in_bytes)" "the cgroup's memory limit"
assert_eq "33554432" "$(ctr_json mem "['HostConfig']['Memory']")" "HostConfig.Memory"
ok strata rm -f mem
start=$(date +%s)
assert_status 137 strata run --name oom -m 32m bb sh -c 'x=$(head -c 80000000 /dev/zero | tr "\0" a); echo survived ${#x}'
[ $(( $(date +%s) - start )) -lt 30 ] || fail "the OOM kill took $(( $(date +%s) - start ))s"
assert_not_contains "$out" "survived" "the program must not survive"
assert_eq "true" "$(ctr_json oom "['State']['OOMKilled']")" "State.OOMKilled"
assert_eq "137" "$(ctr_json oom "['State']['ExitCode']")" "State.ExitCode"
assert_match "$(ps_status oom)" '^Exited \(137\) ' "ps STATUS"
ok strata run --rm -m 32m bb sh -c 'x=$(head -c 1000000 /dev/zero | tr "\0" a); echo survived ${#x}'
assert_eq "survived 1000000" "$out" "a program within the limit runs"
ok strata run --rm bb sh -c 'x=$(head -c 80000000 /dev/zero | tr "\0" a); echo survived ${#x}'
assert_eq "survived 80000000" "$out" "without -m the same program runs"
assert_status 125 strata run --rm -m nonsense bb true
assert_contains "$err" "nonsense"

note "cpu limit"
ok strata run -d --name cpu --cpus 0.5 bb sleep 300
wait_status cpu running
cpid=$(ctr_json cpu "['State']['Pid']")
q=$(cgroup_file "$cpid" cpu.max cpu.cfs_quota_us)
case $q in
  "50000 100000") ;;
  50000) assert_eq 100000 "$(cgroup_file "$cpid" cpu.cfs_period_us)" "cpu.cfs_period_us" ;;
  *) fail "--cpus 0.5: cgroup cpu quota is [$q]" ;;
esac
assert_eq "500000000" "$(ctr_json cpu "['HostConfig']['NanoCpus']")" "HostConfig.NanoCpus"
ok strata rm -f cpu

note "pids limit"
ok strata run -d --name pids --pids-limit 8 bb sleep 300
wait_status pids running
assert_eq "8" "$(cgroup_file "$(ctr_json pids "['State']['Pid']")" pids.max)" "pids.max"
assert_eq "8" "$(ctr_json pids "['HostConfig']['PidsLimit']")" "HostConfig.PidsLimit"
ok strata rm -f pids
run strata run --rm --pids-limit 8 bb sh -c 'n=0; while [ $n -lt 20 ]; do sleep 2 & n=$((n+1)); done; echo spawned $n'
assert_ne 0 "$status" "forking past --pids-limit must fail"
assert_not_contains "$out" "spawned 20"
assert_contains "$err" "fork"
ok strata run --rm bb sh -c 'n=0; while [ $n -lt 20 ]; do sleep 1 & n=$((n+1)); done; echo spawned $n'
assert_eq "spawned 20" "$out" "without --pids-limit"

note "--init"
ok strata run --rm --init bb sh -c 'echo $$; cat /proc/1/comm'
pid_in=$(sed -n 1p <<<"$out"); init_comm=$(sed -n 2p <<<"$out")
assert_ne "1" "$pid_in" "with --init the command is not pid 1"
assert_ne "sh" "$init_comm" "pid 1 is the init"
ok strata run --rm --init bb sh -c 'ps -o pid,comm; true'
assert_match "$(awk '$1 == 1' <<<"$out")" '^ +1 +[^ ]+' "ps inside shows pid 1"
assert_not_contains "$(awk '$1 == 1' <<<"$out")" " sh" "ps inside shows the init as pid 1"
assert_status 3 strata run --rm --init bb sh -c 'exit 3'
ok strata run -d --name zombies bb sh -c '(sleep 0.2 &); exec sleep 30'
ok strata run -d --init --name reaped bb sh -c '(sleep 0.2 &); exec sleep 30'
sleep 1.5
ok strata exec zombies sh -c 'ps -o stat,comm; true'
assert_contains "$out" "Z" "without --init the orphan stays a zombie (sanity check of the test)"
ok strata exec reaped sh -c 'ps -o stat,comm; true'
assert_not_contains "$(awk 'NR > 1 { print $1 }' <<<"$out")" "Z" "--init reaps orphans"
ok strata run -d --init --name initstop bb sleep 300
wait_status initstop running
start=$(date +%s%N)
ok strata stop initstop
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed" -lt 5000 ] || fail "stop of --init sleep took ${elapsed}ms: SIGTERM was not forwarded"
assert_eq "143" "$(ctr_json initstop "['State']['ExitCode']")" "SIGTERM forwarded: 143"
assert_eq "true" "$(ctr_json initstop "['HostConfig']['Init']")" "HostConfig.Init"
ok strata rm -f zombies reaped initstop oom
