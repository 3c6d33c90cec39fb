"""Source discovery: outbound channels and sites, counted, and crawled once accepted."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.app.demo.server import SampleWeb
from pipelines.discover import discover
from storage.db import open_catalogue
from storage.models import Page
from storage.queries import discovered_rows
from tests.conftest import DEMO, DEMO_SEEDS, run_coprod

WEB = SampleWeb(DEMO / "web")


@pytest.mark.parametrize(
    ("url", "key", "kind"),
    [
        ("https://t.me/dnipro_help_test", "t.me/dnipro_help_test", "telegram"),
        ("https://t.me/s/dnipro_help_test", "t.me/dnipro_help_test", "telegram"),
        ("https://instagram.com/kr_paws_test/", "instagram.com/kr_paws_test", "instagram"),
        ("https://www.facebook.com/pavlohrad.roofs.test", "facebook.com/pavlohrad.roofs.test", "facebook"),
        ("https://www.Example-Hub.org.ua/about", "example-hub.org.ua", "site"),
    ],
)
def test_outbound_links_are_keyed_like_identifiers(url: str, key: str, kind: str) -> None:
    [found] = discover([(url, "our page")], "Read more on our page. Thanks.", own_domains=["news.test"])
    assert (found.key, found.kind) == (key, kind)
    assert found.example == "Read more on our page."


def test_own_links_platforms_and_known_sources_are_not_discoveries() -> None:
    links = [("http://news.test/a", "a"), ("https://send.monobank.ua/jar/abc123", "jar"), ("https://t.me/share/url?url=x", "share"),
             ("https://t.me/known_channel", "known"), ("mailto:a@b.ua", "mail")]
    assert discover(links, "", own_domains=["news.test"], known_keys=frozenset({"t.me/known_channel"})) == []


def served_html(url: str) -> str:
    parts = urlsplit(url)
    site = WEB.sites.get(parts.hostname or "")
    file = site.resolve(parts.path or "/") if site else None
    return file.read_text(encoding="utf-8") if file else ""


@pytest.mark.e2e
def test_demo_crawl_lists_discovered_channels_and_sites_with_in_degree(demo_crawl) -> None:
    result = run_coprod("sources", "--discovered", "--db", demo_crawl.url, "--limit", "500")
    assert result.returncode == 0, result.stderr
    engine = demo_crawl.engine()
    with Session(engine) as session:
        rows = {r["key"]: r for r in discovered_rows(session)}
        kept = [p.url for p in session.scalars(select(Page).where(Page.drop_reason.is_(None), Page.content_type.like("text/html%")))]
    engine.dispose()
    assert {r["kind"] for r in rows.values()} >= {"telegram", "site", "instagram", "facebook"}
    for key, row in rows.items():
        assert key in result.stdout
    busiest = max((r for r in rows.values() if r["kind"] == "telegram"), key=lambda r: r["in_degree"])
    expected = sum(1 for url in kept if busiest["key"] in served_html(url))
    assert busiest["in_degree"] == expected > 1
    assert "kryvbas-dopomoha.test" not in rows  # a source of the study is not a discovery


@pytest.mark.e2e
def test_accepting_a_discovered_site_makes_the_next_crawl_fetch_it(sample_web, tmp_path: Path) -> None:
    seeds = yaml.safe_load(DEMO_SEEDS.read_text(encoding="utf-8"))
    seeds["sources"] = [s for s in seeds["sources"] if s["name"] in ("volonter-hub", "dnipro-vechir")]
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump(seeds, allow_unicode=True), encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    args = ("--seeds", str(path), "--db", db)
    assert run_coprod("crawl", *args, "--proxy", sample_web.proxy_url).returncode == 0
    listing = run_coprod("sources", "--discovered", *args)
    assert "kryvbas-dopomoha.test" in listing.stdout
    assert not _pages_of(db, "kryvbas-dopomoha.test")

    accepted = run_coprod("sources", "--accept", "kryvbas-dopomoha.test", *args)
    assert accepted.returncode == 0 and "kryvbas-dopomoha.test: accepted" in accepted.stdout
    assert run_coprod("crawl", *args, "--proxy", sample_web.proxy_url).returncode == 0
    assert _pages_of(db, "kryvbas-dopomoha.test")
    assert run_coprod("sources", "--accept", "no-such.example", *args).returncode == 2


def _pages_of(db: str, host: str) -> list[str]:
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        urls = [u for u in session.scalars(select(Page.url)) if urlsplit(u).hostname == host]
    engine.dispose()
    return urls
