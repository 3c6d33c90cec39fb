"""The review app in a real browser: Debian chromium driven by Playwright, over loopback."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from crawler.core.config import load_config
from review.app import create_app, review_config
from review.auth import add_user
from storage.db import open_catalogue
from storage.models import Candidate, Case, CaseEvidence, Decision, PageIdentifier
from tests.conftest import DEMO_SEEDS, run_coprod

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)"),
]
PASSWORD = "browser test password"
PAYLOAD = '<script>window.__xss = 1</script> Волонтери Дніпра <img src=x onerror="window.__xss = 2"> <a href="javascript:window.__xss = 3">тут</a>'


@pytest.fixture(scope="module")
def served(demo_crawl, databases) -> Iterator[tuple[str, str]]:
    url = databases.new(template=demo_crawl.url)
    engine = open_catalogue(url)
    with Session(engine) as session, session.begin():
        add_user(session, "olena", "analyst", PASSWORD)
        hostile = session.scalar(select(Candidate).order_by(Candidate.score.asc()))
        hostile.page.text = PAYLOAD
    engine.dispose()
    app = create_app(review_config(load_config(DEMO_SEEDS), url, "browser test key"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", url
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield chromium
        chromium.close()


def logged_in(browser, base: str, name: str = "olena"):
    page = browser.new_page()  # a context of its own: its own cookies
    page.goto(f"{base}/queue")
    assert "/login" in page.url
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/queue")
    return page


def press_and_follow(page, base: str, key: str) -> None:
    """Press a screening key and wait until the app has moved on to the next candidate."""
    following = page.get_attribute("article.candidate", "data-next")
    page.keyboard.press(key)
    page.wait_for_url(f"{base}{following}" if following else f"{base}/queue")


def test_screen_five_candidates_with_the_keyboard_then_build_and_code_a_case(served, browser) -> None:
    base, url = served
    page = logged_in(browser, base)
    page.click("table.queue tbody tr:first-child a")
    # Until the page has loaded, its deferred script (the keys) may not have run.
    page.wait_for_url(re.compile(r".*/candidates/\d+$"))
    for key in ("e", "m", "e", "m", "e"):
        press_and_follow(page, base, key)
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Decision).where(Decision.user == "olena")) == 5
        value = session.execute(
            select(PageIdentifier.value)
            .join(Candidate, Candidate.page_id == PageIdentifier.page_id)
            .where(PageIdentifier.kind.in_(("telegram", "telegram_bot", "jar", "phone")), Candidate.status == "unscreened")
            .group_by(PageIdentifier.value)
            .having(func.count(func.distinct(Candidate.id)) >= 2)
        ).scalars().first()
        first, second = session.scalars(
            select(Candidate.id).join(PageIdentifier, PageIdentifier.page_id == Candidate.page_id).where(PageIdentifier.value == value).order_by(Candidate.id)
        ).all()[:2]
    engine.dispose()

    page.goto(f"{base}/candidates/{first}")
    page.fill('input[name="case_name"]', "Браузерна ініціатива")
    page.click("h1")  # leave the text box: keys are for screening again
    page.keyboard.press("2")
    press_and_follow(page, base, "i")
    page.goto(f"{base}/candidates/{second}")
    suggestion = page.locator('input[name="case"]:checked')
    assert suggestion.get_attribute("value") != "new"
    assert "Браузерна ініціатива" in page.inner_text("form#decide")
    press_and_follow(page, base, "i")

    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        case_id = session.scalar(select(CaseEvidence.case_id).where(CaseEvidence.candidate_id == second))
        assert session.scalar(select(func.count()).select_from(CaseEvidence).where(CaseEvidence.case_id == case_id)) == 2
    engine.dispose()
    page.goto(f"{base}/cases/{case_id}")
    page.check('#field-direction input[value="C2C"]')
    page.check('#field-mode input[value="co-delivery"]')
    page.check('#field-ict_channels input[value="telegram"]')
    page.click("#save-coding")
    page.wait_for_url(f"{base}/cases/{case_id}")
    page.goto(f"{base}/cases")
    listing = page.inner_text("table.cases")
    assert "Браузерна ініціатива" in listing and "co-delivery" in listing
    page.close()


def test_hostile_markup_in_a_page_stays_inert(served, browser) -> None:
    base, url = served
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        hostile = session.scalar(select(Candidate.id).order_by(Candidate.score.asc()))
    engine.dispose()
    page = logged_in(browser, base)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base}/candidates/{hostile}")
    page.wait_for_load_state("networkidle")
    text = page.inner_text("#text")
    assert "<script>window.__xss = 1</script>" in text and 'onerror="window.__xss = 2"' in text
    page.click("#text")
    assert page.evaluate("window.__xss") is None and not dialogs
    assert page.locator("#text img").count() == 0 and page.locator("#text a").count() == 0
    page.close()


def test_the_report_opens_without_errors_and_its_figures_render(screened, browser, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run_coprod("report", "--seeds", str(DEMO_SEEDS), "--db", screened, "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.goto((out / "report.html").as_uri())
    page.wait_for_load_state("load")
    images = page.evaluate("[...document.images].map(i => [i.closest('figure').id, i.complete, i.naturalWidth, i.naturalHeight])")
    expected = sorted(f"fig-{p.stem}" for p in (out / "figures").glob("*.svg"))
    assert sorted(name for name, *_ in images) == expected
    assert all(complete and width > 100 and height > 50 for _, complete, width, height in images), images
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    assert page.inner_text("h1") and "Screening flow" in page.inner_text("body")
    assert not problems, problems
    page.close()


@pytest.fixture(scope="module")
def served_dual(demo_crawl, databases) -> Iterator[tuple[str, str]]:
    """The app in dual screening mode, with two analysts and an admin."""
    url = databases.new(template=demo_crawl.url)
    engine = open_catalogue(url)
    with Session(engine) as session, session.begin():
        for name, role in (("cy", "analyst"), ("di", "analyst"), ("ada", "admin")):
            add_user(session, name, role, PASSWORD)
    engine.dispose()
    config = review_config(load_config(DEMO_SEEDS), url, "browser test key")
    app = create_app(replace(config, dual_screening=True, retrain_every=0))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", url
    server.shutdown()


def _evidence(url: str, candidate_id: int) -> list[tuple[int, str]]:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        rows = session.execute(
            select(Case.id, Case.name).join(CaseEvidence, CaseEvidence.case_id == Case.id).where(CaseEvidence.candidate_id == candidate_id)
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _decide(page, base: str, candidate_id: int, decision: str, case_name: str | None = None) -> None:
    page.goto(f"{base}/candidates/{candidate_id}")
    if case_name:
        page.fill('input[name="case_name"]', case_name)
        page.click("h1")
    page.click(f"#{decision}")
    page.wait_for_load_state("load")


def test_dual_screening_is_blind_and_a_case_is_made_once_on_agreement_or_resolution(served_dual, browser) -> None:
    base, url = served_dual
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        agreed, disputed = session.scalars(select(Candidate.id).where(Candidate.status == "unscreened").order_by(Candidate.id).limit(2)).all()
        title = session.get(Candidate, agreed).page.title
    engine.dispose()
    cy, di = logged_in(browser, base, "cy"), logged_in(browser, base, "di")

    # cy includes, naming the case and noting why.
    cy.goto(f"{base}/candidates/{agreed}")
    cy.fill('input[name="case_name"]', "Спільна справа cy")
    cy.fill('input[name="note"]', "нотатка cy: точно C2C")
    cy.click("h1")
    cy.keyboard.press("2")
    cy.click("#include")
    cy.wait_for_load_state("load")
    assert _evidence(url, agreed) == []  # one analyst is not an outcome: no case yet

    # di sees nothing of it: not the decision, the note, the case name, nor that anyone decided.
    di.goto(f"{base}/candidates/{agreed}")
    shown = di.inner_text("body")
    for trace in ("cy", "Спільна справа", "нотатка", "awaiting_second", "In cases"):
        assert trace not in shown, trace
    assert di.inner_text("#status") == "unscreened"
    assert di.locator("#decisions").count() == 0 and di.locator("#in-cases").count() == 0
    di.goto(f"{base}/queue")
    row = di.locator("table.queue tbody tr", has=di.locator(f'a[href="/candidates/{agreed}"], a[href^="/candidates/{agreed}?"]'))
    assert row.locator("td.status").inner_text() == "unscreened"
    di.goto(f"{base}/queue?status=unscreened")
    assert di.locator("table.queue").locator(f'a[href="/candidates/{agreed}"], a[href^="/candidates/{agreed}?"]').count() == 1

    # di agrees: exactly one case results, the one cy named.
    _decide(di, base, agreed, "include")
    cases = _evidence(url, agreed)
    assert len(cases) == 1 and cases[0][1] == "Спільна справа cy"
    di.goto(f"{base}/candidates/{agreed}")
    assert di.inner_text("#status") == "include" and "Спільна справа cy" in di.inner_text("#in-cases")

    # A conflict makes no case until an admin resolves it.
    _decide(cy, base, disputed, "include", "Спірна справа")
    _decide(di, base, disputed, "exclude")
    assert _evidence(url, disputed) == []
    admin = logged_in(browser, base, "ada")
    admin.goto(f"{base}/conflicts")
    section = admin.locator(f"#conflict-{disputed}")
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        disputed_title = session.get(Candidate, disputed).page.title
    engine.dispose()
    assert disputed_title and disputed_title in section.locator("h2").inner_text()
    section.locator('select[name="outcome"]').select_option("include")
    section.locator("button").click()
    admin.wait_for_url(f"{base}/conflicts")
    cases = _evidence(url, disputed)
    assert len(cases) == 1 and cases[0][1] == "Спірна справа"
    assert title  # the agreed candidate has a title to show on the statistics page
    admin.goto(f"{base}/stats")
    assert "cy · di" in admin.inner_text("#kappa")
    for page in (cy, di, admin):
        page.close()
