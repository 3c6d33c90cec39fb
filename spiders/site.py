"""The site spider: crawls each source's pages within its domains, depth and page cap.

Every response (and every failed fetch) becomes a `PageItem`; the pipelines decide what to
keep and record why the rest was dropped. Links are followed only inside the source's own
allowed domains, as clean URLs (no fragment, no tracking parameters); the canonical
fingerprinter makes trailing-slash and parameter-order variants one request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor
from twisted.python.failure import Failure

from crawler.config import Source
from crawler.items import PageItem
from crawler.urls import canonical_url, clean_url, host_of, is_http_url
from spiders._common import chosen_sources, failed_item, page_item

__all__ = ["SiteSpider"]

# Documents are fetched (and recorded as not HTML); media and archives are not fetched at all.
DOCUMENT_EXTENSIONS = {"pdf", "doc", "docx", "odt", "rtf", "xls", "xlsx", "ods", "ppt", "pptx", "odp"}
SKIPPED_EXTENSIONS = sorted(set(IGNORED_EXTENSIONS) - DOCUMENT_EXTENSIONS)


class SiteSpider(scrapy.Spider):
    name = "site"

    @staticmethod
    def handles(source: Source) -> bool:
        # Telegram channels have their own spider; their web preview is not a site to crawl.
        return source.kind != "telegram" and bool(source.start_urls)

    def __init__(self, sources: list[Source], pages_per_source: int, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sources = [s for s in sources if self.handles(s)]
        self.by_name = {s.name: s for s in self.sources}
        self.page_cap = {s.name: s.pages or pages_per_source for s in self.sources}
        self.allowed_domains = sorted({d for s in self.sources for d in s.domains})
        self.scheduled: dict[str, set[str]] = {s.name: set() for s in self.sources}
        self.extractors = {
            s.name: LinkExtractor(allow_domains=s.domains, deny_extensions=SKIPPED_EXTENSIONS, unique=True)
            for s in self.sources
        }

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        sources = chosen_sources(crawler, kwargs.pop("source", None), cls.handles)
        spider = cls(sources, crawler.settings.getint("COPROD_PAGES_PER_SOURCE", 500), *args, **kwargs)
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
        self.crawler.stats.inc_value(f"coprod/fetched/{source.name}")
        item = page_item(response, source.name)
        yield item
        if item.html is None or not item.content_type or "html" not in item.content_type:
            return
        depth = response.meta.get("depth", 0)
        if source.depth is not None and depth >= source.depth:
            return
        for link in self.extractors[source.name].extract_links(response):
            request = self._request(source, link.url, depth=depth + 1)
            if request is not None:
                yield request
        # The page's links were read once already (for discovery); count the media among them.
        skipped = sum(1 for url, _ in item.outlinks if _extension(url) in SKIPPED_EXTENSIONS)
        if skipped:
            self.crawler.stats.inc_value("coprod/skipped/media_link", skipped)

    def on_error(self, failure: Failure) -> Iterator[PageItem]:
        item = failed_item(failure, self.crawler)
        if item is not None:
            yield item

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


def _within(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _extension(url: str) -> str:
    path = url.split("?", 1)[0].rsplit("/", 1)[-1]
    return path.rsplit(".", 1)[-1].lower() if "." in path else ""
