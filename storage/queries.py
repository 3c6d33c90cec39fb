"""Read-side queries shared by the CLI, the export and (later) the review app."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from crawler.config import Source as SourceConfig
from storage.models import Candidate, DiscoveredSource, Page, Run, Source, SourceLink

__all__ = [
    "CANDIDATE_COLUMNS",
    "PAGE_COLUMNS",
    "CatalogueSummary",
    "accepted_sources",
    "candidate_rows",
    "discovered_rows",
    "page_rows",
    "recent_runs",
    "summarise",
]


# The engine's verdict, in every table that shows a page.
VERDICT_COLUMNS = (
    "direction",
    "mode",
    "in_region",
    "in_window",
    "places",
    "place_codes",
    "identifiers",
    "ict",
    "reasons",
)
PAGE_COLUMNS = (
    "url",
    "source",
    "source_kind",
    "language",
    "title",
    "published",
    "event_date",
    "flagged",
    "score",
    *VERDICT_COLUMNS,
    "drop_reason",
    "drop_detail",
    "http_status",
    "content_type",
    "encoding",
    "duplicate_of",
    "first_seen",
    "last_seen",
    "fetched_url",
    "text",
)
CANDIDATE_COLUMNS = (
    "candidate_id",
    "url",
    "source",
    "language",
    "title",
    "published",
    "event_date",
    "score",
    "status",
    *VERDICT_COLUMNS,
    "flagged_at",
)


def _verdict(page: Page) -> dict[str, Any]:
    relevance = page.relevance or {}
    return {
        "event_date": page.event_date,
        "flagged": bool(page.flagged),
        "score": page.score,
        "direction": page.direction,
        "mode": page.mode,
        "in_region": page.in_region,
        "in_window": page.in_window,
        "places": [p["name"] for p in relevance.get("places", ())],
        "place_codes": [p["code"] for p in relevance.get("places", ())],
        "identifiers": [f"{i['kind']}:{i['value']}" for i in relevance.get("identifiers", ())],
        "ict": list(relevance.get("ict", ())),
        "reasons": list(relevance.get("reasons", ())),
    }


def page_rows(session: Session) -> list[dict[str, Any]]:
    """Every page, one dict per page, in URL order (stable across runs)."""
    original = aliased(Page)
    query = (
        select(Page, Source.name, Source.kind, original.url)
        .join(Source, Page.source_id == Source.id)
        .outerjoin(original, Page.duplicate_of_id == original.id)
        .order_by(Page.url)
    )
    rows = []
    for page, source, kind, original_url in session.execute(query):
        row = {
            "url": page.url,
            "source": source,
            "source_kind": kind,
            "language": page.language,
            "title": page.title,
            "published": page.published,
            **_verdict(page),
            "drop_reason": page.drop_reason,
            "drop_detail": page.drop_detail,
            "http_status": page.http_status,
            "content_type": page.content_type,
            "encoding": page.encoding,
            "duplicate_of": original_url,
            "first_seen": page.first_seen.isoformat(timespec="seconds"),
            "last_seen": page.last_seen.isoformat(timespec="seconds"),
            "fetched_url": page.fetched_url,
            "text": page.text,
        }
        rows.append({column: row[column] for column in PAGE_COLUMNS})
    return rows


def candidate_rows(session: Session) -> list[dict[str, Any]]:
    """Flagged pages in queue order: highest score first, then URL."""
    query = (
        select(Candidate, Page, Source.name)
        .join(Page, Candidate.page_id == Page.id)
        .join(Source, Page.source_id == Source.id)
        .order_by(Candidate.score.desc(), Page.url)
    )
    rows = []
    for candidate, page, source in session.execute(query):
        row = {
            "candidate_id": candidate.id,
            "url": page.url,
            "source": source,
            "language": page.language,
            "title": page.title,
            "published": page.published,
            **_verdict(page),
            "score": candidate.score,
            "status": candidate.status,
            "flagged_at": candidate.flagged_at.isoformat(timespec="seconds"),
        }
        rows.append({column: row[column] for column in CANDIDATE_COLUMNS})
    return rows


@dataclass(frozen=True)
class CatalogueSummary:
    pages: int
    kept: int
    flagged: int
    candidates: int
    by_source: dict[str, dict[str, int]]
    by_language: dict[str, int]
    dropped: dict[str, int]


def summarise(session: Session) -> CatalogueSummary:
    by_source: dict[str, dict[str, int]] = {}
    languages: Counter[str] = Counter()
    dropped: Counter[str] = Counter()
    query = select(Source.name, Page.drop_reason, Page.language, Page.flagged, func.count()).join(Page).group_by(
        Source.name, Page.drop_reason, Page.language, Page.flagged
    )
    for source, reason, language, flagged, count in session.execute(query):
        row = by_source.setdefault(source, {"pages": 0, "kept": 0, "dropped": 0, "flagged": 0})
        row["pages"] += count
        if reason:
            row["dropped"] += count
            dropped[reason] += count
        else:
            row["kept"] += count
            languages[language or "und"] += count
            if flagged:
                row["flagged"] += count
    return CatalogueSummary(
        pages=sum(r["pages"] for r in by_source.values()),
        kept=sum(r["kept"] for r in by_source.values()),
        flagged=sum(r["flagged"] for r in by_source.values()),
        candidates=session.scalar(select(func.count()).select_from(Candidate)) or 0,
        by_source=dict(sorted(by_source.items())),
        by_language=dict(languages.most_common()),
        dropped=dict(dropped.most_common()),
    )


def recent_runs(session: Session, limit: int = 10) -> list[Run]:
    return list(session.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))


def discovered_rows(session: Session, status: str | None = None, order: str = "in_degree") -> list[dict[str, Any]]:
    """Discovered sources with how many stored pages link to them and how many of those
    are candidates; by in-degree (or by candidates), then key."""
    pages = func.count(func.distinct(SourceLink.page_id))
    candidates = func.count(func.distinct(Candidate.id))
    query = (
        select(DiscoveredSource, pages.label("in_degree"), candidates.label("candidates"))
        .outerjoin(SourceLink, SourceLink.discovered_id == DiscoveredSource.id)
        .outerjoin(Candidate, Candidate.page_id == SourceLink.page_id)
        .group_by(DiscoveredSource.id)
    )
    if status:
        query = query.where(DiscoveredSource.status == status)
    primary = candidates if order == "candidates" else pages
    secondary = pages if order == "candidates" else candidates
    query = query.order_by(primary.desc(), secondary.desc(), DiscoveredSource.key)
    return [
        {
            "key": row.key,
            "kind": row.kind,
            "status": row.status,
            "in_degree": in_degree,
            "candidates": n_candidates,
            "url": row.url,
            "example": row.example,
        }
        for row, in_degree, n_candidates in session.execute(query)
    ]


def accepted_sources(session: Session) -> list[SourceConfig]:
    """Discovered sites and Telegram channels that analysts accepted, as sources to crawl.
    (Instagram and Facebook pages are kept as accepted leads; nothing crawls them.)"""
    found = []
    for row in session.scalars(select(DiscoveredSource).where(DiscoveredSource.status == "accepted").order_by(DiscoveredSource.key)):
        slug = re.sub(r"[^a-z0-9_.-]+", "-", row.key.lower()).strip("-.")[:50]
        if row.kind == "site":
            scheme = urlsplit(row.url).scheme or "https"
            found.append(SourceConfig(name=f"found-{slug}", kind="other", start_urls=[f"{scheme}://{row.key}/"], allowed_domains=[row.key]))
        elif row.kind == "telegram":
            channel = row.key.removeprefix("t.me/")
            found.append(SourceConfig(name=f"found-{slug}", kind="telegram", start_urls=[f"https://t.me/s/{channel}"]))
    return found
