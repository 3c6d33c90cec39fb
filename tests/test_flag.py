from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import builtin_path
from crawler.errors import ConfigError
from pipelines.flag import flag_text, load_lexicon

LEXICON = load_lexicon([builtin_path("coproduction")])


@pytest.mark.parametrize(
    "text",
    [
        "Волонтерами з Дніпра зібрано три тонни продуктів для переселенців.",
        "Волонтерський штаб у Кривому Розі шукає водіїв, пишіть у телеграм-бот.",
        "Волонтёры в Днепре открыли сбор средств на генераторы, ссылка в Телеграм.",
        "Volunteers in Kryvyi Rih run a Telegram bot that matches displaced families with hosts.",
    ],
)
def test_inflected_c2c_pages_in_the_region_are_flagged(text: str) -> None:
    result = flag_text(LEXICON, text, threshold=4.0)
    assert result.flagged, result
    assert result.terms["c2c"] and result.terms["region"]


@pytest.mark.parametrize(
    "text",
    [
        "Волонтери Харкова відкрили пункт незламності.",  # no place of the region
        "Дніпровська міська рада оголосила про зміну маршрутів автобусів у Дніпрі.",  # no citizen actors
        "Вночі над Дніпропетровщиною збили дві ракети.",  # war news
    ],
)
def test_pages_missing_a_required_signal_are_not_flagged(text: str) -> None:
    assert not flag_text(LEXICON, text, threshold=4.0).flagged


def test_phrases_match_across_inflection_and_spacing() -> None:
    result = flag_text(LEXICON, "Тут ми  збираємо   кошти, а там — гуманітарного штабу немає", threshold=0)
    assert "збираємо кошт*" in result.terms["c2c"]
    assert "гуманітарн* штаб*" in result.terms["c2c"]


def test_stems_do_not_match_inside_other_words() -> None:
    assert "ОВА" not in flag_text(LEXICON, "Нова адреса: головна вулиця", threshold=0).terms.get("government", [])


def test_government_terms_lower_the_score() -> None:
    citizen = flag_text(LEXICON, "Волонтери у Дніпрі відкрили кухню.", threshold=0)
    council = flag_text(LEXICON, "Волонтери у Дніпрі відкрили кухню, каже міська рада та департамент.", threshold=0)
    assert council.score < citizen.score


def test_later_lexicon_file_adds_terms(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("signals:\n  c2c:\n    terms:\n      uk: [сусідськ* допомог*]\n", encoding="utf-8")
    lexicon = load_lexicon([builtin_path("coproduction"), extra])
    assert flag_text(lexicon, "Сусідська допомога у Павлограді", threshold=0).terms["c2c"] == ["сусідськ* допомог*"]


def test_broken_lexicon_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("signals:\n  c2c:\n    weight: heavy\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"signals\.c2c\.weight: expected a number"):
        load_lexicon([bad])
