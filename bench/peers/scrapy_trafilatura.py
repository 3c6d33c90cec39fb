"""Peer 1 of the crawl benchmark: the pipeline most projects start with, in one file.

A Scrapy `CrawlSpider` that follows every link of the site; its callback extracts each page
with `trafilatura.extract(with_metadata=True)` and detects the language of the full text
with `langdetect`; an item pipeline writes each item to SQLite and commits it. With
`-a workers=N` the extraction and language detection run in a pool of N processes
(`concurrent.futures.ProcessPoolExecutor`), awaited by an async callback.

    scrapy runspider bench/peers/scrapy_trafilatura.py -a start=http://127.0.0.1:8080/ -s PAGES_DB=pages.sqlite [-a workers=2]
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlsplit

import trafilatura
from langdetect import DetectorFactory, detect
from langdetect.lang_detect_exception import LangDetectException
from scrapy import signals
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule

DetectorFactory.seed = 0


def analyse(html: str, url: str) -> dict | None:
    """Main text and metadata (trafilatura), and the language of the text (langdetect)."""
    found = trafilatura.extract(html, url=url, with_metadata=True, output_format="json")
    if not found:
        return None
    doc = json.loads(found)
    try:
        doc["language"] = detect(doc.get("text") or "")
    except LangDetectException:
        doc["language"] = None
    return doc


class SQLitePipeline:
    def __init__(self, path: str):
        self.path = path

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("PAGES_DB", "pages.sqlite"))

    def open_spider(self):
        self.db = sqlite3.connect(self.path)
        self.db.execute("CREATE TABLE IF NOT EXISTS pages (url TEXT PRIMARY KEY, title TEXT, date TEXT, language TEXT, text TEXT)")

    def close_spider(self):
        self.db.close()

    def process_item(self, item):
        self.db.execute(
            "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?)",
            (item["url"], item.get("title"), item.get("date"), item.get("language"), item.get("text")),
        )
        self.db.commit()
        return item


class PagesSpider(CrawlSpider):
    name = "pages"
    custom_settings = {"ITEM_PIPELINES": {SQLitePipeline: 300}}
    rules = (Rule(LinkExtractor(), callback="parse_item", follow=True),)

    def __init__(self, start: str, workers: str = "0", *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.start_urls = [start]
        self.allowed_domains = [urlsplit(start).hostname]
        self.pool = ProcessPoolExecutor(int(workers)) if int(workers) > 0 else None

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.spider_closed, signal=signals.spider_closed)
        return spider

    def spider_closed(self, spider):
        if self.pool is not None:
            self.pool.shutdown()

    async def parse_item(self, response):
        if self.pool is None:
            doc = analyse(response.text, response.url)
        else:
            doc = await asyncio.wrap_future(self.pool.submit(analyse, response.text, response.url))
        if doc is not None:
            yield {"url": response.url, **doc}
