"""pyproject.toml in the form setuptools installs without a warning banner (installing needs
the package index, so the test reads the file instead of running pip)."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_license_is_an_spdx_string_that_setuptools_reads_without_deprecation() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"  # a {text = ...} table is deprecated
    assert "setuptools>=77" in PYPROJECT["build-system"]["requires"]  # the first to read SPDX strings


def test_an_editable_install_is_a_plain_path_entry() -> None:
    # With the packages at the top and package-dir "" set, setuptools adds the project to
    # sys.path instead of installing a meta path finder, which it warns about.
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"": "."}
