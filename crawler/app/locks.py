"""One lock per source, held by whoever crawls it (`coprod crawl`, and so `coprod schedule`).

A lock is `fcntl.flock` on ``<state dir>/locks/<source>.lock``: the kernel releases it when
its holder exits or dies, so a crash never leaves a stale lock. The holder writes its pid,
host and start time into the file for `coprod status`. The state directory is
`$COPROD_STATE_DIR`, else ``state/`` beside a SQLite catalogue, else ``data/state``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from crawler.core.errors import CoprodError

__all__ = ["Holder", "SourceLock", "SourcesBusy", "holder_of", "state_dir"]

# Lock files are named after validated source names only, never after scraped text.
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class SourcesBusy(CoprodError):
    """Every source asked for is being crawled by another process; exit code 3."""

    exit_code = 3


@dataclass(frozen=True)
class Holder:
    pid: int | None
    host: str | None
    since: str | None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since}"


def state_dir(database_url: str) -> Path:
    explicit = os.environ.get("COPROD_STATE_DIR")
    if explicit:
        return Path(explicit)
    try:
        parsed = make_url(database_url)
    except Exception:
        return Path("data/state")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database).parent / "state"
    return Path("data/state")


def _lock_path(directory: Path, name: str) -> Path:
    if not _NAME_RE.match(name):
        raise ValueError(f"not a source name: {name!r}")
    return directory / "locks" / f"{name}.lock"


class SourceLock:
    """A non-blocking exclusive lock on one source; `acquire()` says whether it was free."""

    def __init__(self, directory: Path, name: str):
        self.name = name
        self.path = _lock_path(directory, name)
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": stamp}).encode())
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the file releases the lock
            self.fd = None

    def __enter__(self) -> SourceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder_of(directory: Path, name: str) -> Holder | None:
    """Who holds a source's lock, or None when nobody does."""
    path = _lock_path(directory, name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                data = json.loads(path.read_text(encoding="utf-8") or "{}")
            except (OSError, ValueError):
                data = {}
            return Holder(data.get("pid"), data.get("host"), data.get("since"))
        return None  # free: the file is what an earlier holder left
    finally:
        os.close(fd)
