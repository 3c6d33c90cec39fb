"""Running a crawl in this process (one per process: the Twisted reactor cannot restart)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.core.config import Config, Source
from spiders.feeds import FeedSpider
from spiders.site import SiteSpider
from spiders.telegram import TelegramSpider

__all__ = ["CrawlOutcome", "crawl_settings", "run_crawl"]

LOG_LEVELS = {0: "WARNING", 1: "INFO"}
SPIDERS = (SiteSpider, FeedSpider, TelegramSpider)


@dataclass(frozen=True)
class CrawlOutcome:
    """How each spider's run ended, with its Scrapy stats."""

    runs: dict[str, tuple[int | None, str, dict[str, Any]]]  # spider -> (run id, reason, stats)

    @property
    def reason(self) -> str:
        reasons = {reason for _, reason, _ in self.runs.values()}
        return "finished" if reasons <= {"finished"} else ",".join(sorted(reasons - {"finished"}))

    def describe(self) -> str:
        lines = []
        for spider, (run_id, reason, stats) in self.runs.items():
            dropped = sum(v for k, v in stats.items() if k.startswith("coprod/dropped/"))
            lines.append(
                f"run {run_id} ({spider}): {reason}; {stats.get('response_received_count', 0)} responses, "
                f"{stats.get('coprod/stored', 0)} pages stored, {stats.get('coprod/stored/new_rows', 0)} new rows, "
                f"{dropped} dropped, {stats.get('coprod/stored/flagged', 0)} flagged"
            )
        return "\n".join(lines) or "nothing to crawl"


def crawl_settings(
    config: Config,
    sources: list[str],
    database_url: str,
    proxy: str | None,
    verbosity: int = 0,
    extra_sources: list[Source] = (),
    workers: str | None = None,
) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("COPROD_SEEDS", str(config.path), priority="cmdline")
    settings.set("COPROD_DATABASE_URL", database_url, priority="cmdline")
    settings.set("COPROD_SELECTED_SOURCES", sources, priority="cmdline")
    settings.set("COPROD_EXTRA_SOURCES", [s.model_dump(mode="json") for s in extra_sources], priority="cmdline")
    if proxy:
        settings.set("COPROD_PROXY", proxy, priority="cmdline")
    if workers is not None:  # the flag or $COPROD_WORKERS; else the study file's crawl.workers
        settings.set("COPROD_WORKERS", workers, priority="cmdline")
    settings.set("COPROD_PROGRESS_INTERVAL", 5.0, priority="cmdline")
    settings.set("LOG_LEVEL", LOG_LEVELS.get(verbosity, "DEBUG"), priority="cmdline")
    return settings


def run_crawl(
    config: Config,
    sources: list[Source],
    database_url: str,
    proxy: str | None,
    verbosity: int = 0,
    extra_sources: list[Source] = (),
    workers: str | None = None,
) -> CrawlOutcome:
    """Crawl the sources with every spider that has work for them, side by side in one process."""
    settings = crawl_settings(config, [s.name for s in sources], database_url, proxy, verbosity, extra_sources, workers)
    process = CrawlerProcess(settings)
    ended: dict[str, tuple[int | None, str, dict[str, Any]]] = {}
    for spider in SPIDERS:
        if not any(spider.handles(s) for s in sources):
            continue
        crawler = process.create_crawler(spider)

        def closed(spider: Any, reason: str, crawler: Any = crawler) -> None:
            stats = dict(crawler.stats.get_stats())
            ended[spider.name] = (stats.get("coprod/run_id"), reason, stats)

        crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)
        process.crawl(crawler)
    if process.crawlers:
        process.start()
    return CrawlOutcome(ended)
