"""The review queue's filters, counts and pages against a reference computed in plain Python.

A small synthetic catalogue (sources of two kinds, candidates in every status, language and
mode, pages naming villages, their hromada or a place elsewhere, pages with places that are
no candidate, texts with and without the searched words). Every view is paged through to its
end and must list exactly the candidates, in exactly the order, that filtering and sorting the
rows in Python gives. Run twice: with the queue's own thresholds (every view counted exactly
and read from its matches) and with small ones, so the same catalogue also takes the capped
count ("more than"), the walk of the order index and a search read as a set.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from crawler.core.config import load_config
from pipelines.search import index_pending
from review.app import create_app, review_config
from review.auth import add_user
from review.views import queue
from storage.db import open_catalogue
from storage.models import Candidate, Page, PagePlace, RankerRun, Source
from tests.conftest import DEMO_SEEDS, PASSWORD, opened_app

R1, H1, V1, V2 = "UA12020000000000001", "UA12020010000000002", "UA12020010010000003", "UA12020010020000004"
R2, H2, V3 = "UA12040000000000005", "UA12040010000000006", "UA12040010010000007"
# code: (name, hromada, raion); a hromada's own row names no hromada.
PLACES = {V1: ("Підгороднє", H1, R1), V2: ("Сурсько-Литовське", H1, R1), H1: ("Слобожанська", None, R1), V3: ("Вербки", H2, R2)}
FILLER = "волонтери збирають кошти генератори укриттів переселенці допомога громада".split()
SOURCES = {1: ("news-a", "news"), 2: ("news-b", "news"), 3: ("hub", "volunteer_hub")}
CANDIDATES = 160


def _catalogue() -> list[dict[str, Any]]:
    """The candidates as plain rows, with the pages and places they come from."""
    rng = random.Random(14)
    rows = []
    for i in range(1, CANDIDATES + 1):
        words = set(rng.sample(FILLER, 4))
        if rng.random() < 0.4:
            words.add("кухня")
        if rng.random() < 0.3:
            words.add("генератори")
        rows.append({
            "id": i, "page_id": i, "source_id": rng.choice(tuple(SOURCES)),
            # Ties in score, so the order's second key (id) matters.
            "score": float(rng.randint(8, 30)) / 2,
            "status": rng.choice(("unscreened",) * 4 + ("include", "exclude", "maybe")),
            "language": rng.choice(("uk", "ru")), "mode": rng.choice(("co-design", "co-delivery", "co-monitoring")),
            "places": rng.sample(sorted(PLACES), rng.choice((0, 1, 1, 2, 3))),
            "words": words,
        })
    return rows


ROWS = _catalogue()


@pytest.fixture(scope="module")
def catalogue(databases) -> str:
    url = databases.new()
    engine = open_catalogue(url)
    with engine.begin() as connection:
        connection.execute(insert(Source), [{"id": k, "name": n, "kind": kind, "start_urls": [], "allowed_domains": [], "enabled": True} for k, (n, kind) in SOURCES.items()])
        pages = [{"id": r["page_id"], "url": f"https://queue.example/{r['id']}", "fetched_url": f"https://queue.example/{r['id']}", "source_id": r["source_id"],
                  "title": f"Запис {r['id']}", "text": " ".join(sorted(r["words"])), "language": r["language"], "mode": r["mode"], "flagged": True,
                  "score": r["score"], "event_date": "2022-05-01", "relevance": {}} for r in ROWS]
        # Pages at the places that are no candidate: a count by place must not take them.
        pages += [{"id": 1000 + i, "url": f"https://queue.example/other/{i}", "fetched_url": f"https://queue.example/other/{i}", "source_id": 1, "title": "інше",
                   "text": "кухня громада", "language": "uk", "mode": None, "flagged": False, "score": 1.0, "event_date": None, "relevance": {}} for i in range(5)]
        connection.execute(insert(Page), pages)
        connection.execute(insert(Candidate), [{k: r[k] for k in ("id", "page_id", "score", "status", "source_id", "language", "mode")} for r in ROWS])
        places = [{"page_id": r["page_id"], "code": code, "name": PLACES[code][0], "category": "H" if code == H1 else "C", "hromada_code": PLACES[code][1], "raion_code": PLACES[code][2]}
                  for r in ROWS for code in r["places"]]
        places += [{"page_id": 1000 + i, "code": V1, "name": PLACES[V1][0], "category": "C", "hromada_code": H1, "raion_code": R1} for i in range(5)]
        connection.execute(insert(PagePlace), places)
    with Session(engine) as session, session.begin():
        add_user(session, "vic", "viewer", PASSWORD)
        index_pending(session)
    engine.dispose()
    return url


SMALL = {"COUNT_CAP": 30, "WALK_AT": 10, "SET_AFTER": 20, "PAGE_SIZE": 7}


def signed_in(catalogue: str):
    config = replace(review_config(load_config(DEMO_SEEDS), catalogue, "queue test key"), retrain_every=0)
    app = opened_app(create_app(config))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)  # the test logs in without reading the form
    client = app.test_client()
    assert client.post("/login", data={"name": "vic", "password": PASSWORD}).status_code == 303
    return client


@pytest.fixture(params=["thresholds of the queue", "small thresholds"])
def client(request, catalogue: str, monkeypatch):
    if request.param == "small thresholds":
        for name, value in SMALL.items():
            monkeypatch.setattr(queue, name, value)
    return signed_in(catalogue)


def _at(row: dict[str, Any], place: str) -> bool:
    return any(place in (code, *PLACES[code][1:]) or place == PLACES[code][0] for code in row["places"])


def reference(filters: dict[str, str], model: dict[int, float] | None = None) -> list[int]:
    """The ids the queue must list for `filters`, in its order, computed over the rows."""
    kept = [
        r for r in ROWS
        if all((
            filters.get("status") in (None, r["status"]),
            filters.get("language") in (None, r["language"]),
            filters.get("mode") in (None, r["mode"]),
            filters.get("source") in (None, SOURCES[r["source_id"]][0]),
            filters.get("kind") in (None, SOURCES[r["source_id"]][1]),
            "place" not in filters or _at(r, filters["place"]),
            all(word in r["words"] for word in filters.get("q", "").split()),
        ))
    ]
    if model is None:
        return [r["id"] for r in sorted(kept, key=lambda r: (-r["score"], r["id"]))]
    return [r["id"] for r in sorted(kept, key=lambda r: (r["id"] not in model, -model.get(r["id"], 0), -r["score"], r["id"]))]


def paged(client, filters: dict[str, str]) -> tuple[list[int], str, list[str]]:
    """Every page of the view, first to last by its "next" links: the ids listed, the
    count it shows, and each page's pager text."""
    ids, pagers, page = [], [], 1
    while True:
        html = client.get("/queue", query_string={**filters, "page": page}).get_data(as_text=True)
        ids += [int(cid) for cid in re.findall(r'<tr class="row" data-href="/candidates/(\d+)', html)]
        pagers.append(" ".join(re.search(r'<p class="pager">([^<]*)', html)[1].split()))
        if not re.search(rf'page={page + 1}(&amp;|")', html.split('<p class="pager">')[1]):
            return ids, re.search(r"<small>(.*?) candidates", html)[1], pagers
        page += 1


VIEWS = [
    {},
    {"status": "unscreened"},
    {"status": "include", "language": "ru"},
    {"status": "unscreened", "language": "uk", "mode": "co-delivery"},
    {"kind": "news", "mode": "co-design"},
    {"source": "hub"},
    {"place": V1},
    {"place": H1},  # its villages' pages and pages naming the hromada itself, each once
    {"place": R2},
    {"place": "Сурсько-Литовське"},
    {"place": H1, "status": "unscreened", "language": "uk"},
    {"q": "кухня"},
    {"q": "кухня генератори"},
    {"q": "кухня", "status": "unscreened", "language": "ru"},
    {"q": "генератори", "place": H1},
    {"q": "генератори", "place": V3, "mode": "co-monitoring"},
]


@pytest.mark.parametrize("filters", VIEWS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "all")
def test_each_view_lists_exactly_the_reference_candidates_in_order(client, filters: dict[str, str]) -> None:
    expected = reference(filters)
    assert expected, "the catalogue should give every view some candidates"
    ids, shown, pagers = paged(client, filters)
    assert ids == expected
    size = queue.PAGE_SIZE
    if not filters or len(expected) <= queue.COUNT_CAP:
        assert shown == str(len(expected))
        assert pagers[-1] == f"page {len(pagers)} of {-(-len(expected) // size)}"
    else:
        # Past the cap the count stops: "more than", and pages of unknown number until the last.
        assert shown == f"more than {queue.COUNT_CAP:,}"
        assert pagers[0] == f"page 1 of more than {queue.COUNT_CAP // size}"
        assert pagers[-1] == f"page {len(pagers)} of {len(pagers)}"


def test_small_thresholds_take_the_capped_count_and_the_search_set(catalogue: str, monkeypatch) -> None:
    """The small thresholds do send some views past the cap and some searches deeper than
    `SET_AFTER` (else the run with them would prove nothing more), and the cap counts only
    up to it."""
    for name, value in SMALL.items():
        monkeypatch.setattr(queue, name, value)
    assert [f for f in VIEWS if f and len(reference(f)) > SMALL["COUNT_CAP"]] and [f for f in VIEWS if f and len(reference(f)) <= SMALL["COUNT_CAP"]]
    assert any("q" in f and len(reference(f)) > SMALL["SET_AFTER"] + SMALL["PAGE_SIZE"] for f in VIEWS)
    assert paged(signed_in(catalogue), {"status": "unscreened"})[1] == "more than 30"


def test_a_page_past_the_last_lists_nothing(client) -> None:
    filters = {"status": "unscreened"}
    html = client.get("/queue", query_string={**filters, "page": 5000}).get_data(as_text=True)
    last = -(-len(reference(filters)) // queue.PAGE_SIZE)
    if len(reference(filters)) <= queue.COUNT_CAP:
        assert f"page {last} of {last}" in html  # the page number is clamped to the last
        assert html.count('<tr class="row"') == len(reference(filters)) - (last - 1) * queue.PAGE_SIZE
    else:
        assert "No candidate matches." in html and "(past the last)" in html


def test_the_model_order_with_filters_matches_the_reference(client, catalogue: str) -> None:
    engine = open_catalogue(catalogue, create=False)
    rng = random.Random(5)
    # The model scored the open candidates (ties included); the rest follow by the engine.
    model = {r["id"]: rng.randint(0, 20) / 20 for r in ROWS if r["status"] in ("unscreened", "maybe")}
    with Session(engine) as session, session.begin():
        for cid, value in model.items():
            session.get(Candidate, cid).model_score = value
        session.add(RankerRun(decisions=100, labels=100, positives=50, scored=len(model), outcome="trained"))
    try:
        for filters in ({}, {"language": "uk"}, {"place": H1, "mode": "co-delivery"}, {"q": "кухня", "status": "maybe"}):
            assert paged(client, filters)[0] == reference(filters, model), filters
    finally:
        with Session(engine) as session, session.begin():
            for cid in model:
                session.get(Candidate, cid).model_score = None
            session.execute(delete(RankerRun))
        engine.dispose()
