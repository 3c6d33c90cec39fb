"""The pipelines without a crawl: importing documents and re-scoring stored pages.

Both run the crawl's stage chain (`pipelines.chain`): an imported document goes through
every stage as a fetched page would (extraction, card masking, language, relevance,
discovery) and through the same idempotent store; a rescore runs the chain's relevance
stage over the stored pages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine as Database
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.core.config import Source
from crawler.core.documents import Document
from crawler.core.items import PageItem
from pipelines._drop import PageDropped
from pipelines.chain import Chain
from pipelines.dedup import CopyFinder, fingerprint, shingles, signature
from pipelines.search import index_pending
from storage.db import apply_relevance, ensure_source, finish_run, start_run, stored_signatures, stored_stories, sync_candidate, sync_sources, write_pages
from storage.models import Page
from storage.runs import record_process

__all__ = ["ImportOutcome", "RescoreOutcome", "import_documents", "rescore", "sign_pages"]

BATCH = 200


@dataclass(frozen=True)
class ImportOutcome:
    run_id: int
    read: int
    stored: int
    new_rows: int
    dropped: int
    flagged: int


def import_documents(database: Database, chain: Chain, documents: Iterable[Document], source: str, origin: str) -> ImportOutcome:
    """Run documents through the chain into the catalogue, filed under `source`: a source of
    the study keeps its kind and region, any other name becomes a source of kind other.

    An import that fails half-way (a file that turns out damaged, a catalogue that cannot be
    written, Ctrl-C) marks its run `failed` before the error goes on; the batches stored
    before it stay, and importing the file again stores each page once."""
    configured = chain.sources.get(source)
    with Session(database) as session, session.begin():
        if isinstance(configured, Source):
            source_id = sync_sources(session, [configured])[source]
        else:
            source_id = ensure_source(session, source, kind="other", origin=origin)
        run_id = start_run(session, "import", [source], None)
        record_process(session, run_id)  # a killed import is marked interrupted by the next command
    read = stored = new_rows = flagged = 0
    dropped: Counter[str] = Counter()
    batch: list[tuple[PageItem, str | None, str | None]] = []

    def stories(urls: list[str]) -> dict[str, tuple[str, str | None, list[str], bytes | None]]:
        with Session(database) as session:
            return stored_stories(session, urls)

    with Session(database) as session:
        copies = CopyFinder(stored_signatures(session), stories)

    def flush() -> None:
        nonlocal new_rows
        with Session(database) as session, session.begin():
            new_rows += write_pages(session, batch, {source: source_id}, run_id)
        batch.clear()

    def stats() -> dict[str, int]:
        counts = {"coprod/read": read, "coprod/stored": stored, "coprod/stored/new_rows": new_rows, "coprod/stored/flagged": flagged}
        return counts | {f"coprod/dropped/{reason}": n for reason, n in dropped.items()}

    try:
        for document in documents:
            read += 1
            item = document.item(source)
            try:
                chain.run(item)
            except PageDropped as drop:
                dropped[drop.reason] += 1
                batch.append((item, drop.reason, drop.detail))
            else:
                stored += 1
                flagged += bool(item.relevance and item.relevance["flagged"])
                copies.mark(item)
                batch.append((item, None, None))
            if len(batch) >= BATCH:
                flush()
        if batch:
            flush()
    except BaseException as error:
        _fail_run(database, run_id, stats() | {"coprod/failed_because": f"{type(error).__name__}: {error}"[:500]})
        raise
    with Session(database) as session, session.begin():
        index_pending(session)
        finish_run(session, run_id, "finished", stats())
    return ImportOutcome(run_id, read, stored, new_rows, sum(dropped.values()), flagged)


def _fail_run(database: Database, run_id: int, stats: dict[str, object]) -> None:
    """Mark the import's run failed; when even that cannot be written, the run is left to
    be marked interrupted once this process is gone."""
    try:
        with Session(database) as session, session.begin():
            finish_run(session, run_id, "import_failed", stats)
    except SQLAlchemyError:
        pass


@dataclass(frozen=True)
class RescoreOutcome:
    pages: int
    newly_flagged: int
    unflagged: int
    direction_changed: int


def rescore(database: Database, chain: Chain) -> RescoreOutcome:
    """Re-run the relevance stage over every stored page with text; report how the flags moved."""
    pages = newly = unflagged = direction_changed = 0
    last_id = 0
    while True:
        with Session(database) as session, session.begin():
            batch = list(
                session.scalars(
                    select(Page).where(Page.id > last_id, Page.drop_reason.is_(None), Page.text.is_not(None)).order_by(Page.id).limit(BATCH)
                )
            )
            if not batch:
                break
            for page in batch:
                before_flag, before_direction = bool(page.flagged), page.direction
                if page.signature is None:  # a catalogue migrated from schema 2
                    page.signature = signature(fingerprint(shingles(page.text or "")))
                verdict = chain.assess(_stored(page), page.source)
                apply_relevance(page, verdict.to_json())
                session.flush()
                sync_candidate(session, page)
                pages += 1
                newly += page.flagged and not before_flag
                unflagged += before_flag and not page.flagged
                direction_changed += page.direction != before_direction
            last_id = batch[-1].id
    with Session(database) as session, session.begin():
        index_pending(session)
    return RescoreOutcome(pages, newly, unflagged, direction_changed)


def sign_pages(database: Database) -> int:
    """Sign every stored text that has no near-copy signature yet (a catalogue migrated from
    schema 3), so that later copies of those stories find them; returns how many were signed
    (a text too short to sign stays without)."""
    signed = last_id = 0
    while True:
        with Session(database) as session, session.begin():
            batch = list(
                session.scalars(
                    select(Page)
                    .where(Page.id > last_id, Page.signature.is_(None), Page.drop_reason.is_(None), Page.text.is_not(None))
                    .order_by(Page.id)
                    .limit(BATCH)
                )
            )
            if not batch:
                return signed
            for page in batch:
                page.signature = signature(fingerprint(shingles(page.text or "")))
                signed += page.signature is not None
            last_id = batch[-1].id


def _stored(page: Page) -> PageItem:
    """A stored page as the item the relevance stage reads (its text, title, language, date
    and links are what the chain stored)."""
    return PageItem(
        url=page.url,
        source=page.source.name,
        fetched_url=page.fetched_url or page.url,
        fetched_at=page.last_seen,
        text=page.text,
        title=page.title,
        published=page.published,
        language=page.language,
        links=list(page.links or ()),
        extra=dict(page.extra or {}),
    )
