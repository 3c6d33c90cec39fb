"""Downloader middlewares: a fixed proxy and retries that back off."""

from __future__ import annotations

import email.utils
import logging
import time

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

__all__ = ["BackoffRetryMiddleware", "ProxyMiddleware", "backoff_delay"]

logger = logging.getLogger(__name__)

# Statuses that mean "too fast": the whole site slows down, not just this request.
BACKOFF_STATUSES = frozenset({429, 503})


def backoff_delay(attempt: int, base: float, ceiling: float, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1-based): the server's Retry-After
    when it gives one, else exponential, never above `ceiling`."""
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return min(float(value), ceiling)
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is not None:
            return min(max(parsed.timestamp() - time.time(), 0.0), ceiling)
    return min(base**attempt, ceiling)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, plus: on 429/503 the site's download slot waits longer before the retry."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.base = crawler.settings.getfloat("COPROD_BACKOFF_BASE", 2.0)
        self.ceiling = crawler.settings.getfloat("COPROD_BACKOFF_MAX", 120.0)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status in BACKOFF_STATUSES and not request.meta.get("dont_retry"):
            attempt = request.meta.get("retry_times", 0) + 1
            header = response.headers.get(b"Retry-After")
            delay = backoff_delay(attempt, self.base, self.ceiling, header.decode("latin-1") if header else None)
            self._slow_down(request, delay)
            self.crawler.stats.inc_value(f"coprod/backoff/{response.status}")
        return super().process_response(request, response)

    def _slow_down(self, request: Request, delay: float) -> None:
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        key = request.meta.get("download_slot")
        slot = downloader.slots.get(key) if downloader and key else None
        if slot is not None and slot.delay < delay:
            logger.info("Backing off %(slot)s: %(delay).1fs between requests", {"slot": key, "delay": delay})
            slot.delay = delay


class ProxyMiddleware:
    """Sends every request, robots.txt included, through one HTTP proxy (`COPROD_PROXY`).

    Used by the demo and the tests to reach the loopback sample web by its host names.
    """

    def __init__(self, proxy: str):
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyMiddleware:
        proxy = crawler.settings.get("COPROD_PROXY")
        if not proxy:
            raise NotConfigured
        return cls(proxy)

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("proxy", self.proxy)
