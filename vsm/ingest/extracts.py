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

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..errors import MAX_LISTED_ERRORS, InputErrors, VsmError
from ..paths import count_maximum, schema_field
from ..regions import region_codes
from .schema import (
    DATE_PATTERN,
    FEEDS_SCHEMA,
    INTEGER_PATTERN,
    INTEGER_TYPES,
    PATIENTELE_SCHEMA,
    TIMESTAMP_TYPES,
    WHITESPACE,
    base_type,
    schema_columns,
    schema_enum,
    spaced,
)
from .tables import InputFile, check_csv_records, check_parquet_files, csv_header, csv_read_sql, csv_record_lines, files_of, sql_str


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
        if self.kind == "csv":
            return csv_read_sql(self.files[0], self.delimiter, list(self.columns), extra)
        files = "[" + ", ".join(sql_str(str(f)) for f in self.files) + "]"
        return f"read_parquet({files}{extra})"



def open_extract(con: duckdb.DuckDBPyConnection, path: Path | str, schema: str) -> Extract:
    """Describe an input, check its structure and columns against the schema (in every file),
    count and hash its files."""
    path = Path(path)
    kind, files = files_of(path)
    required, optional = schema_columns(schema)
    if kind == "csv":
        header, delimiter = csv_header(files[0])
        missing = [c for c in required if c not in header]
        if missing:
            names = ", ".join(f"« {c} »" for c in missing)
            plural = "s" if len(missing) > 1 else ""
            raise VsmError(
                f"Fichier « {path} » : colonne{plural} manquante{plural} : {names} "
                f"(colonnes attendues : {', '.join(required)}"
                + (f" ; facultatives : {', '.join(optional)}" if optional else "")
                + f" ; schéma params/schemas/{schema}.schema.json)."
            )
        extract = Extract(path=path, kind=kind, files=files, columns={c: "VARCHAR" for c in header}, delimiter=delimiter)
        extract.file_info = [InputFile(files[0], check_csv_records(con, files[0], delimiter, header))]
    else:
        extract = Extract(path=path, kind=kind, files=files, columns=check_parquet_files(con, path, files, schema))
        extract.file_info = _file_info(con, extract)
    extract.rows = sum(info.rows for info in extract.file_info)
    return extract


def _file_info(con: duckdb.DuckDBPyConnection, extract: Extract) -> list[InputFile]:
    """Each file's row count (from the Parquet footers, in one query) and its digest."""
    files = "[" + ", ".join(sql_str(str(f)) for f in extract.files) + "]"
    counts = dict(con.execute(f"SELECT file_name, num_rows FROM parquet_file_metadata({files})").fetchall())
    return [InputFile(file, int(counts.get(str(file)) or 0)) for file in extract.files]


# --------------------------------------------------------------------------- expressions


def date_expr(extract: Extract, column: str) -> str:
    """A DATE from whatever the column holds; NULL when unreadable. Text must be AAAA-MM-JJ,
    optionally with a time and no zone (DATE_PATTERN): « 2023-03-01T23:30:00+02:00 » is
    refused, never cut to its date. (A Parquet TIMESTAMP WITH TIME ZONE column is refused
    when the extract is opened.)"""
    kind = base_type(extract.columns[column])
    if kind == "DATE":
        return column
    if kind in TIMESTAMP_TYPES:
        return f"CAST({column} AS DATE)"
    text = f"trim(CAST({column} AS VARCHAR), {sql_str(WHITESPACE)})"
    return f"CASE WHEN regexp_full_match({text}, {sql_str(DATE_PATTERN)}) THEN TRY_CAST({text} AS DATE) END"


def text_expr(extract: Extract, column: str, default: str | None = None) -> str:
    """Text stripped of WHITESPACE, NULL when blank; a missing optional column gives ``default``.
    The same in CSV and Parquet: a blank identifier is invalid whatever the format."""
    if column not in extract.columns:
        return "NULL" if default is None else sql_str(default)
    value = column if extract.columns[column].upper() == "VARCHAR" else f"CAST({column} AS VARCHAR)"
    expr = f"NULLIF(trim({value}, {sql_str(WHITESPACE)}), '')"
    return expr if default is None else f"COALESCE({expr}, {sql_str(default)})"


def int_expr(extract: Extract, column: str) -> tuple[str, str]:
    """(value as BIGINT or NULL, condition true when the cell is not a whole number).

    Parquet: an integer column (other types are refused when the extract is opened); text:
    INTEGER_PATTERN once stripped. The bounds (schema minimum and maximum) are checked apart."""
    kind = base_type(extract.columns[column])
    if kind in INTEGER_TYPES:
        value = f"TRY_CAST({column} AS BIGINT)"
        return value, f"({value} IS NULL)"
    text = f"trim(CAST({column} AS VARCHAR), {sql_str(WHITESPACE)})"
    ok = f"regexp_full_match({text}, {sql_str(INTEGER_PATTERN)})"
    value = f"CASE WHEN {ok} THEN TRY_CAST({text} AS BIGINT) END"
    return value, f"({value} IS NULL)"


def columns_without_empty_values(con: duckdb.DuckDBPyConnection, extract: Extract, columns: tuple[str, ...]) -> set[str]:
    """Text columns that the Parquet statistics prove free of NULL and empty values.

    Lets the validation skip reading high-cardinality identifiers row by row when every row
    group's statistics say there is nothing to find: no nulls, and a minimum value starting
    with a character above the space (so that no value is empty or blank: every character
    of WHITESPACE is at most a space).
    """
    if extract.kind != "parquet":
        return set()
    files = "[" + ", ".join(sql_str(str(f)) for f in extract.files) + "]"
    rows = con.execute(
        f"""
        SELECT path_in_schema,
               bool_and(stats_null_count = 0 AND stats_min_value IS NOT NULL AND stats_min_value >= '!')
        FROM parquet_metadata({files}) WHERE path_in_schema IN ({', '.join(sql_str(c) for c in columns)})
        GROUP BY path_in_schema
        """
    ).fetchall()
    return {name for name, ok in rows if ok}


# --------------------------------------------------------------------------- locating rows


def raise_located(extract: Extract, problems: list[tuple[str, str, str]], total: int) -> None:
    """problems: (file, line label, message) → InputErrors naming file, line and column."""
    if extract.kind != "csv" and (len(extract.files) > 1 or extract.path.is_dir()):
        lines = [f"{file}, {line}, {message}" for file, line, message in problems]
    else:
        lines = [f"{line}, {message}" for _, line, message in problems]
    raise InputErrors(extract.label, lines, total=total)


# --------------------------------------------------------------------------- feeds


FEED_CHECKS = (
    # (reason, condition on the normalised view, French message, column shown)
    ("invalid_ps_id", "ps_id IS NULL", "colonne « ps_id » : identifiant du professionnel vide", None),
    ("invalid_dmp_id", "dmp_id IS NULL", "colonne « dmp_id » : identifiant du DMP vide", None),
    ("invalid_date", "event_date IS NULL", "colonne « event_date » : date illisible « {raw} » (attendu AAAA-MM-JJ, suivi au plus d'une heure sans fuseau horaire)", "event_date_raw"),
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
        "statuses": ", ".join(sql_str(s) for s in statuses),
        "actions": ", ".join(sql_str(a) for a in actions),
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
    lines = _line_map(extract, [int(line) for _, line, _ in rows])
    return [(_file_label(extract, f), f"ligne {lines(int(line))}", "" if raw is None else raw) for f, line, raw in rows]


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


def _not_integer_message(column: str, raw: str) -> str:
    """SQL giving the French message for a count cell that is not a whole number."""
    text = f"trim(coalesce({raw}, ''), {sql_str(WHITESPACE)})"
    return (
        f"CASE WHEN {text} = '' THEN 'colonne « {column} » : vide (un effectif entier positif ou nul est attendu)' "
        f"WHEN regexp_full_match({text}, {sql_str(INTEGER_PATTERN)}) THEN 'colonne « {column} » : « ' || {raw} || "
        f"' » est trop grand pour un effectif (au plus {spaced(count_maximum())})' "
        f"ELSE 'colonne « {column} » : « ' || {raw} || ' » n''est pas un entier (chiffres 0 à 9 seulement)' END"
    )


def _patientele_checks() -> list[tuple[str, str]]:
    """(condition on the normalised view, French message as a SQL expression)."""
    kinds = schema_enum(PATIENTELE_SCHEMA, "ps_kind")
    regions = region_codes()
    kinds_sql = ", ".join(sql_str(k) for k in kinds)
    regions_sql = ", ".join(sql_str(r) for r in regions)
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
            "'colonne « snapshot_date » : date illisible « ' || coalesce(snapshot_date_raw, '') || ' » "
            "(attendu AAAA-MM-JJ, suivi au plus d''une heure sans fuseau horaire)'",
        ),
        *(
            (f"{column}_bad", _not_integer_message(column, f"{column}_raw"))
            for column in ("patients_mt", "patients_mt_ald")
        ),
        ("NOT patients_mt_bad AND patients_mt < 0", "'colonne « patients_mt » : ' || patients_mt || ' est négatif'"),
        (
            "NOT patients_mt_ald_bad AND patients_mt_ald < 0",
            "'colonne « patients_mt_ald » : ' || patients_mt_ald || ' est négatif'",
        ),
        *(
            (
                f"NOT {column}_bad AND {column} > {maximum}",
                f"'colonne « {column} » : ' || {column} || ' dépasse le maximum de {spaced(maximum)} "
                f"(params/schemas/{PATIENTELE_SCHEMA}.schema.json)'",
            )
            for column in ("patients_mt", "patients_mt_ald")
            for maximum in [int(schema_field(PATIENTELE_SCHEMA, column)["constraints"]["maximum"])]
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
        "SELECT _file, _line, ps_id, snapshot_date, list([_file, CAST(_line AS VARCHAR)] ORDER BY _file, _line) "
        "OVER (PARTITION BY ps_id, snapshot_date) AS places "
        "FROM patientele_raw WHERE ps_id IS NOT NULL AND snapshot_date IS NOT NULL "
        "QUALIFY count(*) OVER (PARTITION BY ps_id, snapshot_date) > 1 "
        "AND row_number() OVER (PARTITION BY ps_id, snapshot_date ORDER BY _file, _line) = 2"
    )
    problems_sql = (
        f"SELECT _file, _line, message, NULL AS ps_id, NULL AS snapshot_date, NULL AS places FROM ({union}) "
        f"UNION ALL SELECT _file, _line, NULL, ps_id, snapshot_date, places FROM ({duplicates})"
    )
    total = con.execute(f"SELECT count(*) FROM ({problems_sql})").fetchone()[0]
    rows = con.execute(f"SELECT * FROM ({problems_sql}) ORDER BY _file, _line LIMIT {MAX_LISTED_ERRORS}").fetchall()
    con.execute("DROP TABLE patientele_raw")
    con.execute(f"DROP TABLE IF EXISTS {PATIENTELE_TABLE}")
    records = [int(line) for *_, places in rows if places for _, line in places] + [int(r[1]) for r in rows]
    lines = _line_map(extract, records)
    problems = []
    for file, line, message, ps_id, snapshot, places in rows:
        if places is not None:
            files = {f for f, _ in places}
            if len(files) > 1:  # across files: name each one
                where = "; ".join(f"{_file_label(extract, f)}, ligne {lines(int(n))}" for f, n in places)
            else:
                where = "lignes " + ", ".join(str(lines(int(n))) for _, n in places)
            message = (
                f"colonnes « ps_id », « snapshot_date » : « {ps_id} » au {snapshot:%d/%m/%Y} apparaît plusieurs fois ({where})"
            )
        problems.append((_file_label(extract, file), f"ligne {lines(int(line))}", message))
    raise_located(extract, problems, total=total)


def _file_label(extract: Extract, file: str) -> str:
    """How a file of an input is named in a message: the input itself, or, in a folder, the
    file's path inside it."""
    if len(extract.files) == 1 and not extract.path.is_dir():
        return extract.label
    try:
        return str(Path(file).relative_to(extract.path))
    except ValueError:
        return Path(file).name


def _line_map(extract: Extract, records: list[int]):
    """record number (row_number() + 1) → line of the file: the same in Parquet; in a CSV,
    where a quoted cell holds a line break, the line where the record starts."""
    if extract.kind != "csv" or not records:
        return lambda n: n
    mapping = csv_record_lines(extract.files[0], extract.delimiter, records)
    return lambda n: mapping.get(n, n)

