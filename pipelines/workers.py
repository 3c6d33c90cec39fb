"""The stage chain on every core: a pool of worker processes that run it on pages.

The parent loads the stages first (the relevance engine with its gazetteer, lexicon and
dictionaries) and then forks the workers, so those tables are shared copy-on-write instead of
loaded once per process (`gc.freeze()` keeps the collector from touching, and so copying,
them). Each worker has a socket to the parent and runs one page at a time: the parent sends a
page only to an idle worker, so a write never waits on a busy one, and pages wait in the
parent's queue, which the crawl bounds (Scrapy stops pulling responses while the pages it
holds pass `SCRAPER_SLOT_MAX_ACTIVE_SIZE`).

Workers are forked by a zygote: a process forked once, when the pool starts, that does
nothing but fork the workers (on Linux; elsewhere the parent forks them). The parent goes on
writing to its memory as it crawls, and every page it writes after a fork becomes the
worker's own: measured on a 10,000-article crawl, the workers that replaced retired ones held
240 MB, then 380 MB, of private memory each, against 130 MB for the first ones, because they
were forked from a parent that had grown. The zygote does not grow; a worker starts from the
parent as it was when the pool started. The parent is made the reaper of its orphans
(PR_SET_CHILD_SUBREAPER) and the zygote forks each worker through a process that exits at
once, so the workers are the parent's children, and it reaps and kills them as before.

A worker that dies (killed, out of memory, a crash in a C library) is noticed by the end of
its socket, reaped and replaced, and its page is run once more by another worker; a page that
kills a worker twice is given up with the reason `worker_crashed`. A worker is also replaced
after `max_pages` pages, which bounds whatever its caches have grown to.

There is no Twisted here: the pool says which file descriptors to watch (`watch`/`unwatch`,
the crawl hands in its reactor's `addReader`), and `drain()` runs a plain `select` loop for
callers without a reactor (tests, offline work).
"""

from __future__ import annotations

import ctypes
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
_PID = struct.Struct("!q")
_PR_SET_NAME, _PR_SET_CHILD_SUBREAPER = 15, 36  # linux/prctl.h
ZYGOTE_NAME, WORKER_NAME = b"coprod-zygote", b"coprod-worker"  # as ps and /proc/PID/comm show them
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
        self._zygote: _Zygote | None = None

    # --- the parent's side ------------------------------------------------------------------

    def start(self) -> WorkerPool:
        # Everything loaded so far is permanent: the collector of a worker never writes to it.
        gc.freeze()
        self._zygote = _Zygote.start(self.run)
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
        if self._zygote is not None:
            self._zygote.close()
            self._zygote = None
        gc.unfreeze()

    def _spawn(self) -> None:
        parent_end, child_end = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = self._zygote.spawn(child_end) if self._zygote is not None else None
        if pid is None:
            if self._zygote is not None:
                logger.warning("The chain workers' zygote ended: workers are forked by the crawl's process from now on")
                self._zygote.close()
                self._zygote = None
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


# --- the zygote ---------------------------------------------------------------------------------

_subreapers = 0  # pools whose zygote's workers this process reaps


def _prctl(option: int, value: int | bytes) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _subreaper(on: bool) -> bool:
    """Make this process the reaper of its orphaned descendants while any pool's zygote runs
    (Linux); whether it is (on) or the call succeeded (off)."""
    global _subreapers
    if not sys.platform.startswith("linux"):
        return False
    if on and _subreapers:
        _subreapers += 1
        return True
    if not on:
        _subreapers -= 1
        if _subreapers:
            return True
    done = _prctl(_PR_SET_CHILD_SUBREAPER, int(on))
    if on and done:
        _subreapers = 1
    return done


class _Zygote:
    """The process the workers are forked from (see the module's docstring)."""

    def __init__(self, pid: int, sock: socket.socket):
        self.pid = pid
        self.sock = sock

    @classmethod
    def start(cls, run: Callable[[Any], Any]) -> _Zygote | None:
        """A zygote forked now, or None where workers cannot be made the parent's children."""
        if not _subreaper(True):
            return None
        parent_end, child_end = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                parent_end.close()
                _zygote(child_end, run)
                code = 0
            finally:
                os._exit(code)
        child_end.close()
        return cls(pid, parent_end)

    def spawn(self, child_end: socket.socket) -> int | None:
        """A worker serving `child_end`, the parent's child; None if the zygote has ended."""
        try:
            socket.send_fds(self.sock, [b"w"], [child_end.fileno()])
            answer = self.sock.recv(_PID.size, socket.MSG_WAITALL)
        except OSError:
            return None
        if len(answer) < _PID.size:
            return None
        (pid,) = _PID.unpack(answer)
        return pid if pid > 0 else None

    def close(self) -> None:
        self.sock.close()  # the zygote reads the end of its socket and exits
        WorkerPool._reap(self.pid, time.monotonic() + 5)
        _subreaper(False)


def _zygote(sock: socket.socket, run: Callable[[Any], Any]) -> None:
    """The zygote's life: a worker forked for each socket the parent sends, until it closes."""
    _isolate(sock)
    _prctl(_PR_SET_NAME, ZYGOTE_NAME)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1, 1)
        except OSError:
            return
        if not message:
            return
        if not fds:
            continue
        pid = _fork_orphan(fds[0], sock, run)
        os.close(fds[0])
        sock.sendall(_PID.pack(pid))


def _fork_orphan(fd: int, zygote_sock: socket.socket, run: Callable[[Any], Any]) -> int:
    """Fork a worker through a process that exits at once, so that it is reparented to the
    parent (the subreaper); its pid, or -1 if a fork failed."""
    read_end, write_end = os.pipe()
    try:
        middle = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return -1
    if middle == 0:
        code = 1
        try:
            os.close(read_end)
            worker = os.fork()
            if worker == 0:
                try:
                    zygote_sock.close()
                    _serve(socket.socket(fileno=fd), run)
                    code = 0
                finally:
                    os._exit(code)
            os.write(write_end, _PID.pack(worker))
            code = 0
        except OSError:
            os.write(write_end, _PID.pack(-1))
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read(_PID.size)
    os.waitpid(middle, 0)  # it has exited: the worker is the parent's child now
    return _PID.unpack(answer)[0] if len(answer) == _PID.size else -1


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


def _isolate(sock: socket.socket) -> None:
    """A forked process's own signal handling, and none of the parent's files but `sock`."""
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


def _serve(sock: socket.socket, run: Callable[[Any], Any]) -> None:
    """A worker's life: pages in, outcomes out, until the parent closes the socket."""
    _isolate(sock)
    _prctl(_PR_SET_NAME, WORKER_NAME)
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
