"""Catalogue exports (issue 6): cases, candidates, decisions, sources and pages in CSV, XLSX,
JSON and Parquet, with redaction, filters, a codebook sheet and metadata."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.core.config import load_config
from review.codebook import load_codebook
from storage.db import open_catalogue
from storage.models import Page
from tests.conftest import DEMO_SEEDS, MANIFEST, PASSWORD, run_coprod

pytestmark = pytest.mark.e2e


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def export(url: str, what: str, fmt: str, out: Path, *extra: str, env: dict[str, str] | None = None):
    result = run_coprod("export", "--seeds", str(DEMO_SEEDS), "--db", url, "--what", what, "--format", fmt, "--out", str(out), *extra, env=env)
    return result


def read(path: Path) -> pd.DataFrame:
    fmt = path.suffix.lstrip(".")
    if fmt == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if fmt == "xlsx":
        return pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)  # type: ignore[return-value]
    if fmt == "json":
        return pd.read_json(path, orient="records", dtype=False)
    return pd.read_parquet(path)


def test_cases_in_every_format_hold_the_same_rows_and_xlsx_defines_every_column(screened, tmp_path: Path) -> None:
    frames = {}
    for fmt in ("csv", "xlsx", "json", "parquet"):
        out = tmp_path / f"cases.{fmt}"
        result = export(screened, "cases", fmt, out)
        assert result.returncode == 0, result.stderr
        frames[fmt] = read(out)
        meta = json.loads(out.with_name(out.name + ".meta.json").read_text(encoding="utf-8"))
        assert meta["table"] == "cases" and meta["redaction"] == {"on": True, "by": None}
        assert meta["run_ids"] and len(meta["seeds_sha256"]) == 64 and len(meta["codebook_sha256"]) == 64
        assert meta["coprod_version"] and meta["exported_at"].endswith("+00:00")
    book = frames["xlsx"]
    assert set(book) == {"cases", "codebook"}
    cases, codebook_sheet = book["cases"], book["codebook"]
    assert list(codebook_sheet["column"]) == list(cases.columns)
    assert codebook_sheet["definition"].str.len().min() > 0
    modes = codebook_sheet.set_index("column").loc["mode", "allowed_values"]
    assert modes == "co-design; co-delivery; co-monitoring"
    # every codebook field is a column
    codebook = load_codebook(load_config(DEMO_SEEDS).codebook_path)
    assert {f.name for f in codebook.fields} <= set(cases.columns)
    assert {"place_names", "hromada_codes", "raion_codes", "oblast_codes", "evidence_urls", "evidence_published", "first_seen", "last_seen", "coded_by"} <= set(cases.columns)

    csv, js, pq = frames["csv"], frames["json"], frames["parquet"]
    assert len(csv) >= 3
    assert list(csv.columns) == list(js.columns) == list(pq.columns) == list(cases.columns)
    ids = [int(x) for x in csv["case_id"]]
    assert ids == [int(x) for x in js["case_id"]] == [int(x) for x in pq["case_id"]] == [int(x) for x in cases["case_id"]]
    assert list(csv["name"]) == list(js["name"]) == list(pq["name"]) == list(cases["name"].str.removeprefix("'"))
    # multi-valued fields: lists in JSON and Parquet, joined in CSV
    for i in range(len(csv)):
        assert isinstance(js["ict_channels"][i], list)
        assert "; ".join(js["ict_channels"][i]) == csv["ict_channels"][i] == "; ".join(pq["ict_channels"][i])
        assert "; ".join(js["evidence_urls"][i]) == csv["evidence_urls"][i]
        assert js["coded_by"][i] == ["ana"]
    assert any(codes for codes in js["oblast_codes"])


@pytest.mark.parametrize("what", ["cases", "candidates", "decisions", "sources", "pages"])
def test_every_table_exports_in_every_format(screened, tmp_path: Path, what: str) -> None:
    lengths = set()
    for fmt in ("csv", "json", "parquet", "xlsx"):
        out = tmp_path / f"{what}.{fmt}"
        result = export(screened, what, fmt, out)
        assert result.returncode == 0, result.stderr
        frame = read(out)
        frame = frame[what] if fmt == "xlsx" else frame
        lengths.add(len(frame))
    assert len(lengths) == 1 and lengths.pop() > 0


def _manifest_pii() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"phones": [], "emails": [], "cards": []}
    for entry in MANIFEST["pages"].values():
        for kind, values in (entry.get("pii") or {}).items():
            found[kind].extend(values)
    return found


def _cells(path: Path) -> list[str]:
    fmt = path.suffix.lstrip(".")
    if fmt in ("csv", "json"):
        return [path.read_text(encoding="utf-8")] if fmt == "json" else list(pd.read_csv(path, dtype=str, keep_default_na=False).to_numpy().ravel())
    frames = read(path)
    frames = list(frames.values()) if isinstance(frames, dict) else [frames]
    cells = []
    for frame in frames:
        for value in frame.to_numpy().ravel():
            cells.extend(map(str, value) if hasattr(value, "__len__") and not isinstance(value, str) else [str(value)])
    return cells


def test_no_fixture_pii_survives_a_default_export(screened, tmp_path: Path) -> None:
    pii = _manifest_pii()
    assert pii["phones"] and pii["emails"] and pii["cards"]
    phones = {_digits(p)[-9:] for p in pii["phones"]}  # the subscriber part, whatever the prefix
    cards = {_digits(c) for c in pii["cards"]}
    emails = {e.lower() for e in pii["emails"]} | {"someone.private@gmail.com"}
    for what in ("pages", "candidates", "cases", "decisions"):
        for fmt in ("csv", "json", "parquet", "xlsx"):
            out = tmp_path / f"{what}.{fmt}"
            assert export(screened, what, fmt, out).returncode == 0
            for cell in _cells(out):
                digits, low = _digits(cell), cell.lower()
                for phone in phones:
                    assert phone not in digits, (what, fmt, phone)
                for card in cards:
                    assert card not in digits, (what, fmt, card)
                for email in emails:
                    assert email not in low, (what, fmt, email)
    # ...while the unredacted export (by an admin) still has them, so the test can fail
    out = tmp_path / "raw.csv"
    result = export(screened, "pages", "csv", out, "--no-redact", "--user", "ada", env={"COPROD_ADMIN_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr
    raw = out.read_text(encoding="utf-8")
    assert any(email in raw.lower() for email in emails)
    assert any(phone in _digits(raw) for phone in phones)
    meta = json.loads(out.with_name("raw.csv.meta.json").read_text(encoding="utf-8"))
    assert meta["redaction"] == {"on": False, "by": "ada"}


def test_no_redact_is_refused_without_an_admin(screened, tmp_path: Path) -> None:
    out = tmp_path / "cases.csv"
    for extra in (("--no-redact",), ("--no-redact", "--user", "ana"), ("--no-redact", "--user", "nobody"), ("--no-redact", "--user", "ada")):
        # ada is an admin, but the password given is not hers (and the others are no admins).
        result = export(screened, "cases", "csv", out, *extra, env={"COPROD_ADMIN_PASSWORD": "not the password at all"})
        assert result.returncode == 2, (extra, result.stderr)
        assert "--no-redact" in result.stderr and "admin" in result.stderr
        assert not out.exists()


def test_filters_compose(screened, tmp_path: Path) -> None:
    def rows(what: str, *extra: str) -> pd.DataFrame:
        out = tmp_path / f"{what}-{len(list(tmp_path.iterdir()))}.json"
        result = export(screened, what, "json", out, *extra)
        assert result.returncode == 0, result.stderr
        meta = json.loads(out.with_name(out.name + ".meta.json").read_text(encoding="utf-8"))
        frame = read(out)
        assert meta["rows"]["cases" if what == "cases" else what] == len(frame)
        return frame

    candidates = rows("candidates")
    included = rows("candidates", "--status", "include")
    assert 0 < len(included) < len(candidates) and set(included["status"]) == {"include"}
    modes = included["mode"].dropna()
    mode = modes.mode()[0]
    both = rows("candidates", "--status", "include", "--mode", mode)
    assert 0 < len(both) <= len(included)
    assert set(both["candidate_id"]) == set(included[included["mode"] == mode]["candidate_id"])

    cases = rows("cases")
    place = next(p for names in cases["place_names"] for p in names if p)
    in_place = rows("cases", "--place", place)
    assert 0 < len(in_place) <= len(cases)
    assert set(in_place["case_id"]) <= set(cases["case_id"])
    dates = sorted(d for ds in cases["evidence_published"] for d in ds if d)
    since = dates[len(dates) // 2]
    later = rows("cases", "--since", since)
    assert 0 < len(later) <= len(cases)
    composed = rows("cases", "--since", since, "--place", place)
    assert set(composed["case_id"]) <= set(later["case_id"]) & set(in_place["case_id"])
    oblast = next(code for codes in cases["oblast_codes"] for code in codes if code)
    assert len(rows("cases", "--place", oblast)) == len(cases[[bool(any(codes)) for codes in cases["oblast_codes"]]])
    excluded = rows("decisions", "--status", "exclude")
    assert len(excluded) > 0 and set(excluded["decision"]) == {"exclude"}
    # a filter on a table it does not apply to is bad input
    result = export(screened, "sources", "csv", tmp_path / "s.csv", "--mode", "co-delivery")
    assert result.returncode == 2 and "--mode does not apply to sources" in result.stderr


def test_csv_is_byte_identical_on_rerun(screened, tmp_path: Path) -> None:
    for what in ("cases", "candidates", "decisions", "sources", "pages"):
        first, second = tmp_path / f"{what}-1.csv", tmp_path / f"{what}-2.csv"
        assert export(screened, what, "csv", first).returncode == 0
        assert export(screened, what, "csv", second).returncode == 0
        assert first.read_bytes() == second.read_bytes(), what


def test_sources_have_yields(screened, tmp_path: Path) -> None:
    out = tmp_path / "sources.json"
    assert export(screened, "sources", "json", out).returncode == 0
    sources = read(out)
    assert sources["pages"].sum() >= sources["candidates"].sum() > 0
    assert sources["cases"].sum() > 0
    engine = open_catalogue(screened)
    with Session(engine) as session:
        assert sources["pages"].sum() == len(list(session.scalars(select(Page.id))))
    engine.dispose()
