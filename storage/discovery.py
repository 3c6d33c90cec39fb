"""Analysts' decisions on discovered sources (from the review app and `coprod sources`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.core.errors import BadInput
from storage import audit
from storage.models import DiscoveredSource, utcnow
from storage.queries import CRAWLABLE_KINDS

__all__ = ["STATUSES", "decide"]

STATUSES = ("undecided", "accepted", "rejected")


def decide(session: Session, key: str, status: str, by: str | None, address: str | None = None) -> DiscoveredSource:
    """Accept, reject or undecide a discovered source, audited. Only kinds that a spider
    crawls can be accepted: accepting a bot or an Instagram page would crawl nothing."""
    if status not in STATUSES:
        raise BadInput(f"a source is one of: {', '.join(STATUSES)}")
    row = session.scalar(select(DiscoveredSource).where(DiscoveredSource.key == key))
    if row is None:
        raise BadInput(f"no discovered source {key!r} (see coprod sources --discovered)")
    if status == "accepted" and row.kind not in CRAWLABLE_KINDS:
        raise BadInput(f"{key} is a {row.kind.replace('_', ' ')}: nothing crawls it, so it cannot be accepted (only {' and '.join(CRAWLABLE_KINDS)} sources can)")
    previous = row.status
    row.status, row.decided_at = status, utcnow()
    audit.record(session, "source_decided", by, address, key=key, kind=row.kind, status=status, previous=previous)
    return row
