"""The audit log, for admins: logins, failed logins, source decisions, exports, account changes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, request
from sqlalchemy import func, select

from review.views._common import int_arg, requires
from storage import audit
from storage.models import AuditEvent

__all__ = ["bp"]

bp = Blueprint("audit", __name__)
PAGE_SIZE = 100


@bp.get("/audit")
@requires("admin")
def events() -> Any:
    action = request.args.get("action") or None
    if action not in (None, *audit.ACTIONS):
        action = None
    user = (request.args.get("user") or "").strip()[:64] or None
    page = int_arg(request.args, "page", 1, 1, 100_000) or 1
    query = audit.recent(action, user)
    total = g.db.scalar(select(func.count()).select_from(query.with_only_columns(AuditEvent.id).subquery())) or 0
    rows = g.db.scalars(query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("audit.html", rows=rows, actions=audit.ACTIONS, action=action, who=user, page=page, pages=max(1, -(-total // PAGE_SIZE)), total=total)
