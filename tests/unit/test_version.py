"""The package's version is the one pyproject.toml declares."""

import tomllib
from pathlib import Path

import vsm


def test_version_matches_pyproject():
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert vsm.__version__ == pyproject["project"]["version"]
