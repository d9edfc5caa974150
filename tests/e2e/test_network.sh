#!/usr/bin/env bash
# Container networking: none, host, the default bridge (an address, the host reachable, NAT),
# published ports (-p, -P, port, ps PORTS, inspect, a busy port refused, freed after rm), user
# networks where containers reach each other by name (and not the default bridge's), sharing a
# container's network (container:NAME), the iptables backend, RUN steps on the bridge, bad
# input; and that nothing is left behind: links, nft tables, iptables rules, leases, ports,
# ip_forward.
#
# Docker 20.10's behaviour these follow (Debian's docker.io, default bridge): a container on
# the default bridge gets 172.17.0.2/16 with gateway 172.17.0.1 and MAC 02:42:ac:11:00:02 (the
# first free /16 of 172.17-31 is taken instead when 172.17 is in use); /etc/hosts ends with
# "<ip>\t<hostname>"; `port` prints "80/tcp -> 0.0.0.0:8080"; `port C 80/tcp` prints the host
# addresses; a second container on a published port fails with "Bind for 0.0.0.0:8080 failed:
# port is already allocated"; containers on a user network resolve each other's names;
# `network rm` of a network with running containers fails with "has active endpoints"; bridge,
# host and none cannot be removed ("is a pre-defined network and cannot be removed").
source "$(dirname "$0")/lib.sh"
need_root
need_cmd ip nft curl python3

import_busybox busybox >/dev/null
bb() { echo "busybox $*"; }

containers=()
servers=()
networks=()
cleanup_network_test() {
  [ ${#containers[@]} -eq 0 ] || strata rm -f "${containers[@]}"
  [ ${#networks[@]} -eq 0 ] || strata network rm "${networks[@]}"
  local p; for p in "${servers[@]}"; do kill "$p"; done
}
on_exit cleanup_network_test

links() { ip -br link | awk '{print $1}' | sed 's/@.*//' | sort; }
strata_links() { links | grep -E '^(strata|veth)' || true; }
strata_tables() { nft list tables | grep -E 'strata' || true; }
leases() { find /run/strata/net -name '*.json' 2>/dev/null | grep -v bridge.json || true; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
host_ip=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i=1;i<NF;i++) if ($i=="src") print $(i+1)}')
[ -n "$host_ip" ] || host_ip=$(hostname -I | awk '{print $1}')

links_before=$(strata_links)
tables_before=$(strata_tables)
forward_before=$(cat /proc/sys/net/ipv4/ip_forward)
note "before: links [$links_before] tables [$tables_before] ip_forward $forward_before"

note "--network none: only lo"
ok strata run --rm --network none busybox ls /sys/class/net
assert_eq "lo" "$out"

note "--network host: the host's interfaces"
ok strata run --rm --network host busybox ls /sys/class/net
assert_eq "$(ls /sys/class/net | sort)" "$(echo "$out" | sort)"

note "default bridge: an address, a default route, /etc/hosts, resolv.conf, the host reachable"
mkdir -p "$E2E_TMP/www"
echo "served by the host" >"$E2E_TMP/www/host.txt"
hport=$(free_port)
python3 -m http.server "$hport" --bind 0.0.0.0 --directory "$E2E_TMP/www" >/dev/null 2>&1 &
servers+=($!)
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$hport/" && break; sleep 0.1; done
ok strata run --rm --name probe busybox sh -c "
  $(bb ip -4 -o addr show eth0); $(bb ip route); tail -1 /etc/hosts; echo host=\$(hostname)
  grep nameserver /etc/resolv.conf
  gw=\$($(bb ip route) | awk '/^default/ {print \$3}')
  $(bb wget) -q -O- http://\$gw:$hport/host.txt"
echo "$out"
addr=$(echo "$out" | awk '/eth0 +inet/ {print $4; exit}')
assert_match "$addr" '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$' "eth0 has no IPv4 address"
assert_contains "$out" "default via"
assert_contains "$out" "served by the host" "the host's server was not reached through the gateway"
hn=$(echo "$out" | sed -n 's/^host=//p')
assert_contains "$out" "${addr%/*}	$hn" "/etc/hosts does not map the hostname to the address"
assert_not_contains "$out" "nameserver 127." "a loopback resolver was passed into the container"

note "bridge: outbound traffic is masqueraded to the host's address"
ok strata run --rm busybox sh -c "$(bb wget) -q -O- http://$host_ip:$hport/host.txt"
assert_eq "served by the host" "$out"

note "-p: busybox httpd published on the host, on every address and on 127.0.0.1"
echo "hello from a published port" >"$E2E_TMP/www/index.html"
port=$(free_port)
containers+=(web)
ok strata run -d --name web -p "$port:80" -p 127.0.0.1::80/tcp -v "$E2E_TMP/www:/www:ro" busybox \
  busybox httpd -f -p 80 -h /www
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
ok curl -sf "http://127.0.0.1:$port/"
assert_eq "hello from a published port" "$out"
ok curl -sf "http://$host_ip:$port/"
assert_eq "hello from a published port" "$out"
ok strata port web
assert_contains "$out" "80/tcp -> 0.0.0.0:$port"
lport=$(echo "$out" | sed -n 's|^80/tcp -> 127.0.0.1:||p')
[ -n "$lport" ] || fail "no 127.0.0.1 binding in: $out"
ok curl -sf "http://127.0.0.1:$lport/"
assert_eq "hello from a published port" "$out"
ok strata port web 80
assert_contains "$out" "0.0.0.0:$port"
expect_error --names "No public port '81/tcp' published for web" strata port web 81/tcp
ok strata ps --format '{{.Names}} {{.Ports}}'
assert_contains "$out" "web "
assert_contains "$out" "0.0.0.0:$port->80/tcp"
assert_contains "$out" "127.0.0.1:$lport->80/tcp"
ok strata inspect -f '{{json .NetworkSettings.Ports}} {{.NetworkSettings.IPAddress}} {{.HostConfig.NetworkMode}}' web
assert_contains "$out" "{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"$port\"}"
assert_contains "$out" " bridge"
web_ip=$(strata inspect -f '{{.NetworkSettings.IPAddress}}' web)
assert_match "$web_ip" '^[0-9.]+$'
ok strata inspect -f '{{json .HostConfig.PortBindings}}' web
assert_contains "$out" "\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"$port\"},{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]"

note "a published port in use is refused at start; the container does not run"
containers+=(web2)
run strata run -d --name web2 -p "$port:80" busybox sleep 30
assert_eq 125 "$status" "busy port"
assert_contains "$err" "Bind for 0.0.0.0:$port failed: port is already allocated"
assert_eq "created" "$(strata inspect -f '{{.State.Status}}' web2)"

note "-P publishes every exposed port on a free host port"
containers+=(webp)
ok strata run -d --name webp --expose 80 -P -v "$E2E_TMP/www:/www:ro" busybox busybox httpd -f -p 80 -h /www
pport=$(strata port webp 80/tcp | head -1 | sed 's/.*://')
assert_match "$pport" '^[0-9]+$' "-P chose no port"
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$pport/" && break; sleep 0.1; done
ok curl -sf "http://127.0.0.1:$pport/"
assert_eq "hello from a published port" "$out"

note "the bridge's containers reach each other by address"
ok strata run --rm busybox $(bb wget) -q -O- "http://$web_ip/"
assert_eq "hello from a published port" "$out"

note "rm frees the ports"
ok strata rm -f web webp web2
containers=()
run curl -s -m 2 "http://127.0.0.1:$port/"
assert_ne 0 "$status" "port $port still answers after rm"
ss -ltn | grep -q ":$port " && fail "port $port is still listening after rm"

note "user network: containers reach each other by name; the default bridge cannot reach them"
networks+=(e2e-net)
ok strata network create e2e-net
net_id=$out
assert_match "$net_id" '^[0-9a-f]{64}$'
ok strata network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'
assert_contains "$out" "e2e-net bridge local"
assert_contains "$out" "bridge bridge local"
assert_contains "$out" "none null local"
containers+=(alpha beta)
ok strata run -d --name alpha --network e2e-net -v "$E2E_TMP/www:/www:ro" busybox busybox httpd -f -p 80 -h /www
ok strata run -d --name beta --network e2e-net busybox sleep 60
ok strata run --rm --network e2e-net busybox sh -c "$(bb wget) -q -O- http://alpha/ && $(bb ping) -c1 -W2 beta >/dev/null && echo beta-answers"
assert_contains "$out" "hello from a published port"
assert_contains "$out" "beta-answers"
ok strata exec beta busybox wget -q -O- http://alpha/
assert_eq "hello from a published port" "$out"
alpha_ip=$(strata inspect -f '{{(index .NetworkSettings.Networks "e2e-net").IPAddress}}' alpha)
assert_match "$alpha_ip" '^[0-9.]+$'
ok strata network inspect -f '{{range .Containers}}{{.Name}} {{end}}' e2e-net
assert_contains "$out" "alpha"
assert_contains "$out" "beta"
run strata run --rm busybox $(bb wget) -q -T 2 -O- "http://$alpha_ip/"
assert_ne 0 "$status" "the default bridge reached a container of a user network"
expect_error --names "e2e-net" --names "has active endpoints" strata network rm e2e-net

note "container:NAME shares the other container's network namespace and name"
ok strata run --rm --network container:alpha busybox sh -c "$(bb ip -4 -o addr show eth0); hostname; $(bb wget) -q -O- http://127.0.0.1/"
assert_contains "$out" "$alpha_ip/"
assert_contains "$out" "$(strata inspect -f '{{.Config.Hostname}}' alpha)"
assert_contains "$out" "hello from a published port"
expect_error --names "conflicting options" strata create --network container:alpha -p 80 busybox true

ok strata rm -f alpha beta
containers=()
ok strata network rm e2e-net
networks=()

note "a monitor killed with -9: its proxy dies with it; network prune clears the stale lease and the bridge"
containers+=(crash)
ok strata run -d --name crash -p "$port:80" -v "$E2E_TMP/www:/www:ro" busybox busybox httpd -f -p 80 -h /www
crash_id=$(strata inspect -f '{{.Id}}' crash)
mon=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["MonitorPid"])' "$STRATA_ROOT/containers/$crash_id/state.json")
ctr=$(strata inspect -f '{{.State.Pid}}' crash)
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
ok curl -sf "http://127.0.0.1:$port/"
kill -9 "$mon"
for _ in $(seq 1 50); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$port/" || break; sleep 0.1; done
run curl -s -m 1 "http://127.0.0.1:$port/"
assert_ne 0 "$status" "the port outlived the killed monitor"
[ -n "$(leases)" ] || fail "the running container's lease is gone while it runs"
kill -9 "$ctr"
# gone, or a zombie nobody reaps (its parent, the monitor, is dead)
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
for _ in $(seq 1 50); do gone "$ctr" && break; sleep 0.1; done
ok strata network prune -f
assert_eq "" "$(leases)" "a stale lease survived network prune"
assert_eq "$links_before" "$(strata_links)" "a stale bridge survived network prune"
ok strata rm -f crash
containers=()

note "the iptables backend"
containers+=(ipt)
STRATA_FIREWALL=iptables ok strata run -d --name ipt -p "$port:80" -v "$E2E_TMP/www:/www:ro" busybox busybox httpd -f -p 80 -h /www
ok iptables -w -t nat -S POSTROUTING
assert_contains "$out" "! -o strata0 -j MASQUERADE"
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
ok curl -sf "http://127.0.0.1:$port/"
ok strata run --rm busybox sh -c "$(bb wget) -q -O- http://$host_ip:$hport/host.txt"
assert_eq "served by the host" "$out"
ok strata rm -f ipt
containers=()
ok iptables -w -t nat -S POSTROUTING
assert_not_contains "$out" "strata0" "iptables rules left behind"
ok iptables -w -S FORWARD
assert_not_contains "$out" "strata0" "iptables rules left behind"

note "RUN steps use the default bridge"
mkdir -p "$E2E_TMP/ctx"
printf 'FROM busybox\nRUN busybox wget -q -O /fetched.txt http://%s:%s/host.txt && busybox ip -4 -o addr show eth0\n' "$host_ip" "$hport" >"$E2E_TMP/ctx/Dockerfile"
ok strata build -q -t netbuild "$E2E_TMP/ctx"
ok strata run --rm --network none netbuild cat /fetched.txt
assert_eq "served by the host" "$out"
printf 'FROM busybox\nRUN --network=none busybox ls /sys/class/net\n' >"$E2E_TMP/ctx/Dockerfile"
ok strata build --progress plain --no-cache -t netnone "$E2E_TMP/ctx"

note "a host whose only resolver is on a loopback address: the gateway forwards DNS to it"
if ss -lun | grep -q '127.0.0.1:53 '; then
  note "(skipped: something listens on 127.0.0.1:53)"
else
  python3 "$E2E_DIR/dns_stub.py" 127.0.0.1 53 strata-test.example 10.1.2.3 &
  servers+=($!)
  for _ in $(seq 1 50); do ss -lun | grep -q '127.0.0.1:53 ' && break; sleep 0.1; done
  printf 'nameserver 127.0.0.1\n' >"$E2E_TMP/resolv.loopback"
  # Only this command (a private mount namespace) sees the loopback resolv.conf.
  ok unshare -m sh -c "mount --bind '$E2E_TMP/resolv.loopback' /etc/resolv.conf &&
    '$STRATA_BIN' run --rm busybox sh -c 'cat /etc/resolv.conf; busybox nslookup strata-test.example'"
  echo "$out"
  assert_contains "$out" "nameserver 172." "the gateway is not the nameserver"
  assert_not_contains "$out" "nameserver 127." "a loopback resolver was passed into the container"
  assert_contains "$out" "10.1.2.3" "the name was not resolved through the gateway"
fi

note "bad input: one line, status 125, nothing changed"
expect_error --names "invalid containerPort: foo" strata create -p foo busybox true
expect_error --names "network nosuch not found" strata create --network nosuch busybox true
expect_error --names "No such container: nosuch" strata create --network container:nosuch busybox true
expect_error --names "bridge is a pre-defined network" strata network rm bridge
expect_error --names "network nosuch not found" strata network rm nosuch
expect_error --names "network nosuch not found" strata network inspect nosuch
expect_error --names "invalid CIDR address: 10.0.0.0/40" strata network create --subnet 10.0.0.0/40 badnet
networks+=(e2e-a)
ok strata network create --subnet 10.123.0.0/24 e2e-a
expect_error --names "network with name e2e-a already exists" strata network create e2e-a
expect_error --names "Pool overlaps" strata network create --subnet 10.123.0.128/25 e2e-b
expect_error --names "plugin \"overlay\" not found" strata network create -d overlay e2e-c
ok strata network rm e2e-a
networks=()

note "nothing is left behind"
for _ in $(seq 1 50); do [ -z "$(leases)" ] && break; sleep 0.1; done
assert_eq "$links_before" "$(strata_links)" "links left behind"
assert_eq "$tables_before" "$(strata_tables)" "nft tables left behind"
assert_eq "" "$(leases)" "leases left behind"
assert_eq "$forward_before" "$(cat /proc/sys/net/ipv4/ip_forward)" "ip_forward not restored"
echo "PASS"
