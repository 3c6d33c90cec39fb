"""Which sources are due for a crawl: cadence per kind, per-source overrides, rejected sources.

Pure functions of the study's schedule, the sources, what the catalogue says about them and
the time, so that `coprod schedule` and `coprod crawl --if-due` agree and tests can fix the
clock. A source is due when it never finished a crawl, or when its last finished crawl is at
least its revisit interval ago; sources with a recently included case are revisited sooner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from crawler.core.config import Schedule, Source, parse_duration
from crawler.core.errors import BadInput, SchemaMismatch
from spiders.telegram import channel_of
from storage.db import open_catalogue
from storage.queries import last_finished_crawls, rejected_keys, sources_with_included

__all__ = ["Plan", "plan", "plan_for_database", "plan_from_catalogue", "revisit_interval", "source_keys"]


@dataclass(frozen=True)
class Plan:
    """One source's verdict: due or not, why, and when it is due next."""

    source: str
    due: bool
    reason: str
    next_at: dt.datetime | None  # None: due now, or never (disabled, rejected)


def revisit_interval(source: Source, schedule: Schedule, recently_included: bool) -> dt.timedelta:
    interval = parse_duration(source.revisit or getattr(schedule.revisit, source.kind))
    return interval * schedule.sooner_with_included if recently_included else interval


def source_keys(source: Source) -> set[str]:
    """The keys a discovered source would have for this one (hosts, t.me/<channel>)."""
    if source.kind == "telegram":
        channel = channel_of(source)
        return {f"t.me/{channel}"} if channel else set()
    return set(source.domains)


def plan(
    sources: Iterable[Source],
    schedule: Schedule,
    last_finished: Mapping[str, dt.datetime],
    included: set[str],
    rejected: set[str],
    now: dt.datetime,
) -> list[Plan]:
    verdicts = []
    for source in sources:
        if not source.enabled:
            verdicts.append(Plan(source.name, False, "disabled", None))
            continue
        if source_keys(source) & rejected:
            verdicts.append(Plan(source.name, False, "rejected by analysts", None))
            continue
        last = last_finished.get(source.name)
        if last is None:
            verdicts.append(Plan(source.name, True, "never finished a crawl", None))
            continue
        interval = revisit_interval(source, schedule, source.name in included)
        sooner = " (sooner: recently included case)" if source.name in included else ""
        due_at = last + interval
        reason = f"last finished {last.isoformat(timespec='minutes')}, revisit every {_show(interval)}{sooner}"
        verdicts.append(Plan(source.name, due_at <= now, reason, None if due_at <= now else due_at))
    return verdicts


def plan_from_catalogue(session: Session, sources: Iterable[Source], schedule: Schedule, now: dt.datetime) -> list[Plan]:
    since = now - parse_duration(schedule.included_within)
    return plan(sources, schedule, last_finished_crawls(session), sources_with_included(session, since), rejected_keys(session), now)


def plan_for_database(database_url: str, sources: Iterable[Source], schedule: Schedule, now: dt.datetime) -> list[Plan]:
    """The plan against the catalogue at `database_url`; with no catalogue yet, all is due."""
    try:
        engine = open_catalogue(database_url, create=False)
    except SchemaMismatch:
        raise
    except BadInput:  # no catalogue yet
        return plan(sources, schedule, {}, set(), set(), now)
    try:
        with Session(engine) as session:
            return plan_from_catalogue(session, sources, schedule, now)
    finally:
        engine.dispose()


def _show(interval: dt.timedelta) -> str:
    minutes = int(interval.total_seconds() // 60)
    for unit, size in (("w", 7 * 24 * 60), ("d", 24 * 60), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"
