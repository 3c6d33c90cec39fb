from __future__ import annotations

import email.utils
import time

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.middlewares import ProxyMiddleware, backoff_delay
from spiders.site import SiteSpider


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [(1, None, 2.0), (2, None, 4.0), (3, None, 8.0), (10, None, 60.0), (1, "7", 7.0), (1, "600", 60.0)],
)
def test_backoff_is_exponential_capped_and_honours_retry_after(attempt: int, retry_after: str | None, expected: float) -> None:
    assert backoff_delay(attempt, base=2.0, ceiling=60.0, retry_after=retry_after) == expected


def test_backoff_reads_an_http_date() -> None:
    header = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= backoff_delay(1, base=2.0, ceiling=60.0, retry_after=header) <= 30


def test_proxy_middleware_is_off_without_a_proxy_and_sets_it_otherwise() -> None:
    with pytest.raises(NotConfigured):
        ProxyMiddleware.from_crawler(get_crawler(SiteSpider))
    middleware = ProxyMiddleware.from_crawler(get_crawler(SiteSpider, {"COPROD_PROXY": "http://127.0.0.1:9"}))
    request = Request("http://news.test/robots.txt")
    middleware.process_request(request)
    assert request.meta["proxy"] == "http://127.0.0.1:9"
