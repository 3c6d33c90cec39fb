"""`coprod demo` touches only itself: its own catalogue, captures and logs whatever the
environment and the study file name; it keeps accounts and decisions from one run to the
next unless --fresh; and its summary's numbers add up, each on its own line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from crawler.app.cli.demo import prepare_catalogue
from crawler.core.errors import BadInput
from review.auth import add_user
from review.screening import record_decision
from storage.db import open_catalogue
from storage.models import Candidate, Decision, Page, Source, User
from tests.conftest import PASSWORD, run_coprod

PAGES = re.compile(r"run \d+ \((site|telegram)\): finished; (\d+) responses, (\d+) pages stored \((\d+) new\), (\d+) dropped \((\d+) failed fetches\), (\d+) flagged")
FLAGGED = re.compile(r"flagged pages: (\d+) = (\d+) candidates \+ (\d+) language versions \+ (\d+) copies")


def add_analyst_and_decision(url: str) -> None:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session, session.begin():
        add_user(session, "olena", "analyst", PASSWORD)
        candidate = session.scalar(select(Candidate).order_by(Candidate.id))
        record_decision(session, candidate.id, "olena", "maybe")
    engine.dispose()


def counts(url: str) -> tuple[int, int, int]:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        found = tuple(session.scalar(select(func.count()).select_from(model)) or 0 for model in (User, Decision, Page))
    engine.dispose()
    return found  # type: ignore[return-value]


@pytest.mark.e2e
def test_the_demo_writes_only_its_own_catalogue_and_keeps_decisions(tmp_path: Path) -> None:
    real = tmp_path / "study"
    real.mkdir()
    # A researcher's shell and folder: a real study's catalogue, captures and state...
    env = {"COPROD_DATABASE_URL": f"sqlite:///{real / 'coprod.sqlite'}", "COPROD_CAPTURE_DIR": str(real / "captures"),
           "COPROD_STATE_DIR": str(real / "state"), "COPROD_SEEDS": str(real / "seeds.yaml")}
    (real / "seeds.yaml").write_text(f"version: 1\ndatabase: sqlite:///{real / 'from-seeds.sqlite'}\n", encoding="utf-8")
    out = tmp_path / "demo-out"
    first = run_coprod("demo", "--out", str(out), env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.startswith(f"a new demo catalogue: {out / 'demo.sqlite'}\n")
    assert sorted(p.name for p in real.iterdir()) == ["seeds.yaml"]  # ...left alone
    assert {p.name for p in out.iterdir()} >= {"demo.sqlite", "demo-captures", "state", "demo-pages.csv", "demo-report"}
    assert "Traceback" not in first.stderr

    # The summary adds up: stored plus dropped are the crawl's rows; flagged pages are the candidates, versions and copies.
    runs = {m[1]: [int(n) for n in m.groups()[1:]] for m in PAGES.finditer(first.stdout)}
    assert set(runs) == {"site", "telegram"}, first.stdout[:2000]
    url = f"sqlite:///{out / 'demo.sqlite'}"
    _, _, pages = counts(url)
    assert sum(stored + dropped for _, stored, _, dropped, _, _ in runs.values()) == pages
    assert all(new == stored for _, stored, new, *_ in runs.values())  # a first crawl: every stored page is new
    flagged, candidates, versions, copies = (int(n) for n in FLAGGED.search(first.stdout).groups())
    assert flagged == candidates + versions + copies and versions > 0
    assert re.search(rf"^  candidates +{candidates}  one per story", first.stdout, re.MULTILINE)

    add_analyst_and_decision(url)
    second = run_coprod("demo", "--out", str(out), env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.startswith(f"keeping {out / 'demo.sqlite'}: 1 accounts, 1 decisions, 0 cases (coprod demo --fresh starts over)\n")
    assert counts(url) == (1, 1, pages)
    assert sorted(p.name for p in real.iterdir()) == ["seeds.yaml"]


def test_the_demo_refuses_a_study_catalogue_named_by_db(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'real.sqlite'}"
    engine = open_catalogue(url)
    with Session(engine) as session, session.begin():
        session.add(Source(name="oblrada", kind="site", start_urls=["https://oblrada.example/"]))
    engine.dispose()
    refused = run_coprod("demo", "--out", str(tmp_path / "out"), "--db", url)
    assert refused.returncode == 2 and "coprod demo writes only an empty catalogue or its own" in refused.stderr
    assert "holds other sources (oblrada)" in refused.stderr and "Traceback" not in refused.stderr
    assert counts(url) == (0, 0, 0) and not (tmp_path / "out").exists()  # nothing crawled into it
    fresh = run_coprod("demo", "--out", str(tmp_path / "out"), "--db", f"sqlite:///{tmp_path / 'empty.sqlite'}", "--fresh")
    assert fresh.returncode == 2 and "--fresh empties only the demo's own file" in fresh.stderr


def test_fresh_starts_over_and_says_so(tmp_path: Path) -> None:
    url, said = prepare_catalogue(tmp_path, fresh=False)
    assert said == f"a new demo catalogue: {tmp_path / 'demo.sqlite'}"
    engine = open_catalogue(url)
    with Session(engine) as session, session.begin():
        add_user(session, "olena", "analyst", PASSWORD)
    engine.dispose()
    (tmp_path / "demo-captures").mkdir()
    (tmp_path / "demo-captures" / "site-run1-20240101T000000-00001.warc.gz").write_bytes(b"")
    assert prepare_catalogue(tmp_path, fresh=False)[1].startswith(f"keeping {tmp_path / 'demo.sqlite'}: 1 accounts, 0 decisions")
    assert (tmp_path / "demo.sqlite").exists()
    _, said = prepare_catalogue(tmp_path, fresh=True)
    assert said == f"--fresh: removed {tmp_path / 'demo.sqlite'} and {tmp_path / 'demo-captures'}; starting from an empty catalogue"
    assert not (tmp_path / "demo.sqlite").exists() and not (tmp_path / "demo-captures").exists()


def test_an_old_demo_catalogue_is_bad_input_that_names_the_way_out(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    engine = open_catalogue(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE schema_info SET version = 1"))
    engine.dispose()
    with pytest.raises(BadInput, match="coprod demo --fresh"):
        prepare_catalogue(tmp_path, fresh=False)
