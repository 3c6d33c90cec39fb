"""Schema 1, the baseline: the catalogue as coprod 0.1.0 created it.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer, primary_key=True)


def upgrade() -> None:
    op.create_table(
        "schema_info",
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "sources",
        _id(),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("region", sa.String(200)),
        sa.Column("language_hint", sa.String(8)),
        sa.Column("start_urls", sa.JSON, nullable=False),
        sa.Column("allowed_domains", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "runs",
        _id(),
        sa.Column("spider", sa.String(64), nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("seeds_sha256", sa.String(64)),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("finish_reason", sa.String(64)),
        sa.Column("pages_fetched", sa.Integer, nullable=False),
        sa.Column("pages_stored", sa.Integer, nullable=False),
        sa.Column("pages_dropped", sa.Integer, nullable=False),
        sa.Column("errors", sa.Integer, nullable=False),
        sa.Column("stats", sa.JSON, nullable=False),
    )
    op.create_table(
        "discovered_sources",
        _id(),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("example", sa.Text),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("decided_at", sa.DateTime),
    )
    op.create_table(
        "cases",
        _id(),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("merged_into_id", sa.Integer, sa.ForeignKey("cases.id")),
    )
    op.create_table(
        "ranker_runs",
        _id(),
        sa.Column("trained_at", sa.DateTime, nullable=False),
        sa.Column("decisions", sa.Integer, nullable=False),
        sa.Column("labels", sa.Integer, nullable=False),
        sa.Column("positives", sa.Integer, nullable=False),
        sa.Column("scored", sa.Integer, nullable=False),
    )
    op.create_table(
        "users",
        _id(),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "pages",
        _id(),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("fetched_url", sa.Text, nullable=False),
        sa.Column("source_id", sa.Integer, sa.ForeignKey("sources.id"), nullable=False, index=True),
        sa.Column("first_run_id", sa.Integer, sa.ForeignKey("runs.id")),
        sa.Column("last_run_id", sa.Integer, sa.ForeignKey("runs.id")),
        sa.Column("first_seen", sa.DateTime, nullable=False),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("content_type", sa.String(200)),
        sa.Column("encoding", sa.String(40)),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("referer", sa.Text),
        sa.Column("drop_reason", sa.String(64), index=True),
        sa.Column("drop_detail", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("text", sa.Text),
        sa.Column("published", sa.String(32)),
        sa.Column("author", sa.Text),
        sa.Column("sitename", sa.Text),
        sa.Column("content_hash", sa.String(64), index=True),
        sa.Column("duplicate_of_id", sa.Integer, sa.ForeignKey("pages.id")),
        sa.Column("language", sa.String(8), index=True),
        sa.Column("language_detail", sa.JSON, nullable=False),
        sa.Column("links", sa.JSON, nullable=False),
        sa.Column("alternates", sa.JSON, nullable=False),
        sa.Column("version_of_id", sa.Integer, sa.ForeignKey("pages.id")),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False, index=True),
        sa.Column("score", sa.Float, nullable=False, index=True),
        sa.Column("direction", sa.String(8), index=True),
        sa.Column("mode", sa.String(16), index=True),
        sa.Column("in_region", sa.Boolean),
        sa.Column("in_window", sa.Boolean),
        sa.Column("event_date", sa.String(10)),
        sa.Column("relevance", sa.JSON, nullable=False),
    )
    op.create_table(
        "case_events",
        _id(),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "page_identifiers",
        _id(),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(300), nullable=False, index=True),
        sa.UniqueConstraint("page_id", "kind", "value"),
    )
    op.create_table(
        "page_places",
        _id(),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id"), nullable=False, index=True),
        sa.Column("code", sa.String(19), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(1), nullable=False),
        sa.Column("hromada_code", sa.String(19)),
        sa.Column("raion_code", sa.String(19)),
        sa.UniqueConstraint("page_id", "code"),
    )
    op.create_table(
        "source_links",
        _id(),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id"), nullable=False, index=True),
        sa.Column("discovered_id", sa.Integer, sa.ForeignKey("discovered_sources.id"), nullable=False, index=True),
        sa.UniqueConstraint("page_id", "discovered_id"),
    )
    op.create_table(
        "candidates",
        _id(),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id"), nullable=False, unique=True),
        sa.Column("score", sa.Float, nullable=False, index=True),
        sa.Column("flagged_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("model_score", sa.Float, index=True),
    )
    op.create_table(
        "case_evidence",
        _id(),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), nullable=False, index=True),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("case_id", "candidate_id"),
    )
    op.create_table(
        "decisions",
        _id(),
        sa.Column("candidate_id", sa.Integer, sa.ForeignKey("candidates.id"), index=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("note", sa.Text),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.execute(sa.text("INSERT INTO schema_info (version, created_at) VALUES (1, CURRENT_TIMESTAMP)"))


def downgrade() -> None:
    for table in (
        "decisions", "case_evidence", "candidates", "source_links", "page_places", "page_identifiers", "case_events",
        "pages", "users", "ranker_runs", "cases", "discovered_sources", "runs", "sources", "schema_info",
    ):
        op.drop_table(table)
