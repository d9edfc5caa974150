#!/usr/bin/env bash
# `strata build` beyond image equality (test_build_differential.sh compares images with Docker's):
# the layer cache (an unchanged rebuild runs nothing and gives the same image ID, a changed file
# invalidates its COPY and every later step, --no-cache reruns all), -q and --iidfile, --target,
# build args, labels, a failing RUN (exit status 1, the step and its line named), Dockerfile
# errors (status 125, the store unchanged), context safety, builder prune.
source "$(dirname "$0")/lib.sh"
containers_setup
bb_image base:1

ctx=$E2E_TMP/ctx
mkdir -p "$ctx/src"
echo one >"$ctx/src/a.txt"
echo two >"$ctx/src/b.txt"
echo secret >"$ctx/secret.key"
printf 'secret.key\n' >"$ctx/.dockerignore"
cat >"$ctx/Dockerfile" <<'DF'
FROM base:1
ARG GREETING=hello
WORKDIR /app
COPY src/ ./
RUN echo "$GREETING $(cat a.txt)" > greeting && cat /proc/sys/kernel/random/uuid > stamp
LABEL stage=final
CMD ["cat", "/app/greeting"]
DF

note "first build"
ok strata build -t app:1 "$ctx"
assert_contains "$err" "[2/4] WORKDIR /app"
assert_contains "$err" "[4/4] RUN echo"
assert_contains "$err" "naming to docker.io/library/app:1 done"
id1=$(strata image inspect --format '{{.Id}}' app:1)
ok strata run --rm app:1
assert_eq "hello one" "$out"

note "an unchanged rebuild runs nothing and gives the same image"
ok strata build -t app:2 "$ctx"
assert_eq 3 "$(grep -c CACHED <<<"$err")" "WORKDIR, COPY and RUN come from the cache"
assert_eq "$id1" "$(strata image inspect --format '{{.Id}}' app:2)"

note "-q prints only the ID; --iidfile writes it"
ok strata build -q --iidfile "$E2E_TMP/iid" "$ctx"
assert_eq "$id1" "$out"
assert_eq "" "$err"
assert_eq "$id1" "$(cat "$E2E_TMP/iid")"

note "a changed file invalidates its COPY and every later step"
stamp1=$(strata run --rm app:1 cat /app/stamp)
echo uno >"$ctx/src/a.txt"
ok strata build -t app:3 "$ctx"
assert_eq 1 "$(grep -c CACHED <<<"$err")" "only WORKDIR is cached"
ok strata run --rm app:3
assert_eq "hello uno" "$out"
assert_ne "$stamp1" "$(strata run --rm app:3 cat /app/stamp)" "RUN ran again"
touch "$ctx/src/b.txt"   # a new mtime alone changes nothing
ok strata build -q -t app:4 "$ctx"
assert_eq "$(strata image inspect --format '{{.Id}}' app:3)" "$out" "mtime is not part of the key"

note "--no-cache reruns every step; build args reach RUN"
ok strata build --no-cache --build-arg GREETING=hi -t app:5 "$ctx"
assert_not_contains "$err" "CACHED"
ok strata run --rm app:5
assert_eq "hi uno" "$out"
assert_contains "$(strata history --no-trunc app:5)" "RUN |1 GREETING=hi /bin/sh -c echo"

note "a cached CMD still counts: a changed ENTRYPOINT after it keeps the stage's CMD"
printf 'FROM base:1\nCMD ["stage-cmd"]\nENTRYPOINT ["/bin/echo", "one"]\n' >"$ctx/Dockerfile.cmd"
ok strata build -q -f "$ctx/Dockerfile.cmd" "$ctx"
printf 'FROM base:1\nCMD ["stage-cmd"]\nENTRYPOINT ["/bin/echo", "two"]\n' >"$ctx/Dockerfile.cmd"
ok strata build -q -f "$ctx/Dockerfile.cmd" "$ctx"
ok strata run --rm "$out"
assert_eq "two stage-cmd" "$out"

note "--label, --target and .dockerignore"
cat >"$ctx/Dockerfile.multi" <<'DF'
FROM base:1 AS builder
RUN echo built > /out
FROM base:1 AS unused
RUN exit 7
FROM base:1
COPY --from=builder /out /from-builder
DF
ok strata build -f "$ctx/Dockerfile.multi" --label team=core -t multi:1 "$ctx"
assert_not_contains "$err" "exit 7" "a stage the target does not need is not built"
assert_eq "core" "$(strata image inspect --format '{{index .Config.Labels "team"}}' multi:1)"
ok strata run --rm multi:1 cat /from-builder
assert_eq built "$out"
ok strata build -f "$ctx/Dockerfile.multi" --target builder -q "$ctx"
ok strata run --rm "$out" cat /out
printf 'FROM base:1\nCOPY secret.key /\n' >"$ctx/Dockerfile.ignored"
expect_error --names '"/secret.key": not found' strata build -q -f "$ctx/Dockerfile.ignored" "$ctx"

note "the context as a tar on stdin; the Dockerfile on stdin (-f -, or alone: no context)"
tar -C "$ctx" -czf "$E2E_TMP/ctx.tar.gz" .
run_in "$E2E_TMP/ctx.tar.gz" strata build -q -
assert_eq 0 "$status" "context tar on stdin: $err"
assert_eq "$(strata image inspect --format '{{.Id}}' app:3)" "$out" "the same context gives the same image"
printf 'FROM base:1\nCOPY src/b.txt /b\n' >"$E2E_TMP/Dockerfile.stdin"
run_in "$E2E_TMP/Dockerfile.stdin" strata build -q -f - "$ctx"
assert_eq 0 "$status" "-f -: $err"
ok strata run --rm "$out" cat /b
assert_eq two "$out"
printf 'FROM base:1\nRUN echo no context > /n\n' >"$E2E_TMP/Dockerfile.alone"
run_in "$E2E_TMP/Dockerfile.alone" strata build -q -
assert_eq 0 "$status" "a Dockerfile alone on stdin: $err"
ok strata run --rm "$out" cat /n
assert_eq "no context" "$out"

note "RUN --mount: a cache directory outlives builds, tmpfs and context binds leave no trace"
cat >"$ctx/Dockerfile.mounts" <<'DF'
FROM base:1
RUN --mount=type=cache,target=/var/cache/app echo run >> /var/cache/app/log && wc -l < /var/cache/app/log > /runs
RUN --mount=type=tmpfs,target=/scratch echo x > /scratch/file
RUN --mount=type=bind,source=src,target=/ctx cp /ctx/b.txt /b-from-bind
DF
ok strata build --no-cache -q -f "$ctx/Dockerfile.mounts" -t mounts:1 "$ctx"
ok strata build --no-cache -q -f "$ctx/Dockerfile.mounts" -t mounts:2 "$ctx"
ok strata run --rm mounts:2 sh -c 'cat /runs /b-from-bind; ls -d /var/cache/app /scratch /ctx 2>&1 | wc -l'
assert_eq "2
two
3" "$(printf '%s\n' "$out" | tr -d ' ')"
ok strata run --rm mounts:2 sh -c 'ls /var/cache/app /scratch /ctx 2>/dev/null | wc -l'
assert_eq 0 "$(printf '%s' "$out" | tr -d ' ')" "mount points the image lacked are not in it"
printf 'FROM base:1\nRUN --mount=type=secret,id=token true\n' >"$ctx/Dockerfile.secret"
expect_error --names "type=secret" strata build -q -f "$ctx/Dockerfile.secret" "$ctx"

note "COPY --exclude leaves out what its patterns name"
mkdir -p "$ctx/src/sub"
echo md >"$ctx/src/keep.md"
echo deep >"$ctx/src/sub/deep.txt"
printf 'FROM base:1\nCOPY --exclude=*.txt --exclude=sub/** src /ex/\nCOPY --exclude=b.* src/b.txt src/a.txt /files/\n' >"$ctx/Dockerfile.exclude"
ok strata build -q -f "$ctx/Dockerfile.exclude" -t exclude:1 "$ctx"
ok strata run --rm exclude:1 sh -c 'cd /ex && find . | sort; ls /files'
assert_eq ".
./keep.md
./sub
a.txt" "$out"
rm -rf "$ctx/src/sub" "$ctx/src/keep.md"

# Its directory then replaces the symlink when the layers stack, as with BuildKit.
note "COPY --link writes a layer of its own: the image's symlinks take no part"
printf 'FROM base:1\nRUN ln -s /tmp /linked\nCOPY --link src/a.txt /linked/a.txt\n' >"$ctx/Dockerfile.link2"
ok strata build -q -f "$ctx/Dockerfile.link2" -t linked:1 "$ctx"
ok strata run --rm linked:1 sh -c 'test -d /linked && cat /linked/a.txt; ls /tmp/a.txt 2>/dev/null || echo not-through-the-link'
assert_eq "uno
not-through-the-link" "$out"
for flag in "COPY --parents src/a.txt /x/" "ADD --checksum=sha256:00 src/a.txt /x"; do
  printf 'FROM base:1\n%s\n' "$flag" >"$ctx/Dockerfile.flag"
  expect_error --names "Dockerfile.flag:2" strata build -q -f "$ctx/Dockerfile.flag" "$ctx"
  assert_match "$err" "(not supported yet|only be used)" "$flag: $err"
done

note "independent stages build at the same time"
# Each stage waits (up to 10 s) for a mark the other leaves in a shared cache mount: the build
# succeeds only when both run at once.
cat >"$ctx/Dockerfile.parallel" <<'DF'
FROM base:1 AS left
RUN --mount=type=cache,id=rendezvous,target=/sync touch /sync/left && \
    for i in $(seq 100); do [ -e /sync/right ] && break; sleep 0.1; done; [ -e /sync/right ] && echo met > /met
FROM base:1 AS right
RUN --mount=type=cache,id=rendezvous,target=/sync touch /sync/right && \
    for i in $(seq 100); do [ -e /sync/left ] && break; sleep 0.1; done; [ -e /sync/left ] && echo met > /met
FROM base:1
COPY --from=left /met /left
COPY --from=right /met /right
DF
ok strata build --no-cache -q -f "$ctx/Dockerfile.parallel" "$ctx"
ok strata run --rm "$out" cat /left /right
assert_eq "met
met" "$out"

note "a build deeper than 32 layers: steps above a merged base see and change what is below it"
{
  echo 'FROM base:1'
  echo 'RUN echo 0 > /f0 && mkdir /d && echo in > /d/x'
  echo 'RUN rm -r /d && mkdir /d && echo new > /d/y'
  for i in $(seq 2 39); do echo "RUN echo $i > /f$i"; done
  echo 'COPY src/a.txt /from-ctx'
  echo 'RUN echo more >> /f0 && rm /f2 && cat /f0 /f5 /from-ctx > /out && ls /d > /dls'
} >"$ctx/Dockerfile.deep"
ok strata build -q -f "$ctx/Dockerfile.deep" -t deep:1 "$ctx"
ok strata run --rm deep:1 sh -c 'cat /out /dls /f39; [ ! -e /f2 ] && echo no-f2'
assert_eq "0
more
5
$(cat "$ctx/src/a.txt")
y
39
no-f2" "$out"
assert_eq 43 "$(strata image inspect --format '{{len .RootFS.Layers}}' deep:1)" "layers of the deep build"

note "ADD of a URL (a server on 127.0.0.1), with and without --checksum"
mkdir -p "$E2E_TMP/www"
echo "served over http" >"$E2E_TMP/www/remote.txt"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$E2E_TMP/www" "$port" >/dev/null 2>&1 &
echo $! >"$E2E_TMP/http.shim-pid"  # stopped at exit by lib.sh
for _ in $(seq 1 50); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/remote.txt')" 2>/dev/null && break; sleep 0.1; done
sum=$(sha256sum "$E2E_TMP/www/remote.txt" | cut -d' ' -f1)
printf 'FROM base:1\nADD --checksum=sha256:%s http://127.0.0.1:%s/remote.txt /downloads/\n' "$sum" "$port" >"$ctx/Dockerfile.url"
ok strata build -q -f "$ctx/Dockerfile.url" -t url:1 "$ctx"
ok strata run --rm url:1 sh -c 'cat /downloads/remote.txt; stat -c %a /downloads/remote.txt'
assert_eq "served over http
600" "$out"
printf 'FROM base:1\nADD --checksum=sha256:%064d http://127.0.0.1:%s/remote.txt /x\n' 0 "$port" >"$ctx/Dockerfile.badsum"
expect_error --names "digest mismatch" strata build -q -f "$ctx/Dockerfile.badsum" "$ctx"
printf 'FROM base:1\nADD http://127.0.0.1:%s/missing.txt /x\n' "$port" >"$ctx/Dockerfile.404"
expect_error --names "missing.txt" strata build -q -f "$ctx/Dockerfile.404" "$ctx"

note "a failing RUN: exit status 1, the line and the exit code named"
printf 'FROM base:1\n\nRUN echo before && exit 3\n' >"$ctx/Dockerfile.fail"
run strata build -f "$ctx/Dockerfile.fail" "$ctx"
assert_eq 1 "$status"
assert_contains "$err" 'Error: Dockerfile.fail:3: process "/bin/sh -c echo before && exit 3" did not complete successfully: exit code: 3'
assert_contains "$err" "before"

note "bad input: status 125, one line (with -q: no progress), the store unchanged"
printf 'FROM base:1\nRUNN echo\n' >"$ctx/Dockerfile.bad"
expect_error --names "Dockerfile.bad:2: unknown instruction: RUNN (did you mean RUN?)" strata build -q -f "$ctx/Dockerfile.bad" "$ctx"
printf 'FROM base:1\nCOPY ../outside /x\n' >"$ctx/Dockerfile.escape"
expect_error --names "outside the build context" strata build -q -f "$ctx/Dockerfile.escape" "$ctx"
ln -s /etc/passwd "$ctx/link-out"
printf 'FROM base:1\nCOPY link-out /x\n' >"$ctx/Dockerfile.link"
expect_error --names "link-out" strata build -q -f "$ctx/Dockerfile.link" "$ctx"
printf 'FROM nothere:1\n' >"$ctx/Dockerfile.nobase"
expect_error --names "nothere:1" strata build -q -f "$ctx/Dockerfile.nobase" "$ctx"
expect_error --names "target stage" strata build -q --target nope "$ctx"
expect_error --names "nonexistent" strata build -q "$E2E_TMP/nonexistent"
expect_error --names "--network" strata build -q --network bridge2 "$ctx"

note "builder prune drops the cache: the next build runs every step again"
ok strata builder prune -f
assert_match "$out" "^Total:"
ok strata build -t app:6 "$ctx"
assert_not_contains "$err" "CACHED"
