"""coprod status: the crawl runs and what the catalogue holds."""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from crawler.cli.common import catalogue, command_parser
from storage.queries import CatalogueSummary, recent_runs, summarise

EXAMPLES = """
coprod status
coprod status --db sqlite:///data/demo.sqlite --runs 3
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "status", "Show recent crawl runs and catalogue counts.", EXAMPLES)
    parser.add_argument("--runs", type=int, default=10, metavar="N", help="how many recent runs to list (default: 10)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    engine = catalogue(args)
    try:
        with Session(engine) as session:
            runs = recent_runs(session, args.runs)
            summary = summarise(session)
    finally:
        engine.dispose()
    print("runs")
    print(table(["run", "started", "finished", "reason", "fetched", "stored", "dropped", "errors"], [
        [r.id, r.started_at.isoformat(timespec="seconds"), r.finished_at.isoformat(timespec="seconds") if r.finished_at else "-",
         r.finish_reason or r.status, r.pages_fetched, r.pages_stored, r.pages_dropped, r.errors]
        for r in runs
    ]))
    print()
    print(render_summary(summary))
    return 0


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
        f"flagged candidates: {summary.candidates}",
    ]
    return "\n".join(parts)


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
