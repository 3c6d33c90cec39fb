"""The review app in a real browser: Debian chromium driven by Playwright, over loopback."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from crawler.core.config import load_config
from review.app import create_app, review_config
from review.auth import add_user
from storage.db import open_catalogue
from storage.models import Candidate, CaseEvidence, Decision, PageIdentifier
from tests.conftest import DEMO_SEEDS, run_coprod

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)"),
]
PASSWORD = "browser test password"
PAYLOAD = '<script>window.__xss = 1</script> Волонтери Дніпра <img src=x onerror="window.__xss = 2"> <a href="javascript:window.__xss = 3">тут</a>'


@pytest.fixture(scope="module")
def served(demo_crawl, tmp_path_factory) -> Iterator[tuple[str, str]]:
    path = tmp_path_factory.mktemp("browser") / "catalogue.sqlite"
    shutil.copy(demo_crawl.url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    engine = open_catalogue(url)
    with Session(engine) as session, session.begin():
        add_user(session, "olena", "analyst", PASSWORD)
        hostile = session.scalar(select(Candidate).order_by(Candidate.score.asc()))
        hostile.page.text = PAYLOAD
    engine.dispose()
    app = create_app(review_config(load_config(DEMO_SEEDS), url))
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


def logged_in(browser, base: str):
    page = browser.new_page()
    page.goto(f"{base}/queue")
    assert "/login" in page.url
    page.fill('input[name="name"]', "olena")
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
