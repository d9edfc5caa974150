#!/usr/bin/env python3
"""A tiny registry for strata's pull tests: it serves one image from an OCI layout and misbehaves
on purpose.

    fake_registry.py LAYOUT_DIR PORT_FILE LOG_FILE MODE

LAYOUT_DIR is an unpacked `strata save --format oci-archive`; every tag of every repository
names its first manifest. The registry asks for a Bearer token (realm /token on itself) and
refuses requests without it. Each request is logged as "METHOD PATH RANGE" to LOG_FILE.

Tag "multi" names an index: an arm64 entry whose manifest the registry does not have, then
the layout's manifest as linux/amd64. Layer GETs answer with a 307 redirect to /storage/<digest>
on the same server (no token needed there, as with presigned storage URLs).

MODE:
  good        serve the blobs as they are
  corrupt     layer blobs keep their length but every byte is flipped
  cut-once    the first GET of each layer blob stops after half of it (the connection closes);
              later requests, with or without Range, are served properly
  cut-always  every GET of a layer blob stops after half of what was asked for
  garbage     manifests are answered with a body that is not JSON
  bad-token   the token endpoint answers with a body that is not JSON
  endless     manifests are answered with a body that never ends (no Content-Length)
"""
import http.server
import json
import os
import sys

TOKEN = "fake-registry-token"


def main():
    layout, port_file, log_file, mode = sys.argv[1:5]
    blobs = os.path.join(layout, "blobs", "sha256")
    with open(os.path.join(layout, "index.json")) as f:
        manifest_digest = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(blobs, manifest_digest.split(":")[1]), "rb") as f:
        manifest = f.read()
    layers = {l["digest"] for l in json.loads(manifest)["layers"]}
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "0" * 64,
             "size": 100, "platform": {"architecture": "arm64", "os": "linux"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
             "size": len(manifest), "platform": {"architecture": "amd64", "os": "linux"}},
        ]}).encode()
    cut_done = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body=b"", headers=None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def authorized(self):
            if self.headers.get("Authorization") == "Bearer " + TOKEN:
                return True
            host = self.headers.get("Host")
            challenge = 'Bearer realm="http://%s/token",service="fake"' % host
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
            self.send(401, body.encode(), {"WWW-Authenticate": challenge, "Content-Type": "application/json"})
            return False

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            with open(log_file, "a") as log:
                log.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-")))
            if self.path.startswith("/token"):
                ok = "service=fake" in self.path and "scope=repository" in self.path
                if mode == "bad-token":
                    return self.send(200, b"<html>not a token</html>", {"Content-Type": "application/json"})
                return self.send(200 if ok else 400, json.dumps({"token": TOKEN}).encode())
            parts = self.path.split("/")
            if self.path.startswith("/storage/"):
                return self.blob(parts[-1])
            if not self.authorized():
                return
            if self.path == "/v2/":
                return self.send(200, b"{}")
            if len(parts) >= 5 and parts[-2] == "manifests":
                if mode == "garbage":
                    return self.send(200, b'{"schemaVersion": 2, "layers": [', {
                        "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
                if mode == "endless" and self.command == "GET":
                    return self.endless()
                if parts[-1] == "multi":
                    return self.send(200, index, {"Content-Type": "application/vnd.oci.image.index.v1+json"})
                if parts[-1].startswith("sha256:") and parts[-1] != manifest_digest:
                    body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})
                    return self.send(404, body.encode())
                return self.send(200, manifest, {
                    "Content-Type": "application/vnd.oci.image.manifest.v1+json",
                    "Docker-Content-Digest": manifest_digest})
            if len(parts) >= 5 and parts[-2] == "blobs":
                if parts[-1] in layers:
                    return self.send(307, b"", {"Location": "/storage/" + parts[-1]})
                return self.blob(parts[-1])
            self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}')

        def endless(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b" " * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True

        def blob(self, digest):
            path = os.path.join(blobs, digest.split(":")[-1])
            if not os.path.isfile(path):
                body = json.dumps({"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"}]})
                return self.send(404, body.encode())
            with open(path, "rb") as f:
                data = f.read()
            if digest in layers and mode == "corrupt":
                data = bytes(b ^ 0xFF for b in data)
            start = 0
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
            status = 206 if start else 200
            part = data[start:]
            headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest}
            if start:
                headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
            cut = self.command == "GET" and digest in layers and (
                mode == "cut-always" or (mode == "cut-once" and digest not in cut_done))
            if not cut:
                return self.send(status, part, headers)
            cut_done.add(digest)
            # Promise everything, send half, hang up.
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(part)))
            self.end_headers()
            self.wfile.write(part[: len(part) // 2])
            self.wfile.flush()
            self.close_connection = True

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
