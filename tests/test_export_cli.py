from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crawler.app.cli import build_parser
from tests.conftest import run_coprod


@pytest.mark.parametrize("command", ["crawl", "demo", "import", "rescore", "evaluate", "sources", "serve", "users", "learn", "simulate", "export", "status", "show"])
def test_every_command_has_help_with_examples(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"coprod {command}" in out and "--db" in out and "--seeds" in out
    assert "%(" not in out and "object at 0x" not in out


@pytest.mark.e2e
def test_candidates_csv_and_xlsx_read_back_with_the_same_rows(demo_crawl, tmp_path: Path) -> None:
    frames = {}
    for fmt in ("csv", "xlsx", "json"):
        out = tmp_path / f"candidates.{fmt}"
        result = run_coprod("export", "--db", demo_crawl.url, "--what", "candidates", "--format", fmt, "--out", str(out))
        assert result.returncode == 0, result.stderr
        frames[fmt] = pd.read_csv(out) if fmt == "csv" else pd.read_excel(out) if fmt == "xlsx" else pd.read_json(out)
    assert len(frames["csv"]) > 0
    assert frames["csv"]["url"].tolist() == frames["xlsx"]["url"].tolist() == frames["json"]["url"].tolist()
    assert frames["csv"]["title"].fillna("").tolist() == frames["xlsx"]["title"].fillna("").tolist()
    assert frames["csv"]["score"].tolist() == frames["xlsx"]["score"].tolist()


@pytest.mark.e2e
def test_pages_json_export_has_the_promised_columns(demo_crawl, tmp_path: Path) -> None:
    out = tmp_path / "pages.json"
    assert run_coprod("export", "--db", demo_crawl.url, "--what", "pages", "--format", "json", "--out", str(out)).returncode == 0
    pages = pd.read_json(out)
    assert {"url", "source", "language", "title", "published", "flagged"} <= set(pages.columns)
    assert pages["url"].is_unique


def test_export_of_a_missing_database_is_bad_input(tmp_path: Path) -> None:
    result = run_coprod("export", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}", "--what", "pages", "--out", str(tmp_path / "x.csv"))
    assert result.returncode == 2 and "no catalogue database" in result.stderr


def test_status_reports_runs_and_counts(demo_crawl) -> None:
    result = run_coprod("status", "--db", demo_crawl.url)
    assert result.returncode == 0, result.stderr
    assert "pages per source" in result.stdout and "dropped pages by reason" in result.stdout
    assert "http_404" in result.stdout
