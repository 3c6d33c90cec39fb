"""Extraction: main text and metadata from HTML, with trafilatura (the chain's first stage,
`pipelines.chain.extracted`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import trafilatura

__all__ = ["Extracted", "content_hash", "extract", "is_html"]

HTML_TYPES = ("text/html", "application/xhtml+xml")
_SPACE = re.compile(r"\s+")
# With include_links, trafilatura writes links into the text as [label](target).
_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()\s]|\([^()\s]*\))*\)")


@dataclass(frozen=True)
class Extracted:
    """What trafilatura found in a page. `text` is empty when extraction failed; `links`
    are the targets of the links inside the main text (not the menus and footers)."""

    text: str
    title: str | None
    published: str | None
    author: str | None
    sitename: str | None
    links: tuple[str, ...] = ()


def extract(html: str, url: str | None = None) -> Extracted:
    """Main text, title, publication date, author and site name of an HTML document."""
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_links=True,
        date_extraction_params={"extensive_search": False, "original_date": True, "max_date": dt.date.today().isoformat()},
    )
    if doc is None:
        return Extracted(text="", title=None, published=None, author=None, sitename=None)
    links = tuple(dict.fromkeys(ref.get("target") for ref in doc.body.iter("ref") if ref.get("target"))) if doc.body is not None else ()
    return Extracted(
        text=_MARKDOWN_LINK.sub(r"\1", doc.text or "").strip(),
        title=_clean(doc.title),
        published=doc.date or None,
        author=_clean(doc.author),
        sitename=_clean(doc.sitename),
        links=links,
    )


def is_html(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in HTML_TYPES


def content_hash(text: str) -> str:
    """A hash of the text that ignores differences of whitespace and case."""
    return hashlib.sha256(_SPACE.sub(" ", text).strip().casefold().encode("utf-8")).hexdigest()


def _clean(value: str | None) -> str | None:
    if not value:
        return None
    return _SPACE.sub(" ", value).strip() or None
