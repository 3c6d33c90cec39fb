"""Documents gathered elsewhere: JSON Lines and WARC files, read for `coprod import` and
`coprod evaluate`.

JSON Lines: one UTF-8 object per line with ``url`` and ``text`` or ``html`` (strings),
optional ``title``, ``published`` (ISO date), ``lang`` (strings or null), ``links`` (a list of
the URLs the text links to) and ``id``; `evaluate` also reads ``labels`` (an object). A line
that is not valid UTF-8 or JSON, or a field of the wrong type, is a `BadInput` naming the
file, the line and the field: nothing of a bad file is imported. WARC: every HTML response
record (warcio), decoded as a crawl decodes a page (`crawler.core.charsets`).

Escape sequences, NUL and the other control characters (but tab and line breaks) are removed
from every text (`crawler.core.sanitise.without_controls`): they are no part of a text,
PostgreSQL refuses NUL, and a terminal obeys escapes. A document
larger than `max_bytes` (the study's `crawl.max_page_bytes`, as for a crawled page) keeps only
its URL and is recorded with the reason `too_large`; a line longer than `LINE_FACTOR` times
that is not even parsed (its URL is read from its start).
`Document.item` makes a document the page a crawl would have fetched; the stage chain
(`pipelines.chain`) then extracts, scores and discovers as for a crawled page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from crawler.core.charsets import decode_html
from crawler.core.errors import BadInput
from crawler.core.items import PageItem
from crawler.core.links import alternates, anchors, base_url, html_selector
from crawler.core.sanitise import without_controls
from crawler.core.urls import canonical_url

__all__ = ["DEFAULT_MAX_BYTES", "Document", "read_documents", "read_jsonl", "read_warc"]

DEFAULT_MAX_BYTES = 5_000_000  # crawl.max_page_bytes' default
LINE_FACTOR = 4  # a line may hold a document of max_bytes as escaped JSON, and its fields
_URL_FIELD = re.compile(rb'"url"\s*:\s*"((?:[^"\\]|\\.){1,4000})"')
_OPTIONAL_TEXT = ("title", "published", "lang")



@dataclass(frozen=True)
class Document:
    id: str
    url: str
    text: str | None
    html: str | None
    title: str | None = None
    published: str | None = None
    lang: str | None = None
    links: tuple[str, ...] = ()
    labels: dict[str, Any] = field(default_factory=dict)
    too_large: str | None = None  # why it was not read (over the size limit): recorded as too_large

    def item(self, source: str) -> PageItem:
        """The document as a page for the stage chain, as a crawl would have fetched it: an
        HTML document keeps its HTML (extracted by the chain) with the links and language
        versions its tree names; the given title, date, language and links come first."""
        fetched_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        url = canonical_url(self.url)
        given = [(link, "") for link in self.links]
        item = PageItem(url=url, source=source, fetched_url=self.url, fetched_at=fetched_at, title=self.title,
                        published=self.published, language=self.lang, links=list(self.links))
        if self.too_large:
            item.fetch_error, item.fetch_error_detail = "too_large", self.too_large
            return item
        if self.html is not None and not self.text:
            selector, base = html_selector(self.html), base_url(self.html, self.url)
            found = anchors(selector, base)
            known = {link for link, _ in found}
            item.content_type, item.html = "text/html", self.html
            item.outlinks = found + [pair for pair in given if pair[0] not in known]
            item.alternates = alternates(selector, base, url)
        else:
            item.content_type, item.text, item.outlinks = "text/plain", self.text or "", given
        return item


def read_documents(path: Path, *, labelled: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Document]:
    if path.name.endswith((".warc", ".warc.gz")):
        if labelled:
            raise BadInput(f"{path}: a labelled file must be JSON Lines")
        return read_warc(path, max_bytes=max_bytes)
    return read_jsonl(path, labelled=labelled, max_bytes=max_bytes)


def read_jsonl(path: Path, *, labelled: bool = False, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Document]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        for number, (raw, oversized) in enumerate(_lines(handle, LINE_FACTOR * max_bytes), start=1):
            where = f"{path}:{number}"
            if oversized:
                yield _oversized(raw, where, max_bytes)
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadInput(f"{where}: not valid UTF-8 (byte {exc.start + 1} of the line: {raw[exc.start:exc.start + 4]!r})") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInput(f"{where}: not valid JSON ({exc.msg})") from None
            yield _document(row, where, number, labelled, max_bytes)


def _lines(handle: IO[bytes], limit: int) -> Iterator[tuple[bytes, bool]]:
    """The file's lines, each with whether it is longer than `limit`: then only its first
    `limit` bytes are given, and the rest is skipped without being held in memory."""
    while line := handle.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n"):
            yield line, False
            continue
        head = line
        while line and not line.endswith(b"\n"):
            line = handle.readline(1 << 20)
        yield head, True


def _oversized(head: bytes, where: str, max_bytes: int) -> Document:
    found = _URL_FIELD.search(head[:65536])
    if found is None:
        raise BadInput(f"{where}: a line over {LINE_FACTOR * max_bytes} bytes without a 'url' near its start")
    url = json.loads(b'"' + found[1] + b'"')
    return Document(id=where.rsplit(":", 1)[1], url=_with_scheme(without_controls(url).strip()), text=None, html=None,
                    too_large=f"a line over {LINE_FACTOR * max_bytes} bytes, not read (crawl.max_page_bytes is {max_bytes})")


def _document(row: Any, where: str, number: int, labelled: bool, max_bytes: int) -> Document:
    """One JSON Lines object as a document, every field checked for its type."""
    if not isinstance(row, dict) or not isinstance(row.get("url"), str) or not row["url"].strip():
        raise BadInput(f"{where}: expected an object with a 'url'")
    for name in ("text", "html", *_OPTIONAL_TEXT):
        if row.get(name) is not None and not isinstance(row[name], str):
            raise BadInput(f"{where}: {name}: expected a string, got {_json_type(row[name])}")
    text, html = row.get("text"), row.get("html")
    if not (text and text.strip()) and not (html and html.strip()):
        raise BadInput(f"{where}: expected 'text' or 'html'")
    links = row.get("links")
    if links is None:
        links = []
    if not isinstance(links, list) or not all(isinstance(link, str) for link in links):
        got = _json_type(links) if not isinstance(links, list) else "a list with " + _json_type(next(x for x in links if not isinstance(x, str)))
        raise BadInput(f"{where}: links: expected a list of URLs (strings), got {got}")
    if row.get("id") is not None and not isinstance(row["id"], (str, int)):
        raise BadInput(f"{where}: id: expected a string or a number, got {_json_type(row['id'])}")
    if labelled and not isinstance(row.get("labels"), dict):
        raise BadInput(f"{where}: expected 'labels' (relevant, direction, mode, in_region, in_window, ict)")
    url = _with_scheme(without_controls(row["url"]).strip())
    size = max(len((text or "").encode("utf-8")), len((html or "").encode("utf-8")))
    if size > max_bytes:
        return Document(id=str(row.get("id", number)), url=url, text=None, html=None,
                        too_large=f"{size} bytes, over crawl.max_page_bytes ({max_bytes})")
    clean = {name: without_controls(row[name]) if row.get(name) is not None else None for name in ("text", "html", *_OPTIONAL_TEXT)}
    return Document(
        id=str(row.get("id", number)),
        url=url,
        text=clean["text"] if clean["text"] and clean["text"].strip() else None,
        html=clean["html"],
        title=clean["title"],
        published=clean["published"],
        lang=clean["lang"],
        links=tuple(without_controls(link).strip() for link in links if link.strip()),
        labels=row.get("labels") or {},
    )


def _json_type(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def read_warc(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[Document]:
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        stream = path.open("rb")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
    with stream:
        try:
            for number, record in enumerate(ArchiveIterator(stream), start=1):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                content_type = record.http_headers.get_header("Content-Type") or ""
                if "html" not in content_type.lower() or not record.http_headers.get_statuscode().startswith("2"):
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                body = record.content_stream().read(max_bytes + 1)
                if len(body) > max_bytes:
                    yield Document(id=str(number), url=url, text=None, html=None, too_large=f"over crawl.max_page_bytes ({max_bytes})")
                    continue
                yield Document(id=str(number), url=url, text=None, html=without_controls(decode_html(body, content_type)))
        except ArchiveLoadFailed as exc:
            raise BadInput(f"{path}: not a readable WARC file ({str(exc)[:200]})") from None


def _with_scheme(url: str) -> str:
    return url if "://" in url else f"https://{url.lstrip('/')}"
