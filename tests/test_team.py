"""A team crawl: crawler processes sharing a Redis frontier and a PostgreSQL catalogue.

Two workers crawl a 600-page fixture site under a page cap of 550; one is killed with
SIGKILL half-way and started again. Every page under the cap is stored exactly once, by one
run; the pages the killed worker stored are not fetched again; the entries it held in flight
went back to the queue; the run history names each worker and the crawl it joined; the
frontier is gone once the last worker finished. And two `coprod crawl` started together on an
empty PostgreSQL database both succeed.
"""

from __future__ import annotations

import gzip
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from crawler.app.demo.server import generated_paths
from crawler.core.config import load_config
from storage.db import open_catalogue, sync_sources
from storage.models import Page, Run, SchemaInfo, Source
from storage.shared_frontier import split_url
from tests.conftest import FIXTURE_WEB, TEST_REDIS_URL, run_coprod, web_server, write_study

pytestmark = pytest.mark.e2e

CAP = 550
SITE = yaml.safe_load((FIXTURE_WEB / "generated.test" / "_site.yaml").read_text(encoding="utf-8"))["generate"]
EVERY_PAGE = {f"http://generated.test{path}" for path in generated_paths(SITE["pages"], SITE["links"])}
SOURCES = f"""\
  - name: generated
    kind: news
    pages: {CAP}
    start_urls: [http://generated.test/]
"""


@pytest.fixture
def frontier_url() -> Iterator[str]:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {TEST_REDIS_URL} ({type(error).__name__}); .ci/run starts one")
    prefix = f"coprod-test-{secrets.token_hex(4)}"
    yield f"{TEST_REDIS_URL}?prefix={prefix}"
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def stored(url: str) -> int:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM pages")).scalar() or 0
    except Exception:  # noqa: BLE001 - the catalogue's tables do not exist yet
        return 0
    finally:
        engine.dispose()


def worker(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crawler.app.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )


def test_two_workers_one_killed_and_restarted_store_every_page_once(tmp_path: Path, postgres_databases, frontier_url: str) -> None:
    assert len(EVERY_PAGE) >= 500 > CAP - 100
    # A slower copy of the generated site, so the restarted worker joins a crawl under way.
    web_root = tmp_path / "web"
    shutil.copytree(FIXTURE_WEB, web_root)
    (web_root / "generated.test" / "_site.yaml").write_text(yaml.safe_dump({"generate": SITE, "latency": 0.1}), encoding="utf-8")
    seeds = write_study(tmp_path / "seeds.yaml", SOURCES)
    captures = tmp_path / "shared-captures"  # the folder every worker writes and readers read (a shared mount in a team)
    study = seeds.read_text(encoding="utf-8").replace("crawl:\n", f"captures: {captures}\ncrawl:\n  frontier: {frontier_url}\n", 1)
    seeds.write_text(study, encoding="utf-8")
    database = postgres_databases.new()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPROD_")}
    with web_server(web_root) as web:
        args = ["crawl", "--seeds", str(seeds), "--db", database, "--proxy", web.proxy_url]
        first, second = worker(args, env), worker(args, env)
        for _ in range(1200):
            if stored(database) >= 150 or first.poll() is not None:
                break
            time.sleep(0.1)
        os.killpg(first.pid, signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL, "the worker ended before it could be killed"
        first.communicate()
        at_kill = stored(database)
        assert 150 <= at_kill < CAP
        restarted = worker(args, env)
        outputs = {name: process.communicate(timeout=600) for name, process in (("second", second), ("restarted", restarted))}
        hits = web.hits()
    assert (second.returncode, restarted.returncode) == (0, 0), outputs

    engine = open_catalogue(database, create=False)
    with Session(engine) as session:
        pages = session.execute(select(Page.url, Page.first_run_id, Page.last_run_id)).all()
        runs = list(session.scalars(select(Run).order_by(Run.id)))
        schema_rows = session.scalar(select(func.count()).select_from(SchemaInfo))
        sources = session.scalar(select(func.count()).select_from(Source))
    engine.dispose()

    # Every page once, none outside the site, exactly the cap across both workers.
    urls = [url for url, _, _ in pages]
    assert len(urls) == len(set(urls)) == CAP and set(urls) <= EVERY_PAGE
    assert (schema_rows, sources) == (1, 1)
    # The run history: one run per worker process, the killed one interrupted.
    assert len(runs) == 3 and all(run.spider == "site" and run.hostname and run.pid for run in runs)
    by_pid = {run.pid: run for run in runs}
    killed, survivor, again = by_pid[first.pid], by_pid[second.pid], by_pid[restarted.pid]
    assert killed.status == "interrupted" and killed.finished_at is not None
    assert survivor.status == again.status == "finished" and survivor.finish_reason == again.finish_reason == "finished"
    # One logical crawl: the runs that joined it name the run that started it.
    starter = min(killed.id, survivor.id)
    assert {run.resumed_run_id for run in runs if run.id != starter} == {starter}
    # Each page stored by exactly one run, and the runs' counts add up.
    assert all(first_run == last_run for _, first_run, last_run in pages)
    by_run = {run.id: sum(1 for _, first_run, _ in pages if first_run == run.id) for run in runs}
    assert by_run == {run.id: run.pages_stored for run in runs}
    assert sum(by_run.values()) == CAP and all(n > 0 for n in by_run.values()), by_run
    # What the killed worker stored was not fetched again; what it held in flight went back.
    assert [url for url, first_run, _ in pages if first_run == killed.id and hits[url] != 1] == []
    assert survivor.stats.get("coprod/frontier/requeued", 0) + again.stats.get("coprod/frontier/requeued", 0) > 0
    assert survivor.stats.get("coprod/skipped/page_cap/generated", 0) + again.stats.get("coprod/skipped/page_cap/generated", 0) > 0
    # The frontier is cleared, by the last worker to finish.
    address, prefix = split_url(frontier_url)
    client = redis.Redis.from_url(address)
    assert list(client.scan_iter(f"{prefix}:*")) == []
    client.close()
    assert survivor.stats.get("coprod/frontier/cleared", 0) + again.stats.get("coprod/frontier/cleared", 0) == 1
    # Captures in the one shared folder: the killed worker's file recovered by the restarted one.
    files = sorted(captures.glob("*.warc.gz"))
    assert {path.name.split("-")[1] for path in files} == {f"run{run.id}" for run in runs}
    assert again.stats.get("coprod/capture/recovered") == 1
    for path in files:
        assert not path.stat().st_mode & 0o222, path.name
        gzip.decompress(path.read_bytes())
    # A reader elsewhere finds a capture through the same study file.
    shown = subprocess.run(
        [sys.executable, "-m", "crawler.app.cli", "show", urls[0], "--seeds", str(seeds), "--db", database], capture_output=True, text=True, env=env, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    assert any(path.name in shown.stdout for path in files)


def test_two_crawls_started_together_on_an_empty_postgresql_database_both_succeed(tmp_path: Path, postgres_databases) -> None:
    sources = "".join(
        f"  - name: {name}\n    kind: news\n    start_urls: [http://{name}.test/]\n" for name in ("alpha", "beta")
    )
    seeds = write_study(tmp_path / "seeds.yaml", sources)
    database = postgres_databases.new()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPROD_")} | {"COPROD_CAPTURE_DIR": str(tmp_path / "captures")}
    with web_server(FIXTURE_WEB) as web:
        crawls = [worker(["crawl", "--seeds", str(seeds), "--db", database, "--proxy", web.proxy_url, "--source", name], env) for name in ("alpha", "beta")]
        outputs = [crawl.communicate(timeout=300) for crawl in crawls]
    assert [crawl.returncode for crawl in crawls] == [0, 0], outputs
    engine = open_catalogue(database, create=False)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(SchemaInfo)) == 1
        runs = list(session.scalars(select(Run)))
        assert sorted(name for run in runs for name in run.sources) == ["alpha", "beta"]
        assert all(run.status == "finished" for run in runs)
        per_source = dict(session.execute(select(Source.name, func.count(Page.id)).join(Page).group_by(Source.name)).all())
    engine.dispose()
    assert per_source == {"alpha": 6, "beta": 6}


def test_a_source_lock_on_postgresql_is_an_advisory_lock_other_machines_see(tmp_path: Path, postgres_databases) -> None:
    from crawler.app.locks import AdvisoryLocks

    seeds = write_study(tmp_path / "seeds.yaml", "  - name: alpha\n    kind: news\n    start_urls: [http://alpha.test/]\n")
    database = postgres_databases.new()
    engine = open_catalogue(database)
    with Session(engine) as session, session.begin():
        sync_sources(session, load_config(seeds).sources)
    engine.dispose()
    locks = AdvisoryLocks(database)
    try:
        assert locks.acquire("alpha")
        holder = locks.holder("alpha")
        assert holder is not None and holder.pid == os.getpid()
        env = {"COPROD_CAPTURE_DIR": str(tmp_path / "captures")}
        crawl = run_coprod("crawl", "--seeds", str(seeds), "--db", database, "--proxy", "http://127.0.0.1:9", env=env)
        status = run_coprod("status", "--db", database, env=env)
    finally:
        locks.release()
    assert crawl.returncode == 3 and f"alpha: skipped, being crawled (pid {os.getpid()}" in crawl.stderr
    row = next(line for line in status.stdout.splitlines() if line.strip().startswith("alpha "))
    assert row.rstrip().endswith(f"pid {os.getpid()} on {holder.host}")
    checker = AdvisoryLocks(database)
    try:
        assert checker.holder("alpha") is None  # released with the session
        assert checker.acquire("alpha")
    finally:
        checker.release()


def test_the_demo_runs_on_postgresql_with_the_documented_url(tmp_path: Path, postgres_databases) -> None:
    database = postgres_databases.new()
    assert database.startswith("postgresql+psycopg://")  # the form the README gives
    result = run_coprod("demo", "--db", database, "--out", str(tmp_path / "out"), env={"COPROD_CAPTURE_DIR": str(tmp_path / "captures")}, timeout=900)
    assert result.returncode == 0, result.stderr
    assert re.search(r"flagged pages: [1-9]\d* = [1-9]\d* candidates", result.stdout) and (tmp_path / "out" / "demo-report" / "report.html").is_file()
    engine = open_catalogue(database, create=False)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Page)) > 50
    engine.dispose()


def test_a_worker_on_a_shared_frontier_crawls_the_sample_web_as_one_machine_does(demo_crawl, sample_web, databases, frontier_url: str) -> None:
    from tests.conftest import DEMO_SEEDS

    database = databases.new()
    result = run_coprod("crawl", "--seeds", str(DEMO_SEEDS), "--db", database, "--proxy", sample_web.proxy_url, "--frontier", frontier_url)
    assert result.returncode == 0, result.stderr

    def pages(url: str) -> set[tuple[str, str | None]]:
        engine = open_catalogue(url, create=False)
        with Session(engine) as session:
            found = set(session.execute(select(Page.url, Page.drop_reason)).all())
        engine.dispose()
        return found

    assert pages(database) == pages(demo_crawl.url)  # robots.txt, redirects, failures, feeds and channels alike
    address, prefix = split_url(frontier_url)
    client = redis.Redis.from_url(address)
    assert list(client.scan_iter(f"{prefix}:*")) == []
    client.close()
