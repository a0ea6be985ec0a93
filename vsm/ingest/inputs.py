"""Inputs: readers and validation, with French errors naming file, row and column.

Row numbers follow what a person sees: in a CSV, the line of the file (the header is
line 1, the first data row line 2); in Parquet, the data row counted from 1.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import MAX_LISTED_ERRORS, InputErrors, VsmError
from ..money import parse_eur
from ..paths import count_maximum
from .schema import COUNT_COLUMNS, COUNTS_REQUIRED, COUNTS_SCHEMA, INTEGER_PATTERN, WHITESPACE, spaced

MAX_PAID = Decimal("999999999999.99")  # results hold money as decimal(14, 2)


# CSV files read by read_table: source → (path, delimiter), to give the true line of a row
_CSV_SOURCES: dict[str, tuple[Path, str]] = {}


def read_table(path: Path | str, schema: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read a CSV (everything as text, nothing guessed) or a Parquet file, after the checks
    every input goes through (extracts.py): a CSV's header (no blank or duplicated name) and
    every record (exactly the header's fields, UTF-8); a Parquet file's declared columns
    and their types when ``schema`` names the file's schema (params/schemas/).

    Returns the table and how its rows are numbered for messages ('csv' or 'parquet').
    """
    # Start-up time: DuckDB (0.2 s to import) only when a file is read; the forfait validates
    # in-memory counts through this module (`vsm exemples`) without it.
    import duckdb

    from .tables import check_csv_records, check_parquet_files, csv_header, table_format

    path = Path(path)
    if not path.exists():
        raise VsmError(f"Fichier introuvable : « {path} ».")
    if path.is_dir():
        raise VsmError(f"« {path} » est un dossier : un fichier .csv ou .parquet est attendu.")
    kind = table_format(path)
    con = duckdb.connect()
    try:
        if kind == "csv":
            names, delimiter = csv_header(path)
            check_csv_records(con, path, delimiter, names)
            _CSV_SOURCES[str(path)] = (path, delimiter)
        elif schema is not None:
            check_parquet_files(con, path, [path], schema)
    finally:
        con.close()
    try:
        if kind == "csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=delimiter)
        else:
            frame = pd.read_parquet(path)
    except UnicodeDecodeError:
        raise VsmError(f"Fichier « {path} » : encodage non UTF-8.") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise VsmError(f"Fichier « {path} » illisible comme {kind.upper()} : {str(exc).splitlines()[0]}") from None
    return frame, kind


@lru_cache(maxsize=8)
def _record_starts(path: Path, delimiter: str) -> list[int]:
    """The line of the file where each record starts (index 0: the header): a quoted cell
    holding a line break makes the record span several lines. Error paths only."""
    starts = []
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        line = 1
        for _ in reader:
            starts.append(line)
            line = reader.line_num + 1
    return starts


def row_label(kind: str, index: int, source: str | None = None) -> str:
    """Position of the row at 0-based ``index`` as a person would look for it: the line of
    the file in a CSV (header: line 1), the row counted from 1 in Parquet."""
    if kind != "csv":
        return f"ligne {index + 1}"
    known = _CSV_SOURCES.get(source) if source is not None else None
    if known is not None:
        starts = _record_starts(*known)
        if index + 1 < len(starts):
            return f"ligne {starts[index + 1]}"
    return f"ligne {index + 2}"


def require_columns(frame: pd.DataFrame, required: tuple[str, ...], source: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        names = ", ".join(f"« {c} »" for c in missing)
        plural = "s" if len(missing) > 1 else ""
        raise InputErrors(
            source,
            [f"colonne{plural} manquante{plural} : {names} (colonnes attendues : {', '.join(required)})"],
        )


def parse_counts_column(
    values: pd.Series, column: str, kind: str, maximum: int | None = None
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A column of counts → int64 array, plus (row index, problem) for every bad cell.

    The rule of every input (extracts.INTEGER_PATTERN, the schemas' maximum): an integer
    column, or text that is an integer in ASCII digits with an optional sign once
    stripped; « 3.0 », « 1e3 », « 1 000 » are not counts, in CSV as in Parquet. Files are
    read with ``maximum`` = the schemas' maximum (paths.count_maximum); tables built in
    memory (the aggregation's, the tests') are bounded by int64 only."""
    if maximum is None:
        maximum = np.iinfo(np.int64).max
    problems: list[tuple[int, str]] = []
    expected = "(un effectif entier positif ou nul est attendu)"
    if pd.api.types.is_integer_dtype(values.dtype) and not values.isna().any():
        raw = values.to_numpy()
        if raw.dtype.kind == "u" and len(raw) and int(raw.max()) > maximum:
            raw = np.minimum(raw, maximum + 1)
        out = raw.astype(np.int64)
        for i in np.flatnonzero((out < 0) | (out > maximum))[: MAX_LISTED_ERRORS + 1]:
            what = "est négatif (un effectif est positif ou nul)" if out[i] < 0 else f"dépasse le maximum de {spaced(maximum)}"
            problems.append((int(i), f"colonne « {column} » : {values.iloc[i]} {what}"))
        return out, problems
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_float_dtype(values.dtype):
        text = pd.Series(["" if pd.isna(v) else str(v) for v in values.tolist()], dtype="string")
    else:
        text = values.astype("string").str.strip(WHITESPACE)
    text = text.fillna("")
    spelled = text.str.fullmatch(INTEGER_PATTERN).fillna(False).to_numpy(dtype=bool)
    short = spelled & (text.str.len().to_numpy() <= 18)
    out = np.zeros(len(values), dtype=np.int64)
    if short.any():
        out[short] = text[short].astype("int64").to_numpy()
    in_bounds = short & (out >= 0) & (out <= maximum)
    for i in np.flatnonzero(~in_bounds)[: MAX_LISTED_ERRORS + 1]:
        shown = text.iat[i]
        if shown == "":
            what = f"vide {expected}"
        elif not spelled[i]:
            what = f"« {shown} » n'est pas un entier {expected}"
        elif short[i] and out[i] < 0:
            what = f"{out[i]} est négatif (un effectif est positif ou nul)"
        else:
            what = f"« {shown} » est trop grand pour un effectif (au plus {spaced(maximum)})"
        problems.append((int(i), f"colonne « {column} » : {what}"))
    out[~in_bounds] = 0
    return out, problems


def clean_ids(values: pd.Series, column: str, kind: str) -> tuple[pd.Series, list[tuple[int, str]]]:
    """Identifiers as trimmed text; empty ones are problems."""
    text = values.astype("string").str.strip(WHITESPACE)
    empty = text.isna() | (text == "")
    problems = [(int(i), f"colonne « {column} » : identifiant vide") for i in np.flatnonzero(empty.to_numpy())]
    return text.fillna(""), problems


def duplicate_problems(
    ids: pd.Series, kind: str, column: str = "ps_id", source: str | None = None
) -> list[tuple[int, str]]:
    values = ids.tolist()
    if len(set(values)) == len(values):  # the usual case, settled without pandas' factorize
        return []
    dup = ids.duplicated(keep=False) & (ids != "")
    problems = []
    if dup.any():
        positions = pd.Series(np.arange(len(ids)))[dup.to_numpy()]
        for value, group in positions.groupby(ids[dup].to_numpy(), sort=False):
            rows = [row_label(kind, int(i), source) for i in group]
            problems.append(
                (int(group.iloc[1]), f"colonne « {column} » : « {value} » apparaît plusieurs fois ({', '.join(rows)})")
            )
    return problems


def raise_if_problems(source: str, kind: str, problems: list[tuple[int, str]]) -> None:
    if problems:
        problems = sorted(problems, key=lambda p: p[0])
        raise InputErrors(source, [f"{row_label(kind, i, source)}, {msg}" for i, msg in problems])


def validate_counts(
    frame: pd.DataFrame, source: str = "table des effectifs", kind: str = "parquet", maximum: int | None = None
) -> pd.DataFrame:
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
        out[column], column_problems = parse_counts_column(frame[column], column, kind, maximum)
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
        problems += duplicate_problems(out["ps_id"], kind, source=source)
    raise_if_problems(source, kind, problems)
    return out


def read_counts(path: Path | str) -> pd.DataFrame:
    """Read and validate a per-professional counts file (CSV or Parquet)."""
    frame, kind = read_table(path, COUNTS_SCHEMA)
    return validate_counts(frame, source=str(path), kind=kind, maximum=count_maximum())


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
            amounts.append(parse_eur(raw, MAX_PAID))
        except ValueError as exc:
            problems.append((i, f"colonne « amount_eur » : {exc}"))
            amounts.append(Decimal("0.00"))
    problems += duplicate_problems(ids, kind, source=source)
    raise_if_problems(source, kind, problems)
    return pd.DataFrame({"ps_id": ids, "paid_eur": amounts})
