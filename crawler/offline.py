"""The pipelines without a crawl: importing documents and re-scoring stored pages.

Both run the same stage functions as a crawl (extraction, card masking, language,
relevance) and write through the same idempotent store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine as Database
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.documents import Document
from crawler.items import PageItem
from crawler.urls import canonical_url
from pipelines.extract import fill_from_extraction
from pipelines.language import detect_language
from pipelines.relevance import Engine, apply_assessment
from storage.db import apply_relevance, ensure_source, finish_run, start_run, sync_candidate, write_pages
from storage.models import Page

__all__ = ["ImportOutcome", "RescoreOutcome", "import_documents", "rescore"]

BATCH = 200


@dataclass(frozen=True)
class ImportOutcome:
    run_id: int
    read: int
    stored: int
    new_rows: int
    dropped: int
    flagged: int


def import_documents(database: Database, engine: Engine, documents: Iterable[Document], source: str, origin: str) -> ImportOutcome:
    with Session(database) as session, session.begin():
        source_id = ensure_source(session, source, kind="other", origin=origin)
        run_id = start_run(session, "import", [source], None)
    read = stored = new_rows = dropped = flagged = 0
    batch: list[tuple[PageItem, str | None, str | None]] = []

    def flush() -> None:
        nonlocal new_rows
        with Session(database) as session, session.begin():
            new_rows += write_pages(session, batch, {source: source_id}, run_id)
        batch.clear()

    for document in documents:
        read += 1
        item, reason = _item(document, source, engine)
        if reason:
            dropped += 1
        else:
            stored += 1
            flagged += bool(item.relevance and item.relevance["flagged"])
        batch.append((item, reason, None))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    stats = {"coprod/read": read, "coprod/stored": stored, "coprod/stored/new_rows": new_rows, "coprod/stored/flagged": flagged}
    if dropped:
        stats["coprod/dropped/empty_extraction"] = dropped
    with Session(database) as session, session.begin():
        finish_run(session, run_id, "finished", stats)
    return ImportOutcome(run_id, read, stored, new_rows, dropped, flagged)


def _item(document: Document, source: str, engine: Engine) -> tuple[PageItem, str | None]:
    item = PageItem(
        url=canonical_url(document.url),
        source=source,
        fetched_url=document.url,
        fetched_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        content_type="text/html" if document.html is not None and not document.text else "text/plain",
    )
    found = document.extracted()
    if not found.text.strip():
        return item, "empty_extraction"
    fill_from_extraction(item, found)
    item.language = document.lang or detect_language(f"{item.title or ''}\n{item.text}").code
    apply_assessment(item, engine)
    return item, None


@dataclass(frozen=True)
class RescoreOutcome:
    pages: int
    newly_flagged: int
    unflagged: int
    direction_changed: int


def rescore(database: Database, engine: Engine) -> RescoreOutcome:
    """Re-run the engine over every stored page with text; report how the flags moved."""
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
                verdict = engine.assess(
                    page.text or "",
                    title=page.title,
                    language=page.language or "uk",
                    published=page.published,
                    links=page.links,
                    source_kind=page.source.kind,
                    source_region=page.source.region,
                )
                apply_relevance(page, verdict.to_json())
                session.flush()
                sync_candidate(session, page)
                pages += 1
                newly += page.flagged and not before_flag
                unflagged += before_flag and not page.flagged
                direction_changed += page.direction != before_direction
            last_id = batch[-1].id
    return RescoreOutcome(pages, newly, unflagged, direction_changed)
