"""Inputs: readers and validation, with French errors naming file, row and column.

Row numbers follow what a person sees: in a CSV, the line of the file (the header is
line 1, the first data row line 2); in Parquet, the data row counted from 1.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import MAX_LISTED_ERRORS, InputErrors, VsmError  # noqa: F401 (re-exported)
from .forfait import COUNT_COLUMNS

COUNTS_REQUIRED = ("ps_id", *COUNT_COLUMNS)
MAX_COUNT = 10**12  # far above any real patientèle; keeps integer arithmetic exact


def table_format(path: Path) -> str:
    """'csv' or 'parquet' from the file name (a folder is a Parquet dataset)."""
    path = Path(path)
    if path.is_dir():
        return "parquet"
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise VsmError(f"Format de fichier non reconnu : « {path} » (extensions acceptées : .csv, .parquet).")


def read_table(path: Path | str) -> tuple[pd.DataFrame, str]:
    """Read a CSV (everything as text, nothing guessed) or a Parquet file.

    Returns the table and how its rows are numbered for messages ('csv' or 'parquet').
    """
    path = Path(path)
    if not path.exists():
        raise VsmError(f"Fichier introuvable : « {path} ».")
    kind = table_format(path)
    try:
        if kind == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=_separator(path))
        else:
            frame = pd.read_parquet(path)
    except UnicodeDecodeError:
        raise VsmError(f"Fichier « {path} » : encodage non UTF-8.") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise VsmError(f"Fichier « {path} » illisible comme {kind.upper()} : {exc}") from None
    return frame, kind


def _separator(path: Path) -> str:
    """« ; » when the header line uses it and no comma (a CSV saved by a French spreadsheet)."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    return ";" if ";" in header and "," not in header else ","


def row_label(kind: str, index: int) -> str:
    """Position of the row at 0-based ``index`` as a person would look for it."""
    return f"ligne {index + 2}" if kind == "csv" else f"ligne {index + 1}"


def require_columns(frame: pd.DataFrame, required: tuple[str, ...], source: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        names = ", ".join(f"« {c} »" for c in missing)
        plural = "s" if len(missing) > 1 else ""
        raise InputErrors(
            source,
            [f"colonne{plural} manquante{plural} : {names} (colonnes attendues : {', '.join(required)})"],
        )


def parse_counts_column(values: pd.Series, column: str, kind: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A column of counts → int64 array, plus (row index, problem) for every bad cell."""
    problems: list[tuple[int, str]] = []
    if pd.api.types.is_integer_dtype(values.dtype) and not values.isna().any():
        out = values.to_numpy(dtype=np.int64)
        for i in np.flatnonzero(out < 0)[: MAX_LISTED_ERRORS + 1]:
            problems.append((int(i), f"colonne « {column} » : {out[i]} est négatif (un effectif est positif ou nul)"))
        return out, problems
    text = values.astype("string").str.strip()
    numeric = pd.to_numeric(text, errors="coerce").astype("float64")
    finite = numeric.notna() & np.isfinite(numeric)
    integral = finite & (numeric == np.floor(numeric)) & (numeric.abs() <= MAX_COUNT)
    out = np.where(integral, numeric.fillna(0), 0).astype(np.int64)
    for i in np.flatnonzero(~integral.to_numpy()):
        raw = values.iloc[i]
        shown = "" if pd.isna(raw) else str(raw)
        if shown.strip() == "":
            what = "vide"
        elif finite.iat[i] and abs(numeric.iat[i]) > MAX_COUNT:
            what = f"« {shown} » est trop grand pour un effectif"
        else:
            what = f"« {shown} » n'est pas un entier"
        problems.append((int(i), f"colonne « {column} » : {what} (un effectif entier positif ou nul est attendu)"))
        if len(problems) > MAX_LISTED_ERRORS:
            break
    for i in np.flatnonzero(integral.to_numpy() & (out < 0))[: MAX_LISTED_ERRORS + 1]:
        problems.append((int(i), f"colonne « {column} » : {out[i]} est négatif (un effectif est positif ou nul)"))
    return out, problems


def clean_ids(values: pd.Series, column: str, kind: str) -> tuple[pd.Series, list[tuple[int, str]]]:
    """Identifiers as trimmed text; empty ones are problems."""
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    problems = [(int(i), f"colonne « {column} » : identifiant vide") for i in np.flatnonzero(empty.to_numpy())]
    return text.fillna(""), problems


def duplicate_problems(ids: pd.Series, kind: str, column: str = "ps_id") -> list[tuple[int, str]]:
    values = ids.tolist()
    if len(set(values)) == len(values):  # the usual case, settled without pandas' factorize
        return []
    dup = ids.duplicated(keep=False) & (ids != "")
    problems = []
    if dup.any():
        positions = pd.Series(np.arange(len(ids)))[dup.to_numpy()]
        for value, group in positions.groupby(ids[dup].to_numpy(), sort=False):
            rows = [row_label(kind, int(i)) for i in group]
            problems.append(
                (int(group.iloc[1]), f"colonne « {column} » : « {value} » apparaît plusieurs fois ({', '.join(rows)})")
            )
    return problems


def raise_if_problems(source: str, kind: str, problems: list[tuple[int, str]]) -> None:
    if problems:
        problems = sorted(problems, key=lambda p: p[0])
        raise InputErrors(source, [f"{row_label(kind, i)}, {msg}" for i, msg in problems])


def validate_counts(frame: pd.DataFrame, source: str = "table des effectifs", kind: str = "parquet") -> pd.DataFrame:
    """Per-professional counts → a clean table (ps_id text, counts int64), or InputErrors.

    Checked: every column present; counts are integers ≥ 0; ALD ≤ patientèle MT; structured
    ≤ fed; ps_id present and unique. Extra columns (region, ps_kind, …) are kept as they are.
    """
    require_columns(frame, COUNTS_REQUIRED, source)
    frame = frame.reset_index(drop=True)
    out = frame.copy()
    problems: list[tuple[int, str]] = []
    out["ps_id"], id_problems = clean_ids(frame["ps_id"], "ps_id", kind)
    problems += id_problems
    for column in COUNT_COLUMNS:
        out[column], column_problems = parse_counts_column(frame[column], column, kind)
        problems += column_problems
    if not problems:
        for low, high, what in (
            ("patients_mt_ald", "patients_mt", "plus de patients en ALD que de patients « médecin traitant »"),
            ("dmp_vsm_structured", "dmp_vsm", "plus de DMP alimentés en structuré que de DMP alimentés"),
        ):
            bad = np.flatnonzero(out[low].to_numpy() > out[high].to_numpy())
            for i in bad[: MAX_LISTED_ERRORS + 1]:
                problems.append(
                    (int(i), f"colonne « {low} » : {out[low].iat[i]} > {high} = {out[high].iat[i]} ({what})")
                )
        problems += duplicate_problems(out["ps_id"], kind)
    raise_if_problems(source, kind, problems)
    return out


def read_counts(path: Path | str) -> pd.DataFrame:
    """Read and validate a per-professional counts file (CSV or Parquet)."""
    frame, kind = read_table(path)
    return validate_counts(frame, source=str(path), kind=kind)


def parse_money(text: object) -> Decimal:
    """'2250.00' → Decimal; raises ValueError with a French message."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValueError(f"« {text} » n'est pas un montant") from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise ValueError(f"« {text} » n'est pas un montant positif en euros et centimes")
    return value.quantize(Decimal("0.01"))


def read_paid(path: Path | str) -> pd.DataFrame:
    """Results of an earlier period (ps_id, amount_eur) → amounts already paid, validated."""
    frame, kind = read_table(path)
    source = str(path)
    require_columns(frame, ("ps_id", "amount_eur"), source)
    frame = frame.reset_index(drop=True)
    ids, problems = clean_ids(frame["ps_id"], "ps_id", kind)
    amounts = []
    for i, raw in enumerate(frame["amount_eur"].tolist()):
        try:
            amounts.append(parse_money(raw))
        except ValueError as exc:
            problems.append((i, f"colonne « amount_eur » : {exc}"))
            amounts.append(Decimal("0.00"))
    problems += duplicate_problems(ids, kind)
    raise_if_problems(source, kind, problems)
    return pd.DataFrame({"ps_id": ids, "paid_eur": amounts})
