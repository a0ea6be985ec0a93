"""Results on disk: tables for machines (CSV with dot decimals, Parquet with exact decimals),
always written atomically so that an error never leaves a partial file behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .errors import VsmError
from .outputs import check_file_output, is_manifest, is_write_failure, public_mode, read_json, visible_entries, write_error

if TYPE_CHECKING:  # imported where used: the atomic-write helpers must stay light to import
    import numpy as np
    import pandas as pd
    import pyarrow as pa

MONEY_PRECISION, MONEY_SCALE = 14, 2


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it only if the block succeeds."""
    path = Path(path)
    intact = "Le fichier précédent est intact." if path.exists() else "Aucun fichier n'a été écrit."
    if path.is_dir():
        raise VsmError(f"Écriture impossible : « {path} » est un dossier, pas un fichier. Rien n'a été écrit.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except (FileExistsError, NotADirectoryError) as exc:
        raise VsmError(f"Écriture impossible dans « {path} » : un élément du chemin est un fichier, pas un dossier.") from exc
    except OSError as exc:
        raise write_error(exc, path, intact) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        public_mode(tmp_path)
        os.replace(tmp_path, path)
    except BaseException as exc:
        if is_write_failure(exc):
            raise write_error(exc, path, intact) from exc
        raise
    finally:
        if tmp_path.exists():
            with contextlib.suppress(OSError):
                tmp_path.unlink()


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
            import pyarrow.parquet as pq

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
    import pyarrow as pa

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
    import numpy as np

    limit = 10**MONEY_PRECISION
    if len(cents) and max(abs(int(cents.max())), abs(int(cents.min()))) >= limit:
        raise VsmError(
            f"Colonne « {name} » : montant hors limites (au-delà de {10 ** (MONEY_PRECISION - MONEY_SCALE):,} euros).".replace(",", " ")
        )
    return np.asarray(cents, dtype=np.int64)


def _copy_parquet(source: object, select: str, path: Path) -> None:
    """``select`` (reading table ``source``: a dict of numpy arrays or an Arrow table) to a
    Parquet file, by DuckDB."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("source", source)
        con.execute(f"COPY ({select}) TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()


def columns_to_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Results as numpy arrays (money in ``*_cents``) → the same table as a DataFrame, money as
    Decimal and dates as datetime.date (as the forfait's DataFrame results)."""
    import pandas as pd

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
    from .inputs import table_format

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
    import pandas as pd

    from .forfait import MONEY_COLUMNS
    from .inputs import table_format

    path = Path(path)
    if table_format(path) == "csv":
        frame = pd.read_csv(path, dtype={"ps_id": str, "region": str})
        for name in MONEY_COLUMNS:
            if name in frame.columns:
                frame[name] = [Decimal(str(v)).quantize(Decimal("0.01")) for v in frame[name]]
        return frame
    return pd.read_parquet(path)
