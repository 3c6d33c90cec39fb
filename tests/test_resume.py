"""A site crawl killed with SIGKILL half-way resumes where it stopped: every page stored
exactly once, none fetched again once stored, and a run history that adds up."""

from __future__ import annotations

import gzip
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.app.demo.server import generated_paths
from storage.db import open_catalogue
from storage.models import FrontierEntry, Page, PageVersion, Run
from tests.conftest import FIXTURE_WEB, run_coprod, web_server, write_study

SITE = yaml.safe_load((FIXTURE_WEB / "generated.test" / "_site.yaml").read_text(encoding="utf-8"))["generate"]
EXPECTED = {f"http://generated.test{path}" for path in generated_paths(SITE["pages"], SITE["links"])}
SOURCES = """\
  - name: generated
    kind: news
    start_urls: [http://generated.test/]
"""


def stored_pages(db_file: Path) -> int:
    try:
        with sqlite3.connect(db_file) as connection:
            return connection.execute("SELECT count(*) FROM pages").fetchone()[0]
    except sqlite3.OperationalError:  # the catalogue is not created yet
        return 0


def test_killed_crawl_resumes_with_every_page_once(tmp_path: Path) -> None:
    assert len(EXPECTED) >= 500
    seeds = write_study(tmp_path / "seeds.yaml", SOURCES)
    db_file = tmp_path / "catalogue.sqlite"
    url = f"sqlite:///{db_file}"
    with web_server(FIXTURE_WEB) as web:
        args = ["crawl", "--seeds", str(seeds), "--db", url, "--proxy", web.proxy_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPROD_")}
        crawl = subprocess.Popen(
            [sys.executable, "-m", "crawler.app.cli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
        )
        # Wait until a good part is stored (committed in batches of 100), then kill the whole process.
        for _ in range(1200):
            if stored_pages(db_file) >= 200 or crawl.poll() is not None:
                break
            time.sleep(0.1)
        os.killpg(crawl.pid, signal.SIGKILL)
        assert crawl.wait(timeout=30) == -signal.SIGKILL, "the crawl ended before it could be killed"
        at_kill = stored_pages(db_file)
        assert 200 <= at_kill < len(EXPECTED)

        second = run_coprod(*args)
        assert second.returncode == 0, second.stderr
        hits = web.hits()

    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        urls = list(session.scalars(select(Page.url)))
        first_run_of = {page_url: run for page_url, run in session.execute(select(Page.url, Page.first_run_id))}
        runs = list(session.scalars(select(Run).order_by(Run.id)))
        frontier_left = session.scalar(select(func.count()).select_from(FrontierEntry))
    engine.dispose()

    assert sorted(urls) == sorted(EXPECTED)  # every page, none twice, nothing else
    assert frontier_left == 0  # the finished crawl cleared its frontier
    killed, resumed = runs
    assert killed.status == "interrupted" and killed.finished_at is not None and killed.pid is not None
    assert resumed.status == "finished" and resumed.resumed_run_id == killed.id
    assert killed.pages_stored == sum(1 for run in first_run_of.values() if run == killed.id) == at_kill
    assert killed.pages_stored + resumed.pages_stored == len(EXPECTED)
    assert resumed.stats["coprod/frontier/resumed"] > 0
    # A page stored before the kill was not fetched again after it.
    refetched = [u for u, run in first_run_of.items() if run == killed.id and hits[u] != 1]
    assert refetched == []
    # The captures: the killed run's file was recovered (cut back to its last whole record and
    # sealed) when the resumed crawl opened; every file reads to its end and passes warcio check.
    captures = sorted((tmp_path / "catalogue-captures").glob("*.warc.gz"))
    assert {path.name.split("-")[1] for path in captures} == {f"run{killed.id}", f"run{resumed.id}"}
    assert resumed.stats.get("coprod/capture/recovered") == 1
    for path in captures:
        assert not path.stat().st_mode & 0o222, path.name
        gzip.decompress(path.read_bytes())
    check = subprocess.run([str(Path(sys.executable).with_name("warcio")), "check", *map(str, captures)], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout
    # Every version cites a capture that exists.
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        cited = set(session.scalars(select(PageVersion.warc_file)))
    engine.dispose()
    assert cited and cited <= {path.name for path in captures}
