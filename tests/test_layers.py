"""The layers hold: the import contract of pyproject.toml, and commands that start light."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sklearn", "pandas", "trafilatura", "scrapy", "twisted", "matplotlib")


def test_the_import_contract_is_kept() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency (pip install -e '.[test]')"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "Layers" in result.stdout


def loaded_after(code: str) -> list[str]:
    """The heavy packages in sys.modules after running `code` in a fresh interpreter."""
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("command", ["serve", "status"])
def test_light_commands_start_without_the_crawler_or_the_model(command: str) -> None:
    code = (
        "from crawler.app.cli import main\n"
        "try:\n"
        f"    main([{command!r}, '--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code"
    )
    loaded = loaded_after(code)
    assert not {"sklearn", "pandas", "trafilatura"} & set(loaded), loaded


def test_the_review_app_imports_without_the_crawler_the_model_or_pandas() -> None:
    assert loaded_after("import review.app") == []


def test_the_probe_sees_a_heavy_import() -> None:
    # The check above could fail: a module that does load them is seen.
    assert {"scrapy", "trafilatura"} <= set(loaded_after("import pipelines.chain, spiders.site"))
