"""Upgrading a catalogue written by an earlier coprod (`coprod migrate`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.core.errors import SchemaMismatch
from storage.db import open_catalogue
from storage.models import SCHEMA_VERSION, Page, PageVersion, Run, SchemaInfo
from tests.conftest import run_coprod

# A schema-1 catalogue as coprod 0.1.0 wrote it: a crawl of the sample web, thinned out
# (the SQL text of `sqlite3 .dump`).
V1_DUMP = Path(__file__).parent / "data" / "catalogue-v1.sql"


@pytest.fixture
def v1(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(V1_DUMP.read_text(encoding="utf-8"))
    connection.close()
    return path, f"sqlite:///{path}"


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        counts = {name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables}
    connection.close()
    return counts


def test_an_old_catalogue_is_refused_with_the_way_out(v1) -> None:
    _, url = v1
    with pytest.raises(SchemaMismatch, match="coprod migrate"):
        open_catalogue(url, create=False)
    result = run_coprod("status", "--db", url)
    assert result.returncode == 2 and "coprod migrate" in result.stderr  # bad input, as the README says


def test_migrate_upgrades_keeps_every_row_and_is_idempotent(v1) -> None:
    path, url = v1
    before = _counts(path)
    first = run_coprod("migrate", "--db", url)
    assert first.returncode == 0, first.stderr
    assert f"from schema version 1 to {SCHEMA_VERSION}" in first.stdout and "page_versions" in first.stdout
    backup = path.with_name(path.name + ".v1.bak")
    assert _counts(backup) == before
    after = _counts(path)
    assert {name: n for name, n in after.items() if name in before} == before  # nothing lost
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        assert session.scalar(select(SchemaInfo.version)) == SCHEMA_VERSION
        kept = list(session.scalars(select(Page).where(Page.drop_reason.is_(None))))
        assert kept and all(len(page.page_versions) == 1 for page in kept)
        version = kept[0].page_versions[0]
        assert (version.number, version.text, version.content_hash, version.warc_file) == (1, kept[0].text, kept[0].content_hash, None)
        dropped = session.scalar(select(func.count()).select_from(PageVersion).join(Page).where(Page.drop_reason.is_not(None)))
        assert dropped == 0
        assert all(run.pid is None for run in session.scalars(select(Run)))
    engine.dispose()
    second = run_coprod("migrate", "--db", url)
    assert second.returncode == 0 and "nothing to do" in second.stdout
    assert _counts(path) == after
    assert run_coprod("status", "--db", url).returncode == 0
