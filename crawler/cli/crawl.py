"""coprod crawl: fetch the study's sources into the catalogue."""

from __future__ import annotations

import argparse

from crawler.cli.common import command_parser, config_of, database_url
from crawler.config import resolve_setting
from crawler.runner import run_crawl

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
    sources = config.select_sources(args.source)
    outcome = run_crawl(
        config,
        sources=[s.name for s in sources],
        database_url=database_url(args, config),
        proxy=resolve_setting(args.proxy, "COPROD_PROXY", config.crawl.proxy),
        verbosity=args.verbose,
    )
    print(outcome.describe())
    return 0 if outcome.reason == "finished" else 1
