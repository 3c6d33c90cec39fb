"""One lock per source, held by whoever crawls it (`coprod crawl`, and so `coprod schedule`).

With a SQLite catalogue a lock is `fcntl.flock` on ``<state dir>/locks/<source>.lock``: the
kernel releases it when its holder exits or dies, so a crash never leaves a stale lock. The
holder writes its pid, host and start time into the file for `coprod status`. The state
directory is `$COPROD_STATE_DIR`, else ``state/`` beside a SQLite catalogue, else ``data/state``.

With a PostgreSQL catalogue a lock is a PostgreSQL advisory lock (`pg_try_advisory_lock`) of
one database session, so crawlers on different machines exclude each other; the server
releases it when the session ends, however the holder died. The session's application name
says who holds it, and `coprod status` reads it from `pg_locks`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import socket
import zlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from crawler.core.errors import CoprodError
from storage.migrations import LOCK_NAMESPACE

__all__ = ["AdvisoryLocks", "FileLocks", "Holder", "SourceLock", "SourcesBusy", "holder_of", "source_locks", "state_dir"]

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
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
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


class FileLocks:
    """The sources' `flock` locks in a state directory (SQLite catalogues)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.held: list[SourceLock] = []

    def acquire(self, name: str) -> bool:
        lock = SourceLock(self.directory, name)
        if lock.acquire():
            self.held.append(lock)
            return True
        return False

    def holder(self, name: str) -> Holder | None:
        return holder_of(self.directory, name)

    def release(self) -> None:
        for lock in self.held:
            lock.release()
        self.held.clear()


_HOLDER_RE = re.compile(r"^coprod pid (\d+) on (.*)$")


def _advisory_key(name: str) -> int:
    if not _NAME_RE.match(name):
        raise ValueError(f"not a source name: {name!r}")
    return zlib.crc32(name.encode()) - 2**31  # an int4, as pg_try_advisory_lock(int, int) takes


class AdvisoryLocks:
    """The sources' PostgreSQL advisory locks, held by one session of this process."""

    def __init__(self, database_url: str):
        self.engine = create_engine(database_url, poolclass=NullPool)
        self.connection: Connection | None = None

    def acquire(self, name: str) -> bool:
        if self.connection is None:
            self.connection = self.engine.connect()
            who = f"coprod pid {os.getpid()} on {socket.gethostname()}"[:63]
            self.connection.execute(text("SELECT set_config('application_name', :who, false)"), {"who": who})
        got = self.connection.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": LOCK_NAMESPACE, "key": _advisory_key(name)}).scalar()
        self.connection.commit()
        return bool(got)

    def holder(self, name: str) -> Holder | None:
        query = text(
            "SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid::bigint = :ns AND l.objid::bigint = :key "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        with self.engine.connect() as connection:
            row = connection.execute(query, {"ns": LOCK_NAMESPACE, "key": _advisory_key(name) & 0xFFFFFFFF}).first()
        if row is None:
            return None
        match = _HOLDER_RE.match(row.application_name or "")
        since = row.backend_start.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") if row.backend_start else None
        return Holder(int(match[1]) if match else None, match[2] if match else None, since)

    def release(self) -> None:
        if self.connection is not None:
            self.connection.close()  # ending the session releases its advisory locks
            self.connection = None
        self.engine.dispose()


def source_locks(database_url: str) -> FileLocks | AdvisoryLocks:
    """Advisory locks for a PostgreSQL catalogue, else `flock` files in the state directory."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return AdvisoryLocks(database_url)
    return FileLocks(state_dir(database_url))
