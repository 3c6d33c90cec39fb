"""What the analysts work with: the queue's search through the engine's lemmatizer and the
database's full-text index, Telegram titles, "next" in the queue's real order, the learning
loop's state, discovered sources without furniture, and the coding form that saves work."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from crawler.core.config import load_config
from review.app import Maintainer, create_app, review_config
from review.auth import add_user
from storage.db import open_catalogue
from storage.models import Candidate, CandidateSearch, Case, CaseEvidence, DiscoveredSource, Page, RankerRun
from storage.queries import discovered_rows
from tests.conftest import DEMO_SEEDS, opened_app, run_coprod

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SHELTER_POST = {
    "url": "https://x.test/ukryttia",
    "title": "Перевірка укриття",
    "text": "Волонтери Дніпра перевірили укриття на Лівому березі. Ми збираємо кошти на генератор для укриття, долучайтеся!",
}


def make_app(url: str, **changes):
    app = opened_app(create_app(replace(review_config(load_config(DEMO_SEEDS), url, "screening test key"), **({"retrain_every": 0} | changes))))
    app.config["TESTING"] = True
    return app


def signed_in(app, name: str):
    client = app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True))[1]
    assert client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}).status_code == 303
    return client


def total(html: str) -> int:
    return int(re.search(r"<small>(\d+) candidates", html)[1])


@pytest.fixture(scope="module")
def catalogue(demo_crawl, databases) -> str:
    url = databases.new(template=demo_crawl.url)
    engine = open_catalogue(url)
    with Session(engine) as session, session.begin():
        add_user(session, "ana", "analyst", PASSWORD)
        add_user(session, "ada", "admin", PASSWORD)
    engine.dispose()
    return url


# --- search -------------------------------------------------------------------------------


def _imported(tmp_path: Path, db: str) -> str:
    source = tmp_path / "posts.jsonl"
    source.write_text(json.dumps(SHELTER_POST, ensure_ascii=False) + "\n", encoding="utf-8")
    done = run_coprod("import", str(source), "--seeds", str(DEMO_SEEDS), "--db", db)
    assert done.returncode == 0, done.stderr
    engine = open_catalogue(db, create=False)
    with Session(engine) as session, session.begin():
        assert session.scalar(select(func.count()).select_from(Candidate)) == 1, "the post is flagged"
        add_user(session, "ana", "analyst", PASSWORD)
    engine.dispose()
    return db


@pytest.mark.parametrize("query", ["укриттях", "укриттів", "УКРИТТЯ", "генератора укриттях", "Дніпрі"])
def test_search_finds_every_form_of_a_word_through_the_full_text_index(tmp_path: Path, query: str) -> None:
    db = _imported(tmp_path, f"sqlite:///{tmp_path / 'c.sqlite'}")
    assert "укриттях" not in SHELTER_POST["text"] and "укриття" in SHELTER_POST["text"]
    client = signed_in(make_app(db), "ana")
    found = client.get("/queue", query_string={"q": query}).get_data(as_text=True)
    assert total(found) == 1 and "Перевірка укриття" in found
    assert total(client.get("/queue", query_string={"q": "укриттях кухня"}).get_data(as_text=True)) == 0
    # The words sit in SQLite's FTS5 index, which the search reads.
    engine = open_catalogue(db, create=False)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM candidate_fts WHERE candidate_fts MATCH '\"укриття\"'")) == 1
    engine.dispose()


@pytest.fixture
def postgresql(postgres_databases) -> str:
    """A database of our own on the local PostgreSQL (skips without one; dropped at the end)."""
    return postgres_databases.new()


def test_search_in_postgresql_goes_through_its_tsvector_index(tmp_path: Path, postgresql: str) -> None:
    db = _imported(tmp_path, postgresql)
    app = make_app(db)
    client = signed_in(app, "ana")
    assert total(client.get("/queue", query_string={"q": "укриттях"}).get_data(as_text=True)) == 1
    assert total(client.get("/queue", query_string={"q": "кухнях"}).get_data(as_text=True)) == 0
    assert total(client.get("/queue", query_string={"q": "укриттях", "language": "uk"}).get_data(as_text=True)) == 1
    engine = open_catalogue(db, create=False)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_candidate_search_tsv'")) == 1
    engine.dispose()


def test_the_demo_queue_search_finds_inflected_forms(catalogue: str) -> None:
    client = signed_in(make_app(catalogue), "ana")
    base = total(client.get("/queue?q=укриття").get_data(as_text=True))
    assert base > 0 and total(client.get("/queue?q=укриттях").get_data(as_text=True)) == base
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(CandidateSearch)) == session.scalar(select(func.count()).select_from(Candidate))
    engine.dispose()


# --- Telegram titles ----------------------------------------------------------------------


def test_every_telegram_candidate_of_the_demo_has_its_channel_and_first_line_as_title(demo_crawl) -> None:
    engine = demo_crawl.engine()
    with Session(engine) as session:
        posts = session.execute(
            select(Page.title, Page.text, Page.extra).join(Candidate, Candidate.page_id == Page.id).where(Page.content_type.like("%telegram%"))
        ).all()
    engine.dispose()
    assert posts
    for title, body, extra in posts:
        channel = extra.get("channel_title") or f"@{extra['channel']}"
        first = next(line.strip() for line in body.splitlines() if line.strip())
        assert title.startswith(f"{channel}: ") and first[:40].rstrip("…") in title


# --- "next" follows the queue's order; the loop says what it is doing ---------------------


def _ranked_copy(catalogue: str, databases) -> tuple[str, list[int]]:
    """A copy whose queue the model ranked: model scores in reverse of the engine's order."""
    url = databases.new(template=catalogue)
    engine = open_catalogue(url, create=False)
    with Session(engine) as session, session.begin():
        by_engine = list(session.scalars(select(Candidate).order_by(Candidate.score.desc(), Candidate.id)))
        for rank, candidate in enumerate(by_engine):
            candidate.model_score = round(rank / len(by_engine), 6)
        session.add(RankerRun(decisions=60, labels=40, positives=20, scored=len(by_engine), outcome="trained"))
        order = [c.id for c in sorted(by_engine, key=lambda c: (-(c.model_score or 0), -c.score, c.id))]
    engine.dispose()
    return url, order


def test_next_candidate_follows_the_model_ranked_queue_and_its_filters(catalogue: str, databases) -> None:
    url, order = _ranked_copy(catalogue, databases)
    client = signed_in(make_app(url), "ana")
    queue = client.get("/queue").get_data(as_text=True)
    assert "ranked by the screening model" in queue
    shown = [int(i) for i in re.findall(r'<tr class="row" data-href="/candidates/(\d+)', queue)]
    assert shown == order[: len(shown)]
    page = client.get(f"/candidates/{order[0]}").get_data(as_text=True)
    assert f'data-next="/candidates/{order[1]}"' in page and 'data-previous=""' in page
    page = client.get(f"/candidates/{order[1]}").get_data(as_text=True)
    assert f'data-previous="/candidates/{order[0]}"' in page and f'data-next="/candidates/{order[2]}"' in page
    token = TOKEN.search(page)[1]
    answer = client.post(f"/candidates/{order[0]}/decide", data={"decision": "maybe", "csrf_token": token})
    assert answer.headers["Location"] == f"/candidates/{order[1]}"
    # With a filter, "next" walks the filtered queue, and the filter goes along.
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        language = {c.id: c.language for c in session.scalars(select(Candidate))}
    engine.dispose()
    russian = [cid for cid in order if language[cid] == "ru"]
    assert len(russian) >= 2
    page = client.get(f"/candidates/{russian[0]}?language=ru").get_data(as_text=True)
    assert f'data-next="/candidates/{russian[1]}?language=ru"' in page


def test_the_queue_says_when_the_model_failed_and_when_a_retraining_is_due(catalogue: str, databases, tmp_path: Path) -> None:
    url, _ = _ranked_copy(catalogue, databases)
    client = signed_in(make_app(url, learning_after=1), "ana")
    token = TOKEN.search(client.get("/queue").get_data(as_text=True))[1]
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        cid = session.scalar(select(Candidate.id).order_by(Candidate.id))
    engine.dispose()
    client.post(f"/candidates/{cid}/decide", data={"decision": "maybe", "csrf_token": token})
    # 61 decisions > the 60 the model was trained on: a retraining is due.
    engine = open_catalogue(url, create=False)
    with Session(engine) as session, session.begin():
        session.get(RankerRun, session.scalar(select(RankerRun.id))).decisions = 0
    engine.dispose()
    queue = client.get("/queue").get_data(as_text=True)
    assert 'id="learning-due"' in queue and "new decisions since the last training: a retraining is due" in queue
    # The background trainer crashes (its study file is gone): the failure is recorded and shown.
    config = replace(review_config(load_config(DEMO_SEEDS), url, "screening test key"), learning_after=1, seeds_path=str(tmp_path / "gone.yaml"))
    engine = open_catalogue(url, create=False)
    Maintainer(config, engine).round()
    engine.dispose()
    queue = client.get("/queue").get_data(as_text=True)
    assert 'id="learning-failure"' in queue and "training the model failed at" in queue and "gone.yaml" in queue
    assert "ranked by the screening model" in queue  # the last good model still ranks the queue


# --- discovered sources -------------------------------------------------------------------


def test_discovery_leaves_out_page_furniture_tells_bots_and_chats_apart_and_accepts_only_crawlable(catalogue: str, tmp_path: Path) -> None:
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        rows = {r["key"]: r for r in discovered_rows(session)}
        ranked = discovered_rows(session)
    engine.dispose()
    # dnipro-vechir.test links its own channel from the footer of every page: furniture.
    news = rows["t.me/dnipro_vechir_news"]
    assert news["furniture"] == ["dnipro-vechir"] and news["in_degree"] == 0 and news["candidates"] == 0
    assert "youtube.com" not in rows  # a video platform is not a source
    assert rows["t.me/pomich_zayavky_bot"]["kind"] == "telegram_bot" and rows["t.me/pomich_dnipro_chat"]["kind"] == "telegram_chat"
    assert rows["t.me/pomich_zayavky_bot"]["crawlable"] is False and rows["t.me/kryvbas_dopomoha"]["crawlable"] is True
    # Ranked by flagged candidates pointing in.
    assert [r["candidates"] for r in ranked] == sorted((r["candidates"] for r in ranked), reverse=True) and ranked[0]["candidates"] > 0
    refused = run_coprod("sources", "--accept", "t.me/pomich_zayavky_bot", "--db", catalogue)
    assert refused.returncode == 2 and "cannot be accepted" in refused.stderr
    client = signed_in(make_app(catalogue), "ana")
    page = client.get("/sources").get_data(as_text=True)
    token = TOKEN.search(page)[1]
    assert client.post("/sources/decide", data={"key": "instagram.com/dnipro_vechir_test", "status": "accepted", "csrf_token": token}).status_code == 400
    assert client.post("/sources/decide", data={"key": "t.me/kryvbas_dopomoha", "status": "accepted", "csrf_token": token}).status_code == 303
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        statuses = dict(session.execute(select(DiscoveredSource.key, DiscoveredSource.status)).all())
    engine.dispose()
    assert statuses["instagram.com/dnipro_vechir_test"] == "undecided" and statuses["t.me/kryvbas_dopomoha"] == "accepted"


# --- coding that saves work ---------------------------------------------------------------


def test_the_coding_form_starts_from_the_screening_and_the_engine_with_the_cases_own_places(catalogue: str) -> None:
    app = make_app(catalogue)
    client = signed_in(app, "ana")
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        candidate = session.scalar(
            select(Candidate).join(Page).where(Candidate.status == "unscreened", Page.relevance["places"].isnot(None)).order_by(Candidate.id.desc())
        )
        verdict = candidate.page.relevance
        own = {p["code"] for p in verdict["places"]}
        everywhere = set(session.scalars(select(func.distinct(text("code"))).select_from(text("page_places"))))
        cid = candidate.id
    engine.dispose()
    assert own and everywhere - own
    token = TOKEN.search(client.get(f"/candidates/{cid}").get_data(as_text=True))[1]
    data = {"decision": "include", "mode": "co-monitoring", "case": "new", "case_name": "Форма, що економить час", "csrf_token": token}
    assert client.post(f"/candidates/{cid}/decide", data=data).status_code == 303
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        case_id = session.scalar(select(CaseEvidence.case_id).where(CaseEvidence.candidate_id == cid))
    engine.dispose()
    form = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert 'id="suggested"' in form
    assert re.search(r'name="mode" value="co-monitoring" checked', form)  # the screening decision's mode
    assert re.search(rf'name="direction" value="{verdict["direction"]}" checked', form)
    for channel in set(verdict.get("ict", ())) & {"telegram", "bot", "website", "crowdfunding", "phone"}:
        assert re.search(rf'name="ict_channels" value="{channel}" checked', form), channel
    offered = set(re.findall(r'<option value="(UA\d{17})"', form))
    assert offered == own  # the case's own places, not every place of the catalogue
    assert "C2C: citizens for citizens" in form and "Support for internally displaced people" in form  # labels, not ids
    saved = {"csrf_token": token, "direction": "C2C", "mode": "co-monitoring", "service_area": ["idp_support", "shelter"]}
    assert client.post(f"/cases/{case_id}/code", data=saved).status_code == 303
    history = re.search(r'<section id="history">(.*?)</section>', client.get(f"/cases/{case_id}").get_data(as_text=True), re.S)[1]
    assert "opened the case from candidate" in history and "coded it: Direction: C2C: citizens for citizens; Mode: co-monitoring" in history
    assert "Service area: Shelter and housing, Support for internally displaced people" in history
    assert "{" not in history  # no Python dict
    cases_page = client.get("/cases").get_data(as_text=True)
    assert "C2C: citizens for citizens" in cases_page
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        assert session.get(Case, case_id).fields["service_area"] == ["shelter", "idp_support"]
    engine.dispose()
