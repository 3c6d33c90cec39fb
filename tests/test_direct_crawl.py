"""A site on a non-default port, crawled directly (no proxy): it is crawled whole, and its
article crawled and imported gives the same stored page, identifiers and discovered sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage.db import open_catalogue
from storage.models import DiscoveredSource, Page, SourceLink
from tests.conftest import run_coprod, web_server, write_study

pytestmark = pytest.mark.e2e

WEB = Path(__file__).parent / "data" / "direct-web"
SITE = WEB / "127.0.0.1"
ARTICLE = "novyny/kukhnia.html"
PAGES = ["", "novyny", "novyny/kukhnia.html", "novyny/generatory.html", "pro-nas.html"]


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory):
    """The site served on 127.0.0.1:<random port>, its study file and a catalogue of one crawl."""
    folder = tmp_path_factory.mktemp("direct")
    with web_server(WEB) as web:
        assert not web.proxy_url.endswith((":80", ":443"))
        seeds = write_study(folder / "seeds.yaml", f"""\
  - name: kukhnia
    kind: volunteer_hub
    region: Kryvyi Rih
    start_urls: ["{web.proxy_url}/"]
""")
        db = f"sqlite:///{folder / 'crawled.sqlite'}"
        crawl = run_coprod("crawl", "--seeds", str(seeds), "--db", db)  # no --proxy: straight to the port
        assert crawl.returncode == 0, crawl.stderr
        yield web.proxy_url, seeds, db, folder


def stored(db: str) -> dict[str, Page]:
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        pages = {p.url: p for p in session.scalars(select(Page).options(selectinload(Page.identifiers), selectinload(Page.places)))}
        for page in pages.values():
            session.expunge(page)
    engine.dispose()
    return pages


def unordered(value: object) -> object:
    """A verdict with its lists in a fixed order: the engine lists matched terms in an order
    that varies from process to process (set iteration), which says nothing of the verdict."""
    if isinstance(value, dict):
        return {k: unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((unordered(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def discoveries(db: str) -> set[tuple[str, str, str, str | None]]:
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        rows = session.execute(
            select(Page.url, DiscoveredSource.key, DiscoveredSource.kind, DiscoveredSource.example)
            .join(SourceLink, SourceLink.discovered_id == DiscoveredSource.id)
            .join(Page, Page.id == SourceLink.page_id)
        )
        found = {tuple(row) for row in rows}
    engine.dispose()
    return found


def test_a_site_on_a_non_default_port_is_crawled_whole(direct) -> None:
    base, _, db, _ = direct
    pages = stored(db)
    assert set(pages) == {f"{base}/{path}" for path in PAGES}
    assert {p.http_status for p in pages.values()} == {200}
    assert all(p.drop_reason is None for p in pages.values()), {u: p.drop_reason for u, p in pages.items()}


def test_crawl_and_import_store_the_same_page(direct) -> None:
    base, seeds, crawled_db, folder = direct
    url = f"{base}/{ARTICLE}"
    documents = folder / "article.jsonl"
    documents.write_text(json.dumps({"url": url, "html": (SITE / ARTICLE).read_text(encoding="utf-8")}, ensure_ascii=False) + "\n", encoding="utf-8")
    imported_db = f"sqlite:///{folder / 'imported.sqlite'}"
    # Filed under the crawled source, so the engine knows the same source kind and region.
    result = run_coprod("import", str(documents), "--source", "kukhnia", "--seeds", str(seeds), "--db", imported_db)
    assert result.returncode == 0, result.stderr
    crawled, imported = stored(crawled_db)[url], stored(imported_db)[url]
    fields = ("title", "text", "published", "content_hash", "language", "language_detail", "links", "flagged", "score", "direction", "mode")
    assert {f: getattr(imported, f) for f in fields} == {f: getattr(crawled, f) for f in fields}
    assert unordered(imported.relevance) == unordered(crawled.relevance)
    assert crawled.text and "триста гарячих обідів" in crawled.text
    assert crawled.relevance and crawled.relevance["reasons"]
    identifiers = {(i.kind, i.value) for i in crawled.identifiers}
    assert ("telegram", "t.me/kukhnia_dobra_test") in identifiers
    assert {(i.kind, i.value) for i in imported.identifiers} == identifiers
    assert {p.code for p in imported.places} == {p.code for p in crawled.places}
    # The article links to a Telegram channel and a site the study does not crawl: two
    # discovered sources, with the same example sentences, whichever way the page came in.
    of_article = {row[1:] for row in discoveries(crawled_db) if row[0] == url}
    assert {(key, kind) for key, kind, _ in of_article} == {("t.me/kukhnia_dobra_test", "telegram"), ("dopomoha-ryadom.example.org", "site")}
    assert discoveries(imported_db) == {(url, *row) for row in of_article}
