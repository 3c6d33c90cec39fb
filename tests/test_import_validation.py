"""coprod import on bad files: a line-numbered error and exit 2 for what cannot be read,
control characters removed, sizes capped with the reason too_large, and a run that fails
half-way marked failed, never left running."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.app.cli import main
from crawler.core.documents import LINE_FACTOR
from storage.db import open_catalogue
from storage.models import Page, Run
from tests.conftest import DEMO_SEEDS, clean_env, run_coprod

MAX_BYTES = 4096
GOOD = {"url": "https://hub.example/kitchen", "text": "Волонтери у Кривому Розі щодня годують переселенців.", "title": "Кухня"}


def small_study(tmp_path: Path) -> Path:
    """The demo study with a small page cap (crawl.max_page_bytes), to test the import's."""
    study = yaml.safe_load(DEMO_SEEDS.read_text(encoding="utf-8"))
    study["crawl"]["max_page_bytes"] = MAX_BYTES
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump(study, allow_unicode=True), encoding="utf-8")
    return path


def stored(url: str) -> tuple[dict[str, Page], list[Run]]:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        pages = {p.url: p for p in session.scalars(select(Page))}
        runs = list(session.scalars(select(Run)))
        for row in [*pages.values(), *runs]:
            session.expunge(row)
    engine.dispose()
    return pages, runs


def line(row: object) -> bytes:
    return json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"


@pytest.mark.parametrize(
    ("second_line", "message"),
    [
        (b'{"url": "https://a.example/", "text": "\xd0\x92\xff\xfe"}\n', "docs.jsonl:2: not valid UTF-8 (byte 42 of the line"),
        (line({"url": "https://a.example/", "text": "текст", "title": 5}), "docs.jsonl:2: title: expected a string, got a number"),
        (line({"url": "https://a.example/", "text": "текст", "published": 2022}), "docs.jsonl:2: published: expected a string, got a number"),
        (line({"url": "https://a.example/", "text": ["текст"]}), "docs.jsonl:2: text: expected a string, got a list"),
        (line({"url": "https://a.example/", "text": "текст", "links": "https://t.me/kr_kitchen"}),
         "docs.jsonl:2: links: expected a list of URLs (strings), got a string"),
        (line({"url": "https://a.example/", "text": "текст", "links": ["https://t.me/a", 7]}),
         "docs.jsonl:2: links: expected a list of URLs (strings), got a list with a number"),
        (line({"url": 17, "text": "текст"}), "docs.jsonl:2: expected an object with a 'url'"),
        (line({"url": "https://a.example/", "text": "текст", "id": {"n": 1}}), "docs.jsonl:2: id: expected a string or a number, got an object"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_imported(tmp_path: Path, second_line: bytes, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_bytes(line(GOOD) + second_line + line(GOOD | {"url": "https://hub.example/other"}))
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    assert main(["import", str(path), "--seeds", str(DEMO_SEEDS), "--db", db]) == 2
    said = capsys.readouterr().err
    assert said == f"coprod: error: {path.parent}/{message}" + said.split(message, 1)[1] and said.count("\n") == 1, said
    assert not (tmp_path / "c.sqlite").exists() or stored(db) == ({}, [])  # the first, good line is not stored either


def test_control_characters_are_removed_and_sizes_capped(tmp_path: Path) -> None:
    seeds = small_study(tmp_path)
    huge_line = line({"url": "https://hub.example/huge", "text": "х" * (LINE_FACTOR * MAX_BYTES)})
    rows = [
        line({"url": "https://hub.example/controls", "title": "Збір\x00 на\x1b[31m генератори",
              "text": "Волонтери\x00 у Кривому Розі\x07 щодня годують\x1b[2J переселенців.\tДолучайтеся!\nЧат у Телеграмі."}),
        line({"url": "https://hub.example/big", "text": "Волонтери. " * (MAX_BYTES // 10)}),
        huge_line,
        line(GOOD),
    ]
    path = tmp_path / "docs.jsonl"
    path.write_bytes(b"".join(rows))
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = run_coprod("import", str(path), "--seeds", str(seeds), "--db", db)
    assert result.returncode == 0, result.stderr
    assert "read 4 documents" in result.stdout
    pages, runs = stored(db)
    clean = pages["https://hub.example/controls"]
    assert clean.title == "Збір на генератори" and clean.drop_reason is None
    assert clean.text is not None and not [c for c in clean.text if ord(c) < 32 and c not in "\t\n"], clean.text
    assert "Волонтери у Кривому Розі щодня годують переселенців.\tДолучайтеся!" in clean.text
    for url in ("https://hub.example/big", "https://hub.example/huge"):
        assert (pages[url].drop_reason, pages[url].text) == ("too_large", None), url
        assert "crawl.max_page_bytes" in (pages[url].drop_detail or "")
    assert pages["https://hub.example/kitchen"].drop_reason is None
    assert [(r.spider, r.status) for r in runs] == [("import", "finished")]


def test_an_import_stopped_half_way_marks_its_run_failed(tmp_path: Path) -> None:
    # Enough documents that the import is still running when it is interrupted.
    rows = [line({"url": f"https://hub.example/{i}", "text": f"Волонтери громади номер {i} збирають допомогу для переселенців. " * 20}) for i in range(3000)]
    path = tmp_path / "docs.jsonl"
    path.write_bytes(b"".join(rows))
    db_file = tmp_path / "c.sqlite"
    env = clean_env()
    importing = subprocess.Popen(
        [sys.executable, "-m", "crawler.app.cli", "import", str(path), "--seeds", str(DEMO_SEEDS), "--db", f"sqlite:///{db_file}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        # A shell without job control starts background jobs with SIGINT ignored, and a
        # child keeps that (as `nohup` wants): Ctrl-C is what this test sends, so the import
        # gets SIGINT's default whatever started pytest.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    for _ in range(1200):  # until its first batch is stored
        try:
            with sqlite3.connect(db_file) as connection:
                if connection.execute("SELECT count(*) FROM pages").fetchone()[0] > 0:
                    break
        except sqlite3.OperationalError:
            pass
        if importing.poll() is not None:
            break
        time.sleep(0.1)
    os.kill(importing.pid, signal.SIGINT)
    out, err = importing.communicate(timeout=120)
    assert importing.returncode == 130, (out, err)
    assert err.strip().endswith("coprod: interrupted") and "Traceback" not in err
    pages, runs = stored(f"sqlite:///{db_file}")
    assert [(r.spider, r.status, r.finish_reason) for r in runs] == [("import", "failed", "import_failed")]
    assert 0 < len(pages) < 3000 and runs[0].stats["coprod/failed_because"].startswith("KeyboardInterrupt")
    status = run_coprod("status", "--db", f"sqlite:///{db_file}")
    assert "running" not in status.stdout.split("\nsources\n")[0]
