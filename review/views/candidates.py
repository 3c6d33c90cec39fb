"""One candidate: its text with the engine's evidence, its captured versions, and the
screening form. A decision names the page version it was made on; in dual screening the
analyst sees nothing of another analyst's decision, note or case until it is reconciled."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from crawler.core.errors import BadInput
from review.highlight import highlight
from review.loop import learning_status
from review.screening import SCREENING, include_in_case, record_decision, settle_case, suggest_cases
from review.views._common import blind, int_arg, requires, state
from review.views.queue import QueueFilters, neighbours, own_statuses, seen_status
from storage.models import Candidate, Case, CaseEvidence, Decision, Page, PageIdentifier

__all__ = ["bp"]

bp = Blueprint("candidates", __name__)


def _candidate(candidate_id: int) -> Candidate:
    row = g.db.get(Candidate, candidate_id)
    if row is None:
        abort(404)
    return row


def _by_model() -> bool:
    return learning_status(g.db, state().config.learning_after).trained is not None


@bp.get("/candidates/<int:candidate_id>")
@requires("viewer")
def candidate(candidate_id: int) -> Any:
    row = _candidate(candidate_id)
    page = row.page
    filters = QueueFilters.from_args(request.args)
    hidden = blind() and row.status not in ("include", "exclude", "maybe")
    decisions = list(g.db.scalars(select(Decision).where(Decision.candidate_id == row.id).order_by(Decision.id)))
    if hidden:
        decisions = [d for d in decisions if d.user == g.user.name]
    previous, following = neighbours(row, filters, _by_model())
    own = own_statuses([row.id]).get(row.id) if blind() else None
    return render_template(
        "candidate.html",
        candidate=row,
        status=seen_status(row.status, own),
        page=page,
        verdict=page.relevance or {},
        text=highlight(page.text or "", page.relevance or {}),
        live_url=page.url if urlsplit(page.url).scheme in ("http", "https") else None,
        latest=page.page_versions[-1] if page.page_versions else None,
        versions=_language_versions(page),
        related=_related(row),
        decisions=decisions,
        reasons=state().config.exclude_reasons,
        suggestions=suggest_cases(g.db, row),
        cases=[] if hidden else _cases_of(row),
        previous=previous,
        next=following,
        filters=filters.args(),
    )


@bp.get("/candidates/<int:candidate_id>/capture")
@requires("viewer")
def capture(candidate_id: int) -> Any:
    """The candidate page's captured versions; the text of one (the latest by default)."""
    row = _candidate(candidate_id)
    versions = row.page.page_versions
    if not versions:
        abort(404)
    wanted = int_arg(request.args, "version")
    shown = versions[-1] if wanted is None else next((v for v in versions if v.number == wanted), None)
    if shown is None:
        abort(404)
    return render_template("capture.html", candidate=row, page=row.page, versions=versions, shown=shown)


@bp.post("/candidates/<int:candidate_id>/decide")
@requires("analyst")
def decide(candidate_id: int) -> Any:
    config = state().config
    row = _candidate(candidate_id)
    decision = request.form.get("decision", "")
    if decision not in SCREENING:
        raise BadInput(f"a decision is one of {', '.join(SCREENING)}")
    record_decision(
        g.db,
        candidate_id,
        g.user.name,
        decision,
        reason=request.form.get("reason") or None,
        note=request.form.get("note"),
        mode=request.form.get("mode") or None,
        allowed_reasons=config.exclude_reasons,
        dual=config.dual_screening,
        version_id=int_arg(request.form, "version"),
        case_choice=request.form.get("case"),
        case_name=request.form.get("case_name"),
    )
    if decision == "include" and not config.dual_screening:
        # One analyst's include is the outcome: the case is made (or found) now.
        choice = request.form.get("case", "new")
        case_id = int(choice) if choice.isascii() and choice.isdigit() and len(choice) < 19 else None
        include_in_case(g.db, candidate_id, g.user.name, case_id, request.form.get("case_name"), _decided_version(row))
    elif config.dual_screening:
        # Two analysts who agree on include make the case, once.
        settle_case(g.db, row, g.user.name)
    g.db.commit()
    filters = QueueFilters.from_args(request.args)
    following = neighbours(row, filters, _by_model())[1]
    target = url_for("candidates.candidate", candidate_id=following, **filters.args()) if following else url_for("queue.queue", **filters.args())
    return redirect(target, code=303)


def _decided_version(candidate: Candidate) -> int | None:
    return g.db.scalar(select(Decision.page_version_id).where(Decision.candidate_id == candidate.id).order_by(Decision.id.desc()).limit(1))


def _language_versions(page: Page) -> list[Page]:
    leader_id = page.version_of_id or page.id
    return list(g.db.scalars(select(Page).where(or_(Page.version_of_id == leader_id, Page.id == leader_id), Page.id != page.id)))


def _related(candidate: Candidate) -> list[tuple[int, str, str]]:
    """Other candidates whose pages share an identifier with this one, each once with the
    identifiers they share."""
    mine = select(PageIdentifier.value).where(PageIdentifier.page_id == candidate.page_id, PageIdentifier.kind != "website")
    rows = g.db.execute(
        select(Candidate.id, Page.title, PageIdentifier.value)
        .join(Page, Page.id == Candidate.page_id)
        .join(PageIdentifier, PageIdentifier.page_id == Page.id)
        .where(PageIdentifier.value.in_(mine), Candidate.id != candidate.id)
        .order_by(Candidate.id)
        .limit(200)
    ).all()
    shared: dict[int, tuple[str, list[str]]] = {}
    for cid, title, value in rows:
        shared.setdefault(cid, (title or "", []))[1].append(value)
    return [(cid, title, ", ".join(values)) for cid, (title, values) in list(shared.items())[:30]]


def _cases_of(candidate: Candidate) -> list[Case]:
    return list(g.db.scalars(select(Case).join(CaseEvidence, CaseEvidence.case_id == Case.id).where(CaseEvidence.candidate_id == candidate.id)))

