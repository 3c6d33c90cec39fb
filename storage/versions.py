"""Page versions: each content a page had, by content hash, with the capture it came from."""

from __future__ import annotations

import datetime as dt

from crawler.core.items import PageItem
from storage.models import Page, PageVersion

__all__ = ["record_version", "seen_unchanged"]


def record_version(page: Page, item: PageItem, run_id: int | None) -> PageVersion:
    """The page's version for the item's content: the latest one when the content hash is
    the same (it was seen again), else a new version; earlier versions are kept.

    A version cites the latest capture of its content, so a later 304 is answered from the
    body the server's validators describe; earlier captures stay in their WARC files.
    """
    latest = page.page_versions[-1] if page.page_versions else None
    if latest is None or latest.content_hash != item.content_hash:
        latest = PageVersion(
            number=latest.number + 1 if latest else 1,
            content_hash=item.content_hash or "",
            first_seen=item.fetched_at,
            first_run_id=run_id,
            title=item.title,
            text=item.text,
        )
        page.page_versions.append(latest)
    latest.last_seen = item.fetched_at
    latest.last_run_id = run_id
    latest.fetched_url = item.fetched_url
    latest.http_status = item.http_status
    latest.content_type = item.content_type
    latest.etag = item.etag
    latest.last_modified = item.last_modified
    if item.capture:
        latest.warc_file = item.capture["file"]
        latest.warc_offset = int(item.capture["offset"])
        latest.warc_length = int(item.capture["length"])
        latest.captured_at = dt.datetime.fromisoformat(item.capture["captured_at"])
    return latest


def seen_unchanged(page: Page, item: PageItem, run_id: int | None) -> None:
    """A page the server answered 304 for: it and its latest version were seen again."""
    page.last_seen = item.fetched_at
    page.last_run_id = run_id
    if page.page_versions:
        page.page_versions[-1].last_seen = item.fetched_at
        page.page_versions[-1].last_run_id = run_id
