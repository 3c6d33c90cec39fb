"""coprod import, rescore and evaluate: the pipelines without a crawl."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.core.config import builtin_path, load_config
from pipelines.relevance import engine_from_config
from storage.db import open_catalogue
from storage.models import Candidate, DiscoveredSource, Page, SourceLink
from tests.conftest import DEMO_SEEDS, run_coprod

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"

DOCS = [
    {"url": "https://hub.example/kitchen", "text": "Волонтери у Кривому Розі щодня годують переселенців. Долучайтеся: t.me/kr_kitchen_test",
     "published": "2022-04-02", "lang": "uk"},
    {"url": "https://hub.example/council", "html": "<html><body><article><h1>Міська рада Дніпра відкрила пункт</h1>"
     "<p>Дніпровська міська рада відкрила пункт незламності. Департамент забезпечив генератори та воду.</p></article></body></html>"},
    {"url": "https://hub.example/empty", "html": "<html><body><script>var x = 1;</script></body></html>"},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def count(url: str, model) -> int:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        n = session.scalar(select(func.count()).select_from(model)) or 0
    engine.dispose()
    return n


def test_import_jsonl_runs_the_pipelines_and_is_idempotent(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    source = write_jsonl(tmp_path / "docs.jsonl", DOCS)
    first = run_coprod("import", str(source), "--seeds", str(DEMO_SEEDS), "--db", db)
    assert first.returncode == 0, first.stderr
    assert "read 3 documents" in first.stdout and "dropped 1 (" in first.stdout
    second = run_coprod("import", str(source), "--seeds", str(DEMO_SEEDS), "--db", db)
    assert second.returncode == 0 and "(0 new rows)" in second.stdout
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        pages = {p.url: p for p in session.scalars(select(Page))}
        assert len(pages) == 3
        kitchen = pages["https://hub.example/kitchen"]
        assert kitchen.flagged and kitchen.direction == "C2C" and kitchen.in_region
        assert {(i.kind, i.value) for i in kitchen.identifiers} == {("telegram", "t.me/kr_kitchen_test")}
        assert pages["https://hub.example/council"].direction == "G2C" and not pages["https://hub.example/council"].flagged
        assert pages["https://hub.example/empty"].drop_reason == "empty_extraction"
        assert session.scalar(select(func.count()).select_from(Candidate)) == 1
    engine.dispose()


def test_import_records_the_sources_a_document_links_to(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    doc = {"url": "https://hub.example/call", "text": "Волонтери Павлограда збирають теплі речі для переселенців. Пишіть нам.",
           "links": ["https://t.me/pavlohrad_warm_test", "https://warm-things.example.org/pavlohrad"]}
    result = run_coprod("import", str(write_jsonl(tmp_path / "docs.jsonl", [doc])), "--seeds", str(DEMO_SEEDS), "--db", db)
    assert result.returncode == 0, result.stderr
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        found = {(d.key, d.kind) for d in session.scalars(select(DiscoveredSource))}
        links = session.scalar(select(func.count()).select_from(SourceLink))
    engine.dispose()
    assert found == {("t.me/pavlohrad_warm_test", "telegram"), ("warm-things.example.org", "site")}
    assert links == 2


def test_import_warc(tmp_path: Path) -> None:
    warc = tmp_path / "capture.warc.gz"
    with warc.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        pages = {
            "http://old.example/ua": ("text/html; charset=utf-8", "<html><body><article><p>Волонтери Павлограда 5 травня 2022 року зібрали ліки для переселенців, пишіть нам у телеграм.</p></article></body></html>".encode()),
            "http://old.example/ru": ("text/html", '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head><body><article><p>Волонтёры Никополя собрали 40 генераторов для соседей.</p></article></body></html>'.encode("cp1251")),
            "http://old.example/logo.png": ("image/png", b"\x89PNG"),
        }
        for url, (content_type, body) in pages.items():
            headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            record = writer.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body), http_headers=headers)
            writer.write_record(record)
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = run_coprod("import", str(warc), "--seeds", str(DEMO_SEEDS), "--db", db)
    assert result.returncode == 0, result.stderr
    assert "read 2 documents" in result.stdout
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        texts = {p.url: p.text for p in session.scalars(select(Page))}
    engine.dispose()
    assert "Волонтёры Никополя" in texts["http://old.example/ru"]


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json}\n", "docs.jsonl:1: not valid JSON"), ('{"text": "no url"}\n', "docs.jsonl:1: expected an object with a 'url'"),
     ('{"url": "https://a.example/"}\n', "docs.jsonl:1: expected 'text' or 'html'")],
)
def test_bad_import_file_is_bad_input(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text(content, encoding="utf-8")
    result = run_coprod("import", str(path), "--seeds", str(DEMO_SEEDS), "--db", f"sqlite:///{tmp_path / 'c.sqlite'}")
    assert result.returncode == 2 and message in result.stderr


def test_evaluate_json_reports_the_promised_figures() -> None:
    result = run_coprod("evaluate", str(ROOT / "tests" / "data" / "devset.jsonl"), "--seeds", str(DEMO_SEEDS), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {"precision", "recall", "f1", "average_precision", "direction_accuracy", "mode_accuracy", "n"} <= set(figures)
    assert figures["n"] >= 150


@pytest.mark.e2e
def test_rescore_follows_a_lexicon_edit(demo_crawl, tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.sqlite"
    shutil.copy(demo_crawl.url.removeprefix("sqlite:///"), catalogue)
    db = f"sqlite:///{catalogue}"
    flagged_before = _flagged(db)
    # The edit: a lexicon without citizen actors and calls, as if a researcher had emptied them.
    lexicon = yaml.safe_load(builtin_path("coproduction").read_text(encoding="utf-8"))
    del lexicon["signals"]["c2c_actor"], lexicon["signals"]["c2c_call"]
    (tmp_path / "lexicon.yaml").write_text(yaml.safe_dump(lexicon, allow_unicode=True), encoding="utf-8")
    seeds = yaml.safe_load(DEMO_SEEDS.read_text(encoding="utf-8"))
    seeds["lexicon"] = [str(tmp_path / "lexicon.yaml")]
    edited = tmp_path / "seeds.yaml"
    edited.write_text(yaml.safe_dump(seeds, allow_unicode=True), encoding="utf-8")

    result = run_coprod("rescore", "--seeds", str(edited), "--db", db)
    assert result.returncode == 0, result.stderr
    flagged_after = _flagged(db)
    assert flagged_after < flagged_before
    assert f"{len(flagged_before - flagged_after)} no longer flagged" in result.stdout
    # Every stored verdict is what the edited engine says now.
    engine = engine_from_config(load_config(edited))
    database = open_catalogue(db, create=False)
    with Session(database) as session:
        for page in session.scalars(select(Page).where(Page.drop_reason.is_(None)).limit(40)):
            fresh = engine.assess(
                page.text, title=page.title, language=page.language, published=page.published, links=page.links,
                source_kind=page.source.kind, source_region=page.source.region, url=page.url,
                headlines=(page.extra or {}).get("headlines"),
            )
            assert page.flagged == fresh.flagged and page.score == fresh.score
        candidates = set(session.scalars(select(Page.url).join(Candidate, Candidate.page_id == Page.id)))
    database.dispose()
    assert candidates <= flagged_after

    restored = run_coprod("rescore", "--seeds", str(DEMO_SEEDS), "--db", db)
    assert restored.returncode == 0 and _flagged(db) == flagged_before


def _flagged(db: str) -> set[str]:
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        urls = set(session.scalars(select(Page.url).where(Page.flagged)))
    engine.dispose()
    return urls


@pytest.mark.skipif(not (REALDATA / "resistinua").is_dir(), reason="../shared/realdata is not present (a clone outside the workplace)")
def test_real_reference_data_imports_without_errors() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "realdata.py"), "--json"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert "read 161 documents" in figures["imports"]["resistinua"]
    assert "read 154 documents" in figures["imports"]["messages"]
    assert figures["resistinua_typed_resources"] > 100
