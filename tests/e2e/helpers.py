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
        # scratch space and lock files may legitimately change on any command
        dirnames[:] = sorted(d for d in dirnames if d != "tmp")
        rel = os.path.relpath(dirpath, root)
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            r = os.path.normpath(os.path.join(rel, name))
            if "lock" in name:
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
    else:
        sys.exit("helpers.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
