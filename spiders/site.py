"""The site spider: crawls each source's pages within its domains, depth and page cap.

Every response (and every failed fetch) becomes a `PageItem`; the pipelines decide what to
keep and record why the rest was dropped. Links are followed only inside the source's own
allowed domains, as clean URLs (no fragment, no tracking parameters); the canonical
fingerprinter makes trailing-slash and parameter-order variants one request.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.config import Source
from crawler.items import PageItem
from crawler.study import apply_study
from crawler.urls import canonical_url, clean_url, host_of, is_http_url
from pipelines.extract import is_html

__all__ = ["SiteSpider", "fetch_error_reason"]

logger = logging.getLogger(__name__)

# Documents are fetched (and recorded as not HTML); media and archives are not fetched at all.
DOCUMENT_EXTENSIONS = {"pdf", "doc", "docx", "odt", "rtf", "xls", "xlsx", "ods", "ppt", "pptx", "odp"}
SKIPPED_EXTENSIONS = sorted(set(IGNORED_EXTENSIONS) - DOCUMENT_EXTENSIONS)


def fetch_error_reason(failure: Failure) -> tuple[str, str]:
    """A short reason code and a detail for a failed request."""
    error = failure.value
    if isinstance(error, HttpError):
        return f"http_{error.response.status}", f"HTTP {error.response.status}"
    if isinstance(error, DownloadCancelledError):
        return "too_large", str(error)
    if isinstance(error, DownloadTimeoutError):
        return "timeout", str(error)
    name = type(error).__name__
    return "fetch_error", f"{name}: {error}"


class SiteSpider(scrapy.Spider):
    name = "site"
    # Telegram channels have their own spider; their web preview is not a site to crawl.
    handled_kinds = ("news", "council", "volunteer_hub", "other")

    def __init__(self, sources: list[Source], pages_per_source: int, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sources = [s for s in sources if s.kind in self.handled_kinds]
        self.by_name = {s.name: s for s in self.sources}
        self.page_cap = {s.name: s.pages or pages_per_source for s in self.sources}
        self.allowed_domains = sorted({d for s in self.sources for d in s.domains})
        self.scheduled: dict[str, set[str]] = {s.name: set() for s in self.sources}
        self.extractors = {
            s.name: LinkExtractor(allow_domains=s.domains, deny_extensions=SKIPPED_EXTENSIONS, unique=True)
            for s in self.sources
        }
        self.media_links = LinkExtractor(deny_extensions=[], unique=True)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        config = apply_study(crawler)
        settings = crawler.settings
        every = list(config.sources)
        wanted = _names(kwargs.pop("source", None)) or settings.getlist("COPROD_SELECTED_SOURCES")
        unknown = sorted(set(wanted) - {s.name for s in every})
        if unknown:
            raise ValueError(f"unknown source(s): {', '.join(unknown)}")
        chosen = [s for s in every if s.name in wanted] if wanted else [s for s in every if s.enabled]
        skipped = [s.name for s in chosen if s.kind not in cls.handled_kinds]
        if skipped:
            logger.warning("Not crawled by the site spider (telegram sources): %s", ", ".join(skipped))
        spider = cls(chosen, settings.getint("COPROD_PAGES_PER_SOURCE", 500), *args, **kwargs)
        spider._set_crawler(crawler)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for source in self.sources:
            for url in source.start_urls:
                request = self._request(source, url, depth=0)
                if request is not None:
                    yield request

    def parse(self, response: Response) -> Iterator[PageItem | scrapy.Request]:
        source = self.by_name[response.meta["source"]]
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        is_text = isinstance(response, TextResponse)
        referer = response.request.headers.get(b"Referer") if response.request else None
        self.crawler.stats.inc_value(f"coprod/fetched/{source.name}")
        yield PageItem(
            url=canonical_url(response.url),
            source=source.name,
            fetched_url=response.url,
            fetched_at=_now(),
            http_status=response.status,
            content_type=content_type,
            encoding=response.encoding if is_text else None,
            html=response.text if is_text else None,
            depth=response.meta.get("depth", 0),
            referer=referer.decode("latin-1") if referer else None,
        )
        if not is_text or not is_html(content_type):
            return
        depth_limit = source.depth
        if depth_limit is not None and response.meta.get("depth", 0) >= depth_limit:
            return
        for link in self.extractors[source.name].extract_links(response):
            request = self._request(source, link.url, depth=response.meta.get("depth", 0) + 1)
            if request is not None:
                yield request
        skipped = sum(1 for link in self.media_links.extract_links(response) if _extension(link.url) in SKIPPED_EXTENSIONS)
        if skipped:
            self.crawler.stats.inc_value("coprod/skipped/media_link", skipped)

    def on_error(self, failure: Failure) -> Iterator[PageItem]:
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            # Forbidden by robots.txt, or filtered: never fetched, so not a page.
            self.crawler.stats.inc_value("coprod/skipped/ignored")
            return
        reason, detail = fetch_error_reason(failure)
        status = failure.value.response.status if failure.check(HttpError) else None
        yield PageItem(
            url=canonical_url(request.url),
            source=request.meta["source"],
            fetched_url=request.url,
            fetched_at=_now(),
            http_status=status,
            depth=request.meta.get("depth", 0),
            fetch_error=reason,
            fetch_error_detail=detail,
        )

    def _request(self, source: Source, url: str, depth: int) -> scrapy.Request | None:
        if not is_http_url(url):
            return None
        cleaned = clean_url(url)
        if not _within(host_of(cleaned), source.domains):
            self.crawler.stats.inc_value("coprod/skipped/offsite")
            return None
        key = canonical_url(cleaned)
        seen = self.scheduled[source.name]
        if key in seen:
            return None
        if len(seen) >= self.page_cap[source.name]:
            self.crawler.stats.inc_value(f"coprod/skipped/page_cap/{source.name}")
            return None
        seen.add(key)
        return scrapy.Request(cleaned, callback=self.parse, errback=self.on_error, meta={"source": source.name})


def _names(value: str | list[str] | None) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list) else value.split(",")
    return [v.strip() for v in items if v.strip()]


def _within(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _extension(url: str) -> str:
    path = url.split("?", 1)[0].rsplit("/", 1)[-1]
    return path.rsplit(".", 1)[-1].lower() if "." in path else ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
