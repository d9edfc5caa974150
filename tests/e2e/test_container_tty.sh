#!/usr/bin/env bash
# Interactive containers on a real pseudo-terminal (helpers.py pty-session drives the CLI the way
# a user at a terminal would): run -it, window size and resizes, raw mode (ctrl-c reaches the
# container, not the CLI), run -t, the detach keys ctrl-p ctrl-q and --detach-keys, attach,
# exec -it; and signals sent to a foreground `run` reaching the container.
#
# Checked against docker 20.10 (--network none, busybox sh):
#  - `run -it IMG sh`: the shell's prompt arrives, `tty` is /dev/pts/0, `stty size` is the
#    terminal's size and follows a resize (SIGWINCH forwarded), ctrl-c interrupts a `sleep` in
#    the container and the shell lives on; `exit 5` makes the CLI exit 5;
#  - ctrl-p ctrl-q detaches: `run -it` exits 0 (`attach` prints "read escape sequence" and exits
#    1), ps shows the container "Up ..."; `attach` brings
#    the shell back (after a newline the prompt shows), `exit 7` ends container and attach with 7;
#    Config.Tty and Config.OpenStdin are true; `--detach-keys ctrl-x` detaches on ctrl-x;
#  - `exec -it C sh` gets a pty of its own (/dev/pts/1) and exits with the shell's status;
#  - SIGTERM/SIGINT sent to a foreground `run` (no tty) are passed to the container (docker's
#    sig-proxy): a trapping shell prints and exits with its own status, which the CLI returns.
# Like a user, the session waits for the shell's first prompt before typing; prompts are then
# made unique with PS1='RE''ADY> ' (the echoed input never contains "READY> ") and outputs with
# arithmetic ($((40+2)) prints 42, the echoed input shows the expression).
source "$(dirname "$0")/lib.sh"

containers_setup
need_cmd python3
bb_image bb
PS1_SET='PS1=\"RE\"\"ADY> \"\n'

note "run -it: a shell on a pty"
pty_session --rows 30 --cols 100 '[
  ["expect", "# "], ["send", "'"$PS1_SET"'"], ["expect", "READY> "],
  ["send", "echo $((40+2)); tty\n"], ["expect", "42"], ["expect", "READY> "],
  ["send", "stty size\n"], ["expect", "30 100"], ["expect", "READY> "],
  ["resize", 40, 120], ["sleep", 0.3],
  ["send", "stty size\n"], ["expect", "40 120"], ["expect", "READY> "],
  ["send", "sleep 30; echo $((1+1))-after-sleep\n"], ["sleep", 0.5], ["send", "\u0003"],
  ["expect", "READY> "],
  ["send", "echo $((2+3))-alive; exit 5\n"], ["expect", "5-alive"]
]' "$STRATA_BIN" run -it --rm --name itrm bb sh
assert_eq 5 "$status" "run -it exits with the shell's status: $err
$out"
assert_contains "$out" "/dev/pts/0" "the shell's stdin is a pty"
assert_not_contains "$out" "2-after-sleep" "ctrl-c interrupted the sleep (raw mode: it reached the container)"
assert_eq "" "$(ps_row itrm)" "--rm removed the container"

note "run -t without -i"
pty_session '[]' "$STRATA_BIN" run -t --rm bb sh -c 'tty; echo $((6*7))'
assert_eq 0 "$status" "run -t: $err"
assert_contains "$out" "/dev/pts/0"
assert_contains "$out" "42"

note "detach with ctrl-p ctrl-q, attach again"
pty_session '[
  ["expect", "# "], ["send", "'"$PS1_SET"'"], ["expect", "READY> "],
  ["send", "echo $((100+1))\n"], ["expect", "101"], ["expect", "READY> "],
  ["send", "\u0010\u0011"]
]' "$STRATA_BIN" run -it --name itc bb sh
assert_eq 0 "$status" "the CLI exits 0 on detach: $err
$out"
assert_match "$(ps_status itc)" '^Up ' "the container runs on after the detach"
assert_eq "true" "$(ctr_json itc "['Config']['Tty']")" "Config.Tty"
assert_eq "true" "$(ctr_json itc "['Config']['OpenStdin']")" "Config.OpenStdin"
ok strata exec itc sh -c 'echo $((7+7))'
assert_eq "14" "$out" "exec into the detached container"
ok strata logs itc
assert_contains "$out" "101" "logs of a tty container"
pty_session '[
  ["send", "\n"], ["expect", "READY> "],
  ["send", "echo $((200+2))\n"], ["expect", "202"], ["expect", "READY> "],
  ["send", "exit 7\n"]
]' "$STRATA_BIN" attach itc
assert_eq 7 "$status" "attach returns the container's status: $err
$out"
wait_status itc exited
assert_eq "7" "$(ctr_json itc "['State']['ExitCode']")"
assert_match "$(ps_status itc)" '^Exited \(7\) '

note "--detach-keys"
pty_session '[
  ["expect", "# "], ["send", "'"$PS1_SET"'"], ["expect", "READY> "],
  ["send", "echo $((300+3))\n"], ["expect", "303"], ["expect", "READY> "],
  ["send", "\u0018"]
]' "$STRATA_BIN" run -it --detach-keys ctrl-x --name itdk bb sh
assert_eq 0 "$status" "detached with ctrl-x: $err
$out"
assert_match "$(ps_status itdk)" '^Up '
pty_session '[
  ["send", "\n"], ["expect", "READY> "],
  ["send", "echo $((400+4))\n"], ["expect", "404"], ["expect", "READY> "],
  ["send", "\u0010\u0011"]
]' "$STRATA_BIN" attach itdk
# docker 20.10's attach prints "read escape sequence" and exits 1 on a detach (run -it exits 0)
[ "$status" = 0 ] || [ "$status" = 1 ] || fail "attach detaches with ctrl-p ctrl-q: status $status
$err
$out"
assert_match "$(ps_status itdk)" '^Up ' "still running after detaching from attach"

note "exec -it"
pty_session '[
  ["expect", "# "], ["send", "'"$PS1_SET"'"], ["expect", "READY> "],
  ["send", "tty; echo $((500+5)); exit 3\n"], ["expect", "505"]
]' "$STRATA_BIN" exec -it itdk sh
assert_eq 3 "$status" "exec -it exits with the shell's status: $err
$out"
assert_match "$out" '/dev/pts/[0-9]+' "exec -it gets a pty"
assert_match "$(ps_status itdk)" '^Up ' "exec's exit does not stop the container"
ok strata rm -f itdk itc

note "signals to a foreground run reach the container"
for sig in TERM INT; do
  # (bash starts background commands with SIGINT ignored; a user's terminal does not)
  run_bg "$E2E_TMP/sig.out" python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$STRATA_BIN" run --rm --name "sig$sig" bb sh -c \
    "trap 'echo got-$sig; exit 9' $sig; echo ready; while :; do sleep 0.1; done"
  cli=$bg_pid
  wait_for 10 grep -q ready "$E2E_TMP/sig.out"
  kill -s "$sig" "$cli"
  rc=0
  for _ in $(seq 1 100); do kill -0 "$cli" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$cli" 2>/dev/null && fail "run did not end after SIG$sig"
  wait "$cli" || rc=$?
  assert_eq 9 "$rc" "run exits with the container's status after SIG$sig"
  assert_contains "$(cat "$E2E_TMP/sig.out")" "got-$sig" "SIG$sig reached the container"
done
