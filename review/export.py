"""Exports of the catalogue through pandas: CSV, XLSX and JSON.

List-valued columns stay lists in JSON and are joined with "; " in CSV and XLSX. Text
cells that a spreadsheet would run as a formula (scraped titles are hostile input) are
prefixed with an apostrophe in CSV and XLSX.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.errors import BadInput
from storage.queries import CANDIDATE_COLUMNS, PAGE_COLUMNS, candidate_rows, page_rows

__all__ = ["FORMATS", "TABLES", "export_table", "table_frame"]

TABLES: dict[str, tuple[Callable[[Session], list[dict[str, Any]]], tuple[str, ...]]] = {
    "pages": (page_rows, PAGE_COLUMNS),
    "candidates": (candidate_rows, CANDIDATE_COLUMNS),
}
FORMATS = ("csv", "xlsx", "json")
LIST_SEPARATOR = "; "
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters that XML 1.0 (and so XLSX) cannot hold.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def table_frame(engine: Engine, what: str) -> pd.DataFrame:
    if what not in TABLES:
        raise BadInput(f"unknown table {what!r}; expected one of: {', '.join(TABLES)}")
    rows_of, columns = TABLES[what]
    with Session(engine) as session:
        rows = rows_of(session)
    # An empty table still gets its header, so downstream scripts see the same columns.
    return pd.DataFrame(rows, columns=list(columns))


def export_table(engine: Engine, what: str, fmt: str, out: Path) -> int:
    """Write one table to `out` in `fmt`; return the number of rows written."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}")
    frame = table_frame(engine, what)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        frame.to_json(out, orient="records", force_ascii=False, indent=1, date_format="iso")
    elif fmt == "csv":
        _flat(frame).to_csv(out, index=False, encoding="utf-8", lineterminator="\n")
    else:
        flat = _flat(frame).map(lambda v: _ILLEGAL_XML.sub("", v) if isinstance(v, str) else v)
        with pd.ExcelWriter(out, engine="openpyxl") as writer:
            flat.to_excel(writer, sheet_name=what, index=False)
    return len(frame)


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    def cell(value: Any) -> Any:
        if isinstance(value, list):
            value = LIST_SEPARATOR.join(map(str, value))
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            return "'" + value
        return value

    return frame.map(cell)
