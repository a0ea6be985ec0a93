"""The forfait structure's inputs: one row per professional, validated against a rule set.

Input rates are shares between 0 and 1 (« 0.72 » for 72 %), compared to the thresholds
exactly (never as floats): a rate is the decimal number it is written as
(:func:`rate_fractions` gives the exact rationals back). Bad input is an InputErrors naming
file, row and column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import MAX_LISTED_ERRORS
from ..ingest.inputs import (
    clean_ids,
    duplicate_problems,
    parse_counts_column,
    raise_if_problems,
    read_table,
    require_columns,
)
from ..paths import count_maximum
from ..regions import region_codes
from .rules import StructureRuleSet

STRUCTURE_SCHEMA = "forfait_structure"  # params/schemas/forfait_structure.schema.json
RATE_CONVENTION = "un taux s'écrit entre 0 et 1 (0.72 ou 0,72 pour 72 %)"
YES = {"oui", "true", "1"}
NO = {"non", "false", "0"}
MAX_RATE_DIGITS = 15


@dataclass(frozen=True)
class InputColumn:
    name: str
    kind: Literal["yesno", "rate", "count"]
    volet: int
    indicator: str
    empty_allowed: bool


def input_columns(rules: StructureRuleSet) -> list[InputColumn]:
    """The input columns a rule set reads, in rule-set order (besides ps_id and region).

    Yes/no and count cells must be filled; a volet 2 rate may be empty (no data: not met).
    """
    out = []
    for volet, ind in rules.indicators():
        for crit in [ind, *(ind.services or [])]:
            if crit.column is None:
                continue
            kind = {"declared": "yesno", "observed": "yesno", "rate": "rate", "count": "count"}[crit.kind]
            label = ind.label if crit is ind else f"{ind.label} — {crit.short_label}"
            out.append(InputColumn(crit.column, kind, volet, label, kind == "rate" and volet == 2))
    return out


def _parse_yes_no(values: pd.Series, column: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
    if pd.api.types.is_bool_dtype(values.dtype) and not values.isna().any():
        return values.to_numpy(dtype=bool), []
    text = values.astype("string").str.strip().str.lower().fillna("")
    yes, no = text.isin(YES).to_numpy(), text.isin(NO).to_numpy()
    problems = []
    for i in np.flatnonzero(~(yes | no))[: MAX_LISTED_ERRORS + 1]:
        raw = values.iloc[i]
        shown = "" if pd.isna(raw) else str(raw).strip()
        what = "vide" if shown == "" else f"« {shown} » n'est pas une réponse oui/non"
        problems.append((int(i), f"colonne « {column} » : {what} (valeurs acceptées : oui/non, true/false, 1/0)"))
    return yes, problems


def _rate_from_text(text: str) -> Fraction:
    """'0,72' → Fraction(18, 25); ValueError with a French message otherwise."""
    cleaned = text.strip().replace(",", ".").replace("\u202f", "").replace("\u00a0", "")
    if cleaned.endswith("%"):
        raise ValueError(f"« {text} » : pas de pourcentage, {RATE_CONVENTION}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"« {text} » n'est pas un nombre ({RATE_CONVENTION})") from None
    if not value.is_finite():
        raise ValueError(f"« {text} » n'est pas un nombre ({RATE_CONVENTION})")
    if len(value.normalize().as_tuple().digits) > MAX_RATE_DIGITS:
        raise ValueError(f"« {text} » : au plus {MAX_RATE_DIGITS} chiffres significatifs")
    if value < 0:
        raise ValueError(f"« {text} » est négatif ({RATE_CONVENTION})")
    if value > 1:
        raise ValueError(f"« {text} » dépasse 1 : {RATE_CONVENTION}")
    return Fraction(value)


def _rate_to_fraction(raw: Any) -> Fraction | None:
    """A cell of a rate column → exact Fraction (None when empty). Floats go through their repr."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw is pd.NA:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"« {raw} » n'est pas un taux ({RATE_CONVENTION})")
    if isinstance(raw, (float, np.floating)):
        if not math.isfinite(float(raw)):
            raise ValueError(f"« {raw} » n'est pas un nombre ({RATE_CONVENTION})")
        return _rate_from_text(repr(float(raw)))
    text = str(raw)
    if text.strip() == "":
        return None
    return _rate_from_text(text)


def _parse_rates(values: pd.Series, column: str, empty_allowed: bool) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A rate column → float64 (NaN when empty), plus problems. Values are checked exactly."""
    out = np.full(len(values), np.nan)
    problems: list[tuple[int, str]] = []
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed: list[tuple[Fraction | None, str | None]] = []
    for raw in uniques:
        try:
            parsed.append((_rate_to_fraction(raw), None))
        except ValueError as exc:
            parsed.append((None, str(exc)))
    for u, (value, error) in enumerate(parsed):
        rows = np.flatnonzero(codes == u)
        if error is not None:
            problems += [(int(i), f"colonne « {column} » : {error}") for i in rows[: MAX_LISTED_ERRORS + 1]]
        elif value is not None:
            out[rows] = float(value)
        elif not empty_allowed:
            problems += [(int(i), f"colonne « {column} » : vide (un taux est attendu, {RATE_CONVENTION})")
                         for i in rows[: MAX_LISTED_ERRORS + 1]]
    if not empty_allowed:
        problems += [(int(i), f"colonne « {column} » : vide (un taux est attendu, {RATE_CONVENTION})")
                     for i in np.flatnonzero(codes == -1)[: MAX_LISTED_ERRORS + 1]]
    return out, problems


def rate_fractions(rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 rates (exact decimals via repr, NaN = none) → numerator, denominator
    arrays (0/0 for none): int64, or Python integers when they would not fit."""
    num = np.zeros(len(rates), dtype=object)
    den = np.zeros(len(rates), dtype=object)
    present = ~np.isnan(rates)
    if present.any():
        uniques, inverse = np.unique(rates[present], return_inverse=True)
        fractions = [Fraction(repr(float(u))) for u in uniques]
        num[present] = np.array([f.numerator for f in fractions], dtype=object)[inverse]
        den[present] = np.array([f.denominator for f in fractions], dtype=object)[inverse]
    if not len(rates) or max(int(den.max()), int(num.max())) < 2**40:
        return num.astype(np.int64), den.astype(np.int64)
    return num, den


def _parse_regions(values: pd.Series) -> tuple[pd.Series, list[tuple[int, str]]]:
    codes = set(region_codes())
    text = values.astype("string").str.strip().fillna("")
    problems = []
    for i in np.flatnonzero(~(text.isin(codes) | (text == "")).to_numpy())[: MAX_LISTED_ERRORS + 1]:
        shown = text.iat[i]
        hint = ""
        if shown.isdigit() and len(shown) == 1 and f"0{shown}" in codes:
            hint = f" ; les codes s'écrivent sur deux caractères : « 0{shown} »"
        problems.append((int(i), f"colonne « region » : « {shown} » n'est pas un code de région INSEE (voir params/regions.yml){hint}"))
    return text, problems


def validate_structure_input(
    frame: pd.DataFrame, rules: StructureRuleSet, source: str = "table des indicateurs", kind: str = "parquet"
) -> pd.DataFrame:
    """Per-professional indicators → a clean table, or InputErrors naming file, row and column.

    Yes/no columns become booleans, rates float64 (NaN when empty), counts int64; ps_id is
    text, present and unique; region (optional) a two-character INSEE code. Other columns are
    kept as they are.
    """
    columns = input_columns(rules)
    require_columns(frame, ("ps_id", *(c.name for c in columns)), source)
    frame = frame.reset_index(drop=True)
    out = frame.copy()
    problems: list[tuple[int, str]] = []
    out["ps_id"], id_problems = clean_ids(frame["ps_id"], "ps_id", kind)
    problems += id_problems
    if "region" in frame.columns:
        out["region"], region_problems = _parse_regions(frame["region"])
        problems += region_problems
    for col in columns:
        if col.kind == "yesno":
            out[col.name], col_problems = _parse_yes_no(frame[col.name], col.name)
        elif col.kind == "rate":
            out[col.name], col_problems = _parse_rates(frame[col.name], col.name, col.empty_allowed)
        else:
            out[col.name], col_problems = parse_counts_column(frame[col.name], col.name, kind, count_maximum())
        problems += col_problems
    if not id_problems:
        problems += duplicate_problems(out["ps_id"], kind, source=source)
    raise_if_problems(source, kind, problems)
    return out


def read_structure_input(path: Path | str, rules: StructureRuleSet) -> pd.DataFrame:
    """Read and validate a per-professional indicators file (CSV or Parquet)."""
    frame, kind = read_table(path, STRUCTURE_SCHEMA)
    return validate_structure_input(frame, rules, source=str(path), kind=kind)
