"""The failure classes seen on real pages, each as a rule of the phenomenon, on texts written
for these tests (none comes from the real labelled pages)."""

from __future__ import annotations

import pytest

from crawler.core.config import load_config
from pipelines.relevance import engine_from_config
from pipelines.relevance.era import anniversary_year
from pipelines.relevance.furniture import strip_furniture
from pipelines.relevance.pagetype import page_type
from tests.conftest import DEMO_SEEDS


@pytest.fixture(scope="module")
def engine():
    return engine_from_config(load_config(DEMO_SEEDS))


def test_citizens_equipping_soldiers_directly_are_c2c_and_flagged(engine) -> None:
    text = (
        "Мешканці Павлограда за тиждень зібрали 180 тисяч гривень на тепловізор для бригади, де служать їхні сусіди.\n"
        "Волонтерки самі купили прилад і передали його хлопцям напряму. Збираємо далі — на дрон: "
        "https://send.monobank.ua/jar/9ZyXwVuTs1"
    )
    verdict = engine.assess(text, language="uk", published="2023-02-10")
    assert verdict.direction == "C2C"
    assert verdict.flagged and verdict.out_reason is None


@pytest.mark.parametrize(
    ("text", "before"),
    [
        ("Волонтери у Дніпропетровську зібрали речі для бійців, які тримають оборону в зоні АТО.", 2016),
        ("Студенти Дніпропетровського національного університету допомагають переселенцям зі Сходу.", 2016),
        ("Мешканці Петриківського району відправили на фронт три тонни овочів.", 2020),
    ],
)
def test_names_out_of_use_date_an_undated_page_before_the_window(engine, text, before) -> None:
    verdict = engine.assess(text, language="uk")
    assert verdict.in_window is False and not verdict.flagged
    assert "era" in (verdict.out_reason or "") or "before the window" in " ".join(verdict.reasons)
    assert any(cue.before == before for cue in engine.era.find(text))


def test_the_oblast_kept_its_name_so_it_is_no_era_cue(engine) -> None:
    text = "Волонтери Дніпропетровської області відкрили ще один пункт видачі гуманітарної допомоги для переселенців."
    assert engine.era.find(text) == []
    assert engine.assess(text, language="uk").in_window is None


def test_an_anniversary_of_a_founding_year_dates_the_page() -> None:
    year, evidence = anniversary_year("Громадська організація відзначила 7-річчя. Її створили у 2017 році мешканці Нікополя.")
    assert year == 2024 and "2017" in evidence


def test_a_today_clock_and_a_weather_widget_are_not_the_publication_date(engine) -> None:
    text = (
        "Субота, 29 Березня, 2025, 17:23:29 weather-icon +13 ˚C\n"
        "Волонтери Кривого Рогу облаштували пункт обігріву для переселенців у колишній їдальні. "
        "Пишіть у Telegram-чат, якщо потрібна допомога."
    )
    cleaned = strip_furniture(text)
    assert "2025" not in cleaned.text and "clock" in cleaned.kinds
    verdict = engine.assess(text, language="uk")
    assert verdict.published is None and verdict.in_window is None


def test_a_reference_date_is_not_the_publication_date(engine) -> None:
    verdict = engine.assess("З 24 лютого 2022 року волонтери Нікополя годують сусідів у дворі школи.", language="uk")
    assert verdict.published is None and verdict.in_window is None


def test_where_displaced_people_came_from_is_not_where_the_initiative_works(engine) -> None:
    text = (
        "У Дніпрі родини, які приїхали з Харкова, Ізюма та Маріуполя, самі відкрили безкоштовну кухню для переселенців. "
        "Волонтери щодня готують обіди для двохсот людей."
    )
    verdict = engine.assess(text, language="uk", published="2022-05-01")
    assert verdict.in_region and verdict.flagged
    assert verdict.signals.get("origins") == 1.0 and not verdict.signals.get("elsewhere_activity")


def test_the_aggressor_state_is_not_a_place_of_work(engine) -> None:
    text = "Волонтери Кам'янського прихистили сім'ї зі зруйнованих росією міст і допомагають їм з житлом."
    verdict = engine.assess(text, language="uk", published="2022-07-01")
    assert verdict.in_region and not verdict.signals.get("elsewhere_activity")


def test_an_evacuation_run_in_another_oblast_is_out_of_region(engine) -> None:
    text = (
        "Волонтери Дніпра вивезли з Бахмута та Соледара ще 40 людей.\n"
        "Евакуаційна група з Дніпра третій місяць їздить на Донеччину, людей довозять до потяга на захід країни."
    )
    verdict = engine.assess(text, language="uk", published="2022-08-01")
    assert not verdict.in_region and not verdict.flagged
    assert verdict.out_reason and verdict.out_reason.startswith("the region's volunteers")


def test_evacuees_brought_into_the_region_are_in_region(engine) -> None:
    text = "Волонтери вивезли з Бахмута 30 людей і привезли їх до Павлограда, де переселенців прихистили у гуртожитку."
    verdict = engine.assess(text, language="uk", published="2022-08-01")
    assert verdict.in_region and verdict.out_reason is None


def test_citizens_named_by_generic_words_outweigh_a_state_body_in_the_background(engine) -> None:
    text = (
        "Мешканці будинку на вулиці Ярмарковій у Кам'янському власноруч облаштували укриття у підвалі.\n"
        "Підвал на балансі комунального підприємства, але міська програма ремонту укриттів цього року не фінансується, "
        "тож люди самі скинулися на вентиляцію і лавки."
    )
    verdict = engine.assess(text, language="uk", published="2022-11-02")
    assert verdict.direction == "C2C" and verdict.flagged


def test_a_hub_set_up_by_the_city_is_g2c_though_described_in_civic_words(engine) -> None:
    text = (
        "З ініціативи міського голови у Жовтих Водах запрацював гуманітарний штаб громади.\n"
        "Штаб створено при виконавчому комітеті, видачу продуктових наборів ведуть працівники управління соцзахисту, "
        "допомагають волонтери."
    )
    verdict = engine.assess(text, language="uk", published="2022-04-01")
    assert verdict.direction == "G2C"
    assert verdict.signals.get("state_initiative") == 1.0


def test_an_official_named_only_by_name_meeting_volunteers_is_the_states_story(engine) -> None:
    text = (
        "Олег Ткаченко зустрівся з волонтерами Нікопольщини.\n"
        "Під час зустрічі обговорили координацію видачі допомоги, волонтерам вручили подяки."
    )
    verdict = engine.assess(text, language="uk", published="2023-03-01")
    assert verdict.direction == "G2C"


@pytest.mark.parametrize(
    "text",
    [
        "Жителі Марганця отримали продуктові набори від Фонду Ріната Ахметова.",
        "Банк передав генератори лікарням Дніпра в межах корпоративної програми.",
        "Міжнародна гуманітарна організація за фінансування донорів роздала мешканцям Нікополя будматеріали.",
        "Представники політичної партії разом з однопартійцями привезли воду в село Покровської громади.",
    ],
)
def test_corporate_oligarch_party_and_agency_aid_is_not_c2c(engine, text) -> None:
    verdict = engine.assess(text, language="uk", published="2022-10-01")
    assert verdict.direction != "C2C"
    assert verdict.signals.get("non_citizen") == 1.0


def test_an_outlets_own_furniture_is_not_the_initiatives_ict_or_call(engine) -> None:
    text = (
        "Дніпровська міська рада оновила графік роботи пунктів обігріву.\n"
        "Підписуйтеся на наш Telegram-канал, щоб не пропустити новини міста! Підтримайте наше видання донатом."
    )
    cleaned = strip_furniture(text)
    assert {"subscribe", "outlet_appeal"} <= set(cleaned.kinds)
    verdict = engine.assess(text, language="uk", published="2022-12-01")
    assert "telegram" not in verdict.ict
    assert not verdict.signals.get("initiative_call")


@pytest.mark.parametrize(
    "text",
    [
        "In Kriviy Rig, retired teachers knit warm socks for displaced children and deliver them to shelters.",
        "Volunteers in Krivyi Rih cook hot meals for families who fled the shelling.",
    ],
)
def test_english_text_with_other_romanisations_finds_the_place(engine, text) -> None:
    verdict = engine.assess(text, language="en", published="2022-04-01")
    assert "Кривий Ріг" in {p["name"] for p in verdict.places}
    assert verdict.in_region and verdict.flagged


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://news.example/tag/volontery/", "listing"),
        ("https://news.example/category/society/page/3/", "listing"),
        ("https://news.example/", "listing"),
        ("https://news.example/ru/", "listing"),
        ("https://news.example/?p=155652", "article"),
        ("https://news.example/poll", "article"),
        ("https://news.example/news/2022/05/kukhnia-dlia-pereselentsiv", "article"),
    ],
)
def test_listing_pages_are_told_by_their_address(url, kind) -> None:
    assert page_type(url, "Волонтери відкрили кухню.")[0] == kind


def test_a_listing_page_is_out_with_its_reason(engine) -> None:
    text = "Тег: волонтери\nВолонтери Дніпра відкрили кухню для переселенців. Детальніше\nКриворіжці зібрали на генератор. Детальніше"
    verdict = engine.assess(text, language="uk", published="2022-05-01", url="https://news.example/tag/volontery/")
    assert verdict.page_type == "listing" and not verdict.flagged
    assert "articles are the candidates" in (verdict.out_reason or "")


def test_a_state_announcement_with_no_citizen_actor_is_out_with_its_reason(engine) -> None:
    text = "Дніпровська міська рада повідомляє: з понеділка змінюється графік руху тролейбусів на лівому березі."
    verdict = engine.assess(text, language="uk", published="2022-06-01")
    assert not verdict.flagged and "no citizen" in (verdict.out_reason or "")


def test_a_page_dated_outside_the_window_is_out_with_its_reason(engine) -> None:
    text = "Волонтери Дніпра відкрили пункт незламності у дворі багатоповерхівки, долучайтеся."
    verdict = engine.assess(text, language="uk", published="2024-11-01")
    assert not verdict.flagged and "outside the study window" in (verdict.out_reason or "")


def test_recall_first_a_c2c_page_reaches_the_queue_when_the_direction_guess_is_not_c2c(engine) -> None:
    """The flag is the probability, not the direction guess: citizens acting in the region
    with a state body named first still reach the queue."""
    text = (
        "Міська рада надала приміщення, а волонтери громадської організації «Тепло поруч» облаштували там пункт "
        "видачі одягу для переселенців у Кривому Розі. Волонтерки щодня приймають речі від мешканців і розбирають їх."
    )
    verdict = engine.assess(text, language="uk", published="2022-10-10")
    assert verdict.out_reason is None
    assert verdict.flagged


def test_every_verdict_names_the_signals_that_moved_it(engine) -> None:
    verdict = engine.assess("Волонтери Нікополя збирають на генератор для укриття, долучайтеся!", language="uk", published="2022-12-01")
    assert verdict.explanation and all(row["signal"] in verdict.signals for row in verdict.explanation)
    assert 0.0 < verdict.probability < 1.0 and verdict.score == verdict.probability
    assert any(reason.startswith("moved most by:") for reason in verdict.reasons)
