"""The shared frontier of a team crawl: one request queue, dupefilter and page cap per source
in Redis, for every crawler process on every machine (`crawl.frontier: redis://...`).

scrapy-redis shares a queue and a dupefilter the same way, but it takes a request off the
queue when the scheduler pops it and marks its URL seen for good, so a worker killed between
the pop and the store loses the page (the issue measured 7 of 52 pages after a SIGKILL). Here
a popped entry moves, in one Lua call, into the worker's in-flight hash, and leaves it only
when its page is stored or recorded failed (`done`). A worker whose heartbeat expired, or
whose process on this host is gone, is reaped: its in-flight entries go back to the queue,
except those the catalogue says its run stored.

Keys, per source ``S`` under the prefix ``P`` (``?prefix=`` of the URL, default ``coprod``):
``P:S:crawl`` (hash: the run that started the crawl), ``P:S:seen`` (set of canonical URLs:
the dupefilter, whose size is the page cap's count), ``P:S:queue`` (sorted set of entries,
by depth then order), ``P:S:workers`` (hash: worker -> host, pid, run), ``P:S:inflight:W``
(hash: canonical URL -> entry); ``P:alive:W`` is a worker's heartbeat (it expires). The
crawl's keys are deleted by the last worker to leave a crawl with nothing queued or in
flight, so a frontier is cleared only when every worker has finished.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from storage.runs import hostname, process_alive

__all__ = ["Entry", "SharedFrontier", "Worker"]

HEARTBEAT_SECONDS = 5.0
ALIVE_SECONDS = 30  # a worker whose heartbeat is older than this is dead
_DEPTH_SCALE = 10_000_000_000  # queue score: depth first, then the order entries came in

_PUSH = """
local cap = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 3 do
  local key, entry, depth = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  if redis.call('SISMEMBER', KEYS[1], key) == 1 then
    out[#out + 1] = 'seen'
  elseif redis.call('SCARD', KEYS[1]) >= cap then
    out[#out + 1] = 'capped'
  else
    redis.call('SADD', KEYS[1], key)
    local order = redis.call('INCR', KEYS[3])
    redis.call('ZADD', KEYS[2], depth * %(scale)d + order, entry)
    out[#out + 1] = 'queued'
  end
end
return out
""" % {"scale": _DEPTH_SCALE}

_POP = """
local popped = redis.call('ZPOPMIN', KEYS[1], 1)
if #popped == 0 then return false end
redis.call('HSET', KEYS[2], cjson.decode(popped[1])['key'], popped[1])
return popped[1]
"""

# KEYS: in-flight hash, queue, workers hash; ARGV: worker, then the keys not to put back.
_REQUEUE = """
local skip = {}
for i = 2, #ARGV do skip[ARGV[i]] = true end
local held = redis.call('HGETALL', KEYS[1])
local moved = 0
for i = 1, #held, 2 do
  if not skip[held[i]] then
    redis.call('ZADD', KEYS[2], cjson.decode(held[i + 1])['depth'] * %(scale)d, held[i + 1])
    moved = moved + 1
  end
end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return moved
""" % {"scale": _DEPTH_SCALE}

# KEYS: queue, workers hash; ARGV: the in-flight key prefix. 1 when nothing is left to do.
_FINISHED = """
if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
for _, worker in ipairs(redis.call('HKEYS', KEYS[2])) do
  if redis.call('HLEN', ARGV[1] .. worker) > 0 then return 0 end
end
return 1
"""

# KEYS: workers hash, queue, seen, crawl, order counter; ARGV: worker. Clears a finished crawl
# when its last worker leaves; 1 when it did. Leaving is two scripts (the in-flight entries go
# back first), so two workers finishing together can both find the workers hash empty: only
# the one that deletes the crawl's record (it exists from the first join) cleared it.
_LEAVE = """
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  if redis.call('DEL', KEYS[4]) == 1 then
    redis.call('DEL', KEYS[2], KEYS[3], KEYS[5])
    return 1
  end
end
return 0
"""


@dataclass(frozen=True)
class Entry:
    """A page to fetch: its canonical URL (identity), the URL to fetch, depth and referer."""

    key: str
    url: str
    depth: int
    referer: str | None = None

    def to_json(self) -> str:
        return json.dumps({"key": self.key, "url": self.url, "depth": self.depth, "referer": self.referer}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Entry:
        value = json.loads(text)
        return cls(value["key"], value["url"], int(value["depth"]), value.get("referer"))


@dataclass(frozen=True)
class Worker:
    id: str
    host: str
    pid: int
    run_id: int | None


def split_url(url: str) -> tuple[str, str]:
    """The Redis URL without coprod's ``prefix`` query parameter, and that prefix."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"expected a redis:// URL for the frontier (got {url!r})")
    query = parse_qsl(parts.query)
    prefix = next((value for key, value in query if key == "prefix"), "coprod")
    rest = urlencode([(key, value) for key, value in query if key != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix


class SharedFrontier:
    """One process's handle on the shared frontier; `join` makes it a worker of sources' crawls."""

    def __init__(self, url: str, *, alive_seconds: int = ALIVE_SECONDS):
        address, self.prefix = split_url(url)
        self.redis = redis.Redis.from_url(address)
        self.alive_seconds = alive_seconds
        self.worker: Worker | None = None
        self.sources: list[str] = []
        self._push = self.redis.register_script(_PUSH)
        self._pop = self.redis.register_script(_POP)
        self._requeue = self.redis.register_script(_REQUEUE)
        self._finished = self.redis.register_script(_FINISHED)
        self._leave = self.redis.register_script(_LEAVE)
        self._beating = threading.Event()
        self._beat: threading.Thread | None = None

    def _key(self, source: str, name: str) -> str:
        return f"{self.prefix}:{source}:{name}"

    def _alive_key(self, worker: str) -> str:
        return f"{self.prefix}:alive:{worker}"

    # --- joining and leaving --------------------------------------------------------------

    def join(self, run_id: int | None, sources: Iterable[str]) -> dict[str, int | None]:
        """Become a worker of each source's crawl (started now when there is none); returns
        per source the run that started its crawl (None for one this worker starts now)."""
        pid = os.getpid()
        self.worker = Worker(f"{hostname()}:{pid}:{run_id}", hostname(), pid, run_id)
        info = json.dumps({"host": self.worker.host, "pid": pid, "run_id": run_id})
        self.redis.set(self._alive_key(self.worker.id), info, ex=self.alive_seconds)
        started: dict[str, int | None] = {}
        for source in sources:
            crawl = self._key(source, "crawl")
            created = self.redis.hsetnx(crawl, "run", "" if run_id is None else str(run_id))
            first = self.redis.hget(crawl, "run")
            started[source] = None if created or not first else int(first)
            self.redis.hset(self._key(source, "workers"), self.worker.id, info)
            self.sources.append(source)
        self._start_heartbeat()
        return started

    def leave(self, source: str) -> bool:
        """Stop working on a source: entries still in flight here go back to the queue; the
        crawl's keys are deleted when this was its last worker and nothing is left to do.
        True when they were."""
        assert self.worker is not None
        self._requeue(keys=[self._key(source, f"inflight:{self.worker.id}"), self._key(source, "queue"), self._key(source, "workers")], args=[self.worker.id])
        if source in self.sources:
            self.sources.remove(source)
        keys = [self._key(source, name) for name in ("workers", "queue", "seen", "crawl", "order")]
        return bool(self._leave(keys=keys, args=[self.worker.id]))

    def close(self) -> None:
        self._beating.set()
        if self._beat is not None:
            self._beat.join(timeout=HEARTBEAT_SECONDS * 2)
        if self.worker is not None:
            self.redis.delete(self._alive_key(self.worker.id))
        self.redis.close()

    def _start_heartbeat(self) -> None:
        if self._beat is not None:
            return
        assert self.worker is not None
        key, info = self._alive_key(self.worker.id), json.dumps({"host": self.worker.host, "pid": self.worker.pid, "run_id": self.worker.run_id})

        def beat() -> None:
            # A thread, so a reactor busy extracting a long page does not look dead.
            while not self._beating.wait(HEARTBEAT_SECONDS):
                try:
                    self.redis.set(key, info, ex=self.alive_seconds)
                except redis.RedisError:
                    pass  # the next beat tries again; missing several makes this worker dead

        self._beat = threading.Thread(target=beat, name="coprod-frontier-heartbeat", daemon=True)
        self._beat.start()

    # --- the queue ---------------------------------------------------------------------------

    def push(self, source: str, entries: list[Entry], cap: int) -> list[str]:
        """Queue entries whose canonical URL the crawl has not seen, while fewer than `cap`
        were; per entry 'queued', 'seen' or 'capped'."""
        if not entries:
            return []
        args: list[Any] = [cap]
        for entry in entries:
            args += [entry.key, entry.to_json(), entry.depth]
        keys = [self._key(source, "seen"), self._key(source, "queue"), self._key(source, "order")]
        return [status.decode() if isinstance(status, bytes) else status for status in self._push(keys=keys, args=args)]

    def pop(self, source: str) -> Entry | None:
        """The next entry of a source, now held in flight by this worker."""
        assert self.worker is not None
        popped = self._pop(keys=[self._key(source, "queue"), self._key(source, f"inflight:{self.worker.id}")])
        return Entry.from_json(popped) if popped else None

    def done(self, pairs: Iterable[tuple[str, str]]) -> None:
        """(source, canonical URL) pairs whose page is stored or recorded failed: done."""
        assert self.worker is not None
        pipe = self.redis.pipeline(transaction=False)
        for source, key in pairs:
            pipe.hdel(self._key(source, f"inflight:{self.worker.id}"), key)
        pipe.execute()

    def finished(self, source: str) -> bool:
        """Nothing queued and nothing in flight in any worker: the crawl of `source` is done."""
        keys = [self._key(source, "queue"), self._key(source, "workers")]
        return bool(self._finished(keys=keys, args=[self._key(source, "inflight:")]))

    # --- workers that died -------------------------------------------------------------------

    def dead_workers(self, source: str) -> list[Worker]:
        """Workers of a source's crawl whose heartbeat expired, or whose process on this host is gone."""
        here, me = hostname(), self.worker.id if self.worker else None
        dead = []
        for raw_id, raw in self.redis.hgetall(self._key(source, "workers")).items():
            worker_id = raw_id.decode()
            if worker_id == me:
                continue
            info = json.loads(raw)
            worker = Worker(worker_id, info["host"], int(info["pid"]), info.get("run_id"))
            gone = worker.host == here and not process_alive(worker.pid)
            if gone or not self.redis.exists(self._alive_key(worker_id)):
                dead.append(worker)
        return dead

    def reap(self, source: str, worker: Worker, stored: Callable[[int | None, list[str]], set[str]]) -> int:
        """Put a dead worker's in-flight entries back in the queue, except the ones whose page
        its run stored (`stored(run_id, keys)`, from the catalogue); returns how many went back."""
        inflight = self._key(source, f"inflight:{worker.id}")
        held = [key.decode() for key in self.redis.hkeys(inflight)]
        kept = sorted(stored(worker.run_id, held)) if held else []
        moved = self._requeue(keys=[inflight, self._key(source, "queue"), self._key(source, "workers")], args=[worker.id, *kept])
        self.redis.delete(self._alive_key(worker.id))
        return int(moved)

    def counts(self, source: str) -> dict[str, int]:
        """Seen, queued and in-flight entries, and workers, of a source's crawl."""
        workers = [w.decode() for w in self.redis.hkeys(self._key(source, "workers"))]
        return {
            "seen": self.redis.scard(self._key(source, "seen")),
            "queued": self.redis.zcard(self._key(source, "queue")),
            "in_flight": sum(self.redis.hlen(self._key(source, f"inflight:{w}")) for w in workers),
            "workers": len(workers),
        }
