"""coprod export: write a catalogue table as CSV, XLSX, JSON or Parquet, with its metadata."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from crawler.app.cli.common import catalogue, command_parser, config_of, database_url, seeds_path
from crawler.core.config import Config
from crawler.core.errors import BadInput
from review.captures import export_captures
from review.export import FILTER_TABLES, FORMATS, TABLES, ExportFilters, export_table
from storage.capture import capture_dir

EXAMPLES = """
coprod export --what cases --format xlsx --out cases.xlsx
coprod export --what cases --format csv --mode co-delivery --since 2022-06-01 --place Дніпро --out cases.csv
coprod export --what candidates --status include --format parquet --out included.parquet
coprod export --what decisions --format json --out decisions.json
coprod export --what sources --format csv --out sources.csv
coprod export --db sqlite:///data/demo.sqlite --what pages --format json --out pages.json
coprod export --what cases --no-redact --user ada --out cases-full.csv   # ada: an admin; asks for her password
coprod export --what captures --user ada --out evidence.warc.gz          # the WARC records cases cite (ada: an admin)
COPROD_ADMIN_PASSWORD=... coprod export --what cases --no-redact --user ada --out cases-full.csv   # without a terminal

Every export writes PATH.meta.json beside PATH: coprod version, sha256 of the study file
and of the codebook, the crawl runs the rows come from, export time (UTC), filters,
redaction on/off and by whom, rows per table. CSV is byte-identical on an unchanged catalogue.

Lists are lists in JSON and Parquet, joined with "; " in CSV and XLSX. XLSX adds a
`codebook` sheet defining every column and its allowed values.

Unredacted tables and captures need an admin account and its password: asked for on a
terminal, else read from $COPROD_ADMIN_PASSWORD; a wrong one exits 2. Every export is in the
audit log; the files written are readable by their owner only (0600).

Redaction (default): card numbers masked, phone numbers and emails at public mail providers
(gmail.com, ukr.net, i.ua, meta.ua, yahoo, outlook, hotmail, icloud, proton, yandex, mail.ru,
...) replaced, in every text cell; organisations' own addresses are kept.

filters (they compose; asking for one on another table exits 2):
  --status   candidates (screening status), decisions (include, exclude, maybe, code, resolve)
  --mode     cases (coded), candidates and pages (the engine's), decisions (given with it)
  --since    cases (start/end date or an evidence page's date), candidates and pages
             (event date), decisions (date made); on or after the date
  --place    cases, candidates, pages, decisions: a KATOTTG code or name of a settlement,
             hromada, raion or oblast

cases columns: case_id, name, every codebook field (direction, mode, ict_channels, ...),
  place_names, settlement_codes, hromadas, hromada_codes, raions, raion_codes, oblasts,
  oblast_codes, evidence_urls, evidence_published, evidence_captures, evidence_count,
  first_seen, last_seen, coded_by, screened_by, created_at
decisions columns: decision_id, created_at, user, decision, reason, note, mode, fields,
  candidate_id, candidate_url, candidate_status, case_id
sources columns: source, kind, region, language_hint, enabled, start_urls, allowed_domains,
  pages, pages_kept, pages_dropped, pages_flagged, candidates, candidates_included, cases
pages columns: url, source, source_kind, language, title, published (page metadata),
  event_date (metadata, else from the text), flagged, score, direction, mode, in_region,
  in_window, places, place_codes (KATOTTG), identifiers (kind:value; cards masked), ict,
  reasons, drop_reason, drop_detail, http_status, content_type, encoding, duplicate_of,
  first_seen, last_seen, fetched_url, text
captures: one WARC file (--format is ignored) with the response and request records of
  every captured version of every evidence page of the open cases, copied byte for byte
  from the capture folder (--captures DIR, else $COPROD_CAPTURE_DIR, else beside the
  catalogue); not redacted: captures are the pages as published, so like --no-redact this
  needs --user naming an admin account, recorded in the metadata
candidates columns: candidate_id, url, source, language, title, published, event_date, score,
  status, direction, mode, in_region, in_window, places, place_codes, identifiers, ict,
  reasons, flagged_at
"""


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = command_parser(commands, "export", "Export cases, candidates, decisions, sources, pages or the cases' captures from the catalogue.", EXAMPLES)
    parser.add_argument("--what", choices=TABLES + ("captures",), default="candidates", help="which table, or captures (default: candidates)")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="file format (default: csv)")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="file to write (and PATH.meta.json)")
    for name, metavar, meaning in (
        ("status", "STATUS", "screening status / decision"),
        ("mode", "MODE", "co-design, co-delivery or co-monitoring"),
        ("since", "DATE", "on or after this ISO date"),
        ("place", "CODE-or-NAME", "KATOTTG code or place name"),
    ):
        parser.add_argument(f"--{name}", metavar=metavar, help=f"{meaning}; for {', '.join(FILTER_TABLES[name])}")
    parser.add_argument("--no-redact", dest="redact", action="store_false", help="keep phones, private emails (cards stay masked in the catalogue); needs --user naming an admin")
    parser.add_argument("--captures", metavar="DIR", help="capture folder, for --what captures (default: $COPROD_CAPTURE_DIR, else beside the catalogue)")
    parser.add_argument("--user", metavar="NAME", help="the admin account that turns redaction off or exports captures (its password is asked for; recorded in the metadata)")
    parser.set_defaults(run=run)


def _config(args: argparse.Namespace) -> Config | None:
    """The study file, for the codebook and its hash; without one, the built-in codebook."""
    if args.seeds is None and not seeds_path(args).is_file():
        return None
    return config_of(args)


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    filters = ExportFilters(status=args.status, mode=args.mode, since=args.since, place=args.place)
    if args.what == "captures":
        return _captures(args, config, filters)
    engine = catalogue(args)
    try:
        rows = export_table(
            engine, args.what, args.format, args.out, config=config, filters=filters, redact=args.redact, user=args.user,
            password=None if args.redact else admin_password(args.user),
        )
    finally:
        engine.dispose()
    print(f"wrote {rows} {args.what} to {args.out} (metadata: {args.out}.meta.json)")
    return 0


def _captures(args: argparse.Namespace, config: Config | None, filters: ExportFilters) -> int:
    if filters.given() or not args.redact:
        raise BadInput("--what captures takes no filters and no --no-redact: it bundles every open case's captures")
    engine = catalogue(args)
    try:
        folder = capture_dir(database_url(args), args.captures, config.captures if config else None)
        copied = export_captures(engine, args.out, folder, config, user=args.user, password=admin_password(args.user))
    finally:
        engine.dispose()
    print(f"wrote {copied} captured exchanges to {args.out} (metadata: {args.out}.meta.json)")
    return 0


def admin_password(user: str | None) -> str | None:
    """The admin's password: asked for on a terminal, else $COPROD_ADMIN_PASSWORD."""
    if not user:
        return None
    if sys.stdin.isatty():
        return getpass.getpass(f"password of {user}: ")
    return os.environ.get("COPROD_ADMIN_PASSWORD")
