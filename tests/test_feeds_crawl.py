"""Feeds and sitemaps crawled over loopback lead to exactly the in-window articles."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.core.urls import canonical_url
from storage.db import open_catalogue
from storage.models import Page
from tests.conftest import DEMO, DEMO_SEEDS, manifest_pages, run_coprod

pytestmark = pytest.mark.e2e
SITE = DEMO / "web" / "dnipro-vechir.test"


def listed_articles() -> set[str]:
    """Article URLs the feed and the sitemaps list, read with plain XPath (not the parser under test)."""
    urls = set()
    for name in ("rss.xml", "sitemap-2022.xml", "sitemap-2023.xml"):
        tree = etree.parse(str(SITE / name))
        urls.update(tree.xpath("//item/link/text()"))
        urls.update(tree.xpath("//*[local-name()='url']/*[local-name()='loc']/text()"))
    return {canonical_url(u.strip()) for u in urls}


def study(tmp_path: Path, source: dict) -> Path:
    seeds = yaml.safe_load(DEMO_SEEDS.read_text(encoding="utf-8"))
    seeds["sources"] = [source]
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump(seeds, allow_unicode=True), encoding="utf-8")
    return path


def stored(db: str) -> dict[str, Page]:
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        rows = {p.url: p for p in session.scalars(select(Page))}
        for row in rows.values():
            session.expunge(row)
    engine.dispose()
    return rows


def test_feed_and_sitemap_index_lead_to_exactly_the_in_window_articles(sample_web, tmp_path: Path) -> None:
    source = {
        "name": "dnipro-vechir-feeds", "kind": "news", "allowed_domains": ["dnipro-vechir.test"],
        "feeds": ["http://dnipro-vechir.test/rss.xml"], "sitemaps": ["http://dnipro-vechir.test/sitemap.xml"],
    }
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = run_coprod("crawl", "--seeds", str(study(tmp_path, source)), "--db", db, "--proxy", sample_web.proxy_url)
    assert result.returncode == 0, result.stderr
    window = yaml.safe_load(DEMO_SEEDS.read_text(encoding="utf-8"))["study"]["window"]
    manifest = manifest_pages()
    listed = listed_articles()
    assert listed and listed <= set(manifest)
    expected = {url for url in listed if window["start"] <= dt.date.fromisoformat(str(manifest[url]["published"])) <= window["end"]}
    assert expected and expected != listed  # the files list articles on both sides of the window
    pages = stored(db)
    assert set(pages) == expected
    assert all(p.drop_reason is None and p.text for p in pages.values())


def test_robots_sitemap_lines_are_followed(sample_web, tmp_path: Path) -> None:
    source = {"name": "dnipro-vechir-robots", "kind": "news", "allowed_domains": ["dnipro-vechir.test"],
              "sitemaps": ["http://dnipro-vechir.test/robots.txt"]}
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = run_coprod("crawl", "--seeds", str(study(tmp_path, source)), "--db", db, "--proxy", sample_web.proxy_url)
    assert result.returncode == 0, result.stderr
    robots = (SITE / "robots.txt").read_text(encoding="utf-8")
    if "sitemap:" not in robots.lower():
        pytest.fail("the sample web's robots.txt names no sitemap")
    assert stored(db)


@pytest.mark.parametrize(
    ("field", "broken"),
    [("feeds", "http://dnipro-vechir.test/rss-broken.xml"), ("feeds", "http://dnipro-vechir.test/novyny/"),
     ("sitemaps", "http://dnipro-vechir.test/rss-broken.xml"), ("sitemaps", "http://dnipro-vechir.test/novyny/")],
)
def test_malformed_feeds_and_sitemaps_are_recorded_with_a_reason(sample_web, tmp_path: Path, field: str, broken: str) -> None:
    source = {"name": "broken-feed", "kind": "news", "allowed_domains": ["dnipro-vechir.test"], field: [broken]}
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = run_coprod("crawl", "--seeds", str(study(tmp_path, source)), "--db", db, "--proxy", sample_web.proxy_url)
    # Its one document is broken, so the crawl got nothing: it says so, and fails.
    assert result.returncode == 1 and "WARN feeds: nothing fetched, every request failed (malformed_feed: 1)" in result.stdout, result.stderr
    rows = stored(db)
    assert [(p.url, p.drop_reason) for p in rows.values()] == [(canonical_url(broken), "malformed_feed")]
