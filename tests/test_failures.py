"""Failures that stop and say so: a crawl with no network, a catalogue that cannot be
written (read-only, or its disk full mid-crawl). Each exits non-zero with one clear line,
prints no traceback, fetches nothing it could not store, and leaves a catalogue that the
next crawl resumes from."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from scrapy.settings import Settings
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import open_catalogue
from storage.models import Page, Run
from tests.conftest import clean_env, run_coprod, web_server, write_study
from tests.netns import in_netns, netns_available

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parent.parent
PAGES = 900
LIMIT = 512 * 1024  # bytes a file of the crawl may grow to: the catalogue's log outgrows it first

SOURCES = """\
  - name: big
    kind: news
    start_urls: [http://big.test/]
"""


def big_site(root: Path) -> Path:
    """A site of PAGES pages of 5 KB of text each, all linked from its home page."""
    site = root / "big.test"
    site.mkdir(parents=True)
    links = "".join(f'<li><a href="/p/{i}.html">{i}</a></li>' for i in range(PAGES))
    (site / "index.html").write_text(f"<html><head><title>Головна</title></head><body><ul>{links}</ul></body></html>", encoding="utf-8")
    (site / "p").mkdir()
    for i in range(PAGES):
        text = "".join(f"<p>Сторінка {i}, абзац {n}: мешканці громади обговорюють ремонт укриття номер {i * 31 + n} і графік чергувань.</p>" for n in range(50))
        (site / "p" / f"{i}.html").write_text(f"<html><head><title>Сторінка {i}</title></head><body><article>{text}</article></body></html>", encoding="utf-8")
    return root


def counts(url: str) -> tuple[int, list[tuple[str, str | None]]]:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        pages = session.scalar(select(func.count()).select_from(Page).where(Page.drop_reason.is_(None))) or 0
        runs = [(r.status, r.finish_reason) for r in session.scalars(select(Run).order_by(Run.id))]
    engine.dispose()
    return pages, runs


def test_a_crawl_without_network_fails_and_says_why(tmp_path: Path) -> None:
    if why := netns_available():
        pytest.skip(why)
    # Real-looking sources: the shipped study's first site and channel, without retries.
    study = yaml.safe_load((ROOT / "seeds.yaml").read_text(encoding="utf-8"))
    study["crawl"]["retry"]["times"] = 0
    study["sources"] = [next(s for s in study["sources"] if s["kind"] != "telegram"), next(s for s in study["sources"] if s["kind"] == "telegram")]
    seeds = tmp_path / "seeds.yaml"
    seeds.write_text(yaml.safe_dump(study, allow_unicode=True), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    names = [s["name"] for s in study["sources"]]

    def offline(*args: str) -> subprocess.CompletedProcess[str]:
        command = in_netns(sys.executable, "-m", "crawler.app.cli", *args, "--seeds", str(seeds), "--db", url)
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env=clean_env(), cwd=ROOT)

    crawl = offline("crawl")
    assert crawl.returncode == 1, crawl.stderr
    warnings = sorted(line for line in crawl.stdout.splitlines() if line.startswith("WARN"))
    assert warnings == [
        "WARN site: nothing fetched, every request failed (dns_error: 1); is the network down, or the sources gone or broken?",
        "WARN telegram: nothing fetched, every request failed (dns_error: 1); is the network down, or the sources gone or broken?",
    ]
    assert "Traceback" not in crawl.stderr and len(crawl.stderr.splitlines()) < 30, crawl.stderr
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        pages = list(session.scalars(select(Page)))
        runs = list(session.scalars(select(Run)))
    engine.dispose()
    assert [(p.drop_reason, p.text) for p in pages] == [("dns_error", None)] * 2
    assert sorted((r.status, r.finish_reason) for r in runs) == [("failed", "nothing_fetched")] * 2

    status = run_coprod("status", "--db", url)
    for name in names:
        line = next(line for line in status.stdout.splitlines() if line.strip().startswith(name + " "))
        assert line.split()[3:6] == ["nothing_fetched", "1", "0"], line  # outcome, pages, new: a failed start URL is no new page
        assert f"WARN {name}: never yielded a page: its last run" in status.stdout

    # The scheduler reports the failed crawls, and they stay due.
    schedule = offline("schedule", "--once")
    assert schedule.returncode == 1, schedule.stderr
    crawled = [line for line in schedule.stdout.splitlines() if " exit=" in line]
    assert len(crawled) == 2 and all(" failed exit=1 " in line and "WARN" in line and "dns_error: 1" in line for line in crawled), crawled
    assert "Traceback" not in schedule.stderr


def read_only(directory: Path, command: list[str]) -> tuple[list[str], object]:
    """`command` seeing `directory` read-only: a read-only bind mount in a mount namespace of
    its own when we are root (root writes through file modes), else the modes."""
    if os.geteuid() == 0:
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'
        return ["unshare", "--mount", "--", "sh", "-c", script, "sh", str(directory), *command], None
    for path in [directory, *directory.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return command, None


@pytest.mark.parametrize(
    ("held_open", "said"),
    [
        # Nobody has it open: SQLite cannot even read it (its WAL index must be written beside it).
        (False, "is read-only; SQLite must write to it and beside it"),
        # The review app has it open (its WAL files exist): it reads, and the first commit fails.
        (True, "cannot write the catalogue"),
    ],
)
def test_a_crawl_into_a_read_only_catalogue_fetches_nothing_and_says_why(tmp_path: Path, held_open: bool, said: str) -> None:
    if os.geteuid() == 0 and (shutil.which("mount") is None or subprocess.run(["unshare", "--mount", "--", "true"], capture_output=True).returncode != 0):
        pytest.skip("cannot make a mount namespace with a read-only bind mount here")
    web_root = big_site(tmp_path / "web")
    seeds = write_study(tmp_path / "seeds.yaml", SOURCES)
    folder = tmp_path / "catalogue"
    folder.mkdir()
    url = f"sqlite:///{folder / 'catalogue.sqlite'}"
    reader = open_catalogue(url)  # an empty catalogue, then read-only
    env = clean_env({"COPROD_STATE_DIR": str(tmp_path / "state"), "COPROD_CAPTURE_DIR": str(tmp_path / "captures")})
    try:
        if held_open:
            with Session(reader) as session:
                session.scalar(select(func.count()).select_from(Run))
        else:
            reader.dispose()
        with web_server(web_root) as web:
            command, _ = read_only(folder, [sys.executable, "-m", "crawler.app.cli", "crawl", "--seeds", str(seeds), "--db", url, "--proxy", web.proxy_url])
            crawl = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
            hits = web.hits()
    finally:
        reader.dispose()
    assert crawl.returncode == 1, crawl.stderr
    errors = [line for line in crawl.stderr.splitlines() if line.startswith("coprod: error:")]
    assert len(errors) == 1 and "catalogue.sqlite" in errors[0] and said in errors[0], crawl.stderr
    assert not [line for line in crawl.stderr.splitlines() if line.startswith(("ERROR", "CRITICAL"))], crawl.stderr
    assert "Traceback" not in crawl.stderr
    assert not [u for u in hits if "/p/" in u], "pages were fetched for a catalogue that cannot store them"


def test_a_crawl_whose_disk_fills_stops_at_the_first_failed_commit_then_resumes(tmp_path: Path) -> None:
    if shutil.which("prlimit") is None:
        pytest.skip("no prlimit command (util-linux)")
    web_root = big_site(tmp_path / "web")
    seeds = write_study(tmp_path / "seeds.yaml", SOURCES)
    url = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    open_catalogue(url).dispose()
    args = ["crawl", "--seeds", str(seeds), "--db", url]
    with web_server(web_root) as web:
        # No file may grow past LIMIT: the catalogue's write-ahead log reaches it at the first
        # batch of pages, as on a full disk (SQLite: "disk I/O error").
        command = ["prlimit", f"--fsize={LIMIT}:{LIMIT}", "--", sys.executable, "-m", "crawler.app.cli", *args, "--proxy", web.proxy_url]
        full = subprocess.run(command, capture_output=True, text=True, timeout=300, env=clean_env())
        fetched_when_full = len([u for u in web.hits() if "/p/" in u])
        stored_when_full, runs_when_full = counts(url)
        resumed = run_coprod(*args, "--proxy", web.proxy_url)
        hits = web.hits()

    assert full.returncode == 1 and full.returncode != -signal.SIGBUS, full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith("coprod: error:")]
    assert len(errors) == 1 and "cannot write the catalogue" in errors[0], full.stderr
    # The failed commit is a full batch (100) or what the flush timer found before it (2 s).
    lost = re.search(r"\((\d+) pages not stored\)", errors[0])
    assert lost and 1 <= int(lost.group(1)) <= 100, errors[0]
    assert not [line for line in full.stderr.splitlines() if line.startswith(("ERROR", "CRITICAL"))], full.stderr
    assert "Traceback" not in full.stderr
    # It stopped at the first failed commit: it fetched what it stored before (on a slow
    # machine the flush timer commits a few pages while the log still has room), the failed
    # batch and those on their way, far from the site's end. On their way: the responses
    # Scrapy's scraper takes before its backpressure (SCRAPER_SLOT_MAX_ACTIVE_SIZE bytes of
    # them) and the downloader's concurrent requests, whatever the machine's speed.
    page_bytes = min(path.stat().st_size for path in (web_root / "big.test" / "p").iterdir())
    settings = Settings()
    settings.setmodule("crawler.settings")
    on_their_way = settings.getint("SCRAPER_SLOT_MAX_ACTIVE_SIZE") // page_bytes + yaml.safe_load(seeds.read_text(encoding="utf-8"))["crawl"]["concurrency"]
    assert PAGES > 100 + on_their_way + 100  # the site is larger than what a stopped crawl can have fetched
    assert fetched_when_full <= stored_when_full + int(lost.group(1)) + on_their_way and fetched_when_full < PAGES, (stored_when_full, fetched_when_full)
    assert runs_when_full == [("running", None)]  # its end could not be written; the next crawl marks it
    # Once the disk has room, the next crawl resumes and stores every page.
    assert resumed.returncode == 0, resumed.stderr
    stored, runs = counts(url)
    assert stored == PAGES + 1
    assert runs == [("interrupted", "interrupted"), ("finished", "finished")]
    assert len([u for u in hits if "/p/" in u]) < 2 * PAGES
