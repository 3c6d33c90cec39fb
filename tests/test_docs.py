"""The README documents every setting of the study file and every command (after datasette's
test_docs.py): a key or command added without its line in the README fails here."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from crawler.app.cli import build_parser
from crawler.core.config import _File
from crawler.core.reasons import FETCH_FAILURES, PAGE_REASONS

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _section(heading: str) -> str:
    start = README.index(heading)
    end = README.find("\n## ", start + len(heading))
    return README[start : end if end > 0 else None]


def _model_of(annotation: object) -> type[BaseModel] | None:
    """The model a field holds, directly or inside list[...] / X | None / Annotated[...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        inner = _model_of(argument)
        if inner is not None:
            return inner
    return None


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        inner = _model_of(field.annotation)
        keys.extend(_keys(inner, f"{path}.") if inner is not None else [path])
    return keys


STUDY_KEYS = [key for key in _keys(_File) if key != "version"]
_DOCUMENTED = {
    word
    for token in re.findall(r"`([^`]+)`", _section("## The study file"))
    for word in re.split(r"[./\[\]\s,]+", token)
    if word
}


@pytest.mark.parametrize("key", STUDY_KEYS)
def test_every_study_file_key_is_documented(key: str) -> None:
    assert key.rsplit(".", 1)[-1] in _DOCUMENTED, f"{key} is not in the README's study file table"


def _commands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_in_the_commands_table(command: str) -> None:
    assert re.search(rf"^\| [^|]*`coprod {command}\b", README, re.MULTILINE), command


@pytest.mark.parametrize("reason", sorted({**FETCH_FAILURES, **PAGE_REASONS}))
def test_every_drop_reason_is_in_the_reasons_table(reason: str) -> None:
    assert re.search(rf"^\| `{reason}` \| ", _section("## What happens to a page"), re.MULTILINE), reason
