"""The item that flows from the spiders through the pipelines into the catalogue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PageItem", "post_title"]


@dataclass
class PageItem:
    """One fetched document (or a failed fetch), filled in stage by stage.

    The spider sets the fetch fields; `extract`, `language` and `relevance` add theirs. A page
    that cannot go further is dropped with a reason, and the store records that reason.
    """

    url: str  # canonical URL: the page's identity
    source: str
    fetched_url: str
    fetched_at: dt.datetime
    http_status: int | None = None
    content_type: str | None = None
    encoding: str | None = None
    html: str | None = None
    depth: int = 0
    referer: str | None = None
    # Set by the spider when the fetch itself failed (http_404, timeout, too_large...).
    fetch_error: str | None = None
    fetch_error_detail: str | None = None
    # Where the response was captured (storage.capture.CaptureRef as a dict), its
    # validators, and whether the server answered 304 (the body then came from the capture).
    capture: dict[str, Any] | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    title: str | None = None
    text: str | None = None
    published: str | None = None  # ISO date as found in the page metadata
    author: str | None = None
    sitename: str | None = None
    content_hash: str | None = None
    links: list[str] = field(default_factory=list)  # link targets inside the main text
    outlinks: list[tuple[str, str]] = field(default_factory=list)  # (url, anchor text) of every link
    alternates: list[tuple[str, str]] = field(default_factory=list)  # (hreflang, canonical url) of other versions
    extra: dict[str, Any] = field(default_factory=dict)  # kind-specific fields (a Telegram post's channel, views...)
    discovered: list[dict[str, str]] = field(default_factory=list)  # outbound sources (pipelines.discover)
    # The page's MinHash signature of word shingles (pipelines.dedup), and the canonical URL of
    # the earlier story it copies when it is a near-duplicate (an aggregator's copy, an excerpt).
    signature: bytes | None = None
    shingles: bytes | None = None  # the shingles' sorted 32-bit hashes the signature is of (pipelines.dedup.fingerprint)
    copy_of: str | None = None
    replaces: list[str] = field(default_factory=list)  # stored copies this page turns out to be the original of

    language: str | None = None
    language_detail: dict[str, Any] = field(default_factory=dict)

    # The relevance engine's verdict (pipelines.relevance.Assessment.to_json()).
    relevance: dict[str, Any] | None = None

    # The site spider's frontier (storage.frontier): the entry this fetch completes, and the
    # requests it scheduled from this page as (canonical url, url to fetch, depth).
    frontier_key: str | None = None
    follow: list[tuple[str, str, int]] = field(default_factory=list)


def post_title(channel: str | None, channel_title: str | None, text: str | None, limit: int = 120) -> str:
    """A Telegram post's title, which a post does not have: its channel (the display name,
    else @name) and its first line, so the queue and the conflicts page never show a bare URL."""
    first = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    if len(first) > limit:
        first = first[: limit - 1].rstrip() + "…"
    name = channel_title or (f"@{channel}" if channel else "Telegram")
    return f"{name}: {first}" if first else name
