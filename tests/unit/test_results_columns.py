"""Results computed from the extracts stay numpy arrays until written: the Parquet writer
from arrays gives the same file, to the byte, as the DataFrame writer, and `vsm compute`
from extracts to Parquet imports neither pandas nor pyarrow (about half a second at
national scale)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from test_aggregate import extracts  # noqa: F401 — fixture
from vsm.errors import VsmError
from vsm.pipeline import compute_extracts, run
from vsm.store import write_columns, write_table
from vsm.rules import load_rules


def test_money_from_cents_is_exact_on_disk(tmp_path):
    cents = np.array([0, 1, 99, 100, 225000, 187688, 10**14 - 1, -5], dtype=np.int64)
    columns = {"ps_id": np.array([f"P{i}" for i in range(len(cents))], dtype=object), "amount_cents": cents}
    write_columns(columns, tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.schema.field("amount_eur").type == pa.decimal128(14, 2)
    assert table.column("amount_eur").to_pylist() == [Decimal(int(c)).scaleb(-2) for c in cents]
    assert str(table.column("amount_eur")[5].as_py()) == "1876.88"


def test_money_beyond_the_precision_is_refused(tmp_path):
    columns = {"ps_id": np.array(["P"], dtype=object), "amount_cents": np.array([10**14], dtype=np.int64)}
    with pytest.raises(VsmError, match="hors limites"):
        write_columns(columns, tmp_path / "r.parquet")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("period", ["P1", "P2"])
def test_writer_from_arrays_and_writer_from_dataframe_give_the_same_bytes(extracts, tmp_path, period):  # noqa: F811
    rules = load_rules("medecins-2024")
    run(rules, *extracts, tmp_path / "all")  # P2 with its complement
    data = compute_extracts(rules, period, *extracts, tmp_path / "alone.parquet")
    period_run = data["_run"]
    for suffix in ("parquet", "csv"):
        write_columns(period_run.columns, tmp_path / f"arrays.{suffix}")
        write_table(period_run.results, tmp_path / f"frame.{suffix}")
        assert (tmp_path / f"arrays.{suffix}").read_bytes() == (tmp_path / f"frame.{suffix}").read_bytes()
    if period == "P1":  # no complement: the command's file is the run's file
        assert (tmp_path / "alone.parquet").read_bytes() == (tmp_path / "all" / "P1" / "resultats.parquet").read_bytes()


def test_compute_from_extracts_to_parquet_does_not_import_pandas(extracts, tmp_path):  # noqa: F811
    feeds, patientele = extracts
    out = tmp_path / "p1.parquet"
    code = (
        "import sys\n"
        "from vsm.cli import cli\n"
        f"cli(['compute', '--rules', 'medecins-2024', '--period', 'P1', '--feeds', {str(feeds)!r}, "
        f"'--patientele', {str(patientele)!r}, '--out', {str(out)!r}], standalone_mode=False)\n"
        "print('pandas' in sys.modules or 'pyarrow' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stdout
    assert "Montant total : 3 000,00 €" in done.stdout.replace("\u202f", " ").replace("\xa0", " ")
    assert out.is_file() and Path(str(out).replace(".parquet", ".manifest.json")).is_file()
