"""Why a page left the pipeline, or never reached it: a reason code kept in the catalogue
and in the stats (`crawler.core.reasons` lists them)."""

from __future__ import annotations

from scrapy.exceptions import DropItem, IgnoreRequest

__all__ = ["FetchRefused", "PageDropped"]


class PageDropped(DropItem):
    """Drop a page for a named reason (``not_html``, ``http_404``, ``empty_extraction``...).

    The store pipeline listens for dropped items and records the page with this reason,
    so a researcher can audit what was left out and why.
    """

    def __init__(self, reason: str, detail: str | None = None, log_level: str = "DEBUG"):
        super().__init__(f"{reason}: {detail}" if detail else reason, log_level=log_level)
        self.reason = reason
        self.detail = detail


class FetchRefused(IgnoreRequest):
    """A downloader middleware gave up on a request for a named reason (``redirect_loop``,
    ``decompression_bomb``...). Scrapy sends it to the request's errback like any
    `IgnoreRequest`; the spiders record the page with the reason instead of forgetting it."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
