"""The Telegram spider: public channels through their web preview (t.me/s/<channel>).

One page per post, not per preview page. It pages back with ``?before=<id>`` until the
study window's start or the source's post cap, and on the next run stops at the newest post
it already has. The preview's address is a setting (`COPROD_TELEGRAM_BASE_URL`), so tests
point it at the loopback sample web.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.core.config import Source
from crawler.core.errors import CatalogueError
from crawler.core.items import PageItem, post_title
from crawler.core.urls import canonical_url
from pipelines.store import crawl_catalogue, stop_crawl
from spiders._common import chosen_sources, crawl_stopped, failed_item, now
from spiders.telegram_preview import Post, PreviewError, PreviewPage, parse_preview
from storage.capture import CAPTURE_META
from storage.crawl import CrawlCatalogue

__all__ = ["TelegramSpider", "channel_of", "post_item"]


def channel_of(source: Source) -> str | None:
    """The channel a telegram source names: https://t.me/s/<channel> or https://t.me/<channel>."""
    for url in source.start_urls:
        parts = [p for p in urlsplit(url).path.split("/") if p]
        if parts and parts[0] == "s":
            parts = parts[1:]
        if parts:
            return parts[0].lower()
    return None


def post_item(post: Post, source: str, channel_title: str | None = None) -> PageItem:
    return PageItem(
        url=canonical_url(post.url),
        source=source,
        fetched_url=post.url,
        fetched_at=now(),
        http_status=200,
        content_type="text/plain; telegram-post",
        text=post.text,
        title=post_title(post.channel, channel_title, post.text),
        published=post.published.date().isoformat() if post.published else None,
        links=list(post.links),
        outlinks=[(link, "") for link in post.links] + [(f"https://t.me/{name}", f"@{name}") for name in post.mentions],
        extra={
            "channel": post.channel,
            "channel_title": channel_title,
            "post_id": post.post_id,
            "datetime": post.published.isoformat() if post.published else None,
            "views": post.views,
            "mentions": list(post.mentions),
            "forwarded_from": post.forwarded_from,
            "reply_to": post.reply_to,
            "author": post.author,
            "media": list(post.media),
        },
    )


class TelegramSpider(scrapy.Spider):
    name = "telegram"

    @staticmethod
    def handles(source: Source) -> bool:
        return source.kind == "telegram"

    def __init__(self, sources: list[Source], base_url: str, window_start: dt.date, cap: int, catalogue: CrawlCatalogue | None, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.by_channel = {channel: s for s in sources if (channel := channel_of(s))}
        self.sources = list(self.by_channel.values())
        self.base_url = base_url.rstrip("/")
        self.window_start = window_start
        self.cap = cap
        self.catalogue = catalogue
        self.taken: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> TelegramSpider:
        settings = crawler.settings
        sources = chosen_sources(crawler, kwargs.pop("source", None), cls.handles)
        spider = cls(
            sources,
            settings.get("COPROD_TELEGRAM_BASE_URL", "https://t.me"),
            dt.date.fromisoformat(settings.getlist("COPROD_WINDOW")[0]),
            settings.getint("COPROD_PAGES_PER_SOURCE", 500),
            crawl_catalogue(crawler),
            *args,
            **kwargs,
        )
        spider._set_crawler(crawler)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if crawl_stopped(self.crawler):
            return
        try:
            newest = self._newest_known()
        except CatalogueError as error:
            stop_crawl(self.crawler, "catalogue_error", str(error))
            return
        for channel, source in self.by_channel.items():
            self.taken[channel] = 0
            yield self._request(channel, source, before=None, newest=newest.get(channel))

    def parse(self, response: Response) -> Iterator[PageItem | scrapy.Request]:
        channel, newest = response.meta["channel"], response.meta["newest"]
        source = self.by_channel[channel]
        try:
            page = parse_preview(response.body, base_url=self.base_url)
        except PreviewError as error:
            self.crawler.stats.inc_value("coprod/telegram/malformed_preview")
            yield PageItem(
                url=canonical_url(response.url), source=source.name, fetched_url=response.url, fetched_at=now(),
                http_status=response.status, fetch_error="malformed_preview", fetch_error_detail=str(error),
            )
            return
        if page.problems:
            self.crawler.stats.inc_value("coprod/telegram/preview_problems", len(page.problems))
            self.logger.info("Preview %s: %s", response.url, "; ".join(page.problems[:5]))
        yield from self._malformed(response, page, channel, source, newest)
        cap = source.pages or self.cap
        done = False
        posts = sorted(page.posts, key=lambda p: p.post_id, reverse=True)
        for post in posts:
            if newest is not None and post.post_id <= newest:
                done = True  # the rest was stored by an earlier run
                break
            if post.published is not None and post.published.date() < self.window_start:
                # Not a reason to stop: one post's date can be wrong (1970), the older ones decide.
                self.crawler.stats.inc_value("coprod/telegram/outside_window")
                continue
            if self.taken[channel] >= cap:
                self.crawler.stats.inc_value(f"coprod/skipped/page_cap/{source.name}")
                done = True
                break
            self.taken[channel] += 1
            self.crawler.stats.inc_value(f"coprod/fetched/{source.name}")
            item = post_item(post, source.name, page.title)
            item.capture = response.meta.get(CAPTURE_META)  # the preview page the post was read from
            yield item
        oldest = posts[-1] if posts else None
        if oldest is not None and oldest.published is not None and oldest.published.date() < self.window_start:
            done = True  # the page reaches back past the window's start: older pages are older still
        if not done and page.before is not None and page.has_older:
            yield self._request(channel, source, before=page.before, newest=newest)

    def _malformed(self, response: Response, page: PreviewPage, channel: str, source: Source, newest: int | None) -> Iterator[PageItem]:
        """The messages the page shows but could not be read as posts, as `malformed_post`
        pages: one per post id, and one for the preview page for those without an id."""
        unnamed = []
        for post_id, problem in page.malformed:
            if post_id is None:
                unnamed.append(problem)
            elif newest is None or post_id > newest:
                yield self._failed(f"{self.base_url}/{page.channel or channel}/{post_id}", source, problem)
        if unnamed:
            yield self._failed(response.url, source, "; ".join(unnamed))
        if page.malformed:
            self.crawler.stats.inc_value("coprod/telegram/malformed_post", len(page.malformed))

    @staticmethod
    def _failed(url: str, source: Source, problem: str) -> PageItem:
        return PageItem(url=canonical_url(url), source=source.name, fetched_url=url, fetched_at=now(), fetch_error="malformed_post", fetch_error_detail=problem)

    def on_error(self, failure: Failure) -> Iterator[PageItem]:
        item = failed_item(failure, self.crawler)
        if item is not None:
            yield item

    def _request(self, channel: str, source: Source, before: int | None, newest: int | None) -> scrapy.Request:
        url = f"{self.base_url}/s/{channel}" + (f"?before={before}" if before is not None else "")
        return scrapy.Request(url, callback=self.parse, errback=self.on_error, meta={"source": source.name, "channel": channel, "newest": newest}, dont_filter=True)

    def _newest_known(self) -> dict[str, int]:
        """The newest post already stored, per channel: the next run stops there."""
        if self.catalogue is None or not self.sources:
            return {}
        return self.catalogue.newest_posts([s.name for s in self.sources])
