"""Store stage: write pages, kept or dropped, into the catalogue in batches.

Pages are upserted by canonical URL, so a crawl run twice adds no row twice. Writes are
batched (`COPROD_STORE_BATCH_SIZE`): one commit per batch, never one per item. Pages that
an earlier stage dropped are stored too, with the reason, through the item_dropped signal.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crawler.config import Source
from crawler.items import PageItem
from pipelines._drop import PageDropped
from storage import frontier
from storage.db import open_catalogue, start_run, sync_sources, write_pages
from storage.runs import mark_interrupted, record_process

__all__ = ["StorePipeline"]

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler: Crawler, database_url: str, batch_size: int, sources: list[Source], seeds_sha256: str | None):
        self.crawler = crawler
        self.database_url = database_url
        self.batch_size = batch_size
        self.sources = sources
        self.seeds_sha256 = seeds_sha256
        self.engine: Engine | None = None
        self.source_ids: dict[str, int] = {}
        self.run_id: int | None = None
        self.buffer: list[tuple[PageItem, str | None, str | None]] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        settings = crawler.settings
        url = settings.get("COPROD_DATABASE_URL")
        if not url:
            raise NotConfigured("no catalogue database (COPROD_DATABASE_URL)")
        sources = [Source.model_validate(s) for s in settings.getlist("COPROD_SOURCES")]
        pipeline = cls(crawler, url, settings.getint("COPROD_STORE_BATCH_SIZE", 100), sources, settings.get("COPROD_SEEDS_SHA256"))
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        return pipeline

    def open_spider(self) -> None:
        self.engine = open_catalogue(self.database_url)
        spider = self.crawler.spider
        names = [s.name for s in getattr(spider, "sources", self.sources)]
        for attempt in (1, 2):
            try:
                with Session(self.engine) as session, session.begin():
                    self.source_ids = sync_sources(session, self.sources)
                    mark_interrupted(session)
                    self.run_id = start_run(session, spider.name if spider else "?", names, self.seeds_sha256)
                    record_process(session, self.run_id)
                break
            except IntegrityError:
                # Another crawler added the same new sources a moment ago: read theirs.
                if attempt == 2:
                    raise
        # The run recorder extension reads it to write the final stats to this run.
        self.crawler.stats.set_value("coprod/run_id", self.run_id)

    def process_item(self, item: PageItem) -> PageItem:
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
        self._flush()
        if self.engine is not None:
            self.engine.dispose()
            self.engine = None

    def _add(self, item: PageItem, reason: str | None, detail: str | None) -> None:
        self.buffer.append((item, reason, detail))
        if len(self.buffer) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        if not self.buffer or self.engine is None:
            return
        batch, self.buffer = self.buffer, []
        with Session(self.engine) as session, session.begin():
            created = write_pages(session, batch, self.source_ids, self.run_id)
            frontier.record(session, batch, self.source_ids, self.run_id)
        kept = sum(1 for _, reason, _ in batch if reason is None)
        self.crawler.stats.inc_value("coprod/stored", kept)
        self.crawler.stats.inc_value("coprod/stored/new_rows", created)
        self.crawler.stats.inc_value("coprod/stored/unchanged", sum(1 for item, _, _ in batch if item.not_modified))
        self.crawler.stats.inc_value("coprod/stored/flagged", sum(1 for item, reason, _ in batch if reason is None and (item.relevance or {}).get("flagged")))
        logger.debug("Stored %(n)d pages (%(new)d new rows)", {"n": len(batch), "new": created})
