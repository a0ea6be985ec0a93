"""The pipeline from extracts to results: read and validate the two extracts, aggregate each
period in DuckDB, compute the forfait (with the complement of a later period), and write
results plus a manifest that accounts for every input row.

Results are deterministic (rows sorted by ps_id, no timestamps inside): running twice on
the same inputs gives byte-identical result files. Timings live only in the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from . import __version__
from .aggregate import FEED_REASONS, PATIENTELE_REASONS, Aggregate, RunningTally, aggregate_periods
from .errors import VsmError
from .extracts import FEEDS_SCHEMA, Extract, load_patientele, open_extract
from .rules import RuleSet

if TYPE_CHECKING:
    import pandas as pd

# pandas, numpy and pyarrow take a few tenths of a second to import: a thread imports them
# while DuckDB reads the extracts (DuckDB releases the GIL while it works).


def _import_compute_modules() -> None:
    from . import forfait, results  # noqa: F401


def warm_up() -> threading.Thread:
    thread = threading.Thread(target=_import_compute_modules, name="imports", daemon=True)
    thread.start()
    return thread

DEMO_DIR = Path("data") / "demo"


@dataclass
class PeriodRun:
    period: str
    results: pd.DataFrame
    aggregate: Aggregate
    seconds: dict[str, float] = field(default_factory=dict)


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads = {max(os.cpu_count() or 1, 1)}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")  # our own messages only
    return con


@dataclass
class Inputs:
    feeds: Extract
    patientele: Extract
    tally: RunningTally


def open_inputs(con: duckdb.DuckDBPyConnection, feeds: Path | str, patientele: Path | str, rules: RuleSet, periods: list[str]) -> Inputs:
    """Check the traces' columns and start their tally (it validates every row that may fall
    in a period) in the background, while the patientèle is validated and loaded."""
    feeds_extract = open_extract(con, feeds, FEEDS_SCHEMA)
    tally = RunningTally(con, feeds_extract, rules, periods)
    try:
        patientele_extract = load_patientele(con, patientele)
    except BaseException:
        tally.stop()
        raise
    return Inputs(feeds_extract, patientele_extract, tally)


def compute_periods(
    con: duckdb.DuckDBPyConnection,
    inputs: Inputs,
    rules: RuleSet,
    periods: list[str],
    paid: pd.DataFrame | None = None,
) -> dict[str, PeriodRun]:
    """Aggregate every period from two scans of the traces, then compute each in order; a
    period that completes an earlier one computed here gets its amounts as already paid
    (``paid`` serves a single complement period computed alone)."""
    started = time.perf_counter()
    aggregates = aggregate_periods(con, inputs.feeds, rules, periods, tally=inputs.tally)
    aggregated = time.perf_counter()
    from .forfait import compute  # imported (pandas) in the background while DuckDB scanned

    runs: dict[str, PeriodRun] = {}
    for pid in periods:
        t0 = time.perf_counter()
        base = rules.period(pid).complement_of
        period_paid = paid_from(runs[base].results) if base in runs else paid
        results = compute(aggregates[pid].counts, rules, pid, paid=period_paid, source=f"effectifs agrégés ({pid})")
        runs[pid] = PeriodRun(
            pid,
            results,
            aggregates[pid],
            {"aggregate_all_periods": round(aggregated - started, 3), "compute": round(time.perf_counter() - t0, 3)},
        )
    return runs


def paid_from(results: pd.DataFrame) -> pd.DataFrame:
    """An earlier period's results as amounts already paid."""
    return results[["ps_id", "amount_eur"]].rename(columns={"amount_eur": "paid_eur"})


# --------------------------------------------------------------------------- manifest


def _input_entry(extract: Extract) -> dict:
    return {
        "path": str(extract.path),
        "format": extract.kind,
        "rows": extract.rows,
        "files": [{"path": f.path, "blake3": f.blake3, "rows": f.rows} for f in extract.file_info],
    }


def period_entry(rules: RuleSet, run: PeriodRun) -> dict:
    from .forfait import total

    p = rules.period(run.period)
    agg = run.aggregate
    results = run.results
    entry = {
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "payment": p.payment,
        "complement_of": p.complement_of,
        "snapshot_dates": sorted({d.isoformat() for d in results["snapshot_date"]}) if "snapshot_date" in results else [],
        "feeds_rows_by_reason": {
            reason: {"label": FEED_REASONS[reason], "rows": rows} for reason, rows in agg.feed_tally.items()
        },
        "feeds_rows_total": sum(agg.feed_tally.values()),
        "patientele_rows_by_reason": {
            reason: {"label": PATIENTELE_REASONS[reason], "rows": rows} for reason, rows in agg.patientele_tally.items()
        },
        "patientele_rows_total": sum(agg.patientele_tally.values()),
        "professionals_without_patientele": [
            {"ps_id": r.ps_id, "rows": int(r.rows), "dmp_vsm": int(r.dmp_vsm)} for r in agg.unmatched.itertuples()
        ],
        "professionals": int(len(results)),
        "eligible": int(results["eligible"].sum()),
        "paid": int((results["amount_eur"] > Decimal(0)).sum()),
        "majorated": int(results["majoration"].sum()),
        "amount_eur": str(total(results)),
        "seconds": run.seconds,
    }
    if "complement_eur" in results.columns:
        entry["complements"] = int((results["complement_eur"] > Decimal(0)).sum())
        entry["complement_eur"] = str(total(results, "complement_eur"))
    return entry


def manifest(rules: RuleSet, feeds: Extract, patientele: Extract, runs: list[PeriodRun], files: dict[str, dict], seconds: dict) -> dict:
    import pandas as pd

    return {
        "tool": {"name": "vsm", "version": __version__, "duckdb": duckdb.__version__, "pandas": pd.__version__},
        "rules": {"id": rules.id, "label": rules.label, "path": rules.path, "files": list(rules.files), "sha256": rules.sha256},
        "parameters": {
            "periods": [run.period for run in runs],
            "population": rules.population,
            "type_codes": rules.indicator.type_codes.value,
            "structured_format_codes": rules.indicator.structured_format_codes.value,
            "structured_rule": rules.indicator.structured_rule.value,
        },
        "inputs": {"feeds": _input_entry(feeds), "patientele": _input_entry(patientele)},
        "periods": {run.period: {**period_entry(rules, run), "outputs": files.get(run.period, {})} for run in runs},
        "seconds": seconds,
    }


def write_manifest(data: dict, path: Path) -> None:
    from .results import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _sha256(path: Path) -> str:
    from .extracts import sha256_file

    return sha256_file(path)


# --------------------------------------------------------------------------- run


def run(
    rules: RuleSet,
    feeds: Path | str,
    patientele: Path | str,
    out_dir: Path | str,
    periods: list[str] | None = None,
) -> dict:
    """Every period of the rule set (or those given), in order, each later period getting the
    complement of the one it completes; results and manifest written to ``out_dir``
    atomically (a temporary folder renamed at the end). Returns the manifest."""
    out_dir = Path(out_dir)
    for pid in periods or []:
        rules.period(pid)  # unknown period → French error listing the valid ones
    wanted = list(rules.periods) if periods is None else list(periods)
    for pid in wanted:
        base = rules.period(pid).complement_of
        if base is not None and base not in wanted:
            wanted.insert(wanted.index(pid), base)
    wanted = [p for p in rules.periods if p in wanted]
    t0 = time.perf_counter()
    warm_up()
    from .results import public_mode, write_table

    con = connect()
    try:
        inputs = open_inputs(con, feeds, patientele, rules, wanted)
        feeds_extract, patientele_extract = inputs.feeds, inputs.patientele
        t_inputs = time.perf_counter()
        runs = compute_periods(con, inputs, rules, wanted)
    finally:
        con.close()
    t_compute = time.perf_counter()

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        files: dict[str, dict] = {}
        for pid, period_run in runs.items():
            folder = staging / pid
            folder.mkdir()
            written = {}
            for name in ("resultats.parquet", "resultats.csv"):
                write_table(period_run.results, folder / name)
                written[name] = {"path": f"{pid}/{name}", "sha256": _sha256(folder / name)}
            unmatched = folder / "professionnels_sans_patientele.csv"
            write_table(period_run.aggregate.unmatched, unmatched)
            written[unmatched.name] = {"path": f"{pid}/{unmatched.name}", "sha256": _sha256(unmatched)}
            files[pid] = written
        t_write = time.perf_counter()
        data = manifest(
            rules,
            feeds_extract,
            patientele_extract,
            list(runs.values()),
            files,
            {
                "inputs": round(t_inputs - t0, 3),
                "periods": round(t_compute - t_inputs, 3),
                "write": round(t_write - t_compute, 3),
                "total": round(t_write - t0, 3),
            },
        )
        write_manifest(data, staging / "manifest.json")
        public_mode(staging)
        _replace_dir(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return data


def _replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` in place of ``target`` (which may exist)."""
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old)
    else:
        os.replace(new, target)


def compute_extracts(
    rules: RuleSet,
    period: str,
    feeds: Path | str,
    patientele: Path | str,
    out: Path | str,
    paid: pd.DataFrame | None = None,
) -> dict:
    """One period from the extracts to ``out`` (CSV or Parquet) and ``<out>.manifest.json``."""
    t0 = time.perf_counter()
    from .results import check_output_path

    out = check_output_path(out)
    rules.period(period)
    warm_up()
    con = connect()
    try:
        inputs = open_inputs(con, feeds, patientele, rules, [period])
        feeds_extract, patientele_extract = inputs.feeds, inputs.patientele
        t_inputs = time.perf_counter()
        period_run = compute_periods(con, inputs, rules, [period], paid=paid)[period]
    finally:
        con.close()
    t_compute = time.perf_counter()
    from .results import write_table

    manifest_path = out.with_name(out.stem + ".manifest.json")
    write_table(period_run.results, out)
    t_write = time.perf_counter()
    files = {period: {out.name: {"path": out.name, "sha256": _sha256(out)}}}
    data = manifest(
        rules,
        feeds_extract,
        patientele_extract,
        [period_run],
        files,
        {
            "inputs": round(t_inputs - t0, 3),
            "periods": round(t_compute - t_inputs, 3),
            "write": round(t_write - t_compute, 3),
            "total": round(t_write - t0, 3),
        },
    )
    try:
        write_manifest(data, manifest_path)
    except Exception:
        out.unlink(missing_ok=True)
        raise
    data["_results"] = period_run.results
    return data


def ensure_demo_data(root: Path = DEMO_DIR, seed: int = 2024) -> tuple[Path, Path]:
    """The embedded demo extracts, generated on first use (deterministic for the seed)."""
    feeds, patientele = root / "feeds", root / "patientele.parquet"
    if not (feeds.is_dir() and patientele.is_file()):
        from .synth import synthesize

        synthesize(root, scale="demo", seed=seed)
    if not (feeds.is_dir() and patientele.is_file()):
        raise VsmError(f"Données de démonstration introuvables dans « {root} ».")
    return feeds, patientele
