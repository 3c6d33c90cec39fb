"""coprod export: write a catalogue table as CSV, XLSX or JSON."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.cli.common import catalogue, command_parser
from review.export import FORMATS, TABLES, export_table

EXAMPLES = """
coprod export --what pages --format csv --out pages.csv
coprod export --what candidates --format xlsx --out candidates.xlsx
coprod export --db sqlite:///data/demo.sqlite --what pages --format json --out pages.json

pages columns: url, source, source_kind, language, title, published (page metadata),
  event_date (metadata, else from the text), flagged, score, direction, mode, in_region,
  in_window, places, place_codes (KATOTTG), identifiers (kind:value; cards masked), ict,
  reasons, drop_reason, drop_detail, http_status, content_type, encoding, duplicate_of,
  first_seen, last_seen, fetched_url, text
candidates columns: candidate_id, url, source, language, title, published, event_date, score,
  status, direction, mode, in_region, in_window, places, place_codes, identifiers, ict,
  reasons, flagged_at
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "export", "Export pages or candidates from the catalogue.", EXAMPLES)
    parser.add_argument("--what", choices=sorted(TABLES), default="candidates", help="which table (default: candidates)")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="file format (default: csv)")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    engine = catalogue(args)
    try:
        rows = export_table(engine, args.what, args.format, args.out)
    finally:
        engine.dispose()
    print(f"wrote {rows} {args.what} to {args.out}")
    return 0
