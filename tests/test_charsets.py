"""Which charset a page is read in when its header, byte-order mark and meta tag disagree
(`crawler.core.charsets`), and the reasons a run's stats add up to (`crawler.core.reasons`)."""

from __future__ import annotations

import codecs

import pytest

from crawler.core.charsets import decode_html, page_charset
from crawler.core.reasons import failed_fetches, is_fetch_failure, nothing_fetched

TEXT = "Волонтери громади збирають допомогу для переселенців у Кривому Розі."


def html(meta: str | None = None) -> str:
    head = f'<meta charset="{meta}">' if meta else ""
    return f"<html><head>{head}<title>{TEXT[:20]}</title></head><body><p>{TEXT}</p></body></html>"


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        (html("utf-8").encode(), "text/html; charset=utf-8", ("utf-8", "utf-8")),  # all agree
        (html("windows-1251").encode("cp1251"), "text/html; charset=utf-8", ("cp1251", "meta")),  # the header lies
        (html("utf-8").encode(), "text/html; charset=windows-1251", ("utf-8", "utf-8")),  # a server default over UTF-8
        (codecs.BOM_UTF8 + html().encode(), "text/html; charset=windows-1251", ("utf-8", "bom")),
        (html("windows-1251").encode("cp1251"), "text/html; charset=x-no-such", ("cp1251", "meta")),  # an unknown name is no word
        (html().encode("cp1251"), "text/html", ("cp1251", "fallback")),  # nothing declared
        (html("koi8-u").encode("koi8_u"), "text/html; charset=koi8-u", ("koi8-u", "header")),
        (b"<html><body>plain ascii</body></html>", "text/html; charset=iso-8859-1", ("cp1252", "header")),
    ],
)
def test_the_charset_that_reads_the_page(body: bytes, header: str, expected: tuple[str, str]) -> None:
    found = page_charset(body, header)
    assert (found.encoding, found.chosen_by, found.conflict) == (*expected, None)
    assert TEXT[:20] in decode_html(body, header) or b"ascii" in body


def test_a_stray_byte_in_a_utf8_page_is_still_the_page() -> None:
    body = html("utf-8").encode().replace("громади".encode(), b"\xff" + "громади".encode(), 1)
    assert page_charset(body, "text/html; charset=windows-1251").encoding == "utf-8"


def test_a_page_that_reads_in_none_of_its_charsets_is_a_conflict() -> None:
    found = page_charset(html().encode("cp1251"), "text/html; charset=utf-8")
    assert found.encoding is None and found.conflict == "the bytes read as none of the charsets declared: utf-8 (header)"


def test_a_run_that_fetched_nothing_is_told_from_one_that_found_nothing_new() -> None:
    offline = {"coprod/dropped/dns_error": 10, "coprod/dropped/connection_refused": 2}
    assert nothing_fetched(offline) and failed_fetches(offline) == {"dns_error": 10, "connection_refused": 2}
    assert not nothing_fetched({"coprod/stored": 0})  # a channel with no new post
    assert not nothing_fetched(offline | {"coprod/stored": 1})
    assert not nothing_fetched({"coprod/dropped/not_html": 1, "coprod/dropped/http_404": 1})  # a PDF came through
    assert is_fetch_failure("http_503") and is_fetch_failure("redirect_loop") and not is_fetch_failure("empty_extraction")
