"""Scraped text made safe for a terminal: no escape sequences, no control characters.

A page can carry ANSI/VT escapes (recolouring, retitling or clearing the analyst's
terminal, hyperlinks that lie), carriage returns that overwrite a line, and bidirectional
overrides that reorder what is shown. All of them go; newlines and tabs stay.

`without_controls` is the milder cleaning of a text before it is stored (an imported
document): escape sequences and control characters go (NUL, which PostgreSQL refuses,
among them), line breaks, tabs and bidirectional marks stay.
"""

from __future__ import annotations

import re

__all__ = ["terminal_safe", "without_controls"]

_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                 # CSI: colours, cursor moves, erasing
    | \x9b[0-?]*[ -/]*[@-~]                 # the same, as a C1 control
    | \x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?   # OSC: window titles, hyperlinks
    | \x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?        # DCS, SOS, PM, APC strings
    | \x1b[ -/]*[0-~]                       # any other escape (reset, charset...)
    """,
    re.VERBOSE,
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_STORED_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def without_controls(text: str) -> str:
    return _STORED_CONTROLS.sub("", _ESCAPES.sub("", text))
