"""The files of an input and their structure, checked before anything is read: which files
(a CSV, a Parquet file or a folder of Parquet files), their digests, a CSV's header and
records, a Parquet file's columns and types against the schema (schema.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import duckdb
from blake3 import blake3

from ..errors import MAX_LISTED_ERRORS, InputErrors, VsmError
from .schema import WHITESPACE, schema_columns, type_problem



def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def spaced(n: int) -> str:
    """10000000 → « 10 000 000 » (messages)."""
    return f"{n:,}".replace(",", " ")


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def blake3_file(path: Path) -> str:
    """BLAKE3 digest of an input extract (cryptographic, like SHA-256, and about three times
    faster on one core: hundreds of megabytes of traces are hashed on each run)."""
    digest = blake3()
    if Path(path).stat().st_size:
        digest.update_mmap(str(path))  # mapped, not copied through read()
    return digest.hexdigest()


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



# --------------------------------------------------------------------------- files of an input


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def files_of(path: Path) -> tuple[str, list[Path]]:
    if not path.exists():
        raise VsmError(f"Fichier ou dossier introuvable : « {path} ».")
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and not _is_hidden(p, path))
        files = [p for p in found if p.suffix.lower() in (".parquet", ".pq")]
        others = [p for p in found if p not in files]
        if others:
            shown = ", ".join(f"« {p.relative_to(path)} »" for p in others[:MAX_LISTED_ERRORS])
            more = f" et {len(others) - MAX_LISTED_ERRORS} autre(s)" if len(others) > MAX_LISTED_ERRORS else ""
            raise VsmError(
                f"Dossier « {path} » : fichier(s) qui ne sont pas au format Parquet : {shown}{more}. Un dossier "
                "d'extractions ne contient que des fichiers .parquet (les fichiers cachés, « .nom », sont ignorés) : "
                "convertir ces fichiers en Parquet, ou les retirer du dossier."
            )
        if not files:
            raise VsmError(f"Dossier « {path} » : aucun fichier .parquet trouvé.")
        return "parquet", files
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv", [path]
    if suffix in (".parquet", ".pq"):
        return "parquet", [path]
    raise VsmError(f"Format non reconnu : « {path} » (attendu : .csv, .parquet ou un dossier de fichiers .parquet).")



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



# --------------------------------------------------------------------------- CSV structure


def csv_header(path: Path) -> tuple[list[str], str]:
    """(column names, delimiter) from the first record of a CSV, as a person wrote it: UTF-8
    with or without BOM, « , » or, from a French spreadsheet, « ; ». Refuses an empty, blank
    or duplicated column name."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError as exc:
        raise VsmError(f"Fichier « {path} » illisible : {exc.strerror or exc}.") from None
    text = head.decode("utf-8-sig", errors="replace")
    first = text.split("\n", 1)[0]
    candidates = [d for d in (",", ";", "\t", "|") if d in first]
    delimiter = ";" if ";" in first and "," not in first else (candidates[0] if candidates else ",")
    try:
        record = next(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True), [])
    except csv.Error as exc:
        raise VsmError(f"Fichier « {path} », ligne 1 (en-tête) : illisible comme CSV ({exc}).") from None
    if "\ufffd" in "".join(record):
        raise VsmError(f"Fichier « {path} », ligne 1 (en-tête) : encodage non UTF-8 ; enregistrer le fichier en UTF-8.")
    names = [name.strip(WHITESPACE) for name in record]
    if not names or names == [""]:
        raise VsmError(f"Fichier « {path} » : vide (aucune ligne d'en-tête).")
    problems = []
    for i, name in enumerate(names, start=1):
        if name == "":
            problems.append(f"ligne 1 (en-tête), champ {i} : nom de colonne vide")
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if name and name in seen:
            problems.append(f"ligne 1 (en-tête) : colonne « {name} » en double (champs {seen[name]} et {i})")
        seen.setdefault(name, i)
    if problems:
        raise InputErrors(str(path), problems)
    return names, delimiter


_CSV_REJECTS = {
    "TOO MANY COLUMNS": "{found} champs au lieu des {expected} de l'en-tête",
    "MISSING COLUMNS": "{found} champ(s) au lieu des {expected} de l'en-tête",
    "INVALID ENCODING": "encodage non UTF-8 (enregistrer le fichier en UTF-8)",
    "UNQUOTED VALUE": "guillemets mal fermés",
    "LINE SIZE OVER MAXIMUM": "ligne trop longue",
}


def csv_read_sql(file: Path | str, delimiter: str, names: list[str], extra: str = "") -> str:
    columns = "{" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in names) + "}"
    return (
        f"read_csv({sql_str(str(file))}, header = true, all_varchar = true, auto_detect = false, "
        f"delim = {sql_str(delimiter)}, quote = '\"', escape = '\"', columns = {columns}{extra})"
    )


def check_csv_records(con: duckdb.DuckDBPyConnection, file: Path, delimiter: str, names: list[str]) -> int:
    """Read every record of a CSV once: each must have exactly the header's fields and be
    valid UTF-8. Returns the number of records; InputErrors naming each bad line (the line of
    the file, counted from the byte where the record starts: a quoted newline inside a cell
    does not shift it)."""
    n = next(_REJECT_IDS)
    errors, scans = f"vsm_rejects_{n}", f"vsm_reject_scans_{n}"
    cur = con.cursor()
    try:
        touched = ", ".join(f"count({sql_ident(c)})" for c in names)
        rows = cur.execute(
            f"SELECT count(*), {touched} FROM "
            + csv_read_sql(file, delimiter, names, f", store_rejects = true, rejects_table = '{errors}', rejects_scan = '{scans}'")
        ).fetchall()[0][0]  # fetched whole: the rejects table is written when the query ends
        exists = cur.execute(f"SELECT count(*) FROM duckdb_tables() WHERE table_name = '{errors}'").fetchone()[0]
        rejects = cur.execute(
            f"SELECT line_byte_position, error_type, error_message, count(*) OVER () FROM {errors} "
            f"ORDER BY line_byte_position LIMIT {MAX_LISTED_ERRORS}"
        ).fetchall() if exists else []
    except duckdb.Error as exc:
        raise VsmError(f"Fichier « {file} » illisible comme CSV : {str(exc).splitlines()[0]}") from None
    finally:
        for table in (errors, scans):
            try:
                cur.execute(f"DROP TABLE IF EXISTS {table}")
            except duckdb.Error:
                pass
        cur.close()
    if not rejects:
        return int(rows)
    lines = physical_lines_at(file, [int(r[0]) for r in rejects])
    problems = []
    for (_position, kind, message, _), line in zip(rejects, lines):
        found = re.search(r"Found: (\d+)", message or "")
        text = _CSV_REJECTS.get(kind, kind.lower()).format(found=found.group(1) if found else "?", expected=len(names))
        problems.append(f"ligne {line}, {text}")
    raise InputErrors(str(file), problems, total=int(rejects[0][3]))


_REJECT_IDS = itertools.count()


def physical_lines_at(file: Path | str, byte_positions: list[int]) -> list[int]:
    """The line of the file (from 1) on which each byte position lies."""
    out = []
    with open(file, "rb") as handle:
        data = handle.read(max(byte_positions) + 1) if byte_positions else b""
    for position in byte_positions:
        out.append(data.count(b"\n", 0, position) + 1)
    return out


def csv_record_lines(file: Path | str, delimiter: str, records: list[int]) -> dict[int, int]:
    """Record number (header = 1, first data record = 2, as row_number() + 1 gives) → the line
    of the file where it starts; differs only when a quoted cell holds a line break. Read
    on error paths only."""
    wanted = set(records)
    out: dict[int, int] = {}
    if not wanted:
        return out
    with open(file, encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        start = 1
        for number, _ in enumerate(reader, start=1):
            if number in wanted:
                out[number] = start
                if len(out) == len(wanted):
                    break
            start = reader.line_num + 1
    return out



# --------------------------------------------------------------------------- Parquet files


def check_parquet_files(con: duckdb.DuckDBPyConnection, path: Path, files: list[Path], schema: str) -> dict[str, str]:
    """Every declared column present with an accepted type in EACH file (a file of a folder
    lacking a column is refused, naming that file). Returns column → DuckDB type (the union)."""
    required, optional = schema_columns(schema)
    declared = (*required, *optional)
    listed = "[" + ", ".join(sql_str(str(f)) for f in files) + "]"
    try:
        physical = con.execute(
            f"SELECT file_name, list(name || ':' || coalesce(type, '') || ':' || coalesce(logical_type, '') || ':' "
            f"|| coalesce(converted_type, '') ORDER BY name) FROM parquet_schema({listed}) GROUP BY file_name"
        ).fetchall()
    except duckdb.Error as exc:
        raise VsmError(f"« {path} » illisible comme Parquet : {str(exc).splitlines()[0]}") from None
    by_signature: dict[tuple, list[str]] = {}
    for file_name, signature in physical:
        by_signature.setdefault(tuple(signature), []).append(file_name)
    columns: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    many = len(files) > 1 or path.is_dir()  # a file of a folder is always named
    for names in by_signature.values():
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_str(names[0])})").fetchall()
        except duckdb.Error as exc:
            raise VsmError(f"« {names[0]} » illisible comme Parquet : {str(exc).splitlines()[0]}") from None
        types = {name: str(kind) for name, kind, *_ in described}
        found: list[str] = []
        missing = [c for c in required if c not in types]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            found.append(
                f"colonne{plural} manquante{plural} : {', '.join(f'« {c} »' for c in missing)} "
                f"(colonnes attendues : {', '.join(required)}"
                + (f" ; facultatives : {', '.join(optional)}" if optional else "")
                + f" ; schéma params/schemas/{schema}.schema.json)"
            )
        for column in declared:
            if column in types:
                problem = type_problem(schema, column, types[column])
                if problem:
                    found.append(problem)
                previous = columns.setdefault(column, types[column])
                if previous != types[column] and not problem:
                    columns[column] = "VARCHAR" if "VARCHAR" in (previous, types[column]) else previous
        for name in sorted(names):
            problems += [(name, p) for p in found]
        for name, kind in types.items():
            columns.setdefault(name, kind)
    if problems:
        if not many:
            if len(problems) == 1:
                raise VsmError(f"Fichier « {path} » : {problems[0][1]}.")
            raise InputErrors(str(path), [p for _, p in problems])
        lines = [f"{Path(name).relative_to(path) if path.is_dir() else name}, {p}" for name, p in problems]
        raise InputErrors(str(path), lines)
    # columns present in only some files (optional ones) are read as NULL elsewhere
    return columns
