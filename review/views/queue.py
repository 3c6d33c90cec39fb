"""The queue: candidates in the order the analysts screen them, filtered and searched.

Every filter is a condition on the candidates' own indexed columns (the page columns the
queue needs are copied onto them), text search goes through the database's full-text index
(`storage.search`, words made by the engine's lemmatizer), and the order is read from an
index: by the screening model once it ranked the queue, else by the engine's score. A
filtered count stops past COUNT_CAP matches (the page says "more than"), read from the
narrowest index with the other filters tested on each row found. The candidate screen's
"next" and "previous" walk the same order with the same filters.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from flask import Blueprint, g, render_template, request
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from werkzeug.datastructures import MultiDict

from crawler.core.config import SOURCE_KINDS
from crawler.core.errors import BadInput
from pipelines.search import query_groups
from review.loop import learning_status
from review.views._common import blind, int_arg, requires, state
from storage import search
from storage.models import Candidate, Decision, Page, PagePlace, Source

__all__ = ["COUNT_CAP", "PAGE_SIZE", "QueueFilters", "bp", "neighbours", "own_statuses", "seen_status"]

bp = Blueprint("queue", __name__)

PAGE_SIZE = 50
MAX_PAGE = 100_000
# Up to this many matches a page is read from all of them, sorted (see `_walks`).
WALK_AT = 2_000
# A filtered count stops past this many matches (see `_count`).
COUNT_CAP = 10_000
# A search tested row by row costs one full-text lookup per row walked: right for the first
# pages, dearer than reading the matches once further in.
SET_AFTER = 250
KATOTTG = re.compile(r"^UA\d{17}$")
STATUSES = ("unscreened", "include", "exclude", "maybe", "awaiting_second", "conflict")
SETTLED = ("include", "exclude", "maybe")
LANGUAGES = ("uk", "ru", "en", "mixed")
MODES = ("co-design", "co-delivery", "co-monitoring")
# What a blind analyst can filter on: their own progress, or the reconciled outcome.
BLIND_STATUSES = ("unscreened", "mine", *SETTLED)


@dataclass(frozen=True)
class QueueFilters:
    source: str = ""
    kind: str = ""
    language: str = ""
    place: str = ""
    mode: str = ""
    status: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> QueueFilters:
        values = {name: (args.get(name) or "").strip()[:200] for name in cls.__dataclass_fields__}
        for name, allowed in (("kind", SOURCE_KINDS), ("language", LANGUAGES), ("mode", MODES)):
            if values[name] and values[name] not in allowed:
                raise BadInput(f"{name} is one of: {', '.join(allowed)}")
        statuses = BLIND_STATUSES if blind() else STATUSES
        if values["status"] and values["status"] not in statuses:
            raise BadInput(f"status is one of: {', '.join(statuses)}")
        return cls(**values)

    def args(self) -> dict[str, str]:
        """The filters that are set, for links that keep them."""
        return {k: v for k, v in asdict(self).items() if v}

    def conditions(self, walk_order: bool = False, rows_before: int = 0) -> list[ColumnElement[bool]]:
        """Conditions on `candidates`: its columns, and a place or a search tested on each
        row (one index lookup each; a search whose page starts past the first `SET_AFTER`
        rows, `rows_before`, against its matches read once as a set).

        With `walk_order`, the columns' own indexes are hidden (``+ 0``, ``|| ''``), so the
        database cannot start from them: it walks the queue's order index and stops at the
        page's last row (right when many rows match, which the count tells), or, in
        `matches`, starts from the index chosen there."""
        where: list[ColumnElement[bool]] = []
        source_id = Candidate.source_id + 0 if walk_order else Candidate.source_id
        if self.source:
            where.append(source_id == select(Source.id).where(Source.name == self.source).scalar_subquery())
        if self.kind:
            where.append(source_id.in_(select(Source.id).where(Source.kind == self.kind)))
        for column, value in ((Candidate.language, self.language), (Candidate.mode, self.mode)):
            if value:
                where.append((column + "" if walk_order else column) == value)
        if self.status:
            where.append(_status_condition(self.status, walk_order))
        if self.place:
            where.append(select(PagePlace.id).where(PagePlace.page_id == Candidate.page_id, _at(self.place)).exists())
        if self.q:
            groups = query_groups(self.q)
            dialect = g.db.get_bind().dialect.name
            if not groups:
                where.append(false())
            elif rows_before < SET_AFTER:
                where.append(search.matches(dialect, groups, Candidate.id))
            else:
                where.append((Candidate.id + 0).in_(search.matching(dialect, groups)))
        return where

    def matches(self) -> Select[Any]:
        """The ids of the candidates the filters keep, one row each, read from the narrowest
        index: the full-text index for a search; for a place, its pages or, when the other
        filters keep fewer candidates than the place has pages, the candidates' filter index;
        else that filter index. The other filters are tested on each row found, so the
        database streams them and a LIMIT stops it early."""
        if self.q:
            groups = query_groups(self.q)
            if not groups:
                return select(Candidate.id).where(false())
            found = search.matching(g.db.get_bind().dialect.name, groups).subquery()
            others = replace(self, q="").conditions(walk_order=True)
            return select(Candidate.id).join(found, found.c.candidate_id == Candidate.id).where(*others)
        others = replace(self, place="")
        if self.place and not (others.args() and _capped(others.matches()) < _capped(select(PagePlace.id).where(_at(self.place)))):
            return (
                select(Candidate.id)
                .select_from(PagePlace)
                .join(Candidate, Candidate.page_id == PagePlace.page_id)
                .where(_at(self.place), *others.conditions(walk_order=True))
                .distinct()
            )
        return select(Candidate.id).where(*self.conditions())


def _capped(query: Select[Any]) -> int:
    """How many rows `query` has, counted up to COUNT_CAP + 1."""
    return g.db.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery())) or 0


def _status_condition(status: str, walk_order: bool) -> ColumnElement[bool]:
    column = Candidate.status + "" if walk_order else Candidate.status
    if not blind() or status in SETTLED:
        return column == status
    mine = (Candidate.id + 0).in_(select(Decision.candidate_id).where(Decision.user == g.user.name, Decision.candidate_id.is_not(None)))
    open_ = column.not_in(SETTLED)
    return and_(open_, mine) if status == "mine" else and_(open_, ~mine)


def _at(place: str) -> ColumnElement[bool]:
    """A page place row that is the place (a name, or a KATOTTG code), or within it (a
    hromada's or raion's code)."""
    if KATOTTG.match(place.strip().upper()):
        code = place.strip().upper()
        return or_(PagePlace.code == code, PagePlace.hromada_code == code, PagePlace.raion_code == code)
    return PagePlace.name == place


# --- order ----------------------------------------------------------------------------------


def _order(by_model: bool) -> list[Any]:
    if by_model:
        # Open candidates the model scored first, best first; then the rest by the engine.
        return [Candidate.model_score.desc().nulls_last(), Candidate.score.desc(), Candidate.id]
    return [Candidate.score.desc(), Candidate.id]


def _after(c: Candidate, by_model: bool) -> ColumnElement[bool]:
    """Rows after `c` in queue order."""
    engine_after = or_(Candidate.score < c.score, and_(Candidate.score == c.score, Candidate.id > c.id))
    if not by_model:
        return engine_after
    if c.model_score is None:
        return and_(Candidate.model_score.is_(None), engine_after)
    return or_(
        Candidate.model_score < c.model_score,
        Candidate.model_score.is_(None),
        and_(Candidate.model_score == c.model_score, engine_after),
    )


def _before(c: Candidate, by_model: bool) -> ColumnElement[bool]:
    """Rows before `c` in queue order."""
    engine_before = or_(Candidate.score > c.score, and_(Candidate.score == c.score, Candidate.id < c.id))
    if not by_model:
        return engine_before
    if c.model_score is None:
        return or_(Candidate.model_score.is_not(None), and_(Candidate.model_score.is_(None), engine_before))
    return or_(Candidate.model_score > c.model_score, and_(Candidate.model_score == c.model_score, engine_before))


def _reversed(by_model: bool) -> list[Any]:
    if by_model:
        return [Candidate.model_score.asc().nulls_first(), Candidate.score.asc(), Candidate.id.desc()]
    return [Candidate.score.asc(), Candidate.id.desc()]


def neighbours(candidate: Candidate, filters: QueueFilters, by_model: bool) -> tuple[int | None, int | None]:
    """The candidates before and after this one in the queue as the analyst sees it."""
    where = filters.conditions(walk_order=True)
    before = g.db.scalar(select(Candidate.id).where(_before(candidate, by_model), *where).order_by(*_reversed(by_model)).limit(1))
    after = g.db.scalar(select(Candidate.id).where(_after(candidate, by_model), *where).order_by(*_order(by_model)).limit(1))
    return before, after


# --- what a blind analyst sees --------------------------------------------------------------


def own_statuses(ids: list[int]) -> dict[int, str]:
    """The signed-in analyst's latest screening decision on each of these candidates."""
    rows = g.db.execute(
        select(Decision.candidate_id, Decision.decision)
        .where(Decision.user == g.user.name, Decision.candidate_id.in_(ids), Decision.decision.in_(SETTLED))
        .order_by(Decision.id)
    )
    return {cid: decision for cid, decision in rows}


def seen_status(status: str, own: str | None) -> str:
    """A candidate's status as the signed-in user may see it: a blind analyst sees the
    outcome once it is reconciled, else only their own decision."""
    if not blind() or status in SETTLED:
        return status
    return f"you: {own}" if own else "unscreened"


def _count(filters: QueueFilters) -> tuple[int, bool]:
    """How many candidates the filters keep, and whether there are more than COUNT_CAP (then
    the count is COUNT_CAP): a filtered count stops there, since counting 100,000 matches
    would cost more than the page. The whole queue is counted exactly (one index)."""
    if not filters.args():
        return g.db.scalar(select(func.count()).select_from(Candidate)) or 0, False
    counted = _capped(filters.matches())
    return min(counted, COUNT_CAP), counted > COUNT_CAP


def _walks(filters: QueueFilters, total: int, more: bool, before: int) -> bool:
    """Whether a page is read by walking the order index, testing each row, to the page's
    last row, or by reading all the matches from their narrowest index and sorting them. The
    walk passes about (rows before the page's end) x (candidates / matches) rows: it is the
    cheaper while that is fewer than the matches (always, past COUNT_CAP matches: they are
    too many to sort; and unfiltered, when the walk tests nothing)."""
    if more or not filters.args():
        return True
    if total <= WALK_AT:
        return False
    everything = g.db.scalar(select(func.count()).select_from(Candidate)) or 0
    return (before + PAGE_SIZE) * everything < total * total


@bp.get("/queue")
@requires("viewer")
def queue() -> Any:
    filters = QueueFilters.from_args(request.args)
    page_number = int_arg(request.args, "page", 1, 1, MAX_PAGE) or 1
    loop = learning_status(g.db, state().config.learning_after)
    by_model = loop.trained is not None
    total, more = _count(filters)
    pages = None if more else max(1, -(-total // PAGE_SIZE))
    page_number = min(page_number, pages or MAX_PAGE)
    before = (page_number - 1) * PAGE_SIZE
    # The page's ids (by walking the order index, or from all the matches sorted), one more
    # to tell whether a next page exists; then their rows.
    walk = _walks(filters, total, more, before)
    ids = g.db.scalars(
        select(Candidate.id)
        .where(*(filters.conditions(walk_order=True, rows_before=before) if walk else [Candidate.id.in_(filters.matches())]))
        .order_by(*_order(by_model))
        .offset(before)
        .limit(PAGE_SIZE + 1)
    ).all()
    rows = g.db.execute(
        select(Candidate.id, Candidate.score, Candidate.status, Page.title, Page.url, Candidate.language, Candidate.mode, Page.event_date, Source.name)
        .join(Page, Page.id == Candidate.page_id)
        .join(Source, Source.id == Page.source_id)
        .where(Candidate.id.in_(ids[:PAGE_SIZE]))
        .order_by(*_order(by_model))
    ).all()
    if more and 0 < len(ids) <= PAGE_SIZE:
        pages = page_number  # the last page, found by walking to it
    own = own_statuses([r.id for r in rows]) if blind() else {}
    return render_template(
        "queue.html",
        rows=[(row, seen_status(row.status, own.get(row.id))) for row in rows],
        filters=filters,
        statuses=BLIND_STATUSES if blind() else STATUSES,
        kinds=SOURCE_KINDS,
        total=total,
        more=more,
        page=page_number,
        pages=pages,
        more_pages=COUNT_CAP // PAGE_SIZE,
        has_next=len(ids) > PAGE_SIZE,
        sources=g.db.scalars(select(Source.name).order_by(Source.name)).all(),
        loop=loop,
        searched=query_groups(filters.q) if filters.q else None,
    )
