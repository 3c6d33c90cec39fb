"""Bringing a catalogue of an older schema version up to this one (`coprod migrate`).

Schema changes so far are additive: new tables and new nullable columns. `migrate` creates
what is missing, then runs each version's data step (filling the new tables from what the
catalogue already holds), and records the new version, all in one transaction where the
database allows DDL in transactions (SQLite and PostgreSQL do). A SQLite catalogue is copied
to ``<file>.v<N>.bak`` first. Nothing is ever dropped or rewritten.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateColumn

from crawler.core.errors import BadInput, SchemaMismatch
from storage.models import SCHEMA_VERSION, Base, Page, PageVersion, SchemaInfo

__all__ = ["MigrationReport", "migrate"]


def _v1_to_v2(connection: Connection) -> dict[str, int]:
    """Page versions: every page kept with a text becomes its own first version (with no
    capture: the crawl that fetched it wrote no WARC)."""
    rows = connection.execute(
        select(
            Page.id, Page.content_hash, Page.first_seen, Page.last_seen, Page.first_run_id, Page.last_run_id,
            Page.fetched_url, Page.http_status, Page.content_type, Page.title, Page.text,
        ).where(Page.drop_reason.is_(None), Page.text.is_not(None), ~Page.id.in_(select(PageVersion.page_id)))
    ).all()
    if rows:
        connection.execute(
            insert(PageVersion),
            [
                {
                    "page_id": row.id, "number": 1, "content_hash": row.content_hash or "", "first_seen": row.first_seen,
                    "last_seen": row.last_seen, "first_run_id": row.first_run_id, "last_run_id": row.last_run_id,
                    "fetched_url": row.fetched_url, "http_status": row.http_status, "content_type": row.content_type,
                    "title": row.title, "text": row.text,
                }
                for row in rows
            ],
        )
    return {"page versions created": len(rows)}


def _v2_to_v3(connection: Connection) -> dict[str, int]:
    """Near-copy signatures (pages.signature) are a new column, left empty: `coprod rescore`
    fills them from the stored texts, and every crawl fills those of the pages it stores."""
    return {"pages to sign by coprod rescore": connection.scalar(
        select(func.count()).select_from(Page).where(Page.drop_reason.is_(None), Page.text.is_not(None))
    ) or 0}


# version -> the data step that takes a catalogue from it to the next version
STEPS: dict[int, Callable[[Connection], dict[str, int]]] = {1: _v1_to_v2, 2: _v2_to_v3}


@dataclass
class MigrationReport:
    """What `migrate` did: from and to versions, the backup, tables and columns added, and
    each data step's counts."""

    from_version: int
    to_version: int
    backup: str | None = None
    tables_added: list[str] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    steps: dict[str, dict[str, int]] = field(default_factory=dict)


def _add_missing(connection: Connection) -> tuple[list[str], list[str]]:
    existing = inspect(connection)
    tables = set(existing.get_table_names())
    added_columns = []
    for table in Base.metadata.sorted_tables:
        if table.name not in tables:
            continue
        present = {column["name"] for column in existing.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                raise SchemaMismatch(f"cannot add the required column {table.name}.{column.name} to existing rows")
            ddl = CreateColumn(column).compile(dialect=connection.dialect)
            connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
            added_columns.append(f"{table.name}.{column.name}")
    missing = [t for t in Base.metadata.sorted_tables if t.name not in tables]
    Base.metadata.create_all(connection, tables=missing)
    return [t.name for t in missing], added_columns


def _backup(engine: Engine, version: int) -> str | None:
    url = make_url(str(engine.url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    source = Path(url.database)
    target = source.with_name(f"{source.name}.v{version}.bak")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy2(source, target)
    return str(target)


def migrate(engine: Engine) -> MigrationReport:
    """Bring the catalogue behind `engine` to `SCHEMA_VERSION`; a no-op when it is there."""
    if "schema_info" not in inspect(engine).get_table_names():
        raise BadInput(f"{engine.url} holds no coprod catalogue")
    with engine.connect() as connection:
        version = connection.scalar(select(SchemaInfo.version))
    if version is None or version > SCHEMA_VERSION:
        raise SchemaMismatch(f"{engine.url} has catalogue schema version {version}; this coprod knows versions up to {SCHEMA_VERSION}")
    report = MigrationReport(from_version=version, to_version=SCHEMA_VERSION)
    if version == SCHEMA_VERSION:
        return report
    report.backup = _backup(engine, version)
    with engine.begin() as connection:
        report.tables_added, report.columns_added = _add_missing(connection)
        for step in range(version, SCHEMA_VERSION):
            report.steps[f"{step}->{step + 1}"] = STEPS[step](connection)
        connection.execute(update(SchemaInfo).values(version=SCHEMA_VERSION))
    return report
