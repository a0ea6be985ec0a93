"""The results store: the one place that spells how results are laid out on disk, their
manifest (typed), whether they are still up to date, and the tables themselves.

A results folder (``vsm run``, ``vsm reports``)::

    <results>/manifest.json                               what was computed, from what (Manifest)
    <results>/<period>/resultats.parquet                  the results, money as decimal(14, 2)
    <results>/<period>/resultats.csv                      the same, dot decimals
    <results>/<period>/professionnels_sans_patientele.csv traces of professionals absent from the patientèle

A single results file (``vsm compute --out r.parquet``) has its manifest beside it:
``r.manifest.json``. Tables are written atomically (an error never leaves a partial file);
CSV with dot decimals, Parquet with exact decimals.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from . import __version__
from .errors import VsmError
from .ingest.tables import blake3_file, files_of, sha256_file, table_format
from .outputs import (
    MANIFEST_FILE,
    absolute,
    atomic_path,
    check_file_output,
    check_folder_output,
    is_leftover_name,
    read_json,
    visible_entries,
)
from .paths import PACKAGE_DIR

# Start-up time: the checks of an output path run before any computation (`vsm compute`,
# `vsm exemples`, `vsm structure`) and must stay light to import; numpy, pandas, pyarrow,
# DuckDB and the forfait (numpy) are imported where used, the forfait meanwhile by
# _startup.warm_up during a run.
if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from .ingest.extracts import Extract
    from .rules import RuleSet

# --------------------------------------------------------------------------- layout

RESULTS_FILE = "resultats.parquet"  # <results>/<period>/resultats.parquet
RESULTS_CSV = "resultats.csv"  # <results>/<period>/resultats.csv
UNMATCHED_FILE = "professionnels_sans_patientele.csv"  # <results>/<period>/…
PERIOD_FILES = (RESULTS_FILE, RESULTS_CSV, UNMATCHED_FILE)  # in the order they are written
# MANIFEST_FILE (manifest.json): <results>/manifest.json, the name every vsm output folder's
# manifest has (vsm.outputs puts a folder back after an interrupted swap by it)


def default_results_dir(rules_id: str) -> Path:
    """Where a rule set's results go when no folder is named: data/resultats/<rule set>
    (relative: to the caller's working directory for the commands, to the project for the
    notebooks)."""
    return Path("data") / "resultats" / rules_id


def results_path(results_dir: str | Path, period: str) -> Path:
    """``<results>/<period>/resultats.parquet``."""
    return Path(results_dir) / period / RESULTS_FILE


def manifest_path(results_dir: str | Path) -> Path:
    """``<results>/manifest.json``."""
    return Path(results_dir) / MANIFEST_FILE


def structure_results_path(results_dir: str | Path, structure_rules_id: str) -> Path:
    """The forfait structure's results beside a results folder (``vsm reports``):
    ``<results>/../<structure rule set>/resultats.parquet``, with ``resultats.json`` beside it."""
    return Path(results_dir).parent / structure_rules_id / RESULTS_FILE


def file_manifest_path(out: Path) -> Path:
    """The manifest beside a single results file: ``r.parquet`` → ``r.manifest.json``."""
    return out.with_name(out.stem + ".manifest.json")


def output_entry(path: Path, relative: str) -> dict:
    """A written file as the manifest lists it (``periods.<p>.outputs``)."""
    return {"path": relative, "sha256": file_sha256(path)}


def file_sha256(path: Path) -> str:
    """SHA-256 of a written results file (the manifest records it)."""
    return sha256_file(path)


MONEY_PRECISION, MONEY_SCALE = 14, 2


# --------------------------------------------------------------------------- manifest


@dataclass
class Manifest:
    """What a results folder (or file) was computed from and what it holds; on disk, the JSON
    object with these six sections in this order (``to_json``). Every input row is accounted
    for in ``periods.<p>.feeds_rows_by_reason`` / ``patientele_rows_by_reason``.

    - tool: name « vsm », version, source_sha256 (code_sha256), duckdb and pandas versions;
    - rules: id, label, path, files, sha256 of the rule set;
    - parameters: periods, population, the indicator's codes and rule;
    - inputs: ``feeds`` and ``patientele``, each as ``input_entry`` gives it;
    - periods: per period, the counts, totals and ``outputs`` (name → ``output_entry``);
    - seconds: timings (the only part that changes between two runs on the same inputs).
    """

    tool: dict
    rules: dict
    parameters: dict
    inputs: dict
    periods: dict
    seconds: dict

    @staticmethod
    def recognises(data: object) -> bool:
        """Whether ``data`` (parsed JSON) is a manifest vsm wrote: the tool's name and the sections."""
        return (
            isinstance(data, dict)
            and isinstance(data.get("tool"), dict)
            and data["tool"].get("name") == "vsm"
            and isinstance(data.get("periods"), dict)
            and isinstance(data.get("inputs"), dict)
        )

    @classmethod
    def from_dict(cls, data: dict) -> Manifest:
        return cls(**{name: data.get(name, {}) for name in cls.__dataclass_fields__})

    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        """The manifest at ``path``; None when absent, unreadable or not vsm's."""
        data = read_json(path)
        return cls.from_dict(data) if cls.recognises(data) else None

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2) + "\n"

    def write(self, path: Path, into: Path | None = None) -> None:
        """Written atomically at ``path`` (or as is to ``into``, a temporary file the caller puts in place)."""
        with _target(Path(path), into) as tmp:
            tmp.write_text(self.to_json(), encoding="utf-8")

    def output_files(self) -> set[str]:
        """The files the manifest lists (relative POSIX paths), itself included."""
        files = {MANIFEST_FILE}
        for entry in self.periods.values():
            outputs = entry.get("outputs", {}) if isinstance(entry, dict) else {}
            for item in outputs.values():
                if isinstance(item, dict) and isinstance(item.get("path"), str):
                    files.add(item["path"])
        return files


def is_manifest(data: dict | None) -> bool:
    """A manifest written by vsm (Manifest.recognises)."""
    return Manifest.recognises(data)


def read_manifest(results_dir: str | Path) -> dict:
    """The manifest of a results folder, as parsed JSON; a French VsmError when absent or unreadable."""
    path = manifest_path(results_dir)
    if not path.is_file():
        raise VsmError(
            f"Manifeste introuvable : « {path} ». Calculer d'abord les résultats (« vsm run » ou « vsm reports »)."
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise VsmError(f"Manifeste illisible : « {path} » (JSON invalide).") from None


def input_entry(extract: Extract) -> dict:
    """An extract as the manifest records it: path, format, rows, and each file with its BLAKE3."""
    return {
        "path": str(extract.path),
        "format": extract.kind,
        "rows": extract.rows,
        "files": [{"path": f.path, "blake3": f.blake3, "rows": f.rows} for f in extract.file_info],
    }


def code_sha256() -> str:
    """SHA-256 of the package's source (every .py file under vsm/, its packages included, by its
    path there): results computed by other code are stale even under the same version number."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        name = path.relative_to(PACKAGE_DIR)
        if name.parts[0] == "_project":  # an installed wheel's copy of params/ and notebooks/ (setup.py)
            continue
        digest.update(name.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


# --------------------------------------------------------------------------- results folders


def results_folder_files(folder: Path) -> set[str] | None:
    """The files (relative POSIX paths) that vsm wrote in results folder ``folder``, from
    its manifest; None when the folder is not a vsm results folder."""
    manifest = Manifest.read(manifest_path(folder))
    return None if manifest is None else manifest.output_files()


def is_results_folder(folder: Path) -> bool:
    """Whether every entry of ``folder`` is something vsm's manifest there says it wrote (a
    folder with one foreign file in it is not replaced: the file would be lost)."""
    folder = Path(folder)
    known = results_folder_files(folder)
    if known is None:
        return False
    dirs = {str(Path(p).parent.as_posix()) for p in known if "/" in p}
    for entry in folder.rglob("*"):
        rel = entry.relative_to(folder).as_posix()
        if is_leftover_name(entry.name):
            continue
        if entry.is_dir() and not entry.is_symlink():
            if rel not in dirs:
                return False
        elif rel not in known:
            return False
    return True


def unknown_entries(folder: Path) -> list[str]:
    """Entries of a vsm results folder that its manifest does not list (for the message)."""
    known = results_folder_files(folder) or set()
    dirs = {str(Path(p).parent.as_posix()) for p in known if "/" in p}
    found = []
    for entry in Path(folder).rglob("*"):
        rel = entry.relative_to(folder).as_posix()
        if is_leftover_name(entry.name) or rel in known or (entry.is_dir() and rel in dirs):
            continue
        found.append(rel)
    return sorted(found)


def check_results_out(out_dir: Path, inputs: tuple) -> Path:
    """The results folder ``out_dir`` (absolute) if vsm may replace it (absent, empty, or a
    vsm results folder holding only what its manifest lists), else a French VsmError."""
    out_dir = absolute(out_dir)
    if out_dir.is_dir() and results_folder_files(out_dir) is not None:
        foreign = unknown_entries(out_dir)
        if foreign:
            shown = ", ".join(f"« {name} »" for name in foreign[:5]) + (" …" if len(foreign) > 5 else "")
            raise VsmError(
                f"Dossier de résultats « {out_dir} » : il contient des fichiers que vsm n'a pas écrits ({shown}) ; "
                "le remplacer les effacerait. Les déplacer, ou donner un autre --out ; rien n'a été modifié."
            )
    return check_folder_output(
        out_dir, inputs, own=is_results_folder, what="Dossier de résultats",
        kind="un dossier de résultats de vsm (manifest.json)",
    )


def check_output_path(path: Path | str) -> Path:
    """Fail early (before any computation) when the output name is not .csv/.parquet."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise VsmError(f"Fichier de sortie « {path} » : extension .csv ou .parquet attendue.")
    return path


def is_vsm_file(path: Path) -> bool:
    """Whether an existing file looks like one vsm writes (and so may be replaced): a table
    whose first column is ``ps_id`` (results, counts, payments, indicators), the examples'
    check table, or a vsm manifest."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = read_json(path)  # a results manifest, or the forfait structure's (vsm.batch)
            return is_manifest(data) or (isinstance(data, dict) and set(data) == {"rules", "rules_sha256", "input"})
        if suffix == ".csv":
            with open(path, encoding="utf-8-sig", errors="replace") as handle:
                header = handle.readline().strip()
            return header.startswith("ps_id,") or header == "ps_id" or header.startswith("id,label,stated_amount_eur,")
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq  # start-up time (see above)

            names = pq.read_schema(path).names
            return bool(names) and names[0] == "ps_id"
    except Exception:  # noqa: BLE001 — unreadable: not recognised, hence not replaced
        return False
    return path.stat().st_size == 0  # an empty file holds nothing to lose


EXAMPLES_FILES = ("effectifs.csv", "resultats.csv", "verification.csv")


def is_examples_folder(folder: Path) -> bool:
    """A folder written by « vsm exemples --out »: only its three tables."""
    return all(p.name in EXAMPLES_FILES and p.is_file() and is_vsm_file(p) for p in visible_entries(Path(folder)))


def check_results_file(path: Path | str, inputs: tuple = ()) -> Path:
    """``path`` (absolute) if vsm may write a table or manifest there: not a folder, not under
    a file, not an input, and, if it exists, a file vsm recognises as its own."""
    return check_file_output(path, inputs, own=is_vsm_file)


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """DataFrame → Arrow table with money as decimal128(14, 2) and text ids as strings."""
    import pyarrow as pa  # start-up time (see the imports above)

    from .forfait import MONEY_COLUMNS

    money_type = pa.decimal128(MONEY_PRECISION, MONEY_SCALE)
    fields, arrays = [], []
    for name in frame.columns:
        values = frame[name]
        if name in MONEY_COLUMNS:
            try:  # Decimal values (the usual case) convert natively, ten times faster
                array = pa.array(values.tolist(), type=money_type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                array = pa.array([None if v is None else Decimal(v) for v in values], type=money_type)
        else:
            array = pa.Array.from_pandas(values)
            if pa.types.is_large_string(array.type) or str(values.dtype) == "string":
                array = array.cast(pa.string())
        fields.append(pa.field(name, array.type))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _check_money(cents: np.ndarray, name: str) -> np.ndarray:
    """Cents as int64, refused beyond the money type's precision (decimal(14, 2))."""
    import numpy as np  # start-up time (see the imports above)

    limit = 10**MONEY_PRECISION
    if len(cents) and max(abs(int(cents.max())), abs(int(cents.min()))) >= limit:
        raise VsmError(
            f"Colonne « {name} » : montant hors limites (au-delà de {10 ** (MONEY_PRECISION - MONEY_SCALE):,} euros).".replace(",", " ")
        )
    return np.asarray(cents, dtype=np.int64)


def _copy_parquet(source: object, select: str, path: Path) -> None:
    """``select`` (reading table ``source``: a dict of numpy arrays or an Arrow table) to a
    Parquet file, by DuckDB."""
    import duckdb  # start-up time (see the imports above)

    con = duckdb.connect()
    try:
        con.register("source", source)
        con.execute(f"COPY ({select}) TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()


def columns_to_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Results as numpy arrays (money in ``*_cents``) → the same table as a DataFrame, money as
    Decimal and dates as datetime.date (as the forfait's DataFrame results)."""
    import pandas as pd  # start-up time (see the imports above)

    from .forfait import in_euros

    return pd.DataFrame(
        {
            name: values.astype("datetime64[D]").astype(object) if values.dtype.kind == "M" else values
            for name, values in in_euros(columns).items()
        }
    )


def write_columns(columns: dict[str, np.ndarray], path: Path | str, into: Path | None = None) -> Path:
    """Write results given as numpy arrays, atomically. Parquet straight from the arrays by
    DuckDB (neither pandas nor pyarrow is imported: half a second at national scale), with the
    same types, and the same bytes, as ``write_table`` gives for the same results as a
    DataFrame; CSV through the DataFrame."""
    path = check_output_path(path)
    if path.suffix.lower() == ".csv":
        return write_table(columns_to_frame(columns), path, into=into)
    data, select = {}, []
    for name, values in columns.items():
        key = f"c{len(data)}"
        if name.endswith("_cents"):
            data[key] = _check_money(values, name)
            name = name.removesuffix("_cents") + "_eur"
            select.append(
                f'CAST(CAST({key} AS DECIMAL(18, 0)) * 0.01 AS DECIMAL({MONEY_PRECISION}, {MONEY_SCALE})) AS "{name}"'
            )
        elif values.dtype.kind == "M":
            data[key] = values.astype("datetime64[us]")
            select.append(f'CAST({key} AS DATE) AS "{name}"')
        elif values.dtype == object:
            data[key] = values
            select.append(f'CAST({key} AS VARCHAR) AS "{name}"')
        elif values.dtype.kind == "f":  # an undefined share (0 / 0) is NaN here, null on disk
            data[key] = values
            select.append(f'CASE WHEN isnan({key}) THEN NULL ELSE {key} END AS "{name}"')
        else:
            data[key] = values
            select.append(f'{key} AS "{name}"')
    with _target(path, into) as tmp:
        _copy_parquet(data, f"SELECT {', '.join(select)} FROM source", tmp)
    return path


@contextlib.contextmanager
def _target(path: Path, into: Path | None) -> Iterator[Path]:
    """Where to write ``path``'s bytes: a temporary file renamed onto it (atomic_path), or
    ``into`` as is (a temporary file that the caller puts in place)."""
    if into is None:
        with atomic_path(path) as tmp:
            yield tmp
    else:
        yield Path(into)


def write_table(frame: pd.DataFrame, path: Path | str, into: Path | None = None) -> Path:
    """Write a table, by extension, atomically. Money in CSV: « 2250.00 »; in Parquet,
    decimal(14, 2) (written by DuckDB, as ``write_columns`` does)."""
    path = check_output_path(path)
    kind = table_format(path)
    with _target(path, into) as tmp:
        if kind == "csv":
            frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        else:
            _copy_parquet(to_arrow(frame), "SELECT * FROM source", tmp)
    return path


def read_results(path: Path | str) -> pd.DataFrame:
    """Read back a results table; money columns come back as Decimal."""
    import pandas as pd  # start-up time (see the imports above)

    from .forfait import MONEY_COLUMNS
    path = Path(path)
    if table_format(path) == "csv":
        frame = pd.read_csv(path, dtype={"ps_id": str, "region": str})
        for name in MONEY_COLUMNS:
            if name in frame.columns:
                frame[name] = [Decimal(str(v)).quantize(Decimal("0.01")) for v in frame[name]]
        return frame
    return pd.read_parquet(path)


# --------------------------------------------------------------------------- staleness


def staleness(rules: RuleSet, results_dir: Path) -> str | None:
    """Why the results in ``results_dir`` cannot be used as they are (None: up to date).

    Up to date only when the whole input set is the same as when they were computed: the
    same rule set (id and hash), the same code (version and source hash), every period's
    results present, and for each extract the same list of files — listed again now, as the
    pipeline would read them (a file added to or removed from a feeds folder makes the results
    stale) — with the same contents (BLAKE3)."""
    path = manifest_path(results_dir)
    if not path.is_file():
        return "absents"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "illisibles (manifeste invalide)"
    if not Manifest.recognises(data):
        return "illisibles (manifeste invalide)"
    manifest = Manifest.from_dict(data)
    recorded = manifest.rules
    if recorded.get("id") != rules.id or recorded.get("sha256") != rules.sha256:
        return "calculés avec un autre jeu de règles"
    tool = manifest.tool
    if tool.get("version") != __version__ or tool.get("source_sha256") != code_sha256():
        return "calculés par une autre version de vsm"
    for period in rules.periods:
        if period not in manifest.periods or not results_path(results_dir, period).is_file():
            return f"incomplets (période {period} absente)"
    for name in ("feeds", "patientele"):
        entry = manifest.inputs.get(name)
        if not isinstance(entry, dict) or "path" not in entry:
            return "illisibles (manifeste invalide)"
        try:
            _kind, files = files_of(Path(entry["path"]))
        except VsmError:
            return f"périmés (l'extraction « {entry['path']} » est introuvable ou illisible)"
        recorded_files = {str(item.get("path")): item.get("blake3") for item in entry.get("files", [])}
        now = {str(f) for f in files}
        added, removed = sorted(now - set(recorded_files)), sorted(set(recorded_files) - now)
        if added:
            return f"périmés (fichier ajouté à l'extraction : « {added[0]} »)"
        if removed:
            return f"périmés (fichier retiré de l'extraction : « {removed[0]} »)"
        for file, digest in recorded_files.items():
            if blake3_file(Path(file)) != digest:
                return f"périmés (l'extraction « {file} » a changé)"
    return None


def computed_from(results_dir: Path, extracts: tuple[Path, Path]) -> bool | None:
    """Whether the results were computed from these extracts (None: unreadable manifest)."""
    try:
        inputs = json.loads(manifest_path(results_dir).read_text(encoding="utf-8")).get("inputs", {})
        used = (Path(inputs["feeds"]["path"]).resolve(), Path(inputs["patientele"]["path"]).resolve())
    except (json.JSONDecodeError, KeyError, TypeError):
        return None
    return used == (Path(extracts[0]).resolve(), Path(extracts[1]).resolve())
