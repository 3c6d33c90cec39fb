"""Shared fixtures: the loopback sample web, and one crawl of it into a temporary catalogue.

A test that starts a process (`coprod` in a subprocess, a web server, a browser), itself or
through one of its fixtures, is marked `e2e` here at collection; `make test-fast` runs the
others, the unit tests, and `make test` all of them.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

import crawler.app.demo
from crawler.core.urls import canonical_url
from storage.db import open_catalogue

DEMO = Path(crawler.app.demo.__file__).parent
DEMO_SEEDS = DEMO / "seeds.yaml"
FIXTURE_WEB = Path(__file__).parent / "data" / "fixture-web"  # generated sites of the schedule tests
MANIFEST = yaml.safe_load((DEMO / "web" / "MANIFEST.yaml").read_text(encoding="utf-8"))
# What starts a process, in a test or a fixture's source.
STARTS_A_PROCESS = ("run_coprod(", "web_server(", "subprocess.", "SampleWeb(", "sync_playwright")


def _starts_a_process(function: object) -> bool:
    try:
        source = inspect.getsource(function)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return False
    return any(marker in source for marker in STARTS_A_PROCESS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = [d.func for defs in item._fixtureinfo.name2fixturedefs.values() for d in defs]  # type: ignore[attr-defined]
        own = [f for f in [getattr(item, "function", None), *fixtures] if f is not None and getattr(f, "__module__", "").startswith("tests")]
        if any(_starts_a_process(f) for f in own):
            item.add_marker(pytest.mark.e2e)


# The catalogue database of the storage, crawl and review tests: SQLite files by default; with
# COPROD_TEST_DATABASE_URL (a PostgreSQL server's database, e.g.
# postgresql+psycopg://postgres@127.0.0.1:5432/test) each test catalogue is a database of its
# own on that server, created for it and dropped at the end of the session.
TEST_DATABASE_URL = os.environ.get("COPROD_TEST_DATABASE_URL")
# Tests that need PostgreSQL or Redis whatever the lane (the team crawl, advisory locks).
TEST_POSTGRES_URL = os.environ.get("COPROD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("COPROD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# Per catalogue URL that is not a SQLite file: where its crawls keep captures and state.
DATABASE_ENV: dict[str, dict[str, str]] = {}


@dataclass
class Databases:
    """Fresh catalogue databases for tests: SQLite files, or PostgreSQL databases named
    `coprod_test_<session>_<n>` on the server of `server_url` (dropped when the session ends)."""

    server_url: str | None
    root: Path
    prefix: str = field(default_factory=lambda: f"coprod_test_{secrets.token_hex(4)}")
    created: list[str] = field(default_factory=list)

    @property
    def postgres(self) -> bool:
        return self.server_url is not None

    def _admin(self) -> Engine:
        assert self.server_url is not None
        return create_engine(self.server_url, isolation_level="AUTOCOMMIT")

    def new(self, template: str | None = None) -> str:
        """The URL of a new empty database (a copy of `template`'s database when given)."""
        folder = self.root / f"db{len(self.created)}"
        folder.mkdir(parents=True)
        if not self.postgres:
            path = folder / "catalogue.sqlite"
            if template:
                shutil.copy(make_url(template).database, path)
            self.created.append(str(path))
            return f"sqlite:///{path}"
        name = f"{self.prefix}_{len(self.created)}"
        admin = self._admin()
        with admin.connect() as connection:
            if template:
                source = make_url(template).database
                # A template must have no other session open on it.
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": source})
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
            else:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        url = make_url(self.server_url).set(database=name).render_as_string(hide_password=False)
        DATABASE_ENV[url] = {"COPROD_CAPTURE_DIR": str(folder / "captures"), "COPROD_STATE_DIR": str(folder / "state")}
        return url

    def drop_all(self) -> None:
        if not self.postgres or not self.created:
            return
        admin = self._admin()
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    found = Databases(TEST_DATABASE_URL, tmp_path_factory.mktemp("databases"))
    try:
        yield found
    finally:
        found.drop_all()


@pytest.fixture
def catalogue_url(databases: Databases) -> str:
    """A fresh, empty catalogue database of the lane's kind (SQLite or PostgreSQL)."""
    return databases.new()


def postgres_server() -> str:
    """The PostgreSQL server for tests that need one whatever the lane; skips without one."""
    engine = create_engine(TEST_POSTGRES_URL)
    try:
        with engine.connect():
            pass
    except Exception as error:  # noqa: BLE001 - any failure to connect means: no server
        pytest.skip(f"no PostgreSQL at {TEST_POSTGRES_URL} ({type(error).__name__}); .ci/run starts one")
    finally:
        engine.dispose()
    return TEST_POSTGRES_URL


@pytest.fixture(scope="session")
def postgres_databases(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """Fresh PostgreSQL databases, whatever the lane (skips when there is no server)."""
    if databases.postgres:
        yield databases
        return
    found = Databases(postgres_server(), tmp_path_factory.mktemp("pg-databases"))
    try:
        yield found
    finally:
        found.drop_all()


@dataclass(frozen=True)
class SampleWebProcess:
    proxy_url: str

    def hits(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.proxy_url}/__coprod__/hits", timeout=5) as answer:
            return json.load(answer)["by_url"]


@pytest.fixture(scope="session")
def sample_web() -> Iterator[SampleWebProcess]:
    """The bundled sample web in its own process, on a free loopback port."""
    with web_server() as web:
        yield web


@contextlib.contextmanager
def web_server(root: Path | None = None) -> Iterator[SampleWebProcess]:
    """A sample web server process on a folder of sites (default: the bundled sample web)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.app.demo.server", "--port", "0", *(["--root", str(root)] if root else [])],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("serving http://127.0.0.1:"), line
        yield SampleWebProcess(line.removeprefix("serving "))
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def clean_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the study's overrides (they must come from the
    test, not from the developer's shell), plus `env`."""
    overrides = ("COPROD_SEEDS", "COPROD_DATABASE_URL", "COPROD_PROXY", "COPROD_STATE_DIR", "COPROD_CAPTURE_DIR")
    return {k: v for k, v in os.environ.items() if k not in overrides} | (env or {})


def run_coprod(*args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`coprod ARGS` in a subprocess (a crawl needs a fresh Twisted reactor); a catalogue URL of
    the `databases` fixture among the arguments brings its capture and state folders."""
    full_env: dict[str, str] = {}
    for arg in args:
        full_env.update(DATABASE_ENV.get(arg, {}))
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "crawler.app.cli", *args], capture_output=True, text=True, timeout=timeout, env=clean_env(full_env), cwd=cwd
    )


@dataclass(frozen=True)
class DemoCrawl:
    url: str
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    rows_after_first: int

    def engine(self) -> Engine:
        return open_catalogue(self.url, create=False)


@pytest.fixture(scope="session")
def demo_crawl(sample_web: SampleWebProcess, databases: Databases) -> DemoCrawl:
    """The sample web crawled twice into one temporary catalogue, as subprocesses."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from storage.models import Page

    url = databases.new()
    args = ("crawl", "--seeds", str(DEMO_SEEDS), "--db", url, "--proxy", sample_web.proxy_url)
    first = run_coprod(*args)
    assert first.returncode == 0, first.stderr
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        rows = session.scalar(select(func.count()).select_from(Page))
    engine.dispose()
    second = run_coprod(*args)
    assert second.returncode == 0, second.stderr
    return DemoCrawl(url=url, first=first, second=second, rows_after_first=rows or 0)


def manifest_pages(**where: object) -> dict[str, dict]:
    """Manifest entries (keyed by canonical URL) whose fields equal the given values."""
    return {
        canonical_url(url): entry
        for url, entry in MANIFEST["pages"].items()
        if all(entry.get(key) == value for key, value in where.items())
    }


# Review apps a test made (`opened_app`), closed after it: their background threads stop and
# their engines close (a PostgreSQL connection left to the garbage collector is a ResourceWarning).
OPENED_APPS: list = []


def opened_app(app):
    """`app`, to be closed when the test ends."""
    OPENED_APPS.append(app)
    return app


@pytest.fixture(autouse=True)
def _close_opened_apps() -> Iterator[None]:
    yield
    while OPENED_APPS:
        state = OPENED_APPS.pop().extensions["coprod"]
        if state.maintainer is not None:
            state.maintainer.stop()
            state.maintainer.join(timeout=60)
        state.engine.dispose()


PASSWORD = "correct horse battery"


def catalogue_with_users(template: str, databases: Databases, users: dict[str, str]) -> str:
    """A copy of the catalogue at `template` with accounts `users` (name: role), all PASSWORD."""
    from sqlalchemy.orm import Session

    from review.auth import add_user

    url = databases.new(template=template)
    engine = open_catalogue(url)
    with Session(engine) as session, session.begin():
        for name, role in users.items():
            add_user(session, name, role, PASSWORD)
    engine.dispose()
    return url


def script_screening(url: str) -> None:
    """A scripted screening of a crawled catalogue (the test helper of the export and report
    tests, not the browser): accounts ada (admin), ana and bo (analysts); every candidate
    decided by position (a third included into a coded case each, a third maybe, a third
    excluded), since every flagged page of the sample web is C2C in the region."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from crawler.core.config import load_config
    from review.auth import add_user
    from review.codebook import load_codebook
    from review.screening import code_case, include_in_case, record_decision
    from storage.models import Candidate

    config = load_config(DEMO_SEEDS)
    codebook = load_codebook(config.codebook_path)
    reasons = config.review.exclude_reasons
    engine = open_catalogue(url)
    with Session(engine) as session, session.begin():
        add_user(session, "ada", "admin", PASSWORD)
        add_user(session, "ana", "analyst", PASSWORD)
        add_user(session, "bo", "analyst", PASSWORD)
        candidates = list(session.scalars(select(Candidate).order_by(Candidate.id)))
        assert len(candidates) >= 6
        coded = 0
        for index, candidate in enumerate(candidates):
            page = candidate.page
            if index % 3 == 0:
                user = "ana" if index % 2 else "bo"
                record_decision(session, candidate.id, user, "include", mode=page.mode, note="call 067 418 22 90 to check")
                case = include_in_case(session, candidate.id, user, None, None)
                places = (page.relevance or {}).get("places", [])
                form = {
                    "direction": ["C2C"],
                    "mode": [page.mode or "co-delivery"],
                    "ict_channels": ["telegram", "phone"] if index % 2 else ["website"],
                    "service_area": ["humanitarian_aid"],
                    "start_date": [page.event_date] if page.event_date else [],
                    "organisers": ["volunteers, reach them at someone.private@gmail.com"],
                }
                if places and coded % 2 == 0:
                    form["place"] = [places[0]["code"]]
                code_case(session, case.id, "ana", codebook, form)
                coded += 1
            elif index % 3 == 1:
                record_decision(session, candidate.id, "bo", "maybe")
            else:
                record_decision(session, candidate.id, "ana", "exclude", reason=reasons[0], allowed_reasons=reasons)
        assert coded >= 3
    engine.dispose()


@pytest.fixture(scope="session")
def screened(demo_crawl: DemoCrawl, databases: Databases) -> str:
    """A copy of the demo catalogue after `script_screening` (tests must not change it)."""
    url = databases.new(template=demo_crawl.url)
    script_screening(url)
    return url


def write_study(path: Path, sources: str, schedule: str = "") -> Path:
    """A study file for the fixture web: fast crawl policy, no retries, the given sources."""
    path.write_text(STUDY_HEAD + schedule + "sources:\n" + sources, encoding="utf-8")
    return path


STUDY_HEAD = """\
version: 1
study:
  region: Dnipropetrovsk oblast
  region_code: UA12000000000090473
  window: {start: 2022-02-24, end: 2023-12-31}
crawl:
  depth: 10
  pages_per_source: 1000
  delay: 0.0
  concurrency: 8
  concurrency_per_domain: 4
  timeout: 10
  user_agent: "coprod-test/0.1 (+https://example.org/coprod)"
  autothrottle: {start_delay: 0.0, max_delay: 1.0, target_concurrency: 4.0}
  retry: {times: 0, backoff_base: 0.5, backoff_max: 1.0}
lexicon: [builtin:coproduction]
"""
