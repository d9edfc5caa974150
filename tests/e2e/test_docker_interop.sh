#!/usr/bin/env bash
# Docker interop both ways (Debian docker.io 20.10, /usr/bin/docker):
#  - `docker save` output (legacy docker-archive: manifest.json, <id>.json, <dir>/layer.tar,
#    repositories) loads into strata with Docker's image ID, layers, config, size and history;
#  - `strata save` output loads into Docker (`docker load`), keeps its ID, and runs:
#    `docker run --rm --network none IMG /bin/busybox echo hi` prints hi.
# Docker images are named strata-e2e-<token>-* and removed at exit; a daemon is started (and
# stopped, by pid) only if none answers. Docker 20.10's `docker load` cannot read a pure OCI
# archive (no manifest.json), so only docker-archive goes strata -> docker.
source "$(dirname "$0")/lib.sh"

need_root
start_docker
busybox_rootfs_tar "$E2E_TMP/busybox.tar"
cols=(IMAGE CREATED 'CREATED BY' SIZE COMMENT)

# history without the CREATED column (relative times drift between the two calls)
hist() { "$@" | table_cells "${cols[@]}" | cut -f1,3-; }

note "docker -> strata"
src=$(docker_name src):1
two=$(docker_name two):1
dock_id=$(docker import -m "made by docker" -c 'CMD ["sh"]' -c 'ENV GREETING=hello' "$E2E_TMP/busybox.tar" "$src")
two_layer_archive "$E2E_TMP/two.tar" "$two" >/dev/null
docker load -i "$E2E_TMP/two.tar" >/dev/null
docker save -o "$E2E_TMP/from-docker.tar" "$src" "$two"
ok strata load -i "$E2E_TMP/from-docker.tar"
assert_eq "$(printf 'Loaded image: %s\n' "$src" "$two" | sort)" "$(sort <<<"$out")" "load output"
for ref in "$src" "$two"; do
  d=$(docker image inspect "$ref" | helper json-get \
    "{k: v[0][k] for k in ('Id', 'RepoTags', 'Created', 'Comment', 'Author', 'Architecture', 'Os', 'Size')}")
  s=$(strata image inspect "$ref" | helper json-get \
    "{k: v[0][k] for k in ('Id', 'RepoTags', 'Created', 'Comment', 'Author', 'Architecture', 'Os', 'Size')}")
  assert_eq "$d" "$s" "inspect of $ref: docker vs strata"
  assert_eq "$(docker image inspect -f '{{json .RootFS.Layers}}' "$ref")" "$(inspect_field "$ref" '{{json .RootFS.Layers}}')" "layers of $ref"
  for k in Cmd Env Entrypoint WorkingDir User; do
    assert_eq "$(docker image inspect "$ref" | helper json-get "v[0]['Config'].get('$k') or None")" \
      "$(strata image inspect "$ref" | helper json-get "v[0]['Config'].get('$k') or None")" "Config.$k of $ref"
  done
  assert_eq "$(hist docker history --no-trunc "$ref")" "$(hist strata history --no-trunc "$ref")" "history of $ref"
  assert_eq "$(hist docker history "$ref")" "$(hist strata history "$ref")" "truncated history of $ref"
done
assert_eq "$dock_id" "$(inspect_field "$src" '{{.Id}}')"
# piping docker save into strata load
ok strata rmi "$src"
docker save "$src" >"$E2E_TMP/pipe.tar"
run_in "$E2E_TMP/pipe.tar" strata load
assert_eq 0 "$status" "docker save | strata load: $err"
assert_eq "Loaded image: $src" "$out"

note "strata -> docker"
mine=$(docker_name mine):1
mine_two=$(docker_name minetwo):1
id=$(strata import -c 'CMD ["sh"]' -c 'ENV GREETING="hello from strata"' "$E2E_TMP/busybox.tar" "$mine")
two_layer_archive "$E2E_TMP/mine-two.tar" "$mine_two" "hello from strata" >/dev/null
ok strata load -i "$E2E_TMP/mine-two.tar"
strata save "$mine" "$mine_two" >"$E2E_TMP/from-strata.tar"
load_out=$(docker load -i "$E2E_TMP/from-strata.tar")
assert_eq "$(printf 'Loaded image: %s\n' "$mine" "$mine_two" | sort)" "$(sort <<<"$load_out")" "docker load output"
assert_eq "$id" "$(docker image inspect -f '{{.Id}}' "$mine")" "docker sees strata's ID"
assert_eq "$(inspect_field "$mine" '{{json .RootFS.Layers}}')" "$(docker image inspect -f '{{json .RootFS.Layers}}' "$mine")"
assert_eq "$(docker image inspect -f '{{.Size}}' "$mine")" "$(inspect_field "$mine" '{{.Size}}')" "Size as docker computes it"
assert_eq "$(docker image inspect -f '{{.Size}}' "$mine_two")" "$(inspect_field "$mine_two" '{{.Size}}')" "Size of a two-layer image"
assert_eq "$(hist docker history --no-trunc "$mine")" "$(hist strata history --no-trunc "$mine")" "history"
assert_eq "hi" "$(docker run --rm --network none "$mine" /bin/busybox echo hi)" "docker runs strata's image"
assert_eq "hello from strata" "$(docker run --rm --network none "$mine" /bin/sh -c 'echo $GREETING')" "ENV survives"
assert_eq "hello from strata" "$(docker run --rm --network none "$mine_two" cat /hello.txt)" "second layer"
# CMD ["sh"] with no stdin exits 0
docker run --rm --network none "$mine" </dev/null || fail "docker run with strata's CMD failed"
# piping strata save into docker load
docker rmi "$mine" >/dev/null
strata save "$mine" | docker load >"$E2E_TMP/docker-load.out"
assert_eq "Loaded image: $mine" "$(cat "$E2E_TMP/docker-load.out")"
assert_eq "hi" "$(docker run --rm --network none "$mine" /bin/busybox echo hi)"
