"""What every screen of the review app shares: the signed-in user, roles, the app's state,
blind dual screening, and strict parameters (a malformed one is a 400, never a 500)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import abort, current_app, g

from crawler.core.errors import BadInput

if TYPE_CHECKING:
    from review.app import AppState

__all__ = ["RANKS", "CurrentUser", "blind", "int_arg", "requires", "state"]

RANKS = {"viewer": 0, "analyst": 1, "admin": 2}
MAX_ID = 2**62


@dataclass(frozen=True)
class CurrentUser:
    id: int
    name: str
    role: str

    def at_least(self, role: str) -> bool:
        return RANKS[self.role] >= RANKS[role]


def state() -> AppState:
    return current_app.extensions["coprod"]


def requires(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The signed-in user (the app lets no anonymous request reach a view) needs `role`."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not g.user.at_least(role):
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def blind() -> bool:
    """Dual screening hides other analysts' decisions, cases and notes from all but admins
    until a candidate is reconciled."""
    return state().config.dual_screening and not g.user.at_least("admin")


def int_arg(values: Mapping[str, str], name: str, default: int | None = None, low: int = 1, high: int = MAX_ID) -> int | None:
    """An integer parameter within [low, high]; absent gives `default`, anything else is BadInput."""
    raw = values.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not low <= int(raw) <= high:
        raise BadInput(f"{name} must be a whole number from {low} to {high}")
    return int(raw)
