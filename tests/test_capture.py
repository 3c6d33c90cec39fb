"""Captures and versions: WARC files, conditional re-crawls, `coprod show`, the captures export.

The end-to-end part serves a copy of the sample web (so a page can be edited between
crawls), crawls it three times with `coprod crawl` subprocesses and reads the server's own
counts of full answers and 304s.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from crawler.conditional import ConditionalRequestMiddleware, Validators
from crawler.core.config import load_config
from crawler.core.sanitise import terminal_safe
from review.app import create_app, review_config
from review.auth import add_user
from review.screening import include_in_case
from storage.capture import CAPTURE_META, NOT_MODIFIED_FLAG, CaptureRef, WarcCapture, capture_dir, capture_path, copy_captures, read_capture, recover_captures
from storage.crawl import CrawlCatalogue
from storage.db import open_catalogue
from storage.models import Candidate, CaseEvidence, Decision, Page, PageVersion, Run
from tests.conftest import DEMO, DEMO_SEEDS, run_coprod

WARCIO = Path(sys.executable).with_name("warcio")


def warcio_check(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(WARCIO), "check", "-v", *map(str, files)], capture_output=True, text=True, timeout=120)


def records(path: Path) -> list[tuple[str, str | None]]:
    with path.open("rb") as handle:
        return [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in ArchiveIterator(handle)]


def exchange(capture: WarcCapture, url: str, body: bytes, headers: list[tuple[str, str]] | None = None) -> CaptureRef:
    return capture.write(
        url, "GET", [("User-Agent", "coprod-test (+mailto:test@example.org)")], b"", 200,
        headers or [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))], body,
    )


# --- unit: the WARC writer ---------------------------------------------------------------


def test_an_exchange_is_a_response_and_its_request_that_warcio_checks(tmp_path: Path) -> None:
    capture = WarcCapture(tmp_path, "site-run7-20240101T000000").open()
    body = "<html><body><p>Збираємо на генератори</p></body></html>".encode()
    ref = exchange(capture, "http://a.test/page?x=1", body)
    capture.close()
    path = tmp_path / ref.file
    assert ref.file == "site-run7-20240101T000000-00001.warc.gz"
    assert records(path) == [("warcinfo", None), ("response", "http://a.test/page?x=1"), ("request", "http://a.test/page?x=1")]
    with path.open("rb") as handle:
        response, request = list(ArchiveIterator(handle))[1:]
    assert request.rec_headers.get_header("WARC-Concurrent-To") == response.rec_headers.get_header("WARC-Record-ID")
    assert request.http_headers.protocol == "GET" and request.http_headers.get_header("Host") == "a.test"
    read = read_capture(tmp_path, ref)
    assert (read.status, read.body, read.header("content-type")) == (200, body, "text/html; charset=utf-8")
    checked = warcio_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("digest pass") == 3


def test_files_rotate_by_size_and_every_reference_reads_back(tmp_path: Path) -> None:
    capture = WarcCapture(tmp_path, "feeds-run1-20240101T000000", max_bytes=2_000).open()
    # Random bytes do not compress: each exchange takes more than the 2,000 bytes allowed.
    refs = [exchange(capture, f"http://a.test/{n}", os.urandom(2_000).hex().encode()) for n in range(6)]
    capture.close()
    assert capture.files == [f"feeds-run1-20240101T000000-{n:05d}.warc.gz" for n in range(1, 7)]
    assert [ref.file for ref in refs] == capture.files
    for n, ref in enumerate(refs):
        assert read_capture(tmp_path, ref).url == f"http://a.test/{n}"
    for name in capture.files:
        assert records(tmp_path / name)[0][0] == "warcinfo"
    checked = warcio_check(*(tmp_path / name for name in capture.files))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_compressed_response_is_kept_as_sent_and_read_decoded(tmp_path: Path) -> None:
    capture = WarcCapture(tmp_path, "site-run1-x").open()
    html = "<p>Пункт обігріву</p>".encode()
    packed = gzip.compress(html)
    ref = exchange(capture, "http://a.test/", packed, [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")])
    capture.close()
    read = read_capture(tmp_path, ref)
    assert read.raw == packed and read.body == html
    assert read.header("Transfer-Encoding") is None  # the body is stored de-chunked
    assert warcio_check(tmp_path / ref.file).returncode == 0


def test_copy_keeps_only_the_cited_exchanges_once(tmp_path: Path) -> None:
    capture = WarcCapture(tmp_path / "caps", "site-run1-x").open()
    refs = [exchange(capture, f"http://a.test/{n}", b"<p>x</p>") for n in range(4)]
    capture.close()
    out = tmp_path / "out.warc.gz"
    with out.open("wb") as handle:
        assert copy_captures(tmp_path / "caps", [refs[3], refs[1], refs[3]], handle) == 2
    assert [uri for kind, uri in records(out) if kind == "response"] == ["http://a.test/3", "http://a.test/1"]
    assert warcio_check(out).returncode == 0


@pytest.mark.parametrize("name", ["../x.warc.gz", "/etc/passwd", "a/b.warc.gz", ".hidden.warc.gz", "x.warc"])
def test_a_capture_name_never_leaves_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        capture_path(tmp_path, name)


@pytest.mark.parametrize(
    ("database", "explicit", "expected"),
    [
        ("sqlite:///data/coprod.sqlite", None, Path("data/coprod-captures")),
        ("sqlite:////srv/study/demo.sqlite", None, Path("/srv/study/demo-captures")),
        ("postgresql://localhost/coprod", None, Path("data/captures")),
        ("sqlite:///data/coprod.sqlite", "/mnt/warc", Path("/mnt/warc")),
    ],
)
def test_the_capture_folder_follows_the_catalogue(monkeypatch: pytest.MonkeyPatch, database: str, explicit: str | None, expected: Path) -> None:
    monkeypatch.delenv("COPROD_CAPTURE_DIR", raising=False)
    assert capture_dir(database, explicit) == expected


def test_the_study_files_capture_folder_comes_after_the_flag_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COPROD_CAPTURE_DIR", raising=False)
    shared = "/mnt/coprod/captures"
    assert capture_dir("postgresql+psycopg://db.lan/study", None, shared) == Path(shared)
    assert capture_dir("sqlite:///data/coprod.sqlite", "/tmp/flag", shared) == Path("/tmp/flag")
    monkeypatch.setenv("COPROD_CAPTURE_DIR", "/tmp/env")
    assert capture_dir("postgresql+psycopg://db.lan/study", None, shared) == Path("/tmp/env")


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("\x1b[2J\x1b[31mЗбір\x1b[0m", "Збір"),
        ("title\x1b]0;pwned\x07 ok", "title ok"),
        ("\x1b]8;;http://evil.test/\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("line\roverwritten", "lineoverwritten"),
        ("\x9b31mC1\x00\x07\x7f", "C1"),
        ("abc\u202eexe.pdf", "abcexe.pdf"),
        ("Reset\x1bc here", "Reset here"),
        ("paragraph one\n\tparagraph two", "paragraph one\n\tparagraph two"),
    ],
)
def test_terminal_safe_strips_escapes_and_controls(hostile: str, shown: str) -> None:
    assert terminal_safe(hostile) == shown


# --- end to end: three crawls of an editable copy of the sample web -----------------------

EDITED = "dnipro-vechir.test/novyny/2022/10/pavlohrad-perevirka-ukryttiv/index.html"
EDITED_URL = "http://dnipro-vechir.test/novyny/2022/10/pavlohrad-perevirka-ukryttiv"
OLD_WORDS, NEW_WORDS = "дванадцять волонтерів", "п'ятнадцять волонтерок"


@dataclass
class Server:
    url: str

    def hits(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/__coprod__/hits", timeout=5) as answer:
            return json.load(answer)


@dataclass
class Recrawl:
    db: str
    captures: Path
    snapshots: list[dict]  # the server's counts after each crawl
    versions: list[list[tuple[str, int, str]]]  # (url, number, content hash) after each crawl
    runs: list[dict]  # stats of the site spider's run of each crawl
    screened: dict = field(default_factory=dict)  # the inclusion made on version 1 of the edited page

    def engine(self):
        return open_catalogue(self.db, create=False)


def _counts(before: dict, after: dict, key: str) -> dict[str, int]:
    return {url: n - before.get(key, {}).get(url, 0) for url, n in after.get(key, {}).items() if n - before.get(key, {}).get(url, 0)}


@pytest.fixture(scope="module")
def recrawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recrawl]:
    root = tmp_path_factory.mktemp("capture")
    web = root / "web"
    shutil.copytree(DEMO / "web", web)
    server = subprocess.Popen([sys.executable, "-m", "crawler.app.demo.server", "--port", "0", "--root", str(web)], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    line = server.stdout.readline().strip()
    assert line.startswith("serving http://127.0.0.1:"), line
    sample = Server(line.removeprefix("serving "))
    db = f"sqlite:///{root / 'catalogue.sqlite'}"
    state = Recrawl(db, root / "catalogue-captures", [], [], [])
    try:
        for crawl in range(3):
            if crawl == 2:
                state.screened = _include_through_the_app(db)
                page = web / EDITED
                html = page.read_text(encoding="utf-8")
                assert html.count(OLD_WORDS) == 1
                page.write_text(html.replace(OLD_WORDS, NEW_WORDS), encoding="utf-8")
                stat = page.stat()
                os.utime(page, (stat.st_atime, stat.st_mtime + 60))
            done = run_coprod("crawl", "--seeds", str(DEMO_SEEDS), "--db", db, "--proxy", sample.url)
            assert done.returncode == 0, done.stderr[-3000:]
            state.snapshots.append(sample.hits())
            engine = state.engine()
            with Session(engine) as session:
                state.versions.append(
                    list(session.execute(select(Page.url, PageVersion.number, PageVersion.content_hash).join(Page).order_by(Page.url, PageVersion.number)))
                )
                state.runs.append(session.scalars(select(Run).where(Run.spider == "site").order_by(Run.id.desc())).first().stats)
            engine.dispose()
        yield state
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def _include_through_the_app(db: str) -> dict:
    """An analyst includes the edited page as the review app shows it (version 1)."""
    engine = open_catalogue(db, create=False)
    with Session(engine) as session, session.begin():
        add_user(session, "pinner", "analyst", "a long enough password")
        candidate = session.scalar(select(Candidate).join(Page).where(Page.url == EDITED_URL))
        (v1,) = candidate.page.page_versions
        seen = {"candidate": candidate.id, "version": v1.id, "warc": (v1.warc_file, v1.warc_offset)}
    engine.dispose()
    app = create_app(replace(review_config(load_config(DEMO_SEEDS), db, "capture test key"), retrain_every=0))
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
    assert client.post("/login", data={"name": "pinner", "password": "a long enough password", "csrf_token": token}).status_code == 303
    shown = client.get(f"/candidates/{seen['candidate']}").get_data(as_text=True)
    assert f'name="version" value="{seen["version"]}"' in shown and OLD_WORDS in shown
    token = re.search(r'name="csrf_token" value="([^"]+)"', shown)[1]
    data = {"decision": "include", "case": "new", "case_name": "Закріплена справа", "version": str(seen["version"]), "csrf_token": token}
    assert client.post(f"/candidates/{seen['candidate']}/decide", data=data).status_code == 303
    # Closed, so the next crawl's last connection checkpoints the WAL (other tests copy the file).
    app.extensions["coprod"].engine.dispose()
    return seen


def test_a_decision_on_version_1_still_cites_version_1_after_version_2_was_crawled(recrawl: Recrawl, tmp_path: Path) -> None:
    seen = recrawl.screened
    engine = recrawl.engine()
    with Session(engine) as session:
        candidate = session.get(Candidate, seen["candidate"])
        v1, v2 = candidate.page.page_versions
        assert NEW_WORDS in v2.text and (v2.warc_file, v2.warc_offset) != seen["warc"]
        decision = session.scalar(select(Decision).where(Decision.candidate_id == candidate.id, Decision.user == "pinner"))
        assert decision.page_version_id == v1.id
        case_id = session.scalar(select(CaseEvidence.case_id).where(CaseEvidence.candidate_id == candidate.id))
    engine.dispose()
    out = tmp_path / "cases.json"
    done = run_coprod("export", "--what", "cases", "--format", "json", "--db", recrawl.db, "--seeds", str(DEMO_SEEDS), "--out", str(out))
    assert done.returncode == 0, done.stderr
    (row,) = [r for r in json.loads(out.read_text(encoding="utf-8")) if r["case_id"] == case_id]
    (cited,) = [c for url, c in zip(row["evidence_urls"], row["evidence_captures"], strict=True) if url == EDITED_URL]
    assert f"(v1, WARC {seen['warc'][0]} at {seen['warc'][1]}," in cited and "v2" not in cited
    # The case shows the version screened, and flags the newer one for re-checking.
    app = create_app(replace(review_config(load_config(DEMO_SEEDS), recrawl.db, "capture test key"), retrain_every=0))
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))[1]
    client.post("/login", data={"name": "pinner", "password": "a long enough password", "csrf_token": token})
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    app.extensions["coprod"].engine.dispose()
    assert "screened on" in page and "version 1</a>" in page
    assert "The page changed since it was screened" in page and f"/candidates/{seen['candidate']}/capture?version=2" in page


def _site_pages(recrawl: Recrawl) -> dict[str, Page]:
    """Kept pages fetched as documents (not Telegram posts, whose capture is a preview page)."""
    engine = recrawl.engine()
    with Session(engine) as session:
        pages = {p.url: p for p in session.scalars(select(Page).where(Page.drop_reason.is_(None))) if p.content_type and "html" in p.content_type}
        for page in pages.values():
            page.page_versions  # noqa: B018 - loaded before the session closes
            session.expunge(page)
    engine.dispose()
    return pages


def test_a_second_crawl_of_an_unchanged_web_downloads_no_page_again(recrawl: Recrawl) -> None:
    first, second = recrawl.snapshots[0], recrawl.snapshots[1]
    pages = _site_pages(recrawl)
    assert len(pages) > 50
    bodies = _counts(first, second, "bodies_by_url")
    not_modified = _counts(first, second, "not_modified_by_url")
    fetched = {page.fetched_url for page in pages.values()}
    assert not fetched & set(bodies), sorted(fetched & set(bodies))[:5]
    assert fetched <= set(not_modified)
    assert first["not_modified"] == 0
    assert recrawl.runs[1]["coprod/not_modified"] == len(pages)
    assert recrawl.versions[1] == recrawl.versions[0]  # no new version, none lost


def test_an_unchanged_page_only_moves_its_last_seen(recrawl: Recrawl) -> None:
    page = _site_pages(recrawl)["http://dnipro-vechir.test/novyny/2022/03/kukhnia-dlia-pereselentsiv"]
    (version,) = page.page_versions
    assert version.first_run_id != version.last_run_id == page.last_run_id
    assert version.first_seen < version.last_seen == page.last_seen
    assert page.flagged  # a 304 keeps the stored verdict


def test_one_changed_page_yields_exactly_one_new_version_and_keeps_the_old(recrawl: Recrawl) -> None:
    before, after = set(recrawl.versions[1]), set(recrawl.versions[2])
    assert before <= after
    (new,) = after - before
    assert new[:2] == (EDITED_URL, 2)
    bodies = _counts(recrawl.snapshots[1], recrawl.snapshots[2], "bodies_by_url")
    assert bodies.get(EDITED_URL + "/") == 1
    page = _site_pages(recrawl)[EDITED_URL]
    old, current = page.page_versions
    assert OLD_WORDS in old.text and NEW_WORDS not in old.text
    assert NEW_WORDS in current.text and NEW_WORDS in page.text
    assert old.warc_file and current.warc_file and (old.warc_file, old.warc_offset) != (current.warc_file, current.warc_offset)


def test_every_version_has_a_capture_and_the_warc_files_check(recrawl: Recrawl) -> None:
    engine = recrawl.engine()
    with Session(engine) as session:
        kept = session.scalar(select(func.count()).select_from(Page).where(Page.drop_reason.is_(None)))
        with_versions = session.scalar(select(func.count(func.distinct(PageVersion.page_id))))
        uncaptured = session.scalar(select(func.count()).select_from(PageVersion).where(PageVersion.warc_file.is_(None)))
        versions = list(session.scalars(select(PageVersion)))
        for version in versions:
            ref = CaptureRef(version.warc_file, version.warc_offset, version.warc_length, version.captured_at)
            assert read_capture(recrawl.captures, ref).status == version.http_status == 200
    engine.dispose()
    assert kept == with_versions and uncaptured == 0
    files = sorted(recrawl.captures.glob("*.warc.gz"))
    assert {f.name.split("-run")[0] for f in files} == {"site", "telegram"}
    checked = warcio_check(*files)
    assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr
    assert "digest fail" not in checked.stdout


def test_show_prints_the_captured_version(recrawl: Recrawl) -> None:
    latest = run_coprod("show", EDITED_URL + "/?utm_source=x", "--db", recrawl.db)
    assert latest.returncode == 0, latest.stderr
    assert "version 2 of 2" in latest.stdout and "text (from the capture)" in latest.stdout
    assert NEW_WORDS in latest.stdout and OLD_WORDS not in latest.stdout
    assert "captured 20" in latest.stdout and ".warc.gz at offset" in latest.stdout
    first = run_coprod("show", EDITED_URL, "--version", "1", "--db", recrawl.db)
    assert first.returncode == 0 and OLD_WORDS in first.stdout and "version 1 of 2" in first.stdout
    listing = run_coprod("show", EDITED_URL, "--versions", "--db", recrawl.db)
    assert [line.split("\t")[0] for line in listing.stdout.splitlines()[1:]] == ["v1", "v2"]
    engine = recrawl.engine()
    with Session(engine) as session:
        post = session.scalar(select(Page.url).where(Page.content_type.like("%telegram%"), Page.drop_reason.is_(None)))
    engine.dispose()
    shown = run_coprod("show", post, "--db", recrawl.db)
    assert shown.returncode == 0 and "read from the captured page http://telegram.test/s/" in shown.stdout


@pytest.mark.parametrize(("args", "message"), [(("http://nowhere.test/",), "no stored page"), ((EDITED_URL, "--version", "9"), "not 9")])
def test_show_of_an_unknown_page_or_version_exits_2(recrawl: Recrawl, args: tuple[str, ...], message: str) -> None:
    answer = run_coprod("show", *args, "--db", recrawl.db)
    assert answer.returncode == 2 and message in answer.stderr


def test_export_captures_bundles_every_version_the_cases_cite(recrawl: Recrawl, tmp_path: Path) -> None:
    db_path = tmp_path / "catalogue.sqlite"
    shutil.copy(recrawl.db.removeprefix("sqlite:///"), db_path)
    db = f"sqlite:///{db_path}"
    engine = open_catalogue(db, create=False)
    with Session(engine) as session, session.begin():
        cited = [session.scalar(select(Candidate).join(Page).where(Page.url == EDITED_URL))]
        cited.append(session.scalar(select(Candidate).join(Page).where(Page.url != EDITED_URL, Page.content_type.like("%html%")).order_by(Candidate.id)))
        add_user(session, "ada", "admin", "a long enough password")
        add_user(session, "bo", "analyst", "a long enough password")
        for candidate in cited:
            include_in_case(session, candidate.id, "ada", None, None)
        expected = sorted((v.fetched_url, v.number) for c in cited for v in c.page.page_versions)
    engine.dispose()
    out = tmp_path / "evidence.warc.gz"
    # Captures are the pages as published, unredacted: only an admin exports them.
    password = {"COPROD_ADMIN_PASSWORD": "a long enough password"}
    for who, env in (((), password), (("--user", "bo"), password), (("--user", "nobody"), password), (("--user", "ada"), {}),
                     (("--user", "ada"), {"COPROD_ADMIN_PASSWORD": "not her password"})):
        refused = run_coprod("export", "--what", "captures", "--out", str(out), "--db", db, "--captures", str(recrawl.captures), *who, env=env)
        assert refused.returncode == 2 and "admin" in refused.stderr and not out.exists()
    done = run_coprod("export", "--what", "captures", "--out", str(out), "--db", db, "--captures", str(recrawl.captures), "--user", "ada", env=password)
    assert done.returncode == 0, done.stderr
    responses = [uri for kind, uri in records(out) if kind == "response"]
    assert sorted(responses) == sorted(url for url, _ in expected) and responses.count(EDITED_URL + "/") == 2
    assert warcio_check(out).returncode == 0
    meta = json.loads(out.with_name(out.name + ".meta.json").read_text(encoding="utf-8"))
    assert meta["table"] == "captures" and meta["rows"] == {"captures": 3} and meta["run_ids"]
    assert meta["redaction"] == {"on": False, "by": "ada"}
    refused = run_coprod("export", "--what", "captures", "--out", str(tmp_path / "x.csv"), "--db", db, "--user", "ada", env=password)
    assert refused.returncode == 2 and "*.warc.gz" in refused.stderr


# --- unit: the conditional middleware -----------------------------------------------------


def _middleware(tmp_path: Path, ref: CaptureRef) -> tuple[ConditionalRequestMiddleware, Request]:
    crawler = get_crawler(settings_dict={"COPROD_DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite'}"})
    middleware = ConditionalRequestMiddleware(crawler, CrawlCatalogue(crawler.settings["COPROD_DATABASE_URL"]), tmp_path)
    middleware.known = {"http://a.test/page": Validators('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT", ref)}
    request = Request("http://a.test/page/?utm_source=x")
    assert middleware.process_request(request) is None
    assert request.headers[b"If-None-Match"] == b'"v1"' and request.headers[b"If-Modified-Since"].startswith(b"Mon")
    return middleware, request


def test_a_304_is_answered_from_the_capture(tmp_path: Path) -> None:
    capture = WarcCapture(tmp_path, "site-run1-x").open()
    body = b"<html><body><a href='/next'>next</a></body></html>"
    ref = exchange(capture, "http://a.test/page/", body, [("Content-Type", "text/html"), ("ETag", '"v1"')])
    capture.close()
    middleware, request = _middleware(tmp_path, ref)
    rebuilt = middleware.process_response(request, Response(request.url, status=304, request=request))
    assert isinstance(rebuilt, HtmlResponse) and rebuilt.status == 200 and rebuilt.body == body
    assert NOT_MODIFIED_FLAG in rebuilt.flags and request.meta[CAPTURE_META] == ref.to_json()
    assert middleware.crawler.stats.get_value("coprod/not_modified") == 1


def test_a_304_without_its_capture_fetches_the_page_again(tmp_path: Path) -> None:
    gone = CaptureRef("site-run1-x-00001.warc.gz", 0, 100, dt.datetime(2024, 1, 1))
    middleware, request = _middleware(tmp_path, gone)
    again = middleware.process_response(request, Response(request.url, status=304, request=request))
    assert isinstance(again, Request) and again.dont_filter
    assert b"If-None-Match" not in again.headers and b"If-Modified-Since" not in again.headers
    assert middleware.process_request(again) is None and b"If-None-Match" not in again.headers  # not asked conditionally again


def test_show_of_an_imported_page_prints_no_terminal_escapes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    hostile = {"url": "https://x.test/a", "title": "\x1b]0;pwned\x07Збір", "text": "Волонтери Дніпра збирають кошти\x1b[2J\x1b[31m на генератори.\rX"}
    source = tmp_path / "a.jsonl"
    source.write_text(json.dumps(hostile) + "\n", encoding="utf-8")
    assert run_coprod("import", str(source), "--seeds", str(DEMO_SEEDS), "--db", db).returncode == 0
    shown = run_coprod("show", "https://x.test/a", "--db", db)
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\r" not in shown.stdout and "\x07" not in shown.stdout
    assert "title: Збір" in shown.stdout and "збирають кошти на генератори.X" in shown.stdout
    assert "not captured by a crawl (imported)" in shown.stdout


# --- unit: recovering the capture a killed crawl left -------------------------------------


def _exchange(capture: WarcCapture, n: int) -> CaptureRef:
    body = (f"<html><body>page {n} ".encode() + bytes(range(256)) * 40)
    return capture.write(f"http://a.test/{n}", "GET", [], b"", 200, [("Content-Type", "text/html")], body)


def test_a_capture_cut_mid_record_is_recovered_up_to_its_last_whole_record(tmp_path: Path) -> None:
    capture = WarcCapture(tmp_path, "site-run1-20240101T000000").open()
    refs = [_exchange(capture, n) for n in range(3)]
    path = tmp_path / capture.name
    capture.handle.flush()
    # A crash in the middle of the third exchange: the file ends inside a record, unsealed.
    whole = path.read_bytes()
    cut_at = refs[2].offset + refs[2].length // 3
    capture.handle.close()
    capture.handle = None
    path.write_bytes(whole[:cut_at])
    with pytest.raises(EOFError):  # warcio check reads past a cut record; gzip does not
        gzip.decompress(path.read_bytes())

    assert recover_captures(tmp_path) == [(path.name, cut_at - refs[2].offset)]
    assert path.stat().st_size == refs[2].offset and warcio_check(path).returncode == 0
    assert b"page 1 " in gzip.decompress(path.read_bytes())
    assert [read_capture(tmp_path, ref).url for ref in refs[:2]] == ["http://a.test/0", "http://a.test/1"]
    assert not path.stat().st_mode & 0o222  # sealed: read-only from now on
    assert recover_captures(tmp_path) == []  # nothing left to recover


def test_recovery_leaves_a_live_writer_and_sealed_files_alone(tmp_path: Path) -> None:
    done = WarcCapture(tmp_path, "site-run1-20240101T000000").open()
    _exchange(done, 1)
    done.close()
    live = WarcCapture(tmp_path, "site-run2-20240101T000001").open()
    _exchange(live, 2)
    assert recover_captures(tmp_path) == []
    assert not (tmp_path / done.name).stat().st_mode & 0o222
    assert (tmp_path / live.name).stat().st_mode & 0o200
    live.close()
    assert warcio_check(tmp_path / live.name).returncode == 0
