"""Era cues: names in a text that date it when nothing else does.

A page without a publication date that calls the city Дніпропетровськ, sends volunteers to
the "зона АТО" or names a raion merged in 2020 was written before the year its names were
abandoned. The cues are data, in the region's place alias file (`era:`, see
`pipelines/lexicons/places-dnipropetrovsk.yaml`); this module compiles and finds them, and
works out "the Nth anniversary of a group founded in YEAR" by arithmetic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from crawler.core.errors import ConfigError

from pipelines.relevance._regex import guarded

__all__ = ["EraCue", "EraCues", "anniversary_year", "load_era"]

_STREET_WORDS = r"(?:вулиц\w*|вул|проспект\w*|просп|пр-т|пр|провулок|пров|бульвар\w*|бул|площ\w*|пл|улиц\w*|ул|переул\w*|пер|street|st|avenue|ave)\.?"
_WORD_END = r"(?![\w'’-])"


@dataclass(frozen=True)
class EraCue:
    before: int  # the text was written before this year
    why: str
    evidence: str
    start: int


@dataclass(frozen=True)
class _Rule:
    before: int
    why: str
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None = None
    anchors: tuple[str, ...] = ()  # lower-cased words one of which a text must hold to be searched
    # The literal words of each name, phrase and street (lower-cased, longest first): a match
    # holds every word of one of them, which far fewer texts do than hold a first word ("з");
    # those another one implies are left out.
    needs: tuple[tuple[str, ...], ...] = ()


_NONE: tuple[str, ...] = ("\x00",)


class EraCues:
    def __init__(self, rules: tuple[_Rule, ...]):
        self.rules = rules
        by_start: dict[str, set[str]] = {}
        for rule in rules:
            for anchor in rule.anchors:
                by_start.setdefault(anchor[:3], set()).add(anchor)
        # first three letters -> the anchors that start so (str.startswith takes a tuple)
        self._first_words = {key: tuple(sorted(values)) for key, values in by_start.items()}

    def find(self, text: str, words: Iterable[str] | None = None) -> list[EraCue]:
        """Every era cue in the text, in text order. `words` (the text's lower-cased words,
        when the caller has them) lets a text with none of the cues' first words skip the
        search."""
        if words is not None:
            starts = self._first_words
            if not any(word.startswith(starts.get(word[:3], _NONE)) for word in words):
                return []
        low = text.lower().replace("’", "'")
        found = [
            EraCue(rule.before, rule.why, match.group(0), match.start())
            for rule in self.rules
            if any(all(map(low.__contains__, words)) for words in rule.needs) and (rule.unless is None or not rule.unless.search(text))
            for match in rule.pattern.finditer(text)
        ]
        return sorted(found, key=lambda cue: cue.start)


def load_era(paths: Iterable[Path]) -> EraCues:
    rules: list[_Rule] = []
    for path in paths:
        try:
            document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigError(str(path), None, "era", f"cannot read the file: {error}") from None
        for number, entry in enumerate(document.get("era") or [], start=1):
            field = f"era[{number}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("before"), int):
                raise ConfigError(str(path), None, field, "expected a mapping with 'before' (a year)")
            unknown = set(entry) - {"before", "why", "names", "except_before", "phrases", "streets", "unless"}
            if unknown:
                raise ConfigError(str(path), None, field, f"unknown keys {sorted(unknown)}")
            alternatives = []
            literal = [
                [word.rstrip("*") for word in _fold(text).split()]
                for key in ("names", "phrases", "streets")
                for text in _strings(path, f"{field}.{key}", entry.get(key))
            ]
            anchors = {words[0] for words in literal}
            needs = {tuple(sorted(words, key=len, reverse=True)) for words in literal}
            exceptions = [_fold(word) for word in _strings(path, f"{field}.except_before", entry.get("except_before"))]
            guard = rf"(?!\s+(?:{'|'.join(map(re.escape, exceptions))}))" if exceptions else ""
            for name in _strings(path, f"{field}.names", entry.get("names")):
                alternatives.append(rf"\b{re.escape(_fold(name))}[\w'’-]*+{guard}")
            for phrase in _strings(path, f"{field}.phrases", entry.get("phrases")):
                alternatives.append(r"\b" + r"\s+".join(_stem_word(word) for word in _fold(phrase).split()) + _WORD_END)
            streets = [r"\s+".join(map(re.escape, _fold(name).split())) for name in _strings(path, f"{field}.streets", entry.get("streets"))]
            if streets:
                alternatives.append(rf"\b{_STREET_WORDS}\s*(?:{'|'.join(streets)}){_WORD_END}")
            unless = [r"\b" + r"\s+".join(_stem_word(word) for word in _fold(phrase).split()) + _WORD_END
                      for phrase in _strings(path, f"{field}.unless", entry.get("unless"))]
            if alternatives:
                pattern = guarded("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)
                cancel = guarded("|".join(f"(?:{u})" for u in unless), re.IGNORECASE) if unless else None
                why = str(entry.get("why") or f"a name out of use by {entry['before']}")
                rules.append(_Rule(entry["before"], why, pattern, cancel, tuple(sorted(anchors)), _fewest(needs)))
    return EraCues(tuple(rules))


def _fewest(needs: set[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """The needs less those another one implies: a text holding "dnepropetrovskaya" holds
    "dnepropetrovsk", so only the second is looked for (a tenth fewer substring tests)."""
    kept: list[tuple[str, ...]] = []
    for need in sorted(needs, key=lambda words: (sum(map(len, words)), words)):
        if not any(all(any(word in own for own in need) for word in other) for other in kept):
            kept.append(need)
    return tuple(sorted(kept))


def _stem_word(word: str) -> str:
    return re.escape(word[:-1]) + r"[\w'’-]*" if word.endswith("*") else re.escape(word)


def _fold(text: str) -> str:
    return text.replace("’", "'").replace("ʼ", "'").lower()


def _strings(path: Path, field: str, value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(str(path), None, field, "expected a list of strings")
    return value


# "10-річний ювілей", "третя річниця", "5th anniversary", "десятилетие" ... "створена у 2014 році".
_ORDINALS = {
    **dict.fromkeys(("перш", "одн", "перв", "first", "one"), 1),
    **dict.fromkeys(("друг", "два", "дво", "втор", "second", "two"), 2),
    **dict.fromkeys(("трет", "три", "трь", "third", "three"), 3),
    **dict.fromkeys(("четверт", "чотир", "четыр", "fourth", "four"), 4),
    **dict.fromkeys(("п'ят", "пят", "fifth", "five"), 5),
    **dict.fromkeys(("шост", "шест", "sixth", "six"), 6),
    **dict.fromkeys(("сьом", "сім", "седьм", "сем", "seventh", "seven"), 7),
    **dict.fromkeys(("восьм", "вісім", "eighth", "eight"), 8),
    **dict.fromkeys(("дев'ят", "девят", "ninth", "nine"), 9),
    **dict.fromkeys(("десят", "tenth", "ten"), 10),
}
_ORDINAL_WORD = "|".join(sorted(map(re.escape, _ORDINALS), key=len, reverse=True))
_ANNIVERSARY = guarded(
    rf"(?:(?<!\d)(\d{{1,2}})\s*-?\s*(?:[а-яіїє]{{0,4}}\s*)?(?:річн\w*|річч\w*|літн\w*|летн\w*|лети\w*|рок\w*|років|лет|year\w*|th anniversar\w*|st anniversar\w*|nd anniversar\w*|rd anniversar\w*)"
    rf"|\b({_ORDINAL_WORD})[\w'’]*?\s*-?\s*(?:річн\w*|річч\w*|літт\w*|літн\w*|летн\w*|лети\w*|рок\w*|років|лет|year\w*|anniversar\w*))",
    re.IGNORECASE,
)
_CELEBRATES = guarded(r"ювіле\w*|річниц\w*|годовщин\w*|anniversar\w*|виповнюється|исполняется|відзначи\w*|отмечает|святку\w*|празднует|celebrat\w*", re.IGNORECASE)
# The words an anniversary is told in; a text without any is not searched further.
_CELEBRATION_WORDS = ("ювіле", "річниц", "річчя", "ліття", "годовщин", "летие", "anniversar", "виповнюється", "исполняется", "років", "лет ")
_YEAR = re.compile(r"(?:19|20)\d\d")
_FOUNDED = guarded(
    r"(?:створен\w*|засновано|заснован\w*|заснува\w*|створи\w*|з'явил\w*|виник\w*|основан\w*|создан\w*|появил\w*|founded|established|created|set up)"
    r"[^.!?\n]{0,40}?\b(?:у|в|in|з|с|since)\s+((?:19|20)\d\d)",
    re.IGNORECASE,
)


def anniversary_year(text: str) -> tuple[int, str] | None:
    """The year of an anniversary the text celebrates, from the founding year it gives:
    "відзначила 10-річний ювілей ... створена у 2014 році" is 2024. None when the text does
    not give both."""
    low = text.lower()
    if not any(word in low for word in _CELEBRATION_WORDS) or not _YEAR.search(text):
        return None
    founded = _FOUNDED.search(text)
    if not founded:
        return None
    for match in _ANNIVERSARY.finditer(text):
        around = text[max(0, match.start() - 60) : match.end() + 60]
        if not _CELEBRATES.search(around):
            continue
        years = int(match.group(1)) if match.group(1) else _ordinal(match.group(2))
        if years and 1 <= years <= 80:
            year = int(founded.group(1)) + years
            return year, f"{match.group(0).strip()} … {founded.group(0).strip()}"
    return None


def _ordinal(word: str | None) -> int | None:
    if not word:
        return None
    word = word.lower()
    for stem, value in _ORDINALS.items():
        if word.startswith(stem):
            return value
    return None
