"""Regexes that skip, in C, the positions where they cannot match.

Python's `re` scans fast only for a pattern that starts with a literal or a character class
it can see, and not at all under IGNORECASE: the engine's patterns (``\\b(?:підпис...|
читайте...)``, the era cues' hundred names) were tried in full at every character of a
page, most of the relevance stage's regex time. `guarded(pattern, flags)` puts a lookahead
on the characters a match can start with in front of the pattern, worked out from the
pattern's own syntax tree, so that every other position fails after one class test. The
matches are the same (the class holds every character a match can start with, under the same
flags); when that set cannot be bounded (a match can start with any letter, or be empty),
the pattern is compiled as it is.
"""

from __future__ import annotations

import re
from typing import Any

try:  # the parser re compiles with (private, but the one it uses itself)
    from re import _constants as _c, _parser as _sre_parse
except ImportError:  # pragma: no cover - another Python: no guard, the same matches
    _sre_parse = None

__all__ = ["first_characters", "guarded"]


def guarded(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`, with a lookahead on its possible first characters."""
    chars = first_characters(pattern, flags)
    if not chars:
        return re.compile(pattern, flags)
    return re.compile(f"(?=[{''.join(sorted(chars))}])(?:{pattern})", flags)


def first_characters(pattern: str, flags: int = 0) -> set[str] | None:
    """The class items (escaped characters and ranges) one of which every match of the
    pattern starts with, or None when they cannot be bounded."""
    if _sre_parse is None or pattern.startswith("(?") and re.match(r"\(\?[aiLmsux]+\)", pattern):
        return None  # a global inline flag must stay first
    try:
        tree = _sre_parse.parse(pattern, flags)
    except re.error:
        return None
    ignorecase = bool(tree.state.flags & re.IGNORECASE)
    found, nullable = _firsts(list(tree), ignorecase)
    return None if found is None or nullable else found


def _firsts(items: list[tuple[Any, Any]], ignorecase: bool) -> tuple[set[str] | None, bool]:
    """(what a match of the sequence can start with, whether it can match empty)."""
    out: set[str] = set()
    for op, av in items:
        if op is _c.AT or op is _c.ASSERT or op is _c.ASSERT_NOT:
            continue  # zero width: the next item starts the match
        if op is _c.LITERAL:
            out.add(re.escape(chr(av)))
            return out, False
        if op is _c.IN:
            members = _class(av)
            if members is None:
                return None, False
            return out | members, False
        if op is _c.BRANCH:
            empty = False
            for alternative in av[1]:
                found, nullable = _firsts(list(alternative), ignorecase)
                if found is None:
                    return None, False
                out |= found
                empty |= nullable
            if not empty:
                return out, False
            continue
        if op is _c.SUBPATTERN or op is _c.ATOMIC_GROUP:
            if op is _c.SUBPATTERN:
                _, add_flags, _, sub = av
                if add_flags & re.IGNORECASE and not ignorecase:
                    return None, False  # the guard would be stricter than the group
            else:
                sub = av
            found, nullable = _firsts(list(sub), ignorecase)
            if found is None:
                return None, False
            out |= found
            if not nullable:
                return out, False
            continue
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT):
            low, _, sub = av
            found, nullable = _firsts(list(sub), ignorecase)
            if found is None:
                return None, False
            out |= found
            if low > 0 and not nullable:
                return out, False
            continue
        return None, False  # any character, a back reference...: not bounded
    return out, True


def _class(members: list[tuple[Any, Any]]) -> set[str] | None:
    out = set()
    for op, av in members:
        if op is _c.LITERAL:
            out.add(re.escape(chr(av)))
        elif op is _c.RANGE:
            out.add(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is _c.CATEGORY and av in _CATEGORIES:
            out.add(_CATEGORIES[av])
        else:  # a negated class, \w (most characters): not worth a guard
            return None
    return out


_CATEGORIES = {_c.CATEGORY_DIGIT: r"\d", _c.CATEGORY_SPACE: r"\s"} if _sre_parse is not None else {}
