#!/usr/bin/env bash
# `strata registry serve` as the registry of Docker, skopeo and strata itself; the distribution
# API's error answers; htpasswd auth; two servers on one storage; many parallel pulls.
source "$(dirname "$0")/lib.sh"
need_root
need_cmd skopeo htpasswd python3 curl

export STRATA_CONFIG="$E2E_TMP/strata-config" DOCKER_CONFIG="$E2E_TMP/docker-config"
mkdir -p "$DOCKER_CONFIG"

# serve NAME STORAGE [ARGS...]: runs `strata registry serve` on a free port in the background
# (stopped at exit by pid); prints the port.
serve() {
  local name=$1 storage=$2 port; shift 2
  port=$(free_port)
  "$STRATA_BIN" registry serve --addr "127.0.0.1:$port" --storage "$storage" "$@" \
    >"$E2E_TMP/$name.log" 2>&1 &
  echo $! >"$E2E_TMP/$name.shim-pid"
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
    sleep 0.05
  done
  curl -s -o /dev/null "http://127.0.0.1:$port/v2/" || fail "registry serve did not start: $(tail -n 3 "$E2E_TMP/$name.log")"
  echo "$port"
}
stop_server() { local name; for name in "$@"; do kill "$(cat "$E2E_TMP/$name.shim-pid")"; rm -f "$E2E_TMP/$name.shim-pid"; done; }
with_store() { local name=$1; shift; STRATA_ROOT="$E2E_TMP/$name" "$@"; }
# api METHOD PATH [CURL ARGS...]: status code, then the body, of one request to $reg
api() { local m=$1 p=$2; shift 2; curl -s --path-as-is -X "$m" -o "$E2E_TMP/body" -w '%{http_code}' "$@" "http://$reg$p"; }

port=$(serve main "$E2E_TMP/storage")
reg="127.0.0.1:$port"
t=strata-e2e-$E2E_TOKEN
bb_image bb

note "the API answers as the spec says"
assert_eq 200 "$(api GET /v2/ -D "$E2E_TMP/headers")"
grep -qi '^Docker-Distribution-API-Version: registry/2.0' "$E2E_TMP/headers" || fail "no API version header"
assert_eq 404 "$(api GET /v2/$t-none/manifests/latest)"
assert_contains "$(cat "$E2E_TMP/body")" '"MANIFEST_UNKNOWN"'
for bad in "/v2/../etc/manifests/latest" "/v2/a/%2e%2e/b/manifests/latest" "/v2/Upper/manifests/latest" "/v2/a%2Fb/tags/list"; do
  code=$(api GET "$bad")
  [[ "$code" =~ ^4 ]] || fail "$bad answered $code"
  [ "$code" = 404 ] || assert_contains "$(cat "$E2E_TMP/body")" '"NAME_INVALID"' "$bad"
done
[ ! -e "$E2E_TMP/etc" ] && [ -z "$(find "$E2E_TMP/storage" -name '*..*' -o -name 'Upper')" ] || fail "a bad name reached the storage"
# a monolithic upload under the wrong digest: 400 DIGEST_INVALID, nothing stored
loc=$(curl -s -X POST -D - -o /dev/null "http://$reg/v2/$t-up/blobs/uploads/" | sed -n 's/^[Ll]ocation: *//p' | tr -d '\r')
[ -n "$loc" ] || fail "no upload location"
case $loc in http*) ;; *) loc="http://$reg$loc" ;; esac
sep='?'; [[ "$loc" == *'?'* ]] && sep='&'
code=$(curl -s -o "$E2E_TMP/body" -w '%{http_code}' -X PUT --data-binary 'hello' -H 'Content-Type: application/octet-stream' \
  "$loc${sep}digest=sha256:0000000000000000000000000000000000000000000000000000000000000000")
assert_eq 400 "$code"
assert_contains "$(cat "$E2E_TMP/body")" '"DIGEST_INVALID"'
assert_eq 0 "$(find "$E2E_TMP/storage" -path '*blobs*' -type f | wc -l)"

note "strata pushes, and pulls back into an empty store"
ctx="$E2E_TMP/ctx"; mkdir -p "$ctx"
# E2E_STRESS=1 (make stress) makes the big layer 300 MB and the parallel pulls 16
big_bytes=9000000 clients=8
[ "${E2E_STRESS:-0}" = 1 ] && big_bytes=300000000 clients=16
printf 'FROM bb\nRUN head -c %s /dev/urandom > /big && echo served-by-strata > /msg\nCMD ["cat", "/msg"]\n' "$big_bytes" >"$ctx/Dockerfile"
ok strata build -q --network none -t "$reg/$t-app:1" "$ctx"
id=$out
ok strata push "$reg/$t-app:1"
assert_eq 2 "$(grep -c ': Pushed$' <<<"$out")" "$out"
ok strata push "$reg/$t-app:1"
assert_eq 2 "$(grep -c ': Layer already exists$' <<<"$out")" "$out"
ok with_store s1 strata run --rm "$reg/$t-app:1"
assert_eq "served-by-strata" "$out"

note "Docker pulls what strata pushed, and pushes its own"
start_docker
ok docker pull "$reg/$t-app:1"
ok docker run --rm --network none "$reg/$t-app:1"
assert_eq "served-by-strata" "$out"
assert_eq "$id" "$(docker image inspect -f '{{.Id}}' "$reg/$t-app:1")"
ok docker tag "$reg/$t-app:1" "$reg/$t-docker:2"
ok docker push "$reg/$t-docker:2"
assert_contains "$out" "Mounted from $t-app"
ok docker rmi "$reg/$t-docker:2" "$reg/$t-app:1"
ok docker pull "$reg/$t-docker:2"
ok with_store s2 strata run --rm "$reg/$t-docker:2"
assert_eq "served-by-strata" "$out"

note "skopeo inspects and copies both ways"
ok skopeo inspect --tls-verify=false "docker://$reg/$t-app:1"
assert_eq '["1"]' "$(helper json-get 'v["RepoTags"]' <<<"$out")"
ok skopeo inspect --tls-verify=false --raw "docker://$reg/$t-app:1"
assert_eq "$id" "$(helper json-get 'v["config"]["digest"]' <<<"$out")"
ok skopeo copy --src-tls-verify=false "docker://$reg/$t-app:1" "oci:$E2E_TMP/oci:app"
ok skopeo copy --dest-tls-verify=false "oci:$E2E_TMP/oci:app" "docker://$reg/$t-skopeo:3"
ok with_store s3 strata run --rm "$reg/$t-skopeo:3"
assert_eq "served-by-strata" "$out"

note "tags/list pages with n and last, and a Link to the next page"
for tag in a b c; do ok strata tag bb "$reg/$t-tags:$tag"; done
ok strata push -q -a "$reg/$t-tags"
assert_eq 200 "$(api GET "/v2/$t-tags/tags/list?n=2" -D "$E2E_TMP/headers")"
assert_eq '["a", "b"]' "$(helper json-get 'v["tags"]' <"$E2E_TMP/body")"
link=$(sed -n 's/^[Ll]ink: *<\([^>]*\)>.*/\1/p' "$E2E_TMP/headers" | tr -d '\r')
assert_contains "$link" "last=b"
assert_eq 200 "$(api GET "$link")"
assert_eq '["c"]' "$(helper json-get 'v["tags"]' <"$E2E_TMP/body")"
ok with_store s4 strata pull -a "$reg/$t-tags"
assert_eq 3 "$(with_store s4 strata images -q "$reg/$t-tags" | wc -l)"

note "a second server on the same storage serves the same content"
port2=$(serve second "$E2E_TMP/storage")
ok strata tag bb "127.0.0.1:$port2/$t-viasecond:1"
ok strata push "127.0.0.1:$port2/$t-viasecond:1"
ok with_store s5 strata pull -q "$reg/$t-viasecond:1"
ok with_store s5 strata run --rm "127.0.0.1:$port/$t-app:1"
assert_eq "served-by-strata" "$out"

note "with htpasswd, anonymous pushes are refused and docker login opens the door"
htpasswd -Bbn bob 'pa55 word' >"$E2E_TMP/htpasswd"
aport=$(serve auth "$E2E_TMP/storage-auth" --htpasswd "$E2E_TMP/htpasswd")
areg="127.0.0.1:$aport"
assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' "http://$areg/v2/")"
ok docker tag "$reg/$t-docker:2" "$areg/$t-private:1"
run docker push "$areg/$t-private:1"
assert_ne 0 "$status" "anonymous docker push"
ok strata tag bb "$areg/$t-mine:1"
expect_error --names "unauthorized" strata push "$areg/$t-mine:1"
ok docker login -u bob --password 'pa55 word' "$areg"
ok docker push "$areg/$t-private:1"
# strata reads Docker's login
ok with_store s6 strata run --rm "$areg/$t-private:1"
assert_eq "served-by-strata" "$out"
ok strata push "$areg/$t-mine:1"

note "the token flow: Docker and strata log in through /token"
tport=$(serve token "$E2E_TMP/storage-token" --htpasswd "$E2E_TMP/htpasswd" --token-auth)
treg="127.0.0.1:$tport"
curl -s -D - -o /dev/null "http://$treg/v2/" | grep -qi '^WWW-Authenticate: Bearer realm=' || fail "no Bearer challenge"
run_in <(echo 'pa55 word') strata login -u bob --password-stdin "$treg"
assert_eq 0 "$status" "$err"
ok strata tag bb "$treg/$t-tok:1"
ok strata push "$treg/$t-tok:1"
ok docker login -u bob --password 'pa55 word' "$treg"
ok docker pull "$treg/$t-tok:1"

note "read-only mode refuses pushes"
rport=$(serve ro "$E2E_TMP/storage" --read-only)
ok strata tag bb "127.0.0.1:$rport/$t-ro:1"
expect_error --names "127.0.0.1:$rport" strata push "127.0.0.1:$rport/$t-ro:1"
ok with_store s7 strata pull -q "127.0.0.1:$rport/$t-app:1"

note "many parallel pulls: every byte verified"
pids=()
for i in $(seq "$clients"); do
  STRATA_ROOT="$E2E_TMP/p$i" "$STRATA_BIN" pull -q "$reg/$t-app:1" >"$E2E_TMP/p$i.out" 2>&1 &
  pids+=($!)
done
blob=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][1]["digest"])' \
  < <(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$reg/v2/$t-app/manifests/1"))
for i in $(seq "$clients"); do
  curl -s "http://$reg/v2/$t-app/blobs/$blob" -o "$E2E_TMP/c$i.blob" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel pull failed: $(cat "$E2E_TMP"/p*.out)"; done
for i in $(seq "$clients"); do
  assert_eq "$blob" "sha256:$(sha256sum "$E2E_TMP/c$i.blob" | cut -c1-64)"
  assert_eq "$id" "$(with_store "p$i" strata image inspect -f '{{.Id}}' "$reg/$t-app:1")"
done

note "registry gc removes blobs no manifest references"
stop_server main second ro
orphan="$E2E_TMP/orphan"; head -c 1000 /dev/urandom >"$orphan"
gport=$(serve gc "$E2E_TMP/storage")
reg="127.0.0.1:$gport"
assert_eq 201 "$(api POST "/v2/$t-orphan/blobs/uploads/?digest=$(sha256_of "$orphan")" --data-binary "@$orphan" -H 'Content-Type: application/octet-stream')"
stop_server gc
ok strata registry gc --storage "$E2E_TMP/storage"
assert_contains "$out" "Deleted blobs: 1"
gport=$(serve gc2 "$E2E_TMP/storage")
ok with_store s8 strata run --rm "127.0.0.1:$gport/$t-app:1"
assert_eq "served-by-strata" "$out"
expect_error --names "--storage" strata registry gc
expect_error --names "--storage" strata registry serve
# a server that cannot start leaves no storage behind
expect_error --names "/nonexistent" strata registry serve --storage "$E2E_TMP/never" --htpasswd /nonexistent
expect_error --names "127.0.0.1:$gport" strata registry serve --addr "127.0.0.1:$gport" --storage "$E2E_TMP/never"
expect_error --names "bogus" strata registry serve --addr bogus --storage "$E2E_TMP/never"
assert_no_file "$E2E_TMP/never"
