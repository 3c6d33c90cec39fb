"""coprod schedule: crawl the sources that are due, at the times seeds.yaml's schedule names.

Each due source is crawled by a `coprod crawl --source NAME --if-due` subprocess, one after
the other. The crawl locks its source and checks again that it is due, so two schedulers
started together crawl each source once: the second finds the source locked, or no longer due.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

from crawler.app.cli.common import command_parser, config_of, database_url
from crawler.app.cli.crawl import accepted
from crawler.app.cli.status import table
from crawler.app.locks import SourcesBusy, state_dir
from crawler.app.schedule import Plan, plan_for_database
from crawler.core.config import Config
from crawler.core.cron import parse_cron

EXAMPLES = """
coprod schedule --dry-run        # which sources are due now, and why
coprod schedule --once           # crawl the due sources now and exit (from cron or a systemd timer)
coprod schedule                  # wake up at schedule.cron (UTC) and crawl what is due, forever

output: the plan (source, due, why, next), then one line per crawl: time, source, outcome
(crawled, failed, skipped: locked, skipped: not due), exit code, seconds, the crawl's summary;
the crawl lines are also appended to <state dir>/schedule.log ($COPROD_STATE_DIR, else state/
beside a SQLite catalogue). Exit code 1 when a crawl failed.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "schedule", "Crawl the sources that are due by the study's schedule.", EXAMPLES)
    parser.add_argument("--once", action="store_true", help="crawl what is due now, then exit")
    parser.add_argument("--dry-run", action="store_true", help="only show which sources are due")
    parser.add_argument("--proxy", metavar="URL", help="passed on to each crawl (default: $COPROD_PROXY, else crawl.proxy)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.once or args.dry_run:
        return wake(args)
    while True:
        # Read every time: an edited study file applies from the next wake-up on.
        next_at = parse_cron(config_of(args).schedule.cron).next_after(_now())
        print(f"sleeping until {next_at.isoformat(timespec='minutes')} UTC", flush=True)
        while (left := (next_at - _now()).total_seconds()) > 0:
            time.sleep(min(left, 60))
        wake(args)


def wake(args: argparse.Namespace) -> int:
    config = config_of(args)
    database = database_url(args, config)
    known = {s.name for s in config.sources}
    sources = list(config.sources) + [s for s in accepted(database) if s.name not in known]
    verdicts = plan_for_database(database, sources, config.schedule, _now())
    print(render_plan(verdicts), flush=True)
    if args.dry_run:
        return 0
    log = state_dir(database) / "schedule.log"
    failed = False
    for verdict in verdicts:
        if verdict.due:
            failed |= crawl(config, database, verdict.source, args.proxy, log) == "failed"
    return 1 if failed else 0


def render_plan(verdicts: list[Plan]) -> str:
    return table(["source", "due", "why", "next"], [
        [v.source, "yes" if v.due else "no", v.reason, v.next_at.isoformat(timespec="minutes") if v.next_at else "-"]
        for v in verdicts
    ])


def crawl(config: Config, database: str, source: str, proxy: str | None, log: Path) -> str:
    """Crawl one source in a subprocess; log and return its outcome."""
    command = [sys.executable, "-m", "crawler.app.cli", "crawl", "--seeds", str(config.path), "--db", database, "--source", source, "--if-due"]
    if proxy:
        command += ["--proxy", proxy]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode == SourcesBusy.exit_code:
        outcome = "skipped: locked"
    elif done.returncode == 0 and done.stdout.strip() == "nothing due":
        outcome = "skipped: not due"
    else:
        outcome = "crawled" if done.returncode == 0 else "failed"
    summary = " | ".join(line for line in (done.stdout.strip().splitlines() or done.stderr.strip().splitlines()[-1:]))
    line = f"{_now().isoformat(timespec='seconds')} {source} {outcome} exit={done.returncode} {seconds:.1f}s {summary}"
    print(line, flush=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as file:
        file.write(line + "\n")
    return outcome


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
