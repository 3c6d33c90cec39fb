from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.core.config import Source as SourceConfig
from crawler.core.errors import SchemaMismatch
from crawler.core.items import PageItem
from storage.db import open_catalogue, start_run, sync_sources, write_pages
from storage.models import Candidate, Decision, Page, PageIdentifier, SchemaInfo


def verdict(flagged: bool) -> dict:
    return {
        "flagged": flagged, "score": 9.0 if flagged else 1.0, "direction": "C2C", "mode": "co-delivery",
        "in_region": True, "in_window": True, "published": "2022-05-01",
        "identifiers": [{"kind": "telegram", "value": "t.me/dnipro_test"}, {"kind": "card", "value": "4149 **** **** 5678"}],
        "places": [{"code": "UA12020010010037010", "name": "Дніпро", "category": "M", "hromada_code": None, "raion_code": None}],
    }


def item(url: str, text: str | None = "Волонтери Дніпра", flagged: bool = True) -> PageItem:
    return PageItem(
        url=url, source="news", fetched_url=url, fetched_at=dt.datetime(2024, 1, 1), http_status=200,
        content_type="text/html", text=text, title="t", content_hash=str(hash(text)), language="uk",
        relevance=verdict(flagged) if text else None,
    )


@pytest.fixture
def engine(catalogue_url: str):
    engine = open_catalogue(catalogue_url)
    yield engine
    engine.dispose()


def setup_source(session: Session) -> dict[str, int]:
    return sync_sources(session, [SourceConfig(name="news", kind="news", start_urls=["http://news.test/"])])


def test_upsert_is_idempotent_and_copies_are_not_candidates(engine) -> None:
    batch = [(item("http://news.test/a"), None, None), (item("http://agg.test/copy"), None, None), (item("http://news.test/404", text=None, flagged=False), "http_404", "HTTP 404")]
    for _ in range(2):
        with Session(engine) as session, session.begin():
            ids = setup_source(session)
            write_pages(session, batch, ids, start_run(session, "site", ["news"], None))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Page)) == 3
        assert session.scalar(select(func.count()).select_from(Candidate)) == 1
        copy = session.scalar(select(Page).where(Page.url == "http://agg.test/copy"))
        assert copy.duplicate_of.url == "http://news.test/a"
        assert session.scalar(select(Page.drop_reason).where(Page.url == "http://news.test/404")) == "http_404"
        original = session.scalar(select(Page).where(Page.url == "http://news.test/a"))
        assert {(i.kind, i.value) for i in original.identifiers} == {("telegram", "t.me/dnipro_test"), ("card", "4149 **** **** 5678")}
        assert [p.code for p in original.places] == ["UA12020010010037010"]
        assert session.scalar(select(func.count()).select_from(PageIdentifier)) == 4  # two pages, no duplicates


def test_failed_refetch_keeps_the_text(engine) -> None:
    with Session(engine) as session, session.begin():
        ids = setup_source(session)
        write_pages(session, [(item("http://news.test/a"), None, None)], ids, None)
    with Session(engine) as session, session.begin():
        write_pages(session, [(item("http://news.test/a", text=None), "http_500", "HTTP 500")], ids, None)
    with Session(engine) as session:
        page = session.scalar(select(Page))
        assert page.text == "Волонтери Дніпра" and page.drop_reason is None
        assert page.drop_detail == "last fetch: http_500 (HTTP 500)"


def test_decisions_are_append_only(engine) -> None:
    with Session(engine) as session, session.begin():
        ids = setup_source(session)
        write_pages(session, [(item("http://news.test/a"), None, None)], ids, None)
        candidate = session.scalar(select(Candidate))
        session.add(Decision(candidate_id=candidate.id, user="ana", decision="include"))
    with Session(engine) as session:
        decision = session.scalar(select(Decision))
        decision.decision = "exclude"
        with pytest.raises(PermissionError, match="append-only"):
            session.flush()


def test_other_schema_version_is_refused(catalogue_url: str) -> None:
    url = catalogue_url
    engine = open_catalogue(url)
    with Session(engine) as session, session.begin():
        session.scalar(select(SchemaInfo)).version = 999
    engine.dispose()
    with pytest.raises(SchemaMismatch, match="version 999"):
        open_catalogue(url)


def test_a_discovered_source_takes_its_example_from_the_first_mention_with_words(engine) -> None:
    """Which page mentions a source first depends on the crawl's order (workers, retries):
    a bare link (an icon) seen first must not leave the source without an example."""
    from storage.models import DiscoveredSource

    def mention(url: str, example: str) -> PageItem:
        page = item(url, text=f"Волонтери Дніпра {url}")
        page.discovered = [{"key": "t.me/hub_test", "kind": "telegram", "url": "https://t.me/hub_test", "example": example}]
        return page

    with Session(engine) as session, session.begin():
        ids = setup_source(session)
        write_pages(session, [(mention("http://news.test/icon", ""), None, None)], ids, None)
    with Session(engine) as session:
        assert session.scalar(select(DiscoveredSource.example)) is None
    with Session(engine) as session, session.begin():
        write_pages(session, [(mention("http://news.test/icon-2", ""), None, None), (mention("http://news.test/story", "Пишіть у наш канал."), None, None)], ids, None)
    with Session(engine) as session, session.begin():
        write_pages(session, [(mention("http://news.test/later", "Інше речення."), None, None)], ids, None)
    with Session(engine) as session:
        assert session.scalars(select(DiscoveredSource.example)).all() == ["Пишіть у наш канал."]  # the first with words, kept


def test_an_original_crawled_after_its_exact_copy_leads_the_story(engine) -> None:
    """The copy was stored first (so by its hash it is the original), then the near-copy
    decision names the later page the original (the copy links to it): the later page
    leads, the copy points to it, and no cycle of copies is written."""
    copy = item("http://agg.test/copy", text="Волонтери Дніпра відкрили пункт")
    with Session(engine) as session, session.begin():
        ids = setup_source(session)
        write_pages(session, [(copy, None, None)], ids, None)
    original = item("http://news.test/story", text="Волонтери Дніпра відкрили пункт")
    original.replaces = ["http://agg.test/copy"]
    with Session(engine) as session, session.begin():
        write_pages(session, [(original, None, None)], ids, None)
    with Session(engine) as session:
        pages = {p.url: p for p in session.scalars(select(Page))}
        assert pages["http://news.test/story"].duplicate_of is None
        assert pages["http://agg.test/copy"].duplicate_of.url == "http://news.test/story"
        assert [c.page.url for c in session.scalars(select(Candidate))] == ["http://news.test/story"]


def test_a_stored_fingerprint_is_compared_without_reading_the_text_again(engine) -> None:
    from pipelines.dedup import CopyFinder, fingerprint, shingles, signature
    from storage.db import stored_signatures, stored_stories

    words = "громада волонтери зібрали допомогу переселенцям місто район укриття генератор вода ліки школа".split()
    text = " ".join(words[(i * 7) % len(words)] + str(i) for i in range(200))
    hashes = fingerprint(shingles(text))
    page = item("http://news.test/story", text)
    page.signature, page.shingles = signature(hashes), hashes.tobytes()
    with Session(engine) as session, session.begin():
        write_pages(session, [(page, None, None)], setup_source(session), None)
    with Session(engine) as session:
        assert stored_signatures(session) == [("http://news.test/story", page.signature, hashes.size)]
        stored = stored_stories(session, ["http://news.test/story"])["http://news.test/story"]
        assert stored[3] == hashes.tobytes()
    # A later run's copy of it (an aggregator's, with a source line) finds it from the
    # stored fingerprint: the stored text is replaced so that shingling it would not match.
    with Session(engine) as session:
        finder = CopyFinder(stored_signatures(session), lambda urls: {"http://news.test/story": ("інший текст", None, [], stored[3])})
    copy = item("http://agg.test/story", "Джерело: сайт громади. " + text)
    copy_hashes = fingerprint(shingles(copy.text))
    copy.signature, copy.shingles = signature(copy_hashes), copy_hashes.tobytes()
    finder.mark(copy)
    assert copy.copy_of == "http://news.test/story"
