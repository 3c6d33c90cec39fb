"""The site spider: crawls each source's pages within its domains, depth and page cap.

Every response (and every failed fetch) becomes a `PageItem`; the pipelines decide what to
keep and record why the rest was dropped. Links are followed only inside the source's own
allowed domains, as clean URLs (no fragment, no tracking parameters); the canonical
fingerprinter makes trailing-slash and parameter-order variants one request.

With a catalogue, the crawl keeps a persistent frontier (`storage.frontier`): a crawl killed
at any moment resumes from the pages it had queued but not stored, and a finished crawl
clears it so the next visit starts from the start URLs again. Requests that yield no page
(forbidden by robots.txt, redirected to a page fetched already) stay queued until the crawl
finishes; a resume asks for them again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor
from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.python.failure import Failure

from crawler.config import Source
from crawler.items import PageItem
from crawler.urls import canonical_url, clean_url, host_of, is_http_url
from spiders._common import chosen_sources, failed_item, page_item
from storage import frontier
from storage.db import open_catalogue
from storage.models import Run, Source as SourceRow

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

    def __init__(self, sources: list[Source], pages_per_source: int, *args: Any, database_url: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.database_url = database_url
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
        database_url = crawler.settings.get("COPROD_DATABASE_URL")
        spider = cls(sources, crawler.settings.getint("COPROD_PAGES_PER_SOURCE", 500), *args, database_url=database_url, **kwargs)
        spider._set_crawler(crawler)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        requests = self._from_frontier() if self.database_url else [r for s in self.sources for r in self._start_requests(s)]
        for request in requests:
            yield request

    def _start_requests(self, source: Source) -> list[scrapy.Request]:
        requests = [self._request(source, url, depth=0) for url in source.start_urls]
        return [r for r in requests if r is not None]

    def _from_frontier(self) -> list[scrapy.Request]:
        """Each source's queued frontier when a crawl of it was interrupted, else its start
        requests, queued before any is fetched."""
        assert self.database_url
        run_id = self.crawler.stats.get_value("coprod/run_id")
        engine = open_catalogue(self.database_url)
        requests: list[scrapy.Request] = []
        try:
            with Session(engine) as session, session.begin():
                ids = {name: id_ for name, id_ in session.execute(select(SourceRow.name, SourceRow.id).where(SourceRow.name.in_(self.by_name)))}
                resumed: list[int] = []
                for source in self.sources:
                    state = frontier.load(session, ids[source.name])
                    if state.unfinished:
                        self.scheduled[source.name] = set(state.known)
                        requests += [self._queued_request(source, key, url, depth) for key, url, depth in state.queued]
                        self.crawler.stats.inc_value("coprod/frontier/resumed", len(state.queued))
                        if state.last_run_id is not None:
                            resumed.append(state.last_run_id)
                        continue
                    frontier.clear(session, [ids[source.name]])
                    fresh = self._start_requests(source)
                    frontier.seed(session, ids[source.name], [(r.meta["frontier_key"], r.url, 0) for r in fresh], run_id)
                    requests += fresh
                run = session.get(Run, run_id) if run_id is not None else None
                if run is not None and resumed:
                    run.resumed_run_id = max(resumed)
        finally:
            engine.dispose()
        return requests

    def closed(self, reason: str) -> None:
        # Only a crawl that ran to its end forgets its frontier; a stopped one resumes.
        if reason != "finished" or not self.database_url:
            return
        engine = open_catalogue(self.database_url)
        try:
            with Session(engine) as session, session.begin():
                frontier.clear(session, session.scalars(select(SourceRow.id).where(SourceRow.name.in_(self.by_name))).all())
        finally:
            engine.dispose()

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
        if item.html is None or not item.content_type or "html" not in item.content_type:
            return []
        depth = response.meta.get("depth", 0)
        if source.depth is not None and depth >= source.depth:
            return []
        requests = [self._request(source, link.url, depth=depth + 1) for link in self.extractors[source.name].extract_links(response)]
        # The page's links were read once already (for discovery); count the media among them.
        skipped = sum(1 for url, _ in item.outlinks if _extension(url) in SKIPPED_EXTENSIONS)
        if skipped:
            self.crawler.stats.inc_value("coprod/skipped/media_link", skipped)
        return [r for r in requests if r is not None]

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
        key = canonical_url(cleaned)
        seen = self.scheduled[source.name]
        if key in seen:
            return None
        if len(seen) >= self.page_cap[source.name]:
            self.crawler.stats.inc_value(f"coprod/skipped/page_cap/{source.name}")
            return None
        seen.add(key)
        return self._queued_request(source, key, cleaned, depth)

    def _queued_request(self, source: Source, key: str, url: str, depth: int) -> scrapy.Request:
        meta = {"source": source.name, "frontier_key": key, "depth": depth}
        return scrapy.Request(url, callback=self.parse, errback=self.on_error, meta=meta)


def _within(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _extension(url: str) -> str:
    path = url.split("?", 1)[0].rsplit("/", 1)[-1]
    return path.rsplit(".", 1)[-1].lower() if "." in path else ""
