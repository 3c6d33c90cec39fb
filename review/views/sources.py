"""Discovered sources: ranked by the flagged candidates that point to them (without page
furniture), accepted, rejected or left undecided; only crawlable kinds can be accepted."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from review.views._common import requires
from storage import discovery
from storage.queries import discovered_rows

__all__ = ["bp"]

bp = Blueprint("sources", __name__)


@bp.get("/sources")
@requires("viewer")
def sources() -> Any:
    order = "in_degree" if request.args.get("by") == "in-degree" else "candidates"
    status = request.args.get("status") or None
    if status not in (None, *discovery.STATUSES):
        status = None
    return render_template("sources.html", rows=discovered_rows(g.db, status, order)[:500], order=order)


@bp.post("/sources/decide")
@requires("analyst")
def decide_source() -> Any:
    discovery.decide(g.db, request.form.get("key", "")[:300], request.form.get("status", ""), g.user.name, request.remote_addr)
    g.db.commit()
    return redirect(url_for("sources.sources"), code=303)
