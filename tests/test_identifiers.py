"""Identifiers in texts and links, and card masking.

Every channel, number, address and card below is invented for these tests; the card numbers
are made Luhn-valid on purpose and belong to no one.
"""

from __future__ import annotations

import re

import pytest

from pipelines.relevance.identifiers import (
    IDENTIFIER_KINDS,
    Identifier,
    find_identifiers,
    mask_card_number,
    mask_cards,
)

# Invented Luhn-valid card numbers.
CARD = "4149499912345673"
CARD_2 = "5375000011112220"
CARD_3 = "9799000055554444"
CARD_19 = "4000123456789012343"
CARD_AMEX = "371400009876544"
CARD_13 = "4100000012348"
NOT_LUHN = "4149499912345678"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def pairs(text: str, links: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(i.kind, i.value) for i in find_identifiers(text, links)]


def of_kind(text: str, kind: str) -> list[str]:
    return [i.value for i in find_identifiers(text) if i.kind == kind]


def test_fixture_cards_are_luhn_valid() -> None:
    for card in (CARD, CARD_2, CARD_3, CARD_19, CARD_AMEX, CARD_13):
        assert _luhn_ok(card), card
    assert not _luhn_ok(NOT_LUHN)


# --- Telegram --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Наш канал: https://t.me/Dopomoha_Kryvbas",
        "Наш канал: http://t.me/dopomoha_kryvbas/",
        "Наш канал: t.me/dopomoha_kryvbas",
        "Наш канал: telegram.me/dopomoha_kryvbas",
        "Наш канал: https://t.me/s/dopomoha_kryvbas",
        "Звіт: https://t.me/dopomoha_kryvbas/1042",
        "Звіт: t.me/s/dopomoha_kryvbas/1042?single",
        "Звіт тут (https://t.me/dopomoha_kryvbas/1042).",
        "Підписуйтесь на @Dopomoha_Kryvbas!",
        "Телеграм-канал — @dopomoha_kryvbas.",
        "Подписывайтесь: @dopomoha_kryvbas, там все отчёты",
        "КАНАЛ: HTTPS://T.ME/DOPOMOHA_KRYVBAS",
    ],
)
def test_telegram_channel_variants(text: str) -> None:
    assert pairs(text) == [("telegram", "t.me/dopomoha_kryvbas")]


@pytest.mark.parametrize(
    "text",
    [
        "Заявки приймає бот @Dopomoha_Help_Bot",
        "Бот: https://t.me/dopomoha_help_bot?start=volunteer",
        "Бот: t.me/dopomoha_help_bot",
    ],
)
def test_telegram_bot(text: str) -> None:
    assert pairs(text) == [("telegram_bot", "t.me/dopomoha_help_bot")]


@pytest.mark.parametrize(
    "text",
    [
        "Чат волонтерів: https://t.me/+AbCdEf_12-xYz",
        "Чат волонтерів: t.me/+AbCdEf_12-xYz.",
        "Чат волонтерів: https://t.me/joinchat/AbCdEf_12-xYz",
    ],
)
def test_telegram_invite_chat_keeps_case(text: str) -> None:
    assert pairs(text) == [("telegram_chat", "t.me/+AbCdEf_12-xYz")]


def test_bot_channel_and_chat_are_told_apart() -> None:
    text = "Канал @svitlo_vilnohirsk, бот @svitlo_vilnohirsk_bot, чат t.me/+Q1w2E3r4T5."
    assert pairs(text) == [
        ("telegram", "t.me/svitlo_vilnohirsk"),
        ("telegram_bot", "t.me/svitlo_vilnohirsk_bot"),
        ("telegram_chat", "t.me/+Q1w2E3r4T5"),
    ]


def test_post_links_collapse_to_their_channel() -> None:
    text = "Звіти: t.me/pryklad_chan/10, t.me/pryklad_chan/11 та https://t.me/s/pryklad_chan/12"
    found = find_identifiers(text)
    assert [(i.kind, i.value) for i in found] == [("telegram", "t.me/pryklad_chan")]
    assert text[found[0].start : found[0].end] == "t.me/pryklad_chan/10"


@pytest.mark.parametrize(
    "text",
    [
        "Поділитися: https://t.me/share/url?url=https://pryklad-dopomoha.org.ua/news/1",
        "Швидкий перегляд: https://t.me/iv?url=https://pryklad-dopomoha.org.ua&rhash=ab12",
        "Стікери: https://t.me/addstickers/PrykladPack",
        "Приватний пост: https://t.me/c/1234567890/55",
        "Занадто коротке ім'я: @abcd",
        "Ім'я з цифри: @1volunteer",
        "Пишіть на dopomoha.kryvbas@pryklad.org.ua",
    ],
)
def test_telegram_negatives(text: str) -> None:
    kinds = {i.kind for i in find_identifiers(text)}
    assert not kinds & {"telegram", "telegram_bot", "telegram_chat"}


def test_email_is_not_a_mention() -> None:
    assert pairs("Пишіть: Volunteers.Kryvbas@Pryklad.org.ua або @volunteers_kryvbas") == [
        ("email", "volunteers.kryvbas@pryklad.org.ua"),
        ("telegram", "t.me/volunteers_kryvbas"),
    ]


def test_telegram_chat_by_phone_number_is_a_phone() -> None:
    assert pairs("Напишіть нам: https://t.me/+380671112233") == [("phone", "+380671112233")]


# --- Instagram and other networks' @handles ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ми в Instagram: https://www.instagram.com/Dopomoha.Kryvbas/",
        "Ми в Instagram: instagram.com/dopomoha.kryvbas",
        "Ми в Instagram: https://instagr.am/dopomoha.kryvbas",
        "Ми в Instagram: https://instagram.com/dopomoha.kryvbas?igsh=abc123",
        "Ролик: https://www.instagram.com/dopomoha.kryvbas/reel/Cx1AbC2dEf/",
        "Сторіз: https://www.instagram.com/stories/dopomoha.kryvbas/3141592653/",
        "Instagram: @dopomoha.kryvbas",
        "Наш інстаграм 👉 @Dopomoha.Kryvbas.",
        "Инстаграм @dopomoha.kryvbas",
    ],
)
def test_instagram_variants(text: str) -> None:
    assert pairs(text) == [("instagram", "instagram.com/dopomoha.kryvbas")]


@pytest.mark.parametrize(
    "text",
    [
        "Пост: https://www.instagram.com/p/Cx1AbC2dEf/",
        "Ролик: https://www.instagram.com/reel/Cx1AbC2dEf/",
        "Теги: https://www.instagram.com/explore/tags/волонтери/",
        "Головна: https://www.instagram.com/",
        "Наш TikTok: @dopomoha_kryvbas",
    ],
)
def test_instagram_and_other_network_negatives(text: str) -> None:
    assert pairs(text) == []


def test_mention_takes_the_nearest_platform_word() -> None:
    text = "Instagram: @pryklad.insta, Telegram: @pryklad_tg\nА ще канал @pryklad_news"
    assert pairs(text) == [
        ("instagram", "instagram.com/pryklad.insta"),
        ("telegram", "t.me/pryklad_tg"),
        ("telegram", "t.me/pryklad_news"),
    ]


# --- Facebook ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("https://www.facebook.com/DopomohaKryvbas/", "facebook.com/dopomohakryvbas"),
        ("https://m.facebook.com/dopomohakryvbas/posts/1234567/", "facebook.com/dopomohakryvbas"),
        ("facebook.com/dopomohakryvbas", "facebook.com/dopomohakryvbas"),
        ("https://fb.com/dopomohakryvbas", "facebook.com/dopomohakryvbas"),
        ("https://uk-ua.facebook.com/pg/dopomohakryvbas/about/", "facebook.com/dopomohakryvbas"),
        ("m.facebook.com/dopomohakryvbas", "facebook.com/dopomohakryvbas"),
        ("https://www.facebook.com/groups/987654321012345/", "facebook.com/groups/987654321012345"),
        ("https://www.facebook.com/groups/DopomohaKryvbas/permalink/55/", "facebook.com/groups/dopomohakryvbas"),
        ("https://www.facebook.com/profile.php?id=100012345678901&sk=about", "facebook.com/profile.php?id=100012345678901"),
        ("https://www.facebook.com/people/Dopomoha-Kryvbas/100012345678901/", "facebook.com/profile.php?id=100012345678901"),
    ],
)
def test_facebook_variants(text: str, value: str) -> None:
    assert pairs(f"Сторінка: {text}") == [("facebook", value)]


@pytest.mark.parametrize(
    "text",
    [
        "https://www.facebook.com/sharer/sharer.php?u=https%3A%2F%2Fpryklad.org.ua",
        "https://www.facebook.com/sharer.php?u=https%3A%2F%2Fpryklad.org.ua",
        "https://www.facebook.com/dialog/share?app_id=123&href=x",
        "https://www.facebook.com/tr?id=123456&ev=PageView",
        "https://www.facebook.com/plugins/page.php?href=x",
        "https://www.facebook.com/",
    ],
)
def test_facebook_negatives(text: str) -> None:
    assert pairs(text) == []


# --- monobank jars -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Банка: https://send.monobank.ua/jar/7AbCdEf12Q",
        "Банка: send.monobank.ua/jar/7AbCdEf12Q.",
        "Банка (https://send.monobank.ua/jar/7AbCdEf12Q?t=tg)",
    ],
)
def test_jar_keeps_case_of_id(text: str) -> None:
    assert pairs(text) == [("jar", "send.monobank.ua/jar/7AbCdEf12Q")]


@pytest.mark.parametrize("text", ["Банк: https://monobank.ua/", "https://send.monobank.ua/", "https://api.monobank.ua/personal"])
def test_monobank_pages_that_are_not_jars(text: str) -> None:
    assert pairs(text) == []


# --- cards -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("4149 4999 1234 5673", "4149 **** **** 5673"),
        ("4149499912345673", "4149 **** **** 5673"),
        ("4149-4999-1234-5673", "4149 **** **** 5673"),
        ("4149\u00a04999\u00a01234\u00a05673", "4149 **** **** 5673"),
        ("9799 0000 5555 4444", "9799 **** **** 4444"),
        ("4000 1234 5678 9012 343", "4000 **** **** *** 2343"),
        ("4000123456789012343", "4000 **** **** *** 2343"),
        ("3714 000098 76544", "3714 **** *** 6544"),
        ("4100000012348", "4100 **** * 2348"),
    ],
)
def test_card_formats_are_found_masked(written: str, masked: str) -> None:
    found = find_identifiers(f"Картка для донатів: {written}, дякуємо!")
    assert [(i.kind, i.value) for i in found] == [("card", masked)]
    digits = re.sub(r"\D", "", written)
    assert all(digits not in i.value for i in found)


@pytest.mark.parametrize(
    "text",
    [
        f"Довгий номер рахунку {CARD}0000",  # part of a longer digit run
        "Нулі 0000 0000 0000 0000",  # no card starts with 0
        "IBAN UA21 3223 1300 0002 6007 2335 6600 1",
        f"Токен abc{CARD}",
        f"Група https://www.facebook.com/groups/{CARD}/ та https://pryklad.org.ua/?ref={CARD}",
    ],
)
def test_card_negatives(text: str) -> None:
    assert "card" not in {i.kind for i in find_identifiers(text)}
    assert mask_cards(text) == text


@pytest.mark.parametrize(
    ("digits", "masked"),
    [
        (CARD, "4149 **** **** 5673"),
        ("4149 4999 1234 5673", "4149 **** **** 5673"),
        (CARD_13, "4100 **** * 2348"),
        ("5168 7300 0000 00", "5168 **** ** 0000"),
        (CARD_AMEX, "3714 **** *** 6544"),
        (CARD_19, "4000 **** **** *** 2343"),
    ],
)
def test_mask_card_number(digits: str, masked: str) -> None:
    assert mask_card_number(digits) == masked


@pytest.mark.parametrize("digits", ["", "1234", "414949991234", "41494999123456730000"])
def test_mask_card_number_rejects_other_lengths(digits: str) -> None:
    with pytest.raises(ValueError, match="13-19 digits"):
        mask_card_number(digits)


# --- phones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("+380 67 111 22 33", "+380671112233"),
        ("+380671112233", "+380671112233"),
        ("+38 (067) 111-22-33", "+380671112233"),
        ("+38(067)1112233", "+380671112233"),
        ("+38 067 111 22 33", "+380671112233"),
        ("380671112233", "+380671112233"),
        ("067 111 22 33", "+380671112233"),
        ("(067) 111-22-33", "+380671112233"),
        ("0671112233", "+380671112233"),
        ("067-111-22-33", "+380671112233"),
        ("067 111 2233", "+380671112233"),
        ("8 067 111 22 33", "+380671112233"),
        ("056 700 00 01", "+380567000001"),
        ("(056) 700-00-01", "+380567000001"),
        ("(0564) 70-00-01", "+380564700001"),
        ("0 800 000 111", "+380800000111"),
        ("050\u00a0000\u00a012\u00a034", "+380500001234"),
    ],
)
def test_phone_formats(written: str, value: str) -> None:
    text = f"Телефон координатора: {written}, дзвоніть з 9:00 до 18:00."
    found = find_identifiers(text)
    assert [(i.kind, i.value) for i in found] == [("phone", value)]
    assert text[found[0].start : found[0].end] == written


@pytest.mark.parametrize(
    "text",
    [
        "Збір стартував 14.05.2022 і триває до 01.09.2023.",
        "Збір стартував 2022-05-14.",
        "У 2022 2023 роках ми зібрали 1 500 грн, потім 1 250 000 грн.",
        "Гаряча лінія 1545, поліція 102, швидка 103, урядова лінія 15-80.",
        "ЄДРПОУ 12345678",
        "Номер 067 111 22 3 неповний.",
        "Номер 06711122334 задовгий.",
        "Польський номер +48 022 111 22 33.",
        "Номер 0123456789 не український.",
        f"Картка {CARD}",
        "IBAN UA210671112233000002600723356",
        "Посилання https://pryklad.org.ua/news/0671112233",
    ],
)
def test_phone_negatives(text: str) -> None:
    assert "phone" not in {i.kind for i in find_identifiers(text)}


def test_two_phones_in_a_row() -> None:
    text = "Телефони: 067 111 22 33 050 000 12 34"
    assert of_kind(text, "phone") == ["+380671112233", "+380500001234"]


# --- emails, websites, EDRPOU ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("Info@Pryklad-Dopomoha.org.ua", "info@pryklad-dopomoha.org.ua"),
        ("volonter.kryvbas+zbir@pryklad.com.ua", "volonter.kryvbas+zbir@pryklad.com.ua"),
        ("help_2024@pryklad.ua", "help_2024@pryklad.ua"),
    ],
)
def test_email(written: str, value: str) -> None:
    assert pairs(f"Пишіть: {written}.") == [("email", value)]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("https://pryklad-dopomoha.org.ua", "pryklad-dopomoha.org.ua"),
        ("https://www.Pryklad-Dopomoha.org.ua/news/zbir-2024?utm=tg", "pryklad-dopomoha.org.ua"),
        ("http://pryklad-dopomoha.org.ua:8080/index.php", "pryklad-dopomoha.org.ua"),
        ("www.pryklad-dopomoha.org.ua/contacts", "pryklad-dopomoha.org.ua"),
        ("https://сайт-допомоги.укр/про-нас", "сайт-допомоги.укр"),
        ("https://forms.gle/AbC123xYz", "forms.gle/AbC123xYz"),
        ("https://docs.google.com/forms/d/e/1FAIpQLSfAbC123/viewform?usp=sf_link", "docs.google.com/forms/d/e/1FAIpQLSfAbC123"),
        ("https://docs.google.com/forms/d/1AbCdEf/edit", "docs.google.com/forms/d/1AbCdEf"),
    ],
)
def test_website(written: str, value: str) -> None:
    assert pairs(f"Деталі на сайті ({written}).") == [("website", value)]


def test_different_google_forms_differ() -> None:
    text = "Анкета волонтера: https://forms.gle/FormOne11, анкета отримувача: https://forms.gle/FormTwo22"
    assert of_kind(text, "website") == ["forms.gle/FormOne11", "forms.gle/FormTwo22"]


def test_bare_domain_in_prose_is_not_a_website() -> None:
    assert pairs("Детальніше на pryklad-dopomoha.org.ua або у файлі zvit.pdf.") == []


@pytest.mark.parametrize(
    "text",
    [
        "ЄДРПОУ 40123456",
        "Код ЄДРПОУ: 40123456",
        "код за ЄДРПОУ — 40123456",
        "ЕДРПОУ 40123456",
        "Код ЕГРПОУ 40123456",
        "EDRPOU code: 40123456",
        "ідентифікаційний код 40123456",
    ],
)
def test_edrpou_with_context(text: str) -> None:
    assert pairs(f"БФ «Приклад», {text}, м. Кривий Ріг") == [("edrpou", "40123456")]


@pytest.mark.parametrize(
    "text",
    [
        "Зібрали 40123456 гривень",
        "ЄДРПОУ 4012345",
        "ЄДРПОУ 401234567",
        "ЄДРПОУ, а далі дуже довгий текст без цифр і лише потім 40123456",
        "Промокод 40123456 на знижку",
    ],
)
def test_edrpou_negatives(text: str) -> None:
    assert "edrpou" not in {i.kind for i in find_identifiers(text)}


# --- links -------------------------------------------------------------------------------------


def test_links_only_identifiers_have_no_offsets() -> None:
    links = (
        "https://t.me/Pryklad_Chan",
        "mailto:Info@Pryklad.org.ua?subject=Допомога",
        "tel:+380671112233",
        "tel:067-111-22-33",
        "https://send.monobank.ua/jar/9ZyXwV8u7T",
        "https://www.instagram.com/pryklad.chan/",
        "tg://resolve?domain=pryklad_help_bot",
        "viber://chat?number=%2B380500001234",
        "https://wa.me/380631234567",
        "https://Pryklad.org.ua/about",
        "/news/123",
        "#top",
        "javascript:void(0)",
        "tel:1545",
        "https://www.facebook.com/sharer/sharer.php?u=x",
    )
    found = find_identifiers("", links)
    assert [(i.kind, i.value) for i in found] == [
        ("telegram", "t.me/pryklad_chan"),
        ("email", "info@pryklad.org.ua"),
        ("phone", "+380671112233"),
        ("jar", "send.monobank.ua/jar/9ZyXwV8u7T"),
        ("instagram", "instagram.com/pryklad.chan"),
        ("telegram_bot", "t.me/pryklad_help_bot"),
        ("phone", "+380500001234"),
        ("phone", "+380631234567"),
        ("website", "pryklad.org.ua"),
    ]
    assert all((i.start, i.end) == (-1, -1) for i in found)


def test_dedup_keeps_first_appearance_text_before_links() -> None:
    text = "Канал @pryklad_chan. Ще раз: https://t.me/pryklad_chan/7. Тел. 067 111 22 33 або +380671112233."
    found = find_identifiers(text, ["https://t.me/pryklad_chan", "https://t.me/another_chan", "tel:0671112233"])
    assert [(i.kind, i.value, i.start) for i in found] == [
        ("telegram", "t.me/pryklad_chan", text.index("@pryklad_chan")),
        ("phone", "+380671112233", text.index("067")),
        ("telegram", "t.me/another_chan", -1),
    ]


def test_offsets_point_at_the_text() -> None:
    text = "Банка https://send.monobank.ua/jar/7AbCdEf12Q, пошта a.b@pryklad.ua, ЄДРПОУ 40123456."
    found = {i.kind: text[i.start : i.end] for i in find_identifiers(text)}
    assert found == {
        "jar": "https://send.monobank.ua/jar/7AbCdEf12Q",
        "email": "a.b@pryklad.ua",
        "edrpou": "40123456",
    }


def test_offsets_survive_characters_that_lowercase_to_two() -> None:
    text = "İZMİR İ канал https://T.me/Pryklad_Chan і пошта Info@Pryklad.ua, ЄДРПОУ 40123456"
    found = find_identifiers(text)
    assert [(i.kind, i.value, text[i.start : i.end]) for i in found] == [
        ("telegram", "t.me/pryklad_chan", "https://T.me/Pryklad_Chan"),
        ("email", "info@pryklad.ua", "Info@Pryklad.ua"),
        ("edrpou", "40123456", "40123456"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ми в TikTok: https://www.tiktok.com/@pryklad_chan", [("website", "tiktok.com")]),
        ("Форма: https://pryklad.org.ua/?mail=info@pryklad.org.ua&tel=0671112233", [("website", "pryklad.org.ua")]),
        ("Пишіть: 0671112233@pryklad.ua", [("email", "0671112233@pryklad.ua")]),
        ("Пошта info@www.pryklad.org.ua", [("email", "info@www.pryklad.org.ua")]),
    ],
)
def test_nothing_is_read_twice(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


def test_identifier_is_frozen() -> None:
    ident = find_identifiers("@pryklad_chan")[0]
    assert ident == Identifier("telegram", "t.me/pryklad_chan", 0, 13)
    with pytest.raises(AttributeError):
        ident.value = "t.me/other"  # type: ignore[misc]


# --- mask_cards --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Картка: 4149 4999 1234 5673", "Картка: 4149 **** **** 5673"),
        ("Картка: 4149499912345673.", "Картка: 4149 **** **** 5673."),
        ("Картка: 4149-4999-1234-5673!", "Картка: 4149 **** **** 5673!"),
        ("Реквизиты карты: 4149 4999 1234 5673 (Приват)", "Реквизиты карты: 4149 **** **** 5673 (Приват)"),
        ("Номер картки—4149499912345673—monobank", "Номер картки—4149 **** **** 5673—monobank"),
        ("💳4149499912345673\n💳5375 0000 1111 2220", "💳4149 **** **** 5673\n💳5375 **** **** 2220"),
        ("Карта ПриватБанку:9799000055554444", "Карта ПриватБанку:9799 **** **** 4444"),
        ("Тел. 0671112233 4149 4999 1234 5673", "Тел. 0671112233 4149 **** **** 5673"),
    ],
)
def test_mask_cards(text: str, masked: str) -> None:
    assert mask_cards(text) == masked
    assert mask_cards(masked) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"Картка {NOT_LUHN[:4]} {NOT_LUHN[4:8]} {NOT_LUHN[8:12]} {NOT_LUHN[12:]}", "Картка 4149 **** **** 5678"),
        (f"Номер {NOT_LUHN}", "Номер 4149 **** **** 5678"),
        ("Моно 4149 6090 1234 5678, дякуємо", "Моно 4149 **** **** 5678, дякуємо"),
        # 18 digits in one group: card-like, so masked, whatever it is.
        (f"Рахунок 12{CARD}", "Рахунок 1241 **** **** ** 5673"),
    ],
)
def test_a_card_number_that_fails_the_luhn_check_is_masked_too(text: str, masked: str) -> None:
    # Security finding 1 of issue 14: a mistyped (or invented) card is still masked.
    assert not _luhn_ok(re.sub(r"\D", "", text))
    assert mask_cards(text) == masked
    assert [i.kind for i in find_identifiers(text)] == ["card"]


def test_mask_cards_leaves_other_digits_alone() -> None:
    text = (
        "Тел. +38 (067) 111-22-33, 056 700 00 01. Збір з 14.05.2022 по 2024-01-31, "
        "зібрано 1 250 000 грн. ЄДРПОУ 40123456. Рахунок UA21 3223 1300 0002 6007 2335 6600 1. "
        f"Номер 0000 0000 0000 0000. Група https://www.facebook.com/groups/{CARD}/"
    )
    assert mask_cards(text) == text


def test_mask_cards_is_idempotent_when_a_masked_tail_starts_another_card() -> None:
    # The last four digits of the first card begin a second Luhn-valid run of four groups.
    text = "Картки: 4149 4999 1234 5673 1111 2222 1005"
    once = mask_cards(text)
    assert once == "Картки: 4149 **** **** 5673 **** **** 1005"
    assert mask_cards(once) == once


def test_find_identifiers_reads_masked_cards_back() -> None:
    text = f"Картка {CARD}, ще одна 5375 0000 1111 2220, тел. 067 111 22 33"
    assert pairs(mask_cards(text)) == pairs(text) == [
        ("card", "4149 **** **** 5673"),
        ("card", "5375 **** **** 2220"),
        ("phone", "+380671112233"),
    ]


POST = """\
🔥 ТЕРМІНОВИЙ ЗБІР НА ГЕНЕРАТОР ДЛЯ ПУНКТУ НЕЗЛАМНОСТІ 🔥

Друзі, у селищі Приклад-Зелене вже третій день немає світла. Ми, ініціатива «Світло разом»,
збираємо 85 000 грн на генератор для пункту незламності при школі №3 (вул. Вигадана, 12).
Станом на 03.12.2023 зібрано 41 250 грн.

💳 Приват: 4149 4999 1234 5673
💳 Моно: 5375000011112220
💳 ПУМБ: 9799-0000-5555-4444
🫙 Банка: https://send.monobank.ua/jar/7AbCdEf12Q

Для юросіб: БФ «Світло разом», ЄДРПОУ 40123456, IBAN UA21 3223 1300 0002 6007 2335 6600 1.
Контакти координаторки: 067 111 22 33 (Viber, Telegram), резерв +380500001234.

Русскоязычным друзьям: реквизиты карты те же — 4149499912345673, спасибо за любую помощь!
Звіт про попередній збір (генератор 5 кВт за 38 900 грн, чек №2023120145): t.me/svitlo_razom/214
"""


def test_no_luhn_valid_card_survives_masking_in_a_post() -> None:
    masked = mask_cards(POST)
    for card in (CARD, CARD_2, CARD_3):
        assert card not in re.sub(r"[ \u00a0-]", "", masked)
    for m in re.finditer(r"(?<![0-9])[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}(?![0-9])", masked):
        assert not _luhn_ok(re.sub(r"\D", "", m.group())), m.group()
    for m in re.finditer(r"[0-9]{13,19}", masked):
        assert not _luhn_ok(m.group()) or m.group().startswith("0"), m.group()
    # Everything that is not a card is left as it was.
    assert "067 111 22 33" in masked and "+380500001234" in masked
    assert "03.12.2023" in masked and "41 250 грн" in masked and "ЄДРПОУ 40123456" in masked
    assert "UA21 3223 1300 0002 6007 2335 6600 1" in masked and "№2023120145" in masked
    assert masked.count("4149 **** **** 5673") == 2
    assert mask_cards(masked) == masked


def test_post_identifiers() -> None:
    assert pairs(POST) == [
        ("card", "4149 **** **** 5673"),
        ("card", "5375 **** **** 2220"),
        ("card", "9799 **** **** 4444"),
        ("jar", "send.monobank.ua/jar/7AbCdEf12Q"),
        ("edrpou", "40123456"),
        ("phone", "+380671112233"),
        ("phone", "+380500001234"),
        ("telegram", "t.me/svitlo_razom"),
    ]


# --- a whole page ------------------------------------------------------------------------------

_FILLER = (
    "Волонтери нашої громади щотижня збираються в укритті на вулиці Вигаданій, щоб сортувати "
    "гуманітарну допомогу, плести маскувальні сітки та готувати обіди для переселенців. "
    "За минулий місяць ми видали 312 продуктових наборів, 1 500 грн коштувала доставка одного "
    "палету, а загалом на логістику пішло 27 300 грн. Дякуємо всім, хто долучився 14.05.2023 та "
    "21.05.2023 до великого толоки! Наступна зустріч — у суботу о 10:00, беріть рукавиці. "
    "Гаряча лінія 1545 працює цілодобово, а у разі небезпеки телефонуйте 101 або 102.\n\n"
)

_FILLER_RU = (
    "Для тех, кто читает по-русски: мы принимаем тёплые вещи, лекарства и консервы каждый вторник "
    "и четверг с 12:00 до 17:00. В прошлом году через пункт прошло более 4 000 семей, а 25.12.2023 "
    "мы провели праздник для 180 детей. Цены на доставку выросли до 2 400 грн за рейс, поэтому "
    "любая помощь важна. Спасибо всем, кто с нами с 2022 года!\n\n"
)

_FILLER_STORY = (
    "Історія тижня: пані Галина, якій 78 років, щодня пече пиріжки для волонтерів пункту обігріву. "
    "Її онук Максим ремонтує павербанки, а сусіди з будинку №14 привезли 3 буржуйки та 120 кг дров. "
    "Разом ми відновили дах над спортзалом школи, на що витратили 64 800 грн і 9 вихідних днів. "
    "Якщо маєте вільні руки, інструменти чи транспорт — приходьте, роботи вистачить усім.\n\n"
)

PAGE = (
    "ІНІЦІАТИВА «ДОБРІ СУСІДИ ПРИКЛАДНОГО» — ЗВІТ І КОНТАКТИ\n\n"
    + _FILLER
    + "Головна сторінка проєкту: https://dobri-susidy.pryklad.org.ua/zvit-2023. Новини публікуємо в "
    "каналі @dobri_susidy_pryklad (архів: https://t.me/s/dobri_susidy_pryklad/1200), а заявки "
    "на допомогу приймає бот @DobriSusidyBot. Для координації є закритий чат t.me/+Zx9Yw8Vu7Ts.\n\n"
    + _FILLER_STORY
    + _FILLER_RU
    + "Фото з толок — в Instagram: @dobri.susidy, а довші історії на сторінці "
    "https://www.facebook.com/dobrisusidy.pryklad/ та в групі "
    "https://www.facebook.com/groups/551234567890123/. Анкета волонтера: https://forms.gle/Dobri1Form2, "
    "анкета для отримувачів: https://docs.google.com/forms/d/e/1FAIpQLSdVyhadana/viewform?usp=sf_link.\n\n"
    + _FILLER
    + "Підтримати фінансово: банка https://send.monobank.ua/jar/5QwErTy123, картка "
    "4400 1111 9999 0006 (Оксана В.) або 5168000024681352. Офіційно: ГО «Добрі сусіди», "
    "код ЄДРПОУ 43210987. Пишіть на dobri.susidy@pryklad.org.ua чи zvity@pryklad.org.ua, "
    "дзвоніть +38 (050) 000-12-34 або в офіс (056) 700-00-01. Ще телефон 0671112233.\n\n"
    + _FILLER_RU
    + _FILLER_STORY
    + "Дружній проєкт сусідньої громади: www.druzi-pryklad.com.ua; їхній канал t.me/druzi_pryklad/15.\n"
    + _FILLER
    + _FILLER_STORY
    + _FILLER_RU
)

PAGE_LINKS = (
    "https://t.me/dobri_susidy_pryklad",
    "mailto:dobri.susidy@pryklad.org.ua",
    "https://www.instagram.com/dobri.susidy/",
    "https://www.youtube.com/@dobrisusidy",
    "tel:+380930001122",
)


def test_whole_page_identifiers() -> None:
    assert 4500 <= len(PAGE) <= 6000
    found = find_identifiers(PAGE, PAGE_LINKS)
    assert {(i.kind, i.value) for i in found} == {
        ("website", "dobri-susidy.pryklad.org.ua"),
        ("telegram", "t.me/dobri_susidy_pryklad"),
        ("telegram_bot", "t.me/dobrisusidybot"),
        ("telegram_chat", "t.me/+Zx9Yw8Vu7Ts"),
        ("instagram", "instagram.com/dobri.susidy"),
        ("facebook", "facebook.com/dobrisusidy.pryklad"),
        ("facebook", "facebook.com/groups/551234567890123"),
        ("website", "forms.gle/Dobri1Form2"),
        ("website", "docs.google.com/forms/d/e/1FAIpQLSdVyhadana"),
        ("jar", "send.monobank.ua/jar/5QwErTy123"),
        ("card", "4400 **** **** 0006"),
        ("card", "5168 **** **** 1352"),
        ("edrpou", "43210987"),
        ("email", "dobri.susidy@pryklad.org.ua"),
        ("email", "zvity@pryklad.org.ua"),
        ("phone", "+380500001234"),
        ("phone", "+380567000001"),
        ("phone", "+380671112233"),
        ("website", "druzi-pryklad.com.ua"),
        ("telegram", "t.me/druzi_pryklad"),
        ("website", "youtube.com"),
        ("phone", "+380930001122"),
    }
    assert len(found) == len({(i.kind, i.value) for i in found})
    assert all(i.kind in IDENTIFIER_KINDS for i in found)
    in_text = [i for i in found if i.start >= 0]
    assert [i.start for i in in_text] == sorted(i.start for i in in_text)
    assert [(i.kind, i.value) for i in found if i.start < 0] == [("website", "youtube.com"), ("phone", "+380930001122")]
