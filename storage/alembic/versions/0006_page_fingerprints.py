"""Schema 6 (issue 12): every page carries its text's fingerprint, the sorted 32-bit hashes of
its word shingles that its signature is made of (`pipelines.dedup.fingerprint`). A story that
a copy's signature proposes is compared by it instead of being read and shingled again, and
its size lets most proposals be set aside unread: before, each stored story proposed to a
page of a re-crawl or of a long crawl was read and shingled (a crawl's cost per page doubled
between its first and last thousand pages of 10,000).

Data: none. Pages stored before have no fingerprint and are shingled from their text when
proposed, as before; every crawl and import stores the fingerprints of the pages it stores.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pages") as pages:
        pages.add_column(sa.Column("shingles", sa.LargeBinary))
    op.execute(sa.text("UPDATE schema_info SET version = 6"))


def downgrade() -> None:
    with op.batch_alter_table("pages") as pages:
        pages.drop_column("shingles")
    op.execute(sa.text("UPDATE schema_info SET version = 5"))
