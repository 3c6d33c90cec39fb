"""The bundled sample web, served on 127.0.0.1.

Several invented sites (``dnipro-vechir.test``, ``dniprorada.test``...) live in
``crawler/app/demo/web/<host>/``. One server answers for all of them as an HTTP proxy: a
crawler that sends its requests through ``http://127.0.0.1:PORT`` reaches each site by its
own host name, so domains, robots.txt and cross-site links behave as on the real web,
and nothing leaves the machine.

Per site, ``_site.yaml`` may set ``status:`` (path -> HTTP status), ``busy:`` (path -> how
many first requests get "429 Too Many Requests" with ``Retry-After: 1``) and ``encoding:``
(path prefix -> codec; such pages are sent re-encoded, with the charset only in their meta
tag). A query ``?before=N`` (Telegram's preview paging) serves ``<path>/before-N.html``.
For tests: ``status: {"*": 500}`` answers every path with that status, ``latency:`` (seconds)
delays every answer, and ``generate: {pages: N, links: K}`` serves a generated site of N
linked pages (``generated_paths``) instead of files. The hostile web of the tests
(``tests/data/hostile-web``) also uses, per path: ``redirect:`` (path -> ``Location`` of a 302),
``headers:`` (path -> headers that replace or add to the answer's, the 429 included: a wrong
charset, ``Content-Encoding: gzip`` for a file that is gzip, a garbage ``Retry-After``),
``truncate:`` (path -> bytes of the body sent before the connection closes, under the full
``Content-Length``) and ``close:`` (paths answered by closing the connection).
``_site.yaml`` is re-read when it changes.
``GET /__coprod__/hits`` on the server itself returns request counts as JSON: per URL
(``by_url``), file answers sent with their body (``bodies_by_url``) and ``304 Not
Modified`` answers (``not_modified``, ``not_modified_by_url``). File answers carry an
ETag (hash of the body) and Last-Modified (the file's mtime) and honour If-None-Match and
If-Modified-Since, so a copy of the web served with ``--root`` can be edited between crawls.

Run it alone with ``python -m crawler.app.demo.server [--port N]``; it prints its URL.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import re
import json
import mimetypes
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

__all__ = ["SampleWeb", "default_root", "generated_paths", "main"]

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml",
    ".txt": "text/plain; charset=utf-8",
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
HITS_PATH = "/__coprod__/hits"


def default_root() -> Path:
    return Path(__file__).parent / "web"


@dataclass
class Site:
    root: Path
    status: dict[str, int] = field(default_factory=dict)
    busy: dict[str, int] = field(default_factory=dict)
    encoding: dict[str, str] = field(default_factory=dict)
    latency: float = 0.0
    generate: dict[str, int] = field(default_factory=dict)
    redirect: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    truncate: dict[str, int] = field(default_factory=dict)
    close: frozenset[str] = frozenset()
    spec_mtime: float | None = None

    @classmethod
    def load(cls, root: Path) -> Site:
        spec_file = root / "_site.yaml"
        spec = yaml.safe_load(spec_file.read_text(encoding="utf-8")) if spec_file.exists() else {}
        return cls(
            root=root,
            status=dict(spec.get("status") or {}),
            busy=dict(spec.get("busy") or {}),
            encoding=dict(spec.get("encoding") or {}),
            latency=float(spec.get("latency") or 0.0),
            generate=dict(spec.get("generate") or {}),
            redirect=dict(spec.get("redirect") or {}),
            headers={path: {str(k): str(v) for k, v in values.items()} for path, values in (spec.get("headers") or {}).items()},
            truncate=dict(spec.get("truncate") or {}),
            close=frozenset(spec.get("close") or ()),
            spec_mtime=_mtime(spec_file),
        )

    def status_for(self, path: str) -> int | None:
        return self.status.get(path, self.status.get("*"))

    def generated(self, host: str, path: str) -> bytes | None:
        """A page of the generated site: page i links to its children and back to the top."""
        pages, links = int(self.generate["pages"]), int(self.generate.get("links", 5))
        paths = generated_paths(pages, links)
        if path not in paths:
            return None
        index = paths.index(path)
        children = [paths[c] for c in range(index * links + 1, min(index * links + links + 1, pages))]
        anchors = "".join(f'<li><a href="{p}">Сторінка {paths.index(p)}</a></li>' for p in children + ["/"])
        text = " ".join(
            f"Новина номер {index}, абзац {n}: мешканці міста обговорюють подію {index * 7 + n} на сайті {host}."
            for n in range(1, 6)
        )
        return (
            f"<html><head><title>Сторінка {index}</title></head><body><article><h1>Сторінка {index}</h1>"
            f"<p>{text}</p></article><ul>{anchors}</ul></body></html>"
        ).encode()

    def resolve(self, path: str) -> Path | None:
        """The file for a URL path, or None; never a file outside the site's folder."""
        relative = unquote(path).lstrip("/")
        candidates = [relative + "index.html"] if relative.endswith("/") or not relative else [relative]
        if relative and not relative.endswith("/") and "." not in relative.rsplit("/", 1)[-1]:
            candidates = [relative + ".html", relative + "/index.html"]
        root = self.root.resolve()
        for candidate in candidates:
            target = (root / candidate).resolve()
            if target.is_file() and target.is_relative_to(root) and not target.name.startswith("_"):
                return target
        return None

    def codec_for(self, path: str) -> str | None:
        for prefix, codec in self.encoding.items():
            if path.startswith(prefix):
                return codec
        return None


def generated_paths(pages: int, links: int = 5) -> list[str]:
    """The URL paths of a generated site of `pages` pages, page 0 first (the home page);
    page i links to pages i*links+1 ... i*links+links, so every page is within reach."""
    return ["/"] + [f"/page/{i}" for i in range(1, pages)]


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns / 1e9
    except FileNotFoundError:
        return None


class SampleWeb:
    """A running sample web: `start()` it, read `.proxy_url`, `stop()` it."""

    def __init__(self, root: Path | None = None, host: str = "127.0.0.1", port: int = 0):
        self.root = root or default_root()
        self.sites = {d.name: Site.load(d) for d in sorted(self.root.iterdir()) if d.is_dir()}
        self.hits: Counter[str] = Counter()
        self.bodies: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = True
        self.thread: threading.Thread | None = None

    def site(self, host: str) -> Site | None:
        """The site of a host, re-read when its `_site.yaml` changed (tests flip statuses)."""
        site = self.sites.get(host)
        if site is not None and _mtime(site.root / "_site.yaml") != site.spec_mtime:
            site = self.sites[host] = Site.load(site.root)
        return site

    @property
    def proxy_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SampleWeb:
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="sample-web", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        web = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "coprod-sample-web/1"

            def do_HEAD(self) -> None:
                self._answer(send_body=False)

            def do_GET(self) -> None:
                self._answer(send_body=True)

            def log_message(self, format: str, *args: object) -> None:
                pass  # The crawler's own log is the one to read.

            def _answer(self, send_body: bool) -> None:
                self._extra: dict[str, str] = {}
                self._cut: int | None = None
                target = urlsplit(self.path)
                host = (target.hostname or self.headers.get("Host", "").split(":")[0]).lower()
                path = target.path or "/"
                if path == HITS_PATH and host in ("127.0.0.1", "localhost"):
                    with web.lock:
                        body = json.dumps({
                            "total": sum(web.hits.values()),
                            "by_url": dict(web.hits),
                            "bodies_by_url": dict(web.bodies),
                            "not_modified": sum(web.not_modified.values()),
                            "not_modified_by_url": dict(web.not_modified),
                        }).encode()
                    return self._send(200, "application/json", body, send_body)
                url = f"http://{host}{path}" + (f"?{target.query}" if target.query else "")
                with web.lock:
                    web.hits[url] += 1
                    hits = web.hits[url]
                site = web.site(host)
                if site is None:
                    return self._send(502, "text/plain; charset=utf-8", b"unknown host\n", send_body)
                if site.latency:
                    time.sleep(site.latency)
                self._extra, self._cut = site.headers.get(path, {}), site.truncate.get(path)
                if path in site.close:
                    self.close_connection = True
                    return None
                if hits <= site.busy.get(path, 0):
                    return self._send(429, "text/plain; charset=utf-8", b"slow down\n", send_body, {"Retry-After": "1"})
                if path in site.redirect:
                    return self._send(302, "text/html; charset=utf-8", b"", send_body, {"Location": site.redirect[path]})
                code = site.status_for(path)
                if code is not None:
                    return self._send(code, "text/html; charset=utf-8", f"<h1>Error {code}</h1>".encode(), send_body)
                if site.generate:
                    page = site.generated(host, path)
                    if page is not None:
                        return self._send(200, "text/html; charset=utf-8", page, send_body)
                before = re.fullmatch(r"before=(\d+)", target.query or "")
                file = site.resolve(f"{path.rstrip('/')}/before-{before[1]}.html") if before else site.resolve(path)
                if file is None:
                    body = "<html><body><h1>404</h1><p>Сторінку не знайдено</p></body></html>".encode()
                    return self._send(404, "text/html; charset=utf-8", body, send_body)
                content_type = TYPES.get(file.suffix.lower()) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                body = file.read_bytes()
                codec = site.codec_for(path) if file.suffix == ".html" else None
                if codec:
                    body = body.decode("utf-8").encode(codec)
                    content_type = "text/html"
                mtime = int(file.stat().st_mtime)
                validators = {"ETag": f'"{hashlib.sha256(body).hexdigest()[:32]}"', "Last-Modified": email.utils.formatdate(mtime, usegmt=True)}
                if self._unchanged(validators["ETag"], mtime):
                    with web.lock:
                        web.not_modified[url] += 1
                    return self._send(304, content_type, b"", False, validators)
                if send_body:
                    with web.lock:
                        web.bodies[url] += 1
                self._send(200, content_type, body, send_body, validators)

            def _unchanged(self, etag: str, mtime: int) -> bool:
                """If-None-Match decides when given; else If-Modified-Since (to the second)."""
                if_none_match = self.headers.get("If-None-Match")
                if if_none_match is not None:
                    return etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*"
                since = self.headers.get("If-Modified-Since")
                try:
                    parsed = email.utils.parsedate_to_datetime(since) if since else None
                except (TypeError, ValueError):
                    return False
                return parsed is not None and mtime <= parsed.timestamp()

            def _send(self, code: int, content_type: str, body: bytes, send_body: bool, headers: dict[str, str] | None = None) -> None:
                # The site's own headers for the path win: a test serves a wrong charset so.
                chosen = {"Content-Type": content_type} | (headers or {}) | self._extra
                self.send_response(code)
                for name, value in chosen.items():
                    self.send_header(name, value)
                if code != 304:  # a 304 has no body, so no length either
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if send_body:
                    self.wfile.write(body if self._cut is None else body[: self._cut])
                if self._cut is not None:
                    self.close_connection = True

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve coprod's sample web on 127.0.0.1 as an HTTP proxy.")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    parser.add_argument("--root", type=Path, default=None, help="folder of sites (default: the bundled sample web)")
    args = parser.parse_args(argv)
    web = SampleWeb(args.root, port=args.port)
    print(f"serving {web.proxy_url}", flush=True)
    try:
        web.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
