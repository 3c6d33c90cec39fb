"""coprod rescore: re-run the relevance engine over stored pages, without re-crawling."""

from __future__ import annotations

import argparse

from crawler.app.cli.common import command_parser, config_of, database_url
from crawler.app.offline import rescore
from pipelines.chain import Chain
from pipelines.relevance import engine_from_config
from storage.db import open_catalogue

EXAMPLES = """
coprod rescore                      # after editing the lexicon, place aliases, weights or flag.threshold
coprod rescore --threshold 0.3      # try another threshold (a probability) without editing seeds.yaml
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "rescore", "Re-run the relevance engine over the stored pages and report how the flags changed.", EXAMPLES)
    parser.add_argument("--threshold", type=float, metavar="P", help="flag threshold, a probability (default: flag.threshold, else the weights file's)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    database = open_catalogue(database_url(args, config), create=False)
    try:
        outcome = rescore(database, Chain.for_sources(engine_from_config(config, args.threshold), config.sources))
    finally:
        database.dispose()
    print(
        f"rescored {outcome.pages} pages: {outcome.newly_flagged} newly flagged, {outcome.unflagged} no longer flagged, "
        f"{outcome.direction_changed} changed direction"
    )
    return 0
