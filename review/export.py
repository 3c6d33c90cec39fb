"""Exports of the catalogue through pandas: CSV, XLSX, JSON and Parquet.

Tables: ``cases`` (open cases with every codebook field), ``candidates``, ``decisions`` (the
whole append-only log), ``sources`` (with their yields) and ``pages``.

* List-valued columns stay lists in JSON and Parquet and are joined with "; " in CSV and
  XLSX. Text cells that a spreadsheet would run as a formula (scraped titles are hostile
  input) are prefixed with an apostrophe in CSV and XLSX.
* XLSX holds the table's sheet plus a ``codebook`` sheet that defines every column of the
  table and lists every allowed value.
* Filters compose (all must hold); each applies to some tables only, and asking for one
  on a table it does not apply to is bad input (see `FILTER_TABLES`).
* Redaction is on by default: in every text cell, card numbers are masked (first and last
  four digits kept), Ukrainian phone numbers become ``[phone redacted]`` and emails of
  private persons ``[email redacted]``. An email counts as private when its domain is a
  public mail provider (`PUBLIC_MAIL_DOMAINS`, e.g. gmail.com, ukr.net, i.ua, meta.ua,
  yahoo.*, outlook.*, hotmail.*, icloud.com, proton.me, yandex.*, mail.ru); addresses at an
  organisation's own domain (a council, an NGO) are kept. Phones, emails and cards are found
  by `pipelines.relevance.identifiers`. Turning redaction off needs an active admin account
  of the catalogue *and its password* (`check_admin`); the admin is recorded in the
  metadata and the export in the audit log.
* Every file an export writes is the owner's alone (0600): it holds what was crawled.
* Beside every export, ``<out>.meta.json`` records the coprod version, the sha256 of the
  study file and of the codebook, the crawl runs the exported rows come from, the export
  time (UTC), the filters, the redaction and who turned it off, and the rows per table.
* CSV output is deterministic: rows in a fixed order, columns in a fixed order, and no
  export-time value inside the file (the time lives in the metadata only).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from crawler.core import __version__ as coprod_version
from crawler.core.config import Config, builtin_path
from crawler.core.errors import BadInput
from pipelines.relevance.identifiers import find_identifiers, mask_cards
from review.auth import authenticate_admin
from review.codebook import Codebook, load_codebook
from storage import audit
from storage.models import Run
from storage.queries import (
    CANDIDATE_COLUMNS,
    DECISION_COLUMNS,
    PAGE_COLUMNS,
    SOURCE_COLUMNS,
    candidate_rows,
    case_columns,
    case_rows,
    decision_rows,
    page_facets,
    page_rows,
    source_rows,
)

__all__ = [
    "FILTER_TABLES",
    "FORMATS",
    "PUBLIC_MAIL_DOMAINS",
    "TABLES",
    "ExportFilters",
    "codebook_frame",
    "check_admin",
    "export_table",
    "neutralise",
    "private_file",
    "record_export",
    "redact_text",
    "table_frame",
    "write_meta",
]

TABLES = ("cases", "candidates", "decisions", "sources", "pages")
FORMATS = ("csv", "xlsx", "json", "parquet")
# Which tables each filter applies to.
FILTER_TABLES: dict[str, tuple[str, ...]] = {
    "status": ("candidates", "decisions"),
    "mode": ("cases", "candidates", "decisions", "pages"),
    "since": ("cases", "candidates", "decisions", "pages"),
    "place": ("cases", "candidates", "decisions", "pages"),
}
LIST_SEPARATOR = "; "
# A spreadsheet runs a cell starting with one of these as a formula, also after leading
# blanks or control characters, which some programs drop first (OWASP's CSV injection).
_FORMULA_START = ("=", "+", "-", "@")
_CONTROL = "".join(chr(c) for c in range(32)) + "\x7f"
_LEADING_JUNK = _CONTROL + " \u00a0\u200b\ufeff"
# Characters that XML 1.0 (and so XLSX) cannot hold.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "ukr.net", "i.ua", "meta.ua", "bigmir.net", "email.ua", "online.ua",
        "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "pm.me", "mail.ru", "bk.ru",
        "inbox.ru", "list.ru", "rambler.ru", "aol.com", "gmx.com", "gmx.net", "zoho.com", "tutanota.com",
    }
)
# Providers with a domain per country (yahoo.com, yahoo.co.uk, outlook.de, yandex.ua...).
_PUBLIC_MAIL_NAMES = frozenset({"yahoo", "ymail", "outlook", "hotmail", "live", "msn", "yandex", "ya"})
PHONE_MASK = "[phone redacted]"
EMAIL_MASK = "[email redacted]"

CANDIDATE_STATUSES = ("unscreened", "include", "exclude", "maybe", "awaiting_second", "conflict")
DECISIONS = ("include", "exclude", "maybe", "code", "resolve")
SOURCE_KINDS = ("news", "council", "volunteer_hub", "telegram", "other")


@dataclass(frozen=True)
class ExportFilters:
    """Filters that compose: a row is exported when every given filter holds.

    status: candidates by screening status; decisions by the decision (include, exclude,
      maybe, code, resolve).
    mode: the engine's mode (pages, candidates), the coded mode (cases), the mode an
      analyst gave with a decision (decisions).
    since: an ISO date; pages and candidates whose event date is on or after it, cases with
      a start date, end date or evidence event date on or after it, decisions made on or
      after it. Rows without any such date are left out.
    place: a KATOTTG code or a name (case-insensitive) of a settlement, hromada, raion or
      oblast; rows whose places (a page's, a candidate's page's, a case's coded place and
      its evidence pages', the candidate or case a decision is about) include it or lie in it.
    """

    status: str | None = None
    mode: str | None = None
    since: str | None = None
    place: str | None = None

    def given(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}

    def check(self, what: str) -> None:
        for name in self.given():
            if what not in FILTER_TABLES[name]:
                raise BadInput(f"--{name} does not apply to {what}; it applies to: {', '.join(FILTER_TABLES[name])}")
        if self.since:
            try:
                dt.date.fromisoformat(self.since)
            except ValueError:
                raise BadInput(f"--since expects a date such as 2022-03-01 (got {self.since!r})") from None

    def keep(self, row: dict[str, Any]) -> bool:
        if self.status and row.get("_status") != self.status:
            return False
        if self.mode and row.get("_mode") != self.mode:
            return False
        if self.since:
            since = dt.date.fromisoformat(self.since).isoformat()
            if not any(str(d)[:10] >= since for d in row.get("_dates", ())):
                return False
        return not (self.place and not any(_place_matches(p, self.place) for p in row.get("_places", ())))


def _fold(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u02bc", "'").casefold().strip()


def _place_matches(place: dict[str, Any], wanted: str) -> bool:
    codes = {place.get(k) for k in ("code", "hromada_code", "raion_code", "oblast_code")}
    if wanted.strip().upper() in codes:
        return True
    names = {_fold(str(place.get(k))) for k in ("name", "hromada", "raion", "oblast") if place.get(k)}
    return _fold(wanted) in names


# --- the tables ----------------------------------------------------------------------------


def _codebook_of(config: Config | None) -> tuple[Codebook, Path]:
    path = config.codebook_path if config is not None else builtin_path("codebook")
    return load_codebook(path), path


def _rows(session: Session, what: str, codebook: Codebook) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    if what == "cases":
        return case_rows(session, codebook.fields), case_columns([f.name for f in codebook.fields])
    if what == "decisions":
        return decision_rows(session), DECISION_COLUMNS
    if what == "sources":
        return source_rows(session), SOURCE_COLUMNS
    facets = page_facets(session)
    rows = page_rows(session) if what == "pages" else candidate_rows(session)
    for row in rows:
        facet = facets.get(row["url"], {})
        row["_runs"] = facet.get("runs", [])
        row["_places"] = facet.get("places", [])
        row["_mode"] = row.get("mode")
        row["_status"] = row.get("status")
        row["_dates"] = [row["event_date"]] if row.get("event_date") else []
    return rows, PAGE_COLUMNS if what == "pages" else CANDIDATE_COLUMNS


def table_frame(
    engine: Engine,
    what: str,
    *,
    config: Config | None = None,
    filters: ExportFilters = ExportFilters(),
    redact: bool = True,
) -> pd.DataFrame:
    """One table as a DataFrame, filtered and (by default) redacted."""
    frame, _ = _table(engine, what, config, filters, redact)
    return frame


def _table(engine: Engine, what: str, config: Config | None, filters: ExportFilters, redact: bool) -> tuple[pd.DataFrame, list[int]]:
    if what not in TABLES:
        raise BadInput(f"unknown table {what!r}; expected one of: {', '.join(TABLES)}")
    filters.check(what)
    codebook, _ = _codebook_of(config)
    with Session(engine) as session:
        rows, columns = _rows(session, what, codebook)
    rows = [row for row in rows if filters.keep(row)]
    runs = sorted({r for row in rows for r in row.get("_runs", ())})
    clean = [{column: row[column] for column in columns} for row in rows]
    if redact:
        clean = [{k: _redact_value(v) for k, v in row.items()} for row in clean]
    # object dtype: ints stay ints next to None, so CSV never shows "12.0".
    # An empty table still gets its header, so downstream scripts see the same columns.
    return pd.DataFrame(clean, columns=list(columns), dtype=object), runs


# --- redaction -----------------------------------------------------------------------------


def _private_email(address: str) -> bool:
    domain = address.rsplit("@", 1)[-1].lower().rstrip(".")
    return domain in PUBLIC_MAIL_DOMAINS or domain.split(".")[0] in _PUBLIC_MAIL_NAMES


def redact_text(text: str) -> str:
    """`text` with card numbers masked, phones and private emails replaced."""
    text = mask_cards(text)
    # find_identifiers reports only the first place of each value: repeat until none is left.
    for _ in range(1000):
        spans = sorted(
            (i.start, i.end, PHONE_MASK if i.kind == "phone" else EMAIL_MASK)
            for i in find_identifiers(text)
            if i.start >= 0 and (i.kind == "phone" or (i.kind == "email" and _private_email(i.value)))
        )
        if not spans:
            break
        for start, end, mask in reversed(spans):
            text = text[:start] + mask + text[end:]
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value) if any(c.isdigit() or c == "@" for c in value) else value
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    return value


# --- the codebook sheet --------------------------------------------------------------------

_VERDICT_DOCS = {
    "direction": ("choice", "the engine's direction: who serves whom", ("C2C", "G2C", "C2G")),
    "mode": ("choice", "the engine's co-production phase (Linders 2012)", ("co-design", "co-delivery", "co-monitoring")),
    "in_region": ("boolean", "the page names a place of the study region (or its source's region)", ()),
    "in_window": ("boolean", "the page's date is not known to be outside the study window", ()),
    "places": ("list", "names of the study-region places the page names", ()),
    "place_codes": ("list", "KATOTTG codes of those places", ()),
    "identifiers": ("list", "kind:value identifiers found on the page (cards masked)", ()),
    "ict": ("list", "ICT channels the page mentions", ()),
    "reasons": ("list", "the engine's reasons for its verdict", ()),
    "event_date": ("date", "the page's date: metadata, else found in the text", ()),
    "score": ("number", "the relevance score", ()),
}
COLUMN_DOCS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    **_VERDICT_DOCS,
    "url": ("text", "canonical URL of the page", ()),
    "source": ("text", "the source (seeds.yaml name)", ()),
    "source_kind": ("choice", "the source's kind", SOURCE_KINDS),
    "kind": ("choice", "the source's kind", SOURCE_KINDS),
    "language": ("choice", "detected language", ("uk", "ru", "en", "mixed", "und")),
    "title": ("text", "page title", ()),
    "published": ("date", "publication date from the page's metadata", ()),
    "flagged": ("boolean", "the engine flagged the page as a likely case", ()),
    "drop_reason": ("text", "why the page was dropped (http_404, not_html, empty_extraction, ...); empty when kept", ()),
    "drop_detail": ("text", "detail of the drop", ()),
    "http_status": ("integer", "HTTP status of the fetch", ()),
    "content_type": ("text", "Content-Type of the response", ()),
    "encoding": ("text", "character encoding of the response", ()),
    "duplicate_of": ("text", "URL of the earlier page with the same text", ()),
    "first_seen": ("datetime", "first crawl that saw it (UTC)", ()),
    "last_seen": ("datetime", "last crawl that saw it (UTC)", ()),
    "fetched_url": ("text", "URL as fetched", ()),
    "text": ("text", "main text (redacted unless the export says otherwise)", ()),
    "candidate_id": ("integer", "candidate id", ()),
    "status": ("choice", "screening status derived from the decision log", CANDIDATE_STATUSES),
    "flagged_at": ("datetime", "when the page became a candidate (UTC)", ()),
    "case_id": ("integer", "case id", ()),
    "name": ("text", "case name", ()),
    "place_names": ("list", "names of the case's places: its coded place, else the places its evidence names", ()),
    "settlement_codes": ("list", "KATOTTG code of each place when it is a settlement (empty for a hromada, raion or oblast)", ()),
    "hromadas": ("list", "hromada of each place", ()),
    "hromada_codes": ("list", "KATOTTG code of each place's hromada", ()),
    "raions": ("list", "raion of each place", ()),
    "raion_codes": ("list", "KATOTTG code of each place's raion", ()),
    "oblasts": ("list", "oblast of each place", ()),
    "oblast_codes": ("list", "KATOTTG code of each place's oblast", ()),
    "evidence_urls": ("list", "URLs of the candidate pages that are evidence of the case", ()),
    "evidence_published": ("list", "publication (else event) date of each evidence page, in the same order", ()),
    "evidence_captures": ("list", "capture of each evidence page as it was screened: the version the decision was made on, the run that last saw it, when, the URL fetched, and that version's WARC record and capture time", ()),
    "evidence_count": ("integer", "number of evidence pages", ()),
    "coded_by": ("list", "analysts who coded the case", ()),
    "screened_by": ("list", "analysts who attached evidence to the case", ()),
    "created_at": ("datetime", "when the row was created (UTC)", ()),
    "decision_id": ("integer", "decision id (the log's order)", ()),
    "user": ("text", "analyst who made the decision", ()),
    "decision": ("choice", "the act", DECISIONS),
    "note": ("text", "the analyst's note", ()),
    "fields": ("json", "the decision's fields: mode given with a screening decision, outcome of a resolution, or the case's coded fields", ()),
    "candidate_url": ("text", "URL of the candidate the decision is about", ()),
    "candidate_status": ("choice", "that candidate's current status", CANDIDATE_STATUSES),
    "region": ("text", "the source's region", ()),
    "language_hint": ("text", "the source's language in seeds.yaml", ()),
    "enabled": ("boolean", "the source is crawled", ()),
    "start_urls": ("list", "start URLs", ()),
    "allowed_domains": ("list", "allowed domains", ()),
    "pages": ("integer", "pages stored from the source", ()),
    "pages_kept": ("integer", "pages kept (not dropped)", ()),
    "pages_dropped": ("integer", "pages dropped, with a reason", ()),
    "pages_flagged": ("integer", "pages flagged", ()),
    "candidates": ("integer", "candidates", ()),
    "candidates_included": ("integer", "candidates screened in", ()),
    "cases": ("integer", "open cases the source's pages are evidence of", ()),
}


def codebook_frame(what: str, columns: Sequence[str], codebook: Codebook, exclude_reasons: Sequence[str] = ()) -> pd.DataFrame:
    """One row per column of the table: type, definition and allowed values."""
    fields = {f.name: f for f in codebook.fields} if what == "cases" else {}
    rows = []
    for column in columns:
        if column in fields:
            field = fields[column]
            kind = "list" if field.type == "multi" else field.type
            definition = field.label + (f": {field.help}" if field.help else "") + " (codebook field)"
            values: tuple[str, ...] = field.values
        elif column == "reason":
            kind, definition, values = "choice", "exclusion reason (exclude decisions only)", tuple(exclude_reasons)
        elif column == "mode" and what in ("decisions",):
            kind, definition, values = "choice", "mode the analyst gave with the decision", COLUMN_DOCS["mode"][2]
        else:
            kind, definition, values = COLUMN_DOCS.get(column, ("text", column, ()))
        rows.append({"table": what, "column": column, "type": kind, "definition": definition, "allowed_values": LIST_SEPARATOR.join(values)})
    return pd.DataFrame(rows, columns=["table", "column", "type", "definition", "allowed_values"])


# --- writing -------------------------------------------------------------------------------


def _sha256(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_table(
    engine: Engine,
    what: str,
    fmt: str,
    out: Path,
    *,
    config: Config | None = None,
    filters: ExportFilters = ExportFilters(),
    redact: bool = True,
    user: str | None = None,
    password: str | None = None,
) -> int:
    """Write one table to `out` in `fmt` and its metadata to `<out>.meta.json`; return the
    number of rows written. Without redaction, `user` and `password` must be those of an
    admin of the catalogue."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    if not redact:
        check_admin(engine, user, password, f"--no-redact (an unredacted export of {what})")
    frame, runs = _table(engine, what, config, filters, redact)
    codebook, _ = _codebook_of(config)
    private_file(out)
    sheets = {what: len(frame)}
    if fmt == "json":
        frame.to_json(out, orient="records", force_ascii=False, indent=1, date_format="iso")
    elif fmt == "parquet":
        frame.to_parquet(out, index=False)
    elif fmt == "csv":
        _flat(frame).to_csv(out, index=False, encoding="utf-8", lineterminator="\n")
    else:
        reasons = config.review.exclude_reasons if config is not None else ()
        book = codebook_frame(what, list(frame.columns), codebook, reasons)
        with pd.ExcelWriter(out, engine="openpyxl") as writer:
            _xlsx_safe(_flat(frame)).to_excel(writer, sheet_name=what, index=False)
            _xlsx_safe(book).to_excel(writer, sheet_name="codebook", index=False)
        sheets["codebook"] = len(book)
    write_meta(engine, out, what, fmt, runs, config=config, filters=filters, redact=redact, user=user, rows=sheets)
    record_export(engine, what, fmt, out, redact, None if redact else user, sheets)
    return len(frame)


def check_admin(engine: Engine, user: str | None, password: str | None, what: str) -> None:
    """BadInput unless `user` is an active admin and `password` its password; a refusal is
    audited (and committed, although the export stops)."""
    with Session(engine) as session:
        try:
            authenticate_admin(session, user, password, what)
        finally:
            session.commit()


def record_export(engine: Engine, what: str, fmt: str, out: Path, redact: bool, admin: str | None, rows: dict[str, int]) -> None:
    with Session(engine) as session, session.begin():
        audit.record(session, "export", admin, None, table=what, format=fmt, file=out.name, redacted=redact, rows=rows, os_user=_os_user())


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def private_file(path: Path) -> None:
    """Create (or empty) `path` readable and writable by its owner only, its folder made 0700
    when it is new; writers that open it afterwards keep that mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)


def write_meta(
    engine: Engine,
    out: Path,
    what: str,
    fmt: str,
    runs: list[int],
    *,
    config: Config | None,
    filters: ExportFilters,
    redact: bool,
    user: str | None,
    rows: dict[str, int],
) -> Path:
    """`<out>.meta.json`: version, study file and codebook hashes, runs, filters, counts."""
    _, codebook_path = _codebook_of(config)
    with Session(engine) as session:
        run_info = [
            {
                "id": run.id,
                "spider": run.spider,
                "started_at": run.started_at.isoformat(timespec="seconds") if run.started_at else None,
                "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
                "status": run.status,
                "seeds_sha256": run.seeds_sha256,
            }
            for run in session.scalars(select(Run).where(Run.id.in_(runs)).order_by(Run.id))
        ]
    meta = {
        "coprod_version": coprod_version,
        "table": what,
        "format": fmt,
        "file": out.name,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seeds_file": str(config.path) if config is not None else None,
        "seeds_sha256": _sha256(config.path) if config is not None else None,
        "codebook_file": str(codebook_path),
        "codebook_sha256": _sha256(codebook_path),
        "run_ids": runs,
        "runs": run_info,
        "filters": filters.given(),
        "redaction": {"on": redact, "by": None if redact else user},
        "rows": rows,
    }
    meta_path = out.with_name(out.name + ".meta.json")
    private_file(meta_path)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return meta_path


def _xlsx_safe(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(lambda v: _ILLEGAL_XML.sub("", v) if isinstance(v, str) else v)


def neutralise(value: str) -> str:
    """A text cell a spreadsheet shows as text: a bare CR becomes a line feed (inside a
    quoted field, not a new row), and a cell that starts with = + - @ or a control
    character, even after blanks, is prefixed with an apostrophe."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if (value and value[0] in _CONTROL) or value.lstrip(_LEADING_JUNK).startswith(_FORMULA_START):
        return "'" + value
    return value


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    def cell(value: Any) -> Any:
        if isinstance(value, list):
            value = LIST_SEPARATOR.join(map(str, value))
        return neutralise(value) if isinstance(value, str) else value

    return frame.map(cell)
