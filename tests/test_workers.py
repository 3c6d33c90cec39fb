"""The chain's worker pool (`pipelines.workers`): real forked processes, really killed.

A worker that dies is replaced and its page run once more; a page that kills its worker
twice is given up as `worker_crashed`; workers are replaced after `max_pages` pages; the
chain run in workers gives the same pages as the chain run in the process."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from crawler.core.config import load_config
from crawler.core.items import PageItem
from crawler.core.links import anchors, base_url, html_selector
from pipelines._drop import PageDropped
from pipelines.chain import CHAIN_FIELDS, Chain, _chain_in_worker, worker_count
from pipelines.relevance import engine_from_config
from pipelines.workers import WORKER_NAME, ZYGOTE_NAME, WorkerPool
from tests.conftest import DEMO, DEMO_SEEDS, MANIFEST


def collect(pool: WorkerPool, items: list, counts: Counter | None = None) -> dict:
    """Each item's outcome, by its position."""
    outcomes: dict = {}
    counter = counts if counts is not None else Counter()
    for number, item in enumerate(items):
        pool.submit(item, lambda outcome, number=number: outcomes.__setitem__(number, outcome), lambda event: counter.update([event]))
    pool.drain(timeout=60)
    return outcomes


def workers_of(pid: int) -> list[int]:
    """The chain workers among a process's children (not the zygote they are forked from)."""
    children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    found = []
    for child in children:
        try:
            if Path(f"/proc/{child}/comm").read_bytes().strip() == WORKER_NAME:
                found.append(child)
        except FileNotFoundError:
            pass  # it has just ended
    return found


def mortal(marker_dir: Path):
    """A stage that kills its own process on "die" every time, on "die-once" the first time
    only (the marker file tells a retry), and drops "drop" with a reason."""

    def run(item: str) -> str:
        if item == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        if item == "die-once":
            marker = marker_dir / "died-once"
            if not marker.exists():
                marker.touch()
                os._exit(3)
        if item == "drop":
            raise PageDropped("empty_extraction", "0 characters of main text")
        if item == "error":
            raise ValueError("a bug in a stage")
        return f"{item} by {os.getpid()}"

    return run


def test_a_dead_worker_is_replaced_and_its_page_retried_once(tmp_path: Path) -> None:
    pool = WorkerPool(mortal(tmp_path), size=2).start()
    first_pids = {w.pid for w in pool.workers.values()}
    counts: Counter = Counter()
    try:
        items = ["a", "die-once", "b", "die", "c", "drop", "error", "d"]
        outcomes = {items[n]: outcome for n, outcome in collect(pool, items, counts).items()}
        assert len(pool.workers) == 2  # both deaths replaced
        pids = {w.pid for w in pool.workers.values()}
        # The survivors still work after the deaths.
        later = collect(pool, ["e", "f", "g"])
    finally:
        pool.close()
    assert {item: outcome[0] for item, outcome in outcomes.items()} == {
        "a": "done", "die-once": "done", "b": "done", "die": "dropped", "c": "done", "drop": "dropped", "error": "error", "d": "done"}
    assert outcomes["die"][1] == "worker_crashed"
    assert "signal 9" in outcomes["die"][2] and "twice" in outcomes["die"][2]
    assert outcomes["drop"][1:] == ("empty_extraction", "0 characters of main text")
    assert outcomes["error"][1].startswith("ValueError: a bug in a stage")
    # Work happened in the workers, not here.
    assert all(int(outcome[1].rsplit(" ", 1)[1]) != os.getpid() for outcome in outcomes.values() if outcome[0] == "done")
    # die-once killed one worker and was retried; die killed two (its try and its retry).
    assert counts == Counter({"crashed": 3, "retried": 2})
    assert len(pids - first_pids) >= 2
    assert all(outcome[0] == "done" for outcome in later.values())
    for pid in first_pids | pids:  # every worker reaped: none left behind
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_workers_are_replaced_after_max_pages(tmp_path: Path) -> None:
    pool = WorkerPool(mortal(tmp_path), size=1, max_pages=3).start()
    counts: Counter = Counter()
    try:
        outcomes = collect(pool, [str(n) for n in range(7)], counts)
    finally:
        pool.close()
    pids = [outcome[1].rsplit(" ", 1)[1] for _, outcome in sorted(outcomes.items())]
    assert len(set(pids[:3])) == 1 and len(set(pids[3:6])) == 1 and len(set(pids)) == 3
    assert counts["recycled"] == 2


def test_worker_count_setting() -> None:
    assert worker_count("0") == 0
    assert worker_count(3) == 3
    assert worker_count(None) == worker_count("") >= 1
    with pytest.raises(ValueError, match="COPROD_WORKERS"):
        worker_count("many")
    with pytest.raises(ValueError, match="COPROD_WORKERS"):
        worker_count("-1")


def sample_pages() -> list[PageItem]:
    """The sample web's pages as a crawl hands them to the chain: HTML with its links, and a
    document that is not HTML."""
    items = []
    for url in sorted(MANIFEST["pages"]):
        host, _, path = url.removeprefix("http://").partition("/")
        file = DEMO / "web" / host / (path or "index.html")
        if file.is_dir():
            file = file / "index.html"
        if file.suffix != ".html" or not file.is_file():
            continue
        html = file.read_bytes().decode("utf-8", "replace")
        base = base_url(html, url)
        items.append(PageItem(url=url, source="dnipro-vechir", fetched_url=url, fetched_at=dt.datetime(2024, 3, 1), http_status=200,
                              content_type="text/html; charset=utf-8", html=html, outlinks=anchors(html_selector(html), base)))
    items.append(PageItem(url="http://dnipro-vechir.test/files/zvit.pdf", source="dnipro-vechir", fetched_url="http://dnipro-vechir.test/files/zvit.pdf",
                          fetched_at=dt.datetime(2024, 3, 1), http_status=200, content_type="application/pdf", html=None))
    items.append(PageItem(url="http://dnipro-vechir.test/empty", source="dnipro-vechir", fetched_url="http://dnipro-vechir.test/empty",
                          fetched_at=dt.datetime(2024, 3, 1), http_status=200, content_type="text/html", html="<html><body></body></html>"))
    return items


def test_the_chain_in_workers_gives_the_pages_the_chain_in_process_gives() -> None:
    config = load_config(DEMO_SEEDS)
    chain = Chain.for_sources(engine_from_config(config), config.sources)
    items = sample_pages()
    assert len(items) > 20

    here: dict[str, tuple] = {}
    for item in items:
        copy = PageItem(**{k: v for k, v in vars(item).items()})
        try:
            chain.run(copy)
            here[item.url] = ("done", {name: getattr(copy, name) for name in CHAIN_FIELDS})
        except PageDropped as drop:
            here[item.url] = ("dropped", drop.reason, drop.detail)

    pool = WorkerPool(_chain_in_worker(chain), size=2).start()
    try:
        there = {items[n].url: outcome for n, outcome in collect(pool, items).items()}
    finally:
        pool.close()
    assert there == here
    assert Counter(outcome[0] for outcome in here.values())["dropped"] >= 2
    assert any(outcome[0] == "done" and outcome[1]["relevance"]["flagged"] for outcome in here.values())
    assert any(outcome[0] == "done" and outcome[1]["discovered"] for outcome in here.values())


# --- whole crawls ---------------------------------------------------------------------------


def crawled(db: str) -> tuple[dict[str, dict], set[tuple], dict[str, int]]:
    """Per stored page what the chain decided, the discovered sources with the pages linking
    to them, and the runs' outcome counts (summed; `coprod/workers` as the set of values)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from storage.db import open_catalogue
    from storage.models import DiscoveredSource, Page, Run, SourceLink
    from tests.test_direct_crawl import unordered

    fields = ("title", "text", "published", "author", "content_hash", "language", "language_detail", "links", "flagged", "score",
              "direction", "mode", "drop_reason", "http_status")
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        pages = {p.url: {f: getattr(p, f) for f in fields} | {"relevance": unordered(p.relevance)} for p in session.scalars(select(Page))}
        links = {tuple(row) for row in session.execute(
            select(Page.url, DiscoveredSource.key, DiscoveredSource.kind, DiscoveredSource.example)
            .join(SourceLink, SourceLink.discovered_id == DiscoveredSource.id).join(Page, Page.id == SourceLink.page_id))}
        counts: Counter = Counter()
        sizes = set()
        for run in session.scalars(select(Run)):
            stats = run.stats or {}
            counts.update({k: v for k, v in stats.items() if k.startswith(("coprod/dropped/", "coprod/stored", "coprod/workers/"))})
            sizes.add(stats.get("coprod/workers"))
    engine.dispose()
    return pages, links, dict(counts) | {"coprod/workers": sizes}


@pytest.mark.e2e
def test_a_crawl_stores_the_same_with_workers_as_without(sample_web, tmp_path: Path) -> None:
    from tests.conftest import run_coprod

    results = {}
    for workers in ("0", "2"):
        db = f"sqlite:///{tmp_path / f'workers-{workers}.sqlite'}"
        crawl = run_coprod("crawl", "--seeds", str(DEMO_SEEDS), "--db", db, "--proxy", sample_web.proxy_url, "--workers", workers)
        assert crawl.returncode == 0, crawl.stderr
        results[workers] = crawled(db)
    (in_process, links_here, counts_here), (in_workers, links_there, counts_there) = results["0"], results["2"]
    assert in_workers == in_process
    # A discovered source keeps the first mention seen as its example: which page comes
    # first depends on the workers' order, so the examples are compared as "one was kept".
    assert {link[:3] for link in links_there} == {link[:3] for link in links_here} and links_here
    assert {link[1] for link in links_there if link[3]} == {link[1] for link in links_here if link[3]}
    assert counts_here.pop("coprod/workers") == {0} and counts_there.pop("coprod/workers") == {2}
    assert counts_there == counts_here  # drop reasons and store counts, unchanged
    assert any(k.startswith("coprod/dropped/") for k in counts_here)
    assert any(p["flagged"] for p in in_process.values())


@pytest.mark.e2e
def test_a_crawl_whose_workers_are_killed_loses_no_page(tmp_path: Path) -> None:
    """SIGKILL every chain worker of a running crawl: they are replaced, the pages they were
    running are run again, and every page of the site is stored once, none as crashed."""
    import subprocess
    import sys
    import time

    from tests.conftest import FIXTURE_WEB, web_server, write_study
    from tests.test_resume import EXPECTED, SOURCES, stored_pages

    seeds = write_study(tmp_path / "seeds.yaml", SOURCES)
    db_file = tmp_path / "catalogue.sqlite"
    with web_server(FIXTURE_WEB) as web:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPROD_")}
        crawl = subprocess.Popen(
            [sys.executable, "-m", "crawler.app.cli", "crawl", "--seeds", str(seeds), "--db", f"sqlite:///{db_file}", "--proxy", web.proxy_url, "--workers", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        killed: set[int] = set()
        deadline = time.monotonic() + 120
        while len(killed) < 2 and crawl.poll() is None and time.monotonic() < deadline:
            workers = workers_of(crawl.pid)
            if stored_pages(db_file) >= 100:
                for pid in set(workers) - killed:
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                    time.sleep(0.3)  # the next one while the replacement of this one works
            time.sleep(0.05)
        out, err = crawl.communicate(timeout=300)
    assert len(killed) == 2, "the crawl ended before its workers could be killed"
    assert crawl.returncode == 0, err
    assert "died" in err  # the parent logs each death
    pages, _, counts = crawled(f"sqlite:///{db_file}")
    assert sorted(pages) == sorted(EXPECTED)  # every page, once
    assert not any(p["drop_reason"] for p in pages.values())
    assert counts["coprod/workers/died"] == 2
    assert counts.get("coprod/workers/retried", 0) == counts.get("coprod/workers/crashed", 0) <= 2


def test_a_workers_log_records_reach_the_crawls_log_file(tmp_path: Path) -> None:
    # A worker closes the parent's files but its log files: a stage's warning (trafilatura's,
    # the engine's) lands in the crawl's log, not in a "Logging error" on the terminal.
    log_file = tmp_path / "crawl.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logging.root.addHandler(handler)

    def run(item: str) -> str:
        logging.getLogger("tests.worker").warning("worker %d read %s", os.getpid(), item)
        return item

    try:
        pool = WorkerPool(run, size=2).start()
        try:
            outcomes = collect(pool, ["a", "b", "c"])
        finally:
            pool.close()
    finally:
        logging.root.removeHandler(handler)
        handler.close()
    assert sorted(o[1] for o in outcomes.values()) == ["a", "b", "c"]
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert sorted(line.rsplit(" ", 1)[1] for line in lines if "read" in line) == ["a", "b", "c"]
    assert all(f"worker {os.getpid()} " not in line for line in lines)


def _slow(item: str) -> str:
    time.sleep(0.2)  # long enough for a retired worker to have exited
    return f"{item} by {os.getpid()}"


def test_a_retired_worker_is_reaped_before_the_next_retirement() -> None:
    pool = WorkerPool(_slow, size=1, max_pages=3).start()
    try:
        outcomes = collect(pool, [str(n) for n in range(5)])
        first = int(outcomes[0][1].rsplit(" ", 1)[1])
        try:
            state = Path(f"/proc/{first}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            state = "reaped"
        assert state != "Z"  # a zombie until the pool's next retirement, before
    finally:
        pool.close()


_GROWN = {"pages crawled": 0}  # what the parent writes as it crawls, after its pool started


def _snapshot(item: str) -> tuple[int, int, int]:
    return os.getpid(), os.getppid(), _GROWN["pages crawled"]


def _children_named(name: bytes) -> list[int]:
    me = os.getpid()
    children = [int(child) for child in Path(f"/proc/{me}/task/{me}/children").read_text().split()]
    return [child for child in children if Path(f"/proc/{child}/comm").read_bytes().strip() == name]


def test_workers_start_from_the_parent_as_it_was_when_the_pool_started() -> None:
    """Replacement workers are forked by the zygote, not by the parent that has grown since;
    they are still the parent's children, reaped by it."""
    _GROWN["pages crawled"] = 0
    pool = WorkerPool(_snapshot, size=1, max_pages=2).start()
    try:
        assert len(_children_named(ZYGOTE_NAME)) == 1
        _GROWN["pages crawled"] = 5000  # written in the parent only
        answers = [outcome[1] for _, outcome in sorted(collect(pool, ["a", "b", "c", "d", "e"]).items())]
    finally:
        pool.close()
    assert len({pid for pid, _, _ in answers}) == 3  # two retirements
    assert {parent for _, parent, _ in answers} == {os.getpid()}
    assert {grown for _, _, grown in answers} == {0}  # the parent's later writes are not theirs
    assert _children_named(ZYGOTE_NAME) == [] and _children_named(WORKER_NAME) == []  # all reaped


def test_a_pool_whose_zygote_was_killed_forks_its_workers_itself(caplog: pytest.LogCaptureFixture) -> None:
    _GROWN["pages crawled"] = 0
    pool = WorkerPool(_snapshot, size=1, max_pages=2).start()
    try:
        [zygote] = _children_named(ZYGOTE_NAME)
        os.kill(zygote, signal.SIGKILL)
        _GROWN["pages crawled"] = 7
        with caplog.at_level(logging.WARNING, logger="pipelines.workers"):
            answers = [outcome for _, outcome in sorted(collect(pool, ["a", "b", "c", "d"]).items())]
    finally:
        pool.close()
    assert [outcome[0] for outcome in answers] == ["done"] * 4
    assert [outcome[1][2] for outcome in answers] == [0, 0, 7, 7]  # the replacement: forked here
    assert "zygote ended" in caplog.text
    with pytest.raises(ChildProcessError):
        os.waitpid(zygote, os.WNOHANG)  # reaped
