"""The stage chain on every core: a pool of worker processes that run it on pages.

The parent loads the stages first (the relevance engine with its gazetteer, lexicon and
dictionaries) and then forks the workers, so those tables are shared copy-on-write instead of
loaded once per process (`gc.freeze()` keeps the collector from touching, and so copying,
them). Each worker has a socket to the parent and runs one page at a time: the parent sends a
page only to an idle worker, so a write never waits on a busy one, and pages wait in the
parent's queue, which the crawl bounds (Scrapy stops pulling responses while the pages it
holds pass `SCRAPER_SLOT_MAX_ACTIVE_SIZE`).

A worker that dies (killed, out of memory, a crash in a C library) is noticed by the end of
its socket, reaped and replaced, and its page is run once more by another worker; a page that
kills a worker twice is given up with the reason `worker_crashed`. A worker is also replaced
after `max_pages` pages, which bounds whatever its caches have grown to.

There is no Twisted here: the pool says which file descriptors to watch (`watch`/`unwatch`,
the crawl hands in its reactor's `addReader`), and `drain()` runs a plain `select` loop for
callers without a reactor (tests, offline work).
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import select
import signal
import socket
import struct
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines._drop import PageDropped

__all__ = ["Outcome", "WorkerPool", "default_workers"]

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")
CRASH_REASON = "worker_crashed"
TRIES = 2  # a page is run at most twice: once, and once more after its worker died

# What a page came back as: ("done", value), ("dropped", reason, detail) or ("error", text).
Outcome = tuple


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass
class _Task:
    item: Any
    done: Callable[[Outcome], None]
    count: Callable[[str], None]
    tries: int = 0


@dataclass
class _Worker:
    pid: int
    sock: socket.socket
    task: _Task | None = None
    pages: int = 0
    buffer: bytearray = field(default_factory=bytearray)

    @property
    def fd(self) -> int:
        return self.sock.fileno()


class WorkerPool:
    """`size` processes running `run(item)`; `submit` queues a page and calls `done` with its
    outcome in the parent. `run` returns a picklable value or raises `PageDropped`. Events
    are counted with `count`: "died" (a worker, replaced) for the pool; "crashed" (the page's
    worker died), "retried" and "recycled" for the page's submitter."""

    def __init__(
        self,
        run: Callable[[Any], Any],
        size: int,
        max_pages: int = 0,
        watch: Callable[[int, Callable[[], None]], None] | None = None,
        unwatch: Callable[[int], None] | None = None,
        count: Callable[[str], None] = lambda event: None,
    ):
        if size < 1:
            raise ValueError("a pool needs at least one worker")
        self.run = run
        self.size = size
        self.max_pages = max_pages
        self._watch = watch
        self._unwatch = unwatch
        self.count = count  # the pool's own events ("died"); a page's go to its task's
        self.workers: dict[int, _Worker] = {}  # by socket fd
        self.queue: deque[_Task] = deque()
        self.closed = False
        self._stopping: set[int] = set()  # retired workers not reaped yet

    # --- the parent's side ------------------------------------------------------------------

    def start(self) -> WorkerPool:
        # Everything loaded so far is permanent: the collector of a worker never writes to it.
        gc.freeze()
        for _ in range(self.size):
            self._spawn()
        return self

    def submit(self, item: Any, done: Callable[[Outcome], None], count: Callable[[str], None] = lambda name: None) -> None:
        if self.closed:
            raise RuntimeError("the worker pool is closed")
        self.queue.append(_Task(item, done, count))
        self._dispatch()

    @property
    def busy(self) -> int:
        return sum(1 for w in self.workers.values() if w.task is not None) + len(self.queue)

    def drain(self, timeout: float | None = None) -> None:
        """Wait, without a reactor, until every submitted page has its outcome."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.busy:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"{self.busy} pages still in the worker pool")
            ready, _, _ = select.select(list(self.workers), [], [], left)
            for fd in ready:
                if fd in self.workers:
                    self._readable(self.workers[fd])

    def close(self) -> None:
        """Stop the workers (after their pages: call it when nothing is pending)."""
        self.closed = True
        for worker in list(self.workers.values()):
            self._retire(worker, wait=False)
        deadline = time.monotonic() + 5
        for pid in list(self._stopping):
            self._reap(pid, deadline)
        self._stopping.clear()
        gc.unfreeze()

    def _spawn(self) -> None:
        parent_end, child_end = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            code = 1
            try:
                parent_end.close()
                _serve(child_end, self.run)
                code = 0
            finally:
                os._exit(code)
        child_end.close()
        parent_end.setblocking(False)
        worker = _Worker(pid, parent_end)
        self.workers[worker.fd] = worker
        if self._watch is not None:
            self._watch(worker.fd, lambda w=worker: self._readable(w))
        logger.debug("Started chain worker %(pid)d", {"pid": pid})

    def _dispatch(self) -> None:
        for worker in list(self.workers.values()):
            if not self.queue:
                return
            if worker.task is None:
                task = self.queue.popleft()
                task.tries += 1
                worker.task = task
                payload = pickle.dumps(task.item, pickle.HIGHEST_PROTOCOL)
                try:
                    worker.sock.setblocking(True)  # the worker is waiting for it: never long
                    worker.sock.sendall(_HEADER.pack(len(payload)) + payload)
                    worker.sock.setblocking(False)
                except OSError:
                    self._crashed(worker)

    def _readable(self, worker: _Worker) -> None:
        if self.workers.get(worker.fd) is not worker:
            return
        try:
            chunk = worker.sock.recv(1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._crashed(worker)
            return
        worker.buffer += chunk
        while len(worker.buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(worker.buffer)
            if len(worker.buffer) < _HEADER.size + length:
                return
            message = bytes(worker.buffer[_HEADER.size : _HEADER.size + length])
            del worker.buffer[: _HEADER.size + length]
            self._finished(worker, pickle.loads(message))

    def _finished(self, worker: _Worker, outcome: Outcome) -> None:
        task, worker.task = worker.task, None
        worker.pages += 1
        if self._stopping:  # a retired worker has exited by now: no zombie until the next retirement
            self._reap_stopped()
        if self.max_pages and worker.pages >= self.max_pages and not self.closed:
            self._retire(worker, wait=False)
            self._spawn()
            if task is not None:
                task.count("recycled")
        if task is not None:
            task.done(outcome)
        self._dispatch()

    def _crashed(self, worker: _Worker) -> None:
        """The worker's socket ended without an answer: it died. Reap and replace it; run its
        page again, or give the page up when this was its second try."""
        if self.workers.pop(worker.fd, None) is None:
            return
        if self._unwatch is not None:
            self._unwatch(worker.fd)
        worker.sock.close()
        status = self._reap(worker.pid, time.monotonic() + 5)
        task = worker.task
        logger.warning("Chain worker %(pid)d died (%(status)s)%(page)s", {
            "pid": worker.pid, "status": status, "page": f" on {getattr(task.item, 'url', task.item)!r}" if task else ""})
        if self.closed:
            if task is not None:
                task.done(("dropped", CRASH_REASON, f"worker {status} during shutdown"))
            return
        self.count("died")
        self._spawn()
        if task is not None:
            task.count("crashed")
            if task.tries < TRIES:
                task.count("retried")
                self.queue.appendleft(task)
            else:
                task.done(("dropped", CRASH_REASON, f"the page's worker {status}, twice"))
        self._dispatch()

    def _retire(self, worker: _Worker, wait: bool) -> None:
        if self.workers.pop(worker.fd, None) is None:
            return
        if self._unwatch is not None:
            self._unwatch(worker.fd)
        worker.sock.close()  # the worker reads the end of its socket and exits
        if wait:
            self._reap(worker.pid, time.monotonic() + 5)
        else:
            self._stopping.add(worker.pid)
            self._reap_stopped()

    def _reap_stopped(self) -> None:
        for pid in list(self._stopping):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self._stopping.discard(pid)

    @staticmethod
    def _reap(pid: int, deadline: float) -> str:
        """Wait for a worker to end (killing it at the deadline); how it ended."""
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return "ended"
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
                break
            time.sleep(0.01)
        if os.WIFSIGNALED(status):
            return f"was killed by signal {os.WTERMSIG(status)}"
        return f"exited with code {os.WEXITSTATUS(status)}"


# --- the worker's side ------------------------------------------------------------------------


def _log_fds() -> set[int]:
    loggers = [logging.root, *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger))]
    fds = set()
    for handler in (h for lg in loggers for h in lg.handlers):
        try:
            fds.add(handler.stream.fileno())  # type: ignore[attr-defined]
        except (AttributeError, OSError, ValueError):
            pass  # not a stream handler, or its stream is not a file
    return fds


def _serve(sock: socket.socket, run: Callable[[Any], Any]) -> None:
    """A worker's life: pages in, outcomes out, until the parent closes the socket."""
    # The parent's signal handling is not ours: a Ctrl-C reaches the whole process group, and
    # the parent, shutting down gracefully, still needs its workers for the pages in flight.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for number in (signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)
    # Nothing of the parent's but the standard streams and the log files (a worker's warnings
    # belong in the crawl's log; its handlers append, line by line): its connections, other
    # files and event loop stay its own.
    keep = {0, 1, 2, sock.fileno(), *_log_fds()}
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
    reader = sock.makefile("rb")
    while True:
        header = reader.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        (length,) = _HEADER.unpack(header)
        item = pickle.loads(reader.read(length))
        try:
            outcome: Outcome = ("done", run(item))
        except PageDropped as drop:
            outcome = ("dropped", drop.reason, drop.detail)
        except Exception as error:  # noqa: BLE001 - reported to the parent, which logs it as the chain would
            outcome = ("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
        payload = pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
        sock.sendall(_HEADER.pack(len(payload)) + payload)
