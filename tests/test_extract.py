from __future__ import annotations

import datetime as dt

import pytest
from scrapy.http import HtmlResponse

from crawler.core.items import PageItem
from pipelines._drop import PageDropped
from pipelines.chain import extracted
from pipelines.extract import content_hash, extract

ARTICLE = """<!doctype html><html lang="uk"><head><meta charset="{charset}">
<title>Волонтери відкрили кухню — Тестові новини</title>
<meta property="og:title" content="Волонтери відкрили кухню">
<meta property="article:published_time" content="2022-05-14T10:20:00+03:00">
<meta name="author" content="Олена Тестова"><meta property="og:site_name" content="Тестові новини">
</head><body><header><nav><a href="/">Головна</a> <a href="/novyny/">Новини</a> <a href="/kontakty/">Контакти</a></nav></header>
<div class="cookie">Ми використовуємо cookies. Погодитися</div>
<article><h1>Волонтери відкрили кухню</h1><p class="date">14 травня 2022</p>
<p>У Дніпрі волонтери щодня готують обіди для переселенців, які приїхали з Харківщини та Донеччини.
Кухня працює завдяки пожертвам мешканців міста та кільком місцевим кав'ярням.</p>
<p>Організаторка розповідає, що за перший місяць команда приготувала понад десять тисяч порцій.
Долучитися можна через телеграм-канал ініціативи.</p></article>
<footer>© 2024 Тестові новини. Усі права захищено.</footer></body></html>"""


def test_extract_takes_main_text_and_metadata_without_boilerplate() -> None:
    found = extract(ARTICLE.format(charset="utf-8"), "http://news.test/a")
    assert "готують обіди для переселенців" in found.text
    assert "cookies" not in found.text and "Усі права захищено" not in found.text
    assert found.title == "Волонтери відкрили кухню"
    assert found.published == "2022-05-14"
    assert found.author == "Олена Тестова"
    assert found.sitename == "Тестові новини"


def test_windows_1251_page_with_charset_only_in_meta_decodes() -> None:
    body = ARTICLE.format(charset="windows-1251").replace('<meta charset="windows-1251">', '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">').encode("cp1251")
    response = HtmlResponse("http://news.test/arhiv/a", body=body, headers={"Content-Type": "text/html"})
    assert response.encoding == "cp1251"
    assert "волонтери щодня готують" in extract(response.text).text


def _item(**fields: object) -> PageItem:
    base = {"url": "http://news.test/a", "source": "news", "fetched_url": "http://news.test/a", "fetched_at": dt.datetime(2024, 1, 1)}
    return PageItem(**(base | fields))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"fetch_error": "http_404", "http_status": 404}, "http_404"),
        ({"content_type": "application/pdf", "http_status": 200}, "not_html"),
        ({"content_type": "text/html", "html": "<html><head><title>x</title></head><body><script>var a = 1;</script></body></html>", "http_status": 200}, "empty_extraction"),
    ],
)
def test_extraction_stage_drops_with_a_reason(fields: dict, reason: str) -> None:
    with pytest.raises(PageDropped) as caught:
        extracted(_item(**fields))
    assert caught.value.reason == reason


def test_content_hash_ignores_whitespace_and_case() -> None:
    assert content_hash("Волонтери  Дніпра\n") == content_hash("волонтери дніпра")
    assert content_hash("a") != content_hash("b")
