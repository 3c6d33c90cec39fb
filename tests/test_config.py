"""seeds.yaml validation: one clear line naming file, line and field; exit code 2; nothing fetched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.core.config import load_config
from crawler.core.errors import ConfigError
from tests.conftest import DEMO_SEEDS, run_coprod

GOOD = """\
version: 1
study:
  region: Dnipropetrovsk oblast
  region_code: UA12000000000090473
  window: {start: 2022-02-24, end: 2023-12-31}
crawl:
  depth: 2
  delay: 1.5
  user_agent: "coprod-test (+mailto:team@example.org)"
lexicon: [builtin:coproduction]
sources:
  - name: council
    kind: council
    start_urls: [http://dniprorada.test/]
  - name: hub
    kind: volunteer_hub
    start_urls: [http://volonter-hub.test/]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "seeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_loads_with_defaults_and_derived_domains(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.crawl.depth == 2 and config.crawl.delay == 1.5
    assert config.crawl.pages_per_source == 500  # default
    assert config.source("hub").domains == ("volonter-hub.test",)
    assert config.lexicon_paths[0].name == "coproduction.yaml"
    assert len(config.sha256) == 64


def test_shipped_study_files_are_valid() -> None:
    root = Path(__file__).resolve().parents[1]
    assert load_config(root / "seeds.yaml").sources
    assert load_config(DEMO_SEEDS).sources


@pytest.mark.parametrize(
    ("change", "line", "field", "message"),
    [
        (("  delay: 1.5", "  dealy: 1.5"), 8, "crawl.dealy", "unknown field 'dealy' (did you mean 'delay'?)"),
        (("  depth: 2", "  depth: two"), 7, "crawl.depth", "expected a whole number (got 'two')"),
        (("    start_urls: [http://volonter-hub.test/]", "    start_urls: []"), 17, "sources[1].start_urls", "expected at least one start URL, feed or sitemap"),
        (("    start_urls: [http://volonter-hub.test/]\n", ""), 15, "sources[1].start_urls", "expected at least one start URL, feed or sitemap"),
        (("    kind: council", "    kind: town-hall"), 13, "sources[0].kind", "expected 'news', 'council'"),
        (("    start_urls: [http://dniprorada.test/]", "    start_urls: [dniprorada.test]"), 14, "sources[0].start_urls", "expected an http(s) URL"),
        (("  - name: hub", "  - name: council"), 15, "sources[1].name", "duplicate source name 'council'"),
        (("  depth: 2\n", "  depth: 2\n  depth: 3\n"), 8, "crawl.depth", "appears twice"),
        (("window: {start: 2022-02-24, end: 2023-12-31}", "window: {start: 2022-02-24, end: 2021-12-31}"), 5, "study.window", "before its start"),
        (('  user_agent: "coprod-test (+mailto:team@example.org)"', "  user_agent: coprod"), 9, "crawl.user_agent", "with a contact"),
        (("lexicon: [builtin:coproduction]", "lexicon: [missing.yaml]"), 10, "lexicon[0]", "file not found"),
        (("  region_code: UA12000000000090473", "  region_code: UA1200"), 4, "study.region_code", "expected text matching the pattern '^UA\\d{17}$'"),
        (("  delay: 1.5", "  frontier: http://redis.lan:6379/0"), 8, "crawl.frontier", "expected a redis:// URL"),
    ],
    ids=["typo", "wrong-type", "no-urls", "urls-missing", "bad-kind", "bad-url", "duplicate-name", "duplicate-key", "window", "user-agent", "lexicon", "region-code", "frontier"],
)
def test_bad_file_names_file_line_and_field(tmp_path: Path, change: tuple[str, str], line: int, field: str, message: str) -> None:
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    text = str(error)
    assert "\n" not in text
    assert text.startswith(f"{path}:{line}: {field}: "), text
    assert message in text


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("  depth: 2", "  depth: [2"))
    with pytest.raises(ConfigError, match=re.escape(f"{path}:") + r"\d+: YAML syntax error"):
        load_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [("  delay: 1.5", "  dealy: 1.5", "crawl.dealy"), ("  depth: 2", "  depth: two", "crawl.depth"), ("    start_urls: [http://volonter-hub.test/]", "    start_urls: []", "sources[1].start_urls")],
    ids=["typo", "wrong-type", "no-urls"],
)
def test_crawl_with_bad_file_exits_2_and_fetches_nothing(sample_web, tmp_path: Path, old: str, new: str, field: str) -> None:
    path = write(tmp_path, GOOD.replace(old, new, 1))
    before = sum(sample_web.hits().values())
    result = run_coprod("crawl", "--seeds", str(path), "--db", f"sqlite:///{tmp_path / 'c.sqlite'}", "--proxy", sample_web.proxy_url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"coprod: error: {path}:") and field in lines[0], result.stderr
    assert sum(sample_web.hits().values()) == before
    assert not (tmp_path / "c.sqlite").exists()


def test_unknown_source_name_is_bad_input(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = run_coprod("crawl", "--seeds", str(path), "--db", f"sqlite:///{tmp_path / 'c.sqlite'}", "--source", "hubb")
    assert result.returncode == 2
    assert "no source named 'hubb' (did you mean 'hub'?)" in result.stderr


def test_environment_variable_is_used_when_no_flag(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("  depth: 2", "  depth: two"))
    result = run_coprod("crawl", env={"COPROD_SEEDS": str(path)})
    assert result.returncode == 2 and str(path) in result.stderr


SCHEDULED = GOOD.replace("sources:\n", 'schedule:\n  cron: "0 3 * * *"\n  revisit: {news: 1d}\n  sooner_with_included: 0.5\nsources:\n', 1).replace(
    "    kind: council\n", "    kind: council\n    revisit: 12h\n", 1
)


def test_schedule_defaults_keep_files_without_it_valid(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.schedule.cron == "0 3 * * *"
    assert (config.schedule.revisit.news, config.schedule.revisit.council, config.schedule.revisit.telegram) == ("1d", "7d", "6h")
    assert config.source("council").revisit is None


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "message"),
    [
        ("revisit: {news: 1d}", "revisit: {news: 1x}", 13, "schedule.revisit.news", "expected a duration such as 30m, 6h, 1d or 2w (got '1x')"),
        ("revisit: {news: 1d}", "revisit: {newz: 1d}", 13, "schedule.revisit.newz", "unknown field 'newz' (did you mean 'news'?)"),
        ('cron: "0 3 * * *"', 'cron: "0 24 * * *"', 12, "schedule.cron", "cron hour: 24 is outside 0-23"),
        ("sooner_with_included: 0.5", "sooner_with_included: 2", 14, "schedule.sooner_with_included", "less than or equal to 1"),
        ("    revisit: 12h", "    revisit: 12 hours", 18, "sources[0].revisit", "expected a duration"),
    ],
    ids=["bad-duration", "unknown-kind", "bad-cron", "factor", "source-revisit"],
)
def test_bad_schedule_names_file_line_and_field(tmp_path: Path, old: str, new: str, line: int, field: str, message: str) -> None:
    assert load_config(write(tmp_path, SCHEDULED)).source("council").revisit == "12h"
    assert old in SCHEDULED
    path = write(tmp_path, SCHEDULED.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:{line}: {field}: "), str(caught.value)
    assert message in str(caught.value)


def test_schedule_with_bad_duration_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, SCHEDULED.replace("    revisit: 12h", "    revisit: soon", 1))
    result = run_coprod("schedule", "--dry-run", "--seeds", str(path), "--db", f"sqlite:///{tmp_path / 'c.sqlite'}")
    assert result.returncode == 2
    assert result.stderr.strip() == f"coprod: error: {path}:18: sources[0].revisit: expected a duration such as 30m, 6h, 1d or 2w (got 'soon')"
