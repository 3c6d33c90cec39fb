"""The site spider: crawls each source's pages within its domains, depth and page cap.

Every response (and every failed fetch) becomes a `PageItem`; the pipelines decide what to
keep and record why the rest was dropped. Links are followed only inside the source's own
allowed domains (by host: a site on any port is crawled like any other), as clean URLs (no
fragment, no tracking parameters); the canonical fingerprinter makes trailing-slash and
parameter-order variants one request. A page's links are read once (`page_item`), for
discovery and for following; a link already scheduled is skipped before any request is built.

With a catalogue, the crawl keeps a persistent frontier (`storage.frontier`): a crawl killed
at any moment resumes from the pages it had queued but not stored, and a finished crawl
clears it so the next visit starts from the start URLs again. Requests that yield no page
(forbidden by robots.txt, redirected to a page fetched already) stay queued until the crawl
finishes; a resume asks for them again.
"""

from __future__ import annotations

import posixpath
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.linkextractors import IGNORED_EXTENSIONS
from twisted.python.failure import Failure

from crawler.core.config import Source
from crawler.core.errors import CatalogueError
from crawler.core.items import PageItem
from crawler.core.urls import canonical_url, clean_url, host_of, is_http_url
from pipelines.store import crawl_catalogue, stop_crawl
from spiders._common import chosen_sources, crawl_stopped, failed_item, page_item
from storage.crawl import CrawlCatalogue

__all__ = ["SiteSpider"]

# Documents are fetched (and recorded as not HTML); media and archives are not fetched at all.
DOCUMENT_EXTENSIONS = {"pdf", "doc", "docx", "odt", "rtf", "xls", "xlsx", "ods", "ppt", "pptx", "odp"}
SKIPPED_EXTENSIONS = frozenset(IGNORED_EXTENSIONS) - DOCUMENT_EXTENSIONS


class SiteSpider(scrapy.Spider):
    name = "site"

    @staticmethod
    def handles(source: Source) -> bool:
        # Telegram channels have their own spider; their web preview is not a site to crawl.
        return source.kind != "telegram" and bool(source.start_urls)

    def __init__(
        self, sources: list[Source], pages_per_source: int, *args: Any, catalogue: CrawlCatalogue | None = None, url_limit: int = 2083, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.catalogue = catalogue
        self.url_limit = url_limit  # Scrapy's URLLENGTH_LIMIT, counted here rather than dropped unseen
        self.sources = [s for s in sources if self.handles(s)]
        self.by_name = {s.name: s for s in self.sources}
        self.page_cap = {s.name: s.pages or pages_per_source for s in self.sources}
        self.allowed_domains = sorted({d for s in self.sources for d in s.domains})
        self.scheduled: dict[str, set[str]] = {s.name: set() for s in self.sources}  # canonical URLs
        # Links as pages write them whose page is scheduled already, or that lead off the
        # source: met again (menus, footers, related stories), they cost a set lookup, not a
        # canonicalisation.
        self.known_links: dict[str, set[str]] = {s.name: set() for s in self.sources}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        sources = chosen_sources(crawler, kwargs.pop("source", None), cls.handles)
        pages = crawler.settings.getint("COPROD_PAGES_PER_SOURCE", 500)
        limit = crawler.settings.getint("URLLENGTH_LIMIT", 2083)
        spider = cls(sources, pages, *args, catalogue=crawl_catalogue(crawler), url_limit=limit, **kwargs)
        spider._set_crawler(crawler)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if crawl_stopped(self.crawler):
            return
        try:
            requests = self._from_frontier() if self.catalogue else [r for s in self.sources for r in self._start_requests(s)]
        except CatalogueError as error:
            stop_crawl(self.crawler, "catalogue_error", str(error))
            return
        for request in requests:
            yield request

    def _start_requests(self, source: Source) -> list[scrapy.Request]:
        requests = [self._request(source, url, depth=0) for url in source.start_urls]
        return [r for r in requests if r is not None]

    def _from_frontier(self) -> list[scrapy.Request]:
        """Each source's queued frontier when a crawl of it was interrupted, else its start
        requests, queued before any is fetched."""
        assert self.catalogue is not None
        fresh = {s.name: self._start_requests(s) for s in self.sources}
        entries = {name: [(r.meta["frontier_key"], r.url, 0) for r in requests] for name, requests in fresh.items()}
        opened = self.catalogue.open_frontiers(entries, self.crawler.stats.get_value("coprod/run_id"))
        requests: list[scrapy.Request] = []
        for source in self.sources:
            state = opened[source.name]
            if state is None:
                requests += fresh[source.name]
                continue
            self.scheduled[source.name] = set(state.known)
            self.known_links[source.name].clear()
            requests += [self._queued_request(source, key, url, depth) for key, url, depth in state.queued]
            self.crawler.stats.inc_value("coprod/frontier/resumed", len(state.queued))
        return requests

    def closed(self, reason: str) -> None:
        # Only a crawl that ran to its end forgets its frontier; a stopped one resumes.
        if reason == "finished" and self.catalogue is not None and not self.catalogue.failure:
            try:
                self.catalogue.clear_frontiers(list(self.by_name))
            except CatalogueError as error:
                self.logger.error("The frontier could not be cleared (the next crawl resumes from it): %(error)s", {"error": error})

    def parse(self, response: Response) -> Iterator[PageItem | scrapy.Request]:
        source = self.by_name[response.meta["source"]]
        self.crawler.stats.inc_value(f"coprod/fetched/{source.name}")
        item = page_item(response, source.name)
        item.frontier_key = response.meta.get("frontier_key")
        requests = self._follow(source, response, item)
        # The store marks this page done and queues these in one transaction.
        item.follow = [(r.meta["frontier_key"], r.url, r.meta["depth"]) for r in requests]
        yield item
        yield from requests

    def _follow(self, source: Source, response: Response, item: PageItem) -> list[scrapy.Request]:
        """Requests for the page's links (read once, in `page_item`) that stay in the source's
        domains and were not scheduled yet; media links are counted, not fetched."""
        if item.html is None or not item.content_type or "html" not in item.content_type:
            return []
        depth = response.meta.get("depth", 0)
        if source.depth is not None and depth >= source.depth:
            return []
        known = self.known_links[source.name]
        requests, media = [], 0
        for url, _ in item.outlinks:
            if url in known:  # most of a page's links, once a crawl is under way
                continue
            if _extension(url) in SKIPPED_EXTENSIONS:
                media += 1
            elif not is_http_url(url) or not _within(host_of(url), source.domains):
                known.add(url)  # decided for good: never followed
            else:
                request = self._request(source, url, depth=depth + 1)
                if request is not None:
                    requests.append(request)
        if media:
            self.crawler.stats.inc_value("coprod/skipped/media_link", media)
        return requests

    def on_error(self, failure: Failure) -> Iterator[PageItem]:
        item = failed_item(failure, self.crawler)
        if item is not None:
            item.frontier_key = failure.request.meta.get("frontier_key")  # type: ignore[attr-defined]
            yield item

    def _request(self, source: Source, url: str, depth: int) -> scrapy.Request | None:
        if not is_http_url(url):
            return None
        cleaned = clean_url(url)
        if not _within(host_of(cleaned), source.domains):
            self.crawler.stats.inc_value("coprod/skipped/offsite")
            return None
        if len(cleaned) > self.url_limit:
            self.crawler.stats.inc_value("coprod/skipped/url_too_long")
            return None
        key = canonical_url(cleaned)
        seen = self.scheduled[source.name]
        if key in seen:
            self.known_links[source.name].add(url)
            return None
        if len(seen) >= self.page_cap[source.name]:
            self.crawler.stats.inc_value(f"coprod/skipped/page_cap/{source.name}")
            return None
        seen.add(key)
        self.known_links[source.name].add(url)
        return self._queued_request(source, key, cleaned, depth)

    def _queued_request(self, source: Source, key: str, url: str, depth: int) -> scrapy.Request:
        meta = {"source": source.name, "frontier_key": key, "depth": depth}
        return scrapy.Request(url, callback=self.parse, errback=self.on_error, meta=meta)


def _within(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


@lru_cache(maxsize=1 << 16)
def _extension(url: str) -> str:
    return posixpath.splitext(urlsplit(url).path)[1][1:].lower()
