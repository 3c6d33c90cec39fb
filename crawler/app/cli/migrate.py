"""coprod migrate: bring a catalogue made by an older coprod to this schema version."""

from __future__ import annotations

import argparse

from crawler.app.cli.common import command_parser, database_url
from storage.db import catalogue_engine
from storage.migrations import migrate

EXAMPLES = """
coprod migrate                                   # the catalogue of ./seeds.yaml
coprod migrate --db sqlite:///data/coprod.sqlite
coprod migrate --db postgresql://localhost/coprod

Adds the tables and columns the newer schema has and fills them from what the catalogue
holds (schema 1 -> 2: every stored page becomes its first page version, without a capture);
nothing is dropped. A SQLite catalogue is copied to FILE.v<N>.bak first. Running it on a
catalogue that is up to date changes nothing.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "migrate", "Upgrade the catalogue database to this coprod's schema version.", EXAMPLES)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    url = database_url(args)
    engine = catalogue_engine(url, create=False)
    try:
        report = migrate(engine)
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
    for step, counts in report.steps.items():
        print(f"{step}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    return 0
