"""The catalogue's schema history, run by Alembic (`coprod migrate`).

`storage/alembic/versions/` holds one revision per schema version: `0001` is the baseline
(schema 1, as coprod 0.1.0 created it), `0002` page versions and the frontier, `0003` the
current schema (issue 14: pinned versions, the audit log, the search index, append-only
triggers); a new schema version is a new revision `000N` whose upgrade also sets
`schema_info.version` to N. SQLite tables are
altered in batch mode (a copy of the table with the change, then a move), so columns come
with their constraints and foreign keys as a fresh catalogue has them. A catalogue made
before Alembic (no `alembic_version` table) is first stamped at the revision of its
`schema_info.version`. A SQLite catalogue is copied to ``<file>.v<N>.bak`` before it is
changed. `fresh_schema` creates a new catalogue from the models and `storage.ddl` (what the
models cannot declare: triggers, the full-text index) and stamps it at the head, under a
lock, so two processes opening one empty database at once create it once.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, select, text
from sqlalchemy.engine import make_url

from crawler.core.errors import BadInput, SchemaMismatch
from storage import ddl
from storage.models import SCHEMA_VERSION, Base, SchemaInfo

__all__ = ["MigrationReport", "alembic_config", "creation_lock", "fresh_schema", "head_revision", "migrate", "revision_of"]

SCRIPTS = Path(__file__).with_name("alembic")
# Advisory lock keys of coprod on PostgreSQL: (namespace, key); the schema's is key 0.
LOCK_NAMESPACE = 0x636F7072  # "copr"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def revision_of(version: int) -> str:
    """The revision that leaves a catalogue at schema `version`."""
    return f"{version:04d}"


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


@contextmanager
def creation_lock(connection: Connection) -> Iterator[None]:
    """Held while a schema is created or changed, around the transaction that does it (so
    nobody sees the work before it is committed): a PostgreSQL advisory lock of the session,
    or an exclusive `flock` on ``<file>.lock`` beside a SQLite catalogue."""
    url = connection.engine.url
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:ns, 0)"), {"ns": LOCK_NAMESPACE})
        connection.commit()
        try:
            yield
        finally:
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:ns, 0)"), {"ns": LOCK_NAMESPACE})
            connection.commit()
        return
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        with open(f"{url.database}.lock", "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            yield
        return
    yield


def fresh_schema(engine: Engine) -> bool:
    """Create the catalogue's tables when the database has none; True when this call did."""
    with engine.connect() as connection, creation_lock(connection), connection.begin():
        if inspect(connection).get_table_names():
            return False  # created meanwhile by another process
        Base.metadata.create_all(connection)
        ddl.install(connection)
        connection.execute(SchemaInfo.__table__.insert().values(version=SCHEMA_VERSION))
        command.stamp(alembic_config(connection), "head")
    return True


@dataclass
class MigrationReport:
    """What `migrate` did: from and to versions, the backup, tables and columns added or
    removed, and each data step's counts."""

    from_version: int
    to_version: int
    backup: str | None = None
    tables_added: list[str] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    tables_removed: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    steps: dict[str, dict[str, int]] = field(default_factory=dict)


def _tables(connection: Connection) -> set[str]:
    """The tables of the models' kind (not the full-text index's own)."""
    return {table for table in inspect(connection).get_table_names() if ddl.in_models(table, "table", {})}


def _columns(connection: Connection) -> set[str]:
    inspector = inspect(connection)
    return {f"{table}.{column['name']}" for table in _tables(connection) for column in inspector.get_columns(table)}


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


def migrate(engine: Engine, to_version: int = SCHEMA_VERSION) -> MigrationReport:
    """Bring the catalogue behind `engine` to schema `to_version` (up or down); a no-op
    when it is there."""
    if not 1 <= to_version <= SCHEMA_VERSION:
        raise BadInput(f"no schema version {to_version}: this coprod knows versions 1 to {SCHEMA_VERSION}")
    if "schema_info" not in inspect(engine).get_table_names():
        raise BadInput(f"{engine.url} holds no coprod catalogue")
    with engine.connect() as connection:
        version = connection.scalar(select(SchemaInfo.version))
    if version is None or version > SCHEMA_VERSION:
        raise SchemaMismatch(f"{engine.url} has catalogue schema version {version}; this coprod knows versions up to {SCHEMA_VERSION}")
    report = MigrationReport(from_version=version, to_version=to_version)
    if version == to_version:
        return report
    report.backup = _backup(engine, version)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch move drops and recreates tables that others refer to; the references
            # are checked once the whole change is made (outside a transaction, as SQLite wants).
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with creation_lock(connection), connection.begin():
                config = alembic_config(connection)
                if MigrationContext.configure(connection).get_current_revision() is None:
                    command.stamp(config, revision_of(version))  # made before Alembic
                tables, columns = _tables(connection), _columns(connection)
                if to_version > version:
                    command.upgrade(config, revision_of(to_version))
                else:
                    command.downgrade(config, revision_of(to_version))
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise SchemaMismatch(f"{engine.url}: the migrated catalogue has rows whose references are broken; nothing was changed")
                after_tables, after_columns = _tables(connection), _columns(connection)
                report.steps = dict(config.attributes.get("steps", {}))
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    new_tables = after_tables - tables
    report.tables_added = sorted(new_tables - {"alembic_version"})
    report.columns_added = sorted(c for c in after_columns - columns if c.split(".")[0] not in new_tables)
    report.tables_removed = sorted(tables - after_tables)
    report.columns_removed = sorted(c for c in columns - after_columns if c.split(".")[0] in after_tables)
    return report
