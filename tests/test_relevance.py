"""The relevance engine: signals with evidence, and its quality on the labelled development set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.core.config import load_config
from crawler.core.documents import read_documents
from pipelines.relevance import engine_from_config
from pipelines.relevance.evaluation import evaluate
from pipelines.relevance.lexicon import load_lexicon
from pipelines.relevance.morphology import Lemmatizer, fold, tokenize
from tests.conftest import DEMO_SEEDS

DEVSET = Path(__file__).parent / "data" / "devset.jsonl"
KRYVYI_RIH = "UA12060170010065850"


@pytest.fixture(scope="module")
def engine():
    return engine_from_config(load_config(DEMO_SEEDS))


def test_development_set_meets_the_quality_bar(engine) -> None:
    report = evaluate(engine, read_documents(DEVSET, labelled=True))
    assert report.n >= 150
    assert report.recall >= 0.95, report.worst_misses
    assert report.precision >= 0.80, report.worst_misses


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Волонтери у Кривому Розі відкрили пункт видачі гуманітарної допомоги для переселенців.", "uk"),
        ("Волонтеры в Кривом Роге открыли пункт выдачи гуманитарной помощи для переселенцев.", "ru"),
    ],
)
def test_kryvyi_rih_is_found_in_ukrainian_and_russian(engine, text: str, language: str) -> None:
    verdict = engine.assess(text, language=language, published="2022-05-01")
    assert KRYVYI_RIH in {p["code"] for p in verdict.places}
    assert verdict.in_region and verdict.direction == "C2C" and verdict.flagged


def test_pokrovsk_in_donetsk_oblast_is_not_the_region(engine) -> None:
    text = "Волонтери Покровська евакуювали мешканців прифронтових сіл Донеччини, збір триває."
    verdict = engine.assess(text, language="uk", published="2022-08-01")
    assert verdict.places == [] and not verdict.in_region and not verdict.flagged


def test_government_service_is_g2c_even_when_volunteers_helped(engine) -> None:
    text = (
        "Дніпровська міська рада відкрила ще п'ять пунктів незламності у Дніпрі.\n"
        "Департамент соціальної політики організував там видачу води та зарядку телефонів. "
        "Волонтери допомагали розносити воду."
    )
    verdict = engine.assess(text, language="uk", published="2022-12-01")
    assert verdict.direction == "G2C" and not verdict.flagged
    assert verdict.direction_evidence


@pytest.mark.parametrize(
    ("published", "window", "flagged"),
    [("2022-05-01", True, True), ("2019-05-01", False, False), (None, None, True)],
)
def test_window_is_true_false_or_unknown_and_unknown_is_not_true(engine, published, window, flagged) -> None:
    text = "Волонтери з Павлограда збирають кошти на генератор для укриття, долучайтеся: t.me/pavlohrad_svitlo_test"
    verdict = engine.assess(text, language="uk", published=published)
    assert verdict.in_window is window
    assert verdict.flagged is flagged
    if window is None:
        assert any("date unknown" in reason for reason in verdict.reasons)


def test_dates_in_the_text_are_used_when_metadata_has_none(engine) -> None:
    verdict = engine.assess("14 березня 2023 року волонтери Нікополя вивезли сорок людей.", language="uk")
    assert verdict.published == "2023-03-14" and verdict.date_source == "text" and verdict.in_window is True


def test_every_verdict_keeps_its_evidence(engine) -> None:
    text = "Мешканці Жовтих Вод провели опитування переселенців, щоб спланувати допомогу. Анкета: forms.gle/testForm123"
    verdict = engine.assess(text, language="uk", published="2023-02-01")
    data = verdict.to_json()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert verdict.mode == "co-design" and verdict.mode_evidence
    assert verdict.terms["c2c_actor"][0]["sentence"].startswith("Мешканці Жовтих Вод")
    assert "online_form" in verdict.ict or "website" in verdict.ict


def test_lexicon_terms_match_inflections_phrases_and_compounds() -> None:
    lemmatizer = Lemmatizer()
    lexicon = load_lexicon([Path(__file__).parents[1] / "pipelines" / "lexicons" / "coproduction.yaml"], lemmatizer)
    text = fold("Волонтерами зібрано кошти. Збору коштів допомогли волонтерські кухні. Гуманітарного штабу немає. "
                "Пишіть у телеграм-каналі, психологи-волонтери чекають.")
    found = {(m.signal, m.term) for m in lexicon.match(tokenize(text))}
    assert ("c2c_actor", "волонтер") in found
    assert ("c2c_actor", "волонтерськ*") in found
    assert ("c2c_actor", "гуманітарний штаб") in found
    assert ("ict", "телеграм-канал") in found  # a compound's inflected form
    assert ("service", "психолог") in found  # the parts of a compound are words of their own


def test_a_term_written_inflected_matches_its_verb_not_a_noun_of_the_same_stem() -> None:
    forms = Lemmatizer().forms("допомогли")
    assert "допоможемо" in forms and "допомогли" in forms
    assert "допомоги" not in forms  # help, the noun


def test_abbreviations_match_only_in_capitals(engine) -> None:
    upper = {(m.signal, m.term) for m in engine.lexicon.match(tokenize(fold("ГО «Світло» зібрала речі.")))}
    lower = {(m.signal, m.term) for m in engine.lexicon.match(tokenize(fold("Го, сказав він, ходімо.")))}
    assert ("c2c_actor", "ГО") in upper
    assert ("c2c_actor", "ГО") not in lower


def test_verdicts_do_not_depend_on_the_engine_caches(engine) -> None:
    """The memos of word forms (lexicon, gazetteer, person features) only save work: a page
    read with them empty, full, or full of other pages' forms gets the same verdict."""
    documents = list(read_documents(DEVSET, labelled=True))[:40]

    def verdicts() -> list[dict]:
        return [
            engine.assess(d.item("evaluate").text or "", title=d.item("evaluate").title, language=language).to_json()
            for d in documents
            for language in ("uk", "ru")
        ]

    engine.clear_caches()
    cold = verdicts()
    warm = verdicts()
    engine.clear_caches()
    for d in reversed(documents):  # other forms first, in another order
        engine.assess(d.item("evaluate").text or "", language="en")
    assert verdicts() == cold == warm
    assert any(v["flagged"] for v in cold) and not all(v["flagged"] for v in cold)
