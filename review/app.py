"""The analysts' web app: queue, screening, cases, conflicts and agreement.

`create_app(config)` builds it; `coprod serve` runs it. Pages are rendered on the server
with Jinja (autoescaped); scraped text is escaped before the few highlights are added, and
a strict Content-Security-Policy forbids inline scripts, so nothing from a crawled page can
run in an analyst's browser.
"""

from __future__ import annotations

import logging
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, redirect, render_template, request, session, url_for
from markupsafe import Markup, escape
from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from crawler.core.config import Config
from crawler.core.errors import BadInput
from review.auth import ROLES, LoginLimiter, verify_user
from review.codebook import Codebook, load_codebook
from review.loop import decisions_count, latest_run
from review.screening import (
    SCREENING,
    agreement_from_log,
    code_case,
    evidence_pages,
    include_in_case,
    merge_cases,
    record_decision,
    resolve_conflict,
    split_case,
    suggest_cases,
)
from storage.db import open_catalogue
from storage.models import Candidate, Case, CaseEvent, CaseEvidence, Decision, DiscoveredSource, Page, PageIdentifier, PagePlace, Source, utcnow
from storage.queries import discovered_rows

__all__ = ["ReviewConfig", "Retrainer", "create_app", "review_config"]

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
_RANK = {role: rank for rank, role in enumerate(reversed(ROLES))}  # viewer 0 < analyst 1 < admin 2


@dataclass(frozen=True)
class ReviewConfig:
    database_url: str
    codebook: Codebook
    exclude_reasons: tuple[str, ...]
    dual_screening: bool = False
    learning_after: int = 50
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32))
    secure_cookies: bool = False
    login_attempts: int = 5
    seeds_path: str | None = None  # for the retraining subprocess
    retrain_every: float = 30.0  # seconds between checks for new decisions; 0 turns the model off


def review_config(config: Config, database_url: str, secret_key: str | None = None, secure_cookies: bool = False) -> ReviewConfig:
    return ReviewConfig(
        database_url=database_url,
        codebook=load_codebook(config.codebook_path),
        exclude_reasons=tuple(config.review.exclude_reasons),
        dual_screening=config.review.dual_screening,
        learning_after=config.review.learning_after,
        secret_key=secret_key or secrets.token_hex(32),
        secure_cookies=secure_cookies,
        seeds_path=str(config.path),
    )


def create_app(config: ReviewConfig, engine: Engine | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        MAX_CONTENT_LENGTH=1_000_000,
    )
    database = engine or open_catalogue(config.database_url)
    sessions = sessionmaker(database, expire_on_commit=False)
    limiter = LoginLimiter(config.login_attempts)
    app.extensions["coprod"] = {"config": config, "engine": database}
    if config.retrain_every > 0 and config.seeds_path:
        Retrainer(config, database).start()

    @app.before_request
    def open_session() -> None:
        g.db = sessions()
        g.user = None
        if session.get("user"):
            g.user = {"name": session["user"], "role": session["role"]}
        # Anonymous posts are answered 401 by the route itself; a session's posts need its token.
        if request.method == "POST" and g.user is not None and request.endpoint != "login":
            token = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token")
            if not token or not secrets.compare_digest(token, session.get("csrf", "")):
                abort(400, "missing or wrong CSRF token: reload the page and try again")

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
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return {"csrf_token": session["csrf"], "user": g.get("user"), "dual": config.dual_screening}

    def requires(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                if g.user is None:
                    if request.method == "GET":
                        return redirect(url_for("login", next=request.path), code=303)
                    abort(401)
                if _RANK[g.user["role"]] < _RANK[role]:
                    abort(403)
                return view(*args, **kwargs)

            return guarded

        return decorate

    @app.errorhandler(BadInput)
    def bad_input(error: BadInput) -> tuple[str, int]:
        return render_template("error.html", message=str(error)), 400

    # --- accounts -----------------------------------------------------------------------

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            return render_template("login.html", next=_safe_next(request.args.get("next")))
        name = request.form.get("name", "")[:64]
        keys = (f"ip:{request.remote_addr}", f"user:{name}")
        if limiter.blocked(*keys):
            return render_template("login.html", error="Too many failed logins; wait a few minutes.", next="/"), 429
        user = verify_user(g.db, name, request.form.get("password", ""))
        if user is None:
            limiter.failed(*keys)
            return render_template("login.html", error="Wrong name or password.", next=_safe_next(request.form.get("next"))), 401
        session.clear()
        session.update(user=user.name, role=user.role, csrf=secrets.token_urlsafe(32))
        return redirect(_safe_next(request.form.get("next")), code=303)

    @app.post("/logout")
    @requires("viewer")
    def logout() -> Any:
        session.clear()
        return redirect(url_for("login"), code=303)

    # --- the queue ----------------------------------------------------------------------

    @app.get("/")
    @requires("viewer")
    def home() -> Any:
        return redirect(url_for("queue"), code=303)

    @app.get("/queue")
    @requires("viewer")
    def queue() -> Any:
        filters = {k: request.args.get(k, "").strip() for k in ("source", "kind", "language", "place", "mode", "status", "q")}
        page_number = max(1, request.args.get("page", 1, type=int))
        run = latest_run(g.db)
        query = _queue_query(filters, by_model=run is not None)
        total = g.db.scalar(_queue_count(filters))
        rows = g.db.execute(query.offset((page_number - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        sources = g.db.scalars(select(Source.name).order_by(Source.name)).all()
        return render_template(
            "queue.html",
            rows=rows,
            filters=filters,
            total=total,
            page=page_number,
            pages=max(1, -(-total // PAGE_SIZE)),
            sources=sources,
            ranked_by=(
                f"the screening model (trained {run.trained_at.isoformat(timespec='minutes')} on {run.labels} decisions)"
                if run is not None
                else "the relevance engine's score"
            ),
        )

    @app.get("/candidates/<int:candidate_id>")
    @requires("viewer")
    def candidate(candidate_id: int) -> Any:
        row = g.db.get(Candidate, candidate_id)
        if row is None:
            abort(404)
        page = row.page
        decisions = list(g.db.scalars(select(Decision).where(Decision.candidate_id == row.id).order_by(Decision.id)))
        if config.dual_screening and _RANK[g.user["role"]] < _RANK["admin"]:
            decisions = [d for d in decisions if d.user == g.user["name"]]  # blind to the other analyst
        neighbours = _neighbours(row)
        return render_template(
            "candidate.html",
            candidate=row,
            page=page,
            verdict=page.relevance or {},
            text=highlight(page.text or "", page.relevance or {}),
            live_url=page.url if urlsplit(page.url).scheme in ("http", "https") else None,
            versions=_versions(page),
            related=_related(row),
            decisions=decisions,
            reasons=config.exclude_reasons,
            suggestions=suggest_cases(g.db, row),
            cases=row.page and _cases_of(row),
            previous=neighbours[0],
            next=neighbours[1],
        )

    @app.get("/candidates/<int:candidate_id>/capture")
    @requires("viewer")
    def capture(candidate_id: int) -> Any:
        """The candidate page's captured versions; the text of one (the latest by default)."""
        row = g.db.get(Candidate, candidate_id)
        if row is None or not row.page.page_versions:
            abort(404)
        versions = row.page.page_versions
        wanted = request.args.get("version", type=int)
        shown = versions[-1] if wanted is None else next((v for v in versions if v.number == wanted), None)
        if shown is None:
            abort(404)
        return render_template("capture.html", candidate=row, page=row.page, versions=versions, shown=shown)

    @app.post("/candidates/<int:candidate_id>/decide")
    @requires("analyst")
    def decide(candidate_id: int) -> Any:
        decision = request.form.get("decision", "")
        if decision not in SCREENING:
            raise BadInput(f"a decision is one of {', '.join(SCREENING)}")
        record_decision(
            g.db,
            candidate_id,
            g.user["name"],
            decision,
            reason=request.form.get("reason") or None,
            note=request.form.get("note"),
            mode=request.form.get("mode") or None,
            allowed_reasons=config.exclude_reasons,
            dual=config.dual_screening,
        )
        if decision == "include":
            case_choice = request.form.get("case", "new")
            case_id = int(case_choice) if case_choice.isdigit() else None
            include_in_case(g.db, candidate_id, g.user["name"], case_id, request.form.get("case_name"))
        g.db.commit()
        following = _neighbours(g.db.get(Candidate, candidate_id))[1]
        target = url_for("candidate", candidate_id=following) if following else url_for("queue")
        return redirect(target, code=303)

    # --- cases --------------------------------------------------------------------------

    @app.get("/cases")
    @requires("viewer")
    def cases() -> Any:
        rows = g.db.execute(
            select(Case, func.count(CaseEvidence.id))
            .outerjoin(CaseEvidence, CaseEvidence.case_id == Case.id)
            .where(Case.merged_into_id.is_(None))
            .group_by(Case.id)
            .order_by(Case.id)
        ).all()
        return render_template("cases.html", rows=rows)

    @app.get("/cases/<int:case_id>")
    @requires("viewer")
    def case(case_id: int) -> Any:
        row = g.db.get(Case, case_id)
        if row is None:
            abort(404)
        history = g.db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)).all()
        others = g.db.scalars(select(Case).where(Case.merged_into_id.is_(None), Case.id != case_id).order_by(Case.id)).all()
        places = g.db.execute(
            select(PagePlace.code, PagePlace.name).join(Candidate, Candidate.page_id == PagePlace.page_id)
            .join(Page, Page.id == Candidate.page_id)
        ).all()
        return render_template(
            "case.html", case=row, evidence=evidence_pages(g.db, case_id), history=history, codebook=config.codebook,
            others=others, places=sorted(set(places)),
        )

    @app.post("/cases/<int:case_id>/code")
    @requires("analyst")
    def code(case_id: int) -> Any:
        code_case(g.db, case_id, g.user["name"], config.codebook, request.form.to_dict(flat=False))
        g.db.commit()
        return redirect(url_for("case", case_id=case_id), code=303)

    @app.post("/cases/<int:case_id>/merge")
    @requires("analyst")
    def merge(case_id: int) -> Any:
        source = request.form.get("other", type=int)
        if source is None:
            raise BadInput("choose the case to merge into this one")
        merge_cases(g.db, case_id, source, g.user["name"])
        g.db.commit()
        return redirect(url_for("case", case_id=case_id), code=303)

    @app.post("/cases/<int:case_id>/split")
    @requires("analyst")
    def split(case_id: int) -> Any:
        ids = [int(v) for v in request.form.getlist("candidate") if v.isdigit()]
        new = split_case(g.db, case_id, ids, g.user["name"], request.form.get("name", ""))
        g.db.commit()
        return redirect(url_for("case", case_id=new.id), code=303)

    # --- dual screening -----------------------------------------------------------------

    @app.get("/conflicts")
    @requires("admin")
    def conflicts() -> Any:
        rows = g.db.execute(
            select(Candidate, Page).join(Page, Page.id == Candidate.page_id).where(Candidate.status == "conflict").order_by(Candidate.id)
        ).all()
        decisions = {
            c.id: g.db.scalars(select(Decision).where(Decision.candidate_id == c.id).order_by(Decision.id)).all() for c, _ in rows
        }
        return render_template("conflicts.html", rows=rows, decisions=decisions)

    @app.post("/conflicts/<int:candidate_id>")
    @requires("admin")
    def resolve(candidate_id: int) -> Any:
        resolve_conflict(g.db, candidate_id, g.user["name"], request.form.get("outcome", ""), request.form.get("note"), config.dual_screening)
        g.db.commit()
        return redirect(url_for("conflicts"), code=303)

    @app.get("/stats")
    @requires("viewer")
    def stats() -> Any:
        kappas, alphas = agreement_from_log(g.db)
        progress = dict(g.db.execute(select(Candidate.status, func.count()).group_by(Candidate.status)).all())
        return render_template("stats.html", kappas=kappas, alphas=alphas, progress=progress)

    # --- discovered sources -------------------------------------------------------------

    @app.get("/sources")
    @requires("viewer")
    def sources() -> Any:
        order = "candidates" if request.args.get("by") == "candidates" else "in_degree"
        return render_template("sources.html", rows=discovered_rows(g.db, request.args.get("status") or None, order)[:500])

    @app.post("/sources/decide")
    @requires("analyst")
    def decide_source() -> Any:
        status = request.form.get("status")
        if status not in ("accepted", "rejected", "undecided"):
            raise BadInput("a source is accepted, rejected or undecided")
        row = g.db.scalar(select(DiscoveredSource).where(DiscoveredSource.key == request.form.get("key", "")))
        if row is None:
            abort(404)
        row.status, row.decided_at = status, utcnow()
        g.db.commit()
        return redirect(url_for("sources"), code=303)

    return app


def _queue_count(filters: dict[str, str]) -> Any:
    if not any(filters.values()):
        return select(func.count()).select_from(Candidate)
    base = select(func.count(Candidate.id)).join(Page, Page.id == Candidate.page_id).join(Source, Source.id == Page.source_id)
    return _filtered(base, filters)


def _queue_query(filters: dict[str, str], by_model: bool = False) -> Any:
    query = (
        select(Candidate.id, Candidate.score, Candidate.status, Page.title, Page.url, Page.language, Page.mode, Page.event_date, Source.name)
        .join(Page, Page.id == Candidate.page_id)
        .join(Source, Source.id == Page.source_id)
    )
    query = _filtered(query, filters)
    if by_model:
        # Open candidates the model scored first, best first; then the rest by the engine.
        return query.order_by(Candidate.model_score.is_(None), Candidate.model_score.desc(), Candidate.score.desc(), Candidate.id)
    return query.order_by(Candidate.score.desc(), Candidate.id)


def _filtered(query: Any, filters: dict[str, str]) -> Any:
    if filters["source"]:
        query = query.where(Source.name == filters["source"])
    if filters["kind"]:
        query = query.where(Source.kind == filters["kind"])
    if filters["language"]:
        query = query.where(Page.language == filters["language"])
    if filters["mode"]:
        query = query.where(Page.mode == filters["mode"])
    if filters["status"]:
        query = query.where(Candidate.status == filters["status"])
    if filters["place"]:
        query = query.where(Page.id.in_(select(PagePlace.page_id).where(or_(PagePlace.code == filters["place"], PagePlace.name == filters["place"]))))
    if filters["q"]:
        needle = f"%{filters['q'][:200]}%"
        query = query.where(or_(Page.title.ilike(needle), Page.text.ilike(needle)))
    return query


class Retrainer(threading.Thread):
    """Retrains the screening model in a subprocess when the decision log has grown (or new
    candidates wait for a score), never inside a request; the queue picks the scores up."""

    def __init__(self, config: ReviewConfig, engine: Engine):
        super().__init__(name="coprod-retrainer", daemon=True)
        self.config = config
        self.engine = engine

    def run(self) -> None:
        while True:
            time.sleep(self.config.retrain_every)
            try:
                if self._due():
                    subprocess.run(
                        [
                            sys.executable, "-m", "crawler.app.cli", "learn", "--db", self.config.database_url,
                            "--seeds", str(self.config.seeds_path), "--after", str(self.config.learning_after),
                        ],
                        capture_output=True, timeout=3600, check=False,
                    )
            except Exception:  # the app must outlive a failed training
                logger.exception("Retraining the screening model failed")

    def _due(self) -> bool:
        with Session(self.engine) as session:
            count = decisions_count(session)
            if count < self.config.learning_after:
                return False
            run = latest_run(session)
            if run is None or count > run.decisions:
                return True
            unscored = session.scalar(
                select(func.count()).select_from(Candidate).where(Candidate.model_score.is_(None), Candidate.status.not_in(("include", "exclude")))
            )
            return bool(unscored)


def _neighbours(candidate: Candidate) -> tuple[int | None, int | None]:
    """The candidates before and after this one in queue order (score, then id)."""
    db = g.db
    before = db.scalar(
        select(Candidate.id)
        .where(or_(Candidate.score > candidate.score, (Candidate.score == candidate.score) & (Candidate.id < candidate.id)))
        .order_by(Candidate.score.asc(), Candidate.id.desc())
        .limit(1)
    )
    after = db.scalar(
        select(Candidate.id)
        .where(or_(Candidate.score < candidate.score, (Candidate.score == candidate.score) & (Candidate.id > candidate.id)))
        .order_by(Candidate.score.desc(), Candidate.id.asc())
        .limit(1)
    )
    return before, after


def _versions(page: Page) -> list[Page]:
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


# Signals worth showing in the text, and the colour class of each.
HIGHLIGHTED = {"c2c_actor": "actor", "c2c_call": "actor", "government": "state", "c2g": "state", "ict": "ict", "service": "term", "mode": "term"}


def highlight(text: str, verdict: dict[str, Any]) -> Markup:
    """The page text escaped, then the engine's evidence marked: terms, places, identifiers."""
    marks: dict[str, str] = {}
    for signal, rows in (verdict.get("terms") or {}).items():
        kind = HIGHLIGHTED.get(signal)
        if kind is None:
            continue
        for row in rows:
            for form in row.get("forms", ()):
                marks.setdefault(form, kind)
    for place in verdict.get("places") or ():
        if not str(place.get("surface", "")).startswith("(source region)"):
            marks[place["surface"]] = "place"
    escaped = str(escape(text))
    forms = sorted((f for f in marks if len(f) >= 2), key=len, reverse=True)
    if not forms:
        return Markup(escaped)
    # Whole words only: "ми" (we) is not the end of "месенджерами".
    pattern = re.compile(r"(?<![\w/.])(?:" + "|".join(re.escape(str(escape(f))) for f in forms) + r")(?![\w/])")
    lookup = {str(escape(f)): kind for f, kind in marks.items()}
    return Markup(pattern.sub(lambda m: f'<mark class="{lookup.get(m.group(0), "term")}">{m.group(0)}</mark>', escaped))


def _safe_next(target: str | None) -> str:
    # Only a path of this app: never an absolute or scheme-relative URL from a form.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/queue"
