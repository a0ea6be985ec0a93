"""Shared fixtures and helpers for the vsm test suite."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
import yaml

from vsm.rules import RuleSet, load_rules

REPO_DIR = Path(__file__).resolve().parents[1]
RULES_DIR = REPO_DIR / "params" / "rules"
EXAMPLES_DIR = REPO_DIR / "params" / "examples"
SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"
SEEDS_DIR = SHARED_DIR / "seeds"

COUNT_COLUMNS = ["patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured"]


# --------------------------------------------------------------------------- text


def norm(text: str) -> str:
    """French formatted text → plain spaces: U+202F (thousands) and U+00A0 (before € / %)."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")


# --------------------------------------------------------------------------- money


def eur(value: str | int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def round_half_up_cent(amount: Fraction) -> Decimal:
    """Exact rational euros → Decimal euros rounded once to the cent, half up (amount ≥ 0)."""
    cents = amount * 100
    rounded = (cents + Fraction(1, 2)).__floor__()
    return Decimal(rounded).scaleb(-2)


# --------------------------------------------------------------------------- counts


def counts(*rows, **columns) -> pd.DataFrame:
    """Counts table builder.

    ``counts((mt, ald, fed, structured), ...)`` gives ps_id = ps1, ps2, … ;
    a row may also be a 5-tuple starting with its ps_id, or a dict.
    ``counts(ps_id=[...], patients_mt=[...], ...)`` builds from columns.
    """
    if columns:
        return pd.DataFrame(columns)
    records = []
    for i, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            records.append({"ps_id": f"ps{i}", **row})
        elif len(row) == 5:
            records.append(dict(zip(["ps_id", *COUNT_COLUMNS], row)))
        else:
            records.append(dict(zip(["ps_id", *COUNT_COLUMNS], [f"ps{i}", *row])))
    return pd.DataFrame(records, columns=["ps_id", *COUNT_COLUMNS])


def one(results: pd.DataFrame, ps_id: str | None = None) -> pd.Series:
    """The single (or named) row of a results table."""
    if ps_id is None:
        assert len(results) == 1
        return results.iloc[0]
    match = results[results["ps_id"] == ps_id]
    assert len(match) == 1, f"{ps_id} not found exactly once"
    return match.iloc[0]


# --------------------------------------------------------------------------- synthetic data


def synth_scale(name: str = "demo") -> dict:
    """A scale of params/synth.yml (« medecins », « centres »… of ``vsm synth --scale NAME``),
    read from the file itself: the tests derive the expected sizes from it."""
    data = yaml.safe_load((REPO_DIR / "params" / "synth.yml").read_text(encoding="utf-8"))
    return dict(data["scales"][name])


# --------------------------------------------------------------------------- rule sets


def rules_yaml(rule_id: str = "medecins-2024") -> dict:
    """The raw YAML of a shipped rule set, as a fresh dict."""
    return copy.deepcopy(yaml.safe_load((RULES_DIR / f"{rule_id}.yml").read_text(encoding="utf-8")))


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def medecins_2024() -> RuleSet:
    return load_rules("medecins-2024")


@pytest.fixture(scope="session")
def medecins_2023() -> RuleSet:
    return load_rules("medecins-2023")


@pytest.fixture(scope="session")
def centres_2024() -> RuleSet:
    return load_rules("centres-sante-2024")


@pytest.fixture
def rules(medecins_2024) -> RuleSet:
    return medecins_2024


@pytest.fixture
def variant(tmp_path):
    """variant(mutate, name=...) → path of a copy of medecins-2024.yml changed by ``mutate(dict)``."""

    def make(mutate=None, name: str = "variante.yml", base: str = "medecins-2024") -> Path:
        data = rules_yaml(base)
        if mutate is not None:
            mutate(data)  # changes ``data`` in place (its return value is ignored)
        return write_yaml(tmp_path / name, data)

    return make


def files_in(folder: Path) -> list[Path]:
    """Every file (hidden ones included) under ``folder``, or [] if it does not exist."""
    if not folder.exists():
        return []
    return [p for p in folder.rglob("*") if p.is_file()]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", norm(text)).strip()


# --------------------------------------------------------------------------- errors


def refused(call, *fragments: str) -> str:
    """The French message of the VsmError that ``call()`` raises; each fragment must be in it."""
    from vsm.errors import VsmError

    with pytest.raises(VsmError) as caught:
        call()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def executed_without_kernel(job):
    """Stand-in for vsm.batch.execute: writes an empty notebook where the job's output goes
    and reports success, so that a batch runs its bookkeeping without starting kernels."""
    from vsm import batch

    job.output.parent.mkdir(parents=True, exist_ok=True)
    job.output.write_text("{}", encoding="utf-8")
    return batch.JobResult(job, None, 0.0)


# --------------------------------------------------------------------------- kinds of tests

KINDS = {
    "unit": "unit tests of one module",
    "cases": "the note's worked examples and hand-built cases of the rule",
    "backtests": "results recomputed independently (oracle, demo batch from the raw extracts)",
    "reports": "executed, rendered and installed notebooks (slow)",
}


def pytest_collection_modifyitems(config, items):
    """tests/reports/ is marked ``slow`` (``pytest -m "not slow"`` for a quick run)."""
    for item in items:
        parts = Path(str(item.fspath)).resolve().relative_to(REPO_DIR / "tests").parts
        if parts and parts[0] == "reports":
            item.add_marker(pytest.mark.slow)
