"""Schema parts the ORM cannot declare, per database: append-only triggers and the full-text index.

Two guarantees live in the database itself, so that they hold for any client, not only for
coprod's ORM:

* the decision log (`decisions`) and the audit log (`audit_log`) refuse UPDATE and DELETE
  (and, in PostgreSQL, TRUNCATE): a trigger aborts the statement;
* the candidates' search words (`candidate_search.lemmas`) have the database's full-text
  index: an FTS5 table kept in step by triggers in SQLite, a GIN index over
  ``to_tsvector('simple', lemmas)`` in PostgreSQL. The words are lemmas already (the engine's
  lemmatizer made them), so the 'simple' configuration, which only lowercases, is the right one.

`install(connection)` creates them in a fresh catalogue, right after the models' tables
(`storage.migrations.fresh_schema`); a catalogue of an older schema gets them from its
Alembic revision (`0003`), which writes the same statements out. The migration tests compare
the two, so a change here needs a new revision.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

__all__ = ["APPEND_ONLY_TABLES", "FTS_TABLE", "in_models", "install"]

APPEND_ONLY_TABLES = ("decisions", "audit_log")
FTS_TABLE = "candidate_fts"  # SQLite only: the FTS5 index over candidate_search
PG_SEARCH_INDEX = "ix_candidate_search_tsv"

_SQLITE_FTS = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "lemmas, content='candidate_search', content_rowid='candidate_id', tokenize='unicode61 remove_diacritics 0')",
    f"CREATE TRIGGER candidate_search_ai AFTER INSERT ON candidate_search BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, lemmas) VALUES (new.candidate_id, new.lemmas); END",
    f"CREATE TRIGGER candidate_search_ad AFTER DELETE ON candidate_search BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, lemmas) VALUES ('delete', old.candidate_id, old.lemmas); END",
    f"CREATE TRIGGER candidate_search_au AFTER UPDATE ON candidate_search BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, lemmas) VALUES ('delete', old.candidate_id, old.lemmas); "
    f"INSERT INTO {FTS_TABLE}(rowid, lemmas) VALUES (new.candidate_id, new.lemmas); END",
]

# The driver reads % as a parameter marker: %% is the function's one % (the table's name).
_POSTGRESQL_FUNCTION = """CREATE OR REPLACE FUNCTION coprod_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only: add a new row instead of changing one', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$"""


def _sqlite(connection: Connection) -> None:
    for table in APPEND_ONLY_TABLES:
        for verb in ("UPDATE", "DELETE"):
            connection.exec_driver_sql(
                f"CREATE TRIGGER {table}_append_only_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: add a new row instead of changing one'); END"
            )
    for statement in _SQLITE_FTS:
        connection.exec_driver_sql(statement)


def _postgresql(connection: Connection) -> None:
    connection.exec_driver_sql(_POSTGRESQL_FUNCTION)
    for table in APPEND_ONLY_TABLES:
        connection.exec_driver_sql(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION coprod_append_only()"
        )
        connection.exec_driver_sql(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION coprod_append_only()"
        )
    connection.exec_driver_sql(f"CREATE INDEX {PG_SEARCH_INDEX} ON candidate_search USING GIN (to_tsvector('simple', lemmas))")


def install(connection: Connection) -> None:
    """The triggers and the full-text index, for SQLite or PostgreSQL (the only databases
    the catalogue runs on: `storage.db.insert_new`)."""
    dialect = connection.dialect.name
    if dialect == "sqlite":
        _sqlite(connection)
    elif dialect == "postgresql":
        _postgresql(connection)


def in_models(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """Alembic's `include_name` hook: False for what this module makes rather than the models
    (the FTS5 table and the tables SQLite keeps for it, the tsvector index), so comparing a
    catalogue with the models leaves them out."""
    if type_ == "table":
        return not (name or "").startswith(FTS_TABLE)
    if type_ == "index":
        return name != PG_SEARCH_INDEX
    return True
