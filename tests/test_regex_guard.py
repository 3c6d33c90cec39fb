"""Regexes guarded by their first characters, and patterns found by their first words, find
exactly what the plain ones do."""

from __future__ import annotations

import random
import re

import pytest

from pipelines.relevance import dates, engine, era, furniture, identifiers, morphology
from pipelines.relevance._regex import Anchored, first_characters, guarded, literal_starts, searchable

TEXTS = [
    "Підписуйтеся на наш Telegram-канал! Читайте також: волонтери Дніпра зібрали 200 тис. грн.",
    "Неділя, 1 Березня, 2026, 08:55:49. ДНІПРОПЕТРОВСЬКА область, вул. Леніна 5, зона АТО.",
    "Фото: Олена Коваль. Теги: допомога, переселенці. 24.02.2022, 2023-05-01, 3/4/2022",
    "Відзначила 10-річний ювілей: організація створена у 2014 році. Міський голова Філатов.",
    "FOLLOW US on Facebook Twitter LinkedIn; Médecins Sans Frontières International Relief",
    "İstanbul ΣΑΣ ſtraße Kelvin K ᲀолонтери ı і ї є ґ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u00ad\u200b ’ʼ` -- 1x --:--",
    "",
]


def _anchored() -> list[Anchored]:
    found = [pattern for _, _, pattern in furniture._PATTERNS]
    for module in (engine, dates, identifiers, era, morphology):
        found += [value for value in vars(module).values() if isinstance(value, Anchored)]
    return found


def _patterns() -> list[re.Pattern[str]]:
    found = [anchored.pattern for anchored in _anchored()]
    for module in (engine, dates, identifiers, era, morphology):
        found += [value for value in vars(module).values() if isinstance(value, re.Pattern)]
    return found


def _noise(seed: int) -> str:
    rng = random.Random(seed)
    pool = "".join(sorted({c for text in TEXTS for c in text})) + "aZ09.,:;!?()«»\"' \n\t-+*/@#"
    return "".join(rng.choice(pool) for _ in range(400))


@pytest.mark.parametrize("pattern", _patterns(), ids=lambda p: p.pattern[:40])
def test_a_guarded_pattern_matches_as_the_plain_one(pattern: re.Pattern[str]) -> None:
    guard = _guard_of(pattern)
    plain = re.compile(pattern.pattern[len(guard) : -1] if guard else pattern.pattern, pattern.flags)
    again = guarded(plain.pattern, plain.flags)
    for text in [*TEXTS, *(_noise(seed) for seed in range(20)), " ".join(TEXTS)]:
        assert [m.span() + m.groups() for m in again.finditer(text)] == [m.span() + m.groups() for m in plain.finditer(text)]


def _guard_of(pattern: re.Pattern[str]) -> str:
    """The lookahead `guarded` put in front, if any, with the group that wraps the rest."""
    match = re.match(r"\(\?=\[(?:\\.|[^\]\\])*\]\)\(\?:", pattern.pattern)
    return match.group(0) if match else ""


@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        (r"\b(?:ab|cd)\w*", 0, {"a", "c"}),
        (r"(?<!\d)(?:19|20)\d\d", 0, {"1", "2"}),
        (r"x?y", 0, {"x", "y"}),
        (r"(?:вул|пр)\.?\s+[А-Я]", re.IGNORECASE, {"в", "п"}),
        (r"[a-c]+|\d", 0, {"a-c", r"\d"}),
    ],
)
def test_first_characters_of_a_pattern(pattern: str, flags: int, expected: set[str]) -> None:
    assert first_characters(pattern, flags) == expected


@pytest.mark.parametrize("pattern", [r"\w+", r"x?", r"[^a]b", r".a", r"(?i)ab", r"a|(?i:b)"])
def test_unbounded_or_empty_matches_get_no_guard(pattern: str) -> None:
    assert first_characters(pattern) is None
    assert guarded(pattern).pattern == pattern


def _worded(seed: int, words: tuple[str, ...]) -> str:
    """Noise with the pattern's first words in it, as written, capitalised and shouted, and
    glued to letters before and after."""
    rng = random.Random(seed)
    pieces = []
    for _ in range(60):
        word = rng.choice(words)
        word = rng.choice([word, word.capitalize(), word.upper()])
        pieces.append(rng.choice(["", "а", " ", "\n", "-"]) + word + rng.choice([" ", "", ": ", "ю ", " на наш канал. ", " 1 травня 2025 "]))
        pieces.append(_noise(seed * 100 + len(pieces))[: rng.randint(0, 30)])
    return "".join(pieces)


@pytest.mark.parametrize("anchored", _anchored(), ids=lambda a: a.pattern.pattern[:40])
def test_a_pattern_found_by_its_first_words_matches_as_the_plain_one(anchored: Anchored) -> None:
    texts = [*TEXTS, *(_noise(seed) for seed in range(10)), " ".join(TEXTS)]
    if anchored.starts:
        texts += [_worded(seed, anchored.starts) for seed in range(10)]
        # found by a full scan: "ᲀ" is a case of "в" to re, "İ" is longer in lower case
        texts += [text.replace("в", "ᲀ").replace("В", "ᲀ") for text in texts[-3:]] + [text + " İ" for text in texts[-3:]]
    for text in texts:
        found = [m.span() + m.groups() for m in anchored.finditer(text, searchable(text))]
        assert found == [m.span() + m.groups() for m in anchored.pattern.finditer(text)]


@pytest.mark.parametrize(
    ("pattern", "flags", "expected"),
    [
        (r"\b(?:читайте|читай|read)\s+\w", re.IGNORECASE, ("read", "читай")),
        (r"\b(?:Джерело|Source)\s*:", re.IGNORECASE, ("source", "джерело")),
        (r"\b(?:Джерело|Source)\s*:", 0, ("Source", "Джерело")),
        (r"(?:\b(?:facebook|x\.com)\W*){2,}", 0, ("facebook", "x.com")),
        (r"--:--|\b1x\b|вул(?:иця|\.)", 0, ("--:--", "1x", "вул.", "вулиця")),
    ],
)
def test_the_first_words_of_a_pattern(pattern: str, flags: int, expected: tuple[str, ...]) -> None:
    assert literal_starts(pattern, flags) == expected


@pytest.mark.parametrize("pattern", [r"\w+ing", r"(?:гуманітарн\w*\s+)?штаб", r"[+-]\d", r"a|\d", r"(?i)ab", r"x*y"])
def test_a_pattern_without_first_words_scans_as_it_is(pattern: str) -> None:
    anchored = Anchored(pattern)
    assert anchored.starts is None
    assert [m.span() for m in anchored.finditer("штаб x1 +1 ab y wing", "штаб x1 +1 ab y wing")] == [
        m.span() for m in re.finditer(pattern, "штаб x1 +1 ab y wing")
    ]


def test_a_text_whose_case_differs_from_its_lower_case_is_not_searched_by_words() -> None:
    assert searchable("Волонтери Дніпра") == "волонтери дніпра"
    assert searchable("İstanbul") is None  # its lower case is longer: offsets would move
    assert searchable("ᲀолонтери") is None  # re counts "ᲀ" as a case of "в"; str.lower does not
    video = Anchored(r"\bвідео\s*:", re.IGNORECASE)
    for text in ("Фото і ᲀідео: Олена", "ВІДЕО: Олена"):
        assert [m.group() for m in video.finditer(text, searchable(text))] == [m.group() for m in video.pattern.finditer(text)] != []
