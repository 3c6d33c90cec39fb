"""Options every command shares: --seeds and --db, resolved flag > environment > file."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from sqlalchemy import Engine

from crawler.core.config import Config, load_config, resolve_setting
from storage.db import open_catalogue

DEFAULT_SEEDS = "seeds.yaml"


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", metavar="FILE", help=f"the study file (default: $COPROD_SEEDS, else ./{DEFAULT_SEEDS})")
    parser.add_argument("--db", metavar="URL", help="catalogue database URL (default: $COPROD_DATABASE_URL, else seeds.yaml's database)")


def command_parser(commands: argparse._SubParsersAction, name: str, summary: str, examples: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary.replace("%", "%%"),  # argparse %-formats help strings ("95% recall")
        description=summary,
        epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(parser)
    return parser


def seeds_path(args: argparse.Namespace) -> Path:
    return Path(resolve_setting(args.seeds, "COPROD_SEEDS", DEFAULT_SEEDS) or DEFAULT_SEEDS)


def config_of(args: argparse.Namespace) -> Config:
    return load_config(seeds_path(args))


def database_url(args: argparse.Namespace, config: Config | None = None) -> str:
    """--db, else $COPROD_DATABASE_URL, else the study file's (loaded only when needed)."""
    explicit = resolve_setting(args.db, "COPROD_DATABASE_URL", None)
    if explicit:
        return explicit
    return (config or config_of(args)).database


def catalogue(args: argparse.Namespace, *, create: bool = False) -> Engine:
    return open_catalogue(database_url(args), create=create)
