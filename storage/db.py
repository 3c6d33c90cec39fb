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

from sqlalchemy import Connection, Engine, bindparam, create_engine, event, func, inspect, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload

from crawler.core.config import Source as SourceConfig
from crawler.core.errors import BadInput, CatalogueError, SchemaMismatch
from crawler.core.items import PageItem
from storage.migrations import creation_lock, fresh_schema
from storage.models import (
    Base,
    SCHEMA_VERSION,
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
    "insert_new",
    "open_catalogue",
    "start_run",
    "sync_candidate",
    "sync_sources",
    "upsert",
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
    except BaseException:
        engine.dispose()
        raise
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
        _create_private(db_path)
    engine = create_engine(parsed)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _create_private(path: Path) -> None:
    """A new catalogue file (password hashes, phones, emails) is the owner's alone: 0600 in a
    folder made 0700; SQLite gives its -wal and -shm files the database file's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB of page cache per connection, not 2: the review queue walks the indexes of
    # 100,000 candidates, which then stay in memory from one request to the next.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _check_schema(engine: Engine, url: str, create: bool) -> None:
    version = _version(engine, url)
    if version is None:
        # No catalogue yet, or another process is creating it: decide under the creation lock.
        with engine.connect() as connection, creation_lock(connection):
            version = _version(connection, url)
            connection.rollback()
        if version is None:
            if not create:
                raise BadInput(f"{url} holds no coprod catalogue")
            fresh_schema(engine)
            return
    if version < SCHEMA_VERSION:
        raise SchemaMismatch(
            f"{url} has catalogue schema version {version}; this coprod reads version {SCHEMA_VERSION} "
            f"(upgrade it with: coprod migrate --db {url})"
        )
    if version != SCHEMA_VERSION:
        raise SchemaMismatch(f"{url} has catalogue schema version {version}; this coprod reads version {SCHEMA_VERSION}")


def _version(bind: Engine | Connection, url: str) -> int | None:
    """The catalogue's schema version; None when the database holds no tables (or its
    schema_info has no row yet)."""
    existing = set(inspect(bind).get_table_names())
    if existing and "schema_info" not in existing:
        raise SchemaMismatch(f"{url} is not a coprod catalogue (no schema_info table)")
    if not existing:
        return None
    if isinstance(bind, Connection):
        return bind.scalar(select(SchemaInfo.version))
    with bind.connect() as connection:
        return connection.scalar(select(SchemaInfo.version))


def sync_sources(session: Session, sources: Iterable[SourceConfig]) -> dict[str, int]:
    """Insert or update the configured sources; return their ids by name (every source's).
    Crawlers starting together add a new source once (ON CONFLICT DO NOTHING)."""
    specs = list(sources)
    insert_new(session, Source, [_source_row(spec.name, spec.kind, list(spec.start_urls), list(spec.domains), spec.enabled) for spec in specs], ["name"])
    rows = {row.name: row for row in session.scalars(select(Source))}
    for spec in specs:
        row = rows[spec.name]
        row.kind = spec.kind
        row.region = spec.region
        row.language_hint = spec.language
        row.start_urls = list(spec.start_urls)
        row.allowed_domains = list(spec.domains)
        row.enabled = spec.enabled
    session.flush()
    return {name: row.id for name, row in rows.items()}


def ensure_source(session: Session, name: str, kind: str, origin: str) -> int:
    """A source that is not in the study file (an imported file); created once, kept."""
    insert_new(session, Source, [_source_row(name, kind, [origin], [], False)], ["name"])
    return session.scalar(select(Source.id).where(Source.name == name))


def _source_row(name: str, kind: str, start_urls: list[str], domains: list[str], enabled: bool) -> dict[str, Any]:
    return {"name": name, "kind": kind, "start_urls": start_urls, "allowed_domains": domains, "enabled": enabled, "created_at": utcnow()}


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
    # New pages are inserted with ON CONFLICT DO NOTHING, so two crawlers storing one URL at
    # once make one row; then every page of the batch is read back and updated.
    fresh = {
        item.url: {
            "url": item.url, "fetched_url": item.fetched_url, "source_id": source_ids[item.source],
            "first_run_id": run_id, "first_seen": item.fetched_at, "last_seen": item.fetched_at,
        }
        for item, _, _ in items
        if not item.not_modified
    }
    created = len(insert_new(session, Page, list(fresh.values()), ["url"], returning=Page.url))
    # What the updates below read, loaded for the batch at once (lazily, each page cost a query
    # per relationship: an eighth of a crawl's main process at 10,000 pages).
    loads = [selectinload(relation) for relation in (Page.page_versions, Page.identifiers, Page.places, Page.candidate, Page.duplicate_of, Page.version_of)]
    existing = {page.url: page for page in session.scalars(select(Page).where(Page.url.in_(urls)).options(*loads))}
    hashes = {item.content_hash for item, reason, _ in items if item.content_hash and not reason}
    # The first page stored with a text is its original; later copies (an aggregator
    # republishing a story) point to it and do not become candidates of their own.
    originals: dict[str, Page] = {}
    for page in session.scalars(select(Page).where(Page.content_hash.in_(hashes), Page.drop_reason.is_(None)).order_by(Page.id)):
        originals.setdefault(page.content_hash or "", page)
    # Near copies (pipelines.dedup decided which story each copies) point to that story.
    copied = {item.copy_of for item, reason, _ in items if item.copy_of and not reason}
    near_originals = {page.url: page for page in session.scalars(select(Page).where(Page.url.in_(copied)))} if copied else {}
    touched: list[Page] = []
    replaced: list[tuple[Page, list[str]]] = []
    for item, reason, detail in items:
        page = existing.get(item.url)
        if page is None:
            continue  # a 304 for a page that is not stored (any more)
        if item.not_modified:
            seen_unchanged(page, item, run_id)
            continue
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
        page.signature, page.shingles = item.signature, item.shingles
        original = originals.setdefault(item.content_hash or "", page) if item.content_hash else page
        if original is page and item.copy_of:
            original = existing.get(item.copy_of) or near_originals.get(item.copy_of) or page
        _point_to(page, original)
        touched.append(page)
        if item.replaces:
            replaced.append((page, item.replaces))
    session.flush()
    # A page stored earlier turned out to copy this one (crawled later): it points here now,
    # with the copies that pointed to it.
    for original, urls in replaced:
        ids = list(session.scalars(select(Page.id).where(Page.url.in_(urls))))
        if _root(original).id in ids:
            # Its text is a copy's by its hash (the copy stored first): it is the original.
            original.duplicate_of = None
        for copy in session.scalars(select(Page).where(or_(Page.id.in_(ids), Page.duplicate_of_id.in_(ids)))):
            if copy is not original:
                _point_to(copy, original)
                touched.append(copy)
    session.flush()
    regrouped = _link_versions(session, touched)
    for page in dict.fromkeys(touched + regrouped):
        sync_candidate(session, page)
    _record_discoveries(session, [(existing[item.url], item.discovered) for item, reason, _ in items if not reason and item.discovered])
    session.flush()
    return created


def stored_signatures(session: Session) -> list[tuple[str, bytes, int | None]]:
    """(canonical url, signature, number of shingles when its fingerprint is stored) of
    every stored story that is not a copy itself."""
    rows = session.execute(
        select(Page.url, Page.signature, func.length(Page.shingles) / 4)
        .where(Page.signature.is_not(None), Page.drop_reason.is_(None), Page.duplicate_of_id.is_(None))
    )
    return [(url, signature, size) for url, signature, size in rows]


def stored_stories(session: Session, urls: Sequence[str]) -> dict[str, tuple[str, str | None, list[str], bytes | None]]:
    """(text, publication date, links, fingerprint) of each stored page, by canonical url."""
    rows = session.execute(select(Page.url, Page.text, Page.published, Page.links, Page.shingles).where(Page.url.in_(list(urls))))
    return {url: (text, published, list(links or ()), shingles) for url, text, published, links, shingles in rows if text}


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


def _root(page: Page) -> Page:
    """The first page of the story `page` belongs to (itself when it copies none)."""
    seen = {id(page)}
    while page.duplicate_of is not None and id(page.duplicate_of) not in seen:
        page = page.duplicate_of
        seen.add(id(page))
    return page


def _point_to(page: Page, original: Page) -> None:
    """`page` copies `original`'s story: it points to the story's first page. The exact hash
    (first stored) and the near-copy decision (who links to whom, who was published first)
    can name each other in one batch; pointing to the story's first page, never to itself,
    keeps the copies a tree (a cycle cannot be stored: SQLAlchemy refuses the flush)."""
    root = page if original is page else _root(original)
    page.duplicate_of = None if root is page else root


def _record_discoveries(session: Session, found: list[tuple[Page, list[dict[str, str]]]]) -> None:
    if not found:
        return
    rows: dict[str, dict[str, Any]] = {}
    for _, discovered in found:
        for d in discovered:
            # The first mention with words is the example: a bare link (an icon, an image)
            # seen first must not leave the source without one, whatever the pages' order.
            row = rows.setdefault(d["key"], {"key": d["key"], "kind": d["kind"], "url": d["url"], "example": None})
            if row["example"] is None and d["example"]:
                row["example"] = d["example"]
    inserted = set(insert_new(session, DiscoveredSource, list(rows.values()), ["key"], returning=DiscoveredSource.key))
    known = [{"known_key": key, "new_example": row["example"]} for key, row in rows.items() if row["example"] and key not in inserted]
    if known:
        table = DiscoveredSource.__table__
        session.connection().execute(
            table.update().where(table.c.key == bindparam("known_key"), table.c.example.is_(None)).values(example=bindparam("new_example")),
            known)
    ids = dict(session.execute(select(DiscoveredSource.key, DiscoveredSource.id).where(DiscoveredSource.key.in_(rows))).all())
    links = {(page.id, ids[d["key"]]) for page, discovered in found for d in discovered}
    insert_new(session, SourceLink, [{"page_id": page_id, "discovered_id": found_id} for page_id, found_id in sorted(links)], ["page_id", "discovered_id"])


def insert_new(session: Session, model: type[Base], rows: list[dict[str, Any]], keys: list[str], returning: Any = None) -> list[Any]:
    """INSERT ... ON CONFLICT (keys) DO NOTHING of `rows` (PostgreSQL and SQLite); returns
    the `returning` column of the rows it inserted."""
    if not rows:
        return []
    statement = _insert(session, model).on_conflict_do_nothing(index_elements=keys)
    connection = session.connection()
    if returning is None:
        connection.execute(statement, rows)
        return []
    return list(connection.execute(statement.returning(returning), rows).scalars())


def upsert(session: Session, model: type[Base], rows: list[dict[str, Any]], keys: list[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE of `rows` (PostgreSQL and SQLite): two
    processes writing one row at once both succeed, the later one's values win."""
    if not rows:
        return
    statement = _insert(session, model)
    columns = [name for name in rows[0] if name not in keys]
    statement = statement.on_conflict_do_update(index_elements=keys, set_={name: statement.excluded[name] for name in columns})
    session.connection().execute(statement, rows)


def _insert(session: Session, model: type[Base]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise BadInput(f"the catalogue needs PostgreSQL or SQLite (got {dialect})")
    return insert(model.__table__)


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
            candidate = Candidate(page=page)
            session.add(candidate)
        candidate.score = page.score
        # The queue filters on these without joining the pages.
        candidate.source_id, candidate.language, candidate.mode = page.source_id, page.language, page.mode
    elif candidate is not None and candidate.status == "unscreened":
        # Nothing was decided on it yet, so a page no longer flagged simply leaves the queue.
        session.delete(candidate)
