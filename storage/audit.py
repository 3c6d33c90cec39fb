"""The audit log: who did what and when (logins, failed logins, source decisions, exports,
account changes). Rows are only ever added; the database refuses changing them (`storage.ddl`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from storage.models import AuditEvent, utcnow

__all__ = ["ACTIONS", "recent", "record"]

ACTIONS = (
    "login", "login_failed", "login_throttled", "logout", "source_decided", "export", "export_refused",
    "user_added", "user_changed",
)


def record(session: Session, action: str, user: str | None = None, address: str | None = None, **detail: Any) -> AuditEvent:
    """Add one event to the session's transaction (the caller commits)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(action=action, user=(user or None) and user[:64], address=address, detail=detail, created_at=utcnow())
    session.add(event)
    return event


def recent(action: str | None = None, user: str | None = None) -> Select[tuple[AuditEvent]]:
    """Events newest first, of one action and one user when given."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action == action)
    if user:
        query = query.where(AuditEvent.user == user)
    return query
