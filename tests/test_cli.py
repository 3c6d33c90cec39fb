"""The command line prints cleanly: `coprod --help` as written, with no Python object from a
stray % in a summary (each command's own help: tests/test_export_cli.py)."""

from __future__ import annotations

import re

import pytest

from crawler.app.cli import COMMANDS, main


def test_the_top_level_help_prints_every_command_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    shown = capsys.readouterr()
    assert exited.value.code == 0 and shown.err == ""
    assert "report work saved at 95%" in shown.out and "recall." in shown.out
    assert not re.search(r"[{}]|%\(|<built-in|object at 0x", shown.out), shown.out
    # A name longer than argparse's column stands on a line of its own, its summary below.
    listed = set(re.findall(r"^    (\w+)(?: |$)", shown.out, re.MULTILINE))
    assert listed == set(COMMANDS)
