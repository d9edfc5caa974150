#!/usr/bin/env python3
"""Helpers for strata's end-to-end tests (called from lib.sh and the test_*.sh scripts).

Subcommands (all write to stdout unless OUT is given):
  snapshot ROOT                 manifest of a store: one line per entry (type, mode, sha256/target)
  layer OUT SPEC_JSON|@FILE     write a layer tar from a JSON list of entries
                                {"name", "type": file|dir|sym|hard, "data", "link", "mode"}
  docker-archive OUT [opts] LAYER_TAR...
                                legacy `docker save` archive (manifest.json, <id>.json, <dir>/layer.tar)
  truncate-member TAR MEMBER OUT  OUT = TAR cut off 10 bytes into MEMBER's data
  docker25 IN OUT               rewrite docker-archive IN the way Docker >= 25 saves (OCI layout +
                                manifest.json pointing into blobs/)
  docker-size TAR               Docker's image Size for a one-layer image made from TAR: the sum of
                                lstat sizes of every non-directory entry (regular files and symlink
                                targets), hardlinks counted once -- what Docker's overlay2 reports
  human-size BYTES [PRECISION]  go-units HumanSizeWithPrecision (decimal units B kB MB GB ...)
  human-duration RFC3339        go-units HumanDuration(now - t), e.g. "2 years"
  sha256-uncompressed FILE      sha256 of FILE after gunzip (or of FILE itself if not gzip)
  table-cells COL...            read a table on stdin, print each row's cells tab-separated
  check-table COL...            read a table on stdin and check Docker's tabwriter layout
                                (minwidth 10, padding 3) with the given header columns
  json-get EXPR                 read JSON on stdin and print the value at EXPR (python indexing
                                expression applied to the parsed value `v`), as JSON unless a str
                                (so booleans print as true/false)
  pty-session [opts] STEPS_JSON -- CMD...
                                run CMD on a fresh pseudo-terminal (its controlling tty, window
                                size --rows/--cols, default 24x80) and drive it with steps:
                                ["expect", TEXT] wait until TEXT appears in the output (after the
                                previous match), ["send", TEXT] type TEXT, ["sleep", S],
                                ["resize", ROWS, COLS], ["expect-exit"] wait for CMD to exit.
                                Prints the transcript (CR removed), exits with CMD's status (128+N
                                when killed by signal N); on a timeout (--timeout S per step,
                                default 20) kills CMD and exits 124. --transcript FILE also
                                writes the transcript there as it comes.
  kill-leftovers TMP SHELL_PID   SIGTERM, then SIGKILL, every process left from a test whose temp dir is TMP: the
                                pids in TMP/bg-pids, and processes whose environment has
                                STRATA_ROOT under TMP, whose command line names TMP, or whose root
                                file system (the "/" mount of their own mount namespace) is under
                                TMP (container processes); never SHELL_PID or its ancestors, nor
                                docker-shim.sh's daemons (TMP/*.shim-pid: lib.sh stops them)
  cgroup-dirs PID               the host directories of PID's cgroups (one per hierarchy it is in,
                                v1 and v2), from /proc/PID/cgroup and the host's cgroup mounts
  diff-lines FILE_A FILE_B      compare two `diff` outputs as Docker orders them: same set of
                                lines, and in each every parent directory comes before its children
"""
import gzip
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import time
from datetime import datetime, timezone


def snapshot(root):
    if not os.path.isdir(root):
        print("<no store>")
        return
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        # scratch space, lock files and the build context's stat cache (a cache of file digests,
        # not content) may legitimately change on any command
        dirnames[:] = sorted(d for d in dirnames if d != "tmp")
        rel = os.path.relpath(dirpath, root)
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            r = os.path.normpath(os.path.join(rel, name))
            if "lock" in name or r.startswith("locks/") or r == "builder/statcache":
                continue
            st = os.lstat(p)
            mode = "%o" % stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out.append("l %s %s -> %s" % (mode, r, os.readlink(p)))
            elif stat.S_ISDIR(st.st_mode):
                if name in dirnames:
                    out.append("d %s %s" % (mode, r))
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                out.append("f %s %s %d %s" % (mode, r, st.st_size, h.hexdigest()))
            else:
                out.append("o %s %s %o" % (mode, r, st.st_mode))
    out.sort()
    print("\n".join(out))


def make_layer_bytes(entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.mtime = e.get("mtime", 1700000000)
            ti.uid = ti.gid = 0
            typ = e.get("type", "file")
            if typ == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = e.get("mode", 0o755)
                t.addfile(ti)
            elif typ == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e["link"]
                ti.mode = 0o777
                t.addfile(ti)
            elif typ == "hard":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e["link"]
                ti.mode = e.get("mode", 0o644)
                t.addfile(ti)
            else:
                data = e.get("data", "")
                data = data.encode() if isinstance(data, str) else data
                ti.size = len(data)
                ti.mode = e.get("mode", 0o644)
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def cmd_layer(out, spec):
    if spec.startswith("@"):
        with open(spec[1:]) as f:
            spec = f.read()
    data = make_layer_bytes(json.loads(spec))
    with open(out, "wb") as f:
        f.write(data)


def cmd_docker_archive(argv):
    """docker-archive OUT [--tag REF]... [--config-json JSON] [--history-json JSON]
       [--corrupt N] [--omit N] [--gzip] LAYER_TAR...
       --gzip stores the layer.tar files gzip-compressed (docker load accepts that)"""
    out = argv[0]
    tags, layers = [], []
    extra, history = {}, None
    corrupt, omit, gz = None, None, False
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--tag":
            tags.append(argv[i + 1]); i += 2
        elif a == "--config-json":
            extra = json.loads(argv[i + 1]); i += 2
        elif a == "--history-json":
            history = json.loads(argv[i + 1]); i += 2
        elif a == "--corrupt":
            corrupt = int(argv[i + 1]); i += 2
        elif a == "--omit":
            omit = int(argv[i + 1]); i += 2
        elif a == "--gzip":
            gz = True; i += 1
        else:
            layers.append(a); i += 1
    blobs = []
    for p in layers:
        with open(p, "rb") as f:
            blobs.append(f.read())
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    cfg = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2024-01-02T03:04:05Z",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history if history is not None else [
            {"created": "2024-01-02T03:04:05Z", "created_by": "layer %d" % n} for n in range(len(blobs))],
    }
    cfg.update(extra)
    cfg_bytes = json.dumps(cfg, separators=(",", ":")).encode()
    cfg_id = hashlib.sha256(cfg_bytes).hexdigest()
    if corrupt is not None:
        # flip bytes inside the first regular file's data, keeping the tar well-formed
        b = bytearray(blobs[corrupt])
        t = tarfile.open(fileobj=io.BytesIO(bytes(b)))
        m = next(m for m in t.getmembers() if m.isfile() and m.size > 0)
        off = m.offset_data
        b[off] = (b[off] + 1) % 256
        blobs[corrupt] = bytes(b)
    if gz:
        blobs = [gzip.compress(b, mtime=0) for b in blobs]
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
        add(cfg_id + ".json", cfg_bytes)
        paths = []
        for n, b in enumerate(blobs):
            d = hashlib.sha256(("%s-%d" % (cfg_id, n)).encode()).hexdigest()
            paths.append(d + "/layer.tar")
            if n != omit:
                add(d + "/layer.tar", b)
        add("manifest.json", json.dumps([{"Config": cfg_id + ".json", "RepoTags": tags or None,
                                         "Layers": paths}]).encode())
    print("sha256:" + cfg_id)


def truncate_member(src, member, out, keep=10):
    """copy SRC up to KEEP bytes into MEMBER's data (an archive cut off inside that member)"""
    with tarfile.open(src) as t:
        m = t.getmember(member)
        off = m.offset_data + min(keep, max(m.size - 1, 0))
    with open(src, "rb") as f, open(out, "wb") as o:
        o.write(f.read(off))


def docker25(src, out):
    """rewrite a legacy docker-archive as Docker Engine >= 25 writes `docker save`: an OCI image
    layout (oci-layout, index.json with io.containerd.image.name + a tag-only ref.name,
    blobs/sha256/*) plus a manifest.json whose Config/Layers point into blobs/"""
    t = tarfile.open(src)
    blobs = {}
    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        blobs[d] = data
        return "sha256:" + d, len(data)
    entries, manifests = [], []
    for e in json.load(t.extractfile("manifest.json")):
        cd, cs = blob(t.extractfile(e["Config"]).read())
        layers = []
        for l in e["Layers"]:
            ld, ls = blob(t.extractfile(l).read())
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls})
        m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
             "layers": layers}
        md, ms = blob(json.dumps(m, separators=(",", ":")).encode())
        for tag in e.get("RepoTags") or []:
            name, _, t_ = tag.rpartition(":")
            full = name if "/" in name else "docker.io/library/" + name
            manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
                              "size": ms, "annotations": {"io.containerd.image.name": full + ":" + t_,
                                                          "org.opencontainers.image.ref.name": t_}})
        entries.append({"Config": "blobs/sha256/" + cd[7:], "RepoTags": e.get("RepoTags"),
                        "Layers": ["blobs/sha256/" + l["digest"][7:] for l in layers]})
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": manifests}
    with tarfile.open(out, "w") as o:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            o.addfile(ti, io.BytesIO(data))
        for d in ("blobs", "blobs/sha256"):
            ti = tarfile.TarInfo(d)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            o.addfile(ti)
        for d, data in sorted(blobs.items()):
            add("blobs/sha256/" + d, data)
        add("index.json", json.dumps(index, separators=(",", ":")).encode())
        add("manifest.json", json.dumps(entries, separators=(",", ":")).encode())
        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')


def docker_size(path):
    total = 0
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if m.isfile():
                total += m.size
            elif m.issym():
                total += len(m.linkname.encode())
    print(total)


def human_size(n, precision=3):
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    size = float(n)
    i = 0
    while size >= 1000.0 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return "%.*g%s" % (precision, size, units[i])


def human_duration(ts):
    t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    d = time.time() - t.timestamp()
    seconds = int(d)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return "%d seconds" % seconds
    minutes = int(d / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return "%d minutes" % minutes
    hours = int(d / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return "%d hours" % hours
    if hours < 24 * 7 * 2:
        return "%d days" % (hours // 24)
    if hours < 24 * 30 * 2:
        return "%d weeks" % (hours // 24 // 7)
    if hours < 24 * 365 * 2:
        return "%d months" % (hours // 24 // 30)
    return "%d years" % (int(d / 3600) // 24 // 365)


def sha256_uncompressed(path):
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    h = hashlib.sha256()
    with opener(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    print("sha256:" + h.hexdigest())


def check_table(cols):
    """Docker prints tables through Go's text/tabwriter (minwidth 10, tabwidth 1, padding 3,
    pad with spaces): every column but the last is max(10, widest cell + 3) runes wide."""
    lines = [l.rstrip("\n") for l in sys.stdin.read().splitlines()]
    if not lines:
        sys.exit("check-table: no output")
    header = lines[0]
    pos, start = [], 0
    for c in cols:
        p = header.find(c, start)
        if p < 0:
            sys.exit("check-table: header %r lacks column %r" % (header, c))
        pos.append(p)
        start = p + len(c)
    if pos[0] != 0:
        sys.exit("check-table: header %r does not start with %r" % (header, cols[0]))
    if header.rstrip() != header[:pos[-1]] + cols[-1]:
        sys.exit("check-table: header %r has unexpected text after %r" % (header, cols[-1]))
    for i in range(len(cols) - 1):
        cells = []
        for l in lines:
            cell = l[pos[i]:pos[i + 1]]
            if len(cell) < pos[i + 1] - pos[i] and i + 1 < len(cols):
                # only the last columns may be short (trailing blanks trimmed)
                cell = cell.ljust(pos[i + 1] - pos[i])
            if not cell.endswith("   ") and cell.strip():
                sys.exit("check-table: column %r is not padded by 3 spaces in line %r" % (cols[i], l))
            if cell[:1] == " " and cell.strip():
                sys.exit("check-table: cell of column %r is misaligned in line %r" % (cols[i], l))
            cells.append(cell.rstrip())
        want = max(10, max(len(c) for c in cells) + 3)
        got = pos[i + 1] - pos[i]
        if want != got:
            sys.exit("check-table: column %r is %d wide, tabwriter would make it %d (cells %r)"
                     % (cols[i], got, want, cells))
    for l in lines[1:]:
        last = l[pos[-1]:]
        if last[:1] == " ":
            sys.exit("check-table: last column misaligned in line %r" % l)


def header_positions(header, cols):
    pos, start = [], 0
    for c in cols:
        p = header.find(c, start)
        if p < 0:
            sys.exit("table: header %r lacks column %r" % (header, c))
        pos.append(p)
        start = p + len(c)
    return pos


def table_cells(cols):
    lines = sys.stdin.read().splitlines()
    if not lines:
        sys.exit("table-cells: no output")
    pos = header_positions(lines[0], cols) + [None]
    for l in lines[1:]:
        print("\t".join(l[pos[i]:pos[i + 1]].strip() for i in range(len(cols))))


def json_get(expr):
    v = json.load(sys.stdin)
    r = eval(expr, {"v": v})
    print(r if isinstance(r, str) else json.dumps(r))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "snapshot":
        snapshot(args[0])
    elif cmd == "layer":
        cmd_layer(args[0], args[1])
    elif cmd == "docker-archive":
        cmd_docker_archive(args)
    elif cmd == "truncate-member":
        truncate_member(args[0], args[1], args[2])
    elif cmd == "docker25":
        docker25(args[0], args[1])
    elif cmd == "docker-size":
        docker_size(args[0])
    elif cmd == "human-size":
        print(human_size(int(args[0]), int(args[1]) if len(args) > 1 else 3))
    elif cmd == "human-duration":
        print(human_duration(args[0]))
    elif cmd == "sha256-uncompressed":
        sha256_uncompressed(args[0])
    elif cmd == "check-table":
        check_table(args)
    elif cmd == "table-cells":
        table_cells(args)
    elif cmd == "json-get":
        json_get(args[0])
    elif cmd == "pty-session":
        pty_session(args)
    elif cmd == "diff-lines":
        diff_lines(args[0], args[1])
    elif cmd == "cgroup-dirs":
        cgroup_dirs(int(args[0]))
    elif cmd == "kill-leftovers":
        kill_leftovers(args[0], int(args[1]))
    else:
        sys.exit("helpers.py: unknown command " + cmd)


# ---------------------------------------------------------------------------------------------
# containers (issue 3)

def pty_session(argv):
    import fcntl
    import select
    import signal
    import struct
    import termios
    timeout, rows, cols, transcript_path = 20.0, 24, 80, None
    while argv and argv[0].startswith("--") and argv[0] != "--":
        if argv[0] == "--timeout":
            timeout = float(argv[1]); argv = argv[2:]
        elif argv[0] == "--rows":
            rows = int(argv[1]); argv = argv[2:]
        elif argv[0] == "--cols":
            cols = int(argv[1]); argv = argv[2:]
        elif argv[0] == "--transcript":
            transcript_path = argv[1]; argv = argv[2:]
        else:
            sys.exit("pty-session: unknown option " + argv[0])
    steps = json.loads(argv[0])
    if argv[1] != "--":
        sys.exit("pty-session: expected -- before the command")
    cmd = argv[2:]
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            os.close(master)
            if slave > 2:
                os.close(slave)
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, ("pty-session: %s: %s\n" % (cmd[0], e)).encode())
        os._exit(127)
    os.close(slave)
    out = bytearray()
    tfile = open(transcript_path, "wb") if transcript_path else None
    status = [None]

    def reap(block):
        if status[0] is None:
            p, st = os.waitpid(pid, 0 if block else os.WNOHANG)
            if p == pid:
                status[0] = os.waitstatus_to_exitcode(st)
        return status[0]

    def pump(deadline):
        """read what is available until deadline; False once the pty is closed"""
        wait = max(0.0, deadline - time.monotonic())
        r, _, _ = select.select([master], [], [], min(wait, 0.1))
        if master in r:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every slave fd is closed
                data = b""
            if not data:
                return False
            out.extend(data)
            if tfile:
                tfile.write(data); tfile.flush()
        return True

    def finish(code, why=None):
        text = out.decode("utf-8", "replace").replace("\r", "")
        sys.stdout.write(text)
        if text and not text.endswith("\n"):
            sys.stdout.write("\n")
        sys.stdout.flush()
        if why:
            sys.stderr.write("pty-session: %s\n" % why)
        sys.exit(code)

    def give_up(why):
        if reap(False) is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            reap(True)
        finish(124, why)

    mark = 0
    open_ = True
    for step in steps + [["expect-exit"]]:
        kind = step[0]
        deadline = time.monotonic() + timeout
        if kind == "expect":
            needle = step[1].encode()
            while True:
                i = out.find(needle, mark)
                if i >= 0:
                    mark = i + len(needle)
                    break
                if time.monotonic() > deadline:
                    give_up("timed out waiting for %r" % step[1])
                if open_:
                    open_ = pump(deadline)
                else:
                    if reap(False) is not None:
                        finish(125, "%r never appeared; the command exited with %s" % (step[1], status[0]))
                    time.sleep(0.05)
        elif kind == "send":
            os.write(master, step[1].encode())
        elif kind == "sleep":
            end = time.monotonic() + float(step[1])
            while time.monotonic() < end:
                if open_:
                    open_ = pump(end)
                else:
                    time.sleep(0.05)
        elif kind == "resize":
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", int(step[1]), int(step[2]), 0, 0))
        elif kind == "expect-exit":
            while reap(False) is None:
                if time.monotonic() > deadline:
                    give_up("timed out waiting for the command to exit")
                if open_:
                    open_ = pump(deadline)
                else:
                    time.sleep(0.05)
            # drain what is left
            end = time.monotonic() + 0.5
            while open_ and time.monotonic() < end:
                open_ = pump(end)
            break
        else:
            sys.exit("pty-session: unknown step " + kind)
    code = status[0]
    finish(code if code >= 0 else 128 - code)


def diff_lines(a, b):
    """Docker's `diff` lists changes in an order that varies between runs (top-level subtrees
    come out in Go map order), but always a parent directory before what is inside it."""
    def load(p):
        with open(p) as f:
            return [l.rstrip("\n") for l in f if l.strip()]
    la, lb = load(a), load(b)
    bad = []
    for name, ls in ((a, la), (b, lb)):
        seen = {}
        for n, l in enumerate(ls):
            path = l[2:]
            seen[path] = n
            parent = os.path.dirname(path)
            while parent not in ("/", ""):
                if parent in [x[2:] for x in ls] and seen.get(parent) is None:
                    bad.append("%s: %r comes before its parent %r" % (name, l, parent))
                parent = os.path.dirname(parent)
        if len(set(ls)) != len(ls):
            bad.append("%s: duplicate lines" % name)
    if sorted(la) != sorted(lb):
        bad.append("different changes:\n  only in %s: %r\n  only in %s: %r" % (
            a, sorted(set(la) - set(lb)), b, sorted(set(lb) - set(la))))
    if bad:
        sys.exit("\n".join(bad))


def _proc_read(pid, name):
    try:
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            return f.read()
    except OSError:
        return b""


def _root_mount_under(pid, tmp_b):
    """True when PID's root file system is one of the test's: its "/" mount (the last one, in
    its own mount namespace) is an overlay whose options name TMP, or a mount of a directory
    under TMP. Mounts that merely propagated into other namespaces do not count."""
    root_line = None
    for l in _proc_read(pid, "mountinfo").splitlines():
        f = l.split(b" ")
        if len(f) > 5 and f[4] == b"/":
            root_line = l
    if root_line is None:
        return False
    pre, _, post = root_line.partition(b" - ")
    return tmp_b in post or pre.split(b" ")[3].startswith(tmp_b)


def kill_leftovers(tmp, shell_pid):
    import signal
    tmp_b = tmp.encode()
    exclude = {os.getpid(), shell_pid}
    p = os.getpid()
    while p > 1:  # our ancestors
        exclude.add(p)
        stat_ = _proc_read(p, "stat")
        if not stat_:
            break
        p = int(stat_.rsplit(b")", 1)[1].split()[1])
    # daemons started by tests/e2e/docker-shim.sh (recorded as TMP/*.shim-pid) and everything
    # below them are stopped by lib.sh's own cleanup, which lets them unmount what they mounted
    import glob
    shim = set()
    for pf in glob.glob(os.path.join(tmp, "*.shim-pid")):
        try:
            shim.add(int(open(pf).read().strip()))
        except (OSError, ValueError):
            pass
    if shim:
        children = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                st = _proc_read(int(d), "stat")
                if st:
                    children.setdefault(int(st.rsplit(b")", 1)[1].split()[1]), []).append(int(d))
        todo = list(shim)
        while todo:
            p = todo.pop()
            exclude.add(p)
            todo.extend(c for c in children.get(p, []) if c not in exclude)
    try:
        my_mnt = os.readlink("/proc/self/ns/mnt")
    except OSError:
        my_mnt = None

    def ppid_of(pid):
        st = _proc_read(pid, "stat")
        return int(st.rsplit(b")", 1)[1].split()[1]) if st else None

    def why(pid, bg):
        """why PID is a leftover of this test, or None"""
        if pid in exclude:
            return None
        if pid in bg and ppid_of(pid) == shell_pid:  # never a recycled pid
            return "background process"
        env = _proc_read(pid, "environ").split(b"\0")
        if any(e.startswith(b"STRATA_ROOT=" + tmp_b) for e in env) or tmp_b in _proc_read(pid, "cmdline"):
            return "store process"
        try:
            mnt = os.readlink("/proc/%d/ns/mnt" % pid)
        except OSError:
            return None
        if mnt != my_mnt and _root_mount_under(pid, tmp_b):
            return "container process"
        return None

    for _ in range(3):
        bg = set()
        try:
            with open(os.path.join(tmp, "bg-pids")) as f:
                bg = {int(l) for l in f if l.strip().isdigit()}
        except OSError:
            pass
        victims = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                w = why(int(d), bg)
                if w:
                    victims[int(d)] = w
        if not victims:
            return
        # TERM first (daemons such as the docker shim's then unmount what they mounted), KILL
        # what is left after 3 seconds, checking again that each pid is still one of ours
        for pid, w in sorted(victims.items()):
            cmd = _proc_read(pid, "cmdline").replace(b"\0", b" ").decode("utf-8", "replace").strip()
            try:
                os.kill(pid, signal.SIGTERM)
                if w != "background process":
                    print("cleanup: stopped leftover %s %d: %s" % (w, pid, cmd[:120]))
            except ProcessLookupError:
                pass
        end = time.time() + 3
        while time.time() < end and any(
                _proc_read(p, "stat") and not _proc_read(p, "stat").rsplit(b")", 1)[1].startswith(b" Z")
                for p in victims):
            time.sleep(0.1)
        for pid in victims:
            if why(pid, bg):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(0.2)

def cgroup_dirs(pid):
    mounts = {}  # controller key -> mount point
    with open("/proc/self/mountinfo") as f:
        for l in f:
            pre, post = l.split(" - ", 1)
            fields = pre.split()
            fstype, _, opts = post.split()[:3]
            mp = fields[4]
            if fstype == "cgroup2":
                mounts.setdefault("", mp)
            elif fstype == "cgroup":
                ctrls = [o for o in opts.split(",") if o not in ("rw", "ro") and "=" not in o
                         and o in open("/proc/cgroups").read().split()] + \
                        [o for o in opts.split(",") if o.startswith("name=")]
                mounts.setdefault(",".join(sorted(ctrls)), mp)
    with open("/proc/%d/cgroup" % pid) as f:
        for l in f:
            _, ctrls, path = l.rstrip("\n").split(":", 2)
            key = ",".join(sorted(ctrls.split(","))) if ctrls else ""
            mp = mounts.get(key)
            if mp:
                print(os.path.normpath(mp + path))


if __name__ == "__main__":
    main()
