"""The shared frontier's rules, on a real Redis (its own key prefix, deleted afterwards):
one dupefilter and page cap for every worker, an entry done only when its page is stored, a
dead worker's entries back in the queue, and a crawl cleared only by its last worker."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis

from storage.shared_frontier import Entry, SharedFrontier, split_url
from tests.conftest import TEST_REDIS_URL


def redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {TEST_REDIS_URL} ({type(error).__name__}); .ci/run starts one")
    return client


@pytest.fixture
def frontier_url() -> Iterator[str]:
    """A frontier URL with a key prefix of this test's own; its keys are deleted afterwards."""
    client = redis_or_skip()
    prefix = f"coprod-test-{secrets.token_hex(4)}"
    yield f"{TEST_REDIS_URL}?prefix={prefix}"
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def keys_of(url: str) -> list[bytes]:
    address, prefix = split_url(url)
    client = redis.Redis.from_url(address)
    try:
        return sorted(client.scan_iter(f"{prefix}:*"))
    finally:
        client.close()


def entries(*paths: str, depth: int = 1) -> list[Entry]:
    return [Entry(f"http://site.test{path}", f"http://site.test{path}", depth) for path in paths]


def test_the_url_names_the_prefix_and_nothing_else_reaches_redis() -> None:
    assert split_url("redis://redis.lan:6379/2?prefix=kharkiv") == ("redis://redis.lan:6379/2", "kharkiv")
    assert split_url("redis://127.0.0.1:6379/0") == ("redis://127.0.0.1:6379/0", "coprod")
    with pytest.raises(ValueError, match="redis://"):
        split_url("http://127.0.0.1:6379/0")


def test_two_workers_share_one_dupefilter_page_cap_and_queue(frontier_url: str) -> None:
    one, two = SharedFrontier(frontier_url), SharedFrontier(frontier_url)
    try:
        assert one.join(101, ["site"]) == {"site": None}  # one starts the crawl
        assert two.join(102, ["site"]) == {"site": 101}  # two joins it
        assert one.push("site", entries("/", depth=0), cap=3) == ["queued"]
        assert two.push("site", entries("/", "/a"), cap=3) == ["seen", "queued"]
        assert one.push("site", entries("/b", "/c", "/a"), cap=3) == ["queued", "capped", "seen"]
        popped = [one.pop("site"), two.pop("site"), one.pop("site")]
        assert [e.key for e in popped if e] == ["http://site.test/", "http://site.test/a", "http://site.test/b"]
        assert one.pop("site") is None
        assert one.counts("site") == {"seen": 3, "queued": 0, "in_flight": 3, "workers": 2}
        assert not one.finished("site")  # popped is not done: the pages are not stored yet
        one.done([("site", "http://site.test/"), ("site", "http://site.test/b")])
        assert not two.finished("site")
        two.done([("site", "http://site.test/a")])
        assert one.finished("site") and two.finished("site")
    finally:
        one.close()
        two.close()


def test_a_dead_workers_entries_go_back_except_what_its_run_stored(frontier_url: str) -> None:
    alive, dying = SharedFrontier(frontier_url), SharedFrontier(frontier_url)
    alive.join(201, ["site"])
    dying.join(202, ["site"])
    dying.push("site", entries("/a", "/b", "/c"), cap=10)
    held = [dying.pop("site") for _ in range(3)]
    assert all(held)
    assert alive.dead_workers("site") == []
    dying.close()  # its heartbeat stops: a dead worker
    (dead,) = alive.dead_workers("site")
    assert (dead.run_id, dead.pid) == (202, dying.worker.pid)
    asked: list[tuple[int | None, list[str]]] = []

    def stored(run_id: int | None, keys: list[str]) -> set[str]:
        asked.append((run_id, sorted(keys)))
        return {"http://site.test/b"}  # its run committed this page before it died

    assert alive.reap("site", dead, stored) == 2
    assert asked == [(202, ["http://site.test/a", "http://site.test/b", "http://site.test/c"])]
    assert alive.counts("site") == {"seen": 3, "queued": 2, "in_flight": 0, "workers": 1}
    again = {alive.pop("site").key, alive.pop("site").key}
    assert again == {"http://site.test/a", "http://site.test/c"}
    alive.close()


def test_the_crawl_is_cleared_only_when_its_last_worker_leaves(frontier_url: str) -> None:
    first, second = SharedFrontier(frontier_url), SharedFrontier(frontier_url)
    first.join(301, ["site"])
    second.join(302, ["site"])
    first.push("site", entries("/x"), cap=10)
    entry = second.pop("site")
    assert entry is not None
    assert first.leave("site") is False  # the other worker still works on it
    assert keys_of(frontier_url)
    second.done([("site", entry.key)])
    assert second.leave("site") is True
    second.close()
    first.close()
    assert keys_of(frontier_url) == []


def test_two_workers_finishing_together_clear_the_crawl_once(frontier_url: str) -> None:
    """Each worker's in-flight entries go back before it leaves, so both can find no other
    worker left: only one of them clears the crawl (the other's leave finds nothing)."""
    first, second = SharedFrontier(frontier_url), SharedFrontier(frontier_url)
    first.join(501, ["site"])
    second.join(502, ["site"])
    for worker in (first, second):  # both past their requeue: the workers hash is empty
        worker._requeue(keys=[worker._key("site", f"inflight:{worker.worker.id}"), worker._key("site", "queue"), worker._key("site", "workers")], args=[worker.worker.id])
    assert [first.leave("site"), second.leave("site")] == [True, False]
    first.close()
    second.close()
    assert keys_of(frontier_url) == []


def test_a_worker_that_stops_early_puts_its_entries_back(frontier_url: str) -> None:
    worker, other = SharedFrontier(frontier_url), SharedFrontier(frontier_url)
    worker.join(401, ["site"])
    other.join(402, ["site"])
    worker.push("site", entries("/p", "/q"), cap=10)
    assert worker.pop("site") is not None
    assert worker.leave("site") is False  # stopped (Ctrl-C, shutdown): not cleared, entry back
    assert other.counts("site") == {"seen": 2, "queued": 2, "in_flight": 0, "workers": 1}
    assert other.leave("site") is False  # the last worker of an unfinished crawl keeps it for a resume
    assert keys_of(frontier_url)
    worker.close()
    other.close()
