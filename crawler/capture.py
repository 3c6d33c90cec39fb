"""The capture downloader middleware: every response a crawl receives, with its request,
written to the WARC files of `storage.capture`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from pipelines.store import crawl_catalogue, stop_crawl
from storage.capture import CAPTURE_META, DEFAULT_COMPRESSION_LEVEL, DEFAULT_MAX_BYTES, NOT_MODIFIED_FLAG, WarcCapture, capture_dir, recover_captures
from storage.crawl import CrawlCatalogue

__all__ = ["CaptureMiddleware", "exchange_of"]


def exchange_of(request: Request, response: Response) -> dict[str, Any]:
    """A Scrapy request and response as `WarcCapture.write` arguments."""
    return {
        "url": response.url,
        "method": request.method,
        "request_headers": list(_header_pairs(request.headers)),
        "request_body": request.body,
        "status": response.status,
        "response_headers": list(_header_pairs(response.headers)),
        "body": response.body,
    }


def _header_pairs(headers: Any) -> Iterator[tuple[str, str]]:
    for name, values in headers.items():
        for value in values:
            yield name.decode("latin-1"), value.decode("latin-1")


class CaptureMiddleware:
    """Downloader middleware writing every response (and its request) to the capture
    files; the reference goes into the request's meta for the spider to put on the page.

    It sits next to the downloader, so it records the response as it came (still
    compressed when it was); responses rebuilt from a capture are not written again.
    """

    def __init__(self, crawler: Crawler, folder: Path, max_bytes: int, level: int = DEFAULT_COMPRESSION_LEVEL, catalogue: CrawlCatalogue | None = None):
        self.crawler = crawler
        self.catalogue = catalogue
        self.folder = folder
        self.max_bytes = max_bytes
        self.level = level
        self.capture: WarcCapture | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CaptureMiddleware:
        settings = crawler.settings
        if not settings.getbool("COPROD_CAPTURE_ENABLED", True):
            raise NotConfigured("capture is off (COPROD_CAPTURE_ENABLED)")
        folder = capture_dir(settings.get("COPROD_DATABASE_URL"), settings.get("COPROD_CAPTURE_DIR"))
        level = settings.getint("COPROD_CAPTURE_COMPRESSION_LEVEL", DEFAULT_COMPRESSION_LEVEL)
        if not 1 <= level <= 9:
            raise ValueError(f"COPROD_CAPTURE_COMPRESSION_LEVEL: expected a gzip level from 1 to 9, got {level}")
        middleware = cls(crawler, folder, settings.getint("COPROD_CAPTURE_MAX_BYTES", DEFAULT_MAX_BYTES), level, crawl_catalogue(crawler))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self, spider: Spider) -> None:
        if self.crawler.stats.get_value("coprod/stopped"):
            return
        # Runs still running (another worker of a team crawl) keep their open WARC files.
        live = self.catalogue.running_runs() if self.catalogue is not None else frozenset()
        # The store pipeline has opened the run by now (pipelines open before this signal).
        run = self.crawler.stats.get_value("coprod/run_id")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        prefix = f"{re.sub(r'[^a-z0-9_]+', '-', spider.name.lower())}-run{run or 0}-{stamp}"
        try:
            for _, cut in recover_captures(self.folder, live):
                self.crawler.stats.inc_value("coprod/capture/recovered")
                self.crawler.stats.inc_value("coprod/capture/recovered_bytes_cut", cut)
            self.capture = WarcCapture(self.folder, prefix, self.max_bytes, self.level).open()
        except OSError as error:
            self._failed(error)

    def spider_closed(self, spider: Spider) -> None:
        if self.capture is not None:
            try:
                self.capture.close()
            except OSError as error:
                self._failed(error)
            self.crawler.stats.set_value("coprod/capture/files", len(self.capture.files))
            self.capture = None

    def process_response(self, request: Request, response: Response) -> Response:
        if self.capture is None or NOT_MODIFIED_FLAG in response.flags:
            return response
        try:
            ref = self.capture.write(**exchange_of(request, response))
        except OSError as error:
            self._failed(error)
            return response
        request.meta[CAPTURE_META] = ref.to_json()
        self.crawler.stats.inc_value("coprod/captured")
        return response

    def _failed(self, error: OSError) -> None:
        """A capture that cannot be written stops the crawl: a page is stored only with the
        record that proves it."""
        self.capture = None
        stop_crawl(self.crawler, "capture_error", f"cannot write the captures in {self.folder}: {error.strerror or error}")
