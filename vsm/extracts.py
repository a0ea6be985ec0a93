"""The two extracts the caisses receive, read with DuckDB and validated against the schemas
declared in params/schemas/ (Frictionless Table Schema JSON):

- DMP feed traces (SI-Pilotage DMP), one row per feed attempt — the numerator;
- patientèle « médecin traitant » snapshots (SNIIRAM/SNDS portal), every 30/06 and 31/12 —
  the denominator and the weight.

CSV, a Parquet file or a folder of Parquet files. Traces are never loaded into pandas: the
files are exposed as a DuckDB view and validated in the same scan as the aggregation (see
aggregate.py); the rows of an invalid input are then located, with file and line, only on
that error path. The patientèle (one row per professional and semester) is small and is
validated here, in full, before anything is computed.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb

from .errors import MAX_LISTED_ERRORS, InputErrors, VsmError
from .paths import count_maximum, load_schema, schema_field
from .regions import region_codes

FEEDS_SCHEMA = "traces_dmp"
PATIENTELE_SCHEMA = "patientele_mt"




def schema_columns(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required columns, optional columns) of a declared schema."""
    fields = load_schema(name)["fields"]
    required = tuple(f["name"] for f in fields if not f.get("x-vsm-optional"))
    optional = tuple(f["name"] for f in fields if f.get("x-vsm-optional"))
    return required, optional


def schema_enum(name: str, column: str) -> list[str]:
    for f in load_schema(name)["fields"]:
        if f["name"] == column:
            return list(f.get("constraints", {}).get("enum", []))
    raise KeyError(column)


_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blake3")


class InputFile:
    """A file of an extract: its row count, and its BLAKE3 digest, computed in a background
    thread (the hashing releases the GIL) once ``start_digest`` is called — the pipeline calls
    it when the scans are over, so that hashing takes the core that Python's own work leaves
    idle instead of competing with DuckDB — or when the digest is first asked for."""

    def __init__(self, path: Path, rows: int):
        self.path = str(path)
        self.rows = rows
        self._digest: Future | None = None

    def start_digest(self) -> None:
        if self._digest is None:
            self._digest = _HASHING.submit(blake3_file, Path(self.path))

    @property
    def blake3(self) -> str:
        self.start_digest()
        return self._digest.result()


@dataclass
class Extract:
    """One input (a file or a folder of Parquet files) as DuckDB sees it."""

    path: Path
    kind: str  # 'csv' or 'parquet'
    files: list[Path]
    columns: dict[str, str]  # column name → DuckDB type
    rows: int = 0
    file_info: list[InputFile] = field(default_factory=list)
    delimiter: str = ","  # CSV only: « , » or, from a French spreadsheet, « ; »

    @property
    def label(self) -> str:
        return str(self.path)

    def scan_sql(self, extra: str = "") -> str:
        """A DuckDB table function reading every file of the extract."""
        files = "[" + ", ".join(_sql_str(str(f)) for f in self.files) + "]"
        if self.kind == "csv":
            return (
                f"read_csv({files}, header = true, all_varchar = true, auto_detect = false, "
                f"delim = {_sql_str(self.delimiter)}, columns = {self._csv_columns()}{extra})"
            )
        return f"read_parquet({files}{extra})"

    def _csv_columns(self) -> str:
        return "{" + ", ".join(f"{_sql_str(c)}: 'VARCHAR'" for c in self.columns) + "}"


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def blake3_file(path: Path) -> str:
    """BLAKE3 digest of an input extract (cryptographic, like SHA-256, and about three times
    faster on one core: hundreds of megabytes of traces are hashed on each run)."""
    from blake3 import blake3

    digest = blake3()
    if Path(path).stat().st_size:
        digest.update_mmap(str(path))  # mapped, not copied through read()
    return digest.hexdigest()


def _files_of(path: Path) -> tuple[str, list[Path]]:
    if not path.exists():
        raise VsmError(f"Fichier ou dossier introuvable : « {path} ».")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if not files:
            raise VsmError(f"Dossier « {path} » : aucun fichier .parquet trouvé.")
        return "parquet", files
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv", [path]
    if suffix in (".parquet", ".pq"):
        return "parquet", [path]
    raise VsmError(f"Format non reconnu : « {path} » (attendu : .csv, .parquet ou un dossier de fichiers .parquet).")


def open_extract(con: duckdb.DuckDBPyConnection, path: Path | str, schema: str) -> Extract:
    """Describe an input, check its columns against the schema, count and hash its files."""
    path = Path(path)
    kind, files = _files_of(path)
    required, optional = schema_columns(schema)
    if kind == "csv":
        try:
            header = [
                d[0]
                for d in con.execute(
                    f"SELECT * FROM read_csv({_sql_str(str(files[0]))}, header = true, all_varchar = true) LIMIT 0"
                ).description
            ]
        except duckdb.Error as exc:
            raise VsmError(f"Fichier « {path} » illisible comme CSV : {str(exc).splitlines()[0]}") from None
        columns = {c: "VARCHAR" for c in header}
        delimiter = con.execute(f"SELECT Delimiter FROM sniff_csv({_sql_str(str(files[0]))})").fetchall()[0][0]
    else:
        try:
            described = con.execute(
                "DESCRIBE SELECT * FROM read_parquet([" + ", ".join(_sql_str(str(f)) for f in files) + "], union_by_name = true)"
            ).fetchall()
        except duckdb.Error as exc:
            raise VsmError(f"« {path} » illisible comme Parquet : {str(exc).splitlines()[0]}") from None
        columns = {name: str(kind_) for name, kind_, *_ in described}
    missing = [c for c in required if c not in columns]
    if missing:
        names = ", ".join(f"« {c} »" for c in missing)
        plural = "s" if len(missing) > 1 else ""
        raise VsmError(
            f"Fichier « {path} » : colonne{plural} manquante{plural} : {names} "
            f"(colonnes attendues : {', '.join(required)}"
            + (f" ; facultatives : {', '.join(optional)}" if optional else "")
            + f" ; schéma params/schemas/{schema}.schema.json)."
        )
    extract = Extract(path=path, kind=kind, files=files, columns=columns)
    if kind == "csv":
        extract.delimiter = delimiter if delimiter in (",", ";", "\t", "|") else ","
    extract.file_info = _file_info(con, extract)
    extract.rows = sum(info.rows for info in extract.file_info)
    return extract


def _file_info(con: duckdb.DuckDBPyConnection, extract: Extract) -> list[InputFile]:
    """Each file's row count (from the Parquet footers, in one query) and its digest."""
    if extract.kind == "csv":
        file = extract.files[0]
        rows = con.execute(
            f"SELECT count(*) FROM read_csv({_sql_str(str(file))}, header = true, all_varchar = true, "
            f"auto_detect = false, delim = {_sql_str(extract.delimiter)}, columns = {extract._csv_columns()})"
        ).fetchone()[0]
        return [InputFile(file, int(rows or 0))]
    files = "[" + ", ".join(_sql_str(str(f)) for f in extract.files) + "]"
    counts = dict(con.execute(f"SELECT file_name, num_rows FROM parquet_file_metadata({files})").fetchall())
    return [InputFile(file, int(counts.get(str(file)) or 0)) for file in extract.files]


# --------------------------------------------------------------------------- expressions


def date_expr(extract: Extract, column: str) -> str:
    """A DATE from whatever the column holds; NULL when unparseable."""
    kind = extract.columns[column].upper()
    if kind == "DATE":
        return column
    if kind.startswith("TIMESTAMP"):
        return f"CAST({column} AS DATE)"
    return f"TRY_CAST(trim(CAST({column} AS VARCHAR)) AS DATE)"


def text_expr(extract: Extract, column: str, default: str | None = None) -> str:
    """Trimmed text, NULL when empty; a missing optional column gives ``default``."""
    if column not in extract.columns:
        return "NULL" if default is None else _sql_str(default)
    if extract.kind == "csv":  # hand-made exports may pad values with spaces
        expr = f"NULLIF(trim({column}), '')"
    elif extract.columns[column].upper() == "VARCHAR":
        expr = f"NULLIF({column}, '')"
    else:
        expr = f"NULLIF(CAST({column} AS VARCHAR), '')"
    return expr if default is None else f"COALESCE({expr}, {_sql_str(default)})"


def int_expr(extract: Extract, column: str) -> tuple[str, str]:
    """(value as BIGINT or NULL, condition true when the cell is not a whole number)."""
    kind = extract.columns[column].upper()
    if kind in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT", "HUGEINT"):
        return f"CAST({column} AS BIGINT)", f"{column} IS NULL"
    if kind in ("DOUBLE", "FLOAT", "REAL") or kind.startswith("DECIMAL"):
        return (
            f"CAST({column} AS BIGINT)",
            f"({column} IS NULL OR NOT isfinite(CAST({column} AS DOUBLE)) OR {column} <> floor({column}))",
        )
    text = f"trim(CAST({column} AS VARCHAR))"
    return (
        f"CASE WHEN regexp_full_match({text}, '-?[0-9]+') THEN CAST({text} AS BIGINT) END",
        f"({column} IS NULL OR NOT regexp_full_match({text}, '-?[0-9]+'))",
    )


def columns_without_empty_values(con: duckdb.DuckDBPyConnection, extract: Extract, columns: tuple[str, ...]) -> set[str]:
    """Text columns that the Parquet statistics prove free of NULL and empty values.

    Lets the validation skip reading high-cardinality identifiers row by row when every row
    group's statistics say there is nothing to find (no nulls, minimum value not empty).
    """
    if extract.kind != "parquet":
        return set()
    files = "[" + ", ".join(_sql_str(str(f)) for f in extract.files) + "]"
    rows = con.execute(
        f"""
        SELECT path_in_schema,
               bool_and(stats_null_count = 0 AND stats_min_value IS NOT NULL AND stats_min_value <> '')
        FROM parquet_metadata({files}) WHERE path_in_schema IN ({', '.join(_sql_str(c) for c in columns)})
        GROUP BY path_in_schema
        """
    ).fetchall()
    return {name for name, ok in rows if ok}


# --------------------------------------------------------------------------- locating rows


def raise_located(extract: Extract, problems: list[tuple[str, str, str]], total: int) -> None:
    """problems: (file, line label, message) → InputErrors naming file, line and column."""
    if extract.kind != "csv" and len(extract.files) > 1:
        lines = [f"{file}, {line}, {message}" for file, line, message in problems]
    else:
        lines = [f"{line}, {message}" for _, line, message in problems]
    raise InputErrors(extract.label, lines, total=total)


# --------------------------------------------------------------------------- feeds


FEED_CHECKS = (
    # (reason, condition on the normalised view, French message, column shown)
    ("invalid_ps_id", "ps_id IS NULL", "colonne « ps_id » : identifiant du professionnel vide", None),
    ("invalid_dmp_id", "dmp_id IS NULL", "colonne « dmp_id » : identifiant du DMP vide", None),
    ("invalid_date", "event_date IS NULL", "colonne « event_date » : date illisible « {raw} » (attendu AAAA-MM-JJ)", "event_date_raw"),
    ("invalid_type_code", "type_code IS NULL", "colonne « type_code » : vide", None),
    ("invalid_status", "status IS NULL OR status NOT IN ({statuses})", "colonne « status » : valeur inconnue « {raw} » (valeurs possibles : {statuses_text})", "status"),
    ("invalid_action", "action NOT IN ({actions})", "colonne « action » : valeur inconnue « {raw} » (valeurs possibles : {actions_text})", "action"),
)


def feeds_view_sql(extract: Extract, with_position: bool = False) -> str:
    """SELECT normalising the traces: trimmed text, DATE, action defaulting to creation.

    ``with_position`` adds _file and _line (only for locating errors, on one thread).
    """
    options = ", union_by_name = true" if extract.kind == "parquet" else ""
    position = ""
    if with_position:
        if extract.kind == "csv":
            options += ", filename = true"
            position = "filename AS _file, row_number() OVER () + 1 AS _line, "
        else:
            options += ", filename = true, file_row_number = true"
            position = "filename AS _file, file_row_number + 1 AS _line, "
    return (
        f"SELECT {position}"
        f"{text_expr(extract, 'ps_id')} AS ps_id, "
        f"{text_expr(extract, 'dmp_id')} AS dmp_id, "
        f"{date_expr(extract, 'event_date')} AS event_date, "
        f"CAST(event_date AS VARCHAR) AS event_date_raw, "
        f"{text_expr(extract, 'type_code')} AS type_code, "
        f"{text_expr(extract, 'format_code')} AS format_code, "
        f"{text_expr(extract, 'status')} AS status, "
        f"{text_expr(extract, 'action', default='creation')} AS action "
        f"FROM {extract.scan_sql(options)}"
    )


def feed_check_sql() -> list[tuple[str, str, str, str | None]]:
    statuses = schema_enum(FEEDS_SCHEMA, "status")
    actions = schema_enum(FEEDS_SCHEMA, "action")
    fill = {
        "statuses": ", ".join(_sql_str(s) for s in statuses),
        "actions": ", ".join(_sql_str(a) for a in actions),
    }
    return [(reason, cond.format(**fill), message, column) for reason, cond, message, column in FEED_CHECKS]


def raise_feed_errors(extract: Extract, invalid: dict[str, int]) -> None:
    """Locate and report the invalid trace rows counted during the aggregation scan."""
    statuses_text = ", ".join(schema_enum(FEEDS_SCHEMA, "status"))
    actions_text = ", ".join(schema_enum(FEEDS_SCHEMA, "action"))
    problems = []
    for reason, condition, message, column in feed_check_sql():
        if not invalid.get(reason):
            continue
        shown = column or "NULL"
        located = _locate_normalised(extract, condition, shown)
        for file, line, raw in located:
            problems.append(
                (file, line, message.format(raw=raw, statuses_text=statuses_text, actions_text=actions_text))
            )
    problems.sort(key=lambda p: (p[0], int(p[1].split()[-1])))
    raise_located(extract, problems[:MAX_LISTED_ERRORS], total=sum(invalid.values()))


def _locate_normalised(extract: Extract, condition: str, shown: str) -> list[tuple]:
    con = duckdb.connect()
    if extract.kind == "csv":
        con.execute("SET threads = 1")  # row_number() must follow the file order
    try:
        rows = con.execute(
            f"SELECT _file, _line, {shown} FROM ({feeds_view_sql(extract, with_position=True)}) "
            f"WHERE {condition} ORDER BY _file, _line LIMIT {MAX_LISTED_ERRORS}"
        ).fetchall()
    finally:
        con.close()
    many = len(extract.files) > 1
    return [(Path(f).name if many else extract.label, f"ligne {line}", "" if raw is None else raw) for f, line, raw in rows]


# --------------------------------------------------------------------------- patientèle


PATIENTELE_TABLE = "patientele"


def load_patientele(con: duckdb.DuckDBPyConnection, path: Path | str) -> Extract:
    """Validate the patientèle snapshots and load them as table ``patientele``.

    Table columns: ps_id, ps_kind, region, departement, snapshot_date, patients_mt,
    patients_mt_ald (and internal columns). One pass counts the rows that
    break a rule; only when there are some are they located and listed (InputErrors naming
    file, line and column).
    """
    extract = open_extract(con, path, PATIENTELE_SCHEMA)
    _create_from_view(con, extract, PATIENTELE_TABLE, _patientele_view(extract, position=False))
    checks = _patientele_checks()
    conditions = " OR ".join(f"({condition})" for condition, _ in checks)
    bad, duplicated = con.execute(
        f"""
        SELECT (SELECT count(*) FROM {PATIENTELE_TABLE} WHERE {conditions}),
               (SELECT count(*) FROM (SELECT ps_id, snapshot_date FROM {PATIENTELE_TABLE}
                                      WHERE ps_id IS NOT NULL AND snapshot_date IS NOT NULL
                                      GROUP BY ALL HAVING count(*) > 1))
        """
    ).fetchone()
    if bad or duplicated:
        _raise_patientele_errors(con, extract, checks)
    return extract


def _create_from_view(con: duckdb.DuckDBPyConnection, extract: Extract, table: str, view: str) -> None:
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    if extract.kind == "csv":
        con.execute("SET threads = 1")  # row_number() must follow the file order
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {view}")
    finally:
        if extract.kind == "csv":
            con.execute(f"SET threads = {int(threads)}")


def _patientele_view(extract: Extract, raw: bool = False, position: bool = True) -> str:
    """SELECT normalising the snapshots; ``position`` adds each row's file and line and ``raw``
    the cells as read (both for error messages only)."""
    mt, mt_bad = int_expr(extract, "patients_mt")
    ald, ald_bad = int_expr(extract, "patients_mt_ald")
    if not position:
        scan = extract.scan_sql(", union_by_name = true" if extract.kind == "parquet" else "")
        where = ""
    elif extract.kind == "csv":
        scan = extract.scan_sql(", filename = true")
        where = "filename AS _file, row_number() OVER () + 1 AS _line,"
    else:
        scan = extract.scan_sql(", union_by_name = true, filename = true, file_row_number = true")
        where = "filename AS _file, file_row_number + 1 AS _line,"
    raw_columns = (
        ", CAST(snapshot_date AS VARCHAR) AS snapshot_date_raw, CAST(patients_mt AS VARCHAR) AS patients_mt_raw, "
        "CAST(patients_mt_ald AS VARCHAR) AS patients_mt_ald_raw"
        if raw
        else ""
    )
    return f"""
        SELECT {where}
               {text_expr(extract, 'ps_id')} AS ps_id,
               {text_expr(extract, 'ps_kind')} AS ps_kind,
               {text_expr(extract, 'region')} AS region,
               {text_expr(extract, 'departement')} AS departement,
               {date_expr(extract, 'snapshot_date')} AS snapshot_date,
               {mt} AS patients_mt, {mt_bad} AS patients_mt_bad,
               {ald} AS patients_mt_ald, {ald_bad} AS patients_mt_ald_bad{raw_columns}
        FROM {scan}
    """


def _patientele_checks() -> list[tuple[str, str]]:
    """(condition on the normalised view, French message as a SQL expression)."""
    kinds = schema_enum(PATIENTELE_SCHEMA, "ps_kind")
    regions = region_codes()
    kinds_sql = ", ".join(_sql_str(k) for k in kinds)
    regions_sql = ", ".join(_sql_str(r) for r in regions)
    return [
        ("ps_id IS NULL", "'colonne « ps_id » : identifiant vide'"),
        (
            f"ps_kind IS NULL OR ps_kind NOT IN ({kinds_sql})",
            f"'colonne « ps_kind » : valeur inconnue « ' || coalesce(ps_kind, '') || ' » (valeurs possibles : {', '.join(kinds)})'",
        ),
        (
            f"region IS NULL OR region NOT IN ({regions_sql})",
            "'colonne « region » : code de région inconnu « ' || coalesce(region, '') || ' »' || "
            "CASE WHEN length(region) = 1 AND ('0' || region) IN (" + regions_sql + ") "
            "THEN ' (les codes INSEE s''écrivent sur deux caractères : « 0' || region || ' »)' ELSE '' END || "
            f"' (codes valides : {', '.join(regions)})'",
        ),
        (
            "snapshot_date IS NULL",
            "'colonne « snapshot_date » : date illisible « ' || coalesce(snapshot_date_raw, '') || ' » (attendu AAAA-MM-JJ)'",
        ),
        (
            "patients_mt_bad",
            "'colonne « patients_mt » : « ' || coalesce(patients_mt_raw, '') || ' » n''est pas un entier'",
        ),
        (
            "patients_mt_ald_bad",
            "'colonne « patients_mt_ald » : « ' || coalesce(patients_mt_ald_raw, '') || ' » n''est pas un entier'",
        ),
        ("NOT patients_mt_bad AND patients_mt < 0", "'colonne « patients_mt » : ' || patients_mt || ' est négatif'"),
        (
            "NOT patients_mt_ald_bad AND patients_mt_ald < 0",
            "'colonne « patients_mt_ald » : ' || patients_mt_ald || ' est négatif'",
        ),
        (
            "NOT patients_mt_bad AND NOT patients_mt_ald_bad AND patients_mt_ald > patients_mt",
            "'colonne « patients_mt_ald » : ' || patients_mt_ald || ' > patients_mt = ' || patients_mt || "
            "' (plus de patients en ALD que de patients « médecin traitant »)'",
        ),
    ]


def _raise_patientele_errors(con: duckdb.DuckDBPyConnection, extract: Extract, checks: list[tuple[str, str]]) -> None:
    """Re-read the snapshots with their raw cells and list the rows breaking a rule."""
    _create_from_view(con, extract, "patientele_raw", _patientele_view(extract, raw=True))
    union = " UNION ALL ".join(
        f"SELECT _file, _line, {message} AS message FROM patientele_raw WHERE {condition}" for condition, message in checks
    )
    duplicates = (
        "SELECT _file, _line, 'colonnes « ps_id », « snapshot_date » : « ' || ps_id || ' » au ' || "
        "strftime(snapshot_date, '%d/%m/%Y') || ' apparaît plusieurs fois (lignes ' || "
        "string_agg(CAST(_line AS VARCHAR), ', ' ORDER BY _file, _line) OVER (PARTITION BY ps_id, snapshot_date) || ')' AS message "
        "FROM patientele_raw WHERE ps_id IS NOT NULL AND snapshot_date IS NOT NULL "
        "QUALIFY count(*) OVER (PARTITION BY ps_id, snapshot_date) > 1 "
        "AND row_number() OVER (PARTITION BY ps_id, snapshot_date ORDER BY _file, _line) = 2"
    )
    problems_sql = f"SELECT * FROM ({union} UNION ALL {duplicates})"
    total = con.execute(f"SELECT count(*) FROM ({problems_sql})").fetchone()[0]
    rows = con.execute(f"{problems_sql} ORDER BY _file, _line LIMIT {MAX_LISTED_ERRORS}").fetchall()
    con.execute("DROP TABLE patientele_raw")
    con.execute(f"DROP TABLE IF EXISTS {PATIENTELE_TABLE}")
    many = len(extract.files) > 1
    raise_located(
        extract,
        [(Path(f).name if many else extract.label, f"ligne {line}", message) for f, line, message in rows],
        total=total,
    )
