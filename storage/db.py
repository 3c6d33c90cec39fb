"""Opening the catalogue database and the writes the crawl makes.

SQLite (WAL) by default, any SQLAlchemy URL otherwise. Writes are idempotent: a page is
keyed by its canonical URL, so crawling the same web twice never adds a row twice.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload

from crawler.core.config import Source as SourceConfig
from crawler.core.errors import BadInput, CatalogueError, SchemaMismatch
from crawler.core.items import PageItem
from storage.models import (
    SCHEMA_VERSION,
    Base,
    Candidate,
    DiscoveredSource,
    Page,
    PageIdentifier,
    PagePlace,
    Run,
    SchemaInfo,
    Source,
    SourceLink,
    utcnow,
)
from storage.versions import record_version, seen_unchanged

__all__ = [
    "apply_relevance",
    "catalogue_engine",
    "ensure_source",
    "finish_run",
    "open_catalogue",
    "start_run",
    "sync_candidate",
    "sync_sources",
    "write_pages",
]


# How a run can end without having done its work: stopped, or nothing it tried came through.
FAILED_REASONS = frozenset({"shutdown", "cancelled", "nothing_fetched", "catalogue_error", "capture_error", "import_failed"})


def open_catalogue(url: str, *, create: bool = True) -> Engine:
    """An engine on the catalogue at `url`, its schema created or checked; `CatalogueError`
    when the database cannot be opened (an unreadable file, a server that is not there)."""
    engine = catalogue_engine(url, create=create)
    try:
        _check_schema(engine, url, create)
    except OperationalError as error:
        engine.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        raise CatalogueError(f"cannot open the catalogue {shown}: {error.orig}{_read_only_hint(url)}") from error
    return engine


def _read_only_hint(url: str) -> str:
    """Why SQLite may fail to open a file it can read: it writes beside it (WAL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return ""
    path = Path(parsed.database)
    for what, target in (("file", path), ("folder", path.parent)):
        if target.exists() and not os.access(target, os.W_OK):
            return f" (the catalogue's {what} is read-only; SQLite must write to it and beside it)"
    return ""


def catalogue_engine(url: str, *, create: bool = True) -> Engine:
    """An engine on the database at `url` (a SQLite file must exist unless `create`), with
    coprod's SQLite settings; its schema is not looked at."""
    try:
        parsed = make_url(url)
    except Exception:
        raise BadInput(f"not a database URL: {url!r} (expected e.g. sqlite:///data/coprod.sqlite)") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db_path = Path(parsed.database)
        if not create and not db_path.exists():
            raise BadInput(f"no catalogue database at {db_path} (run a crawl first, or pass --db)")
        db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _check_schema(engine: Engine, url: str, create: bool) -> None:
    existing = set(inspect(engine).get_table_names())
    if not existing and not create:
        raise BadInput(f"{url} holds no coprod catalogue")
    if existing and "schema_info" not in existing:
        raise SchemaMismatch(f"{url} is not a coprod catalogue (no schema_info table)")
    if "schema_info" in existing:
        with Session(engine) as session:
            version = session.scalar(select(SchemaInfo.version))
        if version is not None and version < SCHEMA_VERSION:
            raise SchemaMismatch(
                f"{url} has catalogue schema version {version}; this coprod reads version {SCHEMA_VERSION} "
                f"(upgrade it with: coprod migrate --db {url})"
            )
        if version != SCHEMA_VERSION:
            raise SchemaMismatch(
                f"{url} has catalogue schema version {version}; this coprod reads version {SCHEMA_VERSION}"
            )
        return
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add(SchemaInfo(version=SCHEMA_VERSION))


def sync_sources(session: Session, sources: Iterable[SourceConfig]) -> dict[str, int]:
    """Insert or update the configured sources; return their ids by name."""
    rows = {row.name: row for row in session.scalars(select(Source))}
    for spec in sources:
        row = rows.get(spec.name) or Source(name=spec.name)
        row.kind = spec.kind
        row.region = spec.region
        row.language_hint = spec.language
        row.start_urls = list(spec.start_urls)
        row.allowed_domains = list(spec.domains)
        row.enabled = spec.enabled
        session.add(row)
        rows[spec.name] = row
    session.flush()
    return {name: row.id for name, row in rows.items()}


def ensure_source(session: Session, name: str, kind: str, origin: str) -> int:
    """A source that is not in the study file (an imported file); created once, kept."""
    row = session.scalar(select(Source).where(Source.name == name))
    if row is None:
        row = Source(name=name, kind=kind, start_urls=[origin], allowed_domains=[], enabled=False)
        session.add(row)
        session.flush()
    return row.id


def start_run(session: Session, spider: str, sources: Sequence[str], seeds_sha256: str | None) -> int:
    run = Run(spider=spider, sources=list(sources), seeds_sha256=seeds_sha256)
    session.add(run)
    session.flush()
    return run.id


def finish_run(session: Session, run_id: int, reason: str, stats: dict[str, Any]) -> None:
    run = session.get(Run, run_id)
    if run is None:
        return
    run.finished_at = utcnow()
    run.finish_reason = reason
    run.status = "failed" if reason in FAILED_REASONS else "finished"
    run.stats = {key: _jsonable(value) for key, value in sorted(stats.items())}
    run.pages_fetched = int(stats.get("response_received_count", 0))
    run.pages_stored = int(stats.get("coprod/stored", 0))
    run.pages_dropped = int(sum(v for k, v in stats.items() if k.startswith("coprod/dropped/")))
    run.errors = int(stats.get("log_count/ERROR", 0))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def write_pages(
    session: Session,
    items: Sequence[tuple[PageItem, str | None, str | None]],
    source_ids: dict[str, int],
    run_id: int | None,
) -> int:
    """Upsert pages by canonical URL; returns how many rows were new.

    `items` holds (page, drop reason, drop detail). A page fetched again keeps its first
    sighting; a failed re-fetch records the failure without erasing the text stored before.
    """
    urls = [item.url for item, _, _ in items]
    existing = {page.url: page for page in session.scalars(select(Page).where(Page.url.in_(urls)).options(selectinload(Page.page_versions)))}
    hashes = {item.content_hash for item, reason, _ in items if item.content_hash and not reason}
    # The first page stored with a text is its original; later copies (an aggregator
    # republishing a story) point to it and do not become candidates of their own.
    originals: dict[str, Page] = {}
    for page in session.scalars(select(Page).where(Page.content_hash.in_(hashes), Page.drop_reason.is_(None)).order_by(Page.id)):
        originals.setdefault(page.content_hash or "", page)
    # Near copies (pipelines.dedup decided which story each copies) point to that story.
    copied = {item.copy_of for item, reason, _ in items if item.copy_of and not reason}
    near_originals = {page.url: page for page in session.scalars(select(Page).where(Page.url.in_(copied)))} if copied else {}
    created = 0
    touched: list[Page] = []
    replaced: list[tuple[Page, list[str]]] = []
    for item, reason, detail in items:
        page = existing.get(item.url)
        if item.not_modified:
            if page is not None:
                seen_unchanged(page, item, run_id)
            continue
        if page is None:
            page = Page(url=item.url, first_run_id=run_id, first_seen=item.fetched_at, source_id=source_ids[item.source])
            session.add(page)
            existing[item.url] = page
            created += 1
        page.fetched_url = item.fetched_url
        page.last_seen = item.fetched_at
        page.last_run_id = run_id
        page.http_status = item.http_status
        page.content_type = item.content_type
        page.depth = item.depth
        page.referer = item.referer
        if reason and page.text is not None:
            # Keep the good text; remember that the latest fetch failed.
            page.drop_detail = f"last fetch: {reason}" + (f" ({detail})" if detail else "")
            continue
        page.drop_reason = reason
        page.drop_detail = detail
        if reason:
            continue
        page.encoding = item.encoding
        page.title = item.title
        page.text = item.text
        page.published = item.published
        page.author = item.author
        page.sitename = item.sitename
        page.content_hash = item.content_hash
        page.language = item.language
        page.language_detail = item.language_detail
        page.links = list(item.links)
        page.alternates = [list(pair) for pair in item.alternates]
        page.extra = dict(item.extra)
        apply_relevance(page, item.relevance)
        page.etag = item.etag
        page.last_modified = item.last_modified
        record_version(page, item, run_id)
        page.signature = item.signature
        original = originals.setdefault(item.content_hash or "", page) if item.content_hash else page
        if original is page and item.copy_of:
            original = existing.get(item.copy_of) or near_originals.get(item.copy_of) or page
        page.duplicate_of = original if original is not page else None
        touched.append(page)
        if item.replaces:
            replaced.append((page, item.replaces))
    session.flush()
    # A page stored earlier turned out to copy this one (crawled later): it points here now,
    # with the copies that pointed to it.
    for original, urls in replaced:
        ids = list(session.scalars(select(Page.id).where(Page.url.in_(urls))))
        for copy in session.scalars(select(Page).where(or_(Page.id.in_(ids), Page.duplicate_of_id.in_(ids)))):
            if copy is not original:
                copy.duplicate_of = original
                touched.append(copy)
    session.flush()
    regrouped = _link_versions(session, touched)
    for page in dict.fromkeys(touched + regrouped):
        sync_candidate(session, page)
    _record_discoveries(session, [(existing[item.url], item.discovered) for item, reason, _ in items if not reason and item.discovered])
    session.flush()
    return created


def stored_signatures(session: Session) -> list[tuple[str, bytes]]:
    """(canonical url, signature) of every stored story that is not a copy itself."""
    rows = session.execute(
        select(Page.url, Page.signature).where(Page.signature.is_not(None), Page.drop_reason.is_(None), Page.duplicate_of_id.is_(None))
    )
    return [(url, signature) for url, signature in rows]


def stored_stories(session: Session, urls: Sequence[str]) -> dict[str, tuple[str, str | None, list[str]]]:
    """(text, publication date, links) of each stored page, by canonical url."""
    rows = session.execute(select(Page.url, Page.text, Page.published, Page.links).where(Page.url.in_(list(urls))))
    return {url: (text, published, list(links or ())) for url, text, published, links in rows if text}


def _link_versions(session: Session, pages: list[Page]) -> list[Page]:
    """Pages that name each other as language versions (hreflang) are one story: the
    flagged version with the highest score (else the first stored) leads, the others
    point to it, so the queue shows one candidate with every text."""
    with_versions = [p for p in pages if p.alternates]
    changed: list[Page] = []
    if not with_versions:
        return changed
    urls = {url for p in with_versions for _, url in p.alternates} | {p.url for p in with_versions}
    known = {p.url: p for p in session.scalars(select(Page).where(Page.url.in_(urls)))}
    for page in with_versions:
        group = {page.url: page} | {url: known[url] for _, url in page.alternates if url in known}
        # Versions found earlier may already lead a group that includes this page.
        for member in list(group.values()):
            if member.version_of is not None:
                group[member.version_of.url] = member.version_of
        leader = max(group.values(), key=lambda p: (bool(p.flagged), p.score, -(p.id or 0)))
        for member in group.values():
            lead = None if member is leader else leader
            if member.version_of is not lead:
                member.version_of = lead
                changed.append(member)
    return changed


def _record_discoveries(session: Session, found: list[tuple[Page, list[dict[str, str]]]]) -> None:
    if not found:
        return
    keys = {d["key"] for _, discovered in found for d in discovered}
    rows = {row.key: row for row in session.scalars(select(DiscoveredSource).where(DiscoveredSource.key.in_(keys)))}
    for _, discovered in found:
        for d in discovered:
            if d["key"] not in rows:
                rows[d["key"]] = DiscoveredSource(key=d["key"], kind=d["kind"], url=d["url"], example=d["example"] or None)
                session.add(rows[d["key"]])
    session.flush()
    page_ids = [page.id for page, _ in found]
    linked = set(session.execute(select(SourceLink.page_id, SourceLink.discovered_id).where(SourceLink.page_id.in_(page_ids))))
    for page, discovered in found:
        for d in discovered:
            pair = (page.id, rows[d["key"]].id)
            if pair not in linked:
                linked.add(pair)
                session.add(SourceLink(page_id=page.id, discovered_id=rows[d["key"]].id))


def apply_relevance(page: Page, relevance: dict[str, Any] | None) -> None:
    """Copy the engine's verdict onto the page: the columns the queue filters on, the full
    reasons, and the identifier and place rows."""
    relevance = relevance or {}
    page.relevance = relevance
    page.flagged = bool(relevance.get("flagged"))
    page.score = float(relevance.get("score", 0.0))
    page.direction = relevance.get("direction")
    page.mode = relevance.get("mode")
    page.in_region = relevance.get("in_region")
    page.in_window = relevance.get("in_window")
    page.event_date = relevance.get("published")
    identifiers = {(i["kind"], i["value"]) for i in relevance.get("identifiers", ())}
    page.identifiers = [row for row in page.identifiers if (row.kind, row.value) in identifiers]
    known = {(row.kind, row.value) for row in page.identifiers}
    page.identifiers.extend(PageIdentifier(kind=k, value=v) for k, v in sorted(identifiers - known))
    places = {p["code"]: p for p in relevance.get("places", ())}
    page.places = [row for row in page.places if row.code in places]
    known_places = {row.code for row in page.places}
    page.places.extend(
        PagePlace(code=code, name=p["name"], category=p["category"], hromada_code=p.get("hromada_code"), raion_code=p.get("raion_code"))
        for code, p in sorted(places.items())
        if code not in known_places
    )


def sync_candidate(session: Session, page: Page) -> None:
    """A flagged original page (not a copy, not another language's version) is a candidate;
    any other leaves the queue unless somebody already decided on it."""
    candidate = page.candidate
    if page.flagged and page.duplicate_of is None and page.version_of is None:
        if candidate is None:
            session.add(Candidate(page=page, score=page.score))
        else:
            candidate.score = page.score
    elif candidate is not None and candidate.status == "unscreened":
        # Nothing was decided on it yet, so a page no longer flagged simply leaves the queue.
        session.delete(candidate)
