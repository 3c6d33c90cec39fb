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

With a shared frontier (`crawl.frontier: redis://...`, `storage.shared_frontier`) every
crawler process on every machine is a worker of one crawl per source: `start` takes entries
from the shared queue while the downloader has room, links go to the shared queue (its
dupefilter and page cap count for every worker), and an entry is done when the store has
committed its page. The spider ends when nothing is queued or in flight for any worker.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import AsyncIterator, Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.linkextractors import IGNORED_EXTENSIONS
from scrapy.utils.asyncio import sleep
from twisted.python.failure import Failure

from crawler.core.config import Source
from crawler.core.errors import CatalogueError
from crawler.core.items import PageItem
from crawler.core.urls import canonical_url, clean_url, host_of, is_http_url
from pipelines.store import crawl_catalogue, stop_crawl
from spiders._common import chosen_sources, crawl_stopped, failed_item, page_item
from storage.crawl import CrawlCatalogue
from storage.shared_frontier import Entry

__all__ = ["SiteSpider"]

# Documents are fetched (and recorded as not HTML); media and archives are not fetched at all.
DOCUMENT_EXTENSIONS = {"pdf", "doc", "docx", "odt", "rtf", "xls", "xlsx", "ods", "ppt", "pptx", "odp"}
SKIPPED_EXTENSIONS = frozenset(IGNORED_EXTENSIONS) - DOCUMENT_EXTENSIONS
# A team crawl's worker: how often it looks at an empty shared queue again, and for dead workers.
POLL_SECONDS = 0.2
REAP_SECONDS = 3.0


class SiteSpider(scrapy.Spider):
    name = "site"

    @staticmethod
    def handles(source: Source) -> bool:
        # Telegram channels have their own spider; their web preview is not a site to crawl.
        return source.kind != "telegram" and bool(source.start_urls)

    def __init__(
        self,
        sources: list[Source],
        pages_per_source: int,
        *args: Any,
        catalogue: CrawlCatalogue | None = None,
        url_limit: int = 2083,
        depth_limit: int = 0,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.catalogue = catalogue
        self.url_limit = url_limit  # Scrapy's URLLENGTH_LIMIT, counted here rather than dropped unseen
        self.shared = catalogue.shared if catalogue else None
        self.depth_limit = depth_limit  # DEPTH_LIMIT: shared-frontier links skip DepthMiddleware
        self.capped: set[str] = set()  # sources whose shared page cap is reached
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
        spider = cls(
            sources, pages, *args, catalogue=crawl_catalogue(crawler), url_limit=limit, depth_limit=crawler.settings.getint("DEPTH_LIMIT", 0), **kwargs
        )
        spider._set_crawler(crawler)
        if spider.shared is not None:
            # A request that ends without a page is done too, or the crawl would wait for it.
            crawler.signals.connect(spider._request_left, signal=signals.request_dropped)
            crawler.signals.connect(spider._response_failed, signal=signals.spider_error)
            crawler.signals.connect(spider._item_failed, signal=signals.item_error)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if crawl_stopped(self.crawler):
            return
        if self.shared is not None:
            async for request in self._from_shared():
                yield request
            return
        try:
            requests = self._from_frontier() if self.catalogue else [r for s in self.sources for r in self._start_requests(s)]
        except CatalogueError as error:
            stop_crawl(self.crawler, "catalogue_error", str(error))
            return
        for request in requests:
            yield request

    async def _from_shared(self) -> AsyncIterator[scrapy.Request]:
        """Entries of the shared queue, one at a time while the downloader has room, until
        every source's crawl is done (nothing queued, nothing in flight anywhere)."""
        assert self.catalogue is not None and self.shared is not None
        stats = self.crawler.stats
        fresh = {s.name: [Entry(r.meta["frontier_key"], r.url, 0) for r in self._start_requests(s)] for s in self.sources}
        requeued = self.catalogue.join_shared(stats.get_value("coprod/run_id"), fresh, self.page_cap)
        stats.inc_value("coprod/frontier/requeued", sum(requeued.values()))
        active = [s.name for s in self.sources]
        reaped_at = time.monotonic()
        while active:
            if time.monotonic() - reaped_at > REAP_SECONDS:
                # A dead worker's entries go back to the queue while the others still work.
                stats.inc_value("coprod/frontier/requeued", sum(self.catalogue.reap_shared(active).values()))
                reaped_at = time.monotonic()
            engine = self.crawler.engine
            if engine is None or engine.needs_backout():
                await sleep(POLL_SECONDS / 4)
                continue
            entry = None
            for index, name in enumerate(active):
                entry = self.shared.pop(name)
                if entry is not None:
                    active.append(active.pop(index))  # the next pop starts with another source
                    stats.inc_value("coprod/frontier/popped")
                    yield self._queued_request(self.by_name[name], entry.key, entry.url, entry.depth, entry.referer)
                    break
            if entry is not None:
                continue
            active = [name for name in active if not self.shared.finished(name)]
            await sleep(POLL_SECONDS)

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
        if self.shared is not None:
            if self.shared.worker is None:
                return  # closed before it joined any crawl
            # What this worker still holds goes back to the queue; the last worker of a
            # finished crawl clears it.
            cleared = [name for name in self.by_name if self.shared.leave(name)]
            self.crawler.stats.set_value("coprod/frontier/cleared", len(cleared))
            return
        # Only a crawl that ran to its end forgets its frontier; a stopped one resumes.
        if reason == "finished" and self.catalogue is not None and not self.catalogue.failure:
            try:
                self.catalogue.clear_frontiers(list(self.by_name))
            except CatalogueError as error:
                self.logger.error("The frontier could not be cleared (the next crawl resumes from it): %(error)s", {"error": error})

    def _release(self, meta: dict[str, Any], why: str) -> None:
        assert self.shared is not None
        if meta.get("frontier_key") and meta.get("source") in self.by_name:
            self.shared.done([(meta["source"], meta["frontier_key"])])
            self.crawler.stats.inc_value(f"coprod/frontier/no_page/{why}")

    def _request_left(self, request: scrapy.Request, spider: scrapy.Spider) -> None:
        self._release(request.meta, "dropped")

    def _response_failed(self, failure: Failure, response: Response, spider: scrapy.Spider) -> None:
        self._release(response.meta, "spider_error")

    def _item_failed(self, item: Any, response: Response | None, spider: scrapy.Spider, failure: Failure) -> None:
        if isinstance(item, PageItem):
            self._release({"source": item.source, "frontier_key": item.frontier_key}, "item_error")

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
        if self.shared is not None and self.depth_limit and depth >= self.depth_limit:
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
        if self.shared is not None:
            self._share(source, requests, response.url)
            return []
        return requests

    def _share(self, source: Source, requests: list[scrapy.Request], referer: str) -> None:
        """Put a page's new links in the shared queue (before the page is stored, so a page
        done never lacks its links); the shared dupefilter and page cap decide."""
        assert self.shared is not None
        if not requests:
            return
        if source.name in self.capped:
            self.crawler.stats.inc_value(f"coprod/skipped/page_cap/{source.name}", len(requests))
            return
        entries = [Entry(r.meta["frontier_key"], r.url, r.meta["depth"], referer) for r in requests]
        for status in self.shared.push(source.name, entries, self.page_cap[source.name]):
            self.crawler.stats.inc_value(f"coprod/frontier/{status}")
            if status == "capped":
                self.capped.add(source.name)
                self.crawler.stats.inc_value(f"coprod/skipped/page_cap/{source.name}")

    def on_error(self, failure: Failure) -> Iterator[PageItem]:
        item = failed_item(failure, self.crawler)
        if item is not None:
            item.frontier_key = failure.request.meta.get("frontier_key")  # type: ignore[attr-defined]
            yield item
        elif self.shared is not None:
            self._release(failure.request.meta, "ignored")  # type: ignore[attr-defined]

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
        if self.shared is None and len(seen) >= self.page_cap[source.name]:
            self.crawler.stats.inc_value(f"coprod/skipped/page_cap/{source.name}")
            return None
        seen.add(key)
        self.known_links[source.name].add(url)
        return self._queued_request(source, key, cleaned, depth)

    def _queued_request(self, source: Source, key: str, url: str, depth: int, referer: str | None = None) -> scrapy.Request:
        meta = {"source": source.name, "frontier_key": key, "depth": depth}
        if self.shared is None:
            return scrapy.Request(url, callback=self.parse, errback=self.on_error, meta=meta)
        # The shared frontier is the dupefilter; this process's own one would not know it.
        headers = {"Referer": referer} if referer else None
        return scrapy.Request(url, callback=self.parse, errback=self.on_error, meta=meta, headers=headers, dont_filter=True)


def _within(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


@lru_cache(maxsize=1 << 16)
def _extension(url: str) -> str:
    return posixpath.splitext(urlsplit(url).path)[1][1:].lower()
