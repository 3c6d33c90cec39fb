"""Crawl extensions: the run record and progress lines."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

from crawler.core.errors import CatalogueError
from crawler.core.reasons import nothing_fetched
from pipelines.store import crawl_catalogue
from storage.crawl import CrawlCatalogue

__all__ = ["Progress", "RunRecorder", "run_outcome"]

logger = logging.getLogger(__name__)


def run_outcome(reason: str, stats: Mapping[str, Any]) -> str:
    """How a run ended, for its record: Scrapy's reason, except that a crawl stopped by a
    failure says which, and one in which every fetch failed is `nothing_fetched`."""
    if stats.get("coprod/stopped"):
        return str(stats["coprod/stopped"])
    if reason == "finished" and nothing_fetched(stats):
        return "nothing_fetched"
    return reason


class RunRecorder:
    """Writes the crawl's final Scrapy stats and finish reason to its run row.

    The store pipeline creates the run when the spider opens; pipelines close before the
    `spider_closed` signal, which is the first moment the finish reason is known.
    """

    def __init__(self, crawler: Crawler, catalogue: CrawlCatalogue):
        self.crawler = crawler
        self.catalogue = catalogue

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        catalogue = crawl_catalogue(crawler)
        if catalogue is None:
            raise NotConfigured
        recorder = cls(crawler, catalogue)
        crawler.signals.connect(recorder.spider_closed, signal=signals.spider_closed)
        return recorder

    def spider_closed(self, spider: Spider, reason: str) -> None:
        stats = self.crawler.stats
        run_id = stats.get_value("coprod/run_id")
        if run_id is None or self.catalogue.failure:
            return  # nothing can be written (the run is marked interrupted once its process is gone)
        try:
            stats.set_value("coprod/stored/new_pages", self.catalogue.new_pages(run_id))
            self.catalogue.finish_run(run_id, run_outcome(reason, stats.get_stats()), stats.get_stats())
        except CatalogueError as error:
            logger.error("The end of run %(run)s could not be recorded: %(error)s", {"run": run_id, "error": error})


class Progress:
    """Prints a one-line summary every `COPROD_PROGRESS_INTERVAL` seconds (0 turns it off)."""

    def __init__(self, crawler: Crawler, interval: float, stream: TextIO):
        self.crawler = crawler
        self.interval = interval
        self.stream = stream
        self.task = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        interval = crawler.settings.getfloat("COPROD_PROGRESS_INTERVAL", 0)
        if interval <= 0:
            raise NotConfigured
        progress = cls(crawler, interval, sys.stderr)
        crawler.signals.connect(progress.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(progress.spider_closed, signal=signals.spider_closed)
        return progress

    def spider_opened(self, spider: Spider) -> None:
        self.task = create_looping_call(self.report)
        self.task.start(self.interval, now=False)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        self.report(final=True)

    def report(self, final: bool = False) -> None:
        stats = self.crawler.stats.get_stats()
        dropped = sum(v for k, v in stats.items() if k.startswith("coprod/dropped/"))
        queued = stats.get("scheduler/enqueued", 0) - stats.get("scheduler/dequeued", 0)
        label = "done" if final else "crawling"
        name = self.crawler.spider.name if self.crawler.spider else "crawl"
        self.stream.write(
            f"{name}: {label}: {stats.get('response_received_count', 0)} fetched, {stats.get('coprod/stored', 0)} stored, "
            f"{dropped} dropped, {stats.get('coprod/stored/flagged', 0)} flagged, {queued} queued\n"
        )
        self.stream.flush()
