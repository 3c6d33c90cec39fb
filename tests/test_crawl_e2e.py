"""End to end: the sample web crawled over loopback by `coprod crawl` subprocesses.

Expectations come from the sample web's hand-written MANIFEST.yaml (what each page is),
never from an earlier run of the crawler.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from crawler.core.urls import canonical_url
from storage.models import Candidate, Page, Run
from tests.conftest import MANIFEST, manifest_pages, run_coprod

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pages(demo_crawl) -> dict[str, Page]:
    engine = demo_crawl.engine()
    with Session(engine) as session:
        rows = {page.url: page for page in session.scalars(select(Page).options(selectinload(Page.identifiers)))}
        for page in rows.values():
            session.expunge(page)
    engine.dispose()
    return rows


def kept(pages: dict[str, Page]) -> dict[str, Page]:
    return {url: p for url, p in pages.items() if p.drop_reason is None}


def test_every_site_is_crawled(pages) -> None:
    sites = {entry["site"] for entry in MANIFEST["pages"].values()}
    crawled = {url.split("/")[2] for url in kept(pages)}
    assert sites <= crawled


def test_every_reachable_manifest_page_is_stored_once(pages) -> None:
    expected = {url for url, entry in manifest_pages().items() if entry["category"] != "robots_disallowed"}
    missing = expected - set(kept(pages))
    assert not missing
    assert len(pages) == len({canonical_url(p.fetched_url) for p in pages.values()})


def test_at_least_three_languages_match_the_manifest(pages) -> None:
    stored = kept(pages)
    languages = {stored[url].language for url in manifest_pages() if url in stored}
    assert {"uk", "ru", "en"} <= languages
    wrong = {
        url: (entry["lang"], stored[url].language)
        for url, entry in manifest_pages().items()
        # Listing pages gather headlines in both languages; content pages have one language.
        if url in stored and entry["category"] != "listing" and entry["lang"] in ("uk", "ru", "en")
        and stored[url].language != entry["lang"]
    }
    assert not wrong


def test_windows_1251_pages_are_decoded(pages) -> None:
    legacy = manifest_pages(encoding="windows-1251")
    assert len(legacy) >= 3
    for url, entry in legacy.items():
        page = pages[url]
        assert page.encoding == "cp1251"
        assert page.title == entry["title"]
        assert "Ð" not in page.text and "Р°" not in page.text


def test_robots_disallowed_section_is_never_fetched(pages) -> None:
    for host, prefix in MANIFEST["special"]["robots_disallowed_prefix"].items():
        assert not [url for url in pages if url.startswith(f"http://{host}{prefix.rstrip('/')}")]


def test_no_tracking_parameters_or_fragments_survive(pages) -> None:
    for url, page in pages.items():
        assert "utm_" not in url and "#" not in url
        assert "utm_" not in page.fetched_url


def test_failures_are_recorded_with_their_reason(pages) -> None:
    reasons = {url: p.drop_reason for url, p in pages.items()}
    for url in MANIFEST["special"]["error_500"]:
        assert reasons[canonical_url(url)] == "http_500"
    for url in MANIFEST["special"]["pdf"]:
        assert reasons[canonical_url(url)] == "not_html"
    dead = [canonical_url(url) for url in MANIFEST["special"]["dead_links"] if canonical_url(url) in reasons]
    assert dead and all(reasons[url] == "http_404" for url in dead)
    images = {canonical_url(url) for url in MANIFEST["special"]["images"]}
    assert not images & set(pages)


def test_c2c_initiatives_in_the_region_are_flagged(pages) -> None:
    stored = kept(pages)
    c2c = manifest_pages(category="c2c_region")
    assert len(c2c) >= 10
    missed = sorted(url for url in c2c if not stored[url].flagged)
    assert not missed
    for url in c2c:
        page = stored[url]
        assert page.direction == "C2C" and page.in_region and page.in_window is not False
        assert page.relevance["places"] and page.relevance["direction_evidence"] and page.relevance["reasons"]


def test_plain_war_news_is_not_flagged(pages) -> None:
    stored = kept(pages)
    war = manifest_pages(category="war_news")
    assert war
    assert not [url for url in war if stored[url].flagged]


def test_republished_copies_point_to_their_original(pages, demo_crawl) -> None:
    """Every aggregator copy of the manifest (full copies with a "Джерело:" line, excerpts
    with "read more" links) points to the story it copies, whichever was crawled first, and
    is not a candidate of its own."""
    copies = {url: e for url, e in manifest_pages(category="republished").items() if e.get("republished_from")}
    assert len(copies) >= 5
    engine = demo_crawl.engine()
    with Session(engine) as session:
        candidate_pages = set(session.scalars(select(Page.url).join(Candidate, Candidate.page_id == Page.id)))
    engine.dispose()
    by_id = {page.id: page for page in pages.values()}
    for url, entry in copies.items():
        copy, original = pages[url], pages[canonical_url(entry["republished_from"])]
        assert copy.duplicate_of_id == original.id, url
        assert original.duplicate_of_id is None, url
        assert url not in candidate_pages
        if original.flagged:  # the original is the candidate, or the version of its story that leads
            leader = by_id[original.version_of_id] if original.version_of_id else original
            assert leader.url in candidate_pages
    assert all(by_id[p.duplicate_of_id].duplicate_of_id is None for p in pages.values() if p.duplicate_of_id)


def test_no_listing_tag_or_category_page_is_a_candidate(pages, demo_crawl) -> None:
    listings = manifest_pages(category="listing")
    assert len(listings) >= 10
    engine = demo_crawl.engine()
    with Session(engine) as session:
        candidate_pages = set(session.scalars(select(Page.url).join(Candidate, Candidate.page_id == Page.id)))
    engine.dispose()
    stored = kept(pages)
    assert not [url for url in listings if url in candidate_pages or stored[url].flagged]
    # Each says why it is out: it is a listing.
    assert all(stored[url].relevance.get("page_type") == "listing" and "articles are the candidates" in stored[url].relevance.get("out_reason", "")
               for url in listings)


def test_second_crawl_adds_no_rows_and_records_both_runs(demo_crawl) -> None:
    engine = demo_crawl.engine()
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Page)) == demo_crawl.rows_after_first
        assert session.scalar(select(func.count(func.distinct(Page.url)))) == demo_crawl.rows_after_first
        runs = list(session.scalars(select(Run).order_by(Run.id)))
        flagged = session.scalar(select(func.count()).select_from(Page).where(Page.flagged))
        candidates = session.scalar(select(func.count()).select_from(Candidate))
    engine.dispose()
    assert [r.finish_reason for r in runs] == ["finished"] * 4
    site = [r for r in runs if r.spider == "site"]
    assert len(site) == 2 and {r.spider for r in runs} == {"site", "telegram"}
    assert all(r.stats.get("coprod/stored/new_rows", 0) == 0 for r in runs[2:])
    assert site[0].pages_fetched > 80 and site[0].pages_stored > 0
    assert site[0].stats["coprod/dropped/http_404"] >= 1
    # The sample council site answers its news listing with 429 once: backed off, then fetched.
    assert site[0].stats["coprod/backoff/429"] == 1
    assert 0 < candidates <= flagged


def test_pages_outside_the_window_or_region_are_not_flagged(pages) -> None:
    stored = kept(pages)
    for category in ("pre2022", "c2c_other_region", "g2c"):
        entries = manifest_pages(category=category)
        assert entries
        wrongly = [url for url in entries if stored[url].flagged]
        assert not wrongly, category


def test_card_numbers_never_appear_whole(pages, demo_crawl, tmp_path) -> None:
    cards = {re.sub(r"\D", "", card) for entry in MANIFEST["pages"].values() for card in (entry.get("pii") or {}).get("cards", ())}
    assert cards
    stored_text = json.dumps(
        [[p.text, p.title, p.relevance] for p in pages.values()], ensure_ascii=False
    )
    exports = []
    for what in ("pages", "candidates"):
        for fmt in ("csv", "json", "xlsx"):
            out = tmp_path / f"{what}.{fmt}"
            result = run_coprod("export", "--db", demo_crawl.url, "--what", what, "--format", fmt, "--out", str(out))
            assert result.returncode == 0, result.stderr
            frame = pd.read_excel(out) if fmt == "xlsx" else None
            exports.append(frame.to_csv() if frame is not None else out.read_text(encoding="utf-8"))
    for haystack in [stored_text, *exports]:
        digits = re.sub(r"[ \-\u00a0]", "", haystack)
        assert not [card for card in cards if card in digits]
    masked = {row.value for p in pages.values() for row in p.identifiers if row.kind == "card"}
    assert masked and all("****" in value for value in masked)


def test_language_versions_are_one_candidate(pages, demo_crawl) -> None:
    pairs = {(url, entry["alternate_of"]) for url, entry in manifest_pages().items() if entry.get("alternate_of")}
    assert pairs
    engine = demo_crawl.engine()
    with Session(engine) as session:
        candidate_pages = set(session.scalars(select(Page.url).join(Candidate, Candidate.page_id == Page.id)))
    engine.dispose()
    for url, other in pairs:
        first, second = pages[url], pages[canonical_url(other)]
        assert (first.version_of_id == second.id) != (second.version_of_id == first.id), url
        leader = first if first.version_of_id is None else second
        follower = second if leader is first else first
        assert follower.url not in candidate_pages
        if first.flagged or second.flagged:
            assert leader.url in candidate_pages
    # The C2C story told in Ukrainian and in Russian is exactly one candidate.
    c2c_pairs = [(u, o) for u, o in pairs if manifest_pages()[u]["category"] == "c2c_region"]
    assert c2c_pairs
    for url, other in c2c_pairs:
        assert len({url, canonical_url(other)} & candidate_pages) == 1
