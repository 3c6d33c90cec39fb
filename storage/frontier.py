"""The persistent crawl frontier of the site spider: what a crawl still has to fetch.

A page is marked done, and the requests it led to are queued, in the same transaction that
stores the page (`record`, called by the store pipeline). So after a crash every page is
either stored with its follow-ups, or still queued and fetched again on resume: nothing is
lost, and nothing is stored twice (pages are upserted by canonical URL anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crawler.core.items import PageItem
from storage.db import insert_new
from storage.models import FrontierEntry, utcnow

__all__ = ["Frontier", "clear", "load", "record", "seed"]


@dataclass(frozen=True)
class Frontier:
    """One source's frontier: the canonical URLs it holds and the entries still queued."""

    known: frozenset[str]
    queued: tuple[tuple[str, str, int], ...]  # (canonical url, url to fetch, depth)
    last_run_id: int | None  # the latest run that queued or completed an entry

    @property
    def unfinished(self) -> bool:
        return bool(self.queued)


def load(session: Session, source_id: int) -> Frontier:
    rows = session.execute(
        select(FrontierEntry.url, FrontierEntry.fetch_url, FrontierEntry.depth, FrontierEntry.state)
        .where(FrontierEntry.source_id == source_id)
        .order_by(FrontierEntry.depth, FrontierEntry.id)
    ).all()
    last_run = session.scalar(select(func.max(FrontierEntry.run_id)).where(FrontierEntry.source_id == source_id))
    return Frontier(
        known=frozenset(url for url, _, _, _ in rows),
        queued=tuple((url, fetch_url, depth) for url, fetch_url, depth, state in rows if state == "queued"),
        last_run_id=last_run,
    )


def seed(session: Session, source_id: int, entries: Iterable[tuple[str, str, int]], run_id: int | None) -> None:
    """Queue a fresh crawl's start requests (before any is fetched, so none can be lost)."""
    _queue(session, source_id, list(entries), run_id)


def record(session: Session, batch: Sequence[tuple[PageItem, str | None, str | None]], source_ids: dict[str, int], run_id: int | None) -> None:
    """Mark the batch's pages done and queue the requests each of them led to."""
    for source, items in _by_source(item for item, _, _ in batch if item.frontier_key).items():
        source_id = source_ids[source]
        _queue(session, source_id, [entry for item in items for entry in item.follow], run_id)
        keys = {item.frontier_key: item for item in items}
        rows = {row.url: row for row in session.scalars(select(FrontierEntry).where(FrontierEntry.source_id == source_id, FrontierEntry.url.in_(keys)))}
        stamp = utcnow()
        for key, item in keys.items():
            row = rows.get(key) or FrontierEntry(source_id=source_id, url=key, fetch_url=item.fetched_url, depth=item.depth)
            row.state, row.run_id, row.done_at = "done", run_id, stamp
            session.add(row)
    session.flush()


def clear(session: Session, source_ids: Iterable[int]) -> None:
    """Forget the frontier of sources whose crawl finished: the next visit starts fresh."""
    session.execute(delete(FrontierEntry).where(FrontierEntry.source_id.in_(list(source_ids))))


def _queue(session: Session, source_id: int, entries: list[tuple[str, str, int]], run_id: int | None) -> None:
    wanted = {url: (fetch_url, depth) for url, fetch_url, depth in entries}
    rows = [{"source_id": source_id, "url": url, "fetch_url": fetch_url, "depth": depth, "run_id": run_id, "state": "queued", "queued_at": utcnow()}
            for url, (fetch_url, depth) in wanted.items()]
    insert_new(session, FrontierEntry, rows, ["source_id", "url"])


def _by_source(items: Iterable[PageItem]) -> dict[str, list[PageItem]]:
    grouped: dict[str, list[PageItem]] = {}
    for item in items:
        grouped.setdefault(item.source, []).append(item)
    return grouped
