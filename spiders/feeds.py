"""The feeds spider: RSS/Atom feeds and XML sitemaps (indexes, news sitemaps, and the
``Sitemap:`` lines of robots.txt) lead to article pages.

Entries dated outside the study window are not followed; undated ones are. A malformed
feed or sitemap is recorded as a page with its reason (`malformed_feed`, `decompression_bomb`)
and never stops the crawl; one readable in part has its entries followed and is recorded as
`malformed_feed` with the entries it lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.core.config import Source
from crawler.core.items import PageItem
from crawler.core.urls import canonical_url, clean_url, host_of
from spiders._common import chosen_sources, crawl_stopped, failed_item, now, page_item
from spiders.feeds_parse import FeedError, in_window, parse_feed_or_sitemap, sitemaps_in_robots

__all__ = ["FeedSpider"]


class FeedSpider(scrapy.Spider):
    name = "feeds"

    @staticmethod
    def handles(source: Source) -> bool:
        return source.kind != "telegram" and bool(source.feeds or source.sitemaps)

    def __init__(self, sources: list[Source], window: tuple[dt.date, dt.date], *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sources = sources
        self.by_name = {s.name: s for s in sources}
        self.window = window
        self.allowed_domains = sorted({d for s in sources for d in s.domains})

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FeedSpider:
        sources = chosen_sources(crawler, kwargs.pop("source", None), cls.handles)
        start, end = (dt.date.fromisoformat(d) for d in crawler.settings.getlist("COPROD_WINDOW"))
        spider = cls(sources, (start, end), *args, **kwargs)
        spider._set_crawler(crawler)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if crawl_stopped(self.crawler):
            return
        for source in self.sources:
            for url in source.feeds + source.sitemaps:
                callback = self.parse_robots if url.rstrip("/").endswith("/robots.txt") else self.parse_document
                yield scrapy.Request(clean_url(url), callback=callback, errback=self.on_error, meta={"source": source.name}, dont_filter=True)

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        for url in sitemaps_in_robots(response.text, response.url):
            yield scrapy.Request(url, callback=self.parse_document, errback=self.on_error, meta=response.meta)

    def parse_document(self, response: Response) -> Iterator[PageItem | scrapy.Request]:
        source = self.by_name[response.meta["source"]]
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        try:
            parsed = parse_feed_or_sitemap(response.body, response.url, content_type)
        except FeedError as error:
            self.crawler.stats.inc_value("coprod/feeds/malformed")
            yield self._broken(response, source, content_type, error.reason, str(error))
            return
        if parsed.problems:
            self.crawler.stats.inc_value("coprod/feeds/problems", len(parsed.problems))
            self.logger.info("%s: %s", response.url, "; ".join(parsed.problems[:5]))
        if parsed.lost:
            # The entries it could read are followed; the document is recorded with the ones it lost.
            self.crawler.stats.inc_value("coprod/feeds/entries_lost", len(parsed.lost))
            lost = f"{len(parsed.entries)} entries read; lost: " + "; ".join(parsed.lost)
            yield self._broken(response, source, content_type, "malformed_feed", lost)
        for entry in parsed.entries:
            if not any(host_of(entry.url) == d or host_of(entry.url).endswith("." + d) for d in source.domains):
                self.crawler.stats.inc_value("coprod/skipped/offsite")
                continue
            if entry.kind == "sitemap":
                yield scrapy.Request(entry.url, callback=self.parse_document, errback=self.on_error, meta={"source": source.name})
            elif in_window(entry, *self.window) is False:
                self.crawler.stats.inc_value("coprod/feeds/outside_window")
            else:
                yield scrapy.Request(clean_url(entry.url), callback=self.parse_article, errback=self.on_error, meta={"source": source.name})

    def _broken(self, response: Response, source: Source, content_type: str | None, reason: str, detail: str) -> PageItem:
        return PageItem(
            url=canonical_url(response.url), source=source.name, fetched_url=response.url, fetched_at=now(),
            http_status=response.status, content_type=content_type, fetch_error=reason, fetch_error_detail=detail,
        )

    def parse_article(self, response: Response) -> Iterator[PageItem]:
        self.crawler.stats.inc_value(f"coprod/fetched/{response.meta['source']}")
        yield page_item(response, response.meta["source"])

    def on_error(self, failure: Failure) -> Iterator[PageItem]:
        item = failed_item(failure, self.crawler)
        if item is not None:
            yield item
