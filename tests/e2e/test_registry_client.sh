#!/usr/bin/env bash
# pull, push, login and logout against Debian's docker-registry (the reference distribution
# registry) on 127.0.0.1, with Docker as the other client; and against a small fake registry
# (fake_registry.py) that uses the Bearer token flow and serves corrupt or cut blobs.
# Output lines were checked against Docker 20.10's non-terminal pull/push output.
source "$(dirname "$0")/lib.sh"
need_root
need_cmd docker-registry htpasswd python3 curl

# Credentials and settings of this test only, for strata and for the docker CLI.
export STRATA_CONFIG="$E2E_TMP/strata-config" DOCKER_CONFIG="$E2E_TMP/docker-config"
mkdir -p "$DOCKER_CONFIG"


# start_registry NAME [HTPASSWD]: runs docker-registry on a free port (stopped at exit by pid);
# prints the port.
start_registry() {
  local name=$1 htpasswd=${2:-} port
  port=$(free_port)
  {
    printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n' "$E2E_TMP/$name-data"
    printf 'http:\n  addr: 127.0.0.1:%s\n' "$port"
    [ -z "$htpasswd" ] || printf 'auth:\n  htpasswd:\n    realm: strata-e2e\n    path: %s\n' "$htpasswd"
  } >"$E2E_TMP/$name.yml"
  docker-registry serve "$E2E_TMP/$name.yml" >"$E2E_TMP/$name.log" 2>&1 &
  echo $! >"$E2E_TMP/$name.shim-pid"
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
    sleep 0.1
  done
  curl -s -o /dev/null "http://127.0.0.1:$port/v2/" || fail "docker-registry did not start: $(tail -n 3 "$E2E_TMP/$name.log")"
  echo "$port"
}

# start_fake MODE: runs fake_registry.py serving $E2E_TMP/layout; prints its port.
start_fake() {
  local mode=$1 pf="$E2E_TMP/fake-$1.port"
  rm -f "$pf"
  python3 "$E2E_DIR/fake_registry.py" "$E2E_TMP/layout" "$pf" "$E2E_TMP/fake-$mode.log" "$mode" \
    >"$E2E_TMP/fake-$mode.out" 2>&1 &
  echo $! >"$E2E_TMP/fake-$mode.shim-pid"
  for _ in $(seq 100); do [ -s "$pf" ] && break; sleep 0.1; done
  [ -s "$pf" ] || fail "fake registry ($mode) did not start"
  cat "$pf"
}
stop_fake() { local pf="$E2E_TMP/fake-$1.shim-pid"; kill "$(cat "$pf")"; rm -f "$pf"; }

# with_store NAME CMD...: runs CMD with a store of its own ($E2E_TMP/NAME)
with_store() { local name=$1; shift; STRATA_ROOT="$E2E_TMP/$name" "$@"; }

port=$(start_registry plain)
reg="127.0.0.1:$port"
t=strata-e2e-$E2E_TOKEN
bb_image bb

note "an image built and pushed by strata pulls and runs in Docker"
ctx="$E2E_TMP/ctx"; mkdir -p "$ctx"
# 12 MB of random bytes: a layer over the 8 MiB chunk size, so it goes up in PATCH chunks
printf 'FROM bb\nRUN head -c 12000000 /dev/urandom > /big && echo built-by-strata > /msg\nCMD ["cat", "/msg"]\n' >"$ctx/Dockerfile"
ok strata build -q --network none -t "$reg/$t-app:1" "$ctx"
id=$out
ok strata push "$reg/$t-app:1"
push1=$out
assert_contains "$push1" "The push refers to repository [$reg/$t-app]"
assert_eq 2 "$(grep -c ': Pushed$' <<<"$push1")" "both layers uploaded: $push1"
assert_match "$(tail -n 1 <<<"$push1")" "^1: digest: sha256:[0-9a-f]{64} size: [0-9]+$"
pushed_digest=$(tail -n 1 <<<"$push1" | sed 's/.*digest: \(sha256:[0-9a-f]*\) .*/\1/')
# RepoDigests names what the registry holds
assert_contains "$(inspect_field "$reg/$t-app:1" '{{json .RepoDigests}}')" "$reg/$t-app@$pushed_digest"
start_docker
ok docker pull "$reg/$t-app:1"
ok docker run --rm --network none "$reg/$t-app:1"
assert_eq "built-by-strata" "$out"
# the image ID is the config digest: the same in both stores
assert_eq "$id" "$(docker image inspect -f '{{.Id}}' "$reg/$t-app:1")"

note "a second push uploads nothing"
ok strata push "$reg/$t-app:1"
assert_eq 2 "$(grep -c ': Layer already exists$' <<<"$out")" "$out"
assert_not_contains "$out" "Pushed"
assert_contains "$out" "1: digest: $pushed_digest"

note "pushing to another repository of the registry mounts the layers"
ok strata tag "$reg/$t-app:1" "$reg/$t-copy:1"
ok strata push "$reg/$t-copy:1"
assert_eq 2 "$(grep -c ": Mounted from $t-app$" <<<"$out")" "$out"

note "an image pushed by Docker pulls and runs in strata"
ok docker tag "$reg/$t-app:1" "$reg/$t-fromdocker:2"
ok docker push "$reg/$t-fromdocker:2"
docker_digest=$(docker image inspect -f '{{range .RepoDigests}}{{println .}}{{end}}' "$reg/$t-fromdocker:2" | grep "/$t-fromdocker@" | cut -d@ -f2)
ok with_store s2 strata pull "$reg/$t-fromdocker:2"
assert_contains "$out" "2: Pulling from $t-fromdocker"
assert_contains "$out" "Digest: $docker_digest"
assert_contains "$out" "Status: Downloaded newer image for $reg/$t-fromdocker:2"
assert_eq "$reg/$t-fromdocker:2" "$(tail -n 1 <<<"$out")"
assert_eq 2 "$(grep -c ': Pull complete$' <<<"$out")" "$out"
ok with_store s2 strata run --rm "$reg/$t-fromdocker:2"
assert_eq "built-by-strata" "$out"
ok with_store s2 strata image inspect -f '{{.Id}} {{json .RepoDigests}}' "$reg/$t-fromdocker:2"
assert_eq "$id [\"$reg/$t-fromdocker@$docker_digest\"]" "$out"

note "pulling again finds everything there"
ok with_store s2 strata pull "$reg/$t-fromdocker:2"
assert_eq 2 "$(grep -c ': Already exists$' <<<"$out")" "$out"
assert_contains "$out" "Status: Image is up to date for $reg/$t-fromdocker:2"

note "pull by digest"
ok with_store s3 strata pull -q "$reg/$t-app@$pushed_digest"
assert_eq "$reg/$t-app@$pushed_digest" "$out"
ok with_store s3 strata images --digests --format '{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}'
assert_eq "$reg/$t-app <none> $pushed_digest ${id:7:12}" "$out"
ok with_store s3 strata run --rm "$reg/$t-app@$pushed_digest"
assert_eq "built-by-strata" "$out"

note "run pulls a missing image"
ok with_store s4 strata run --rm "$reg/$t-app:1"
assert_eq "built-by-strata" "$out"
assert_contains "$err" "Unable to find image '$reg/$t-app:1' locally"
assert_contains "$err" "Status: Downloaded newer image for $reg/$t-app:1"
ok with_store s4 strata image inspect -f '{{.Id}}' "$reg/$t-app:1"
assert_eq "$id" "$out"

note "FROM pulls a missing base"
printf 'FROM %s\nRUN echo more >> /msg\n' "$reg/$t-app:1" >"$ctx/Dockerfile.from"
ok with_store s5 strata build -q --network none -f "$ctx/Dockerfile.from" -t derived "$ctx"
ok with_store s5 strata run --rm derived
assert_eq "built-by-strata
more" "$out"

note "pull -a pulls every tag"
ok strata tag bb "$reg/$t-multi:a"
ok strata tag bb "$reg/$t-multi:b"
ok strata push -q -a "$reg/$t-multi"
ok with_store s6 strata pull -a "$reg/$t-multi"
assert_contains "$out" "a: Pulling from $t-multi"
assert_contains "$out" "b: Pulling from $t-multi"
ok with_store s6 strata images --format '{{.Repository}}:{{.Tag}}' "$reg/$t-multi"
assert_eq "$reg/$t-multi:a
$reg/$t-multi:b" "$(sort <<<"$out")"

note "zstd layers push and pull"
ok strata tag "$reg/$t-app:1" "$reg/$t-zstd:1"
ok strata push --compression zstd "$reg/$t-zstd:1"
layer_types=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$reg/v2/$t-zstd/manifests/1" |
  python3 -c 'import json,sys; print(" ".join(sorted({l["mediaType"] for l in json.load(sys.stdin)["layers"]})))')
assert_eq "application/vnd.oci.image.layer.v1.tar+zstd" "$layer_types"
ok with_store s7 strata run --rm "$reg/$t-zstd:1"
assert_eq "built-by-strata" "$out"

note "clear errors, and nothing stored"
expect_error --names "manifest for $reg/$t-app:nope not found" --names "manifest unknown" strata pull "$reg/$t-app:nope"
expect_error --names "127.0.0.1:1" strata pull 127.0.0.1:1/nothing:here
expect_error --names "$reg/nope:latest" strata push "$reg/nope:latest"
expect_error --names "--compression" strata push --compression lz4 "$reg/$t-app:1"
expect_error --names "platform" strata pull --platform linux/arm64 "$reg/$t-app:1"

note "a registry with htpasswd auth needs login"
htpasswd -Bbn alice 's3cret pass' >"$E2E_TMP/htpasswd"
aport=$(start_registry auth "$E2E_TMP/htpasswd")
areg="127.0.0.1:$aport"
ok strata tag bb "$areg/$t-private:1"
expect_error --names "unauthorized: authentication required" strata push "$areg/$t-private:1"
run_in <(echo wrong) strata login -u alice --password-stdin "$areg"
assert_eq 125 "$status" "login with a wrong password: $out $err"
assert_contains "$err" "$areg"
assert_no_file "$STRATA_CONFIG/config.json" "a failed login stores nothing"
run_in <(echo 's3cret pass') strata login -u alice --password-stdin "$areg"
assert_eq 0 "$status" "$err"
assert_eq "Login Succeeded" "$out"
assert_eq 600 "$(stat -c %a "$STRATA_CONFIG/config.json")"
ok strata push "$areg/$t-private:1"
ok with_store s8 strata pull -q "$areg/$t-private:1"
ok strata logout "$areg"
assert_eq "Removing login credentials for $areg" "$out"
expect_error --names "unauthorized" with_store s9 strata pull "$areg/$t-private:1"
# an existing `docker login` serves strata too
ok docker login -u alice --password 's3cret pass' "$areg"
ok with_store s9 strata pull -q "$areg/$t-private:1"
ok docker logout "$areg"

note "a registry serving wrong bytes is refused (Bearer token flow)"
mkdir -p "$E2E_TMP/layout"
strata save --format oci-archive "$reg/$t-app:1" | tar -x -C "$E2E_TMP/layout"
note "a registry answering garbage: manifests that are not JSON, a token that is not JSON, a manifest body without end"
for mode in garbage bad-token endless; do
  gport=$(start_fake "$mode")
  with_store "s-$mode" strata images >/dev/null
  start=$(date +%s)
  STRATA_ROOT="$E2E_TMP/s-$mode" expect_error --names "127.0.0.1:$gport" strata pull "127.0.0.1:$gport/x/junk:1"
  echo "$mode: $err"
  [ $(( $(date +%s) - start )) -lt 60 ] || fail "$mode: the pull took more than a minute"
  stop_fake "$mode"
done

fport=$(start_fake corrupt)
with_store s-bad strata images >/dev/null  # an empty store that does not have the layers
STRATA_ROOT="$E2E_TMP/s-bad" expect_error --names "content does not match its digest" strata pull "127.0.0.1:$fport/x/bad:1"
# the digest named is a layer's
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][0]["digest"])' \
  "$E2E_TMP/layout/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"][7:])' "$E2E_TMP/layout/index.json")")
assert_contains "$err" "sha256:" "$err"
grep -q "^GET /token?service=fake&scope=repository%3Ax%2Fbad%3Apull" "$E2E_TMP/fake-corrupt.log" || fail "no token request: $(cat "$E2E_TMP/fake-corrupt.log")"
assert_no_file "$E2E_TMP/s-bad/downloads/${layer#sha256:}" "a corrupt download is not kept"
stop_fake corrupt

note "a cut download resumes where it stopped"
fport=$(start_fake cut-once)
ok with_store s10 strata pull -q "127.0.0.1:$fport/x/ok:1"
grep -q "blobs/$layer bytes=[1-9]" "$E2E_TMP/fake-cut-once.log" || fail "no range request: $(cat "$E2E_TMP/fake-cut-once.log")"
ok with_store s10 strata run --rm "127.0.0.1:$fport/x/ok:1"
assert_eq "built-by-strata" "$out"
stop_fake cut-once
# a registry that always cuts: the pull fails, keeping what it got; the next pull resumes it
fport=$(start_fake cut-always)
run with_store s11 strata pull -q "127.0.0.1:$fport/x/ok:1"
assert_eq 125 "$status" "$err"
assert_file "$E2E_TMP/s11/downloads/${layer#sha256:}"
stop_fake cut-always
fport=$(start_fake good)
ok with_store s11 strata pull -q "127.0.0.1:$fport/x/ok:1"
kept=$(grep "blobs/$layer" "$E2E_TMP/fake-good.log" | awk '{print $3}')
grep -q "^GET /storage/$layer bytes=" "$E2E_TMP/fake-good.log" || fail "the redirect to storage was not followed with the range"
assert_match "$kept" "^bytes=[1-9][0-9]*-$" "the pull resumed with a range: $kept"
assert_no_file "$E2E_TMP/s11/downloads/${layer#sha256:}"
ok with_store s11 strata run --rm "127.0.0.1:$fport/x/ok:1"
assert_eq "built-by-strata" "$out"

note "an index resolves to this platform; RepoDigests names the index"
index_digest=$(curl -s -H "Authorization: Bearer fake-registry-token" "http://127.0.0.1:$fport/v2/x/ok/manifests/multi" | sha256sum | cut -c1-64)
ok with_store s12 strata pull "127.0.0.1:$fport/x/ok:multi"
assert_contains "$out" "Digest: sha256:$index_digest"
ok with_store s12 strata image inspect -f '{{json .RepoDigests}}' "127.0.0.1:$fport/x/ok:multi"
assert_eq "[\"127.0.0.1:$fport/x/ok@sha256:$index_digest\"]" "$out"
with_store s13 strata images >/dev/null
STRATA_ROOT="$E2E_TMP/s13" expect_error --names "manifest unknown" strata pull --platform linux/arm64 "127.0.0.1:$fport/x/ok:multi"
STRATA_ROOT="$E2E_TMP/s13" expect_error --names "no matching manifest for linux/ppc64le" strata pull --platform linux/ppc64le "127.0.0.1:$fport/x/ok:multi"

note "on a terminal, pull draws progress bars"
script -q -e -c "STRATA_ROOT=$E2E_TMP/s14 $STRATA_BIN pull 127.0.0.1:$fport/x/ok:1" "$E2E_TMP/tty.out" >/dev/null
grep -q "Downloading \[=*>* *\]" "$E2E_TMP/tty.out" || fail "no progress bar: $(head -c 600 "$E2E_TMP/tty.out")"
grep -q "Pull complete" "$E2E_TMP/tty.out" || fail "no Pull complete: $(head -c 600 "$E2E_TMP/tty.out")"
stop_fake good
