"""Conditional requests: pages already stored are asked for only if they changed.

When the crawl opens, the validators (ETag, Last-Modified) and the capture of each stored
page of the crawl's sources are read from the catalogue; a request for such a page carries
If-None-Match / If-Modified-Since. A 304 answer downloads no body: the response is rebuilt
from the page's WARC capture (the captures are the HTTP cache), flagged `not_modified`, so
the spider still follows its links while the pipelines only record that the page was seen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.core.errors import CatalogueError
from crawler.core.urls import canonical_url
from pipelines.store import crawl_catalogue
from storage.capture import CAPTURE_META, NOT_MODIFIED_FLAG, CaptureRef, capture_dir, read_capture
from storage.crawl import CrawlCatalogue
from storage.models import Page, PageVersion, Source

__all__ = ["ConditionalRequestMiddleware", "Validators", "rebuilt_response", "stored_validators"]

logger = logging.getLogger(__name__)

VALIDATED_META = "coprod_validated"  # request meta: the Validators it was sent with


@dataclass(frozen=True)
class Validators:
    etag: str | None
    last_modified: str | None
    capture: CaptureRef


def stored_validators(session: Session, source_names: list[str]) -> dict[str, Validators]:
    """Per canonical URL, the validators of kept pages whose latest version has a capture."""
    latest = (
        select(PageVersion.page_id, func.max(PageVersion.number).label("number")).group_by(PageVersion.page_id).subquery()
    )
    query = (
        select(Page.url, Page.etag, Page.last_modified, PageVersion.warc_file, PageVersion.warc_offset, PageVersion.warc_length, PageVersion.captured_at)
        .join(Source, Source.id == Page.source_id)
        .join(latest, latest.c.page_id == Page.id)
        .join(PageVersion, (PageVersion.page_id == Page.id) & (PageVersion.number == latest.c.number))
        .where(Source.name.in_(source_names), Page.drop_reason.is_(None), PageVersion.warc_file.is_not(None))
        .where((Page.etag.is_not(None)) | (Page.last_modified.is_not(None)))
    )
    return {
        url: Validators(etag, last_modified, CaptureRef(file, offset, length, captured_at))
        for url, etag, last_modified, file, offset, length, captured_at in session.execute(query)
    }


def rebuilt_response(folder: Path, request: Request, ref: CaptureRef) -> Response:
    """The captured response as Scrapy would have downloaded it (still content-encoded,
    so the compression middleware decodes it as usual)."""
    captured = read_capture(folder, ref)
    headers = Headers()
    for name, value in captured.headers:
        headers.appendlist(name, value)
    cls = responsetypes.from_args(headers=headers, url=captured.url, body=captured.raw)
    return cls(url=request.url, status=captured.status, headers=headers, body=captured.raw, request=request, flags=[NOT_MODIFIED_FLAG])


class ConditionalRequestMiddleware:
    """Downloader middleware: validators out, 304s answered from the capture."""

    def __init__(self, crawler: Crawler, catalogue: CrawlCatalogue, folder: Path):
        self.crawler = crawler
        self.catalogue = catalogue
        self.folder = folder
        self.known: dict[str, Validators] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        settings = crawler.settings
        catalogue = crawl_catalogue(crawler)
        if catalogue is None or not settings.getbool("COPROD_CONDITIONAL_REQUESTS", True) or not settings.getbool("COPROD_CAPTURE_ENABLED", True):
            raise NotConfigured("conditional requests need the catalogue and the captures")
        middleware = cls(crawler, catalogue, capture_dir(catalogue.database_url, settings.get("COPROD_CAPTURE_DIR")))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        return middleware

    def spider_opened(self, spider: Spider) -> None:
        names = [s.name for s in getattr(spider, "sources", ())]
        if not names or self.catalogue.failure:
            return
        try:
            with self.catalogue.session() as session:
                self.known = stored_validators(session, names)
        except (CatalogueError, SQLAlchemyError) as error:
            # Not fatal by itself: pages are fetched in full (the store will say if it cannot write).
            logger.warning("Stored validators unreadable, no conditional requests: %(error)s", {"error": error})
            return
        logger.debug("Validators for %(n)d stored pages", {"n": len(self.known)})

    def process_request(self, request: Request) -> None:
        if request.method != "GET" or request.meta.get("dont_cache"):
            return
        validators = self.known.get(canonical_url(request.url))
        if validators is None:
            return
        if validators.etag:
            request.headers.setdefault(b"If-None-Match", validators.etag.encode("latin-1"))
        if validators.last_modified:
            request.headers.setdefault(b"If-Modified-Since", validators.last_modified.encode("latin-1"))
        request.meta[VALIDATED_META] = validators

    def process_response(self, request: Request, response: Response) -> Request | Response:
        validators = request.meta.pop(VALIDATED_META, None)
        if response.status != 304 or validators is None:
            return response
        try:
            rebuilt = rebuilt_response(self.folder, request, validators.capture)
        except (OSError, ValueError) as error:
            # The capture is gone or unreadable: fetch the page in full instead.
            logger.warning("Capture of %(url)s unreadable (%(error)s); fetching it again", {"url": request.url, "error": error})
            self.crawler.stats.inc_value("coprod/not_modified/capture_missing")
            retry = request.replace(dont_filter=True)
            retry.headers.pop(b"If-None-Match", None)
            retry.headers.pop(b"If-Modified-Since", None)
            retry.meta["dont_cache"] = True
            return retry
        request.meta[CAPTURE_META] = validators.capture.to_json()
        self.crawler.stats.inc_value("coprod/not_modified")
        return rebuilt
