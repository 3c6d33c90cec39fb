"""coprod migrate: bring a catalogue made by an older coprod to this schema version."""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from crawler.app.cli.common import command_parser, database_url
from crawler.app.offline import sign_pages
from pipelines.search import index_pending
from storage.db import catalogue_engine
from storage.migrations import migrate
from storage.models import SCHEMA_VERSION

EXAMPLES = """
coprod migrate                                   # the catalogue of ./seeds.yaml
coprod migrate --db sqlite:///data/coprod.sqlite
coprod migrate --db postgresql://localhost/coprod

coprod migrate --db postgresql+psycopg://coprod@db.lan/study --to 1   # back to schema 1

Runs the Alembic revisions between the catalogue's schema version and this coprod's (or
--to's): schema 1 -> 2 adds page versions (every stored page becomes its first version,
without a capture), the frontier, validators and run processes; 2 -> 3 pins decisions and
case evidence to the page version that was current when they were made, gives the decision
and audit logs triggers that refuse UPDATE and DELETE, adds the queue's search index (then
filled with every candidate's words) and titles Telegram posts; 3 -> 4 adds the pages'
near-copy signatures (then made from every stored text). A SQLite catalogue is copied
to FILE.v<N>.bak first. Running it on a catalogue that is up to date changes nothing.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "migrate", "Upgrade the catalogue database to this coprod's schema version.", EXAMPLES)
    parser.add_argument("--to", type=int, default=SCHEMA_VERSION, metavar="N", help=f"the schema version to reach, up or down (default: {SCHEMA_VERSION}, this coprod's)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    url = database_url(args)
    engine = catalogue_engine(url, create=False)
    try:
        report = migrate(engine, args.to)
        indexed = signed = None
        if report.to_version == SCHEMA_VERSION:
            # The search words are made by the engine's lemmatizer, and the signatures by the
            # crawl's near-copy function, outside the storage layer (the models are this
            # version's, so only at it).
            with Session(engine) as session, session.begin():
                indexed = index_pending(session)
            if report.from_version < report.to_version:
                signed = sign_pages(engine)
    finally:
        engine.dispose()
    if report.from_version == report.to_version:
        print(f"catalogue schema is at version {report.to_version}: nothing to do")
        return 0
    print(f"migrated the catalogue from schema version {report.from_version} to {report.to_version}")
    if report.backup:
        print(f"backup: {report.backup}")
    if report.tables_added:
        print(f"tables added: {', '.join(report.tables_added)}")
    if report.columns_added:
        print(f"columns added: {', '.join(report.columns_added)}")
    if report.tables_removed:
        print(f"tables removed: {', '.join(report.tables_removed)}")
    if report.columns_removed:
        print(f"columns removed: {', '.join(report.columns_removed)}")
    for step, counts in report.steps.items():
        print(f"{step}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    if indexed is not None:
        print(f"search index: {indexed} candidates indexed")
    if signed is not None:
        print(f"near-copy signatures: {signed} pages signed")
    return 0
