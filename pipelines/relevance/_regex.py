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
from collections.abc import Iterator
from typing import Any

try:  # the parser re compiles with (private, but the one it uses itself)
    from re import _constants as _c, _parser as _sre_parse
except ImportError:  # pragma: no cover - another Python: no guard, the same matches
    _sre_parse = None

__all__ = ["Anchored", "first_characters", "guarded", "literal_starts", "searchable"]


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


# --- patterns found by their first words ------------------------------------------------------

_MAX_STARTS = 64


class Anchored:
    """A pattern every match of which starts with one of a few literal words (``\\b(?:читайте|
    підтримайте) ...``): `finditer` looks for those words with `str.find`, which runs at
    memory speed, and tries the pattern only where one starts, instead of testing every
    position of the page. The matches are those of `pattern.finditer(text)`, in the same
    order and as little overlapping; where the words cannot be worked out, or the text is one
    `searchable` refuses, the pattern scans as it is."""

    __slots__ = ("pattern", "starts", "ignorecase")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = guarded(pattern, flags)
        self.ignorecase = bool(self.pattern.flags & re.IGNORECASE)
        self.starts = literal_starts(pattern, flags)

    def finditer(self, text: str, low: str | None) -> Iterator[re.Match[str]]:
        """Matches in `text`; `low` is `searchable(text)`, computed once per text."""
        if self.starts is None or (self.ignorecase and low is None):
            yield from self.pattern.finditer(text)
            return
        haystack = low if self.ignorecase else text
        positions: set[int] = set()
        for word in self.starts:
            at = haystack.find(word)
            while at >= 0:
                positions.add(at)
                at = haystack.find(word, at + 1)
        end = 0
        match_at = self.pattern.match
        for at in sorted(positions):
            if at < end:
                continue  # finditer resumes after a match
            found = match_at(text, at)
            if found is not None:
                end = found.end()
                yield found


def searchable(text: str, low: str | None = None) -> str | None:
    """`text.lower()` when a lower-cased word is found in it exactly where a case-blind
    pattern matches it: offsets unchanged (no "İ"), and none of the characters `re` counts as
    another case of a Latin or Cyrillic letter that `str.lower` does not ("ı", "ſ", the old
    Cyrillic "ᲀ"...). None otherwise. `low`: `text.lower()`, when the caller has it."""
    low = text.lower() if low is None else low
    if len(low) != len(text) or (not text.isascii() and _ODD_CASES.search(text)):
        return None
    return low


def literal_starts(pattern: str, flags: int = 0) -> tuple[str, ...] | None:
    """The literal words (lower-cased under IGNORECASE) one of which every match of the
    pattern starts with, or None when there is no such short list."""
    if _sre_parse is None or pattern.startswith("(?") and re.match(r"\(\?[aiLmsux]+\)", pattern):
        return None
    try:
        tree = _sre_parse.parse(pattern, flags)
    except re.error:
        return None
    ignorecase = bool(tree.state.flags & re.IGNORECASE)
    starts, _ = _prefixes(list(tree), ignorecase)
    if not starts or "" in starts:
        return None
    # "читай" finds every "читайте" too
    return tuple(sorted(word for word in starts if not any(word != other and word.startswith(other) for other in starts)))


def _prefixes(items: list[tuple[Any, Any]], ignorecase: bool) -> tuple[set[str] | None, bool]:
    """(literal beginnings of the sequence's matches, whether they are its whole matches)."""
    out = {""}
    for position, (op, av) in enumerate(items):
        if op is _c.AT or op is _c.ASSERT or op is _c.ASSERT_NOT:
            if out == {""}:
                continue  # zero width before the first character
            return out, False
        if op is _c.LITERAL:
            char = chr(av).lower() if ignorecase else chr(av)
            if len(char) != 1:
                return out, False
            out = {prefix + char for prefix in out}
            continue
        if op is _c.BRANCH:
            alternatives = [_prefixes(list(alternative), ignorecase) for alternative in av[1]]
        elif op is _c.SUBPATTERN and not av[1] and not av[2]:
            alternatives = [_prefixes(list(av[3]), ignorecase)]
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and av[0] > 0:
            found, _ = _prefixes(list(av[2]), ignorecase)  # its first repetition's beginnings
            alternatives = [(found, False)]
        else:
            return out, False
        if any(found is None or "" in found for found, _ in alternatives):
            return (out, False) if out != {""} else (None, False)
        combined = {prefix + tail for prefix in out for found, _ in alternatives for tail in found}
        if len(combined) > _MAX_STARTS:
            return (out, False) if out != {""} else (None, False)
        out = combined
        if not all(whole for _, whole in alternatives):
            return out, False
    return out, True


def _odd_cases() -> re.Pattern[str]:
    try:
        from re._casefix import _EXTRA_CASES
    except ImportError:  # pragma: no cover - another Python: refuse every non-ASCII text
        return re.compile(r"[^\x00-\x7f]")

    def plain(char: str) -> bool:
        return char.isascii() or "\u0400" <= char <= "\u04ff"

    odd = {
        chr(other) for code, others in _EXTRA_CASES.items() for other in others
        if plain(chr(code)) and not plain(chr(other)) and chr(other).lower() != chr(code).lower()
    }
    return re.compile("[" + "".join(map(re.escape, sorted(odd))) + "]")


_ODD_CASES = _odd_cases()
