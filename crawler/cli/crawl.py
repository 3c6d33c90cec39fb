"""coprod crawl: fetch the study's sources into the catalogue."""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from crawler.cli.common import command_parser, config_of, database_url
from crawler.config import Config, Source, resolve_setting
from crawler.errors import BadInput
from crawler.runner import run_crawl
from storage.db import open_catalogue
from storage.queries import accepted_sources

EXAMPLES = """
coprod crawl                                  # every enabled source of ./seeds.yaml
coprod crawl --source dniprorada --source gorod-dp
coprod crawl --seeds studies/kharkiv.yaml --db postgresql://localhost/coprod
COPROD_DATABASE_URL=sqlite:///data/test.sqlite coprod crawl -v
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "crawl", "Crawl the sources named in the study file into the catalogue.", EXAMPLES)
    parser.add_argument("--source", action="append", metavar="NAME", help="crawl only this source (repeatable; default: all enabled)")
    parser.add_argument("--proxy", metavar="URL", help="send every request through this HTTP proxy (default: $COPROD_PROXY, else crawl.proxy)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    database = database_url(args, config)
    extra = accepted(database)
    sources = select(config, extra, args.source)
    outcome = run_crawl(
        config,
        sources=sources,
        database_url=database,
        proxy=resolve_setting(args.proxy, "COPROD_PROXY", config.crawl.proxy),
        verbosity=args.verbose,
        extra_sources=extra,
    )
    print(outcome.describe())
    return 0 if outcome.reason == "finished" else 1


def accepted(database: str) -> list[Source]:
    """Discovered sources analysts accepted, when the catalogue exists already."""
    try:
        engine = open_catalogue(database, create=False)
    except BadInput:
        return []
    try:
        with Session(engine) as session:
            return accepted_sources(session)
    finally:
        engine.dispose()


def select(config: Config, extra: list[Source], names: list[str] | None) -> list[Source]:
    known = {s.name for s in config.sources}
    every = list(config.sources) + [s for s in extra if s.name not in known]
    if not names:
        return [s for s in every if s.enabled]
    config.select_sources([n for n in names if n not in {s.name for s in extra}])  # names an unknown one clearly
    return [s for s in every if s.name in names]
