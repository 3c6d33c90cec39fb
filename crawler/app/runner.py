"""Running a crawl in this process (one per process: the Twisted reactor cannot restart).

The crawl's whole log (Scrapy's, the libraries' warnings, tracebacks) goes to a file in the
state directory, `logs/crawl-<time>-<pid>.log`; the terminal gets coprod's progress lines and
one line per warning or error of coprod and Scrapy, without tracebacks, and never the
libraries' chatter (trafilatura, htmldate...), so a crawl run by hand stays readable.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.app.locks import state_dir
from crawler.core.config import Config, Source
from crawler.core.reasons import failed_fetches, nothing_fetched
from crawler.extensions import run_outcome
from spiders.feeds import FeedSpider
from spiders.site import SiteSpider
from spiders.telegram import TelegramSpider

__all__ = ["CrawlOutcome", "TerminalFilter", "crawl_log_path", "crawl_settings", "run_crawl"]

LOG_LEVELS = {0: "WARNING", 1: "INFO"}
SPIDERS = (SiteSpider, FeedSpider, TelegramSpider)
KEPT_LOGS = 50  # crawl logs kept in the state directory, newest first

# Loggers whose records reach the terminal (coprod's packages, its spiders, Scrapy and
# Twisted); any other, a library's (trafilatura, htmldate...), goes to the log file only.
TERMINAL_LOGGERS = frozenset({"crawler", "spiders", "pipelines", "storage", "review", "scrapy", "twisted"} | {s.name for s in SPIDERS})
# Failures the crawl records anyway, with the page's reason: said in the file, not twice on screen.
FILE_ONLY_LOGGERS = (
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.downloadermiddlewares.httpcompression",
    "scrapy.core.downloader.handlers",
)


class TerminalFilter(logging.Filter):
    """Lets through coprod's and Scrapy's records (`_OneLine` prints each on one line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "said", False):  # the command says it in its own words at the end
            return False
        return record.name.split(".", 1)[0] in TERMINAL_LOGGERS and not record.name.startswith(FILE_ONLY_LOGGERS)


class _OneLine(logging.Formatter):
    def __init__(self, log_file: Path):
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.log_file = log_file

    def format(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(self._plain(record))
        return f"{line} (details in {self.log_file})" if record.exc_info or record.exc_text else line

    @staticmethod
    def _plain(record: logging.LogRecord) -> logging.LogRecord:
        plain = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        plain.message = plain.getMessage().splitlines()[0] if plain.getMessage() else ""
        return plain


def crawl_log_path(state: Path, now: dt.datetime | None = None) -> Path:
    """A new log file for this crawl; the oldest beyond `KEPT_LOGS` are removed."""
    folder = state / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob("crawl-*.log"))[: -KEPT_LOGS + 1 or None]:
        old.unlink(missing_ok=True)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S")
    return folder / f"crawl-{stamp}-{os.getpid()}.log"


@dataclass(frozen=True)
class CrawlOutcome:
    """How each spider's run ended, with its Scrapy stats."""

    runs: dict[str, tuple[int | None, str, dict[str, Any]]]  # spider -> (run id, reason, stats)
    expected: tuple[str, ...] = ()  # the spiders started: one that never closed failed to open
    log_file: Path | None = None

    @property
    def reasons(self) -> dict[str, str]:
        """Each spider's outcome (`run_outcome`: a stop or a crawl that fetched nothing fails)."""
        ended = {spider: run_outcome(reason, stats) for spider, (_, reason, stats) in self.runs.items()}
        return ended | {spider: "not_started" for spider in self.expected if spider not in ended}

    @property
    def reason(self) -> str:
        reasons = set(self.reasons.values())
        return "finished" if reasons <= {"finished"} else ",".join(sorted(reasons - {"finished"}))

    @property
    def stopped_because(self) -> str | None:
        """Why the crawl was stopped (the catalogue or the captures cannot be written)."""
        return next((str(stats["coprod/stopped_because"]) for _, _, stats in self.runs.values() if stats.get("coprod/stopped_because")), None)

    def describe(self) -> str:
        """One line per run, then a WARN line per run that fetched nothing, with the causes."""
        lines, warnings = [], []
        for spider, (run_id, reason, stats) in self.runs.items():
            dropped = sum(v for k, v in stats.items() if k.startswith("coprod/dropped/"))
            failed = failed_fetches(stats)
            lines.append(
                f"run {run_id} ({spider}): {run_outcome(reason, stats)}; {stats.get('response_received_count', 0)} responses, "
                f"{stats.get('coprod/stored', 0)} pages stored ({stats.get('coprod/stored/new_pages', 0)} new), "
                f"{dropped} dropped ({sum(failed.values())} failed fetches), {stats.get('coprod/stored/flagged', 0)} flagged"
            )
            if nothing_fetched(stats):
                causes = ", ".join(f"{why}: {n}" for why, n in failed.items())
                warnings.append(f"WARN {spider}: nothing fetched, every request failed ({causes}); is the network down, or the sources gone or broken?")
        lines += [f"WARN {spider}: did not start" for spider, why in self.reasons.items() if why == "not_started"]
        return "\n".join(lines + warnings) or "nothing to crawl"


def crawl_settings(
    config: Config,
    sources: list[str],
    database_url: str,
    proxy: str | None,
    verbosity: int = 0,
    extra_sources: list[Source] = (),
    captures: Path | None = None,
    workers: str | None = None,
    frontier: str | None = None,
) -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("COPROD_SEEDS", str(config.path), priority="cmdline")
    settings.set("COPROD_DATABASE_URL", database_url, priority="cmdline")
    settings.set("COPROD_SELECTED_SOURCES", sources, priority="cmdline")
    settings.set("COPROD_EXTRA_SOURCES", [s.model_dump(mode="json") for s in extra_sources], priority="cmdline")
    if proxy:
        settings.set("COPROD_PROXY", proxy, priority="cmdline")
    if captures is not None:
        settings.set("COPROD_CAPTURE_DIR", str(captures), priority="cmdline")
    if workers is not None:  # the flag or $COPROD_WORKERS; else the study file's crawl.workers
        settings.set("COPROD_WORKERS", workers, priority="cmdline")
    if frontier:
        settings.set("COPROD_FRONTIER", frontier, priority="cmdline")
    settings.set("COPROD_PROGRESS_INTERVAL", 5.0, priority="cmdline")
    settings.set("LOG_LEVEL", "DEBUG" if verbosity >= 2 else "INFO", priority="cmdline")  # of the log file
    return settings


def run_crawl(
    config: Config,
    sources: list[Source],
    database_url: str,
    proxy: str | None,
    verbosity: int = 0,
    extra_sources: list[Source] = (),
    captures: Path | None = None,
    state: Path | None = None,
    workers: str | None = None,
    frontier: str | None = None,
    site_only: set[str] = frozenset(),
) -> CrawlOutcome:
    """Crawl the sources with every spider that has work for them, side by side in one process;
    `captures` and `state` override the capture and state folders (the demo keeps its own);
    `site_only` sources only with the site spider (a team crawl's worker joining the shared
    crawl of a source whose lock another worker holds)."""
    settings = crawl_settings(config, [s.name for s in sources], database_url, proxy, verbosity, extra_sources, captures, workers, frontier)
    log_file = crawl_log_path(state or state_dir(database_url))
    settings.set("LOG_FILE", str(log_file), priority="cmdline")
    process = CrawlerProcess(settings)  # its root handler writes the log file
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setLevel(LOG_LEVELS.get(verbosity, "DEBUG"))
    terminal.addFilter(TerminalFilter())
    terminal.setFormatter(_OneLine(log_file))
    logging.root.addHandler(terminal)
    closed: dict[str, tuple[Any, str]] = {}  # spider -> (crawler, reason)
    started: list[str] = []
    for spider in SPIDERS:
        names = [s.name for s in sources if spider.handles(s) and (spider is SiteSpider or s.name not in site_only)]
        if not names:
            continue
        crawler = process.create_crawler(spider)

        def on_close(spider: Any, reason: str, crawler: Any = crawler) -> None:
            closed[spider.name] = (crawler, reason)

        crawler.signals.connect(on_close, signal=signals.spider_closed, weak=False)
        process.crawl(crawler, source=names)
        started.append(spider.name)
    try:
        if process.crawlers:
            process.start()
    finally:
        logging.root.removeHandler(terminal)
    # Read once every spider_closed handler ran: the run recorder adds its counts last.
    ended = {name: (crawler.stats.get_value("coprod/run_id"), reason, dict(crawler.stats.get_stats())) for name, (crawler, reason) in closed.items()}
    return CrawlOutcome(ended, tuple(started), log_file)
