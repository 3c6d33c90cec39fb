"""coprod crawl: fetch the study's sources into the catalogue.

Each source is locked while it is crawled (`crawler.app.locks`); a source another process is
crawling is skipped with a message, and when that leaves nothing to crawl the exit code is 3.
With a shared frontier (`--frontier`, `$COPROD_FRONTIER`, `crawl.frontier`) a source another
worker holds is still crawled by this one's site spider, which joins the source's shared
crawl; only its feeds and channel are left to the lock's holder.

A crawl in which every request failed, or that stopped because the catalogue or the captures
cannot be written, exits 1 with a WARN line or an error naming the cause.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from sqlalchemy.orm import Session

from crawler.app.cli.common import command_parser, config_of, database_url
from crawler.app.locks import AdvisoryLocks, FileLocks, SourcesBusy, source_locks
from crawler.app.runner import run_crawl
from crawler.app.schedule import plan_for_database
from crawler.core.config import Config, Source, resolve_setting
from crawler.core.errors import BadInput, SchemaMismatch
from spiders.site import SiteSpider
from storage.db import open_catalogue
from storage.queries import accepted_sources

EXAMPLES = """
coprod crawl                                  # every enabled source of ./seeds.yaml
coprod crawl --source dniprorada --source gorod-dp
coprod crawl --seeds studies/kharkiv.yaml --db postgresql://localhost/coprod
COPROD_DATABASE_URL=sqlite:///data/test.sqlite coprod crawl -v
coprod crawl --if-due                         # only the sources the schedule says are due
coprod crawl --workers 0                      # the stage chain in the crawl's own process
coprod crawl --db postgresql+psycopg://coprod@db.lan/study --frontier redis://redis.lan:6379/0   # a worker of a team crawl
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "crawl", "Crawl the sources named in the study file into the catalogue.", EXAMPLES)
    parser.add_argument("--source", action="append", metavar="NAME", help="crawl only this source (repeatable; default: all enabled)")
    parser.add_argument("--proxy", metavar="URL", help="send every request through this HTTP proxy (default: $COPROD_PROXY, else crawl.proxy)")
    parser.add_argument("--frontier", metavar="URL", help="a team crawl's shared frontier, redis://HOST:PORT/DB[?prefix=NAME] (default: $COPROD_FRONTIER, else crawl.frontier)")
    parser.add_argument("--if-due", action="store_true", help="crawl only the sources that are due by seeds.yaml's schedule (checked after locking them)")
    parser.add_argument(
        "--workers", type=_workers, metavar="N",
        help="worker processes running the stage chain (default: $COPROD_WORKERS, else crawl.workers, else the machine's cores; 0: in the crawl's process)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.set_defaults(run=run)


def _workers(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of processes, got {value!r}") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more processes, got {count}")
    return count


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    database = database_url(args, config)
    workers = resolve_setting(None if args.workers is None else str(args.workers), "COPROD_WORKERS", None)
    if workers is not None:
        try:
            workers = str(_workers(workers))
        except argparse.ArgumentTypeError as error:
            raise BadInput(f"COPROD_WORKERS: {error}") from None
    frontier = resolve_setting(args.frontier, "COPROD_FRONTIER", config.crawl.frontier)
    extra = accepted(database)
    locks = source_locks(database)
    try:
        sources, joined = lock(select(config, extra, args.source), locks, shared=frontier is not None)
        if args.if_due:
            # Checked under the lock: a crawl that just finished elsewhere made the source not due.
            sources = due(config, database, sources)
            if not sources:
                print("nothing due")
                return 0
        outcome = run_crawl(
            config,
            sources=sources,
            database_url=database,
            proxy=resolve_setting(args.proxy, "COPROD_PROXY", config.crawl.proxy),
            verbosity=args.verbose,
            extra_sources=extra,
            workers=workers,
            frontier=frontier,
            site_only=joined,
        )
    finally:
        locks.release()
    print(outcome.describe(), flush=True)
    if outcome.log_file:
        print(f"coprod: the crawl's log: {outcome.log_file}", file=sys.stderr)
    if outcome.stopped_because:
        print(f"coprod: error: {outcome.stopped_because}; the crawl stopped (it resumes from where it stopped once this is fixed)", file=sys.stderr)
    return 0 if outcome.reason == "finished" else 1


def lock(sources: list[Source], locks: FileLocks | AdvisoryLocks, shared: bool = False) -> tuple[list[Source], set[str]]:
    """The sources to crawl: those whose lock this process got (held until `locks` are
    released), and with a shared frontier those another worker holds, whose shared site
    crawl this one joins (their names are returned too); the others are skipped."""
    chosen, joined = [], set()
    for source in sources:
        if locks.acquire(source.name):
            chosen.append(source)
            continue
        holder = locks.holder(source.name)
        held = holder.describe() if holder else "lock held"
        if shared and SiteSpider.handles(source):
            print(f"coprod: {source.name}: joining its shared crawl (its lock is held: {held})", file=sys.stderr)
            chosen.append(source)
            joined.add(source.name)
        else:
            print(f"coprod: {source.name}: skipped, being crawled ({held})", file=sys.stderr)
    if sources and not chosen:
        raise SourcesBusy("nothing crawled: every source is being crawled by another process")
    return chosen, joined


def due(config: Config, database: str, sources: list[Source]) -> list[Source]:
    verdicts = plan_for_database(database, sources, config.schedule, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    for verdict in verdicts:
        if not verdict.due:
            print(f"coprod: {verdict.source}: not due ({verdict.reason})", file=sys.stderr)
    due_names = {v.source for v in verdicts if v.due}
    return [s for s in sources if s.name in due_names]


def accepted(database: str) -> list[Source]:
    """Discovered sources analysts accepted, when the catalogue exists already."""
    try:
        engine = open_catalogue(database, create=False)
    except SchemaMismatch:
        raise
    except BadInput:  # no catalogue yet
        return []
    try:
        with Session(engine) as session:
            return accepted_sources(session)
    finally:
        engine.dispose()


def select(config: Config, extra: list[Source], names: list[str] | None) -> list[Source]:
    known = {s.name for s in config.sources}
    every = list(config.sources) + [s for s in extra if s.name not in known]
    if not names:
        return [s for s in every if s.enabled]
    config.select_sources([n for n in names if n not in {s.name for s in extra}])  # names an unknown one clearly
    return [s for s in every if s.name in names]
