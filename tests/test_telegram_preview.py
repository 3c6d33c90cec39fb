"""The Telegram channel preview parser (`spiders.telegram_preview`).

Four sources of pages: the real preview page and message fragments in the shared real-data
folder (skipped when it is absent), small hand-written pages in ``tests/data/telegram/``,
the fixture channel of the sample web (``crawler/app/demo/web/telegram.test/``, checked against
its ``CHANNELS.yaml``), and malformed or hostile inputs built here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from crawler.app.demo.server import Site, default_root
from spiders.telegram_preview import Post, PreviewError, PreviewPage, parse_preview

DATA = Path(__file__).parent / "data" / "telegram"
REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
REAL = REALDATA / "telegram-any2feed"
FIXTURE_SITE = default_root() / "telegram.test"
CHANNELS = yaml.safe_load((FIXTURE_SITE / "CHANNELS.yaml").read_text(encoding="utf-8"))
FIXTURE_BASE = "http://telegram.test"

needs_realdata = pytest.mark.skipif(not REAL.is_dir(), reason=f"real Telegram pages not available ({REAL} is absent)")


def message(inner: str, post: str = "test_kanal/7", extra_class: str = "") -> str:
    """One message block in the preview's markup, as a fragment."""
    return (
        f'<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message js-widget_message {extra_class}" '
        f'data-post="{post}"><div class="tgme_widget_message_bubble">{inner}</div></div></div>'
    )


def footer(views: str = "10", stamp: str = "2022-05-01T10:00:00+00:00") -> str:
    return (
        f'<div class="tgme_widget_message_footer"><span class="tgme_widget_message_views">{views}</span>'
        f'<a class="tgme_widget_message_date" href="https://t.me/test_kanal/7"><time datetime="{stamp}" class="time">13:00</time></a></div>'
    )


def text(body: str) -> str:
    return f'<div class="tgme_widget_message_text js-message_text" dir="auto">{body}</div>'


def page(*messages: str, more: str = "") -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><meta property="og:title" content="Тест"></head><body>'
        f'<main class="tgme_main" data-url="/test_kanal"><section class="tgme_channel_history js-message_history">{more}{"".join(messages)}'
        "</section></main></body></html>"
    )


# --- the real preview page and fragments ------------------------------------------------

REAL_IDS_AND_DATES = [
    (70989, "2023-02-28T07:47:53+00:00"),
    (70990, "2023-02-28T08:09:50+00:00"),
    (70992, "2023-02-28T08:51:58+00:00"),
    (70995, "2023-02-28T08:54:50+00:00"),
    (70996, "2023-02-28T09:06:02+00:00"),
    (70997, "2023-02-28T10:00:03+00:00"),
    (70998, "2023-02-28T10:29:08+00:00"),
    (70999, "2023-02-28T10:43:08+00:00"),
    (71000, "2023-02-28T10:52:36+00:00"),
    (71006, "2023-02-28T12:48:58+00:00"),
    (71007, "2023-02-28T13:02:00+00:00"),
    (71008, "2023-02-28T13:14:03+00:00"),
]


@needs_realdata
def test_real_preview_page_gives_its_twelve_posts_in_page_order() -> None:
    found = parse_preview((REAL / "full.html").read_bytes())
    assert [(p.post_id, p.published.isoformat() if p.published else None) for p in found.posts] == REAL_IDS_AND_DATES
    assert found.problems == ()
    assert found.channel == "topwar_official"
    assert found.title
    assert found.before == 70989 and found.has_older
    first = found.posts[0]
    assert first.url == "https://t.me/topwar_official/70989"
    assert first.published == datetime(2023, 2, 28, 7, 47, 53, tzinfo=timezone.utc)
    assert first.views == 37200 and first.media == ("photo",)
    assert "\n" in first.text and first.text == first.text.strip()
    assert all(p.text for p in found.posts)


@needs_realdata
def test_real_page_album_forward_and_link_preview() -> None:
    posts = {p.post_id: p for p in parse_preview((REAL / "full.html").read_text(encoding="utf-8")).posts}
    album = posts[70992]  # three media in one post; its caption sits in a nested text block
    assert album.media == ("photo", "video") and album.text and "\n" not in album.text
    forwarded = posts[70996]
    assert forwarded.forwarded_from
    assert "link_preview" in forwarded.media
    assert "yaremshooter" in forwarded.mentions
    assert "https://t.me/infantmilitario/93419" in forwarded.links
    assert all(link.startswith(("http://", "https://")) for post in posts.values() for link in post.links)


@needs_realdata
@pytest.mark.parametrize(
    ("fragment", "post_id", "check"),
    [
        ("message_text.html", 70991, lambda p: p.text.count("\n\n") == 2 and p.views == 33400 and p.media == ()),
        ("message_link_preview.html", 22360, lambda p: p.media == ("link_preview",) and p.links == (p.text,)),
        ("message_media_forwarded_from.html", 22358, lambda p: p.forwarded_from == "Пул N3" and p.media == ("photo",)),
        ("message_with_from_author.html", 4, lambda p: p.author == "🅰️rkadiy Ivanov" and p.text == "test" and p.views == 1),
        ("message_poll.html", 488, lambda p: p.media == ("poll",) and p.poll == "Как лучше?" and p.text == "" and p.views == 1100),
    ],
)
def test_real_message_fragments(fragment: str, post_id: int, check) -> None:
    found = parse_preview((REAL / fragment).read_bytes())
    assert [p.post_id for p in found.posts] == [post_id]
    assert found.problems == ()
    assert found.title  # a fragment has no channel header; the message's owner name stands in
    post = found.posts[0]
    assert post.published is not None and post.published.tzinfo is not None
    assert check(post), post


# --- hand-written pages -----------------------------------------------------------------


@pytest.fixture(scope="module")
def features() -> PreviewPage:
    return parse_preview((DATA / "features.html").read_bytes(), base_url="http://telegram.test/")


def by_id(found: PreviewPage) -> dict[int, Post]:
    return {p.post_id: p for p in found.posts}


def test_page_fields_and_cursor(features: PreviewPage) -> None:
    assert features.channel == "kamianske_poruch"  # the page prints Kamianske_Poruch
    assert features.title == "Кам'янське поруч 🏡"
    assert [p.post_id for p in features.posts] == [201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 212, 213, 216]
    assert features.before == 201 and features.has_older  # data-before, not the data-after link below
    assert features.problems == ("kamianske_poruch/211: service message, skipped",)


def test_text_post_fields(features: PreviewPage) -> None:
    post = by_id(features)[201]
    assert post.channel == "kamianske_poruch"
    assert post.url == "http://telegram.test/kamianske_poruch/201"
    assert post.published == datetime(2023, 3, 4, 8, 15, tzinfo=timezone.utc)
    assert post.text == (
        "Збираємо на бойлер для гуртожитку переселенців 🔥\n\n"
        "Банка: send.monobank.ua/jar/6YhNm2QwE9\n"
        "Питання — до @Olena_Koord або на пошту help@poruch.example.org.\n"
        "#збір ще раз банка"
    )
    assert post.html.startswith("<b>Збираємо на бойлер</b>") and 'href="https://send.monobank.ua/jar/6YhNm2QwE9"' in post.html
    assert post.links == ("https://send.monobank.ua/jar/6YhNm2QwE9",)  # once; the hashtag search is not a link
    assert post.mentions == ("olena_koord",)  # not the e-mail address
    assert post.author == "Олена К."
    assert post.views == 1200
    assert (post.forwarded_from, post.reply_to, post.media, post.poll) == (None, None, (), None)


def test_reply_keeps_the_quote_out_of_the_text(features: PreviewPage) -> None:
    post = by_id(features)[202]
    assert post.reply_to == 201
    assert post.text == "Закрили! Дякуємо @kamianske_help за репост."
    assert post.mentions == ("kamianske_help",)
    assert post.published == datetime(2023, 3, 5, 19, 40, tzinfo=timezone(timedelta(hours=2)))  # the offset as given


@pytest.mark.parametrize(
    ("post_id", "media"),
    [
        (203, ("photo",)),
        (204, ("document",)),
        (205, ("audio",)),
        (206, ("voice",)),
        (207, ("round_video",)),
        (208, ("sticker",)),
        (209, ("location",)),
        (210, ("poll",)),
        (212, ("video", "link_preview")),  # the video player's own "not supported" stub is hidden
        (213, ("photo", "video")),
        (216, ("unsupported",)),
    ],
)
def test_media_kinds(features: PreviewPage, post_id: int, media: tuple[str, ...]) -> None:
    assert by_id(features)[post_id].media == media


def test_media_only_posts_have_empty_text(features: PreviewPage) -> None:
    posts = by_id(features)
    for post_id in (203, 205, 206, 207, 208, 209, 210, 216):
        assert posts[post_id].text == "" and posts[post_id].html == ""
    assert posts[210].poll == "Коли зручніше чергувати?"
    assert posts[204].text == "Звіт за березень."


def test_forward_links_made_absolute_and_link_preview(features: PreviewPage) -> None:
    post = by_id(features)[212]
    assert post.forwarded_from == "Дніпровська варта"
    assert post.links == (
        "http://telegram.test/s/Kamianske_Poruch",
        "http://mapa.poruch.example.org/punkty",
        "https://novyny.example.org/kamianske/boiler",
    )
    assert post.views == 2050


def test_album_caption_in_nested_text_block(features: PreviewPage) -> None:
    assert by_id(features)[213].text == "Бойлер встановили і перевірили.\nГаряча вода є!"


@pytest.mark.parametrize(
    ("shown", "views"),
    [("1.2K", 1200), ("987", 987), ("3.4M", 3_400_000), ("12K", 12_000), ("226.2K", 226_200), ("1.1K", 1100), ("0", 0), ("1,5K", 1500)],
)
def test_views_counter(shown: str, views: int) -> None:
    found = parse_preview(message(text("x") + footer(views=shown)))
    assert found.posts[0].views == views
    assert found.problems == ()


@pytest.mark.parametrize("shown", ["багато", "1.2X", "K"])
def test_unreadable_views_are_reported_and_the_post_kept(shown: str) -> None:
    found = parse_preview(message(text("x") + footer(views=shown)))
    assert found.posts[0].views is None
    assert found.problems == (f"test_kanal/7: unreadable views {shown!r}",)


def test_no_views_counter_is_none_without_a_problem() -> None:
    found = parse_preview(message(text("x") + '<time datetime="2022-05-01T10:00:00+00:00"></time>'))
    assert found.posts[0].views is None and found.problems == ()


def test_load_more_link_wins_over_the_smallest_id() -> None:
    more = '<div class="js-messages_more_wrap"><a href="/s/test_kanal?before=150" class="tme_messages_more js-messages_more" data-before="150"></a></div>'
    found = parse_preview(page(message(text("a") + footer(), post="test_kanal/201"), message(text("b") + footer(), post="test_kanal/203"), more=more))
    assert (found.before, found.has_older) == (150, True)
    without = parse_preview(page(message(text("a") + footer(), post="test_kanal/201"), message(text("b") + footer(), post="test_kanal/203")))
    assert (without.before, without.has_older) == (201, False)


def test_empty_channel_page_is_a_page_without_posts() -> None:
    found = parse_preview((DATA / "empty_channel.html").read_text(encoding="utf-8"))
    assert found == PreviewPage(channel="tykha_gavan", title="Тиха гавань", posts=(), before=None, problems=(), has_older=False)


def test_mentions_are_telegram_names_only() -> None:
    body = "Пишіть @Good_Name, @abc (закоротке), a@mail.example.org, @1digit, @ok_name_2, і ще раз @good_name."
    assert parse_preview(message(text(body) + footer())).posts[0].mentions == ("good_name", "ok_name_2")


def test_base_url_builds_permanent_urls() -> None:
    fragment = message(text("x") + footer(), post="Test_Kanal/9")
    assert parse_preview(fragment).posts[0].url == "https://t.me/test_kanal/9"
    assert parse_preview(fragment, base_url="http://127.0.0.1:8080/").posts[0].url == "http://127.0.0.1:8080/test_kanal/9"


# --- the sample web's fixture channels --------------------------------------------------

FIXTURE_PAGES = [
    pytest.param(name, spec, id=spec["file"]) for name, channel in CHANNELS["channels"].items() for spec in channel["pages"] if not spec.get("not_a_preview")
]


@pytest.mark.parametrize(("channel", "spec"), FIXTURE_PAGES)
def test_fixture_channel_pages_match_channels_yaml(channel: str, spec: dict) -> None:
    found = parse_preview((FIXTURE_SITE / spec["file"]).read_bytes(), base_url=FIXTURE_BASE)
    assert found.channel == channel
    assert found.title == CHANNELS["channels"][channel]["title"]
    assert [p.post_id for p in found.posts] == spec["post_ids"] == [p["id"] for p in spec["posts"]]
    assert (found.before, found.has_older) == (spec["before"], spec["has_older"])
    service = [f"{channel}/{n}: service message, skipped" for n in spec["service_ids"]]
    if spec.get("malformed"):
        assert len(found.problems) == spec["problems"]
    else:
        assert list(found.problems) == service
    for post, expected in zip(found.posts, spec["posts"], strict=True):
        assert post.url == f"{FIXTURE_BASE}/{channel}/{post.post_id}"
        assert (post.published.isoformat() if post.published else None) == expected["published"]
        assert list(post.media) == expected["media"], post.post_id
        assert post.reply_to == expected.get("reply_to")
        assert post.forwarded_from == expected.get("forwarded_from")
        assert post.author == expected.get("author")
        assert list(post.mentions) == expected.get("mentions", [])
        assert set(expected.get("jars", [])) <= set(post.links)
        assert all(phone in post.text for phone in expected.get("phones", []))
        assert bool(post.text or post.poll) == (expected["lang"] is not None), post.post_id


def test_fixture_in_window_flags_agree_with_the_dates() -> None:
    start, end = (CHANNELS["window"][k] for k in ("start", "end"))
    assert (start, end) == (date(2022, 1, 1), date(2023, 12, 31))
    for channel in CHANNELS["channels"].values():
        for spec in channel["pages"]:
            for post in spec.get("posts", []):
                if post["published"] is None:
                    assert post["in_window"] is None
                else:
                    day = datetime.fromisoformat(post["published"]).date()
                    assert post["in_window"] == (start <= day <= end), post


def test_fixture_channel_pages_chain_from_newest_to_oldest() -> None:
    pages = CHANNELS["channels"]["dnipro_pomich"]["pages"]
    assert pages[0]["file"] == "s/dnipro_pomich/index.html"
    assert Site.load(FIXTURE_SITE).resolve("/s/dnipro_pomich") == (FIXTURE_SITE / "s/dnipro_pomich/index.html").resolve()
    for newer, older in zip(pages, pages[1:]):
        assert newer["has_older"] and newer["older_file"] == older["file"] == f"s/dnipro_pomich/before-{newer['before']}.html"
        assert max(older["post_ids"] + older["service_ids"]) < newer["before"] == min(newer["post_ids"])
    assert not pages[-1]["has_older"] and pages[-1]["older_file"] is None
    posts = [post for spec in reversed(pages) for post in spec["posts"]]
    assert [p["id"] for p in posts] == sorted(p["id"] for p in posts)
    assert [p["published"] for p in posts] == sorted(p["published"] for p in posts)
    assert 45 <= len(posts) and all(15 <= len(spec["post_ids"]) <= 20 for spec in pages)
    assert any(not p["in_window"] for p in posts) and posts[0]["published"].startswith("2021-11")
    assert posts[-1]["published"].startswith("2023-12")


def test_fixture_not_a_channel_page_is_not_a_preview() -> None:
    with pytest.raises(PreviewError):
        parse_preview((FIXTURE_SITE / "s/not_a_channel/index.html").read_bytes(), base_url=FIXTURE_BASE)


def test_fixture_broken_channel_problems_name_their_cause() -> None:
    found = parse_preview((FIXTURE_SITE / "s/broken_channel/index.html").read_text(encoding="utf-8"), base_url=FIXTURE_BASE)
    assert found.problems == (
        "message #2: no data-post, skipped",
        "broken_channel/12: unreadable date 'вчора о 14:00', kept without one",
        "broken_channel/12: unreadable views '3,5 тис.'",
        "message #5: unusable data-post 'broken_channel/чотирнадцять', skipped",
        "broken_channel/15: no date, kept without one",
    )
    hostile = by_id(found)[13]
    assert hostile.text == "Збір на насос для свердловини: банка, резервна банка"
    assert "script" not in hostile.html and "style" not in hostile.html
    assert "onclick" not in hostile.html and "onmouseover" not in hostile.html and "javascript:" not in hostile.html
    assert hostile.links == ("https://send.monobank.ua/jar/3RtYu8iOpQ",)


# --- malformed and hostile input --------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        "",
        "   \n\t ",
        b"",
        b"\x00\x00\x00",
        bytes(range(256)) * 64,  # binary noise
        b"\x89PNG\r\n\x1a\n" + bytes(range(200)),  # an image
        "<html><body><h1>Сторінку не знайдено</h1></body></html>",
        '<div class="tgme_page"><div class="tgme_page_title">Канал</div></div>',  # t.me/<name>, not /s/<name>
        '{"ok": true, "result": []}',
    ],
)
def test_not_a_preview_raises_preview_error(document: str | bytes) -> None:
    with pytest.raises(PreviewError):
        parse_preview(document)


@pytest.mark.parametrize("document", [None, 42, ["<div>"]])
def test_wrong_input_type_raises_preview_error(document: object) -> None:
    with pytest.raises(PreviewError):
        parse_preview(document)  # type: ignore[arg-type]


def test_preview_error_is_a_value_error() -> None:
    assert issubclass(PreviewError, ValueError)


def test_every_truncation_of_a_page_parses_or_raises_preview_error() -> None:
    full = (DATA / "features.html").read_text(encoding="utf-8")
    expected = [p.post_id for p in parse_preview(full).posts]
    for cut in range(0, len(full), 97):
        try:
            found = parse_preview(full[:cut])
        except PreviewError:
            continue
        ids = [p.post_id for p in found.posts]
        assert ids == expected[: len(ids)], cut  # never an invented or reordered post


def test_truncated_bytes_in_the_middle_of_a_character() -> None:
    raw = message(text("Привіт, сусіди") + footer()).encode("utf-8")
    cut = raw.index("сусіди".encode()) + 1  # inside a two-byte letter
    found = parse_preview(raw[:cut])
    assert [p.post_id for p in found.posts] == [7]
    assert found.posts[0].text.startswith("Привіт, ")
    assert "test_kanal/7: no date, kept without one" in found.problems


def test_missing_and_bad_data_post_are_skipped_with_reasons() -> None:
    found = parse_preview(
        page(
            message(text("без номера") + footer()).replace(' data-post="test_kanal/7"', ""),
            message(text("нуль") + footer(), post="test_kanal/0"),
            message(text("задовгий") + footer(), post="test_kanal/" + "9" * 30),
            message(text("чужий формат") + footer(), post="c/1234567/5"),
            message(text("добрий") + footer(), post="test_kanal/8"),
            message(text("повтор") + footer(), post="test_kanal/8"),
        )
    )
    assert [(p.post_id, p.text) for p in found.posts] == [(8, "добрий")]
    assert len(found.problems) == 5
    assert found.problems[0] == "message #1: no data-post, skipped"
    assert found.problems[-1] == "test_kanal/8: repeated on the page, skipped"


@pytest.mark.parametrize(
    ("stamp", "expected", "problem"),
    [
        ("вчора", None, "unreadable date 'вчора', kept without one"),
        ("2022-13-45T99:00:00+00:00", None, "unreadable date '2022-13-45T99:00:00+00:00', kept without one"),
        ("", None, "unreadable date '', kept without one"),
        ("2022-05-01T10:00:00", datetime(2022, 5, 1, 10, tzinfo=timezone.utc), "date '2022-05-01T10:00:00' has no offset, taken as UTC"),
        ("2022-05-01T10:00:00Z", datetime(2022, 5, 1, 10, tzinfo=timezone.utc), None),
    ],
)
def test_garbage_datetime_keeps_the_post(stamp: str, expected: datetime | None, problem: str | None) -> None:
    found = parse_preview(message(text("x") + footer(stamp=stamp)))
    assert found.posts[0].published == expected
    assert found.problems == ((f"test_kanal/7: {problem}",) if problem else ())


def test_script_and_style_in_text_are_dropped() -> None:
    body = 'Збір<script>alert("х")</script> <style>b{}</style><noscript>увімкніть JS</noscript>на <a href="javascript:void(0)" onclick="x()">ліки</a><iframe src="https://evil.example/"></iframe>'
    post = parse_preview(message(text(body) + footer())).posts[0]
    assert post.text == "Збір на ліки"
    for bad in ("script", "alert", "style", "noscript", "onclick", "javascript", "iframe"):
        assert bad not in post.html
    assert post.links == ()


def test_a_message_nested_in_an_unclosed_text_block_stays_apart() -> None:
    broken = (
        '<section class="tgme_channel_history">'
        '<div class="tgme_widget_message" data-post="test_kanal/1"><div class="tgme_widget_message_text js-message_text">перший'
        '<time datetime="2022-01-02T00:00:00+00:00"></time>'
        '<div class="tgme_widget_message_wrap"><div class="tgme_widget_message" data-post="test_kanal/2">'
        '<div class="tgme_widget_message_text js-message_text">другий</div><span class="tgme_widget_message_views">5</span>'
        '<time datetime="2022-01-03T00:00:00+00:00"></time></div></div>'
    )
    found = parse_preview(broken)
    first, second = found.posts
    assert (first.text, first.views, first.published.day) == ("перший", None, 2)
    assert (second.text, second.views, second.published.day) == ("другий", 5, 3)


def test_nul_and_control_characters_are_ignored() -> None:
    raw = message(text("чи\x00сто\x07") + footer()).encode("utf-8")
    assert parse_preview(b"\xef\xbb\xbf" + raw).posts[0].text == "чисто"


def test_deep_nesting_does_not_crash() -> None:
    deep = "<span>" * 20_000 + "глибоко" + "</span>" * 20_000
    found = parse_preview(message(text(deep) + footer()))
    assert [p.post_id for p in found.posts] == [7]


def huge_page() -> str:
    """A preview page of 3,000 posts (bench/parsers.py times it)."""
    blocks = [message(text(f"Пост номер {n}<br/>" + "допомога " * 40) + footer(views=f"{n}"), post=f"test_kanal/{n}") for n in range(1, 3001)]
    return page(*blocks)


def test_huge_page_parses_every_post() -> None:
    found = parse_preview(huge_page())
    assert len(found.posts) == 3000 and found.before == 1 and found.problems == ()
    assert found.posts[-1].views == 3000


def test_long_text_node_is_kept() -> None:
    long = "а" * 2_000_000
    assert len(parse_preview(message(text(long) + footer())).posts[0].text) == 2_000_000
