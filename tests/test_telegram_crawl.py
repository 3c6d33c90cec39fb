"""Public Telegram channels crawled over loopback: one page per post, window, incremental runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.db import open_catalogue
from storage.models import Candidate, Page, PageIdentifier, PagePlace, PageVersion, Run, SourceLink
from tests.conftest import DEMO, DEMO_SEEDS, run_coprod

pytestmark = pytest.mark.e2e
CHANNELS = yaml.safe_load((DEMO / "web" / "telegram.test" / "CHANNELS.yaml").read_text(encoding="utf-8"))
WINDOW_START = yaml.safe_load(DEMO_SEEDS.read_text(encoding="utf-8"))["study"]["window"]["start"]


def channel_posts(channel: str) -> dict[int, dt.datetime]:
    posts = {}
    for page in CHANNELS["channels"][channel]["pages"]:
        for post in page["posts"]:
            posts[int(post["id"])] = dt.datetime.fromisoformat(str(post["published"]))
    return posts


def seeds(tmp_path: Path, channels: list[str]) -> Path:
    study = yaml.safe_load(DEMO_SEEDS.read_text(encoding="utf-8"))
    study["lexicon"] = ["builtin:coproduction"]
    study["sources"] = [{"name": f"tg-{c.replace('_', '-')}", "kind": "telegram", "start_urls": [f"https://t.me/s/{c}"], "region": "Dnipro"} for c in channels]
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump(study, allow_unicode=True), encoding="utf-8")
    return path


def stored_posts(db: str) -> dict[int, Page]:
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        rows = {p.extra["post_id"]: p for p in session.scalars(select(Page).where(Page.drop_reason.is_(None)))}
        for row in rows.values():
            session.expunge(row)
    engine.dispose()
    return rows


def test_channel_crawl_stores_each_post_stops_at_the_window_and_resumes_from_the_newest(sample_web, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    path = seeds(tmp_path, ["dnipro_pomich"])
    first = run_coprod("crawl", "--seeds", str(path), "--db", db, "--proxy", sample_web.proxy_url)
    assert first.returncode == 0, first.stderr
    expected = {i for i, when in channel_posts("dnipro_pomich").items() if when.date() >= WINDOW_START}
    stored = stored_posts(db)
    # Media-only posts have no text: they are kept with their reason, not as pages to read.
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        dropped = {p.url: p.drop_reason for p in session.scalars(select(Page).where(Page.drop_reason.is_not(None)))}
    engine.dispose()
    assert set(stored) | {int(u.rsplit("/", 1)[1]) for u in dropped} == expected
    assert set(dropped.values()) <= {"empty_extraction"}
    post = stored[max(stored)]
    assert post.url == f"http://telegram.test/dnipro_pomich/{post.extra['post_id']}"
    assert post.extra["channel"] == "dnipro_pomich" and post.extra["datetime"] and "views" in post.extra
    assert post.text and post.published and post.language in ("uk", "ru", "mixed")
    assert any(p.extra["forwarded_from"] for p in stored.values()) and any(p.extra["reply_to"] for p in stored.values())

    # Posts published after the first run: remove the newest five, as if they were new.
    newest = sorted(expected, reverse=True)[:5]
    engine = open_catalogue(db, create=False)
    with Session(engine) as session, session.begin():
        ids = [p.id for p in session.scalars(select(Page).where(Page.url.in_([f"http://telegram.test/dnipro_pomich/{i}" for i in newest])))]
        for table in (Candidate, PageIdentifier, PagePlace, PageVersion, SourceLink):
            session.execute(delete(table).where(table.page_id.in_(ids)))
        session.execute(delete(Page).where(Page.id.in_(ids)))
    engine.dispose()
    before = sample_web.hits()
    second = run_coprod("crawl", "--seeds", str(path), "--db", db, "--proxy", sample_web.proxy_url)
    assert second.returncode == 0, second.stderr
    after = sample_web.hits()
    fetched = {url for url in after if after[url] != before.get(url, 0) and "dnipro_pomich" in url}
    assert fetched == {"http://telegram.test/s/dnipro_pomich"}  # the newest page only, no older ones
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        last = session.scalars(select(Run).order_by(Run.id.desc())).first()
        assert last.stats["coprod/stored/new_rows"] == len(newest)
    engine.dispose()


@pytest.mark.parametrize("channel", ["broken_channel", "not_a_channel"])
def test_malformed_previews_are_recorded_with_a_reason(sample_web, tmp_path: Path, channel: str) -> None:
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = run_coprod("crawl", "--seeds", str(seeds(tmp_path, [channel])), "--db", db, "--proxy", sample_web.proxy_url)
    # A channel address that serves no preview gives nothing: the crawl says so, and fails.
    assert result.returncode == (1 if channel == "not_a_channel" else 0), result.stderr
    engine = open_catalogue(db, create=False)
    with Session(engine) as session:
        rows = list(session.scalars(select(Page)))
    engine.dispose()
    if channel == "not_a_channel":
        assert "WARN telegram: nothing fetched, every request failed (malformed_preview: 1)" in result.stdout
        assert [(r.url, r.drop_reason) for r in rows] == [(f"http://telegram.test/s/{channel}", "malformed_preview")]
    else:
        # The broken page still gives the posts it could read.
        assert any(r.drop_reason is None for r in rows)
