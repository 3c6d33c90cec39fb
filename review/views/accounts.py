"""Logging in and out. The login form carries a CSRF token like every form; tries are
counted before the password is checked, per address (Flask-Limiter), per account and per
known device (`review.throttle`); every login, failed login and logout is audited."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from review.auth import verify_user
from review.throttle import DEVICE_COOKIE, DEVICE_DAYS, account_key
from review.views._common import requires, state
from storage import audit
from storage.models import User

__all__ = ["bp", "safe_next"]

bp = Blueprint("accounts", __name__)
DEFAULT_NEXT = "/queue"


def safe_next(target: str | None) -> str:
    """`target` when it is a path of this app (a GET route), else the queue. Never a URL
    with a scheme or host, a scheme-relative or backslash URL, or one with whitespace or
    control characters, which browsers strip (``/\\t/evil.example`` is ``//evil.example``)."""
    if not target or len(target) > 2000 or "\\" in target or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in target):
        return DEFAULT_NEXT
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return DEFAULT_NEXT
    try:
        current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except (HTTPException, RequestRedirect):
        return DEFAULT_NEXT
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html", next=safe_next(request.args.get("next")))
    name = request.form.get("name", "")[:64].strip()
    password = request.form.get("password", "")[:1024]
    target = safe_next(request.form.get("next"))
    known = g.db.scalar(select(User.id).where(User.name == name, User.active.is_(True))) is not None
    throttle = state().throttle
    device = throttle.device_of(name, request.cookies.get(DEVICE_COOKIE)) if known else None
    wait = throttle.admit(account_key(name, known), device)
    if wait is not None:
        audit.record(g.db, "login_throttled", name, request.remote_addr, device=bool(device))
        g.db.commit()
        answer = current_app.make_response((render_template("login.html", error=f"Too many tries for this account; wait {wait:.0f} seconds.", next=target), 429))
        answer.headers["Retry-After"] = str(int(wait))
        return answer
    user = verify_user(g.db, name, password)
    if user is None:
        audit.record(g.db, "login_failed", name, request.remote_addr)
        g.db.commit()
        return render_template("login.html", error="Wrong name or password.", next=target), 401
    session.clear()
    session.permanent = True
    session.update(uid=user.id, ver=user.session_version)
    audit.record(g.db, "login", user.name, request.remote_addr, device=bool(device))
    g.db.commit()
    answer = redirect(target, code=303)
    if device is None:
        answer.set_cookie(
            DEVICE_COOKIE, throttle.device_cookie(user.name), max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Strict",
            secure=state().config.secure_cookies, path=url_for("accounts.login"),
        )
    return answer


@bp.post("/logout")
@requires("viewer")
def logout() -> Any:
    # A new session version ends this session everywhere, including copies of its cookie.
    user = g.db.get(User, g.user.id)
    user.session_version += 1
    audit.record(g.db, "logout", user.name, request.remote_addr)
    g.db.commit()
    session.clear()
    return redirect(url_for("accounts.login"), code=303)
