"""Read-side queries shared by the CLI, the export and (later) the review app."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from crawler.core.config import Source as SourceConfig
from crawler.core.reasons import is_fetch_failure
from storage.models import (
    Candidate,
    Case,
    CaseEvidence,
    Decision,
    DiscoveredSource,
    Page,
    PageVersion,
    Run,
    Source,
    SourceLink,
)

__all__ = [
    "CANDIDATE_COLUMNS",
    "CRAWLABLE_KINDS",
    "DECISION_COLUMNS",
    "PAGE_COLUMNS",
    "SOURCE_COLUMNS",
    "CatalogueSummary",
    "SourceHealth",
    "accepted_sources",
    "candidate_rows",
    "case_columns",
    "case_rows",
    "decision_rows",
    "discovered_rows",
    "last_finished_crawls",
    "page_facets",
    "page_rows",
    "recent_runs",
    "rejected_keys",
    "source_health",
    "source_rows",
    "sources_with_included",
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
    # How flagged pages and candidates differ: one candidate per story.
    flagged_versions: int = 0  # flagged pages that are another language's version of a story
    flagged_copies: int = 0  # flagged pages that copy an earlier page (an aggregator's)
    decided_unflagged: int = 0  # candidates kept for their decisions though no longer flagged


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
    flagged = Page.flagged.is_(True) & Page.drop_reason.is_(None)
    return CatalogueSummary(
        pages=sum(r["pages"] for r in by_source.values()),
        kept=sum(r["kept"] for r in by_source.values()),
        flagged=sum(r["flagged"] for r in by_source.values()),
        candidates=session.scalar(select(func.count()).select_from(Candidate)) or 0,
        by_source=dict(sorted(by_source.items())),
        by_language=dict(languages.most_common()),
        dropped=dict(dropped.most_common()),
        flagged_versions=session.scalar(select(func.count()).select_from(Page).where(flagged, Page.version_of_id.is_not(None))) or 0,
        flagged_copies=session.scalar(
            select(func.count()).select_from(Page).where(flagged, Page.version_of_id.is_(None), Page.duplicate_of_id.is_not(None))
        ) or 0,
        decided_unflagged=session.scalar(select(func.count()).select_from(Candidate).join(Page).where(~flagged)) or 0,
    )


def recent_runs(session: Session, limit: int = 10) -> list[Run]:
    return list(session.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))


# Kinds of discovered source a spider can crawl; the others (bots, chats, Instagram and
# Facebook pages) are leads an analyst may note, not sources to accept.
CRAWLABLE_KINDS = ("site", "telegram")
# A discovered source linked from at least this share of a study source's kept pages (and
# from FURNITURE_MIN_PAGES of them) is that source's page furniture: its own channel in the
# footer, a portal banner. Such links are not counted as pointing in.
FURNITURE_SHARE = 0.5
FURNITURE_MIN_PAGES = 3


def discovered_rows(session: Session, status: str | None = None, order: str = "candidates") -> list[dict[str, Any]]:
    """Discovered sources with the flagged candidates and the stored pages that link to them,
    leaving out the links that are a study source's furniture (`FURNITURE_SHARE`); by
    candidates (or by in-degree), then key. `furniture` names the sources whose every other
    page links to it; `crawlable` tells whether accepting it would crawl anything."""
    kept = dict(session.execute(select(Page.source_id, func.count()).where(Page.drop_reason.is_(None)).group_by(Page.source_id)).all())
    names = dict(session.execute(select(Source.id, Source.name)).all())
    links = session.execute(
        select(SourceLink.discovered_id, Page.source_id, SourceLink.page_id, Candidate.id)
        .join(Page, Page.id == SourceLink.page_id)
        .outerjoin(Candidate, Candidate.page_id == SourceLink.page_id)
    ).all()
    by_pair: dict[tuple[int, int], list[tuple[int, int | None]]] = {}
    for discovered_id, source_id, page_id, candidate_id in links:
        by_pair.setdefault((discovered_id, source_id), []).append((page_id, candidate_id))
    counts: dict[int, dict[str, Any]] = {}
    for (discovered_id, source_id), pages in by_pair.items():
        entry = counts.setdefault(discovered_id, {"pages": set(), "candidates": set(), "furniture": []})
        linking = {page for page, _ in pages}
        if len(linking) >= max(FURNITURE_MIN_PAGES, FURNITURE_SHARE * kept.get(source_id, 0)):
            entry["furniture"].append(names.get(source_id, str(source_id)))
            continue
        entry["pages"] |= linking
        entry["candidates"] |= {c for _, c in pages if c is not None}
    query = select(DiscoveredSource)
    if status:
        query = query.where(DiscoveredSource.status == status)
    rows = []
    for row in session.scalars(query):
        entry = counts.get(row.id, {"pages": set(), "candidates": set(), "furniture": []})
        rows.append(
            {
                "key": row.key,
                "kind": row.kind,
                "status": row.status,
                "in_degree": len(entry["pages"]),
                "candidates": len(entry["candidates"]),
                "furniture": sorted(entry["furniture"]),
                "crawlable": row.kind in CRAWLABLE_KINDS,
                "url": row.url,
                "example": row.example,
            }
        )
    first, second = ("candidates", "in_degree") if order == "candidates" else ("in_degree", "candidates")
    rows.sort(key=lambda r: (-r[first], -r[second], r["key"]))
    return rows


def accepted_sources(session: Session) -> list[SourceConfig]:
    """Discovered sites and Telegram channels that analysts accepted, as sources to crawl
    (only those kinds can be accepted: `CRAWLABLE_KINDS`)."""
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


# --- issue 6 exports: cases, decisions, sources, and the facets the export filters on -----

CASE_BASE_COLUMNS = ("case_id", "name")
CASE_PLACE_COLUMNS = (
    "place_names",
    "settlement_codes",
    "hromadas",
    "hromada_codes",
    "raions",
    "raion_codes",
    "oblasts",
    "oblast_codes",
)
CASE_TAIL_COLUMNS = (
    "evidence_urls",
    "evidence_published",
    "evidence_captures",
    "evidence_count",
    "first_seen",
    "last_seen",
    "coded_by",
    "screened_by",
    "created_at",
)
DECISION_COLUMNS = (
    "decision_id",
    "created_at",
    "user",
    "decision",
    "reason",
    "note",
    "mode",
    "fields",
    "candidate_id",
    "candidate_url",
    "candidate_status",
    "case_id",
)
SOURCE_COLUMNS = (
    "source",
    "kind",
    "region",
    "language_hint",
    "enabled",
    "start_urls",
    "allowed_domains",
    "pages",
    "pages_kept",
    "pages_dropped",
    "pages_flagged",
    "candidates",
    "candidates_included",
    "cases",
)
# Place-entry categories (KATOTTG) that are administrative units, not settlements.
_UNIT_CATEGORIES = frozenset("OPH")


def case_columns(codebook_fields: Sequence[str]) -> tuple[str, ...]:
    return (*CASE_BASE_COLUMNS, *codebook_fields, *CASE_PLACE_COLUMNS, *CASE_TAIL_COLUMNS)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _page_places(page: Page) -> list[dict[str, Any]]:
    return [dict(p) for p in (page.relevance or {}).get("places", ())]


def page_facets(session: Session) -> dict[str, dict[str, Any]]:
    """Per page URL: the runs that fetched it and the places named on it (for filters and
    the export's metadata)."""
    return {
        page.url: {"runs": sorted({r for r in (page.first_run_id, page.last_run_id) if r}), "places": _page_places(page)}
        for page in session.scalars(select(Page).order_by(Page.url))
    }


def _capture_of(page: Page, version: PageVersion | None) -> str:
    """The evidence page as it was screened: the version the decision was made on (else the
    latest), the run that last saw that version, when, and its WARC record."""
    version = version or (page.page_versions[-1] if page.page_versions else None)
    if version is None:
        return f"run {page.last_run_id} at {_iso(page.last_seen)}: {page.fetched_url}"
    seen = f"run {version.last_run_id} at {_iso(version.last_seen)}: {version.fetched_url}"
    if not version.warc_file:
        return f"{seen} (v{version.number}, not captured)"
    return f"{seen} (v{version.number}, WARC {version.warc_file} at {version.warc_offset}, captured {_iso(version.captured_at)})"


def case_rows(session: Session, codebook_fields: Sequence[Any]) -> list[dict[str, Any]]:
    """Open cases (not merged into another), by id, with every codebook field (`fields` are
    `review.codebook.Field`s: multi-valued ones come out as lists), the places their
    coding and evidence name, evidence URLs with dates and captures, first and last seen
    and who coded and screened them. Keys starting with "_" are facets for filtering."""
    names = [f.name for f in codebook_fields]
    columns = case_columns(names)
    evidence: dict[int, list[tuple[CaseEvidence, Candidate, Page]]] = {}
    query = (
        select(CaseEvidence, Candidate, Page)
        .join(Candidate, Candidate.id == CaseEvidence.candidate_id)
        .join(Page, Page.id == Candidate.page_id)
        .order_by(CaseEvidence.case_id, Page.url)
    )
    for row in session.execute(query):
        evidence.setdefault(row[0].case_id, []).append(tuple(row))  # type: ignore[arg-type]
    coders: dict[int, set[str]] = {}
    for case_id, user in session.execute(select(Decision.case_id, Decision.user).where(Decision.decision == "code", Decision.case_id.is_not(None))):
        coders.setdefault(case_id, set()).add(user)
    rows = []
    for case in session.scalars(select(Case).where(Case.merged_into_id.is_(None)).order_by(Case.id)):
        items = evidence.get(case.id, [])
        pages = [page for _, _, page in items]
        values = case.fields or {}
        row: dict[str, Any] = {"case_id": case.id, "name": case.name}
        for field in codebook_fields:
            value = values.get(field.name)
            if field.type == "multi":
                value = list(value or [])
            row[field.name] = value
        # Places: the coded place when the evidence resolves it, else every region place the evidence names.
        named: dict[str, dict[str, Any]] = {}
        for page in pages:
            for place in _page_places(page):
                named.setdefault(place["code"], place)
        coded = next((values.get(f.name) for f in codebook_fields if f.type == "place" and values.get(f.name)), None)
        if coded:
            places = [named.get(coded) or {"code": coded}]
        else:
            places = [named[code] for code in sorted(named)]
        row["place_names"] = [p.get("name") or "" for p in places]
        row["settlement_codes"] = [p["code"] if p.get("category") not in _UNIT_CATEGORIES else "" for p in places]
        for key in ("hromada", "raion", "oblast"):
            row[f"{key}s"] = [p.get(key) or "" for p in places]
            row[f"{key}_codes"] = [p.get(f"{key}_code") or "" for p in places]
        row["evidence_urls"] = [page.url for page in pages]
        row["evidence_published"] = [page.published or page.event_date or "" for page in pages]
        row["evidence_captures"] = [_capture_of(page, ev.page_version) for ev, _, page in items]
        row["evidence_count"] = len(pages)
        row["first_seen"] = _iso(min((p.first_seen for p in pages), default=None))
        row["last_seen"] = _iso(max((p.last_seen for p in pages), default=None))
        row["coded_by"] = sorted(coders.get(case.id, ()))
        row["screened_by"] = sorted({ev.added_by for ev, _, _ in items})
        row["created_at"] = _iso(case.created_at)
        out = {column: row[column] for column in columns}
        out["_runs"] = sorted({r for p in pages for r in (p.first_run_id, p.last_run_id) if r})
        out["_places"] = places + [p for code, p in sorted(named.items()) if p not in places]
        out["_mode"] = values.get("mode")
        out["_dates"] = [d for d in [values.get("start_date"), values.get("end_date"), *(p.event_date for p in pages)] if d]
        rows.append(out)
    return rows


def decision_rows(session: Session) -> list[dict[str, Any]]:
    """The whole append-only decision log, in the order it was written (by id)."""
    query = (
        select(Decision, Candidate, Page)
        .outerjoin(Candidate, Candidate.id == Decision.candidate_id)
        .outerjoin(Page, Page.id == Candidate.page_id)
        .order_by(Decision.id)
    )
    case_pages: dict[int, list[Page]] = {}
    for case_id, page in session.execute(
        select(CaseEvidence.case_id, Page).join(Candidate, Candidate.id == CaseEvidence.candidate_id).join(Page, Page.id == Candidate.page_id)
    ):
        case_pages.setdefault(case_id, []).append(page)
    rows = []
    for decision, candidate, page in session.execute(query):
        fields = decision.fields or {}
        pages = [page] if page is not None else case_pages.get(decision.case_id or -1, [])
        rows.append(
            {
                "decision_id": decision.id,
                "created_at": _iso(decision.created_at),
                "user": decision.user,
                "decision": decision.decision,
                "reason": decision.reason,
                "note": decision.note,
                "mode": fields.get("mode"),
                "fields": json.dumps(fields, ensure_ascii=False, sort_keys=True),
                "candidate_id": decision.candidate_id,
                "candidate_url": page.url if page is not None else None,
                "candidate_status": candidate.status if candidate is not None else None,
                "case_id": decision.case_id,
                "_runs": sorted({r for p in pages for r in (p.first_run_id, p.last_run_id) if r}),
                "_places": [pl for p in pages for pl in _page_places(p)],
                "_mode": fields.get("mode"),
                "_status": decision.decision,
                "_dates": [decision.created_at.date().isoformat()],
            }
        )
    return rows


def source_rows(session: Session) -> list[dict[str, Any]]:
    """Each source with its yield: pages (kept, dropped, flagged), candidates, included
    candidates and open cases its pages are evidence of; by name."""
    pages = dict(session.execute(select(Page.source_id, func.count()).group_by(Page.source_id)).all())
    dropped = dict(session.execute(select(Page.source_id, func.count()).where(Page.drop_reason.is_not(None)).group_by(Page.source_id)).all())
    flagged = dict(session.execute(select(Page.source_id, func.count()).where(Page.flagged.is_(True)).group_by(Page.source_id)).all())
    candidates = dict(session.execute(select(Page.source_id, func.count()).join(Candidate, Candidate.page_id == Page.id).group_by(Page.source_id)).all())
    included = dict(
        session.execute(
            select(Page.source_id, func.count()).join(Candidate, Candidate.page_id == Page.id).where(Candidate.status == "include").group_by(Page.source_id)
        ).all()
    )
    cases = dict(
        session.execute(
            select(Page.source_id, func.count(func.distinct(Case.id)))
            .join(Candidate, Candidate.page_id == Page.id)
            .join(CaseEvidence, CaseEvidence.candidate_id == Candidate.id)
            .join(Case, Case.id == CaseEvidence.case_id)
            .where(Case.merged_into_id.is_(None))
            .group_by(Page.source_id)
        ).all()
    )
    runs: dict[int, set[int]] = {}
    for source_id, first, last in session.execute(select(Page.source_id, Page.first_run_id, Page.last_run_id)):
        runs.setdefault(source_id, set()).update(r for r in (first, last) if r)
    rows = []
    for source in session.scalars(select(Source).order_by(Source.name)):
        n = pages.get(source.id, 0)
        rows.append(
            {
                "source": source.name,
                "kind": source.kind,
                "region": source.region,
                "language_hint": source.language_hint,
                "enabled": bool(source.enabled),
                "start_urls": list(source.start_urls or []),
                "allowed_domains": list(source.allowed_domains or []),
                "pages": n,
                "pages_kept": n - dropped.get(source.id, 0),
                "pages_dropped": dropped.get(source.id, 0),
                "pages_flagged": flagged.get(source.id, 0),
                "candidates": candidates.get(source.id, 0),
                "candidates_included": included.get(source.id, 0),
                "cases": cases.get(source.id, 0),
                "_runs": sorted(runs.get(source.id, ())),
            }
        )
    return rows


# --- issue 7: schedule and crawl health ----------------------------------------------------

_LAST_FETCH_RE = re.compile(r"^last fetch: (\S+)")


def last_finished_crawls(session: Session) -> dict[str, dt.datetime]:
    """When each source's latest crawl that ran to its end finished."""
    latest: dict[str, dt.datetime] = {}
    query = select(Run.sources, Run.finished_at).where(Run.status == "finished", Run.finish_reason == "finished", Run.finished_at.is_not(None))
    for names, finished_at in session.execute(query):
        for name in names or ():
            if name not in latest or finished_at > latest[name]:
                latest[name] = finished_at
    return latest


def sources_with_included(session: Session, since: dt.datetime) -> set[str]:
    """Sources with a page that became evidence of a case since `since`."""
    query = (
        select(Source.name)
        .join(Page, Page.source_id == Source.id)
        .join(Candidate, Candidate.page_id == Page.id)
        .join(CaseEvidence, CaseEvidence.candidate_id == Candidate.id)
        .where(CaseEvidence.added_at >= since)
        .distinct()
    )
    return set(session.scalars(query))


def rejected_keys(session: Session) -> set[str]:
    """Keys (hosts, t.me/<channel>) of discovered sources that analysts rejected."""
    return set(session.scalars(select(DiscoveredSource.key).where(DiscoveredSource.status == "rejected")))


@dataclass(frozen=True)
class SourceHealth:
    source: str
    kind: str
    last_run_id: int | None
    last_run_at: dt.datetime | None
    outcome: str | None  # finished | interrupted | failed | running...
    pages: int
    new: int  # pages first stored with a text by the last run (failed fetches are not new pages)
    versions: int  # page versions first seen by the last run (new pages' first versions and changed pages)
    fetched: int  # pages the last run stored (kept or dropped)
    errors: dict[str, int]  # failed fetches of the last run by reason
    yielded_before: bool  # an earlier run stored a page with text

    @property
    def warning(self) -> str | None:
        if self.last_run_id is None or self.outcome == "running":
            return None
        if self.fetched and sum(self.errors.values()) == self.fetched:
            kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.errors.items()))
            before = "yielded pages before, but" if self.yielded_before else "never yielded a page:"
            return f"{self.source}: {before} its last run ({self.last_run_id}) got only errors ({kinds})"
        # A Telegram run with no new posts stores nothing by design; it stops at the newest known.
        if self.yielded_before and self.fetched == 0 and self.kind != "telegram":
            return f"{self.source}: yielded pages before, but its last run ({self.last_run_id}) stored nothing"
        return None


def source_health(session: Session) -> list[SourceHealth]:
    """Per source: its last run, pages, new pages and new page versions, and the failed
    fetches of that run."""
    last_run: dict[str, Run] = {}
    for run in session.scalars(select(Run).order_by(Run.id)):
        for name in run.sources or ():
            last_run[name] = run
    totals = {source_id: n for source_id, n in session.execute(select(Page.source_id, func.count()).group_by(Page.source_id))}
    rows = []
    for source in session.scalars(select(Source).order_by(Source.name)):
        run = last_run.get(source.name)
        new = fetched = versions = 0
        errors: Counter[str] = Counter()
        yielded_before = False
        if run is not None:
            of_run = session.execute(
                select(Page.first_run_id, Page.drop_reason, Page.drop_detail).where(Page.source_id == source.id, Page.last_run_id == run.id)
            ).all()
            fetched = len(of_run)
            new = sum(1 for first, reason, _ in of_run if first == run.id and reason is None)  # a failed fetch is no new page
            errors.update(kind for _, reason, detail in of_run if (kind := _fetch_error(reason, detail)))
            versions = session.scalar(
                select(func.count()).select_from(PageVersion).join(Page, Page.id == PageVersion.page_id)
                .where(Page.source_id == source.id, PageVersion.first_run_id == run.id)
            ) or 0
            yielded_before = session.scalar(
                select(func.count()).select_from(Page).where(Page.source_id == source.id, Page.text.is_not(None), Page.first_run_id < run.id)
            ) > 0
        rows.append(SourceHealth(
            source=source.name,
            kind=source.kind,
            last_run_id=run.id if run else None,
            last_run_at=(run.finished_at or run.started_at) if run else None,
            outcome=(run.finish_reason or run.status) if run else None,
            pages=totals.get(source.id, 0),
            new=new,
            versions=versions,
            fetched=fetched,
            errors=dict(errors.most_common()),
            yielded_before=yielded_before,
        ))
    return rows


def _fetch_error(reason: str | None, detail: str | None) -> str | None:
    """The failed fetch a page's last visit ended with; a page whose earlier text was kept
    carries it in its detail ("last fetch: http_500 (...)")."""
    if reason is None and detail:
        match = _LAST_FETCH_RE.match(detail)
        reason = match[1] if match else None
    return reason if is_fetch_failure(reason) else None
