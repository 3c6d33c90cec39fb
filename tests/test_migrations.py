"""Upgrading a catalogue written by an earlier coprod (`coprod migrate`)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from crawler.core.errors import SchemaMismatch
from storage.db import open_catalogue
from storage import search
from storage.ddl import in_models
from storage.migrations import alembic_config, head_revision, revision_of
from storage.models import SCHEMA_VERSION, Base, Candidate, CandidateSearch, CaseEvidence, Decision, DiscoveredSource, Page, PageVersion, Run, SchemaInfo
from tests.conftest import DEMO_SEEDS, run_coprod

# A schema-1 catalogue as coprod 0.1.0 wrote it: a crawl of the sample web, thinned out
# (the SQL text of `sqlite3 .dump`).
V1_DUMP = Path(__file__).parent / "data" / "catalogue-v1.sql"
# The same catalogue migrated to schema 2 by the coprod of issue 7, with an admin, an
# included candidate in a case and an excluded one.
V2_DUMP = Path(__file__).parent / "data" / "catalogue-v2.sql"


def _load(tmp_path: Path, dump: Path) -> tuple[Path, str]:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(dump.read_text(encoding="utf-8"))
    connection.close()
    return path, f"sqlite:///{path}"


@pytest.fixture
def v1(tmp_path: Path) -> tuple[Path, str]:
    return _load(tmp_path, V1_DUMP)


@pytest.fixture
def v2(tmp_path: Path) -> tuple[Path, str]:
    return _load(tmp_path, V2_DUMP)


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


def test_migrate_from_2_pins_decisions_adds_the_audit_log_search_index_and_triggers(v2) -> None:
    path, url = v2
    before = _counts(path)
    done = run_coprod("migrate", "--db", url)
    assert done.returncode == 0, done.stderr
    assert f"from schema version 2 to {SCHEMA_VERSION}" in done.stdout and "audit_log" in done.stdout and "candidate_search" in done.stdout
    for said in ("5 candidates given their queue columns", "2 decisions pinned to a version", "1 case evidence pinned to a version",
                 "4 Telegram posts titled", "1 discovered bots and chats told from channels"):
        assert said in done.stdout
    assert "search index: 5 candidates indexed" in done.stdout
    assert _counts(path.with_name(path.name + ".v2.bak")) == before
    assert {name: n for name, n in _counts(path).items() if name in before} == before
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        decisions = list(session.scalars(select(Decision).order_by(Decision.id)))
        assert all(d.page_version_id is not None for d in decisions if d.candidate_id)
        for decision in decisions:
            version = session.get(PageVersion, decision.page_version_id)
            assert version.page_id == session.get(Candidate, decision.candidate_id).page_id and version.first_seen <= decision.created_at
        evidence = session.scalar(select(CaseEvidence))
        assert evidence.page_version_id == decisions[0].page_version_id
        posts = list(session.scalars(select(Page).where(Page.content_type.like("%telegram-post%"), Page.drop_reason.is_(None))))
        assert posts and all(p.title and p.title.startswith("@dnipro_pomich: ") for p in posts)
        assert session.scalar(select(func.count()).select_from(CandidateSearch)) == 5
        kinds = dict(session.execute(select(DiscoveredSource.key, DiscoveredSource.kind)).all())
        assert kinds["t.me/pomich_zayavky_bot"] == "telegram_bot" and kinds["t.me/kryvbas_dopomoha"] == "telegram"
    engine.dispose()
    # The decision log now refuses changes in the database itself, whoever asks.
    with sqlite3.connect(path) as connection:
        for statement in ("UPDATE decisions SET user = 'mallory'", "DELETE FROM decisions"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                connection.execute(statement)
    connection.close()
    assert run_coprod("migrate", "--db", url).stdout.startswith(f"catalogue schema is at version {SCHEMA_VERSION}: nothing to do")


def test_migrate_signs_the_stored_texts_and_a_later_copy_finds_its_original(v2, tmp_path: Path) -> None:
    # Schema 4's signatures are made from every stored text by `coprod migrate`, so a copy of
    # an old story crawled or imported later points to it instead of queueing beside it.
    path, url = v2
    done = run_coprod("migrate", "--db", url)
    assert done.returncode == 0, done.stderr
    assert "3->4: 8 pages to sign" in done.stdout
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        stored = dict(session.execute(select(Page.url, Page.signature).where(Page.drop_reason.is_(None), Page.text.is_not(None))).all())
        original = session.scalars(select(Page).where(Page.url == "http://dnipro-vechir.test/arhiv/2021/biudzhet-2022.html")).one()
        text, original_id = original.text, original.id
    assert stored[original.url] is not None
    signed = sum(signature is not None for signature in stored.values())
    assert f"near-copy signatures: {signed} pages signed" in done.stdout and signed >= 3
    copy = tmp_path / "copy.jsonl"
    copy.write_text(json.dumps({"url": "http://copies.test/story", "text": f"{text}\nДжерело: Дніпровський вечір"}, ensure_ascii=False) + "\n", encoding="utf-8")
    imported = run_coprod("import", str(copy), "--db", url, "--seeds", str(DEMO_SEEDS))
    assert imported.returncode == 0, imported.stderr
    with Session(engine) as session:
        page = session.scalars(select(Page).where(Page.url == "http://copies.test/story")).one()
        assert page.duplicate_of_id == original_id and page.signature is not None
    engine.dispose()
    assert run_coprod("migrate", "--db", url).stdout.startswith(f"catalogue schema is at version {SCHEMA_VERSION}: nothing to do")


# --- Alembic: the same schema whichever way a catalogue got there -----------------------------


def reflected(url: str) -> dict[str, dict[str, object]]:
    """Every table's columns (type, nullable, default), primary key, foreign keys, indexes and
    unique constraints, as the database reports them (constraint names left out: SQLite
    reports none for unnamed ones, PostgreSQL makes them up), and under "(database)" the
    objects the models cannot declare, each with its definition as the database keeps it:
    triggers and the FTS5 table in SQLite; triggers, functions and index definitions in
    PostgreSQL."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        schema: dict[str, dict[str, object]] = {}
        for table in sorted(inspector.get_table_names()):
            schema[table] = {
                "columns": {c["name"]: (str(c["type"]), c["nullable"], c.get("default")) for c in inspector.get_columns(table)},
                "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
                "foreign keys": sorted(
                    (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]), str(sorted(fk.get("options", {}).items())))
                    for fk in inspector.get_foreign_keys(table)
                ),
                "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"])) for ix in inspector.get_indexes(table)),
                "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            }
        with engine.connect() as connection:
            schema["(database)"] = {kind: sorted(map(tuple, connection.execute(text(query)))) for kind, query in DATABASE_OBJECTS[engine.dialect.name].items()}
        return schema
    finally:
        engine.dispose()


DATABASE_OBJECTS = {
    "sqlite": {
        "triggers": "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'",
        "virtual tables": "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'",
    },
    "postgresql": {
        "triggers": "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
        "functions": "SELECT proname, pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'",
        "indexes": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    },
}


def differences(left: dict, right: dict) -> list[str]:
    found = [f"table {t} only in one" for t in sorted(set(left) ^ set(right))]
    for table in sorted(set(left) & set(right)):
        for part, value in left[table].items():
            if value != right[table][part]:
                found.append(f"{table} {part}: {value} != {right[table][part]}")
    return found


def without_alembic(schema: dict) -> dict:
    """`schema` without Alembic's own table (a catalogue made before Alembic has none)."""
    kept = {t: v for t, v in schema.items() if t != "alembic_version"}
    database = dict(kept["(database)"])
    if "indexes" in database:
        database["indexes"] = [index for index in database["indexes"] if index[0] != "alembic_version_pkc"]
    kept["(database)"] = database
    return kept


def models_differences(url: str) -> list[object]:
    """What Alembic's autogenerate would change to make the database match the models
    (leaving out, as `coprod`'s Alembic environment does, what `storage.ddl` makes)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection, opts={"include_name": in_models}), Base.metadata)
    finally:
        engine.dispose()


def copy_rows(source: str, target: str) -> None:
    """Every row of the SQLite catalogue `source` into the tables of `target` (same schema)."""
    reader, writer = create_engine(source), create_engine(target)
    try:
        old, new = MetaData(), MetaData()
        old.reflect(reader)
        new.reflect(writer)
        with reader.connect() as read, writer.begin() as write:
            for table in old.sorted_tables:
                rows = [dict(row._mapping) for row in read.execute(table.select())]
                write.execute(new.tables[table.name].delete())  # the baseline's own schema_info row
                if rows:
                    write.execute(new.tables[table.name].insert(), rows)
                if "id" in table.c and writer.dialect.name == "postgresql":
                    write.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), coalesce(max(id), 1)) FROM {table.name}"))
    finally:
        reader.dispose()
        writer.dispose()


def upgraded(url: str, revision: str) -> str:
    """The empty database at `url` brought to `revision` by the Alembic revisions alone."""
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)
    engine.dispose()
    return url


@pytest.fixture
def old_on(request, tmp_path: Path, databases, postgres_databases) -> tuple[int, str, str, str]:
    """A catalogue of schema 1 or 2 (the fixtures above) on SQLite or PostgreSQL (there built
    by the revisions up to that schema, then filled with the rows of the SQLite one), a fresh
    catalogue of the same kind, and an empty one at that schema made by the revisions."""
    version, kind = request.param
    path, sqlite_url = _load(tmp_path, V1_DUMP if version == 1 else V2_DUMP)
    if kind == "sqlite":
        folder = path.parent
        return version, sqlite_url, f"sqlite:///{folder / 'fresh.sqlite'}", upgraded(f"sqlite:///{folder / 'revisions.sqlite'}", revision_of(version))
    url = upgraded(postgres_databases.new(), revision_of(version))
    copy_rows(sqlite_url, url)
    return version, url, postgres_databases.new(), upgraded(postgres_databases.new(), revision_of(version))


@pytest.mark.parametrize("old_on", [(1, "sqlite"), (2, "sqlite"), (1, "postgresql"), (2, "postgresql")], indirect=True, ids=lambda p: f"v{p[0]}-{p[1]}")
def test_a_migrated_catalogue_has_the_schema_of_a_fresh_one_and_goes_back(old_on) -> None:
    version, old, fresh, at_version = old_on
    open_catalogue(fresh).dispose()  # created from the models and storage.ddl, stamped at the head
    result = run_coprod("migrate", "--db", old)
    assert result.returncode == 0, result.stderr
    assert f"from schema version {version} to {SCHEMA_VERSION}" in result.stdout and "2->3:" in result.stdout
    assert ("1->2:" in result.stdout) == (version == 1)
    assert "search index: 5 candidates indexed" in result.stdout
    migrated = reflected(old)
    assert migrated["(database)"]["triggers"], "no append-only or search triggers"
    assert differences(migrated, reflected(fresh)) == []
    assert models_differences(old) == [] and models_differences(fresh) == []
    engine = open_catalogue(old, create=False)  # the current coprod reads it, searches it, and its log is append-only
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PageVersion)) > 0
        assert session.scalar(select(func.count()).select_from(CandidateSearch)) == 5
        assert session.scalar(select(func.count()).select_from(search.matching(engine.dialect.name, [["волонтер"]]).subquery())) > 0
    if version == 2:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text("UPDATE decisions SET decision = 'exclude'"))
    engine.dispose()
    back = run_coprod("migrate", "--db", old, "--to", str(version))
    assert back.returncode == 0, back.stderr
    assert "tables removed: audit_log, candidate_search" + (", frontier, page_versions" if version == 1 else "") in back.stdout
    # Back at the schema the revisions make (a catalogue that coprod's migrate took to schema 2
    # before Alembic keeps the runs.resumed_run_id foreign key it lacked and 0003 added).
    assert differences(reflected(old), reflected(at_version)) == []
    with pytest.raises(SchemaMismatch, match="coprod migrate"):
        open_catalogue(old, create=False)


def test_a_fresh_catalogue_goes_down_to_schema_1_and_up_again(databases) -> None:
    url, baseline = databases.new(), databases.new()
    open_catalogue(url).dispose()
    fresh = reflected(url)
    engine = create_engine(baseline)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
    engine.dispose()
    down = run_coprod("migrate", "--db", url, "--to", "1")
    assert down.returncode == 0, down.stderr
    assert differences(without_alembic(reflected(url)), without_alembic(reflected(baseline))) == []
    up = run_coprod("migrate", "--db", url)
    assert up.returncode == 0, up.stderr
    assert differences(reflected(url), fresh) == []


def test_the_baseline_revision_is_schema_1_as_coprod_0_1_made_it(v1, tmp_path: Path) -> None:
    _, url = v1
    baseline = f"sqlite:///{tmp_path / 'baseline.sqlite'}"
    engine = create_engine(baseline)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0001")
    engine.dispose()
    assert differences(without_alembic(reflected(baseline)), without_alembic(reflected(url))) == []


def test_two_processes_opening_one_empty_catalogue_create_it_once(databases) -> None:
    url = databases.new()
    code = "import sys; from storage.db import open_catalogue; open_catalogue(sys.argv[1]).dispose()"
    processes = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], errors
    engine = open_catalogue(url, create=False)
    with engine.connect() as connection:
        assert connection.execute(select(SchemaInfo.version)).scalars().all() == [SCHEMA_VERSION]
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head_revision()]
    engine.dispose()
