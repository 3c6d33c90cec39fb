"""coprod status: the crawl runs, each source's health, and what the catalogue holds."""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from crawler.app.cli.common import catalogue, command_parser, database_url
from crawler.app.locks import AdvisoryLocks, FileLocks, source_locks
from storage.queries import CatalogueSummary, SourceHealth, recent_runs, source_health, summarise
from storage.runs import mark_interrupted

EXAMPLES = """
coprod status
coprod status --db sqlite:///data/demo.sqlite --runs 3

runs columns: run, started, finished, outcome, fetched, stored, dropped, errors, process (pid
and host of the crawler process), crawl of run (the run whose crawl this one resumed or, in a
team crawl, joined).

sources columns: source, last_run, when (its end, else its start), outcome (finished,
interrupted: its process died, running...), pages, new (pages first stored by the last run),
versions (page versions the last run stored: first versions of new pages and changed pages),
errors (failed fetches of the last run by reason), crawling (who holds the source's lock).
A WARN line names a source that yielded pages before but whose last run stored nothing or
got only errors.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "status", "Show recent crawl runs and catalogue counts.", EXAMPLES)
    parser.add_argument("--runs", type=int, default=10, metavar="N", help="how many recent runs to list (default: 10)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    engine = catalogue(args)
    try:
        with Session(engine) as session, session.begin():
            # A run whose process died is marked here too, so no run shows running forever.
            mark_interrupted(session)
        with Session(engine) as session:
            runs = recent_runs(session, args.runs)
            health = source_health(session)
            summary = summarise(session)
    finally:
        engine.dispose()
    print("runs")
    print(table(["run", "started", "finished", "outcome", "fetched", "stored", "dropped", "errors", "process", "crawl of run"], [
        [r.id, r.started_at.isoformat(timespec="seconds"), r.finished_at.isoformat(timespec="seconds") if r.finished_at else "-",
         r.finish_reason or r.status, r.pages_fetched, r.pages_stored, r.pages_dropped, r.errors,
         f"pid {r.pid} on {r.hostname}" if r.pid else "-", r.resumed_run_id or "-"]
        for r in runs
    ]))
    print()
    locks = source_locks(database_url(args))
    try:
        print(render_health(health, locks))
    finally:
        locks.release()
    print()
    print(render_summary(summary))
    return 0


def render_health(health: list[SourceHealth], locks: FileLocks | AdvisoryLocks) -> str:
    rows = []
    for h in health:
        holder = locks.holder(h.source)
        rows.append([
            h.source, h.last_run_id or "-", h.last_run_at.isoformat(timespec="seconds") if h.last_run_at else "-", h.outcome or "-",
            h.pages, h.new, h.versions, ", ".join(f"{kind}: {n}" for kind, n in h.errors.items()) or "-",
            f"pid {holder.pid} on {holder.host}" if holder else "-",
        ])
    lines = ["sources", table(["source", "last_run", "when", "outcome", "pages", "new", "versions", "errors", "crawling"], rows)]
    lines += [f"WARN {h.warning}" for h in health if h.warning]
    return "\n".join(lines)


def render_summary(summary: CatalogueSummary) -> str:
    parts = [
        "pages per source",
        table(["source", "pages", "kept", "dropped", "flagged"],
              [[name, r["pages"], r["kept"], r["dropped"], r["flagged"]] for name, r in summary.by_source.items()]
              + [["(all)", summary.pages, summary.kept, summary.pages - summary.kept, summary.flagged]]),
        "",
        "kept pages per language",
        table(["language", "pages"], [[lang, n] for lang, n in summary.by_language.items()]),
        "",
        "dropped pages by reason",
        table(["reason", "pages"], [[reason, n] for reason, n in summary.dropped.items()] or [["(none)", 0]]),
        "",
        *reconcile_flagged(summary),
    ]
    return "\n".join(parts)


def reconcile_flagged(summary: CatalogueSummary) -> list[str]:
    """Flagged pages and candidates, each part on its own line, adding up: a story is one
    candidate whatever its language versions and copies."""
    originals = summary.candidates - summary.decided_unflagged
    width = len(str(max(summary.flagged, summary.candidates)))
    lines = [
        f"flagged pages: {summary.flagged} = {originals} candidates + {summary.flagged_versions} language versions + {summary.flagged_copies} copies",
        f"  candidates  {originals:>{width}}  one per story: the review queue",
        f"  versions    {summary.flagged_versions:>{width}}  other languages' versions of a candidate's story, shown with it",
        f"  copies      {summary.flagged_copies:>{width}}  copies of an earlier page (an aggregator's), shown with it",
    ]
    if summary.decided_unflagged:
        lines.append(f"candidates: {summary.candidates} (with {summary.decided_unflagged} no longer flagged, kept for their decisions)")
    return lines


def table(header: list[str], rows: list[list[object]]) -> str:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(_is_number(row[i]) for row in cells[1:]) and len(cells) > 1 for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join("  " + line for line in lines)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
