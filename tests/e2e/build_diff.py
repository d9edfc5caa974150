#!/usr/bin/env python3
"""Differential checks for `strata build`: is the image strata built the one Docker built?

Reads image archives as `docker save` writes them (legacy docker-archive: manifest.json,
<id>.json, <dir>/layer.tar; or the Docker >= 25 form whose manifest.json points into blobs/)
and as `strata save --format oci-archive` or `skopeo copy ... oci-archive:` write them (OCI image
layout: index.json, blobs/<alg>/<hex>, layers plain, gzip or zstd). Python standard library only
(zstd layers go through the `zstd` command when there is one).

  build_diff.py flatten ARCHIVE      the image's file system after applying every layer in order
                                     (OCI whiteouts: `.wh.NAME` deletes NAME and what is below
                                     it, `.wh..wh..opq` hides everything the lower layers had in
                                     its directory), one sorted line per path
  build_diff.py config ARCHIVE       the image config, normalized, one line per field, then the
                                     history and the layer count
  build_diff.py compare [--labels A,B] [--oci-fields] [--layers] [--ignore FIELD]...
                        ARCHIVE_A ARCHIVE_B
                                     both of the above for each archive; prints a unified diff
                                     and exits 1 when they differ, 0 when they are the same.
                                     --oci-fields: only the config fields an OCI image config has
                                     (an OCI conversion, e.g. skopeo's, drops Docker's Healthcheck,
                                     OnBuild and Shell); --layers: also every layer's entries, as
                                     `layers` prints them but sorted by path (stricter than the
                                     flattened tree: which layer holds what, parent directories and
                                     whiteouts included); --ignore
                                     FIELD: leave out a top-level field (docker_version) or a
                                     config one (config.Hostname)
  build_diff.py layers ARCHIVE       (diagnostics, not compared) each layer's entries in archive
                                     order, whiteouts as they are, with the history entry that
                                     made the layer
  build_diff.py mutate IN OUT        (harness self-test) writes OUT, a docker-archive equal to
                                     docker-archive IN but for three deliberate differences: one
                                     more Env entry, the mode of one file in the last layer, and
                                     one more history entry

Exit status 2 on unreadable input or wrong arguments.

Tree lines (flatten): `PATH TYPE MODE UID:GID ...` where TYPE is file, dir, symlink, char,
block, fifo; MODE is the four-digit octal permission word (setuid, setgid and sticky bits
included); files add `size=N sha256=HEX`, symlinks `-> TARGET`, devices `dev=MAJOR,MINOR`,
anything with extended attributes `xattr:NAME=HEX`. Paths that share an inode (tar hard links)
add `nlink=N`, and every one but the first in sorted order adds `hardlink-of=FIRST`.
Directories a layer needed but did not contain (a tar with `a/b` but no `a/`) are marked
`implicit`. Modification times are not shown: they are the one thing two builds never share.

Config lines: the top-level fields (architecture, os, author, ...), except `created`, `history`,
`rootfs` and `config`; then every field of `config` (Env, Cmd, Entrypoint, WorkingDir, User,
ExposedPorts, Labels, Volumes, Shell, StopSignal, Healthcheck, OnBuild, ArgsEscaped and anything
else that is set), as compact JSON with sorted keys. A field that is absent, null, empty ("", [],
{}) or false counts as unset and is not printed, so `"Entrypoint": null` and no Entrypoint key
are the same image. Then one line per history entry with every key but `created`
(created_by, empty_layer, comment, author), the number of layers, and two consistency checks:
the non-empty history entries match the layer count, and every layer's content hashes to its
rootfs.diff_ids entry.
"""
import difflib
import gzip
import hashlib
import io
import json
import posixpath
import shutil
import subprocess
import sys
import tarfile
import tempfile


class Bad(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# reading archives

class Image:
    """one image of an archive: its config (parsed and raw) and a way to open each layer"""

    def __init__(self, path):
        self.path = path
        try:
            self.tar = tarfile.open(path)
        except (OSError, tarfile.TarError) as e:
            raise Bad("%s: not a tar archive: %s" % (path, str(e).splitlines()[0].rstrip(":")))
        self.members = {}
        for m in self.tar.getmembers():
            self.members[posixpath.normpath(m.name.lstrip("/"))] = m
        if "manifest.json" in self.members:
            self.kind = "docker-archive"
            man = json.loads(self._read("manifest.json"))
            if not man:
                raise Bad("%s: empty manifest.json" % path)
            if len(man) > 1:
                print("build_diff: %s holds %d images, reading the first" % (path, len(man)), file=sys.stderr)
            self.config_raw = self._read(man[0]["Config"])
            self.layer_names = list(man[0]["Layers"])
        elif "index.json" in self.members:
            self.kind = "oci-archive"
            desc = self._first_manifest(json.loads(self._read("index.json")))
            man = json.loads(self._read(self._blob(desc["digest"])))
            self.config_raw = self._read(self._blob(man["config"]["digest"]))
            self.layer_names = [self._blob(l["digest"]) for l in man.get("layers") or []]
        else:
            raise Bad("%s: neither manifest.json nor index.json: not an image archive" % path)
        try:
            self.config = json.loads(self.config_raw)
        except ValueError as e:
            raise Bad("%s: image config is not JSON: %s" % (path, e))

    def _read(self, name):
        m = self.members.get(posixpath.normpath(name.lstrip("/")))
        if m is None or not m.isfile():
            raise Bad("%s: missing %s" % (self.path, name))
        return self.tar.extractfile(m).read()

    def _blob(self, digest):
        alg, _, hexd = digest.partition(":")
        return "blobs/%s/%s" % (alg, hexd)

    def _first_manifest(self, index):
        ms = index.get("manifests") or []
        if not ms:
            raise Bad("%s: index.json lists no manifests" % self.path)
        if len({m["digest"] for m in ms}) > 1:
            print("build_diff: %s holds %d manifests, reading the first" % (self.path, len(ms)), file=sys.stderr)
        d = ms[0]
        if d.get("mediaType") in ("application/vnd.oci.image.index.v1+json",
                                  "application/vnd.docker.distribution.manifest.list.v2+json"):
            sub = json.loads(self._read(self._blob(d["digest"])))
            for m in sub.get("manifests") or []:
                p = m.get("platform") or {}
                if p.get("os", "linux") == "linux" and p.get("architecture", "amd64") == "amd64":
                    return m
            return self._first_manifest(sub)
        return d

    def layers(self):
        """yields (index, diff_id of the content, open tarfile) for each layer, in order"""
        for n, name in enumerate(self.layer_names):
            m = self.members.get(posixpath.normpath(name.lstrip("/")))
            if m is None:
                raise Bad("%s: layer %d (%s) is missing" % (self.path, n, name))
            src = self.tar.extractfile(m)
            tmp = tempfile.TemporaryFile()
            head = src.read(4)
            src.seek(0)
            if head[:2] == b"\x1f\x8b":
                stream = gzip.GzipFile(fileobj=src)
            elif head == b"\x28\xb5\x2f\xfd":
                if not shutil.which("zstd"):
                    raise Bad("%s: layer %d is zstd-compressed and there is no zstd command" % (self.path, n))
                p = subprocess.run(["zstd", "-dc"], input=src.read(), stdout=subprocess.PIPE, check=True)
                stream = io.BytesIO(p.stdout)
            else:
                stream = src
            h = hashlib.sha256()
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                h.update(chunk)
                tmp.write(chunk)
            tmp.seek(0)
            try:
                t = tarfile.open(fileobj=tmp, mode="r:")
            except tarfile.TarError as e:
                raise Bad("%s: layer %d is not a tar: %s" % (self.path, n, e))
            yield n, "sha256:" + h.hexdigest(), t
            t.close()
            tmp.close()


# ---------------------------------------------------------------------------------------------
# flatten

def clean(name):
    """a tar member name as an absolute, normalized path ("/" for the root)"""
    return "/" + posixpath.normpath("/" + name).lstrip("/")


TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file",
         tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char",
         tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo", tarfile.LNKTYPE: "hardlink"}


class Tree:
    def __init__(self):
        self.paths = {}   # path -> inode number
        self.inodes = {}  # inode number -> attributes
        self.next = 0
        self.notes = []   # oddities found while applying (printed with the tree)

    def _new(self, attrs):
        self.next += 1
        self.inodes[self.next] = attrs
        return self.next

    def remove(self, path, keep_self=False):
        """path and everything below it (or only what is below it)"""
        prefix = "/" if path == "/" else path + "/"
        for p in [p for p in self.paths if p.startswith(prefix) or (p == path and not keep_self)]:
            del self.paths[p]

    def ensure_parents(self, path):
        parent = posixpath.dirname(path)
        if parent == path:
            return
        chain = []
        while parent not in self.paths and parent != "/":
            chain.append(parent)
            parent = posixpath.dirname(parent)
        if parent in self.paths and self.inodes[self.paths[parent]]["type"] != "dir":
            self.notes.append("%s: parent %s is a %s, replaced by a directory" % (
                path, parent, self.inodes[self.paths[parent]]["type"]))
            self.remove(parent)
            chain.append(parent)
        for p in reversed(chain):
            self.paths[p] = self._new({"type": "dir", "mode": 0o755, "uid": 0, "gid": 0, "implicit": True})

    def apply(self, layer_no, t):
        members = t.getmembers()
        # whiteouts first: they act on the lower layers only
        for m in members:
            path = clean(m.name)
            base = posixpath.basename(path)
            if not base.startswith(".wh."):
                continue
            d = posixpath.dirname(path)
            if base == ".wh..wh..opq":
                if d in self.paths or d == "/":
                    self.remove(d, keep_self=True)
                else:
                    self.notes.append("layer %d: opaque marker in %s, which does not exist" % (layer_no, d))
            elif base.startswith(".wh..wh."):
                self.notes.append("layer %d: aufs metadata %s ignored" % (layer_no, path))
            else:
                victim = posixpath.join(d, base[4:])
                if victim in self.paths:
                    self.remove(victim)
                else:
                    self.notes.append("layer %d: whiteout for %s, which does not exist" % (layer_no, victim))
        for m in members:
            path = clean(m.name)
            if posixpath.basename(path).startswith(".wh."):
                continue
            typ = TYPES.get(m.type)
            if typ is None:
                self.notes.append("layer %d: %s has unknown tar type %r" % (layer_no, path, m.type))
                continue
            if path != "/":
                self.ensure_parents(path)
            if typ == "hardlink":
                target = clean(m.linkname)
                ino = self.paths.get(target)
                if ino is None:
                    self.notes.append("layer %d: hard link %s -> %s, which does not exist" % (layer_no, path, target))
                    continue
                if self.inodes[ino]["type"] == "dir":
                    self.notes.append("layer %d: hard link %s -> directory %s" % (layer_no, path, target))
                    continue
                if path in self.paths and self.inodes[self.paths[path]]["type"] == "dir":
                    self.remove(path)
                self.paths[path] = ino
                continue
            attrs = {"type": typ, "mode": m.mode & 0o7777, "uid": m.uid, "gid": m.gid}
            xattrs = {k[len("SCHILY.xattr."):]: v for k, v in m.pax_headers.items()
                      if k.startswith("SCHILY.xattr.")}
            if xattrs:
                attrs["xattrs"] = xattrs
            if typ == "file":
                h = hashlib.sha256()
                f = t.extractfile(m)
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
                attrs["size"] = m.size
                attrs["sha256"] = h.hexdigest()
            elif typ == "symlink":
                attrs["link"] = m.linkname
            elif typ in ("char", "block"):
                attrs["dev"] = (m.devmajor, m.devminor)
            old = self.paths.get(path)
            if old is not None:
                if typ == "dir" and self.inodes[old]["type"] == "dir":
                    self.inodes[old] = attrs  # a directory over a directory keeps what is inside
                    continue
                self.remove(path)
            self.paths[path] = self._new(attrs)

    def lines(self):
        groups = {}
        for p, ino in self.paths.items():
            groups.setdefault(ino, []).append(p)
        out = []
        for p in sorted(self.paths):
            a = self.inodes[self.paths[p]]
            f = [p, a["type"], "%04o" % a["mode"], "%d:%d" % (a["uid"], a["gid"])]
            if a["type"] == "file":
                f += ["size=%d" % a["size"], "sha256=" + a["sha256"]]
            elif a["type"] == "symlink":
                f += ["->", a["link"]]
            elif a["type"] in ("char", "block"):
                f.append("dev=%d,%d" % a["dev"])
            for k, v in sorted(a.get("xattrs", {}).items()):
                f.append("xattr:%s=%s" % (k, v.encode("utf-8", "surrogateescape").hex()))
            if a.get("implicit"):
                f.append("implicit")
            g = sorted(groups[self.paths[p]])
            if len(g) > 1:
                f.append("nlink=%d" % len(g))
                if p != g[0]:
                    f.append("hardlink-of=" + g[0])
            out.append(" ".join(f))
        out += ["# note: " + n for n in self.notes]
        return out


def flatten_lines(img):
    tree = Tree()
    diff_ids = []
    for n, diff_id, t in img.layers():
        diff_ids.append(diff_id)
        tree.apply(n, t)
    img.content_diff_ids = diff_ids
    return tree.lines()


# ---------------------------------------------------------------------------------------------
# config

def unset(v):
    return v is None or v is False or v == "" or v == [] or v == {}


def js(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# the fields of an OCI image config's "config" (image-spec config.md); Docker has more
OCI_FIELDS = {"User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir", "Labels",
              "StopSignal", "ArgsEscaped"}

CONFIG_ORDER = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels",
                "Volumes", "Shell", "StopSignal", "Healthcheck", "OnBuild", "ArgsEscaped"]


def config_lines(img, content_diff_ids=None, oci_fields=False, ignore=()):
    c = img.config
    out = []
    for k in sorted(c):
        if k in ("created", "history", "rootfs", "config") or k in ignore or unset(c[k]):
            continue
        out.append("%s: %s" % (k, js(c[k])))
    cc = c.get("config") or {}
    for k in CONFIG_ORDER + sorted(set(cc) - set(CONFIG_ORDER)):
        if (oci_fields and k not in OCI_FIELDS) or "config." + k in ignore:
            continue
        if k in cc and not unset(cc[k]):
            out.append("config.%s: %s" % (k, js(cc[k])))
    hist = c.get("history") or []
    for n, h in enumerate(hist):
        rest = {k: v for k, v in h.items() if k not in ("created", "created_by", "empty_layer") and not unset(v)}
        line = "history[%d]: %s%s" % (n, "(empty) " if h.get("empty_layer") else "", js(h.get("created_by", "")))
        if rest:
            line += " " + js(rest)
        out.append(line)
    diff_ids = (c.get("rootfs") or {}).get("diff_ids") or []
    out.append("layers: %d" % len(diff_ids))
    if len(img.layer_names) != len(diff_ids):
        out.append("MISMATCH: the manifest lists %d layers, rootfs.diff_ids %d" % (len(img.layer_names), len(diff_ids)))
    full = sum(1 for h in hist if not h.get("empty_layer"))
    if hist and full != len(diff_ids):
        out.append("MISMATCH: %d history entries are not empty_layer, but there are %d layers" % (full, len(diff_ids)))
    if content_diff_ids is not None:
        for n, (want, got) in enumerate(zip(diff_ids, content_diff_ids)):
            if want != got:
                out.append("MISMATCH: layer %d content is %s, rootfs.diff_ids says %s" % (n, got, want))
    return out


# ---------------------------------------------------------------------------------------------
# commands

def layers_lines(img, digests=True, sort=False):
    """every layer's entries in archive order (or sorted by path), with the history entry that
    made the layer"""
    made_by = [h.get("created_by", "") for h in img.config.get("history") or [] if not h.get("empty_layer")]
    out = []
    for n, diff_id, t in img.layers():
        out.append("== layer %d%s: %s" % (n, " " + diff_id if digests else "",
                                           made_by[n] if n < len(made_by) else "(no history entry)"))
        members = t.getmembers()
        if sort:
            members.sort(key=lambda m: clean(m.name))
        for m in members:
            path = clean(m.name)
            typ = TYPES.get(m.type, "type-%r" % m.type)
            f = [path, typ, "%04o" % (m.mode & 0o7777), "%d:%d" % (m.uid, m.gid)]
            base = posixpath.basename(path)
            if base == ".wh..wh..opq":
                f = [path, "opaque"]
            elif base.startswith(".wh."):
                f = [path, "whiteout"]
            elif typ == "file":
                h = hashlib.sha256()
                fo = t.extractfile(m)
                for chunk in iter(lambda: fo.read(1 << 20), b""):
                    h.update(chunk)
                f += ["size=%d" % m.size, "sha256=" + h.hexdigest()]
            elif typ in ("symlink", "hardlink"):
                f += ["->", m.linkname]
            elif typ in ("char", "block"):
                f.append("dev=%d,%d" % (m.devmajor, m.devminor))
            for k, v in sorted(m.pax_headers.items()):
                if k.startswith("SCHILY.xattr."):
                    f.append("xattr:%s=%s" % (k[13:], v.encode("utf-8", "surrogateescape").hex()))
            out.append("  " + " ".join(f))
    return out


def describe(path, oci_fields=False, layers=False, ignore=()):
    img = Image(path)
    tree = flatten_lines(img)
    out = ["== config (%s)" % img.kind] + config_lines(img, img.content_diff_ids, oci_fields, ignore) + ["== tree"] + tree
    if layers:
        # digests depend on modification times, the order of entries on the tar writer
        out += layers_lines(img, digests=False, sort=True)
    return out


def compare(a, b, labels, oci_fields=False, layers=False, ignore=()):
    la, lb = describe(a, oci_fields, layers, ignore), describe(b, oci_fields, layers, ignore)
    # the archive kinds may differ (docker-archive against oci-archive); only the image counts
    la[0] = lb[0] = "== config"
    if la == lb:
        n_tree = sum(1 for l in la[la.index("== tree") + 1:] if not l.startswith(("==", "  ")))
        print("same image: %d config lines, %d paths%s%s" % (
            la.index("== tree") - 1, n_tree, " (OCI config fields only)" if oci_fields else "",
            ", layer by layer" if layers else ""))
        return 0
    sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(la, lb, labels[0], labels[1], n=2, lineterm=""))
    return 1


def mutate(src, out):
    img = Image(src)
    if img.kind != "docker-archive":
        raise Bad("mutate reads docker-archives only")
    cfg = json.loads(img.config_raw)
    cfg.setdefault("config", {}).setdefault("Env", []).append("SELFTEST_EXTRA=1")
    cfg.setdefault("history", []).append({"created_by": "SELFTEST extra entry", "empty_layer": True})
    # the last layer, with the first regular file's mode changed
    last = img.layer_names[-1]
    src_layer = img.tar.extractfile(img.members[posixpath.normpath(last)]).read()
    buf = io.BytesIO()
    changed = None
    with tarfile.open(fileobj=io.BytesIO(src_layer)) as t, tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as o:
        for m in t.getmembers():
            if m.isfile() and changed is None and not posixpath.basename(m.name).startswith(".wh."):
                m.mode ^= 0o020
                changed = m.name
            o.addfile(m, t.extractfile(m) if m.isfile() else None)
    if changed is None:
        raise Bad("mutate: the last layer of %s has no regular file" % src)
    new_layer = buf.getvalue()
    cfg["rootfs"]["diff_ids"][-1] = "sha256:" + hashlib.sha256(new_layer).hexdigest()
    cfg_bytes = json.dumps(cfg, separators=(",", ":")).encode()
    cfg_name = hashlib.sha256(cfg_bytes).hexdigest() + ".json"
    man = json.loads(img._read("manifest.json"))[:1]
    man[0]["Config"] = cfg_name
    with tarfile.open(out, "w") as o:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            o.addfile(ti, io.BytesIO(data))
        add(cfg_name, cfg_bytes)
        for name in img.layer_names:
            if name == last:
                add(name, new_layer)
            else:
                add(name, img.tar.extractfile(img.members[posixpath.normpath(name)]).read())
        add("manifest.json", json.dumps(man).encode())
    print("changed: Env +SELFTEST_EXTRA=1, mode of %s (group write flipped), history +1 entry" % clean(changed))


def usage():
    sys.stderr.write(__doc__)
    return 2


def main(argv):
    if not argv:
        return usage()
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "flatten" and len(args) == 1:
            print("\n".join(flatten_lines(Image(args[0]))))
        elif cmd == "config" and len(args) == 1:
            img = Image(args[0])
            flatten_lines(img)  # for the diff_id check
            print("\n".join(config_lines(img, img.content_diff_ids)))
        elif cmd == "compare":
            labels, oci_fields, layers, ignore = None, False, False, []
            while args and args[0].startswith("--"):
                if args[0] == "--labels" and len(args) > 1:
                    labels = args[1].split(",", 1)
                    args = args[2:]
                elif args[0] == "--oci-fields":
                    oci_fields, args = True, args[1:]
                elif args[0] == "--layers":
                    layers, args = True, args[1:]
                elif args[0] == "--ignore" and len(args) > 1:
                    ignore.append(args[1])
                    args = args[2:]
                else:
                    return usage()
            if len(args) != 2 or (labels and len(labels) != 2):
                return usage()
            return compare(args[0], args[1], labels or args, oci_fields, layers, ignore)
        elif cmd == "layers" and len(args) == 1:
            print("\n".join(layers_lines(Image(args[0]))))
        elif cmd == "mutate" and len(args) == 2:
            mutate(args[0], args[1])
        else:
            return usage()
    except Bad as e:
        print("build_diff: %s" % e, file=sys.stderr)
        return 2
    except (KeyError, TypeError, ValueError, tarfile.TarError, OSError) as e:
        print("build_diff: cannot read the archive: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
