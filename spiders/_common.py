"""What the spiders share: choosing sources, turning responses and failures into pages."""

from __future__ import annotations

import codecs
import datetime as dt
from collections.abc import Callable

from OpenSSL import SSL
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.response import get_base_url
from twisted.internet import error as tx
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed

from crawler.core.charsets import page_charset
from crawler.core.config import Source
from crawler.core.items import PageItem
from crawler.core.links import alternates, anchors
from crawler.core.study import apply_study
from crawler.core.urls import canonical_url
from pipelines._drop import FetchRefused
from pipelines.extract import is_html
from pipelines.store import crawl_catalogue
from storage.capture import CAPTURE_META, NOT_MODIFIED_FLAG

__all__ = ["chosen_sources", "crawl_stopped", "failed_item", "fetch_error_reason", "now", "page_item"]


def chosen_sources(crawler: Crawler, source_argument: str | list[str] | None, handles: Callable[[Source], bool]) -> list[Source]:
    """The sources a spider crawls: the named ones (`-a source=a,b` or `coprod crawl --source`),
    else every enabled one; of those, the ones this spider handles."""
    every = apply_study(crawler)
    wanted = _names(source_argument) or crawler.settings.getlist("COPROD_SELECTED_SOURCES")
    unknown = sorted(set(wanted) - {s.name for s in every})
    if unknown:
        raise ValueError(f"unknown source(s): {', '.join(unknown)}")
    chosen = [s for s in every if s.name in wanted] if wanted else [s for s in every if s.enabled]
    return [s for s in chosen if handles(s)]


def crawl_stopped(crawler: Crawler) -> bool:
    """The crawl was stopped before its spider started (`pipelines.store.stop_crawl`: the
    catalogue or the captures cannot be written): a spider starts no request then, since
    nothing it fetched could be stored."""
    catalogue = crawl_catalogue(crawler)
    return bool(crawler.stats.get_value("coprod/stopped")) or (catalogue is not None and catalogue.failure is not None)


def page_item(response: Response, source: str) -> PageItem:
    """A fetched response as a page for the pipelines (HTML keeps its links and versions).

    An HTML page is read in the charset `crawler.core.charsets` decides on; one that reads in
    none of the charsets it declares is recorded as `charset_conflict`, not stored garbled."""
    content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
    is_text = isinstance(response, TextResponse)
    referer = response.request.headers.get(b"Referer") if response.request else None
    url = canonical_url(response.url)
    html_page = is_text and is_html(content_type)
    if html_page:
        charset = page_charset(response.body, content_type)
        if charset.conflict:
            return PageItem(
                url=url, source=source, fetched_url=response.url, fetched_at=now(), http_status=response.status,
                content_type=content_type, depth=response.meta.get("depth", 0), capture=response.meta.get(CAPTURE_META),
                fetch_error="charset_conflict", fetch_error_detail=charset.conflict,
            )
        if charset.encoding and charset.encoding != _codec_name(response.encoding):  # type: ignore[attr-defined]
            response = response.replace(encoding=charset.encoding)
    # The page's tree is parsed once (Scrapy caches it); its links serve discovery and following.
    base = get_base_url(response) if html_page else ""
    return PageItem(
        url=url,
        source=source,
        fetched_url=response.url,
        fetched_at=now(),
        http_status=response.status,
        content_type=content_type,
        encoding=response.encoding if is_text else None,
        html=response.text if is_text else None,
        depth=response.meta.get("depth", 0),
        referer=referer.decode("latin-1") if referer else None,
        outlinks=anchors(response.selector, base) if html_page else [],
        alternates=alternates(response.selector, base, url) if html_page else [],
        capture=response.meta.get(CAPTURE_META),
        etag=_header(response, b"ETag"),
        last_modified=_header(response, b"Last-Modified"),
        not_modified=NOT_MODIFIED_FLAG in response.flags,
    )


def failed_item(failure: Failure, crawler: Crawler) -> PageItem | None:
    """A failed request as a page with its reason; None when it was never fetched
    (forbidden by robots.txt, filtered). A request given up on after redirects is the
    page its first address names."""
    request = failure.request  # type: ignore[attr-defined]
    if failure.check(IgnoreRequest) and not failure.check(HttpError, FetchRefused):
        crawler.stats.inc_value("coprod/skipped/ignored")
        return None
    reason, detail = fetch_error_reason(failure)
    status = failure.value.response.status if failure.check(HttpError) else None
    first = (request.meta.get("redirect_urls") or [request.url])[0]
    return PageItem(
        url=canonical_url(first),
        source=request.meta["source"],
        fetched_url=first,
        fetched_at=now(),
        http_status=status,
        depth=request.meta.get("depth", 0),
        fetch_error=reason,
        fetch_error_detail=detail,
    )


def fetch_error_reason(failure: Failure) -> tuple[str, str]:
    """A reason code of `crawler.core.reasons` and a detail for a failed request."""
    error = failure.value
    if isinstance(error, FetchRefused):
        return error.reason, error.detail
    if isinstance(error, HttpError):
        return f"http_{error.response.status}", f"HTTP {error.response.status}"
    if isinstance(error, DownloadCancelledError):
        return "too_large", str(error)
    if isinstance(error, (DownloadTimeoutError, tx.TimeoutError)):
        return "timeout", str(error) or "no answer in time"
    if isinstance(error, (CannotResolveHostError, tx.DNSLookupError)):
        return "dns_error", str(error)
    if isinstance(error, (DownloadConnectionRefusedError, tx.ConnectionRefusedError)):
        return "connection_refused", str(error)
    if isinstance(error, ResponseDataLossError):
        return "truncated", "the body ended before its Content-Length"
    # Scrapy wraps Twisted's ResponseFailed (its reasons: the TLS error, the closed connection).
    cause = error.__cause__ if isinstance(error, DownloadFailedError) else error
    if isinstance(cause, ResponseFailed):
        reasons = [r.value for r in cause.reasons if isinstance(r, Failure)]
        if tls := [r for r in reasons if isinstance(r, SSL.Error)]:
            return "tls_error", f"TLS: {_ssl_message(tls[0])}"
        if any(isinstance(r, (tx.ConnectionDone, tx.ConnectionLost)) for r in reasons):
            return "connection_lost", "the connection closed before a complete answer"
    if isinstance(error, SSL.Error):
        return "tls_error", f"TLS: {_ssl_message(error)}"
    if isinstance(error, (tx.ConnectionDone, tx.ConnectionLost)):
        return "connection_lost", "the connection closed before a complete answer"
    if isinstance(error, tx.ConnectError):
        return "connection_failed", str(error)
    name = type(error).__name__
    return "fetch_error", f"{name}: {error}"


def _ssl_message(error: SSL.Error) -> str:
    """OpenSSL's reason ("wrong version number") out of its nested error list."""
    parts = [str(item[-1]) for item in (error.args[0] if error.args and isinstance(error.args[0], list) else []) if item]
    return "; ".join(parts) or str(error) or type(error).__name__


def _codec_name(name: str | None) -> str | None:
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    # A validator too long to store is not sent back at all (a cut one would never match).
    return value.decode("latin-1") if value and len(value) <= 300 else None


def _names(value: str | list[str] | None) -> list[str]:
    if not value:
        return []
    items = value if isinstance(value, list) else value.split(",")
    return [v.strip() for v in items if v.strip()]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
