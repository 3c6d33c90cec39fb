"""End to end: a hostile loopback web crawled by `coprod crawl`, every input accounted for.

`tests/data/hostile-web/MANIFEST.yaml` lists each input (redirect traps, lying charsets,
decompression bombs, garbage Retry-After values, broken feeds and Telegram previews, dead,
cut and refused connections...) with what the catalogue must hold for it afterwards: the
page stored as it should read, or dropped with its specific reason. One test per input.
The network failures (an unresolvable name, a refused port, TLS to a plain server, a server
that never answers, one that hangs up) are crawled directly, without the proxy, inside a
network namespace of their own, where no name resolves and nothing can leave the machine.
"""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.core.urls import canonical_url
from storage.db import open_catalogue
from storage.models import Page, Run
from tests.conftest import STUDY_HEAD, clean_env, run_coprod, web_server
from tests.netns import in_netns, netns_available

pytestmark = pytest.mark.e2e

HOSTILE = Path(__file__).parent / "data" / "hostile-web"
MANIFEST = yaml.safe_load((HOSTILE / "MANIFEST.yaml").read_text(encoding="utf-8"))["inputs"]
PAGE = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>'
TEXT = "<p>Волонтери громади щотижня збирають продуктові набори для переселенців і розвозять їх літнім людям.</p>"
MAX_PAGE_BYTES = 1_000_000

HOSTILE_SOURCES = """\
  - {name: redirects, kind: news, start_urls: ["http://redirects.test/"]}
  - {name: encodings, kind: news, start_urls: ["http://encodings.test/"]}
  - {name: bombs, kind: news, start_urls: ["http://bombs.test/"]}
  - {name: busy, kind: news, start_urls: ["http://busy.test/"]}
  - {name: misc, kind: news, start_urls: ["http://misc.test/"]}
  - name: feeds
    kind: news
    feeds: ["http://feeds.test/broken-rss.xml", "http://feeds.test/billion-laughs.xml", "http://feeds.test/not-a-feed.html"]
    sitemaps: ["http://feeds.test/bomb-sitemap.xml.gz"]
  - {name: tg-broken, kind: telegram, start_urls: ["https://t.me/s/brokenchan"]}
  - {name: tg-odd, kind: telegram, start_urls: ["https://t.me/s/oddchan"]}
  - {name: tg-notachan, kind: telegram, start_urls: ["https://t.me/s/notachan"]}
"""
NETWORK_SOURCES = """\
  - {name: net-dns, kind: news, start_urls: ["http://unresolvable.test/"]}
  - {name: net-refused, kind: news, start_urls: ["http://127.0.0.1:{closed}/"]}
  - {name: net-tls, kind: news, start_urls: ["https://127.0.0.1:{plain}/"]}
  - {name: net-silent, kind: news, start_urls: ["http://127.0.0.1:{silent}/"]}
  - {name: net-hangup, kind: news, start_urls: ["http://127.0.0.1:{hangup}/"]}
"""


def hostile_study(sources: str) -> str:
    """The fixture study, with retries (for the 429s), a 5 s timeout and a 1 MB page cap."""
    head = STUDY_HEAD.replace("retry: {times: 0, backoff_base: 0.5, backoff_max: 1.0}", "retry: {times: 1, backoff_base: 0.5, backoff_max: 1.0}")
    head = head.replace("timeout: 10", f"timeout: 5\n  max_page_bytes: {MAX_PAGE_BYTES}\n  telegram_preview_url: http://tg.test")
    return head + "sources:\n" + sources


def write_generated(root: Path) -> None:
    """The bodies too large or too binary to keep in the repository."""
    bombs = root / "bombs.test"
    inflated = b"<html><body>" + b"\0" * (20 * MAX_PAGE_BYTES) + b"</body></html>"
    (bombs / "gzip-bomb.html").write_bytes(gzip.compress(inflated, 9))
    (bombs / "deflate-bomb.html").write_bytes(zlib.compress(inflated, 9))
    (bombs / "big.html").write_text(PAGE.format(title="Завелика сторінка", body=TEXT * (2 * MAX_PAGE_BYTES // len(TEXT))), encoding="utf-8")
    (bombs / "gzip-ok.html").write_bytes(gzip.compress(PAGE.format(title="Звичайна стиснена сторінка", body=TEXT * 3).encode()))
    (root / "feeds.test" / "bomb-sitemap.xml.gz").write_bytes(
        gzip.compress(b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + b" " * (60 * 1024 * 1024) + b"</urlset>", 9)
    )
    noise = random.Random(15).randbytes(40_000)
    (root / "encodings.test" / "garbage.html").write_bytes(noise)
    deep = "<div>" * 20_000 + "глибина" + "</div>" * 20_000
    (root / "misc.test" / "deep.html").write_text(PAGE.format(title="Глибока сторінка", body=TEXT * 3 + deep), encoding="utf-8")


class HostileCrawl:
    def __init__(self, db: str, web: object, proxied: subprocess.CompletedProcess[str], network: dict | None):
        self.db = db
        self.web = web
        self.proxied = proxied
        self.network = network
        engine = open_catalogue(db, create=False)
        with Session(engine) as session:
            self.pages = {p.url: p for p in session.scalars(select(Page))}
            self.runs = list(session.scalars(select(Run)))
            for row in [*self.pages.values(), *self.runs]:
                session.expunge(row)
        engine.dispose()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileCrawl:
    root = tmp_path_factory.mktemp("hostile") / "web"
    shutil.copytree(HOSTILE, root)
    write_generated(root)
    work = root.parent
    db = f"sqlite:///{work / 'catalogue.sqlite'}"
    study = work / "hostile.yaml"
    study.write_text(hostile_study(HOSTILE_SOURCES), encoding="utf-8")
    with web_server(root) as web:
        proxied = run_coprod("crawl", "--seeds", str(study), "--db", db, "--proxy", web.proxy_url, timeout=300)
        hits = web.hits()
    network = None
    if netns_available() is None:
        template = work / "network.template.yaml"
        template.write_text(hostile_study(NETWORK_SOURCES), encoding="utf-8")
        command = in_netns(sys.executable, "-m", "tests.hostile_network", str(template), str(work / "network.yaml"), db, loopback=True)
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=clean_env(), cwd=Path(__file__).parent.parent)
        assert done.returncode == 0, done.stderr
        network = json.loads(done.stdout)
    crawl = HostileCrawl(db, hits, proxied, network)
    return crawl


def test_the_crawls_end_without_a_crash_and_say_what_they_did(hostile: HostileCrawl) -> None:
    stderr = hostile.proxied.stderr
    assert hostile.proxied.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    for run in hostile.runs:
        assert not [key for key in (run.stats or {}) if key.startswith(("spider_exceptions/", "log_count/CRITICAL"))], run.stats
    crawled = [r for r in hostile.runs if not (r.sources or [""])[0].startswith("net-")]
    assert sorted((r.spider, r.status) for r in crawled) == [("feeds", "finished"), ("site", "finished"), ("telegram", "finished")]
    # The terminal: progress lines that name their spider, the log file's name, nothing else
    # (the pages' failures are recorded with their reasons; trafilatura's warnings are in the file).
    lines = stderr.splitlines()
    assert lines and all(re.match(r"(site|feeds|telegram): (crawling|done): \d+ fetched", line) or line.startswith("coprod: the crawl's log: ") for line in lines), lines
    log = Path(lines[-1].removeprefix("coprod: the crawl's log: ")).read_text(encoding="utf-8")
    assert "[trafilatura.core] WARNING: " in log and "[scrapy.core.downloader.handlers.http11] WARNING: " in log  # kept there
    if hostile.network is not None:
        # Every request of the network crawl failed: it says so, names the causes, and fails.
        assert hostile.network["returncode"] == 1, hostile.network["stderr"]
        assert "WARN site: nothing fetched, every request failed (" in hostile.network["stdout"]
        assert "Traceback" not in hostile.network["stderr"]


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["url"] for e in MANIFEST])
def test_every_input_is_stored_or_recorded_with_its_reason(hostile: HostileCrawl, entry: dict) -> None:
    url = entry["url"]
    if entry.get("network"):
        if hostile.network is None:
            pytest.skip(f"no network namespace: {netns_available()}")
        url = url.format(**hostile.network["ports"])
    key = canonical_url(url)
    if entry.get("not_fetched"):
        fetched = [u for u in hostile.web if u.startswith(url)]
        stats = {k: v for run in hostile.runs for k, v in (run.stats or {}).items() if k == entry["stat"]}
        assert not fetched and key not in hostile.pages and stats, (fetched, stats)
    elif "reason" in entry:
        page = hostile.pages.get(key)
        assert page is not None, f"{url}: not recorded at all"
        assert (page.drop_reason, entry.get("detail", "") in (page.drop_detail or "")) == (entry["reason"], True), page.drop_detail
    elif "posts" in entry:
        channel = url.split("/")[3]
        stored = sorted(p.extra["post_id"] for p in hostile.pages.values() if p.drop_reason is None and (p.extra or {}).get("channel") == channel)
        assert stored == entry["posts"]
    else:
        page = hostile.pages.get(key)
        assert page is not None and page.drop_reason is None, f"{url}: {page.drop_reason if page else 'not stored'}: {page.drop_detail if page else ''}"
        text = page.text or ""
        garbled = [bad for bad in ("\x00", "\x01", "\x1b", "\ufffd", "Р°", "Ð", entry.get("absent")) if bad and bad in text + (page.title or "")]
        assert (page.title, entry.get("text", "") in text, garbled) == (entry["stored"], True, []), text[:300]
