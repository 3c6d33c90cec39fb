"""Dual screening: the conflicts an admin resolves, and the statistics of agreement."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from review.screening import agreement_from_log, resolve_conflict, settle_case
from review.views._common import requires, state
from storage.models import Candidate, Decision, Page

__all__ = ["bp"]

bp = Blueprint("dual", __name__)


@bp.get("/conflicts")
@requires("admin")
def conflicts() -> Any:
    rows = g.db.execute(
        select(Candidate, Page).join(Page, Page.id == Candidate.page_id).where(Candidate.status == "conflict").order_by(Candidate.id)
    ).all()
    decisions = {
        c.id: g.db.scalars(select(Decision).where(Decision.candidate_id == c.id).order_by(Decision.id)).all() for c, _ in rows
    }
    return render_template("conflicts.html", rows=rows, decisions=decisions)


@bp.post("/conflicts/<int:candidate_id>")
@requires("admin")
def resolve(candidate_id: int) -> Any:
    config = state().config
    resolve_conflict(g.db, candidate_id, g.user.name, request.form.get("outcome", ""), request.form.get("note"), config.dual_screening)
    # An include resolution makes the case the includers chose, now and only now.
    settle_case(g.db, g.db.get(Candidate, candidate_id), g.user.name)
    g.db.commit()
    return redirect(url_for("dual.conflicts"), code=303)


@bp.get("/stats")
@requires("viewer")
def stats() -> Any:
    kappas, alphas = agreement_from_log(g.db)
    progress = dict(g.db.execute(select(Candidate.status, func.count()).group_by(Candidate.status)).all())
    disagreements = []
    if g.user.at_least("admin"):
        # Titles of what the pairs disagreed on: for admins only, as dual screening is blind.
        disagreements = g.db.execute(
            select(Candidate.id, Candidate.status, Page.title, Page.url)
            .join(Page, Page.id == Candidate.page_id)
            .where(Candidate.status.in_(("conflict", "awaiting_second")))
            .order_by(Candidate.status, Candidate.id)
            .limit(200)
        ).all()
    return render_template("stats.html", kappas=kappas, alphas=alphas, progress=progress, disagreements=disagreements)
