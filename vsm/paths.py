"""Where the project's data files live (params/, notebooks/), in a checkout or installed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
# An installed wheel carries params/ and notebooks/ as vsm/_project/ (setup.py); a checkout
# (editable install, tests) reads the folders beside the package. One lookup, used by all.
_SHIPPED_DIR = PACKAGE_DIR / "_project"
PROJECT_DIR = _SHIPPED_DIR if (_SHIPPED_DIR / "params").is_dir() else PACKAGE_DIR.parent
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"


def params_dir() -> Path:
    """The params/ folder: VSM_PARAMS overrides, else the one beside the package."""
    override = os.environ.get("VSM_PARAMS")
    return Path(override) if override else PROJECT_DIR / "params"


def rules_dir() -> Path:
    return params_dir() / "rules"


def schemas_dir() -> Path:
    return params_dir() / "schemas"


# libyaml's parser when the wheel has it (ten times faster), same safe constructors
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Parse YAML with the safe loader (C implementation when available)."""
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 — a safe loader
