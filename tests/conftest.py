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
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

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
    """`coprod ARGS` in a subprocess (a crawl needs a fresh Twisted reactor)."""
    return subprocess.run(
        [sys.executable, "-m", "crawler.app.cli", *args], capture_output=True, text=True, timeout=timeout, env=clean_env(env), cwd=cwd
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
def demo_crawl(sample_web: SampleWebProcess, tmp_path_factory: pytest.TempPathFactory) -> DemoCrawl:
    """The sample web crawled twice into one temporary catalogue, as subprocesses."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from storage.models import Page

    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'catalogue.sqlite'}"
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


PASSWORD = "correct horse battery"


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
def screened(demo_crawl: DemoCrawl, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A copy of the demo catalogue after `script_screening` (tests must not change it)."""
    path = tmp_path_factory.mktemp("screened") / "catalogue.sqlite"
    shutil.copy(demo_crawl.url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
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
