"""Running a crawl in this process (one per process: the Twisted reactor cannot restart)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.config import Config

__all__ = ["CrawlOutcome", "crawl_settings", "run_crawl"]

LOG_LEVELS = {0: "WARNING", 1: "INFO"}


@dataclass(frozen=True)
class CrawlOutcome:
    run_id: int | None
    reason: str
    stats: dict[str, Any]

    def describe(self) -> str:
        dropped = sum(v for k, v in self.stats.items() if k.startswith("coprod/dropped/"))
        return (
            f"run {self.run_id}: {self.reason}; {self.stats.get('response_received_count', 0)} responses, "
            f"{self.stats.get('coprod/stored', 0)} pages stored, {self.stats.get('coprod/stored/new_rows', 0)} new rows, "
            f"{dropped} dropped, {self.stats.get('coprod/stored/flagged', 0)} flagged"
        )


def crawl_settings(config: Config, sources: list[str], database_url: str, proxy: str | None, verbosity: int = 0) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("COPROD_SEEDS", str(config.path), priority="cmdline")
    settings.set("COPROD_DATABASE_URL", database_url, priority="cmdline")
    settings.set("COPROD_SELECTED_SOURCES", sources, priority="cmdline")
    if proxy:
        settings.set("COPROD_PROXY", proxy, priority="cmdline")
    settings.set("COPROD_PROGRESS_INTERVAL", 5.0, priority="cmdline")
    settings.set("LOG_LEVEL", LOG_LEVELS.get(verbosity, "DEBUG"), priority="cmdline")
    return settings


def run_crawl(config: Config, sources: list[str], database_url: str, proxy: str | None, verbosity: int = 0) -> CrawlOutcome:
    process = CrawlerProcess(crawl_settings(config, sources, database_url, proxy, verbosity))
    crawler = process.create_crawler("site")
    ended: dict[str, Any] = {"reason": "not started"}

    def closed(spider: Any, reason: str) -> None:
        ended["reason"] = reason
        ended["stats"] = dict(crawler.stats.get_stats())

    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler)
    process.start()
    stats = ended.get("stats", {})
    return CrawlOutcome(run_id=stats.get("coprod/run_id"), reason=ended["reason"], stats=stats)
