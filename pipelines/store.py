"""Store stage: write pages, kept or dropped, into the catalogue in batches.

Pages are upserted by canonical URL, so a crawl run twice adds no row twice. Writes are
batched (`COPROD_STORE_BATCH_SIZE`): one commit per batch, never one per item, and at least
every `COPROD_STORE_FLUSH_SECONDS`, so a slow crawl's pages (and, in a team crawl, the shared
frontier's entries they complete) do not wait for a full batch. Pages that
an earlier stage dropped are stored too, with the reason, through the item_dropped signal.

`crawl_catalogue(crawler)` is the crawl's one catalogue access (`storage.crawl`), shared by
the spider, this pipeline, the conditional-request middleware and the run recorder.

A commit that fails stops the crawl (`stop_crawl`): fetching on would only lose pages.
"""

from __future__ import annotations

import logging
from typing import Any
from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import IntegrityError

from crawler.core.config import Source
from crawler.core.errors import CatalogueError
from crawler.core.items import PageItem
from pipelines._drop import PageDropped
from pipelines.dedup import CopyFinder
from pipelines.search import index_pending
from storage.crawl import CrawlCatalogue

__all__ = ["StorePipeline", "crawl_catalogue", "stop_crawl"]

logger = logging.getLogger(__name__)

_CATALOGUES: WeakKeyDictionary[Crawler, CrawlCatalogue] = WeakKeyDictionary()


def crawl_catalogue(crawler: Crawler) -> CrawlCatalogue | None:
    """The catalogue of this crawl (`COPROD_DATABASE_URL`), one per crawler, closed when its
    engine stops; None when the crawl has no catalogue."""
    catalogue = _CATALOGUES.get(crawler)
    if catalogue is None:
        url = crawler.settings.get("COPROD_DATABASE_URL")
        if not url:
            return None
        catalogue = _CATALOGUES[crawler] = CrawlCatalogue(url, crawler.settings.get("COPROD_FRONTIER") or None)
        # After every spider_closed handler (the run recorder, the spider's frontier).
        crawler.signals.connect(catalogue.close, signal=signals.engine_stopped, weak=False)
    return catalogue


def stop_crawl(crawler: Crawler, reason: str, message: str) -> None:
    """Stop the crawl at once, for good: close the spider with `reason` (its run fails) and
    say why, once. Called when the catalogue or the captures cannot be written."""
    stats = crawler.stats
    if stats.get_value("coprod/stopped"):
        return
    stats.set_value("coprod/stopped", reason)
    stats.set_value("coprod/stopped_because", message)
    # `coprod crawl` says it once more as its last line; the terminal skips this one (`said`).
    logger.error("%(message)s; the crawl stops", {"message": message}, extra={"said": True})
    engine = crawler.engine
    if engine is not None and engine.spider is not None and getattr(engine, "_slot", None) is not None:
        deferred_from_coro(engine.close_spider_async(reason=reason))


class StorePipeline:
    def __init__(
        self, crawler: Crawler, catalogue: CrawlCatalogue, batch_size: int, sources: list[Source], seeds_sha256: str | None, flush_seconds: float = 2.0
    ):
        self.crawler = crawler
        self.catalogue = catalogue
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.timer: Any = None
        self.sources = sources
        self.seeds_sha256 = seeds_sha256
        self.opened = False
        self.source_ids: dict[str, int] = {}
        self.run_id: int | None = None
        self.buffer: list[tuple[PageItem, str | None, str | None]] = []
        self.copies: CopyFinder | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        settings = crawler.settings
        catalogue = crawl_catalogue(crawler)
        if catalogue is None:
            raise NotConfigured("no catalogue database (COPROD_DATABASE_URL)")
        sources = [Source.model_validate(s) for s in settings.getlist("COPROD_SOURCES")]
        pipeline = cls(
            crawler, catalogue, settings.getint("COPROD_STORE_BATCH_SIZE", 100), sources, settings.get("COPROD_SEEDS_SHA256"),
            settings.getfloat("COPROD_STORE_FLUSH_SECONDS", 2.0),
        )
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    def open_spider(self) -> None:
        spider = self.crawler.spider
        names = [s.name for s in getattr(spider, "sources", self.sources)]
        for attempt in (1, 2):
            try:
                self.run_id, self.source_ids = self.catalogue.start_run(spider.name if spider else "?", self.sources, names, self.seeds_sha256)
                break
            except IntegrityError:
                # Another crawler added the same new sources a moment ago: read theirs.
                if attempt == 2:
                    raise
            except CatalogueError as error:
                # Nothing is fetched: the spiders see `catalogue.failure` and start no request.
                stop_crawl(self.crawler, "catalogue_error", str(error))
                return
        self.opened = True
        # The stories stored before this crawl, to tell an aggregator's copy from its original.
        self.copies = CopyFinder(self.catalogue.signatures(), self.catalogue.stories)
        # The run recorder extension reads it to write the final stats to this run.
        self.crawler.stats.set_value("coprod/run_id", self.run_id)
        if self.flush_seconds > 0:
            self.timer = create_looping_call(self._flush)
            self.timer.start(self.flush_seconds, now=False)

    def process_item(self, item: PageItem) -> PageItem:
        if self.copies is not None:
            self.copies.mark(item)
            # A copy found now, or earlier copies this original replaces: the count does not
            # depend on which of the two arrived first (workers change the order).
            copies = int(bool(item.copy_of)) + len(item.replaces)
            if copies:
                self.crawler.stats.inc_value("coprod/stored/near_copies", copies)
        self._add(item, None, None)
        return item

    def item_dropped(self, item: Any, response: Any, exception: BaseException, spider: Any) -> None:
        if not isinstance(item, PageItem):
            return
        reason = exception.reason if isinstance(exception, PageDropped) else "dropped"
        detail = exception.detail if isinstance(exception, PageDropped) else str(exception)
        self.crawler.stats.inc_value(f"coprod/dropped/{reason}")
        self._add(item, reason, detail)

    def close_spider(self) -> None:
        if self.timer is not None and self.timer.running:
            self.timer.stop()
        self._flush()
        if self.opened:
            # The queue's search words of the candidates this crawl made or changed.
            with self.catalogue.session() as session, session.begin():
                self.crawler.stats.set_value("coprod/search_indexed", index_pending(session))

    def _add(self, item: PageItem, reason: str | None, detail: str | None) -> None:
        self.buffer.append((item, reason, detail))
        if len(self.buffer) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self.buffer or not self.opened or self.catalogue.failure:
            return
        batch, self.buffer = self.buffer, []
        try:
            created = self.catalogue.store(batch, self.source_ids, self.run_id)
        except CatalogueError as error:
            self.crawler.stats.inc_value("coprod/store/lost", len(batch))
            stop_crawl(self.crawler, "catalogue_error", f"{error} ({len(batch)} pages not stored)")
            return
        kept = sum(1 for _, reason, _ in batch if reason is None)
        self.crawler.stats.inc_value("coprod/stored", kept)
        self.crawler.stats.inc_value("coprod/stored/new_rows", created)
        self.crawler.stats.inc_value("coprod/stored/unchanged", sum(1 for item, _, _ in batch if item.not_modified))
        self.crawler.stats.inc_value("coprod/stored/flagged", sum(1 for item, reason, _ in batch if reason is None and (item.relevance or {}).get("flagged")))
        logger.debug("Stored %(n)d pages (%(new)d new rows)", {"n": len(batch), "new": created})
