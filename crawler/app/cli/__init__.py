"""The `coprod` command: one module per subcommand, each with `add_parser` and `run`.

Only the module of the command being run is imported: a `coprod export` does not load the
crawler, the model trainer or the plotting library, so every command starts quickly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from types import ModuleType

from crawler.core.errors import CoprodError

__all__ = ["build_parser", "main"]

# command -> module of crawler.app.cli that defines it (in the order `coprod --help` lists them)
COMMANDS = {
    "crawl": "crawl",
    "demo": "demo",
    "import": "ingest",
    "rescore": "rescore",
    "evaluate": "evaluate",
    "calibrate": "calibrate",
    "sources": "sources",
    "serve": "serve",
    "users": "users",
    "export": "export",
    "report": "report",
    "status": "status",
    "schedule": "schedule",
    "show": "show",
    "migrate": "migrate",
    "learn": "learn",
    "simulate": "learn",
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"crawler.app.cli.{name}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of the one named (the others are not imported)."""
    parser = argparse.ArgumentParser(
        prog="coprod",
        description="Find citizen co-production initiatives on the web: crawl the sources of a study, "
        "flag likely cases, screen them, export the catalogue.",
        epilog="Run 'coprod COMMAND --help' for a command's options and examples.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in wanted:
        module = _module(name)
        adder = getattr(module, "add_parsers", None) or module.add_parser
        adder(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Everything coprod writes (catalogue, captures, exports, reports, state) holds what was
    # crawled, and the catalogue holds password hashes: the owner's alone.
    os.umask(0o077)
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = build_parser(command)
        args = parser.parse_args(argv)
        return args.run(args)
    except CoprodError as exc:
        print(f"coprod: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("coprod: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`coprod show URL | head`): stop quietly, as `cat` would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
