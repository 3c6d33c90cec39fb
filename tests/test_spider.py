"""The site spider's callbacks, driven with HtmlResponse objects (no network)."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.core.config import Source
from crawler.core.items import PageItem
from spiders.site import SiteSpider

NEWS = Source(name="news", kind="news", start_urls=["http://news.test/"], allowed_domains=["news.test"])
HUB = Source(name="hub", kind="volunteer_hub", start_urls=["http://hub.test/"])
CHANNEL = Source(name="chan", kind="telegram", start_urls=["https://t.me/s/chan"])

PAGE = b"""<html><body>
<a href="/novyny/1/?utm_source=tg&utm_medium=social">one</a>
<a href="/novyny/1/#comments">one again</a>
<a href="/novyny/1">one without slash</a>
<a href="http://news.test/novyny/2/">two</a>
<a href="http://hub.test/initiative/">another source</a>
<a href="https://t.me/some_channel">telegram</a>
<a href="/files/report.pdf">pdf</a>
<a href="/img/photo.jpg">photo</a>
<a href="mailto:editor@news.test">mail</a>
</body></html>"""


def make_spider(*sources: Source, cap: int = 100) -> SiteSpider:
    crawler = get_crawler(SiteSpider)
    spider = SiteSpider(list(sources), pages_per_source=cap)
    spider._set_crawler(crawler)
    crawler.spider = spider
    crawler.stats.open_spider()
    return spider


def response(url: str, body: bytes = PAGE, source: str = "news", depth: int = 0) -> HtmlResponse:
    request = Request(url, meta={"source": source, "depth": depth})
    return HtmlResponse(url, body=body, headers={"Content-Type": "text/html; charset=utf-8"}, request=request)


def test_telegram_sources_are_left_to_their_own_spider() -> None:
    spider = make_spider(NEWS, CHANNEL)
    assert [s.name for s in spider.sources] == ["news"]


def test_parse_yields_the_page_and_follows_only_clean_in_domain_links() -> None:
    spider = make_spider(NEWS, HUB)
    out = list(spider.parse(response("http://news.test/")))
    items = [o for o in out if isinstance(o, PageItem)]
    requests = [o for o in out if isinstance(o, Request)]
    assert len(items) == 1 and items[0].url == "http://news.test/" and items[0].source == "news"
    urls = sorted(r.url for r in requests)
    assert urls == ["http://news.test/files/report.pdf", "http://news.test/novyny/1/", "http://news.test/novyny/2/"]
    assert all(r.meta["source"] == "news" for r in requests)
    assert spider.crawler.stats.get_value("coprod/skipped/media_link") == 1


def test_a_source_on_a_non_default_port_follows_its_links() -> None:
    local = Source(name="local", kind="news", start_urls=["http://127.0.0.1:18080/"])
    spider = make_spider(local)
    out = list(spider.parse(response("http://127.0.0.1:18080/", source="local")))
    urls = sorted(o.url for o in out if isinstance(o, Request))
    assert urls == ["http://127.0.0.1:18080/files/report.pdf", "http://127.0.0.1:18080/novyny/1/"]


def test_links_already_scheduled_build_no_request_again() -> None:
    spider = make_spider(NEWS)
    first = [o for o in spider.parse(response("http://news.test/")) if isinstance(o, Request)]
    again = [o for o in spider.parse(response("http://news.test/novyny/2/", depth=1)) if isinstance(o, Request)]
    assert len(first) == 3 and again == []
    # The page's links were read once, into the item, for discovery and following alike.
    [item] = [o for o in spider.parse(response("http://news.test/x")) if isinstance(o, PageItem)]
    assert ("https://t.me/some_channel", "telegram") in item.outlinks


def test_page_cap_limits_scheduled_pages_per_source() -> None:
    spider = make_spider(NEWS, cap=2)
    requests = [o for o in spider.parse(response("http://news.test/")) if isinstance(o, Request)]
    assert len(requests) == 2
    assert spider.crawler.stats.get_value("coprod/skipped/page_cap/news") == 1


def test_source_depth_stops_link_following() -> None:
    shallow = NEWS.model_copy(update={"depth": 1})
    spider = make_spider(shallow)
    out = list(spider.parse(response("http://news.test/a/", depth=1)))
    assert [type(o) for o in out] == [PageItem]


def test_non_html_response_is_an_item_without_html() -> None:
    spider = make_spider(NEWS)
    request = Request("http://news.test/files/report.pdf", meta={"source": "news"})
    pdf = Response("http://news.test/files/report.pdf", body=b"%PDF-1.4", headers={"Content-Type": "application/pdf"}, request=request)
    (item,) = list(spider.parse(pdf))
    assert item.html is None and item.content_type == "application/pdf"


@pytest.mark.parametrize("status", [404, 500])
def test_http_errors_become_items_with_a_reason(status: int) -> None:
    spider = make_spider(NEWS)
    request = Request("http://news.test/missing/?utm_campaign=x", meta={"source": "news"})
    failed = Response(request.url, status=status, request=request)
    failure = Failure(HttpError(failed))
    failure.request = request
    (item,) = list(spider.on_error(failure))
    assert item.fetch_error == f"http_{status}" and item.http_status == status
    assert item.url == "http://news.test/missing"
