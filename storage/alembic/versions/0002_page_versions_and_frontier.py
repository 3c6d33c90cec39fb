"""Schema 2: page versions with their WARC captures, the site crawl's frontier, validators
for conditional requests, and the process of each run.

Every page kept with a text becomes its own first version (without a capture: the crawl
that fetched it wrote no WARC).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as runs:
        runs.add_column(sa.Column("pid", sa.Integer))
        runs.add_column(sa.Column("hostname", sa.String(255)))
        runs.add_column(sa.Column("resumed_run_id", sa.Integer))
        runs.create_foreign_key("runs_resumed_run_id_fkey", "runs", ["resumed_run_id"], ["id"])
    with op.batch_alter_table("pages") as pages:
        pages.add_column(sa.Column("etag", sa.String(300)))
        pages.add_column(sa.Column("last_modified", sa.String(64)))
    op.create_table(
        "frontier",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False, index=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("fetch_url", sa.Text, nullable=False),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
        sa.Column("queued_at", sa.DateTime, nullable=False),
        sa.Column("done_at", sa.DateTime),
        sa.UniqueConstraint("source_id", "url"),
    )
    op.create_table(
        "page_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id"), nullable=False, index=True),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("first_run_id", sa.Integer, sa.ForeignKey("runs.id")),
        sa.Column("last_run_id", sa.Integer, sa.ForeignKey("runs.id")),
        sa.Column("fetched_url", sa.Text, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("content_type", sa.String(200)),
        sa.Column("etag", sa.String(300)),
        sa.Column("last_modified", sa.String(64)),
        sa.Column("title", sa.Text),
        sa.Column("text", sa.Text),
        sa.Column("warc_file", sa.String(200)),
        sa.Column("warc_offset", sa.BigInteger),
        sa.Column("warc_length", sa.BigInteger),
        sa.Column("captured_at", sa.DateTime),
        sa.UniqueConstraint("page_id", "number"),
    )
    created = op.get_bind().execute(
        sa.text(
            "INSERT INTO page_versions (page_id, number, content_hash, first_seen, last_seen, first_run_id, last_run_id, "
            "fetched_url, http_status, content_type, title, text) "
            "SELECT id, 1, COALESCE(content_hash, ''), first_seen, last_seen, first_run_id, last_run_id, "
            "fetched_url, http_status, content_type, title, text FROM pages WHERE drop_reason IS NULL AND text IS NOT NULL"
        )
    ).rowcount
    context.config.attributes.setdefault("steps", {})["1->2"] = {"page versions created": created}
    op.execute(sa.text("UPDATE schema_info SET version = 2"))


def downgrade() -> None:
    op.drop_table("page_versions")
    op.drop_table("frontier")
    with op.batch_alter_table("pages") as pages:
        pages.drop_column("last_modified")
        pages.drop_column("etag")
    with op.batch_alter_table("runs") as runs:
        # Its foreign key goes with it (SQLite's copy leaves it out; PostgreSQL drops it): a
        # fresh catalogue's is unnamed in SQLite, so it cannot be dropped by name.
        runs.drop_column("resumed_run_id")
        runs.drop_column("hostname")
        runs.drop_column("pid")
    op.execute(sa.text("UPDATE schema_info SET version = 1"))
