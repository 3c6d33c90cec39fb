"""Feed and sitemap parsing: every format, sloppy dates, hostile documents, the sample web.

Fixtures in tests/data/feeds are invented documents of invented sites (``*.test``); each
test states the document URL it pretends to have fetched them from.
"""

from __future__ import annotations

import codecs
import functools
import gzip
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from spiders.feeds_parse import (
    MAX_SIZE,
    Entry,
    FeedError,
    Parsed,
    in_window,
    parse_date,
    parse_feed_or_sitemap,
    sitemaps_in_robots,
)

DATA = Path(__file__).parent / "data" / "feeds"
DEMO_WEB = Path(__file__).resolve().parents[1] / "crawler" / "app" / "demo" / "web"

RSS_URL = "https://hromada-pavlohrad.test/rss.xml"
ATOM_URL = "https://nikopol-ostriv.test/feed.atom"
RDF_URL = "http://zhovti-vody-rada.test/rss10.rdf"
INDEX_URL = "https://kamianske-info.test/sitemap_index.xml"
URLSET_URL = "https://kamianske-info.test/sitemap-news-2023.xml"
NEWS_URL = "https://dnipro-hub.test/news-sitemap.xml"
GZ_URL = "https://kamianske-info.test/sitemap-pages.xml.gz"
ROBOTS_URL = "https://kamianske-info.test/robots.txt"


def parse(name: str, url: str, content_type: str | None = None) -> Parsed:
    return parse_feed_or_sitemap((DATA / name).read_bytes(), url, content_type)


def summary(parsed: Parsed) -> list[tuple[str, str | None, str | None]]:
    """(url, ISO date with its offset or none, title): exact about zones and naivety."""
    return [(e.url, e.published.isoformat() if e.published else None, e.title) for e in parsed.entries]


def rss_with(*items: str, declaration: str = '<?xml version="1.0" encoding="UTF-8"?>') -> str:
    return f'{declaration}\n<rss version="2.0"><channel><title>t</title>{"".join(items)}</channel></rss>\n'


def item(link: str = "https://probna.test/a/", title: str = "Проба", pub_date: str | None = None) -> str:
    date_element = f"<pubDate>{pub_date}</pubDate>" if pub_date is not None else ""
    return f"<item><title>{title}</title><link>{link}</link>{date_element}</item>"


# --------------------------------------------------------------------------- every format


@pytest.mark.parametrize(
    ("name", "url", "expected_format", "count", "kind"),
    [
        ("rss.xml", RSS_URL, "rss", 7, "article"),
        ("atom.xml", ATOM_URL, "atom", 4, "article"),
        ("rdf.xml", RDF_URL, "rdf", 3, "article"),
        ("sitemap-index.xml", INDEX_URL, "sitemap_index", 4, "sitemap"),
        ("urlset.xml", URLSET_URL, "urlset", 6, "article"),
        ("news-sitemap.xml", NEWS_URL, "news_sitemap", 3, "article"),
        ("sitemap.xml.gz", GZ_URL, "urlset", 2, "article"),
        ("robots.txt", ROBOTS_URL, "robots", 3, "sitemap"),
    ],
)
def test_each_format_is_recognised(name: str, url: str, expected_format: str, count: int, kind: str) -> None:
    parsed = parse(name, url)
    assert parsed.format == expected_format
    assert len(parsed.entries) == count
    assert {e.kind for e in parsed.entries} == {kind}
    assert all(e.url.startswith(("http://", "https://")) for e in parsed.entries)


def test_rss() -> None:
    parsed = parse("rss.xml", RSS_URL)
    base = "https://hromada-pavlohrad.test/novyny/2023"
    assert summary(parsed) == [
        (f"{base}/03/aleia-kashtaniv/", "2023-03-14T09:30:00+02:00", "Мешканці Павлограда висадили алею каштанів біля ліцею"),
        (f"{base}/04/teplyi-odiah/", "2023-04-05T18:05:00+03:00", "Теплий одяг для літніх людей збирають у міській бібліотеці"),
        # &laquo; is no XML entity; it is read as the character, not dropped by recovery
        (f"{base}/06/toloka-vovcha/", "2023-06-10T21:30:00+03:00", "«Сусідська толока» прибрала берег Вовчої"),
        (f"{base}/07/velokarta/", "2023-07-19T08:00:00+03:00", "Велосипедисти склали власну карту безпечних маршрутів"),
        # no <link>: the permalink guid; a Ukrainian month and weekday
        (f"{base}/08/maidanchyk/", "2023-08-18T12:00:00+03:00", "Батьки власними силами відремонтували дитячий майданчик"),
        (f"{base}/09/sitky-ternivka/", None, "Волонтери Тернівки шиють маскувальні сітки"),
        # no pubDate: dc:date
        (f"{base}/10/lavky-soborna/", "2023-10-02T07:45:00+03:00", "Двір на Соборній отримав нові лавки за кошти мешканців"),
    ]
    assert parsed.entries[5].alternates == (
        ("uk", "https://hromada-pavlohrad.test/novyny/2023/09/sitky-ternivka/"),
        ("ru", "https://hromada-pavlohrad.test/ru/novosti/2023/09/seti-ternovka/"),
    )
    assert parsed.problems == (
        "item without a usable link skipped (title 'Рекламний блок'): non-http URL skipped: 'javascript:void(0)'",
        "item without a usable link skipped (title 'Оголошення без посилання'): no link",
        "duplicate URL skipped: https://hromada-pavlohrad.test/novyny/2023/03/aleia-kashtaniv/",
    )


def test_atom() -> None:
    parsed = parse("atom.xml", ATOM_URL)
    assert summary(parsed) == [
        # xml:base resolves the relative link; published wins over updated
        ("https://nikopol-ostriv.test/blog/2023/01/generator/", "2023-01-09T10:00:00+02:00",
         "Генератор під під'їздом: як сусіди скинулися на світло"),
        # type="html": markup removed
        ("https://nikopol-ostriv.test/blog/2023/02/kava-rozmova/", "2023-02-20T16:45:30+00:00",
         "Кава та розмова: зустрічі з ветеранами щочетверга"),
        # only an enclosure link: the http(s) id is the permalink; a date alone is naive midnight
        ("https://nikopol-ostriv.test/blog/2023/03/radiohurtok/", "2023-03-15T00:00:00",
         "Радіогурток для підлітків шукає старі приймачі"),
        # 31 April does not exist: the updated date is taken instead
        ("https://nikopol-ostriv.test/blog/2023/05/toloka-ostriv/", "2023-05-01T09:00:00+03:00",
         "Толока на острові Покровському"),
    ]
    assert parsed.entries[0].alternates == (
        ("uk", "https://nikopol-ostriv.test/blog/2023/01/generator/"),
        ("en", "https://nikopol-ostriv.test/en/2023/01/generator/"),
    )
    assert parsed.problems == (
        "entry without a usable link skipped (title 'Спливаюче вікно'): non-http URL skipped: 'javascript:alert(1)'",
        "unparsable date '2023-04-31T10:00:00+03:00' ignored for https://nikopol-ostriv.test/blog/2023/05/toloka-ostriv/",
    )


def test_rdf() -> None:
    parsed = parse("rdf.xml", RDF_URL)
    assert summary(parsed) == [
        ("http://zhovti-vody-rada.test/novyny/hromadski-slukhannia.html", "2023-02-16T11:45:00+02:00",
         "Громадські слухання щодо реконструкції скверу"),
        # no <link>: rdf:about
        ("http://zhovti-vody-rada.test/novyny/biudzhet-uchasti.html", "2023-02-20T00:00:00",
         "Стартувало голосування за проєкти бюджету участі"),
        # relative link against the document URL; a time without a zone stays naive
        ("http://zhovti-vody-rada.test/novyny/zbory-osbb.html", "2023-03-01T18:00:00",
         "Збори ОСББ: як отримати співфінансування ремонту даху"),
    ]
    assert parsed.problems == ()


def test_sitemap_index() -> None:
    parsed = parse("sitemap-index.xml", INDEX_URL)
    assert summary(parsed) == [
        ("https://kamianske-info.test/sitemap-news-2022.xml", "2022-12-31T00:00:00", None),
        ("https://kamianske-info.test/sitemap-news-2023.xml", "2023-12-31T22:10:00+00:00", None),
        ("https://kamianske-info.test/sitemap-pages.xml", None, None),
        ("https://kamianske-info.test/sitemap-tags.xml", "2021-06-01T00:00:00", None),
    ]
    assert parsed.problems == (
        "duplicate URL skipped: https://kamianske-info.test/sitemap-news-2022.xml",
        "<sitemap> without <loc> skipped",
        "<sitemap> skipped: non-http URL skipped: 'ftp://kamianske-info.test/old-sitemap.xml'",
    )


def test_urlset_keeps_alternates_and_ignores_image_and_video() -> None:
    parsed = parse("urlset.xml", URLSET_URL)
    base = "https://kamianske-info.test/novyny/2023"
    assert summary(parsed) == [
        (f"{base}/01/pralnia-dlia-pereselentsiv/", "2023-01-12T00:00:00", None),
        (f"{base}/05/kinoklub-u-dvori/", "2023-05-22T12:10:00+03:00", None),
        (f"{base}/11/zvit-osbb/", "2023-11-01T00:00:00", None),  # W3C year-month
        (f"{base}/08/dzherelo-vody/", "2023-08-03T08:15:00+03:00", None),
        (f"{base}/09/shakhy-u-parku/", None, None),  # whitespace around <loc> trimmed
        (f"{base}/12/novorichna-yalynka/", "2023-12-31T23:30:00+02:00", None),
    ]
    assert parsed.entries[0].alternates == (
        ("uk", f"{base}/01/pralnia-dlia-pereselentsiv/"),
        ("ru", "https://kamianske-info.test/ru/novosti/2023/01/prachechnaya/"),
        ("x-default", f"{base}/01/pralnia-dlia-pereselentsiv/"),
    )
    assert all(e.alternates == () for e in parsed.entries[1:])
    assert not any(".jpg" in e.url or ".mp4" in e.url for e in parsed.entries)
    assert parsed.problems == ("<url> skipped: non-http URL skipped: 'mailto:redaktsiia@kamianske-info.test'",)


def test_news_sitemap_takes_publication_date_and_title() -> None:
    parsed = parse("news-sitemap.xml", NEWS_URL)
    assert summary(parsed) == [
        # news:publication_date wins over lastmod
        ("https://dnipro-hub.test/novyny/veteranskyi-hab-kursy/", "2023-10-05T14:00:00+03:00",
         "Ветеранський хаб у Дніпрі відкрив безкоштовні курси програмування"),
        # a title escaped twice is unescaped once more
        ("https://dnipro-hub.test/novyny/toloka-ihren/", "2023-10-06T00:00:00",
         "Толока & пікнік: мешканці Ігрені прибрали парк"),
        ("https://dnipro-hub.test/novyny/donory-krovi/", "2023-10-08T09:30:00+00:00",
         "Черга донорів крові розтяглася на квартал"),
    ]
    assert parsed.problems == ()


def test_gzipped_sitemap() -> None:
    parsed = parse("sitemap.xml.gz", GZ_URL)
    assert summary(parsed) == [
        ("https://kamianske-info.test/pro-nas/", "2023-02-01T00:00:00", None),
        ("https://kamianske-info.test/kontakty/", "2023-02-02T10:00:00+02:00", None),
    ]
    assert parsed.problems == ()


def test_robots_txt() -> None:
    expected = [
        "https://kamianske-info.test/sitemap_index.xml",
        "https://kamianske-info.test/sitemap-news-2023.xml",
        "https://kamianske-info.test/news-sitemap.xml",
    ]
    text = (DATA / "robots.txt").read_text(encoding="utf-8")
    assert sitemaps_in_robots(text, ROBOTS_URL) == expected
    parsed = parse("robots.txt", ROBOTS_URL, "text/plain; charset=utf-8")
    assert [e.url for e in parsed.entries] == expected
    assert parsed.problems == (
        "duplicate URL skipped: https://kamianske-info.test/sitemap_index.xml",
        "Sitemap line skipped: non-http URL skipped: 'javascript:alert(1)'",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("User-agent: *\nDisallow: /\n", []),
        ("\ufeffSitemap: https://a.test/s.xml\r\nsitemap: https://a.test/s.xml\r\n", ["https://a.test/s.xml"]),
        ("SiteMap:   //b.test/s.xml  \n", ["https://b.test/s.xml"]),
        ("Sitemap: mailto:x@a.test\nSitemap: https://a.test/x.xml # головна\n", ["https://a.test/x.xml"]),
    ],
)
def test_sitemaps_in_robots_variants(text: str, expected: list[str]) -> None:
    assert sitemaps_in_robots(text, "https://a.test/robots.txt") == expected


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        ("Tue, 14 Mar 2023 09:30:00 +0200", "2023-03-14T09:30:00+02:00"),
        ("14 Mar 2023 09:30:00 +0200", "2023-03-14T09:30:00+02:00"),  # no weekday
        ("Tue,14 Mar 2023 09:30:00 +0200", "2023-03-14T09:30:00+02:00"),
        ("Tue, 14 Mar 2023 09:30 +0200", "2023-03-14T09:30:00+02:00"),  # no seconds
        ("Tue, 14 Mar 23 09:30:00 +0200", "2023-03-14T09:30:00+02:00"),  # two-digit year
        ("Tue, 14 March 2023 09:30:00 +0200", "2023-03-14T09:30:00+02:00"),
        ("  Tue, 14 Mar 2023\n   09:30:00 +0200 ", "2023-03-14T09:30:00+02:00"),
        ("Sat, 10 Jun 2023 21:30:00 +03:00", "2023-06-10T21:30:00+03:00"),
        ("Sat, 10 Jun 2023 21:30:00 EEST", "2023-06-10T21:30:00+03:00"),
        ("Tue, 14 Mar 2023 09:30:00 EET", "2023-03-14T09:30:00+02:00"),
        ("Tue, 14 Mar 2023 09:30:00 +0200 (EET)", "2023-03-14T09:30:00+02:00"),
        ("Sat, 10 Jun 2023 21:30:00 GMT+3", "2023-06-10T21:30:00+03:00"),
        ("Tue, 14 Mar 2023 09:30:00 GMT", "2023-03-14T09:30:00+00:00"),
        ("Tue, 14 Mar 2023 09:30:00 Z", "2023-03-14T09:30:00+00:00"),
        ("Tue, 14 Mar 2023 09:30:00 -0000", "2023-03-14T09:30:00+00:00"),
        ("Tue, 14 Mar 2023 09:30:00 PDT", "2023-03-14T09:30:00-07:00"),
        ("Tue, 14 Mar 2023 09:30:00", "2023-03-14T09:30:00"),  # no zone: naive
        ("Сб, 10 чер 2023 21:30:00 +0300", "2023-06-10T21:30:00+03:00"),  # Ukrainian
        ("10 червня 2023 21:30 +0300", "2023-06-10T21:30:00+03:00"),
        ("Сб, 10 июн 2023 21:30:00 +0300", "2023-06-10T21:30:00+03:00"),  # Russian
        ("Jun 10, 2023 21:30:00 +0300", "2023-06-10T21:30:00+03:00"),  # month first
        ("2023-06-10T21:30:00+03:00", "2023-06-10T21:30:00+03:00"),  # ISO in pubDate
        ("2023-06-10 21:30:00", "2023-06-10T21:30:00"),
    ],
)
def test_rss_pub_date_variants(pub_date: str, expected: str) -> None:
    parsed = parse_feed_or_sitemap(rss_with(item(pub_date=pub_date)).encode(), "https://probna.test/rss")
    assert [e.published.isoformat() for e in parsed.entries if e.published] == [expected]
    assert parsed.problems == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023", "2023-01-01T00:00:00"),
        ("2023-05", "2023-05-01T00:00:00"),
        ("2023-05-22", "2023-05-22T00:00:00"),
        ("2023-05-22T12:10Z", "2023-05-22T12:10:00+00:00"),
        ("2023-05-22T12:10:00+03:00", "2023-05-22T12:10:00+03:00"),
        ("2023-05-22T12:10:00+0300", "2023-05-22T12:10:00+03:00"),
        ("2023-05-22T12:10:00.5+03:00", "2023-05-22T12:10:00.500000+03:00"),
        ("2023-05-22T12:10:00.123456789Z", "2023-05-22T12:10:00.123456+00:00"),
        ("2023-05-22t12:10:00z", "2023-05-22T12:10:00+00:00"),
        ("2023-05-22 12:10:00", "2023-05-22T12:10:00"),
        ("Mon, 22 May 2023 12:10:00 +0300", "2023-05-22T12:10:00+03:00"),  # RFC 822 where W3C belongs
    ],
)
def test_w3c_date_variants(value: str, expected: str) -> None:
    found = parse_date(value, prefer="w3c")
    assert found is not None and found.isoformat() == expected


@pytest.mark.parametrize(
    "value",
    ["", "вчора", "2023-13-01", "2023-02-30", "0000-00-00 00:00:00", "32 Mar 2023", "12:00", "2023-05-22T25:00:00Z",
     "Tue, 14 Foo 2023 09:30:00 +0200", "Tue, 14 Mar 2023 09:30:00 +2500", "Mon, 20 Nov 9999 19:00:00 +0200"],
)
def test_unreadable_dates(value: str) -> None:
    assert parse_date(value) is None
    assert parse_date(value, prefer="w3c") is None


def test_bad_dates_keep_the_entry_without_a_date() -> None:
    parsed = parse("bad-dates.xml", "https://nedbali-daty.test/rss.xml")
    assert [(e.url, e.published.isoformat() if e.published else None) for e in parsed.entries] == [
        ("https://nedbali-daty.test/1/", None),
        ("https://nedbali-daty.test/2/", None),
        ("https://nedbali-daty.test/3/", None),
        ("https://nedbali-daty.test/4/", "2023-09-14T13:55:00"),  # unknown zone dropped
        ("https://nedbali-daty.test/5/", None),
        ("https://nedbali-daty.test/6/", None),
        ("https://nedbali-daty.test/7/", "2023-10-20T09:00:00+03:00"),  # dc:date after a bad pubDate
    ]
    assert parsed.problems == (
        "unparsable date 'вчора о 15:40' ignored for https://nedbali-daty.test/1/",
        "unparsable date '0000-00-00 00:00:00' ignored for https://nedbali-daty.test/2/",
        "unparsable date '32 Mar 2023 10:00:00 +0200' ignored for https://nedbali-daty.test/3/",
        "unknown time zone 'XYZ' in date 'Thu, 14 Sep 2023 13:55:00 XYZ' for https://nedbali-daty.test/4/;"
        " kept without a zone",
        "unparsable date 'Mon, 20 Nov 9999 19:00:00 +0200' ignored for https://nedbali-daty.test/5/",
        "unparsable date 'колись восени' ignored for https://nedbali-daty.test/7/",
    )


# --------------------------------------------------------------------------- the window


def test_window_keeps_exactly_the_in_window_entries() -> None:
    entries = parse("urlset.xml", URLSET_URL).entries
    kept = [e.url.rsplit("/", 2)[-2] for e in entries if in_window(e, date(2023, 5, 1), date(2023, 12, 31))]
    assert kept == ["kinoklub-u-dvori", "zvit-osbb", "dzherelo-vody", "novorichna-yalynka"]
    undated = [e.url.rsplit("/", 2)[-2] for e in entries if in_window(e, date(2023, 5, 1), date(2023, 12, 31)) is None]
    assert undated == ["shakhy-u-parku"]  # the caller follows these


def test_window_on_child_sitemaps_bounds_only_the_start() -> None:
    entries = parse("sitemap-index.xml", INDEX_URL).entries
    verdicts = {e.url.rsplit("/", 1)[-1]: in_window(e, date(2022, 2, 24), date(2022, 12, 31)) for e in entries}
    assert verdicts == {
        "sitemap-news-2022.xml": True,
        "sitemap-news-2023.xml": True,  # changed after the window, may still list 2022 articles
        "sitemap-pages.xml": None,
        "sitemap-tags.xml": False,  # unchanged since before the window
    }


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (datetime(2022, 2, 24), True),
        (datetime(2022, 2, 23, 23, 59), False),
        (datetime(2023, 12, 31, 23, 59), True),
        # the calendar date as the source wrote it: 00:30 in Kyiv is still 31 December in UTC
        (datetime(2024, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))), False),
        (datetime(2022, 2, 24, 1, 0, tzinfo=timezone(timedelta(hours=2))), True),
        (None, None),
    ],
)
def test_window_bounds(published: datetime | None, expected: bool | None) -> None:
    entry = Entry("https://a.test/x/", published, None, "article")
    assert in_window(entry, date(2022, 2, 24), date(2023, 12, 31)) is expected


def test_window_must_not_be_reversed() -> None:
    with pytest.raises(ValueError, match="starts after it ends"):
        in_window(Entry("https://a.test/x/", None, None, "article"), date(2024, 1, 1), date(2023, 1, 1))


# --------------------------------------------------------------------------- hostile and broken input


def test_truncated_feed_is_recovered() -> None:
    parsed = parse("truncated.xml", "https://marhanets-vechir.test/rss.xml")
    assert summary(parsed) == [
        ("https://marhanets-vechir.test/2023/03/rybalky-uzberezhzhia/", "2023-03-27T17:20:00+03:00",
         "Рибалки Марганця чистять узбережжя після зими"),
        ("https://marhanets-vechir.test/2023/04/knyzhky-dlia-ukryttia/", "2023-04-04T08:10:00+03:00",
         "Шкільна бібліотека збирає книжки для укриття"),
        ("https://marhanets-vechir.test/2023/04/obirvano/", None, "Запис, який обірвався на пів"),
    ]
    assert parsed.problems == ("malformed XML, recovered what was readable: Premature end of data in tag description line 19",)


@pytest.mark.parametrize("content_type", [None, "text/html; charset=utf-8", "application/rss+xml"])
def test_html_instead_of_a_feed(content_type: str | None) -> None:
    with pytest.raises(FeedError, match="^not a feed or sitemap: looks like HTML$"):
        parse("html-not-feed.html", "https://marhanets-vechir.test/rss.xml", content_type)


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body><p>x</p></body></html>',
        b"<!-- cache -->\n<HTML><BODY>Not found",
        b"<div class='err'>Not found<br></div>",
    ],
)
def test_html_variants(body: bytes) -> None:
    with pytest.raises(FeedError, match="looks like HTML"):
        parse_feed_or_sitemap(body, "https://a.test/feed")


def test_xxe_does_not_read_a_local_file() -> None:
    parsed = parse("xxe.xml", "https://pastka.test/rss.xml")
    assert summary(parsed) == [("https://pastka.test/novyny/zvychaina/", "2023-05-01T10:00:00+03:00", "Ім'я машини:")]
    assert parsed.problems == (
        "the document type declares entities (hostname, remote); they were not expanded",
        "item without a usable link skipped (title 'Посилання з сюрпризом'): link with an unexpanded entity"
        " reference (&hostname;) skipped",
    )
    hostname = Path("/etc/hostname").read_text(encoding="utf-8").strip() if Path("/etc/hostname").exists() else ""
    if not hostname:
        pytest.skip("this machine has no /etc/hostname to leak")
    assert hostname not in repr(parsed)


def test_external_parameter_entity_is_not_loaded(tmp_path: Path) -> None:
    """lxml 6.1.3 loads these as soon as collect_ids=False joins the parser options."""
    secret = tmp_path / "secret.dtd"
    secret.write_text('<!ENTITY leak "SECRET-FROM-DISK">', encoding="utf-8")
    body = f"""<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY % remote SYSTEM "{secret.as_uri()}"> %remote; ]>
<rss><channel><item><title>a &leak; b</title><link>https://pastka.test/x/</link></item></channel></rss>"""
    parsed = parse_feed_or_sitemap(body.encode(), "https://pastka.test/rss.xml")
    assert "SECRET" not in repr(parsed)
    assert "leak" not in " ".join(parsed.problems)  # never declared: the file was not read
    assert [e.url for e in parsed.entries] == ["https://pastka.test/x/"]


def test_billion_laughs_is_refused() -> None:
    # How fast: bench/parsers.py.
    with pytest.raises(FeedError, match="^refused: Maximum entity amplification factor exceeded"):
        parse("billion-laughs.xml", "https://smikh.test/rss.xml")


def test_quadratic_blowup_is_refused() -> None:
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "{"x" * 50_000}">]>'
        f"<rss><channel><item><title>{'&big;' * 5_000}</title><link>https://q.test/a</link></item></channel></rss>"
    ).encode()
    with pytest.raises(FeedError, match="^refused: "):
        parse_feed_or_sitemap(body, "https://q.test/rss")


@pytest.mark.parametrize("body", [b"", b"   \n\t ", codecs.BOM_UTF8, codecs.BOM_UTF8 + b"\r\n"])
def test_empty_documents(body: bytes) -> None:
    with pytest.raises(FeedError, match="^empty document$"):
        parse_feed_or_sitemap(body, "https://a.test/rss.xml")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "looks like JSON"),
        (b"just some words\nand more\n", "neither XML nor robots.txt"),
        (b'<?xml version="1.0"?><note><to>x</to></note>', "the root element is <note>"),
        (b"</>", "malformed XML beyond recovery"),
        (b"\x1f\x8bnot really gzip", "corrupt gzip"),
        (b"<<<>>>", "malformed XML beyond recovery"),
    ],
)
def test_not_a_feed(body: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message):
        parse_feed_or_sitemap(body, "https://a.test/feed")


def test_a_stub_of_a_feed_gives_no_entries_and_says_why() -> None:
    parsed = parse_feed_or_sitemap(b"<rss><channel><item><title>x", "https://a.test/feed")
    assert (parsed.format, parsed.entries) == ("rss", ())
    assert parsed.problems == (
        "malformed XML, recovered what was readable: Premature end of data in tag title line 1",
        "item without a usable link skipped (title 'x'): no link",
    )


def test_byte_order_marks() -> None:
    text = rss_with(item(title="Київ"), declaration='<?xml version="1.0" encoding="UTF-16"?>')
    for body in (codecs.BOM_UTF8 + text.replace("UTF-16", "UTF-8").encode(), text.encode("utf-16"),
                 codecs.BOM_UTF16_BE + text.encode("utf-16-be"), text.encode("utf-16-le")):
        parsed = parse_feed_or_sitemap(body, "https://probna.test/rss")
        assert [(e.url, e.title) for e in parsed.entries] == [("https://probna.test/a/", "Київ")]
        assert parsed.problems == ()


@pytest.mark.parametrize(
    ("declared", "encoding", "content_type", "problems"),
    [
        ("windows-1251", "utf-8", None, ("encoding: cp1251 declared but the body is valid UTF-8; read as UTF-8",)),
        ("UTF-8", "cp1251", None,
         ("encoding: utf-8 declared but the body is not valid UTF-8; read as windows-1251",)),
        (None, "cp1251", "application/rss+xml; charset=windows-1251", ()),
        ("koi8-u", "koi8-u", "text/xml; charset=utf-8", ()),
        ("x-no-such-thing", "utf-8", None, ("unknown encoding 'x-no-such-thing' in the XML declaration ignored",)),
    ],
)
def test_encodings(declared: str | None, encoding: str, content_type: str | None, problems: tuple[str, ...]) -> None:
    declaration = f'<?xml version="1.0" encoding="{declared}"?>' if declared else '<?xml version="1.0"?>'
    body = rss_with(item(title="Волонтерка з Кривого Рогу"), declaration=declaration).encode(encoding)
    parsed = parse_feed_or_sitemap(body, "https://probna.test/rss", content_type)
    assert [e.title for e in parsed.entries] == ["Волонтерка з Кривого Рогу"]
    assert parsed.problems == problems


def test_html_entities_and_control_characters() -> None:
    body = rss_with(item(title="Збір&nbsp;&mdash; тиждень\x0b другий\x00"), item(link="https://probna.test/b/", title="&bogus; x"))
    parsed = parse_feed_or_sitemap(body.encode(), "https://probna.test/rss")
    assert [e.title for e in parsed.entries] == ["Збір — тиждень другий", "x"]  # no-break space folded too
    assert parsed.problems == (
        "removed 2 characters not allowed in XML",
        "malformed XML, recovered what was readable: Entity 'bogus' not defined (line 2)",
    )


@pytest.mark.parametrize(
    ("link", "document_url", "expected", "problem"),
    [
        ("/a/b/", "https://probna.test/rss", "https://probna.test/a/b/", None),
        ("b/", "https://probna.test/feeds/rss", "https://probna.test/feeds/b/", None),
        ("//insha.test/c/", "https://probna.test/rss", "https://insha.test/c/", None),
        ("HTTPS://Probna.test/D/", "https://probna.test/rss", "HTTPS://Probna.test/D/", None),
        ("/a/", "feeds/rss.xml", None, "relative URL without an absolute http(s) base skipped: '/a/'"),
        ("javascript:alert(1)", "https://probna.test/rss", None, "non-http URL skipped: 'javascript:alert(1)'"),
        ("data:text/html,x", "https://probna.test/rss", None, "non-http URL skipped: 'data:text/html,x'"),
        ("http:///no-host", "https://probna.test/rss", None, "malformed URL skipped: 'http:///no-host'"),
        ("http://probna.test:99999/", "https://probna.test/rss", None, "malformed URL skipped: 'http://probna.test:99999/'"),
        ("http://[probna/x/", "https://probna.test/rss", None, "malformed URL skipped: 'http://[probna/x/'"),
        ("http://[::1]:8080/x/", "https://probna.test/rss", "http://[::1]:8080/x/", None),
        ("https://probna.test/" + "a" * 3000, "https://probna.test/rss", None,
         "URL longer than 2083 characters skipped: 'https://probna.test/" + "a" * 59 + "…'"),
    ],
)
def test_links(link: str, document_url: str, expected: str | None, problem: str | None) -> None:
    parsed = parse_feed_or_sitemap(rss_with(item(link=link, title="")).encode(), document_url)
    assert [e.url for e in parsed.entries] == ([expected] if expected else [])
    assert parsed.problems == ((f"item without a usable link skipped: {problem}",) if problem else ())


def test_character_references_xml_forbids_are_removed() -> None:
    body = rss_with(item(link="https://probna.test/&#xD800;a/", title="Ку&#0;пол &#1050;&#x438;їв"))
    parsed = parse_feed_or_sitemap(body.encode(), "https://probna.test/rss")
    assert [(e.url, e.title) for e in parsed.entries] == [("https://probna.test/a/", "Купол Київ")]
    assert parsed.problems == ("removed 2 character references to characters not allowed in XML",)


def test_mangled_documents_never_raise_anything_but_feed_error() -> None:
    """Seeded mutations of every fixture: cuts, stray markup, random bytes, gzip wrapping."""
    rng = random.Random(20240312)
    originals = [p.read_bytes() for p in sorted(DATA.iterdir())]
    splices = [b"&", b"<", b"&nbsp;", b"\x00", b"\xff\xfe", b"&#xD800;", b"]]>", b"<![CDATA[", b"javascript:",
               b"<!DOCTYPE x [<!ENTITY a 'b'>]>", b"http://[", b":99999", b"\xd0"]
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(400):
        body = bytearray(rng.choice(originals))
        for _ in range(rng.randint(1, 5)):
            at = rng.randrange(len(body) + 1)
            choice = rng.random()
            if choice < 0.4:
                body[at:at] = rng.choice(splices)
            elif choice < 0.6:
                del body[at : at + rng.randint(1, 40)]
            elif choice < 0.7:
                del body[at:]
            else:
                body[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
        data = gzip.compress(bytes(body), mtime=0) if rng.random() < 0.1 else bytes(body)
        try:
            parsed = parse_feed_or_sitemap(data, rng.choice(["https://a.test/feed", "", "https://a.test/robots.txt"]))
        except FeedError:
            outcomes["refused"] += 1
            continue
        outcomes["parsed"] += 1
        assert all(e.url.lower().startswith(("http://", "https://")) for e in parsed.entries)
        assert all(in_window(e, date(2022, 2, 24), date(2023, 12, 31)) in (True, False, None) for e in parsed.entries)
    assert outcomes["parsed"] > 100 and outcomes["refused"] > 10, outcomes


def test_problems_are_capped() -> None:
    body = rss_with(*(item(link="javascript:void(0)", title="") for _ in range(150)))
    parsed = parse_feed_or_sitemap(body.encode(), "https://probna.test/rss")
    assert parsed.entries == ()
    assert len(parsed.problems) == 101
    assert parsed.problems[-1] == "50 more problems not listed"


# --------------------------------------------------------------------------- gzip limits


def test_gzip_bomb_is_refused_at_the_default_cap() -> None:
    bomb = gzip.compress(b"\0" * (MAX_SIZE + 1), compresslevel=9, mtime=0)
    assert len(bomb) < 100_000
    with pytest.raises(FeedError, match="^gzip too large: over 52428800 bytes decompressed$"):
        parse_feed_or_sitemap(bomb, "https://a.test/sitemap.xml.gz")


def test_size_cap_applies_to_plain_and_gzipped_bodies() -> None:
    body = (DATA / "sitemap.xml.gz").read_bytes()
    assert len(parse_feed_or_sitemap(body, GZ_URL, max_size=400).entries) == 2
    with pytest.raises(FeedError, match="gzip too large"):
        parse_feed_or_sitemap(body, GZ_URL, max_size=100)
    with pytest.raises(FeedError, match="^document too large"):
        parse_feed_or_sitemap(gzip.decompress(body), GZ_URL, max_size=100)


def test_gzip_twice_and_truncated_gzip() -> None:
    body = (DATA / "sitemap.xml.gz").read_bytes()
    assert [e.url for e in parse_feed_or_sitemap(gzip.compress(body, mtime=0), GZ_URL).entries] == [
        "https://kamianske-info.test/pro-nas/",
        "https://kamianske-info.test/kontakty/",
    ]
    plain = gzip.decompress(body)
    cut = gzip.compress(plain, mtime=0)[: len(body) - 60]
    parsed = parse_feed_or_sitemap(cut, GZ_URL)
    assert parsed.format == "urlset"
    assert parsed.problems[0].startswith("truncated gzip, kept the ")
    assert parsed.problems[1].startswith("malformed XML, recovered what was readable: ")


# --------------------------------------------------------------------------- size, order, determinism


def fifty_thousand_urls() -> bytes:
    """A URL set of 50,000 entries, each URL twice (bench/parsers.py times it)."""
    rows = "".join(
        f"<url><loc>https://kamianske-info.test/novyny/{i % 25_000}/</loc><lastmod>2023-05-{i % 28 + 1:02d}T10:00:00+03:00</lastmod></url>\n"
        for i in range(50_000)
    )
    return f'<?xml version="1.0"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{rows}</urlset>'.encode()


def test_fifty_thousand_urls_are_ordered_and_deduplicated() -> None:
    parsed = parse_feed_or_sitemap(fifty_thousand_urls(), URLSET_URL)
    assert [e.url for e in parsed.entries] == [f"https://kamianske-info.test/novyny/{i}/" for i in range(25_000)]
    assert parsed.entries[27].published == datetime(2023, 5, 28, 10, tzinfo=timezone(timedelta(hours=3)))
    assert len(parsed.problems) == 101  # 25,000 duplicates: 100 listed, the rest counted


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir() if p.name not in {"billion-laughs.xml", "html-not-feed.html"}))
def test_parsing_is_deterministic(name: str) -> None:
    body = (DATA / name).read_bytes()
    assert parse_feed_or_sitemap(body, "https://a.test/" + name) == parse_feed_or_sitemap(body, "https://a.test/" + name)


# --------------------------------------------------------------------------- the bundled sample web


@functools.cache
def _manifest_pages() -> frozenset[str]:
    manifest = yaml.safe_load((DEMO_WEB / "MANIFEST.yaml").read_text(encoding="utf-8"))
    return frozenset(url.rstrip("/") for url in manifest["pages"])


@pytest.mark.parametrize(
    ("name", "expected_format", "count"),
    [("rss.xml", "rss", 10), ("sitemap.xml", "sitemap_index", 2), ("sitemap-2022.xml", "urlset", 16),
     ("sitemap-2023.xml", "urlset", 11)],
)
def test_sample_web_feed_and_sitemaps(name: str, expected_format: str, count: int) -> None:
    site = DEMO_WEB / "dnipro-vechir.test"
    parsed = parse_feed_or_sitemap((site / name).read_bytes(), f"http://dnipro-vechir.test/{name}", "application/xml")
    assert parsed.format == expected_format
    assert parsed.problems == ()
    assert len(parsed.entries) == count
    pages = _manifest_pages()
    for entry in parsed.entries:
        assert entry.published is not None
        if entry.kind == "sitemap":
            assert (site / entry.url.removeprefix("http://dnipro-vechir.test/")).is_file(), entry.url
        else:
            assert entry.url.rstrip("/") in pages, entry.url


def test_sample_web_robots_names_its_sitemap() -> None:
    text = (DEMO_WEB / "dnipro-vechir.test" / "robots.txt").read_text(encoding="utf-8")
    assert sitemaps_in_robots(text, "http://dnipro-vechir.test/robots.txt") == ["http://dnipro-vechir.test/sitemap.xml"]
