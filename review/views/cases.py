"""Cases: the list, one case with its evidence (the version each was screened on, flagged
when the page changed since), the coding form (pre-filled, the case's own places, the
codebook's labels), merging and splitting, and the history in words."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from crawler.core.errors import BadInput
from review.coding import case_places, history, suggested_coding
from review.screening import code_case, evidence_pages, merge_cases, split_case
from review.views._common import int_arg, requires, state
from storage.models import Candidate, Case, CaseEvent, CaseEvidence, Page

__all__ = ["bp"]

bp = Blueprint("cases", __name__)


@bp.get("/cases")
@requires("viewer")
def cases() -> Any:
    rows = g.db.execute(
        select(Case, func.count(CaseEvidence.id))
        .outerjoin(CaseEvidence, CaseEvidence.case_id == Case.id)
        .where(Case.merged_into_id.is_(None))
        .group_by(Case.id)
        .order_by(Case.id)
    ).all()
    return render_template("cases.html", rows=rows, codebook=state().config.codebook)


@bp.get("/cases/<int:case_id>")
@requires("viewer")
def case(case_id: int) -> Any:
    row = g.db.get(Case, case_id)
    if row is None:
        abort(404)
    codebook = state().config.codebook
    evidence = evidence_pages(g.db, case_id)
    events = g.db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
    mentioned = {
        c
        for e in events
        for c in [(e.detail or {}).get("candidate_id"), *((e.detail or {}).get("candidates") or ())]
        if isinstance(c, int)
    }
    titles = dict(g.db.execute(select(Candidate.id, Page.title).join(Page, Page.id == Candidate.page_id).where(Candidate.id.in_(mentioned))).all())
    others = g.db.scalars(select(Case).where(Case.merged_into_id.is_(None), Case.id != case_id).order_by(Case.id)).all()
    return render_template(
        "case.html",
        case=row,
        evidence=evidence,
        history=history(events, codebook, titles),
        codebook=codebook,
        values=suggested_coding(g.db, row, evidence, codebook),
        suggested=not row.fields,
        others=others,
        places=case_places(evidence),
    )


@bp.post("/cases/<int:case_id>/code")
@requires("analyst")
def code(case_id: int) -> Any:
    code_case(g.db, case_id, g.user.name, state().config.codebook, request.form.to_dict(flat=False))
    g.db.commit()
    return redirect(url_for("cases.case", case_id=case_id), code=303)


@bp.post("/cases/<int:case_id>/merge")
@requires("analyst")
def merge(case_id: int) -> Any:
    source = int_arg(request.form, "other")
    if source is None:
        raise BadInput("choose the case to merge into this one")
    merge_cases(g.db, case_id, source, g.user.name)
    g.db.commit()
    return redirect(url_for("cases.case", case_id=case_id), code=303)


@bp.post("/cases/<int:case_id>/split")
@requires("analyst")
def split(case_id: int) -> Any:
    ids = [int(v) for v in request.form.getlist("candidate") if v.isascii() and v.isdigit() and len(v) < 19]
    new = split_case(g.db, case_id, ids, g.user.name, request.form.get("name", ""))
    g.db.commit()
    return redirect(url_for("cases.case", case_id=new.id), code=303)
