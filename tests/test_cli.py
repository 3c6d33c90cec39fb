"""The command line prints cleanly: `coprod --help` as written, with no Python object from a
stray % in a summary (each command's own help: tests/test_export_cli.py)."""

from __future__ import annotations

import re

from crawler.app.cli import COMMANDS
from tests.conftest import run_coprod


def test_the_top_level_help_prints_every_command_as_written() -> None:
    shown = run_coprod("--help")
    assert shown.returncode == 0 and shown.stderr == ""
    assert "report work saved at 95%" in shown.stdout and "recall." in shown.stdout
    assert not re.search(r"[{}]|%\(|<built-in|object at 0x", shown.stdout), shown.stdout
    listed = set(re.findall(r"^    (\w+) ", shown.stdout, re.MULTILINE))
    assert listed == set(COMMANDS)
