"""Why a page left the pipeline: a reason code kept in the catalogue and in the stats."""

from __future__ import annotations

from scrapy.exceptions import DropItem

__all__ = ["PageDropped"]


class PageDropped(DropItem):
    """Drop a page for a named reason (``not_html``, ``http_404``, ``empty_extraction``...).

    The store pipeline listens for dropped items and records the page with this reason,
    so a researcher can audit what was left out and why.
    """

    def __init__(self, reason: str, detail: str | None = None, log_level: str = "DEBUG"):
        super().__init__(f"{reason}: {detail}" if detail else reason, log_level=log_level)
        self.reason = reason
        self.detail = detail
