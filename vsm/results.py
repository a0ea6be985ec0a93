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

if TYPE_CHECKING:  # imported where used: the atomic-write helpers must stay light to import
    import numpy as np
    import pandas as pd
    import pyarrow as pa

MONEY_PRECISION, MONEY_SCALE = 14, 2


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def public_mode(path: Path) -> None:
    """Give a file or folder made by mkstemp/mkdtemp the usual permissions (umask applied)."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        public_mode(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def check_output_path(path: Path | str) -> Path:
    """Fail early (before any computation) when the output name is not .csv/.parquet."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise VsmError(f"Fichier de sortie « {path} » : extension .csv ou .parquet attendue.")
    return path


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


def money_array(cents: np.ndarray) -> pa.Array:
    """Integer cents → decimal128(14, 2), exactly: the cents are the decimal's unscaled value
    (16-byte little-endian two's complement, built in numpy, no Decimal per row)."""
    import numpy as np
    import pyarrow as pa

    money_type = pa.decimal128(MONEY_PRECISION, MONEY_SCALE)
    if cents.dtype == object:  # beyond int64 (only in extreme tests): through Decimal
        return pa.array([Decimal(int(c)).scaleb(-MONEY_SCALE) for c in cents], type=money_type)
    cents = np.ascontiguousarray(cents, dtype=np.int64)
    if len(cents) and int(np.abs(cents).max()) >= 10**MONEY_PRECISION:
        raise VsmError(f"Montant hors limites : plus de {10 ** (MONEY_PRECISION - MONEY_SCALE):,} euros.".replace(",", " "))
    words = np.empty((len(cents), 2), dtype="<i8")
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension
    return pa.Array.from_buffers(money_type, len(cents), [None, pa.py_buffer(words.tobytes())])


def columns_to_arrow(columns: dict[str, np.ndarray]) -> pa.Table:
    """Results as numpy arrays (money in ``*_cents``) → the Arrow table that ``to_arrow`` makes
    of the same results as a DataFrame: same names, order, types and nulls, so the Parquet
    files are identical to the byte. DuckDB converts the arrays (pyarrow's own converter
    would import pandas, half a second); money is built from the cents."""
    import duckdb
    import pyarrow as pa

    data, select = {}, []  # ``data`` is read by DuckDB by its name
    for name, values in columns.items():
        if name.endswith("_cents"):
            continue
        key = f"c{len(data)}"
        if values.dtype.kind == "M":
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
    con = duckdb.connect()
    try:
        plain = con.sql(f"SELECT {', '.join(select)} FROM data").to_arrow_table()
    finally:
        con.close()
    fields, arrays = [], []
    for name, values in columns.items():
        if name.endswith("_cents"):
            name, array = name.removesuffix("_cents") + "_eur", money_array(values)
        else:
            array = plain.column(name).combine_chunks()
        fields.append(pa.field(name, array.type))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_columns(columns: dict[str, np.ndarray], path: Path | str) -> Path:
    """Write results given as numpy arrays, atomically: Parquet straight from the arrays
    (pandas is not needed), CSV through a DataFrame (as ``write_table``)."""
    import pyarrow.parquet as pq

    path = check_output_path(path)
    if path.suffix.lower() == ".csv":
        return write_table(columns_to_arrow(columns).to_pandas(), path)
    with atomic_path(path) as tmp:
        pq.write_table(columns_to_arrow(columns), tmp, compression="zstd")
    return path


def write_table(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write a results table, by extension, atomically. Money in CSV: « 2250.00 »."""
    import pyarrow.parquet as pq

    from .inputs import table_format

    path = check_output_path(path)
    kind = table_format(path)
    with atomic_path(path) as tmp:
        if kind == "csv":
            frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
        else:
            pq.write_table(to_arrow(frame), tmp, compression="zstd")
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
