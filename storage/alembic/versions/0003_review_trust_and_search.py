"""Schema 3 (issue 14): decisions and case evidence pinned to a page version, session
versions, the audit log, the queue's search index and filter columns, failed trainings, and
a decision log and audit log that the database itself keeps append-only.

Data: candidates get the page columns the queue filters on; decisions and case evidence made
before versions were pinned get the version current when they were made (the newest first
seen by then: what the review app showed); Telegram posts without a title get their channel
and first line; discovered bots and group chats are told from channels. Then the triggers
(they would refuse the pinning of old decisions) and the full-text index: in SQLite an FTS5
table kept in step with `candidate_search` by triggers, in PostgreSQL a GIN index over
``to_tsvector('simple', lemmas)`` (the words are lemmas already: 'simple' only lowercases).
The words themselves are made by `coprod migrate` afterwards, with the engine's lemmatizer.

The SQL is written out here, not imported: a revision stays what it was when later schemas
change `storage.ddl`, which creates the same objects in a fresh catalogue (the migration
tests compare the two).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = ("decisions", "audit_log")

_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER {table}_append_only_{verb_lower} BEFORE {verb} ON {table} "
    "BEGIN SELECT RAISE(ABORT, '{table} is append-only: add a new row instead of changing one'); END"
)
_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE candidate_fts USING fts5("
    "lemmas, content='candidate_search', content_rowid='candidate_id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER candidate_search_ai AFTER INSERT ON candidate_search BEGIN "
    "INSERT INTO candidate_fts(rowid, lemmas) VALUES (new.candidate_id, new.lemmas); END",
    "CREATE TRIGGER candidate_search_ad AFTER DELETE ON candidate_search BEGIN "
    "INSERT INTO candidate_fts(candidate_fts, rowid, lemmas) VALUES ('delete', old.candidate_id, old.lemmas); END",
    "CREATE TRIGGER candidate_search_au AFTER UPDATE ON candidate_search BEGIN "
    "INSERT INTO candidate_fts(candidate_fts, rowid, lemmas) VALUES ('delete', old.candidate_id, old.lemmas); "
    "INSERT INTO candidate_fts(rowid, lemmas) VALUES (new.candidate_id, new.lemmas); END",
)
# The driver reads % as a parameter marker: %% is the function's one % (the table's name).
_POSTGRESQL_FUNCTION = """CREATE OR REPLACE FUNCTION coprod_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%% is append-only: add a new row instead of changing one', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$"""
_POSTGRESQL_TRIGGERS = (
    "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION coprod_append_only()",
    "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION coprod_append_only()",
)
_POSTGRESQL_SEARCH = "CREATE INDEX ix_candidate_search_tsv ON candidate_search USING GIN (to_tsvector('simple', lemmas))"

# As `pipelines.discover` told a group chat's public name from a channel's in schema 3.
_CHAT_NAME = re.compile(r"(^|_)(chat|chats|group|chatik)(_|$)")


def _post_title(channel: str | None, channel_title: str | None, text: str | None, limit: int = 120) -> str:
    """A Telegram post's title as schema 3's coprod made it (`crawler.core.items.post_title`)."""
    first = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    if len(first) > limit:
        first = first[: limit - 1].rstrip() + "…"
    name = channel_title or (f"@{channel}" if channel else "Telegram")
    return f"{name}: {first}" if first else name


def upgrade() -> None:
    # coprod's migrate before Alembic added runs.resumed_run_id (schema 2) without its
    # foreign key; such a catalogue gets it here, so it ends like a fresh one.
    if not any(fk["constrained_columns"] == ["resumed_run_id"] for fk in sa.inspect(op.get_bind()).get_foreign_keys("runs")):
        with op.batch_alter_table("runs") as runs:
            runs.create_foreign_key("runs_resumed_run_id_fkey", "runs", ["resumed_run_id"], ["id"])
    with op.batch_alter_table("page_places") as places:
        places.create_index("ix_page_places_name", ["name"])
        places.create_index("ix_page_places_hromada_code", ["hromada_code"])
        places.create_index("ix_page_places_raion_code", ["raion_code"])
    with op.batch_alter_table("candidates") as candidates:
        candidates.add_column(sa.Column("source_id", sa.Integer))
        candidates.add_column(sa.Column("language", sa.String(8)))
        candidates.add_column(sa.Column("mode", sa.String(16)))
        candidates.create_foreign_key("candidates_source_id_fkey", "sources", ["source_id"], ["id"])
        candidates.create_index("ix_candidates_source_id", ["source_id"])
        candidates.create_index("ix_candidates_language", ["language"])
        candidates.create_index("ix_candidates_mode", ["mode"])
        candidates.create_index("ix_candidates_queue_engine", ["score", "id"])
        candidates.create_index("ix_candidates_queue_model", ["model_score", "score", "id"])
    for table in ("case_evidence", "decisions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("page_version_id", sa.Integer))
            batch.create_foreign_key(f"{table}_page_version_id_fkey", "page_versions", ["page_version_id"], ["id"])
    with op.batch_alter_table("ranker_runs") as runs:
        runs.add_column(sa.Column("outcome", sa.String(24), nullable=False, server_default="trained"))
        runs.add_column(sa.Column("detail", sa.Text))
    with op.batch_alter_table("users") as users:
        users.add_column(sa.Column("session_version", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "candidate_search",
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("lemmas", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False, index=True),
        sa.Column("user", sa.String(64), index=True),
        sa.Column("action", sa.String(32), nullable=False, index=True),
        sa.Column("address", sa.String(64)),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    context.config.attributes.setdefault("steps", {})["2->3"] = _fill()
    _append_only_and_search(op.get_bind())
    op.execute(sa.text("UPDATE schema_info SET version = 3"))


def _fill() -> dict[str, int]:
    bind = op.get_bind()
    filled = bind.execute(
        sa.text(
            "UPDATE candidates SET source_id = (SELECT source_id FROM pages WHERE pages.id = candidates.page_id), "
            "language = (SELECT language FROM pages WHERE pages.id = candidates.page_id), "
            "mode = (SELECT mode FROM pages WHERE pages.id = candidates.page_id)"
        )
    ).rowcount
    pinned = {}
    for table, moment, where in (("decisions", "created_at", "candidate_id IS NOT NULL AND "), ("case_evidence", "added_at", "")):
        version_then = (
            "(SELECT page_versions.id FROM page_versions JOIN candidates ON candidates.page_id = page_versions.page_id "
            f"WHERE candidates.id = {table}.candidate_id AND page_versions.first_seen <= {table}.{moment} "
            "ORDER BY page_versions.number DESC LIMIT 1)"
        )
        pinned[table] = bind.execute(
            sa.text(f"UPDATE {table} SET page_version_id = {version_then} WHERE {where}page_version_id IS NULL AND {version_then} IS NOT NULL")
        ).rowcount
    pages = sa.table("pages", sa.column("id", sa.Integer), sa.column("title", sa.Text), sa.column("text", sa.Text), sa.column("extra", sa.JSON), sa.column("content_type", sa.String))
    posts = bind.execute(
        sa.select(pages.c.id, pages.c.text, pages.c.extra).where(pages.c.content_type.like("%telegram-post%"), sa.func.coalesce(pages.c.title, "") == "")
    ).all()
    for post in posts:
        extra = post.extra or {}
        bind.execute(pages.update().where(pages.c.id == post.id).values(title=_post_title(extra.get("channel"), extra.get("channel_title"), post.text)))
    found = sa.table("discovered_sources", sa.column("key", sa.String), sa.column("kind", sa.String))
    told = bind.execute(found.update().where(found.c.kind == "telegram", found.c.key.like("%bot")).values(kind="telegram_bot")).rowcount
    chats = [key for key in bind.execute(sa.select(found.c.key).where(found.c.kind == "telegram")).scalars() if _CHAT_NAME.search(key.removeprefix("t.me/"))]
    if chats:
        told += bind.execute(found.update().where(found.c.key.in_(chats)).values(kind="telegram_chat")).rowcount
    return {
        "candidates given their queue columns": filled, "discovered bots and chats told from channels": told,
        "decisions pinned to a version": pinned["decisions"], "case evidence pinned to a version": pinned["case_evidence"],
        "Telegram posts titled": len(posts),
    }


def _append_only_and_search(bind: sa.Connection) -> None:
    if bind.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for verb in ("UPDATE", "DELETE"):
                bind.exec_driver_sql(_SQLITE_APPEND_ONLY.format(table=table, verb=verb, verb_lower=verb.lower()))
        for statement in _SQLITE_FTS:
            bind.exec_driver_sql(statement)
    elif bind.dialect.name == "postgresql":
        bind.exec_driver_sql(_POSTGRESQL_FUNCTION)
        for table in APPEND_ONLY:
            for statement in _POSTGRESQL_TRIGGERS:
                bind.exec_driver_sql(statement.format(table=table))
        bind.exec_driver_sql(_POSTGRESQL_SEARCH)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("candidate_search_ai", "candidate_search_ad", "candidate_search_au") + tuple(
            f"{table}_append_only_{verb}" for table in APPEND_ONLY for verb in ("update", "delete")
        ):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        bind.exec_driver_sql("DROP TABLE IF EXISTS candidate_fts")
    elif bind.dialect.name == "postgresql":
        for table in APPEND_ONLY:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS coprod_append_only()")
    op.drop_table("audit_log")
    op.drop_table("candidate_search")  # with its GIN index
    # Schema 2 knows Telegram channels only; the titles given to posts stay (text, not schema).
    op.execute(sa.text("UPDATE discovered_sources SET kind = 'telegram' WHERE kind IN ('telegram_bot', 'telegram_chat')"))
    with op.batch_alter_table("users") as users:
        users.drop_column("session_version")
    with op.batch_alter_table("ranker_runs") as runs:
        runs.drop_column("detail")
        runs.drop_column("outcome")
    for table in ("decisions", "case_evidence"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("page_version_id")
    with op.batch_alter_table("candidates") as candidates:
        for index in ("ix_candidates_queue_model", "ix_candidates_queue_engine", "ix_candidates_mode", "ix_candidates_language", "ix_candidates_source_id"):
            candidates.drop_index(index)
        candidates.drop_column("mode")
        candidates.drop_column("language")
        candidates.drop_column("source_id")
    with op.batch_alter_table("page_places") as places:
        for index in ("ix_page_places_raion_code", "ix_page_places_hromada_code", "ix_page_places_name"):
            places.drop_index(index)
    op.execute(sa.text("UPDATE schema_info SET version = 2"))
