"""Cadence, cron and due sources (pure, fixed clocks); `coprod schedule --once` end to end:
two schedulers started together crawl each due source once, and a held lock is honoured."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.app.locks import SourceLock, holder_of, state_dir
from crawler.app.schedule import plan, plan_from_catalogue
from crawler.core.config import Schedule, Source, load_config, parse_duration
from crawler.core.cron import parse_cron
from storage.db import open_catalogue, sync_sources
from storage.models import Candidate, Case, CaseEvidence, DiscoveredSource, Page, Run
from tests.conftest import FIXTURE_WEB, run_coprod, web_server, write_study

NOW = dt.datetime(2026, 12, 1, 12, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", dt.timedelta(minutes=30)), ("6h", dt.timedelta(hours=6)), ("1d", dt.timedelta(days=1)), ("2w", dt.timedelta(weeks=2))],
)
def test_durations(text: str, expected: dt.timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["0d", "1x", "1.5d", "d", "1 d", "-1h", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 3 * * *", dt.datetime(2026, 12, 1, 2, 59, 30), dt.datetime(2026, 12, 1, 3, 0)),
        ("0 3 * * *", dt.datetime(2026, 12, 1, 3, 0), dt.datetime(2026, 12, 2, 3, 0)),
        ("*/15 * * * *", dt.datetime(2026, 12, 1, 10, 7), dt.datetime(2026, 12, 1, 10, 15)),
        ("30 9-17/4 * * *", dt.datetime(2026, 12, 1, 14, 0), dt.datetime(2026, 12, 1, 17, 30)),
        ("0 0 * * mon", dt.datetime(2026, 12, 1, 0, 0), dt.datetime(2026, 12, 7, 0, 0)),  # 1 Dec 2026 is a Tuesday
        ("0 0 * * 7", dt.datetime(2026, 12, 1, 0, 0), dt.datetime(2026, 12, 6, 0, 0)),  # 7 is Sunday too
        ("0 12 13 * fri", dt.datetime(2026, 12, 1, 0, 0), dt.datetime(2026, 12, 4, 12, 0)),  # day OR weekday
        ("0 0 1 jan,jul *", dt.datetime(2026, 12, 1, 0, 0), dt.datetime(2027, 1, 1, 0, 0)),
        ("0 0 29 2 *", dt.datetime(2026, 12, 1, 0, 0), dt.datetime(2028, 2, 29, 0, 0)),
    ],
)
def test_cron_next_time(expression: str, after: dt.datetime, expected: dt.datetime) -> None:
    assert parse_cron(expression).next_after(after) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 3 * *", "expected 5 cron fields"),
        ("60 * * * *", "cron minute: 60 is outside 0-59"),
        ("0 5-2 * * *", "runs backwards"),
        ("0 0 * * funday", "cron day of week: expected a number"),
        ("0 0 31 2 *", "never matches"),
    ],
)
def test_bad_cron(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cron(expression)


def source(name: str, kind: str = "news", **fields: object) -> Source:
    url = "https://t.me/s/" + name if kind == "telegram" else f"http://{name}.test/"
    return Source.model_validate({"name": name, "kind": kind, "start_urls": [url], **fields})


def test_due_sources_follow_cadence_overrides_cases_and_decisions() -> None:
    sources = [
        source("never"),
        source("fresh-news"),  # 1d by kind, crawled 2 h ago
        source("old-news"),  # crawled 25 h ago
        source("override", revisit="1h"),  # crawled 2 h ago, but revisited hourly
        source("council-with-case", kind="council"),  # 7d, crawled 4 d ago, halved by a recent case
        source("council-without-case", kind="council"),  # same age, no case
        source("rejected-site"),
        source("rejected_channel", kind="telegram"),
        source("switched-off", enabled=False),
    ]
    last = {name: NOW - age for name, age in {
        "fresh-news": dt.timedelta(hours=2),
        "old-news": dt.timedelta(hours=25),
        "override": dt.timedelta(hours=2),
        "council-with-case": dt.timedelta(days=4),
        "council-without-case": dt.timedelta(days=4),
    }.items()}
    verdicts = {v.source: v for v in plan(sources, Schedule(), last, {"council-with-case"}, {"rejected-site.test", "t.me/rejected_channel"}, NOW)}
    assert {name for name, v in verdicts.items() if v.due} == {"never", "old-news", "override", "council-with-case"}
    assert verdicts["fresh-news"].next_at == NOW + dt.timedelta(hours=22)
    assert verdicts["council-without-case"].next_at == NOW + dt.timedelta(days=3)
    assert "sooner" in verdicts["council-with-case"].reason
    assert verdicts["rejected-site"].reason == verdicts["rejected_channel"].reason == "rejected by analysts"
    assert verdicts["switched-off"].reason == "disabled"


def test_plan_reads_runs_cases_and_rejections_from_the_catalogue(tmp_path: Path) -> None:
    sources = [source("alpha", kind="council"), source("beta", kind="council"), source("gamma"), source("delta")]
    engine = open_catalogue(f"sqlite:///{tmp_path / 'c.sqlite'}")
    with Session(engine) as session, session.begin():
        ids = sync_sources(session, sources)
        for name, ago, reason in (("alpha", 4, "finished"), ("beta", 4, "finished"), ("gamma", 3, "shutdown")):
            at = NOW - dt.timedelta(days=ago)
            session.add(Run(spider="site", sources=[name], started_at=at, finished_at=at, status="finished", finish_reason=reason))
        case = Case(name="hub")
        session.add(case)
        for name, added in (("alpha", NOW - dt.timedelta(days=2)), ("beta", NOW - dt.timedelta(days=60))):
            candidate = Candidate(page=Page(url=f"http://{name}.test/a", fetched_url=f"http://{name}.test/a", source_id=ids[name]))
            session.add(candidate)
            session.flush()
            session.add(CaseEvidence(case_id=case.id, candidate_id=candidate.id, added_by="olena", added_at=added))
        session.add(DiscoveredSource(key="delta.test", kind="site", url="http://delta.test/", status="rejected"))
    with Session(engine) as session:
        verdicts = {v.source: v for v in plan_from_catalogue(session, sources, Schedule(), NOW)}
    engine.dispose()
    assert verdicts["alpha"].due and "sooner" in verdicts["alpha"].reason  # 7d halved by a case 2 days old
    assert not verdicts["beta"].due  # its case is older than included_within
    assert verdicts["gamma"].due and verdicts["gamma"].reason == "never finished a crawl"  # stopped early
    assert verdicts["delta"].reason == "rejected by analysts"


def test_schedule_keys_are_read_from_the_study_file(tmp_path: Path) -> None:
    schedule = 'schedule:\n  cron: "*/30 * * * *"\n  revisit: {news: 12h}\n  sooner_with_included: 0.25\n'
    config = load_config(write_study(tmp_path / "seeds.yaml", "  - name: a\n    kind: news\n    revisit: 3h\n    start_urls: [http://alpha.test/]\n", schedule))
    assert config.schedule.cron == "*/30 * * * *" and config.schedule.revisit.news == "12h" and config.schedule.revisit.council == "7d"
    assert config.schedule.sooner_with_included == 0.25 and config.source("a").revisit == "3h"


SOURCES = """\
  - name: alpha
    kind: news
    start_urls: [http://alpha.test/]
  - name: beta
    kind: council
    start_urls: [http://beta.test/]
  - name: gamma
    kind: volunteer_hub
    start_urls: [http://gamma.test/]
"""


def prepare(tmp_path: Path, finished_ago: dict[str, dt.timedelta]) -> tuple[Path, str]:
    """A study of alpha (news), beta (council) and gamma (volunteer hub), and a catalogue whose
    run history says when each of `finished_ago` last finished a crawl."""
    seeds = write_study(tmp_path / "seeds.yaml", SOURCES)
    url = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    engine = open_catalogue(url)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with Session(engine) as session, session.begin():
        sync_sources(session, load_config(seeds).sources)
        for name, ago in finished_ago.items():
            session.add(Run(spider="site", sources=[name], started_at=now - ago, finished_at=now - ago, status="finished", finish_reason="finished"))
    engine.dispose()
    return seeds, url


def new_runs(url: str) -> dict[str, int]:
    engine = open_catalogue(url, create=False)
    with Session(engine) as session:
        counts: dict[str, int] = {}
        for run in session.scalars(select(Run).where(Run.pid.is_not(None))):  # pre-seeded runs have no pid
            for name in run.sources:
                counts[name] = counts.get(name, 0) + 1
    engine.dispose()
    return counts


def test_two_schedulers_crawl_each_due_source_exactly_once(tmp_path: Path) -> None:
    # alpha never crawled: due; beta (7d) 1 h ago: not due; gamma (2d) 3 d ago: due.
    seeds, url = prepare(tmp_path, {"beta": dt.timedelta(hours=1), "gamma": dt.timedelta(days=3)})
    dry = run_coprod("schedule", "--dry-run", "--seeds", str(seeds), "--db", url)
    assert dry.returncode == 0, dry.stderr
    assert [line.split()[:2] for line in dry.stdout.splitlines()[2:]] == [["alpha", "yes"], ["beta", "no"], ["gamma", "yes"]]
    with web_server(FIXTURE_WEB) as web:
        command = [sys.executable, "-m", "crawler.app.cli", "schedule", "--once", "--seeds", str(seeds), "--db", url, "--proxy", web.proxy_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPROD_")}
        schedulers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
        outputs = [s.communicate(timeout=600) for s in schedulers]
    assert [s.returncode for s in schedulers] == [0, 0], outputs
    assert new_runs(url) == {"alpha": 1, "gamma": 1}
    logged = [line.split()[1:3] for out, _ in outputs for line in out.splitlines() if line[:4].isdigit()]
    assert sorted(logged).count(["alpha", "crawled"]) == 1 and sorted(logged).count(["gamma", "crawled"]) == 1
    assert ["beta", "crawled"] not in logged
    log = (state_dir(url) / "schedule.log").read_text(encoding="utf-8").splitlines()
    assert len(log) == len(logged) == 4  # every due source of both schedulers: crawled or skipped


def test_a_held_lock_makes_crawls_and_the_scheduler_skip_the_source(tmp_path: Path) -> None:
    seeds, url = prepare(tmp_path, {"beta": dt.timedelta(hours=1), "gamma": dt.timedelta(hours=1)})
    with SourceLock(state_dir(url), "alpha") as lock:
        assert lock.acquire()
        holder = holder_of(state_dir(url), "alpha")
        assert holder is not None and holder.pid == os.getpid()
        crawl = run_coprod("crawl", "--seeds", str(seeds), "--db", url, "--source", "alpha", "--proxy", "http://127.0.0.1:9")
        scheduled = run_coprod("schedule", "--once", "--seeds", str(seeds), "--db", url, "--proxy", "http://127.0.0.1:9")
        status = run_coprod("status", "--db", url)
    assert crawl.returncode == 3 and f"alpha: skipped, being crawled (pid {os.getpid()}" in crawl.stderr
    assert scheduled.returncode == 0, scheduled.stderr
    assert " alpha skipped: locked exit=3 " in scheduled.stdout
    alpha_row = next(line for line in status.stdout.splitlines() if line.strip().startswith("alpha "))
    assert alpha_row.rstrip().endswith(f"pid {os.getpid()} on {socket.gethostname()}")
    assert new_runs(url) == {}
    assert holder_of(state_dir(url), "alpha") is None  # released with the file
