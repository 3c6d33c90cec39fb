"""The small exception hierarchy the CLI maps to exit codes (after minet's cli/exceptions.py)."""

from __future__ import annotations


class CoprodError(Exception):
    """An expected failure with a message for the user; exit code 1."""

    exit_code = 1


class BadInput(CoprodError):
    """The user gave something we cannot use (a file, a flag, an argument); exit code 2."""

    exit_code = 2


class ConfigError(BadInput):
    """`seeds.yaml` (or a file it names) is malformed. The message names file, line and field."""

    def __init__(self, path: str, line: int | None, field: str | None, problem: str):
        self.path = path
        self.line = line
        self.field = field
        self.problem = problem
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


class SchemaMismatch(BadInput):
    """The catalogue database was made by another schema version of coprod (or is not a
    catalogue): bad input, exit code 2."""


class CatalogueError(CoprodError):
    """The catalogue cannot be opened, read or written (a read-only file or share, a full
    disk, a database server gone); exit code 1. A crawl stops at the first such failure."""
