"""The study report (issue 6): a screening flow whose counts add up, figures, tables."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from review.report import FLOW_STEPS, PageFate, page_fates, screening_flow
from storage.db import open_catalogue
from storage.models import Candidate, Decision, Page, Source
from tests.conftest import DEMO_SEEDS, run_coprod

LANGUAGES = ("uk", "ru", "en", "mixed")


def _page(session: Session, source: Source, url: str, **fields) -> Page:
    defaults = {"fetched_url": url, "language": "uk", "direction": "C2C", "in_region": True, "in_window": True, "text": "текст"}
    page = Page(url=url, source_id=source.id, **(defaults | fields))
    session.add(page)
    session.flush()
    return page


@pytest.fixture
def session(tmp_path: Path):
    engine = open_catalogue(f"sqlite:///{tmp_path / 'flow.sqlite'}")
    with Session(engine) as session:
        yield session
    engine.dispose()


# (page fields, candidate status or None, exclusion reason) -> the step it leaves at, and why
CASES = [
    ({"drop_reason": "http_404", "text": None}, None, None, "fetched", "http_404"),
    ({"drop_reason": "not_html", "text": None}, None, None, "fetched", "not_html"),
    ({"duplicate_of_id": "original"}, None, None, "fetched", "copy of an earlier page"),
    ({"version_of_id": "original"}, None, None, "fetched", "another language's version of a story"),
    ({"language": "pl"}, None, None, "unique", "language: pl"),
    ({"language": None}, None, None, "unique", "language: und"),
    ({"relevance": {"out_reason": "a tag page: its articles are the candidates"}}, None, None, "in_language", "a listing, tag or home page"),
    ({"relevance": {"out_reason": "dated 2019-05-01 (metadata), outside the study window"}}, None, None, "in_language", "outside the study window"),
    ({"relevance": {"out_reason": "era cues date it before the study window"}}, None, None, "in_language", "outside the study window"),
    ({"relevance": {"out_reason": "no citizen acts in the text: a state announcement"}}, None, None, "in_language", "no citizen actor"),
    ({"relevance": {"out_reason": "a story of another region: Харкова"}}, None, None, "in_language", "another region"),
    ({"relevance": {"out_reason": "the region's volunteers working in another region: Бахмута"}}, None, None, "in_language", "another region"),
    ({"relevance": {"out_reason": None}}, None, None, "in_language", "probability below the threshold"),
    ({}, None, None, "in_language", "probability below the threshold"),
    ({"flagged": True}, "unscreened", None, "flagged", "not screened yet"),
    ({"flagged": True}, "awaiting_second", None, "flagged", "awaiting a second analyst"),
    ({"flagged": True}, "exclude", "outside the region", "screened", "excluded: outside the region"),
    ({"flagged": True}, "maybe", None, "screened", "left as maybe"),
    ({"flagged": True}, "conflict", None, "screened", "analysts disagree (conflict)"),
    # A decided candidate stays in the queue when a rescore unflags its page: it still counts as flagged.
    ({"flagged": False}, "include", None, "included", None),
    ({"flagged": True}, "include", None, "included", None),
]


@pytest.mark.parametrize(("fields", "status", "reason", "step", "why"), CASES)
def test_a_page_leaves_the_flow_where_it_should(session, fields, status, reason, step, why) -> None:
    source = Source(name="news", kind="news")
    session.add(source)
    session.flush()
    original = _page(session, source, "http://a.test/original", flagged=True)
    session.add(Candidate(page=original, status="include"))
    fields = {k: original.id if v == "original" else v for k, v in fields.items()}
    page = _page(session, source, "http://a.test/page", **fields)
    if status:
        candidate = Candidate(page=page, status=status)
        session.add(candidate)
        session.flush()
        if reason:
            session.add(Decision(candidate_id=candidate.id, user="ana", decision="exclude", reason=reason))
    session.flush()
    fate = next(f for f in page_fates(session, LANGUAGES) if f.page_id == page.id)
    assert (fate.step, fate.reason) == (step, why)


def test_steps_count_what_reached_them() -> None:
    fates = [
        PageFate(1, "a", "news", "fetched", "http_404"),
        PageFate(2, "a", "news", "fetched", "http_404"),
        PageFate(3, "a", "news", "in_language", "outside the study window"),
        PageFate(4, "b", "telegram", "screened", "left as maybe"),
        PageFate(5, "b", "telegram", "included", None),
    ]
    flow = screening_flow(fates)
    assert [s.step for s in flow] == list(FLOW_STEPS)
    assert [s.count for s in flow] == [5, 3, 3, 2, 2, 1]
    assert flow[0].exits == {"http_404": 2} and flow[4].exits == {"left as maybe": 1} and flow[5].exits == {}


@pytest.fixture(scope="module")
def report(screened, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    result = run_coprod("report", "--seeds", str(DEMO_SEEDS), "--db", screened, "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.e2e
def test_every_crawled_page_is_accounted_for_exactly_once(report, screened) -> None:
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    flow = data["flow"]
    assert [s["step"] for s in flow] == list(FLOW_STEPS)
    engine = open_catalogue(screened, create=False)
    with Session(engine) as session:
        pages = session.scalar(select(func.count()).select_from(Page))
        statuses = dict(session.execute(select(Candidate.status, func.count()).group_by(Candidate.status)).all())
        fates = page_fates(session, data["languages"])
    engine.dispose()
    # each page once, at one step
    assert len(fates) == pages and len({f.page_id for f in fates}) == pages
    assert flow[0]["count"] == pages
    for step, following in zip(flow, flow[1:]):
        assert following["count"] == step["count"] - sum(step["exits"].values())
    assert sum(sum(s["exits"].values()) for s in flow) + flow[-1]["count"] == pages
    # the screening end of the flow agrees with the queue
    by_step = {s["step"]: s["count"] for s in flow}
    assert by_step["included"] == statuses.get("include", 0) > 0
    assert by_step["screened"] == sum(n for status, n in statuses.items() if status not in ("unscreened", "awaiting_second"))
    excluded = flow[FLOW_STEPS.index("screened")]["exits"]
    assert excluded["left as maybe"] == statuses.get("maybe", 0)
    assert sum(n for reason, n in excluded.items() if reason.startswith("excluded: ")) == statuses.get("exclude", 0)
    # every kind's flow is a part of the whole, step by step
    for index in range(len(FLOW_STEPS)):
        assert sum(kind[index]["count"] for kind in data["flow_by_kind"].values()) == flow[index]["count"]
    with (report / "tables" / "flow_exits_by_source_kind.csv").open(encoding="utf-8") as handle:
        exits = list(csv.DictReader(handle))
    assert sum(int(row["pages"]) for row in exits) + flow[-1]["count"] == pages
    assert {row["source_kind"] for row in exits} == set(data["flow_by_kind"])
    # the drop reasons of the sample web's traps are where they belong
    assert {"http_404", "not_html"} <= set(flow[0]["exits"])


@pytest.mark.e2e
def test_figures_and_tables_are_written(report) -> None:
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    html = (report / "report.html").read_text(encoding="utf-8")
    figures = sorted(p.stem for p in (report / "figures").glob("*.png"))
    assert {"screening_flow", "cases_by_mode_and_direction", "cases_by_ict_channels", "cases_by_service_area", "case_timeline", "cases_by_raion", "source_yield"} <= set(figures)
    for name in figures:
        assert (report / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (report / "figures" / f"{name}.svg").read_bytes()[:1000]
        assert (report / "tables" / f"{name}.csv").is_file(), name
        assert f'id="fig-{name}"' in html
    # self-contained and inert: nothing to run, nothing fetched from elsewhere
    assert "<script" not in html and 'src="http' not in html and "<link" not in html
    with (report / "tables" / "cases_by_mode_and_direction.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    coded = sum(int(v) for row in rows for k, v in row.items() if k != "direction")
    assert coded == data["cases"] > 0
    with (report / "tables" / "screening_flow.csv").open(encoding="utf-8") as handle:
        flow = [row for row in csv.DictReader(handle) if row["pages"]]
    assert [int(row["pages"]) for row in flow] == [s["count"] for s in data["flow"]]
    assert dt.datetime.fromisoformat(data["generated_at"]).tzinfo is not None
    assert sum(data["raions"].values()) >= data["cases"] - data["unplaced_cases"]
    assert Counter(data["timeline"]).total() + data["undated_cases"] == data["cases"]
