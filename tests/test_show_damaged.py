"""`coprod show` on a damaged capture: the stored text, and a line saying the capture is
damaged, for every way a WARC file can be cut, overwritten or flipped; never a traceback or
the file's bytes on the terminal."""

from __future__ import annotations

import random
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.app.cli import main
from crawler.app.cli.show import version_text
from crawler.core.config import Source
from crawler.core.items import PageItem
from pipelines.chain import Chain
from spiders._common import now
from storage.capture import WarcCapture
from storage.db import open_catalogue, start_run, sync_sources, write_pages
from storage.models import Page, PageVersion
from tests.conftest import clean_env

URL = "http://hub.test/zbir"
HTML = (
    "<html><head><title>Збір на генератори для лікарні</title></head><body><article><h1>Збір на генератори для лікарні</h1>"
    # Long enough (about 180 KB) to fill a pipe: `coprod show URL | head` must end quietly.
    + "".join(f"<p>Волонтери громади збирають кошти на генератор номер {n} для лікарні в Самарі та звітують щотижня.</p>" for n in range(1500))
    + "</article></body></html>"
)


def stored_page(tmp_path: Path) -> tuple[str, Path, PageVersion]:
    """A catalogue holding one page with its capture, as a crawl stores it."""
    captures = tmp_path / "captures"
    capture = WarcCapture(captures, "site-run1-20240101T000000").open()
    body = HTML.encode("utf-8")
    ref = capture.write(URL, "GET", [], b"", 200, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))], body)
    capture.close()
    item = PageItem(url=URL, source="hub", fetched_url=URL, fetched_at=now(), http_status=200, content_type="text/html; charset=utf-8",
                    html=HTML, capture=ref.to_json())
    Chain(None).run(item)
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    engine = open_catalogue(db)
    with Session(engine) as session, session.begin():
        ids = sync_sources(session, [Source(name="hub", kind="volunteer_hub", start_urls=[URL])])
        write_pages(session, [(item, None, None)], ids, start_run(session, "site", ["hub"], None))
    with Session(engine) as session:
        version = session.scalar(select(PageVersion).join(Page).where(Page.url == URL))
        session.expunge(version)
    engine.dispose()
    return db, captures / ref.file, version


def corruptions() -> list[tuple[str, object]]:
    """Forty ways to damage a capture file: cut at 14 places, a byte flipped at 20, a block
    zeroed at 4, the whole file replaced by noise, the file emptied."""
    cuts = [(f"cut at {k}/15", lambda data, k=k: data[: len(data) * k // 15]) for k in range(1, 15)]
    flips = [(f"byte flipped at {k}/21", lambda data, k=k: _flip(data, len(data) * k // 21)) for k in range(1, 21)]
    zeros = [(f"64 bytes zeroed at {k}/5", lambda data, k=k: _zero(data, len(data) * k // 5)) for k in range(1, 5)]
    return [*cuts, *flips, *zeros, ("noise", lambda data: random.Random(7).randbytes(len(data))), ("empty", lambda data: b"")]


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :]


def _zero(data: bytes, at: int) -> bytes:
    return data[:at] + b"\0" * 64 + data[at + 64 :]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, PageVersion]:
    return stored_page(tmp_path_factory.mktemp("damaged"))


def test_an_intact_capture_gives_the_text_again(page: tuple[str, Path, PageVersion]) -> None:
    _, warc, version = page
    text, origin = version_text(version, warc.parent)
    assert origin == "from the capture" and "генератор номер 1499" in text


@pytest.mark.parametrize(("how", "damage"), corruptions(), ids=[name for name, _ in corruptions()])
def test_a_damaged_capture_falls_back_to_the_stored_text(page: tuple[str, Path, PageVersion], tmp_path: Path, how: str, damage) -> None:
    _, warc, version = page
    folder = tmp_path / "captures"
    folder.mkdir()
    (folder / warc.name).write_bytes(damage(warc.read_bytes()))
    text, origin = version_text(version, folder)
    # A flip in the gzip header's own fields (time, flags) leaves the record whole: it may still read.
    if origin != "from the capture":
        assert text == version.text and origin.startswith("stored; the capture is damaged: site-run1-"), origin
        assert "\\x" not in origin and not [c for c in origin if ord(c) < 32], origin


@pytest.mark.parametrize("how", ["cut", "noise", "missing"])
def test_show_says_the_capture_is_damaged_and_prints_the_stored_text(
    page: tuple[str, Path, PageVersion], tmp_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db, warc, version = page
    folder = tmp_path / "captures"
    folder.mkdir()
    data = warc.read_bytes()
    if how == "cut":
        (folder / warc.name).write_bytes(data[: len(data) // 2])
    elif how == "noise":
        (folder / warc.name).write_bytes(random.Random(3).randbytes(len(data)))
    assert main(["show", URL, "--db", db, "--captures", str(folder)]) == 0
    shown = capsys.readouterr()
    assert shown.err == ""
    said = "the capture cannot be read: No such file or directory" if how == "missing" else "the capture is damaged"
    assert f"text (stored; {said}" in shown.out, shown.out[:500]
    assert version.text in shown.out
    assert not [c for c in shown.out if ord(c) < 32 and c not in "\n\t"], "bytes of the file on the terminal"


def test_show_piped_into_head_ends_quietly(page: tuple[str, Path, PageVersion]) -> None:
    db, warc, _ = page
    command = f"{shlex.quote(sys.executable)} -m crawler.app.cli show {URL} --db {shlex.quote(db)} --captures {shlex.quote(str(warc.parent))} | head -n 2"
    shown = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120, env=clean_env())
    assert shown.returncode == 0 and len(shown.stdout.splitlines()) == 2
    assert shown.stderr == "", shown.stderr
