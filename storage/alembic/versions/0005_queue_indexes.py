"""Schema 5 (issue 14): two indexes for the review queue at 100,000 candidates: the usual
filters together (status, language, mode, then score), so a filtered queue is counted from
one index range; and a page's places with their codes, so the queue by place tests a page
from the index alone.

Data: none; the indexes are built from the rows there are.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_candidates_filters", "candidates", ["status", "language", "mode", "score"])
    op.create_index("ix_page_places_page_codes", "page_places", ["page_id", "code", "hromada_code", "raion_code"])
    op.execute(sa.text("UPDATE schema_info SET version = 5"))


def downgrade() -> None:
    op.drop_index("ix_page_places_page_codes", table_name="page_places")
    op.drop_index("ix_candidates_filters", table_name="candidates")
    op.execute(sa.text("UPDATE schema_info SET version = 4"))
