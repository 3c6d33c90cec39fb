"""The run history's process bookkeeping: which process crawls, and runs whose process died.

A crawl killed with SIGKILL never writes its end. Its run row keeps `running`, with the pid
and host of its process; the next crawl (and `coprod status`) marks such a run
`interrupted` when it is of this host and its process is gone, with the time of its last
stored page as its end and the pages it stored as its counts.
"""

from __future__ import annotations

import os
import socket

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Page, Run

__all__ = ["hostname", "mark_interrupted", "mark_runs_interrupted", "process_alive", "record_process"]


def hostname() -> str:
    return socket.gethostname()


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process: alive
    return True


def record_process(session: Session, run_id: int) -> None:
    run = session.get(Run, run_id)
    if run is not None:
        run.pid = os.getpid()
        run.hostname = hostname()


def mark_interrupted(session: Session) -> list[int]:
    """Mark the running runs of this host whose process is gone; return their ids."""
    here = hostname()
    marked = []
    for run in session.scalars(select(Run).where(Run.status == "running", Run.hostname == here, Run.pid.is_not(None))):
        if run.pid == os.getpid() or process_alive(run.pid or 0):
            continue
        _interrupt(session, run)
        marked.append(run.id)
    session.flush()
    return marked


def mark_runs_interrupted(session: Session, run_ids: list[int]) -> list[int]:
    """Mark these runs, of processes known to be dead on any host (a team crawl's workers
    whose heartbeat stopped), when they still say running; return the ids marked."""
    marked = []
    for run in session.scalars(select(Run).where(Run.status == "running", Run.id.in_(run_ids))):
        _interrupt(session, run)
        marked.append(run.id)
    session.flush()
    return marked


def _interrupt(session: Session, run: Run) -> None:
    kept, dropped, last = session.execute(
        select(
            func.count(Page.id).filter(Page.drop_reason.is_(None)),
            func.count(Page.id).filter(Page.drop_reason.is_not(None)),
            func.max(Page.last_seen),
        ).where(Page.last_run_id == run.id)
    ).one()
    run.status = "interrupted"
    run.finish_reason = "interrupted"
    run.finished_at = last  # its last stored page; None when it stored nothing
    run.pages_stored = kept
    run.pages_dropped = dropped
