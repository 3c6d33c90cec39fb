from __future__ import annotations

import email.utils

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.middlewares import ProxyMiddleware, backoff_delay, retry_after_seconds
from spiders.site import SiteSpider


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [(1, None, 2.0), (2, None, 4.0), (3, None, 8.0), (10, None, 60.0), (1, "7", 7.0), (1, "600", 60.0)],
)
def test_backoff_is_exponential_capped_and_honours_retry_after(attempt: int, retry_after: str | None, expected: float) -> None:
    assert backoff_delay(attempt, base=2.0, ceiling=60.0, retry_after=retry_after) == expected


def test_retry_after_reads_an_http_date() -> None:
    now = 1_700_000_000.0
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30
    assert retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", now=now) == 0  # a date gone by: no wait
    assert retry_after_seconds("Sunday, 06-Nov-94 08:49:37 GMT", now=784111777.0 - 5) == 5  # RFC 850, no zone: GMT


@pytest.mark.parametrize(
    "garbage",
    ["soon, maybe", "-30", "Tue, 31 Feb 2023 25:61:00 GMT", "", "   ", "1e3", "3.5", "٣", "\x00\x01", "Mon, 99 Foo 2023 10:00:00 GMT", "9" * 400 + "x"],
)
def test_a_garbage_retry_after_falls_back_to_the_exponential_backoff(garbage: str) -> None:
    assert retry_after_seconds(garbage) is None
    assert backoff_delay(3, base=2.0, ceiling=60.0, retry_after=garbage) == 8.0


def test_a_huge_retry_after_is_capped() -> None:
    assert backoff_delay(1, base=2.0, ceiling=60.0, retry_after="9" * 400) == 60.0


def test_proxy_middleware_is_off_without_a_proxy_and_sets_it_otherwise() -> None:
    with pytest.raises(NotConfigured):
        ProxyMiddleware.from_crawler(get_crawler(SiteSpider))
    middleware = ProxyMiddleware.from_crawler(get_crawler(SiteSpider, {"COPROD_PROXY": "http://127.0.0.1:9"}))
    request = Request("http://news.test/robots.txt")
    middleware.process_request(request)
    assert request.meta["proxy"] == "http://127.0.0.1:9"
