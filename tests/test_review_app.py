"""The review app driven in-process: access control, CSRF, sanitising, decisions, cases, dual screening."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.core.config import load_config
from review.app import create_app, review_config
from storage.db import open_catalogue
from storage.models import Candidate, Case, CaseEvidence, Decision, DiscoveredSource, PageIdentifier, PagePlace
from tests.conftest import DEMO_SEEDS, PASSWORD, catalogue_with_users, opened_app

pytestmark = pytest.mark.e2e
USERS = {"ada": "admin", "ana": "analyst", "bo": "analyst", "vic": "viewer", "cy": "analyst", "di": "analyst"}


@pytest.fixture(scope="module")
def catalogue(demo_crawl, databases) -> str:
    return catalogue_with_users(demo_crawl.url, databases, USERS)


def make_app(catalogue: str, dual: bool = False, **changes):
    # No background retraining unless a test asks for it.
    config = replace(review_config(load_config(DEMO_SEEDS), catalogue, "review test key"), **({"dual_screening": dual, "retrain_every": 0} | changes))
    app = opened_app(create_app(config))
    app.config["TESTING"] = True
    return app


def login(client, name: str, password: str = PASSWORD) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    answer = client.post("/login", data={"name": name, "password": password, "next": "/queue", "csrf_token": csrf(page.get_data(as_text=True))})
    assert answer.status_code == 303, answer.data
    return csrf(client.get("/queue").get_data(as_text=True))


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def first_candidate(catalogue: str) -> int:
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        cid = session.scalar(select(Candidate.id).order_by(Candidate.score.desc(), Candidate.id))
    engine.dispose()
    return cid


ROUTES = [
    ("GET", "/", "viewer"), ("GET", "/queue", "viewer"), ("GET", "/candidates/{c}", "viewer"), ("GET", "/candidates/{c}/capture", "viewer"), ("GET", "/cases", "viewer"),
    ("GET", "/stats", "viewer"), ("GET", "/sources", "viewer"), ("GET", "/conflicts", "admin"),
    ("POST", "/candidates/{c}/decide", "analyst"), ("POST", "/sources/decide", "analyst"), ("POST", "/conflicts/{c}", "admin"),
    ("POST", "/cases/1/code", "analyst"), ("POST", "/cases/1/merge", "analyst"), ("POST", "/cases/1/split", "analyst"),
    ("POST", "/logout", "viewer"),
]


@pytest.mark.parametrize(("method", "path", "role"), ROUTES)
def test_every_route_but_login_needs_a_session_and_the_right_role(catalogue: str, method: str, path: str, role: str) -> None:
    app = make_app(catalogue)
    path = path.format(c=first_candidate(catalogue))
    anonymous = app.test_client()
    answer = anonymous.open(path, method=method)
    assert answer.status_code == (303 if method == "GET" else 401)
    if method == "GET":
        assert answer.headers["Location"].startswith("/login")
    ranks = ["viewer", "analyst", "admin"]
    for name, user_role in USERS.items():
        client = app.test_client()
        token = login(client, name)
        answer = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
        if ranks.index(user_role) < ranks.index(role):
            assert answer.status_code == 403, (name, path)
        else:
            assert answer.status_code != 403, (name, path)


def test_a_form_without_its_csrf_token_is_refused(catalogue: str) -> None:
    app = make_app(catalogue)
    client = app.test_client()
    login(client, "ana")
    cid = first_candidate(catalogue)
    assert client.post(f"/candidates/{cid}/decide", data={"decision": "maybe"}).status_code == 400
    assert client.post(f"/candidates/{cid}/decide", data={"decision": "maybe", "csrf_token": "forged"}).status_code == 400


def test_hostile_page_text_is_escaped_and_scripts_are_forbidden(catalogue: str) -> None:
    engine = open_catalogue(catalogue, create=False)
    hostile = '<script>alert("x")</script> Волонтери Дніпра <img src=x onerror="alert(1)"> <a href="javascript:alert(2)">тут</a>'
    with Session(engine) as session, session.begin():
        candidate = session.scalar(select(Candidate).order_by(Candidate.id))
        candidate.page.text = hostile
        candidate.page.title = '<b onmouseover="alert(3)">title</b>'
        cid = candidate.id
    engine.dispose()
    app = make_app(catalogue)
    client = app.test_client()
    login(client, "vic")
    answer = client.get(f"/candidates/{cid}")
    html = answer.get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and '<b onmouseover' not in html
    assert "&lt;script&gt;" in html and "onerror=&#34;alert(1)&#34;" in html
    assert 'href="javascript:' not in html
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]


def test_the_captured_version_is_shown_escaped_with_its_capture_time(catalogue: str) -> None:
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session, session.begin():
        candidate = session.scalar(select(Candidate).order_by(Candidate.id.desc()))
        version = candidate.page.page_versions[-1]
        version.text = '<script>alert("v")</script> Збір на генератори'
        cid, captured = candidate.id, version.captured_at
    engine.dispose()
    client = make_app(catalogue).test_client()
    login(client, "vic")
    view = client.get(f"/candidates/{cid}").get_data(as_text=True)
    assert f"captured {captured.isoformat(timespec='minutes')}" in view and f'href="/candidates/{cid}/capture"' in view
    answer = client.get(f"/candidates/{cid}/capture")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert f"captured {captured.isoformat(timespec='seconds')} UTC" in html and ".warc.gz</code>" in html
    assert client.get(f"/candidates/{cid}/capture?version=99").status_code == 404


def test_decisions_are_appended_and_simultaneous_ones_are_both_kept(catalogue: str) -> None:
    app = make_app(catalogue)
    cid = first_candidate(catalogue)
    clients = []
    for name in ("ana", "bo"):
        client = app.test_client()
        clients.append((client, login(client, name)))
    barrier = threading.Barrier(2)
    answers = []

    def post(client, token, decision) -> None:
        barrier.wait()
        answers.append(client.post(f"/candidates/{cid}/decide", data={"decision": decision, "csrf_token": token, "note": "same moment"}).status_code)

    threads = [threading.Thread(target=post, args=(c, t, d)) for (c, t), d in zip(clients, ("maybe", "maybe"), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [303, 303]
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        rows = session.scalars(select(Decision).where(Decision.candidate_id == cid, Decision.note == "same moment")).all()
        assert sorted(d.user for d in rows) == ["ana", "bo"]
    engine.dispose()


def test_include_creates_a_case_suggested_to_a_candidate_sharing_an_identifier_and_coding_it(catalogue: str) -> None:
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        # Two candidates whose pages share a Telegram channel or a jar.
        shared = session.execute(
            select(PageIdentifier.value, func.count(func.distinct(Candidate.id)))
            .join(Candidate, Candidate.page_id == PageIdentifier.page_id)
            .where(PageIdentifier.kind.in_(("telegram", "jar")))
            .group_by(PageIdentifier.value)
            .having(func.count(func.distinct(Candidate.id)) >= 2)
        ).first()
        assert shared, "the sample web shares an initiative's channel between pages"
        first, second = session.scalars(
            select(Candidate.id).join(PageIdentifier, PageIdentifier.page_id == Candidate.page_id).where(PageIdentifier.value == shared[0]).order_by(Candidate.id)
        ).all()[:2]
    engine.dispose()
    app = make_app(catalogue)
    client = app.test_client()
    token = login(client, "ana")
    answer = client.post(f"/candidates/{first}/decide", data={"decision": "include", "case": "new", "case_name": "Спільна ініціатива", "csrf_token": token})
    assert answer.status_code == 303
    page = client.get(f"/candidates/{second}").get_data(as_text=True)
    assert "Спільна ініціатива" in page and "shares" in page
    case_id = int(re.search(r'name="case" value="(\d+)" checked', page)[1])
    client.post(f"/candidates/{second}/decide", data={"decision": "include", "case": str(case_id), "csrf_token": token})
    coding = {"csrf_token": token, "name": "Спільна ініціатива", "direction": "C2C", "mode": "co-delivery", "ict_channels": ["telegram", "crowdfunding"], "start_date": "2022-03-01"}
    assert client.post(f"/cases/{case_id}/code", data=coding).status_code == 303
    listing = client.get("/cases").get_data(as_text=True)
    assert "Спільна ініціатива" in listing and "co-delivery" in listing
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(CaseEvidence).where(CaseEvidence.case_id == case_id)) == 2
        assert session.get(Case, case_id).fields["ict_channels"] == ["telegram", "crowdfunding"]
    engine.dispose()
    bad = client.post(f"/cases/{case_id}/code", data={"csrf_token": token, "direction": "sideways", "mode": "co-delivery"})
    assert bad.status_code == 400


def test_dual_screening_conflicts_and_kappa(catalogue: str) -> None:
    app = make_app(catalogue, dual=True)
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        ids = session.scalars(select(Candidate.id).where(Candidate.status == "unscreened").order_by(Candidate.id.desc()).limit(4)).all()
    engine.dispose()
    cy, di = app.test_client(), app.test_client()
    tokens = {"cy": login(cy, "cy"), "di": login(di, "di")}
    # cy: include, include, exclude, exclude; di: include, exclude, exclude, exclude
    plan = {"cy": ["include", "include", "exclude", "exclude"], "di": ["include", "exclude", "exclude", "exclude"]}
    for name, client in (("cy", cy), ("di", di)):
        for cid, decision in zip(ids, plan[name], strict=True):
            data = {"decision": decision, "csrf_token": tokens[name], "reason": "duplicate", "case": "new"}
            assert client.post(f"/candidates/{cid}/decide", data=data).status_code == 303
    # Blind: di does not see cy's decision on the conflicting candidate.
    assert "cy:" not in di.get(f"/candidates/{ids[1]}").get_data(as_text=True)
    admin = app.test_client()
    login(admin, "ada")
    conflicts = admin.get("/conflicts").get_data(as_text=True)
    assert f"conflict-{ids[1]}" in conflicts and f"conflict-{ids[0]}" not in conflicts
    # Hand computation over these 4 items: po = 3/4; cy: 2 include, 2 exclude; di: 1 include, 3 exclude;
    # pe = (2/4)(1/4) + (2/4)(3/4) = 1/2; kappa = (3/4 - 1/2) / (1 - 1/2) = 0.5.
    stats = admin.get("/stats").get_data(as_text=True)
    row = re.search(r"<td>cy · di</td><td class=\"kappa\">([^<]+)</td><td>(\d+)</td>", stats)
    assert row and row[2] == "4" and row[1] == "0.500"


def test_the_model_reranks_the_queue_after_enough_decisions_without_blocking_requests(catalogue: str) -> None:
    app = make_app(catalogue, learning_after=6, retrain_every=0.5)
    client = app.test_client()
    token = login(client, "bo")
    assert "ranked by the relevance engine" in client.get("/queue").get_data(as_text=True)
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        ids = session.scalars(select(Candidate.id).where(Candidate.status == "unscreened").order_by(Candidate.id).limit(6)).all()
    engine.dispose()
    for index, cid in enumerate(ids):
        decision = "include" if index % 2 else "exclude"
        answer = client.post(f"/candidates/{cid}/decide", data={"decision": decision, "reason": "duplicate", "case": "new", "csrf_token": token})
        assert answer.status_code == 303
    # Training runs in a subprocess of the app's retrainer: the ranking appears while the
    # requests below only read the queue.
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        queue = client.get("/queue").get_data(as_text=True)
        if "ranked by the screening model" in queue:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the background retrainer did not rank the queue")
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        open_scored = session.scalar(select(func.count()).select_from(Candidate).where(Candidate.model_score.is_not(None)))
        assert open_scored and open_scored == session.scalar(
            select(func.count()).select_from(Candidate).where(Candidate.status.not_in(("include", "exclude")))
        )
    engine.dispose()


def test_queue_filters_and_discovered_sources_decisions(catalogue: str) -> None:
    app = make_app(catalogue)
    client = app.test_client()
    token = login(client, "ana")
    everything = client.get("/queue").get_data(as_text=True)
    total = int(re.search(r"<small>(\d+) candidates", everything)[1])
    assert total > 10
    dnipro = client.get("/queue?place=UA12020010010037010").get_data(as_text=True)
    in_dnipro = int(re.search(r"<small>(\d+) candidates", dnipro)[1])
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        expected = session.scalar(
            select(func.count(func.distinct(Candidate.id))).join(PagePlace, PagePlace.page_id == Candidate.page_id).where(PagePlace.code == "UA12020010010037010")
        )
        key = session.scalar(select(DiscoveredSource.key).limit(1))
    engine.dispose()
    assert 0 < in_dnipro == expected < total
    assert "No candidate matches." in client.get("/queue?q=zzzz-nothing-matches").get_data(as_text=True)
    assert client.post("/sources/decide", data={"key": key, "status": "rejected", "csrf_token": token}).status_code == 303
    assert "rejected" in client.get("/sources?status=rejected").get_data(as_text=True)


def test_cases_merge_and_split_keep_their_history(catalogue: str) -> None:
    app = make_app(catalogue)
    client = app.test_client()
    token = login(client, "ana")
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        ids = session.scalars(select(Candidate.id).where(Candidate.status == "unscreened").order_by(Candidate.id).limit(3)).all()
    engine.dispose()
    for cid, name in zip(ids, ("Перша", "Друга", "Друга"), strict=True):
        existing = None
        engine = open_catalogue(catalogue, create=False)
        with Session(engine) as session:
            existing = session.scalar(select(Case.id).where(Case.name == name, Case.merged_into_id.is_(None)))
        engine.dispose()
        data = {"decision": "include", "csrf_token": token, "case": str(existing) if existing else "new", "case_name": name}
        assert client.post(f"/candidates/{cid}/decide", data=data).status_code == 303
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        first = session.scalar(select(Case.id).where(Case.name == "Перша"))
        second = session.scalar(select(Case.id).where(Case.name == "Друга"))
    engine.dispose()
    assert client.post(f"/cases/{first}/merge", data={"other": str(second), "csrf_token": token}).status_code == 303
    merged = client.get(f"/cases/{first}").get_data(as_text=True)
    assert merged.count('name="candidate"') == 3 and "merged" in merged
    answer = client.post(f"/cases/{first}/split", data={"candidate": [str(ids[0])], "name": "Відокремлена", "csrf_token": token})
    assert answer.status_code == 303
    new_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    engine = open_catalogue(catalogue, create=False)
    with Session(engine) as session:
        assert session.scalars(select(CaseEvidence.candidate_id).where(CaseEvidence.case_id == new_id)).all() == [ids[0]]
        assert session.get(Case, second).merged_into_id == first
    engine.dispose()
    assert "split" in client.get(f"/cases/{new_id}").get_data(as_text=True)
