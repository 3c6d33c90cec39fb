from __future__ import annotations

import pytest

from pipelines.language import detect_language


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Волонтери відкрили пункт обігріву", "uk"),
        ("Їжа", "uk"),
        ("Волонтёры открыли пункт обогрева", "ru"),
        ("Объявление", "ru"),
        ("Допомога потрібна щодня", "uk"),
        ("Помощь нужна каждый день, пишите", "ru"),
        ("Volunteers in Dnipro opened a warming point for displaced families.", "en"),
        (
            "Волонтери з Дніпра щодня готують гарячі обіди для переселенців на вокзалі.\n\n"
            "«Мы будем работать, пока есть люди, которым нужна помощь», — сказала организатор кухни.",
            "mixed",
        ),
        ("", "und"),
        ("12345 — 678", "und"),
    ],
)
def test_detect_language(text: str, code: str) -> None:
    assert detect_language(text).code == code


def test_mixed_reports_both_shares() -> None:
    result = detect_language("Це український абзац про волонтерів і їхню роботу.\n\nЭто русский абзац, в котором объясняют всё.")
    assert result.code == "mixed"
    assert set(result.shares) == {"uk", "ru"} and all(share >= 0.2 for share in result.shares.values())


def test_long_ukrainian_text_with_a_russian_quote_stays_ukrainian() -> None:
    body = "Волонтери Кривого Рогу відкрили ще один пункт видачі гуманітарної допомоги. " * 12
    result = detect_language(body + "\n\nСпасибо всем.")
    assert result.code == "uk"


def test_repeatable() -> None:
    text = "Сбор"  # no telling letter: decided by the seeded detector
    assert len({detect_language(text).code for _ in range(5)}) == 1


def test_the_profiles_load_once_and_before_a_fork_when_asked() -> None:
    """`load_profiles` (the chain's warm-up before it forks workers) loads both factories;
    detection then reuses them, with the results of langdetect's own `detect_langs`."""
    from langdetect import detect_langs

    from pipelines import language

    language._factory.cache_clear()
    language._uk_ru_factory.cache_clear()
    language.load_profiles()
    assert language._factory.cache_info().currsize == 1 and language._uk_ru_factory.cache_info().currsize == 1
    text = "Volunteers in Dnipro raised money for generators for the city hospital this week."
    found = detect_language(text)
    assert language._factory.cache_info().misses == 1  # not loaded again
    best = detect_langs(text)[0]
    assert (found.code, found.confidence) == (best.lang, round(best.prob, 3))


def test_the_chain_warms_the_profiles_before_it_forks_workers() -> None:
    from pipelines import language
    from pipelines.chain import Chain

    language._factory.cache_clear()
    language._uk_ru_factory.cache_clear()
    Chain.for_sources(None, []).warm()
    assert language._factory.cache_info().currsize == 1 and language._uk_ru_factory.cache_info().currsize == 1
