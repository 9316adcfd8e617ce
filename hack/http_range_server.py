#!/usr/bin/env python3
"""A small static HTTP server with byte-range support, for https:// source tests.

Usage: python3 hack/http_range_server.py --root DIR --port N [--host 127.0.0.1]

Serves the files under DIR read-only: GET and HEAD, `Accept-Ranges: bytes`,
`Content-Length`, `Last-Modified`, a strong `ETag` (size + mtime), single ranges
`Range: bytes=a-b`, `bytes=a-` and `bytes=-n` answered with 206 and `Content-Range`,
unsatisfiable ranges with 416, missing files (and directories, `..`) with 404.
Multi-range requests are answered with the whole body (200), which RFC 9110 allows.
Plain HTTP on loopback only (clients need allow_http; see docs/object-stores.md).
`GET /_health` answers 200 "ok". Standard library only; started by hack/objectstores.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import http.server
import re
import sys
import urllib.parse
from pathlib import Path

CHUNK = 1 << 20
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeHandler(http.server.BaseHTTPRequestHandler):
    server_version = "transfer-operator-test-http/1"
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    root: Path

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def _resolve(self) -> Path | None:
        raw = urllib.parse.urlsplit(self.path).path
        rel = urllib.parse.unquote(raw).lstrip("/")
        if not rel or any(part == ".." for part in rel.split("/")):
            return None
        p = (self.root / rel).resolve()
        try:
            p.relative_to(self.root)
        except ValueError:
            return None
        return p if p.is_file() else None

    def _error(self, code: int, msg: str, extra: dict[str, str] | None = None) -> None:
        body = (msg + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        if urllib.parse.urlsplit(self.path).path == "/_health":
            self._error(200, "ok")
            return
        self._serve()

    def _serve(self) -> None:
        path = self._resolve()
        if path is None:
            self._error(404, "not found")
            return
        st = path.stat()
        size = st.st_size
        start, end = 0, size - 1
        status = 200
        rng = self.headers.get("Range")
        if rng is not None:
            m = RANGE_RE.match(rng.strip())
            if m and (m[1] or m[2]):
                if m[1]:
                    start = int(m[1])
                    end = min(int(m[2]), size - 1) if m[2] else size - 1
                else:  # suffix range: the last n bytes
                    n = int(m[2])
                    start, end = max(size - n, 0), size - 1
                    if n == 0:
                        start, end = size, size - 1
                if start >= size or start > end:
                    self._error(416, "range not satisfiable", {"Content-Range": f"bytes */{size}"})
                    return
                status = 206
            # a malformed or multi-range header is ignored: the whole body, 200
        length = end - start + 1 if size else 0
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(length))
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header("ETag", f'"{size:x}-{st.st_mtime_ns:x}"')
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD" or length == 0:
            return
        with open(path, "rb") as fh:
            fh.seek(start)
            left = length
            while left > 0:
                buf = fh.read(min(CHUNK, left))
                if not buf:
                    break
                self.wfile.write(buf)
                left -= len(buf)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, type=Path)
    p.add_argument("--port", required=True, type=int)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    handler = type("Handler", (RangeHandler,), {"root": args.root.resolve()})
    httpd = http.server.ThreadingHTTPServer((args.host, args.port), handler)
    httpd.daemon_threads = True
    print(f"serving {args.root} on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        httpd.serve_forever()
    return 0


if __name__ == "__main__":
    # SIGTERM (hack/objectstores down) ends the process through the default handler.
    sys.exit(main())
