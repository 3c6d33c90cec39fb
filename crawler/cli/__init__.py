"""The `coprod` command: one module per subcommand, each with `add_parser` and `run`."""

from __future__ import annotations

import argparse
import sys

from crawler.cli import crawl, demo, evaluate, export, ingest, learn, migrate, report, rescore, schedule, serve, show, sources, status, users
from crawler.errors import CoprodError

__all__ = ["main"]

COMMANDS = (crawl, demo, ingest, rescore, evaluate, sources, serve, users, export, report, status, schedule, show, migrate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coprod",
        description="Find citizen co-production initiatives on the web: crawl the sources of a study, "
        "flag likely cases, screen them, export the catalogue.",
        epilog="Run 'coprod COMMAND --help' for a command's options and examples.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(commands)
    learn.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CoprodError as exc:
        print(f"coprod: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("coprod: interrupted", file=sys.stderr)
        return 130
