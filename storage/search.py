"""The candidates' full-text search index: which rows are stale, writing them, and matching.

The words are made outside storage (`pipelines.search`, with the relevance engine's
lemmatizer); here they are stored and matched through the database's own full-text index
(`storage.ddl`: FTS5 in SQLite, a GIN tsvector index in PostgreSQL). A query is a list of
groups, each the lemmas of one query word: a candidate matches when it has, for every
group, at least one of its lemmas.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session

from storage.db import upsert
from storage.ddl import FTS_TABLE
from storage.models import Candidate, CandidateSearch, Page

__all__ = ["SEARCH_TERM", "matches", "matching", "stale", "store"]

# An index term: letters and digits only (apostrophes and hyphens are dropped by the words'
# maker), so a term can never carry FTS5 or tsquery syntax.
SEARCH_TERM = re.compile(r"^[^\W_]+$")
_FTS = table(FTS_TABLE, column("rowid"))


def stale(session: Session, limit: int | None = None) -> list[Any]:
    """Candidates without a search row, or whose page changed since theirs was made:
    (candidate_id, content_hash, title, text, language)."""
    query = (
        select(Candidate.id, Page.content_hash, Page.title, Page.text, Page.language)
        .join(Page, Page.id == Candidate.page_id)
        .outerjoin(CandidateSearch, CandidateSearch.candidate_id == Candidate.id)
        .where(or_(CandidateSearch.candidate_id.is_(None), CandidateSearch.content_hash != func.coalesce(Page.content_hash, "")))
        .order_by(Candidate.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query))


def store(session: Session, rows: Sequence[tuple[int, str, str]]) -> None:
    """Write (candidate_id, content_hash, lemmas) rows, replacing older ones. An upsert: the
    workers of a team crawl finishing together, or a crawl and the review app, may index the
    same candidates at once."""
    upsert(session, CandidateSearch, [{"candidate_id": cid, "content_hash": digest, "lemmas": lemmas} for cid, digest, lemmas in rows], ["candidate_id"])


def _checked(groups: Sequence[Sequence[str]]) -> None:
    for group in groups:
        for term in group:
            if not SEARCH_TERM.match(term):
                raise ValueError(f"not a search term: {term!r}")


def _sqlite_query(groups: Sequence[Sequence[str]]) -> Any:
    query = " AND ".join("(" + " OR ".join(f'"{term}"' for term in group) + ")" for group in groups)
    return text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=query)


def _postgresql_query(groups: Sequence[Sequence[str]]) -> Any:
    query = " & ".join("(" + " | ".join(group) + ")" for group in groups)
    vector = func.to_tsvector(literal_column("'simple'"), CandidateSearch.lemmas)
    return vector.op("@@")(func.to_tsquery(literal_column("'simple'"), query))


def matching(dialect: str, groups: Sequence[Sequence[str]]) -> Select[Any]:
    """The ids (column ``candidate_id``) of candidates whose words meet every group (raises
    ValueError on a term that is not letters and digits: the caller made it, so that is a bug)."""
    _checked(groups)
    if dialect == "sqlite":
        return select(_FTS.c.rowid.label("candidate_id")).where(_sqlite_query(groups))
    if dialect == "postgresql":
        return select(CandidateSearch.candidate_id).where(_postgresql_query(groups))
    raise ValueError(f"the queue's full-text search needs SQLite or PostgreSQL, not {dialect}")


def matches(dialect: str, groups: Sequence[Sequence[str]], candidate_id: Any) -> ColumnElement[bool]:
    """Whether the candidate `candidate_id` (a column of the enclosing query) meets every
    group: one indexed lookup per row, for a walk that stops after a few rows."""
    _checked(groups)
    if dialect == "sqlite":
        return select(_FTS.c.rowid).where(_sqlite_query(groups), _FTS.c.rowid == candidate_id).exists()
    if dialect == "postgresql":
        return select(CandidateSearch.candidate_id).where(CandidateSearch.candidate_id == candidate_id, _postgresql_query(groups)).exists()
    raise ValueError(f"the queue's full-text search needs SQLite or PostgreSQL, not {dialect}")
