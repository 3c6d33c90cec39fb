"""Shared fixtures: the loopback sample web, and one crawl of it into a temporary catalogue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

import crawler.demo
from crawler.urls import canonical_url
from storage.db import open_catalogue

DEMO = Path(crawler.demo.__file__).parent
DEMO_SEEDS = DEMO / "seeds.yaml"
MANIFEST = yaml.safe_load((DEMO / "web" / "MANIFEST.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SampleWebProcess:
    proxy_url: str

    def hits(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.proxy_url}/__coprod__/hits", timeout=5) as answer:
            return json.load(answer)["by_url"]


@pytest.fixture(scope="session")
def sample_web() -> Iterator[SampleWebProcess]:
    """The bundled sample web in its own process, on a free loopback port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler.demo.server", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line.startswith("serving http://127.0.0.1:"), line
    yield SampleWebProcess(line.removeprefix("serving "))
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()


def run_coprod(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`coprod ARGS` in a subprocess (a crawl needs a fresh Twisted reactor)."""
    # The study's overrides must come from the test, not from the developer's shell.
    overrides = ("COPROD_SEEDS", "COPROD_DATABASE_URL", "COPROD_PROXY", "COPROD_CAPTURE_DIR")
    full_env = {k: v for k, v in os.environ.items() if k not in overrides}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args], capture_output=True, text=True, timeout=timeout, env=full_env
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
