"""coprod report: the study report (screening flow, cases, sources, agreement) as HTML."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.app.cli.common import catalogue, command_parser, config_of
from review.report import write_report

EXAMPLES = """
coprod report --out report/
coprod report --seeds crawler/app/demo/seeds.yaml --db sqlite:///data/demo.sqlite --out data/demo-report

Writes into DIR:
  report.html   one self-contained page (figures embedded, no script, nothing fetched)
  figures/      every figure as PNG (150 dpi) and SVG
  tables/       the numbers behind every figure as CSV: screening_flow, flow_by_source_kind,
                flow_exits_by_source_kind,
                cases_by_mode_and_direction, cases_by_<multi-valued codebook field>,
                case_timeline, cases_by_raion, cases_by_hromada, source_yield, crawl_runs,
                dropped_by_reason, agreement_kappa, agreement_alpha
  report.json   all of the above as one JSON document

The screening flow (PRISMA style): fetched -> unique -> in language -> flagged -> screened ->
included. Every page of the catalogue leaves it at exactly one step, with its reason
(drop reason, copy, other language, the engine's first failed signal, not yet screened,
the analyst's exclusion reason), so the counts add up.
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "report", "Write the study report: screening flow, cases, sources and agreement.", EXAMPLES)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write report.html, figures/, tables/ into")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_of(args)
    engine = catalogue(args)
    try:
        path = write_report(engine, config, args.out)
    finally:
        engine.dispose()
    print(f"wrote {path} (figures in {args.out / 'figures'}, tables in {args.out / 'tables'})")
    return 0
