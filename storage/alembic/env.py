"""Alembic's environment for the catalogue: `coprod migrate` (storage.migrations) runs it
on a connection it opened; SQLite tables are altered in batch mode (copy and move)."""

from __future__ import annotations

from alembic import context

from storage.ddl import in_models
from storage.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
    include_name=in_models,  # autogenerate leaves the full-text index's tables alone
)
with context.begin_transaction():
    context.run_migrations()
