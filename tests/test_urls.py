from __future__ import annotations

import pytest

from crawler.core.urls import canonical_url, clean_url


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("http://News.Example.TEST/story/14/", "http://news.example.test/story/14"),
        ("http://news.example.test/story/14", "http://news.example.test/story/14"),
        ("http://news.example.test/story/14/#comments", "http://news.example.test/story/14"),
        ("http://news.example.test/story/14/?utm_source=tg&utm_medium=social", "http://news.example.test/story/14"),
        ("http://news.example.test/story/?b=2&a=1&fbclid=XYZ", "http://news.example.test/story?a=1&b=2"),
        ("http://news.example.test:80/", "http://news.example.test/"),
        ("https://news.example.test:443/a", "https://news.example.test/a"),
        ("http://news.example.test/новини/", "http://news.example.test/%D0%BD%D0%BE%D0%B2%D0%B8%D0%BD%D0%B8"),
        ("http://news.example.test/%d0%bd%d0%be%d0%b2%d0%b8%d0%bd%d0%b8", "http://news.example.test/%D0%BD%D0%BE%D0%B2%D0%B8%D0%BD%D0%B8"),
        ("http://news.example.test/search?q=volunteer&UTM_Campaign=x", "http://news.example.test/search?q=volunteer"),
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_clean_url_keeps_the_path_as_written() -> None:
    assert clean_url("http://Example.test/a/b/?utm_source=x&id=3#top") == "http://example.test/a/b/?id=3"
    assert clean_url("http://example.test") == "http://example.test/"
