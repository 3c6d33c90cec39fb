"""Documents gathered elsewhere: JSON Lines and WARC files, read for `coprod import` and
`coprod evaluate`.

JSON Lines: one object per line with ``url`` and ``text`` or ``html``, optional ``title``,
``published`` (ISO date), ``lang`` and ``links`` (URLs the text links to); `evaluate` also
reads ``labels``. WARC: every HTML response record (warcio), decoded by its declared charset
or its meta tag. `Document.item` makes a document the page a crawl would have fetched; the
stage chain (`pipelines.chain`) then extracts, scores and discovers as for a crawled page.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from w3lib.encoding import html_to_unicode

from crawler.core.errors import BadInput
from crawler.core.items import PageItem
from crawler.core.links import alternates, anchors, base_url, html_selector
from crawler.core.urls import canonical_url

__all__ = ["Document", "read_documents", "read_jsonl", "read_warc"]


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

    def item(self, source: str) -> PageItem:
        """The document as a page for the stage chain, as a crawl would have fetched it: an
        HTML document keeps its HTML (extracted by the chain) with the links and language
        versions its tree names; the given title, date, language and links come first."""
        fetched_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        url = canonical_url(self.url)
        given = [(link, "") for link in self.links]
        item = PageItem(url=url, source=source, fetched_url=self.url, fetched_at=fetched_at, title=self.title,
                        published=self.published, language=self.lang, links=list(self.links))
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


def read_documents(path: Path, *, labelled: bool = False) -> Iterator[Document]:
    if path.name.endswith((".warc", ".warc.gz")):
        if labelled:
            raise BadInput(f"{path}: a labelled file must be JSON Lines")
        return read_warc(path)
    return read_jsonl(path, labelled=labelled)


def read_jsonl(path: Path, *, labelled: bool = False) -> Iterator[Document]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInput(f"{path}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("url"), str) or not row["url"].strip():
                raise BadInput(f"{path}:{number}: expected an object with a 'url'")
            text, html = row.get("text"), row.get("html")
            if not (isinstance(text, str) and text.strip()) and not (isinstance(html, str) and html.strip()):
                raise BadInput(f"{path}:{number}: expected 'text' or 'html'")
            if labelled and not isinstance(row.get("labels"), dict):
                raise BadInput(f"{path}:{number}: expected 'labels' (relevant, direction, mode, in_region, in_window, ict)")
            yield Document(
                id=str(row.get("id", number)),
                url=_with_scheme(row["url"].strip()),
                text=text if isinstance(text, str) and text.strip() else None,
                html=html if isinstance(html, str) else None,
                title=row.get("title") if isinstance(row.get("title"), str) else None,
                published=row.get("published") if isinstance(row.get("published"), str) else None,
                lang=row.get("lang") if isinstance(row.get("lang"), str) else None,
                links=tuple(link for link in row.get("links") or () if isinstance(link, str)),
                labels=row.get("labels") or {},
            )


def read_warc(path: Path) -> Iterator[Document]:
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
                _, html = html_to_unicode(content_type, record.content_stream().read())
                yield Document(id=str(number), url=record.rec_headers.get_header("WARC-Target-URI"), text=None, html=html)
        except ArchiveLoadFailed as exc:
            raise BadInput(f"{path}: not a readable WARC file ({exc})") from None


def _with_scheme(url: str) -> str:
    return url if "://" in url else f"https://{url.lstrip('/')}"
