"""Regexes guarded by their first characters find exactly what the plain ones do."""

from __future__ import annotations

import random
import re

import pytest

from pipelines.relevance import dates, engine, era, furniture, identifiers, morphology
from pipelines.relevance._regex import first_characters, guarded

TEXTS = [
    "Підписуйтеся на наш Telegram-канал! Читайте також: волонтери Дніпра зібрали 200 тис. грн.",
    "Неділя, 1 Березня, 2026, 08:55:49. ДНІПРОПЕТРОВСЬКА область, вул. Леніна 5, зона АТО.",
    "Фото: Олена Коваль. Теги: допомога, переселенці. 24.02.2022, 2023-05-01, 3/4/2022",
    "Відзначила 10-річний ювілей: організація створена у 2014 році. Міський голова Філатов.",
    "FOLLOW US on Facebook Twitter LinkedIn; Médecins Sans Frontières International Relief",
    "İstanbul ΣΑΣ ſtraße Kelvin K ᲀолонтери ı і ї є ґ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u00ad\u200b ’ʼ` -- 1x --:--",
    "",
]


def _patterns() -> list[re.Pattern[str]]:
    found = [pattern for _, _, pattern in furniture._PATTERNS]
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
