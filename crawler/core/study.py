"""Turning the study file into crawl settings.

Spiders call `apply_study` from their `from_crawler`, the moment Scrapy lets a spider
change settings, so `coprod crawl` and a plain `scrapy crawl site` (scrapyd included)
behave the same. The study file is `COPROD_SEEDS` (setting, then environment variable,
then ./seeds.yaml); settings given on the command line win over the file.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from crawler.core.config import Config, Source, load_config, resolve_setting

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

__all__ = ["apply_study", "study_settings"]


def study_settings(config: Config) -> dict[str, object]:
    """The Scrapy and coprod settings a study file stands for."""
    policy = config.crawl
    return {
        "DEPTH_LIMIT": policy.depth,
        "DOWNLOAD_DELAY": policy.delay,
        "CONCURRENT_REQUESTS": policy.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": policy.concurrency_per_domain,
        "DOWNLOAD_MAXSIZE": policy.max_page_bytes,
        "DOWNLOAD_WARNSIZE": policy.max_page_bytes // 2,
        "DOWNLOAD_TIMEOUT": policy.timeout,
        "USER_AGENT": policy.user_agent,
        "AUTOTHROTTLE_START_DELAY": max(policy.autothrottle.start_delay, policy.delay),
        "AUTOTHROTTLE_MAX_DELAY": policy.autothrottle.max_delay,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": policy.autothrottle.target_concurrency,
        "RETRY_TIMES": policy.retry.times,
        "COPROD_BACKOFF_BASE": policy.retry.backoff_base,
        "COPROD_BACKOFF_MAX": policy.retry.backoff_max,
        "COPROD_PROXY": resolve_setting(None, "COPROD_PROXY", policy.proxy),
        "COPROD_WORKERS": resolve_setting(None, "COPROD_WORKERS", None if policy.workers is None else str(policy.workers)),
        "COPROD_TELEGRAM_BASE_URL": policy.telegram_preview_url,
        "COPROD_DATABASE_URL": resolve_setting(None, "COPROD_DATABASE_URL", config.database),
        "COPROD_FRONTIER": resolve_setting(None, "COPROD_FRONTIER", policy.frontier),
        "COPROD_CAPTURE_DIR": resolve_setting(None, "COPROD_CAPTURE_DIR", config.captures),
        "COPROD_SOURCES": [s.model_dump(mode="json") for s in config.sources],
        "COPROD_PAGES_PER_SOURCE": policy.pages_per_source,
        "COPROD_LEXICON_FILES": [str(p) for p in config.lexicon_paths],
        "COPROD_PLACE_FILES": [str(p) for p in config.place_paths],
        "COPROD_REGION_CODE": config.study.region_code,
        "COPROD_WINDOW": [config.study.window.start.isoformat(), config.study.window.end.isoformat()],
        "COPROD_FLAG_THRESHOLD": config.flag.threshold,
        "COPROD_WEIGHTS_FILE": str(config.weights_path),
        "COPROD_SEEDS_SHA256": config.sha256,
    }


def apply_study(crawler: Crawler) -> list[Source]:
    """Load the study file into the crawler's settings; return every source: the file's,
    then the discovered ones analysts accepted (`COPROD_EXTRA_SOURCES`, set by `coprod crawl`)."""
    settings = crawler.settings
    path = settings.get("COPROD_SEEDS") or os.environ.get("COPROD_SEEDS") or "seeds.yaml"
    config = load_config(path)
    extra = [Source.model_validate(s) for s in settings.getlist("COPROD_EXTRA_SOURCES")]
    known = {s.name for s in config.sources}
    sources = list(config.sources) + [s for s in extra if s.name not in known]
    for name, value in study_settings(config).items():
        settings.set(name, value, priority="spider")
    settings.set("COPROD_SOURCES", [s.model_dump(mode="json") for s in sources], priority="spider")
    return sources
