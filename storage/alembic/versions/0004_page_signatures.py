"""Schema 4 (issue 11): every page carries the MinHash signature of its text's word shingles
(`pipelines.dedup`), by which an aggregator's copy or an SEO rewrite of a story is told from
an original.

Data: the column starts empty; `coprod migrate` then signs the stored texts with the crawl's
own function (outside the storage layer, as the search words of schema 3), and every crawl
and import signs the pages it stores.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pages") as pages:
        pages.add_column(sa.Column("signature", sa.LargeBinary))
    unsigned = op.get_bind().scalar(sa.text("SELECT count(*) FROM pages WHERE drop_reason IS NULL AND text IS NOT NULL"))
    context.config.attributes.setdefault("steps", {})["3->4"] = {"pages to sign": unsigned or 0}
    op.execute(sa.text("UPDATE schema_info SET version = 4"))


def downgrade() -> None:
    with op.batch_alter_table("pages") as pages:
        pages.drop_column("signature")
    op.execute(sa.text("UPDATE schema_info SET version = 3"))
