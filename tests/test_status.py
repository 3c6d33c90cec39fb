"""`coprod status` per source: last run, pages, new pages, errors by kind, and a warning when a
source that yielded pages now answers only errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.conftest import FIXTURE_WEB, run_coprod, web_server, write_study

SOURCES = """\
  - name: small
    kind: news
    start_urls: [http://small.test/]
"""


def source_line(status_output: str, name: str) -> str:
    """The source's row of the sources table (source, last_run, when, outcome, pages, new, versions, errors, crawling)."""
    section = status_output.split("\nsources\n", 1)[1].split("\n\n", 1)[0]
    return next(line.strip() for line in section.splitlines() if line.strip().startswith(name + " "))


def test_status_flags_a_source_whose_pages_turned_to_500s(tmp_path: Path) -> None:
    web_root = tmp_path / "web"
    shutil.copytree(FIXTURE_WEB / "small.test", web_root / "small.test")
    seeds = write_study(tmp_path / "seeds.yaml", SOURCES)
    url = f"sqlite:///{tmp_path / 'catalogue.sqlite'}"
    with web_server(web_root) as web:
        crawl = ("crawl", "--seeds", str(seeds), "--db", url, "--proxy", web.proxy_url)
        first = run_coprod(*crawl)
        assert first.returncode == 0, first.stderr
        healthy = run_coprod("status", "--db", url)
        # The site breaks: every path answers 500 from now on (the server re-reads its spec).
        spec = web_root / "small.test" / "_site.yaml"
        spec.write_text(spec.read_text(encoding="utf-8") + 'status:\n  "*": 500\n', encoding="utf-8")
        second = run_coprod(*crawl)
        broken = run_coprod("status", "--db", url)

    # Every request of the second crawl failed: it says so, and fails.
    assert second.returncode == 1, second.stderr
    assert "WARN site: nothing fetched, every request failed (http_500: 1)" in second.stdout

    assert healthy.returncode == 0 and "WARN" not in healthy.stdout
    assert healthy.stdout.splitlines()[1].split() == ["run", "started", "finished", "outcome", "fetched", "stored", "dropped", "errors", "process", "crawl", "of", "run"]
    assert re.fullmatch(r"small +1 +\S+ +finished +6 +6 +6 +- +-", source_line(healthy.stdout, "small"))
    assert broken.returncode == 0, broken.stderr
    # Nothing new; the home page failed, so nothing else was reached.
    assert re.fullmatch(r"small +2 +\S+ +nothing_fetched +6 +0 +0 +http_500: 1 +-", source_line(broken.stdout, "small"))
    warnings = [line for line in broken.stdout.splitlines() if line.startswith("WARN")]
    assert warnings == ["WARN small: yielded pages before, but its last run (2) got only errors (http_500: 1)"]
    # The existing sections are still there.
    assert "pages per source" in broken.stdout and "dropped pages by reason" in broken.stdout
