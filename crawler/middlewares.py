"""Downloader middlewares: a fixed proxy, retries that back off, and Scrapy's redirect and
decompression middlewares with a reason for every response they give up on.

Scrapy drops a redirect it will not follow (a loop, too many hops, another site) and a
decompression bomb as a bare `IgnoreRequest`, which the spiders cannot tell from a request
robots.txt forbade: the page would vanish without a trace. These subclasses raise
`FetchRefused` with the reason instead, and the spiders record the page with it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
import zlib
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware, RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from w3lib.url import safe_url_string

from crawler.core.urls import canonical_url, host_of
from pipelines._drop import FetchRefused

__all__ = [
    "BackoffRetryMiddleware",
    "CompressionMiddleware",
    "GuardedMetaRefreshMiddleware",
    "GuardedRedirectMiddleware",
    "ProxyMiddleware",
    "backoff_delay",
    "retry_after_seconds",
]

logger = logging.getLogger(__name__)

# Statuses that mean "too fast": the whole site slows down, not just this request.
BACKOFF_STATUSES = frozenset({429, 503})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """The wait a Retry-After header asks for, in seconds: delay-seconds or an HTTP date
    (RFC 9110). None for anything else: servers send garbage ("soon", "-30", 31 February)."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # RFC 850 and asctime dates carry no zone: they are GMT
        moment = moment.replace(tzinfo=dt.UTC)
    return max(moment.timestamp() - (time.time() if now is None else now), 0.0)


def backoff_delay(attempt: int, base: float, ceiling: float, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1-based): the server's Retry-After
    when it gives a readable one, else exponential, never above `ceiling`."""
    wanted = retry_after_seconds(retry_after)
    if wanted is not None:
        return min(wanted, ceiling)
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
            retry_after = header.decode("latin-1") if header else None
            if retry_after is not None and retry_after_seconds(retry_after) is None:
                self.crawler.stats.inc_value("coprod/backoff/unreadable_retry_after")
            self._slow_down(request, backoff_delay(attempt, self.base, self.ceiling, retry_after))
            self.crawler.stats.inc_value(f"coprod/backoff/{response.status}")
        return super().process_response(request, response)

    def _slow_down(self, request: Request, delay: float) -> None:
        downloader = self.crawler.engine.downloader if self.crawler.engine else None
        key = request.meta.get("download_slot")
        slot = downloader.slots.get(key) if downloader and key else None
        if slot is not None and slot.delay < delay:
            logger.info("Backing off %(slot)s: %(delay).1fs between requests", {"slot": key, "delay": delay})
            slot.delay = delay


class _GuardedRedirects:
    """What Scrapy's redirect middlewares do, with a reason for each redirect refused:
    one back into its own chain, one hop too many, one to a host the spider does not crawl."""

    crawler: Crawler
    max_redirect_times: int

    def _redirect(self, redirected: Request, request: Request, reason: object) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        target = redirected.url
        # Exact addresses: /news -> /news/ is one page's two spellings, not a loop.
        if _unfragmented(target) in {_unfragmented(url) for url in chain}:
            raise FetchRefused("redirect_loop", " -> ".join([*chain, target]))
        if request.meta.get("redirect_times", 0) + 1 > self.max_redirect_times:
            raise FetchRefused("too_many_redirects", f"more than {self.max_redirect_times} redirects from {chain[0]}")
        domains = getattr(self.crawler.spider, "allowed_domains", None) or ()
        host = host_of(target)
        if domains and not any(host == d or host.endswith("." + d) for d in domains):
            raise FetchRefused("offsite_redirect", f"{request.url} -> {target}")
        followed = super()._redirect(redirected, request, reason)  # type: ignore[misc]
        if canonical_url(target) == canonical_url(request.url):
            # The same page by its canonical address (a trailing slash added): the
            # duplicate filter, which knows that address fetched already, must let it through.
            followed.dont_filter = True
        return followed


class GuardedRedirectMiddleware(_GuardedRedirects, RedirectMiddleware):
    def process_response(self, request: Request, response: Response) -> Request | Response:
        location = response.headers.get(b"Location")
        if response.status in REDIRECT_STATUSES and location and not request.meta.get("dont_redirect"):
            target = urljoin(request.url, safe_url_string(location))
            if urlsplit(target).scheme not in ("http", "https"):
                shown = location.decode("latin-1")[:200]
                raise FetchRefused("bad_redirect", f"HTTP {response.status} to {shown!r}, not an http(s) URL")
        return super().process_response(request, response)


class GuardedMetaRefreshMiddleware(_GuardedRedirects, MetaRefreshMiddleware):
    """A meta refresh the guard refuses leaves the page as it is: unlike a 3xx answer, a
    page that refreshes to itself (or loops, or leaves the site) has content of its own."""

    def process_response(self, request: Request, response: Response) -> Request | Response:
        try:
            return super().process_response(request, response)
        except FetchRefused as refused:
            self.crawler.stats.inc_value(f"coprod/meta_refresh/kept_page/{refused.reason}")
            return response


class CompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression (bounded by DOWNLOAD_MAXSIZE), with `decompression_bomb` as the
    reason when a body inflates past the cap and `bad_encoding` when it does not inflate."""

    def process_response(self, request: Request, response: Response) -> Request | Response:
        try:
            return super().process_response(request, response)
        except IgnoreRequest as error:
            raise FetchRefused("decompression_bomb", str(error)) from None
        except (OSError, ValueError, EOFError, zlib.error) as error:
            encoding = response.headers.get(b"Content-Encoding", b"").decode("latin-1")
            raise FetchRefused("bad_encoding", f"Content-Encoding {encoding}: {type(error).__name__}: {error}") from None


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


def _unfragmented(url: str) -> str:
    return url.split("#", 1)[0]
