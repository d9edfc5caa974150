#!/usr/bin/env bash
# Bad input: truncated and non-tar archives, a layer whose content does not match its diff_id,
# an archive missing a layer, malformed references, unknown images. Each must fail with status
# 125, one line on stderr naming the bad thing, and leave the store exactly as it was.
#
# Docker 20.10 for comparison: truncated/non-tar `docker load` -> "Error processing tar
# file(exit status 1): unexpected EOF"; a modified layer -> `invalid diffID for layer 1: expected
# "sha256:45c6...", got "sha256:4b55..."` and no image is created; `Foo` -> "invalid reference
# format: repository name must be lowercase"; `a:b:c`, `x@sha256:zz` -> "invalid reference
# format"; unknown -> "No such image: nothere".
source "$(dirname "$0")/lib.sh"

busybox_rootfs_tar "$E2E_TMP/busybox.tar"
strata import "$E2E_TMP/busybox.tar" good:1 >/dev/null

# an image whose layers are not in the store yet, so a partial load would change the store
python3 -c 'import json, os; print(json.dumps([{"name": "data.bin", "data": os.urandom(150000).hex()}]))' >"$E2E_TMP/spec"
helper layer "$E2E_TMP/unique-layer.tar" "@$E2E_TMP/spec"
helper docker-archive "$E2E_TMP/fresh.tar" --tag fresh:1 "$E2E_TMP/unique-layer.tar" "$E2E_TMP/busybox.tar" >/dev/null

note "truncated archives"
first_layer=$(tar -xOf "$E2E_TMP/fresh.tar" manifest.json | helper json-get "v[0]['Layers'][0]")
helper truncate-member "$E2E_TMP/fresh.tar" "$first_layer" "$E2E_TMP/trunc1.tar" # inside the first layer
helper truncate-member "$E2E_TMP/fresh.tar" manifest.json "$E2E_TMP/trunc2.tar"   # manifest.json cut off
for f in trunc1 trunc2; do
  expect_error strata load -i "$E2E_TMP/$f.tar"
  assert_match "${err,,}" "$f|trunc|eof|end of|short|incomplete|manifest" "the error says what is wrong: $err"
done
run_in "$E2E_TMP/trunc1.tar" strata load
assert_eq 125 "$status" "truncated archive on stdin"
head -c 700000 "$E2E_TMP/busybox.tar" >"$E2E_TMP/trunc-rootfs.tar"
expect_error strata import "$E2E_TMP/trunc-rootfs.tar" bad:1
run_in "$E2E_TMP/trunc-rootfs.tar" strata import - bad:1
assert_eq 125 "$status" "truncated tar on stdin"
gzip -c "$E2E_TMP/busybox.tar" >"$E2E_TMP/rootfs.tar.gz"
head -c 300000 "$E2E_TMP/rootfs.tar.gz" >"$E2E_TMP/trunc-rootfs.tar.gz"
expect_error strata import "$E2E_TMP/trunc-rootfs.tar.gz" bad:1

note "not a tar at all"
printf 'hello, this is not a tar archive\n' >"$E2E_TMP/notar.txt"
head -c 8192 /dev/urandom >"$E2E_TMP/random.bin"
printf '' >"$E2E_TMP/empty"
for f in notar.txt random.bin empty; do
  expect_error strata load -i "$E2E_TMP/$f"
done
for f in notar.txt random.bin; do
  expect_error strata import "$E2E_TMP/$f" bad:1
done
gzip -c "$E2E_TMP/notar.txt" >"$E2E_TMP/notar.gz"
expect_error strata import "$E2E_TMP/notar.gz" bad:1
expect_error strata load -i "$E2E_TMP/notar.gz"
# a valid tar that is no image archive
tar -C "$E2E_TMP" -cf "$E2E_TMP/plain.tar" notar.txt
expect_error strata load -i "$E2E_TMP/plain.tar"

note "a layer that does not match its diff_id"
helper docker-archive "$E2E_TMP/corrupt.tar" --tag corrupt:1 --corrupt 0 "$E2E_TMP/unique-layer.tar" "$E2E_TMP/busybox.tar" >/dev/null
want=$(sha256_of "$E2E_TMP/unique-layer.tar")
ldir=$(tar -xOf "$E2E_TMP/corrupt.tar" manifest.json | helper json-get "v[0]['Layers'][0].split('/')[0]")
expect_error strata load -i "$E2E_TMP/corrupt.tar"
assert_match "$err" "${want:7:12}|${ldir:0:12}" "the error names the layer (its diff_id or its path)"
helper docker-archive "$E2E_TMP/corrupt2.tar" --tag corrupt:1 --corrupt 1 "$E2E_TMP/unique-layer.tar" "$E2E_TMP/busybox.tar" >/dev/null
expect_error strata load -i "$E2E_TMP/corrupt2.tar"
assert_status 125 strata image inspect corrupt:1

note "a layer missing from the archive"
helper docker-archive "$E2E_TMP/missing.tar" --tag missing:1 --omit 0 "$E2E_TMP/unique-layer.tar" "$E2E_TMP/busybox.tar" >/dev/null
ldir=$(tar -xOf "$E2E_TMP/missing.tar" manifest.json | helper json-get "v[0]['Layers'][0].split('/')[0]")
expect_error --names "${ldir:0:12}" strata load -i "$E2E_TMP/missing.tar"

note "a manifest.json that is not JSON"
mkdir "$E2E_TMP/badjson" && printf '[{"Config": ' >"$E2E_TMP/badjson/manifest.json"
tar -C "$E2E_TMP/badjson" -cf "$E2E_TMP/badjson.tar" manifest.json
expect_error --names "manifest.json" strata load -i "$E2E_TMP/badjson.tar"

note "malformed references"
# (docker 20.10 also rejects UPPER/x, but newer distribution/reference reads an upper-case first
# component as a registry host, so that case is left out)
for ref in Foo a:b:c 'x@sha256:zz' 'a//b' 'a___b' 'x/' "x:$(printf 't%.0s' $(seq 1 129))" \
  "$(printf 'a%.0s' $(seq 1 256))"; do
  # (the error must quote the reference; a very long one may be abbreviated after 40 characters)
  expect_error --names "${ref:0:40}" strata import "$E2E_TMP/busybox.tar" "$ref"
  expect_error --names "${ref:0:40}" strata tag good:1 "$ref"
done
for ref in Foo a:b:c 'x@sha256:zz'; do
  expect_error --names "$ref" strata image inspect "$ref"
  expect_error --names "$ref" strata rmi "$ref"
  expect_error --names "$ref" strata history "$ref"
  expect_error --names "$ref" strata save -o "$E2E_TMP/x.tar" "$ref"
done

note "unknown images"
for ref in nothere nothere:1 example.com/nothere:1 0123456789ab \
  "nothere@sha256:$(printf '0%.0s' $(seq 1 64))"; do
  expect_error --names "${ref%%@*}" strata image inspect "$ref"
  expect_error --names "${ref%%@*}" strata rmi "$ref"
  expect_error --names "${ref%%@*}" strata history "$ref"
  expect_error --names "${ref%%@*}" strata tag "$ref" y:1
  expect_error --names "${ref%%@*}" strata save -o "$E2E_TMP/x.tar" "$ref"
done
assert_no_file "$E2E_TMP/x.tar"

note "a Dockerfile word that expands without bound"
# Each ${P//} level puts its replacement between every character of P (27 times as long per
# level): seven levels would be 10^10 bytes. The build stops at 16 MiB, naming the line.
mkdir -p "$E2E_TMP/bomb"
nested=x
for _ in 1 2 3 4 5 6 7; do nested="\${P//$( printf / )$nested}"; done
# (In FROM, expanded before any step runs: a later step would keep the cache of those before it.)
printf 'ARG P=abcdefghijklmnopqrstuvwxyz\nFROM good:1%s\n' "$nested" >"$E2E_TMP/bomb/Dockerfile"
expect_error --names "Dockerfile:2" --names "expanded text is larger than 16 MiB" \
  strata build -q -t bomb:1 "$E2E_TMP/bomb"

note "the store still works"
ok strata images --format '{{.Repository}}:{{.Tag}}'
assert_eq "good:1" "$out"
