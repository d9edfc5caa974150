#!/usr/bin/env bash
# Differential test of `strata build`: every case in tests/e2e/build-cases/ (a Dockerfile and its
# context) is built by Docker's BuildKit and by strata from the same base image, both images are
# saved, and tests/e2e/build_diff.py compares them: the file system after all layers (paths,
# types, modes with setuid/setgid/sticky, owners, content hashes, link targets, hard-link groups;
# not times), the image config, the history (created_by, empty_layer, comment) and the number of
# layers. Each case prints PASS or FAIL (with the diff); the test fails if any case does.
#
# The base image is the busybox rootfs of lib.sh, imported into Docker (`docker import -c
# 'CMD ["sh"]'`) and into strata under the same name; every Dockerfile starts with `ARG BASE` /
# `FROM $BASE` and both builders get `--build-arg BASE=<it>`. A case directory may also hold
# `build-args` (NAME=VALUE lines, more --build-arg), `target` (the --target stage) and
# `prepare.sh` (run in a copy of the context before both builds: empty directories, modes git
# cannot hold); those three are removed from the context both builders see.
#
# Docker side: Debian's docker.io 20.10 client (lib.sh docker_build_cli), `DOCKER_BUILDKIT=1
# docker build --network host` against the 20.10 daemon; its built-in Dockerfile front end has
# no heredocs, so no case uses them. strata side: `strata build -t --build-arg --target`, then
# `strata save` (docker-archive).
#
#   STRATA_DIFF_SELFTEST=1  checks the harness instead of strata: per case, Docker's archive
#                           against the same image turned into an OCI archive by `skopeo copy`
#                           (index.json, gzip layers; compared on the OCI config fields, since
#                           skopeo drops Docker's Healthcheck, OnBuild and Shell), and against a
#                           second `docker build --no-cache` of the case compared layer by layer
#                           (so every case is deterministic); then a copy of one archive with
#                           three deliberate changes must be reported as different.
#   STRATA_DIFF_LAYERS=1    also compare strata's and Docker's images layer by layer (which
#                           layer holds which entries, parent directories and whiteouts).
#   STRATA_DIFF_CASES="a b" only those cases.
#
# What Docker 20.10 + BuildKit produce (seen here; the builder must do the same):
#  - Layers: every RUN, COPY, ADD and WORKDIR makes a layer, also when nothing changes
#    (`RUN true`; `WORKDIR /tmp` on an existing directory gives an empty tar). ENV, ARG, LABEL,
#    EXPOSE, VOLUME, USER, CMD, ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK, MAINTAINER add a
#    history entry with empty_layer true. ONBUILD adds no history entry at all.
#  - History entries all carry comment "buildkit.dockerfile.v0"; created_by texts:
#      RUN (shell)  `RUN /bin/sh -c <command> # buildkit` (with SHELL: that shell's words);
#                   a backslash-newline leaves the spaces around it: `a  && b`
#      RUN (exec)   `RUN touch /touched # buildkit`: the words joined by spaces
#      RUN + ARGs   `RUN |2 PORT=8080 PROTO= /bin/sh -c ... # buildkit`: the stage's ARGs declared
#                   so far, in order, with their values (build-args applied, `NAME=` when none)
#      COPY / ADD   `COPY files/a.txt /dst/into/ # buildkit`, variables expanded, flags (--from,
#                   --chown, --chmod) left out
#      WORKDIR      `WORKDIR /app/sub/dir`: the resolved absolute path, no `# buildkit`
#      ENV          `ENV A=1 B=two words`: expanded, quotes gone; `ENV K V` as `ENV K=V`
#      ARG          `ARG FLAVOR=plain`: as written, even when --build-arg overrides it
#      LABEL        `LABEL k=v k2=two words`, unquoted
#      EXPOSE       `EXPOSE map[443/tcp:{} 53/udp:{} 80/tcp:{}]`: Go's map print, sorted;
#                   ports without a protocol get /tcp, `8080/TCP` becomes 8080/tcp
#      VOLUME       `VOLUME [/cache /logs]`; SHELL `SHELL [/bin/sh -e -c]`
#      CMD/ENTRYPOINT `CMD ["cat" "/middle.txt"]` (Go %q per word; shell form already wrapped)
#      HEALTHCHECK  `HEALTHCHECK &{["CMD-SHELL" "test -f /healthy || exit 1"] "5s" "3s" "2s" '\x04'}`
#                   (Go's %v of the struct: test, interval, timeout, start period, retries as a
#                   rune); NONE: `HEALTHCHECK &{["NONE"] "0s" "0s" "0s" '\x00'}`
#      USER, STOPSIGNAL, MAINTAINER: `USER 65534:0`, `STOPSIGNAL SIGINT`, `MAINTAINER text`
#      the base image's entries are kept first (docker import: created_by "", comment
#      "Imported from -"); with ONBUILD triggers, the triggered instructions' entries come right
#      after the parent's, before the child's own.
#  - Config: Env starts with PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
#    when the base has no PATH, even without any RUN. ArgsEscaped is true once the Dockerfile
#    sets CMD (either form); ENTRYPOINT alone does not set it. ENTRYPOINT clears a CMD inherited
#    from the base but not one set earlier in the same stage. MAINTAINER sets the top-level
#    `author`. Healthcheck durations are nanoseconds; HEALTHCHECK NONE is {"Test":["NONE"]}.
#    OnBuild keeps the trigger texts as written; a stage built FROM a stage with triggers runs
#    them first and has no OnBuild itself. docker import's legacy container_config and
#    docker_version are not carried into built images.
#  - File system: the first RUN of a stage leaves /dev, /proc and /sys (0755 root) in its layer,
#    and every RUN layer holds /etc (its hosts/resolv.conf mount points are gone again). RUN sees
#    HOME=/root, PATH, the ARGs and ENVs, no HOSTNAME. VOLUME creates nothing, and what a later
#    RUN writes below a volume path stays in the image. A deleted path is a `.wh.` entry, a
#    directory deleted and made again (or a directory where a lower layer had a symlink or
#    file) gets `.wh..wh..opq`; emptying a directory gives one whiteout per child. A hard link
#    to a lower layer's file copies that file up into the new layer; linking to a file of an
#    earlier layer leaves that file's other links in the old layer, so the flattened tree has
#    two separate link groups.
#  - COPY/ADD: sources are reset to 0:0 and keep their mode; directories the destination needs
#    are made 0755 and take --chown's owner; `--chown=1234` means 1234:1234, `--chown=nobody`
#    the user's primary group, `--chown=:65534` 0:65534; --chmod applies to every copied file
#    and directory but not to the destination directory made for them, and drops setuid
#    (`--chmod=4711` gives 0711); a symlink named as the source is followed, symlinks inside a
#    copied directory are kept; COPY --from keeps the source stage's owners and modes; ADD of a
#    local tar(.gz) unpacks it keeping its owners, modes, setuid and hard links.
#  - .dockerignore: `nested/deeper` then `!nested/deeper/d.log` brings back d.log (and its
#    directory) only; the Dockerfile and .dockerignore themselves are in `COPY .` unless ignored.
source "$(dirname "$0")/lib.sh"

need_root
need_cmd python3
start_docker
cli=$(docker_build_cli) || exit
selftest=${STRATA_DIFF_SELFTEST:-0}
[ "$selftest" != 1 ] || need_cmd skopeo
cases_dir="$E2E_DIR/build-cases"
build_diff() { python3 "$E2E_DIR/build_diff.py" "$@"; }
strata_compare_opts=()
[ "${STRATA_DIFF_LAYERS:-0}" != 1 ] || strata_compare_opts=(--layers)

cases=()
for d in "$cases_dir"/*/; do
  d=${d%/}; n=${d##*/}
  [ -f "$d/Dockerfile" ] || continue
  if [ -n "${STRATA_DIFF_CASES:-}" ] && [[ " $STRATA_DIFF_CASES " != *" $n "* ]]; then continue; fi
  cases+=("$n")
done
[ "${#cases[@]}" -gt 0 ] || fail "no build cases in $cases_dir"

# the base image of every case: the same tarball on both sides
busybox_rootfs_tar "$E2E_TMP/busybox.tar"
base=$(docker_name base):1
docker import -c 'CMD ["sh"]' "$E2E_TMP/busybox.tar" "$base" >/dev/null
strata import -c 'CMD ["sh"]' "$E2E_TMP/busybox.tar" "$base" >/dev/null
mkdir -p "$E2E_TMP/ctx" "$E2E_TMP/out"

passed=0 failed=0 failures=()
pass_case() { echo "PASS $1"; passed=$((passed + 1)); }
fail_case() { # NAME REASON [DETAILS_FILE]
  echo "FAIL $1: $2"
  [ -z "${3:-}" ] || sed -n '1,80p' "$3" | sed 's/^/    /'
  failed=$((failed + 1)); failures+=("$1")
}
# compare_archives NAME A B LABEL_A,LABEL_B [compare options]: one case's result
compare_archives() {
  local name=$1 a=$2 b=$3 labels=$4 rc=0; shift 4
  local log="$E2E_TMP/out/${name//[^a-zA-Z0-9_.-]/_}.diff"
  build_diff compare --labels "$labels" "$@" "$a" "$b" >"$log" 2>&1 || rc=$?
  case $rc in
    0) pass_case "$name" ;;
    1) fail_case "$name" "images differ (- ${labels%,*}, + ${labels#*,})" "$log" ;;
    *) fail_case "$name" "cannot compare the archives" "$log" ;;
  esac
}

if [ "$selftest" != 1 ]; then
  note "base image: docker import and strata import of the same tarball"
  docker save -o "$E2E_TMP/out/base.docker.tar" "$base"
  strata save -o "$E2E_TMP/out/base.strata.tar" "$base"
  # `docker import` also writes the legacy container_config and docker_version, which no
  # BuildKit build carries over
  compare_archives "(base)" "$E2E_TMP/out/base.docker.tar" "$E2E_TMP/out/base.strata.tar" docker,strata \
    --ignore container_config --ignore docker_version
fi

for name in "${cases[@]}"; do
  src="$cases_dir/$name" ctx="$E2E_TMP/ctx/$name" out="$E2E_TMP/out/$name"
  cp -a "$src" "$ctx"
  if [ -f "$ctx/prepare.sh" ]; then
    (cd "$ctx" && sh ./prepare.sh) >"$out.prepare.log" 2>&1 || { fail_case "$name" "prepare.sh failed" "$out.prepare.log"; continue; }
  fi
  args=(--build-arg "BASE=$base")
  if [ -f "$src/build-args" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      [[ -z "$line" || "$line" == \#* ]] || args+=(--build-arg "$line")
    done <"$src/build-args"
  fi
  [ ! -f "$src/target" ] || args+=(--target "$(head -n 1 "$src/target")")
  rm -f "$ctx/prepare.sh" "$ctx/build-args" "$ctx/target"

  img=$(docker_name "case-$name"):1
  if ! DOCKER_BUILDKIT=1 "$cli" build --network host -t "$img" "${args[@]}" "$ctx" >"$out.docker.log" 2>&1; then
    fail_case "$name" "docker build failed" <(tail -n 20 "$out.docker.log")
    continue
  fi
  docker save -o "$out.docker.tar" "$img"

  if [ "$selftest" = 1 ]; then
    if skopeo copy -q "docker-archive:$out.docker.tar" "oci-archive:$out.oci.tar:$name" >"$out.skopeo.log" 2>&1; then
      compare_archives "$name [skopeo oci-archive]" "$out.docker.tar" "$out.oci.tar" docker,skopeo-oci --oci-fields
    else
      fail_case "$name [skopeo oci-archive]" "skopeo copy failed" "$out.skopeo.log"
    fi
    if DOCKER_BUILDKIT=1 "$cli" build --no-cache --network host -t "$img-again" "${args[@]}" "$ctx" >"$out.again.log" 2>&1; then
      docker save -o "$out.again.tar" "$img-again"
      compare_archives "$name [rebuilt]" "$out.docker.tar" "$out.again.tar" docker,docker-again --layers
    else
      fail_case "$name [rebuilt]" "docker build --no-cache failed" <(tail -n 20 "$out.again.log")
    fi
    continue
  fi

  if ! strata build -t "$img" "${args[@]}" "$ctx" >"$out.strata.log" 2>&1; then
    fail_case "$name" "strata build failed" <(tail -n 20 "$out.strata.log")
    continue
  fi
  if ! strata save -o "$out.strata.tar" "$img" >"$out.save.log" 2>&1; then
    fail_case "$name" "strata save failed" "$out.save.log"
    continue
  fi
  compare_archives "$name" "$out.docker.tar" "$out.strata.tar" docker,strata ${strata_compare_opts[@]+"${strata_compare_opts[@]}"}
done

if [ "$selftest" = 1 ]; then
  # the comparison must notice: an extra Env entry, one file's mode, one more history entry
  probe=${cases[0]}
  for n in "${cases[@]}"; do [ "$n" != copy-paths ] || probe=$n; done
  if [ -f "$E2E_TMP/out/$probe.docker.tar" ]; then
    note "a deliberate difference ($probe)"
    build_diff mutate "$E2E_TMP/out/$probe.docker.tar" "$E2E_TMP/out/mutated.tar"
    rc=0
    build_diff compare --labels docker,mutated "$E2E_TMP/out/$probe.docker.tar" "$E2E_TMP/out/mutated.tar" \
      >"$E2E_TMP/out/mutated.diff" 2>&1 || rc=$?
    sed 's/^/    /' "$E2E_TMP/out/mutated.diff"
    m="$E2E_TMP/out/mutated.diff"
    if [ "$rc" = 1 ] && grep -q '^+config\.Env: .*"SELFTEST_EXTRA=1"' "$m" &&
       grep -q '^+history\[[0-9]*\]: (empty) "SELFTEST extra entry"' "$m" &&
       grep -q '^-/[^ ]* file ' "$m" && grep -q '^+/[^ ]* file ' "$m"; then
      pass_case "(deliberate difference)"
    else
      fail_case "(deliberate difference)" "compare did not report the three changes (status $rc)"
    fi
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ] || fail "$failed of $((passed + failed)) failed: ${failures[*]}"
