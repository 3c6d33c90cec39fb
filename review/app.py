"""The analysts' web app: queue, screening, cases, conflicts, agreement, sources and audit.

`create_app(config)` builds it from blueprints, one module per screen under `review/views/`;
`coprod serve` runs it. Pages are rendered on the server with Jinja (autoescaped); scraped
text is escaped before the few highlights are added, and a strict Content-Security-Policy
forbids inline scripts, so nothing from a crawled page can run in an analyst's browser.

What every request goes through, in order: the session is checked against the account
(active, same session version: logout, deactivation, a role or password change end it);
anything but the login form needs a session (GET redirects to the login, anything else is
401); Flask-Limiter counts login tries per address; Flask-WTF checks the CSRF token of
every form, the login form included.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, abort, g, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from crawler.core.config import Config
from crawler.core.errors import BadInput
from pipelines.search import index_pending
from review.auth import Busy
from review.codebook import Codebook, load_codebook
from review.loop import learning_status, record_failure
from review.throttle import LOGIN_ADDRESS_LIMITS, LoginThrottle
from review.views import accounts, audit, candidates, cases, dual, queue, sources
from review.views._common import CurrentUser
from storage.db import open_catalogue
from storage.models import User

__all__ = ["AppState", "Maintainer", "ReviewConfig", "create_app", "review_config"]

logger = logging.getLogger(__name__)

PUBLIC_ENDPOINTS = frozenset({"accounts.login", "static"})


@dataclass(frozen=True)
class ReviewConfig:
    database_url: str
    codebook: Codebook
    exclude_reasons: tuple[str, ...]
    # Signs the session cookies: the same for every worker process and across restarts
    # (`coprod serve` reads $COPROD_SECRET_KEY or the key kept in the state directory).
    secret_key: str
    dual_screening: bool = False
    learning_after: int = 50
    secure_cookies: bool = False
    seeds_path: str | None = None  # for the retraining subprocess
    retrain_every: float = 30.0  # seconds between background rounds (search index, model); 0 turns them off
    # Where login tries are counted: memory:// for one process; redis://HOST:PORT/DB when
    # several workers serve the app, so they share one count (`coprod serve` picks it).
    limits_storage: str = "memory://"
    limits_prefix: str = "coprod"
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For is believed
    session_hours: float = 12.0


def review_config(config: Config, database_url: str, secret_key: str, secure_cookies: bool = False, **settings: Any) -> ReviewConfig:
    return ReviewConfig(
        database_url=database_url,
        codebook=load_codebook(config.codebook_path),
        exclude_reasons=tuple(config.review.exclude_reasons),
        dual_screening=config.review.dual_screening,
        learning_after=config.review.learning_after,
        secret_key=secret_key,
        secure_cookies=secure_cookies,
        seeds_path=str(config.path),
        **settings,
    )


@dataclass(frozen=True)
class AppState:
    config: ReviewConfig
    engine: Engine
    throttle: LoginThrottle
    maintainer: Maintainer | None = None  # the app's background upkeep, when it runs one


def create_app(config: ReviewConfig, engine: Engine | None = None) -> Flask:
    app = Flask(__name__)
    lifetime = dt.timedelta(hours=config.session_hours)
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=lifetime,
        MAX_CONTENT_LENGTH=1_000_000,
        WTF_CSRF_TIME_LIMIT=int(lifetime.total_seconds()),
        RATELIMIT_HEADERS_ENABLED=True,
    )
    if config.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies, x_proto=config.trusted_proxies)  # type: ignore[method-assign]
    database = engine or open_catalogue(config.database_url)
    sessions = sessionmaker(database, expire_on_commit=False)

    @app.before_request
    def open_session() -> Any:
        g.db = sessions()
        g.user = None
        uid = session.get("uid")
        if uid is not None:
            user = g.db.get(User, uid) if isinstance(uid, int) else None
            if user is None or not user.active or user.session_version != session.get("ver"):
                session.clear()
            else:
                g.user = CurrentUser(user.id, user.name, user.role)
        if g.user is None and request.endpoint is not None and request.endpoint not in PUBLIC_ENDPOINTS:
            if request.method == "GET":
                wanted = request.path + (f"?{request.query_string.decode('ascii', 'replace')}" if request.query_string else "")
                return redirect(url_for("accounts.login", next=wanted), code=303)
            abort(401)
        return None

    # Registered after the session check: a request without a session is answered 401 before
    # its token is read.
    limiter = Limiter(
        get_remote_address, app=app, storage_uri=config.limits_storage, strategy="moving-window", key_prefix=config.limits_prefix,
    )
    CSRFProtect(app)
    maintainer = Maintainer(config, database) if config.retrain_every > 0 and config.seeds_path else None
    app.extensions["coprod"] = AppState(config, database, LoginThrottle(limiter.limiter, config.secret_key, config.limits_prefix), maintainer)
    app.url_map.converters["int"] = BoundedInt
    for module in (accounts, queue, candidates, cases, dual, sources, audit):
        app.register_blueprint(module.bp)
    # Flask-Limiter counts a decorated view's request as it enters the view, before the
    # password is looked at; the registered view itself must be the decorated one.
    app.view_functions["accounts.login"] = limiter.limit(LOGIN_ADDRESS_LIMITS, methods=["POST"])(accounts.login)
    if maintainer is not None:
        maintainer.start()

    @app.teardown_request
    def close_session(error: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'; connect-src 'self'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.context_processor
    def template_globals() -> dict[str, Any]:
        return {"user": g.get("user"), "dual": config.dual_screening}

    @app.get("/")
    def home() -> Any:
        return redirect(url_for("queue.queue"), code=303)

    @app.errorhandler(BadInput)
    def bad_input(error: BadInput) -> tuple[str, int]:
        return render_template("error.html", message=str(error)), 400

    @app.errorhandler(CSRFError)
    def bad_token(error: CSRFError) -> tuple[str, int]:
        return render_template("error.html", message=f"{error.description} Reload the page and try again."), 400

    @app.errorhandler(429)
    def too_many(error: Any) -> tuple[str, int]:
        return render_template("login.html", error="Too many login tries from this address; wait a minute.", next="/queue"), 429

    @app.errorhandler(Busy)
    def busy(error: Busy) -> tuple[str, int, dict[str, str]]:
        return render_template("error.html", message=str(error)), 503, {"Retry-After": "5"}

    return app


class BoundedInt(IntegerConverter):
    """Ids in URLs: a number too large for the database is no page (404), not a 500."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**62)
        super().__init__(url_map, *args, **kwargs)


class Maintainer(threading.Thread):
    """Background upkeep, never inside a request: the search index of new or changed
    candidates, then, when the decision log has grown (or new candidates wait for a score),
    a retraining of the screening model in a `coprod learn` subprocess. A training that
    crashes is recorded as failed, with its last words, so the queue can say so."""

    def __init__(self, config: ReviewConfig, engine: Engine):
        super().__init__(name="coprod-maintainer", daemon=True)
        self.config = config
        self.engine = engine
        self.stopped = threading.Event()

    def stop(self) -> None:
        """End the thread after its current round."""
        self.stopped.set()

    def run(self) -> None:
        while not self.stopped.wait(self.config.retrain_every):
            try:
                self.round()
            except Exception:  # the app must outlive a failed round
                logger.exception("Background upkeep of the review app failed")

    def round(self) -> None:
        with Session(self.engine) as session, session.begin():
            index_pending(session)
        with Session(self.engine) as session:
            status = learning_status(session, self.config.learning_after)
        if status.due is None:
            return
        done = subprocess.run(
            [
                sys.executable, "-m", "crawler.app.cli", "learn", "--db", self.config.database_url,
                "--seeds", str(self.config.seeds_path), "--after", str(self.config.learning_after),
            ],
            capture_output=True, text=True, timeout=3600, check=False,
        )
        if done.returncode != 0:
            with Session(self.engine) as session, session.begin():
                record_failure(session, status.decisions, f"coprod learn exited {done.returncode}: {done.stderr.strip()[-800:] or 'no message'}")
