#!/usr/bin/env bash
# The seeds' nginx example, end to end (`docker run -d -p 80:80 --name hellonginx nginx`, an
# image built as OS -> nginx install -> nginx config -> index.html, and a changed page committed
# into a new image): debootstrap a Debian bookworm minbase (cached in $E2E_CACHE by
# scripts/debian-base.sh), import it as debian:bookworm, build the nginx image on the default
# (bridge) network, run it with -p PORT:80 --name hellonginx, fetch the page with curl, change the
# page with exec, commit it as hellonginx:2 with a message, read its history and serve it from a
# new container. Then nothing of the network may be left: no bridge, veth, nft table, lease or
# listening port.
#
# It needs Debian's archive (deb.debian.org), on the host for debootstrap and from inside the
# build. The first run debootstraps the base (about 35 s with a fast mirror, the whole test about
# 45 s; raise E2E_TIMEOUT, default 180 s, on a slow link); later runs take about 10 s. Other strata
# users of the host's default bridge may run meanwhile (see check_net_clean).
#
# Docker's forms (from Docker's documentation of port, ps, commit and build; not re-run against a
# dockerd here, whose test daemons run with --bridge=none):
#  - `docker port C` prints `80/tcp -> 0.0.0.0:PORT` (plus an IPv6 line), `docker port C 80/tcp`
#    prints `0.0.0.0:PORT` (first); `docker ps` PORTS holds `0.0.0.0:PORT->80/tcp`. The IPv6
#    forms differ between Docker versions (`:::PORT`, `[::]:PORT`) and are not asserted;
#  - `docker commit -m MSG` puts MSG in the COMMENT column of the new top row of `docker history`,
#    whose next row is the image the container ran;
#  - RUN steps of `docker build` reach the network through the default bridge; a rebuild of an
#    unchanged context shows every RUN/COPY step as CACHED and gives the same image ID.
source "$(dirname "$0")/lib.sh"

need_root
need_cmd debootstrap curl ip nft ss flock
containers_setup
# by name too (its proxy holds the published port), besides containers_setup's removal of every
# container of the store
rm_hellonginx() { timeout 30 "$STRATA_BIN" rm -f hellonginx; }
on_exit rm_hellonginx

# The network's host-wide state: strata0 (the default bridge), nft table strata-strata0, one veth
# and one lease file (/run/strata/net/<bridge>/<address>.json) per endpoint. Other strata users
# on this host (concurrent tests, containers) share it, so the checks tell this test's part from
# theirs: the leases naming this test's containers and the veths seen attached to them must go;
# the bridge and its table must go too unless another user holds a lease (looked at under
# strata's own lock, /run/strata/net/lock, for a consistent view).
NET_STATE=/run/strata/net
OUR_IDS=()   # containers this test ran
OUR_VETHS=() # their host-side veths
bridge_links() { ip -br link | awk '{ sub(/@.*/, "", $1); print $1 }' | grep -E '^(strata0|veth)' || true; }
links_before=$(bridge_links)
# net_snapshot: sets ours/others (lease files naming this test's containers / anyone else's),
# links (strata0 and veth links), tables (nft list tables), bridge_dir (1 when
# /run/strata/net/strata0 exists), all read while holding strata's network lock
net_snapshot() {
  ours="" others="" bridge_dir=0
  local locked=0 l id mine
  if [ -e "$NET_STATE/lock" ]; then
    exec 7<>"$NET_STATE/lock"
    flock -w 30 7 && locked=1
  fi
  for l in "$NET_STATE"/*/*.json; do
    if [ ! -e "$l" ] || [ "${l##*/}" = bridge.json ]; then continue; fi
    mine=0
    for id in "${OUR_IDS[@]}"; do grep -q "\"$id\"" "$l" && mine=1; done
    if [ "$mine" = 1 ]; then ours+="$l "; else others+="$l "; fi
  done
  links=$(bridge_links)
  tables=$(nft list tables 2>&1 || true)
  [ ! -d "$NET_STATE/strata0" ] || bridge_dir=1
  if [ -e "$NET_STATE/lock" ]; then
    [ "$locked" = 0 ] || flock -u 7
    exec 7>&-
  fi
  [ "$locked" = 1 ] || [ ! -e "$NET_STATE/lock" ] || fail "could not take $NET_STATE/lock for 30 s"
}
# check_net_clean WHAT: polls (up to 5 s) until none of this test's network state is left.
# strata leaves the host end of a veth to go with the container's network namespace, which the
# kernel frees asynchronously, and which an orphaned TCP socket (a FIN that was never answered
# because the bridge and its NAT went first) keeps alive for minutes. The veths of this test's
# containers must be gone; a new veth that cannot be told apart from another user's (the build's
# RUN steps) only gets a warning when it outlives the 5 s.
check_net_clean() {
  local what=$1 problems strays v new start
  start=$(date +%s%N)
  for _ in $(seq 1 50); do
    net_snapshot
    problems="" strays=""
    [ -z "$ours" ] || problems+="leases of this test's containers: $ours; "
    for v in "${OUR_VETHS[@]}"; do
      ! ip link show "$v" >/dev/null 2>&1 || problems+="veth $v of a container of this test; "
    done
    if [ -z "$others" ]; then
      new=$(comm -13 <(sort <<<"$links_before") <(sort <<<"$links"))
      for v in $new; do
        if [ "$v" = strata0 ]; then problems+="the bridge strata0; "
        elif [[ " ${OUR_VETHS[*]} " != *" $v "* ]]; then strays+="$v "; fi
      done
      [[ "$tables" != *strata-strata0* ]] || problems+="nft table strata-strata0; "
      [ "$bridge_dir" = 0 ] || problems+="$NET_STATE/strata0: $(find "$NET_STATE/strata0" -mindepth 1 -printf '%f ' 2>&1); "
    fi
    [ -n "$problems$strays" ] || break
    sleep 0.1
  done
  [ -z "$problems" ] || fail "$what: network state left behind: $problems"
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ -n "$strays" ]; then
    note "WARNING $what: veths left on the host after 5 s, none of them this test's containers' (a build step's, or another strata user's): $strays"
    for v in $strays; do ip -d link show "$v" 2>&1 | sed 's/^/      /' | head -n 2; done
  fi
  if [ -n "$others" ]; then
    note "$what: this test's leases and veths are gone (${ms} ms); the bridge is shared with other strata users now ($others)"
  else
    note "$what: no bridge, nft table or lease left, no veth of this test's containers (${ms} ms)"
  fi
}

note "the Debian bookworm minbase (scripts/debian-base.sh, cached in $E2E_CACHE)"
t0=$(date +%s)
base_tar=$("$REPO_ROOT/scripts/debian-base.sh" "$E2E_CACHE" 2>"$E2E_TMP/debian-base.err") ||
  fail "could not make the Debian base: $(tail -n 20 "$E2E_TMP/debian-base.err")"
note "base: $base_tar ($(du -h "$base_tar" | cut -f1), $(( $(date +%s) - t0 ))s)"
ok strata import "$base_tar" debian:bookworm
base_id=$out
assert_match "$base_id" '^sha256:[0-9a-f]{64}$' "import prints the image ID"
ok strata run --rm --network none debian:bookworm cat /etc/debian_version
assert_match "$out" '^12\.' "a bookworm root file system"

note "the build context: OS -> nginx install -> nginx config -> index.html"
ctx="$E2E_TMP/nginx"
cp -r "$REPO_ROOT/examples/hellonginx" "$ctx"

note "strata build -t hellonginx:1 (RUN on the default bridge network)"
t0=$(date +%s)
ok strata build -t hellonginx:1 "$ctx"
build1="$out
$err"
note "first build: $(( $(date +%s) - t0 ))s"
# apt-get's own lines, prefixed by the step's progress (#N SECONDS): the archive was reached
assert_match "$build1" $'(^|\n)#[0-9]+ [0-9.]+ Get:[0-9]+ http://deb\\.debian\\.org/debian bookworm' \
  "the RUN step fetched from deb.debian.org"
assert_contains "$build1" "Setting up nginx " "nginx was installed"
assert_not_contains "$build1" "CACHED" "a first build in a fresh store"
img1=$(inspect_field hellonginx:1 '{{.Id}}')
assert_eq '{"80/tcp":{}}' "$(inspect_field hellonginx:1 '{{json .Config.ExposedPorts}}')" "EXPOSE 80"
assert_eq '["nginx","-g","daemon off;"]' "$(inspect_field hellonginx:1 '{{json .Config.Cmd}}')" "CMD"
check_net_clean "after the build"

note "strata build again: every step from the cache, same image ID"
ok strata build -t hellonginx:1 "$ctx"
build2="$out
$err"
assert_eq 3 "$(grep -c '^#[0-9]* CACHED$' <<<"$build2")" "RUN and both COPYs are CACHED:
$build2"
assert_not_contains "$build2" "deb.debian.org" "nothing fetched on a cached build"
assert_eq "$img1" "$(inspect_field hellonginx:1 '{{.Id}}')" "the cached build gives the same image"

# the host port: 8080 as in the issue when it is free (on IPv4 and IPv6), else any free one
free_port() {
  python3 - "$@" <<'PY'
import errno, socket, sys
def free(port):
    for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        try:
            s = socket.socket(fam)
        except OSError as e:
            if fam == socket.AF_INET6 and e.errno == errno.EAFNOSUPPORT:
                continue  # no IPv6 on this host
            raise
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
            port = s.getsockname()[1]
        except OSError:
            return None
        finally:
            s.close()
    return port
for want in [int(a) for a in sys.argv[1:]] + [0] * 20:
    p = free(want)
    if p:
        print(p)
        break
else:
    sys.exit("no free port")
PY
}
# curl_page URL HEADERS BODY: one GET; headers and body to files
curl_page() { curl -sS --max-time 5 -D "$2" -o "$3" "$1"; }
# wait_page PORT: polls (up to 10 s) until the page answers on 127.0.0.1:PORT
wait_page() {
  for _ in $(seq 1 100); do
    curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "nothing answers on 127.0.0.1:$1 after 10 s; ps: $(strata ps -a 2>&1); logs: $(strata logs hellonginx 2>&1 | tail -n 10)"
}
# run_hellonginx IMAGE: run -d -p PORT:80 --name hellonginx IMAGE on $port (picking another free
# port when a concurrent user takes it first); sets $cid
run_hellonginx() {
  for _ in 1 2 3; do
    run strata run -d -p "$port:80" --name hellonginx "$1"
    [ "$status" = 0 ] && { cid=$out; OUR_IDS+=("$cid"); return 0; }
    [[ "$err" == *"port is already allocated"* ]] || fail "run -d -p $port:80 $1 failed ($status): $err"
    note "port $port was taken meanwhile: $err"
    ok strata rm -f hellonginx
    port=$(free_port)
  done
  fail "no free port after 3 tries"
}

# check_endpoint: the host side of the running hellonginx ($cid): one lease of strata0 names it,
# its eth0's peer is a veth on strata0 (recorded in OUR_VETHS)
check_endpoint() {
  net_snapshot
  assert_match "$ours" "^$NET_STATE/strata0/[0-9.]+\\.json $" "one lease of strata0 names $cid"
  assert_contains "$links" "strata0" "the bridge is up"
  ok strata exec hellonginx cat /sys/class/net/eth0/iflink
  local peer
  peer=$(ip -o link | awk -F': ' -v i="$out" '$1 == i { sub(/@.*/, "", $2); print $2 }')
  assert_match "$peer" '^veth' "the container's eth0 has a veth peer on the host (ifindex $out)"
  OUR_VETHS+=("$peer")
  assert_eq strata0 "$(ip -o link show "$peer" | sed -n 's/.* master \([^ ]*\) .*/\1/p')" "$peer is on strata0"
}

port=$(free_port 8080)
[ "$port" = 8080 ] || note "port 8080 is busy: publishing on $port instead"
note "strata run -d -p $port:80 --name hellonginx hellonginx:1"
run_hellonginx hellonginx:1
assert_match "$cid" '^[0-9a-f]{64}$' "run -d prints the container ID"
wait_page "$port"
ok curl_page "http://127.0.0.1:$port/" "$E2E_TMP/h1" "$E2E_TMP/b1"
cmp -s "$ctx/index.html" "$E2E_TMP/b1" || fail "the page is not index.html: $(cat "$E2E_TMP/b1")"
headers=$(tr -d '\r' <"$E2E_TMP/h1")
assert_match "$headers" $'^HTTP/1\\.1 200 OK\n' "status line"
assert_match "$headers" $'\nServer: nginx/' "served by nginx"
assert_match "$headers" $'\nX-Strata-Example: yes(\n|$)' "the config step's header"
# and straight from the container's address on the bridge
ip_addr=$(ctr_json hellonginx "['NetworkSettings']['IPAddress']")
assert_match "$ip_addr" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' "an IP address on the bridge"
ok curl -sS --max-time 5 "http://$ip_addr/"
assert_eq "$(cat "$ctx/index.html")" "$out" "the page from $ip_addr:80"

note "strata port / ps / inspect show the published port"
ok strata port hellonginx
assert_contains "$out" "80/tcp -> 0.0.0.0:$port" "strata port"
ok strata port hellonginx 80/tcp
assert_eq "0.0.0.0:$port" "$(head -n 1 <<<"$out")" "strata port hellonginx 80/tcp"
row=$(ps_row hellonginx)
assert_ne "" "$row" "hellonginx is in ps"
assert_contains "$(cut -f6 <<<"$row")" "0.0.0.0:$port->80/tcp" "ps PORTS"
assert_match "$(cut -f5 <<<"$row")" '^Up ' "ps STATUS"
ok strata ps
assert_contains "$out" "0.0.0.0:$port->80/tcp" "plain ps"
assert_eq "$port" "$(ctr_json hellonginx "['NetworkSettings']['Ports']['80/tcp'][0]['HostPort']")" "inspect Ports"
check_endpoint

note "change the page inside the running container, commit it as hellonginx:2"
changed='<html><body><h1>Changed inside the container, committed by strata</h1></body></html>'
ok strata exec hellonginx sh -c "echo '$changed' > /var/www/html/index.html"
ok curl -sS --max-time 5 "http://127.0.0.1:$port/"
assert_eq "$changed" "$out" "the running container serves the changed page"
ok strata commit -m "changed page" hellonginx hellonginx:2
img2=$out
assert_match "$img2" '^sha256:[0-9a-f]{64}$' "commit prints the image ID"
assert_eq "$img2" "$(inspect_field hellonginx:2 '{{.Id}}')" "hellonginx:2"
assert_eq "changed page" "$(inspect_field hellonginx:2 '{{.Comment}}')" "the commit's comment"
assert_eq "running" "$(ctr_status hellonginx)" "commit leaves the container running"

note "strata history hellonginx:2"
ok strata history hellonginx:2
echo "$out"
hist=$(printf '%s\n' "$out" | table_cells IMAGE CREATED "CREATED BY" SIZE COMMENT)
assert_eq "${img2:7:12}" "$(cell "$hist" 1 1)" "the commit is the top row"
assert_eq "changed page" "$(cell "$hist" 1 5)" "its COMMENT"
assert_eq "${img1:7:12}" "$(cell "$hist" 2 1)" "the image the container ran is the next row"
assert_eq "Imported from -" "$(tail -n 1 <<<"$hist" | cut -f5)" "the imported base is the bottom row"

note "strata rm -f hellonginx: the port closes"
ok strata rm -f hellonginx
assert_eq "hellonginx" "$out"
assert_eq "" "$(ss -ltnH "sport = :$port")" "nothing listens on $port after rm -f"
assert_status 7 curl -sS --max-time 5 "http://127.0.0.1:$port/"
check_net_clean "after rm -f"

note "strata run -d -p $port:80 --name hellonginx hellonginx:2: the committed page"
run_hellonginx hellonginx:2
wait_page "$port"
ok curl -sS --max-time 5 -D "$E2E_TMP/h2" "http://127.0.0.1:$port/"
assert_eq "$changed" "$out" "hellonginx:2 serves the changed page"
assert_contains "$(tr -d '\r' <"$E2E_TMP/h2")" "X-Strata-Example: yes" "the config came along"
ok strata port hellonginx
assert_contains "$out" "80/tcp -> 0.0.0.0:$port" "strata port (hellonginx:2)"
check_endpoint
ok strata rm -f hellonginx

note "nothing left behind: bridge, veths, nft table, leases, port"
ok strata ps -a -q
assert_eq "" "$out" "no containers left"
check_net_clean "at the end"
assert_eq "" "$(ss -ltnH "sport = :$port")" "nothing listens on $port"
assert_status 7 curl -sS --max-time 5 "http://127.0.0.1:$port/"
