"""Extraction stage: main text and metadata from HTML, with trafilatura."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import trafilatura
from scrapy.crawler import Crawler

from crawler.items import PageItem
from pipelines._drop import PageDropped
from pipelines.relevance.identifiers import mask_cards

__all__ = ["ExtractPipeline", "Extracted", "content_hash", "extract", "fill_from_extraction", "is_html"]

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


class ExtractPipeline:
    """Drops failed fetches and non-HTML with their reason; extracts the rest."""

    def __init__(self, min_chars: int):
        self.min_chars = min_chars

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(min_chars=crawler.settings.getint("COPROD_MIN_TEXT_CHARS", 1))

    def process_item(self, item: PageItem) -> PageItem:
        if item.not_modified:
            return item  # answered 304: extracted when its version was stored
        if item.fetch_error:
            raise PageDropped(item.fetch_error, item.fetch_error_detail)
        if item.html is None and item.text is not None:
            # A Telegram post: its spider parsed the text already.
            if not item.text.strip():
                raise PageDropped("empty_extraction", "a post without text (media only)")
            fill_from_extraction(item, Extracted(item.text, item.title, item.published, item.author, None, tuple(item.links)))
            return item
        if not is_html(item.content_type) or item.html is None:
            raise PageDropped("not_html", item.content_type or "no content type")
        found = extract(item.html, item.fetched_url)
        if len(found.text) < self.min_chars:
            raise PageDropped("empty_extraction", f"{len(found.text)} characters of main text")
        fill_from_extraction(item, found)
        return item


def fill_from_extraction(item: PageItem, found: Extracted) -> None:
    """Copy an extraction onto the item, card numbers masked: they never reach the catalogue."""
    item.text = mask_cards(found.text)
    item.title = mask_cards(found.title) if found.title else None
    item.published = found.published
    item.author = found.author
    item.sitename = found.sitename
    item.links = list(found.links)
    item.content_hash = content_hash(item.text)
