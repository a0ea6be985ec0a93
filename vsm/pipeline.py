"""The pipeline from extracts to results, in the order of this file:

1. ingest (vsm.ingest): open and validate the two extracts (``open_inputs``);
2. aggregate (vsm.aggregate): every period's counts per professional, in DuckDB;
3. forfait (vsm.forfait): each period computed, with the complement of a later period
   (``compute_periods``);
4. store (vsm.store): the results and a manifest that accounts for every input row
   (``run`` for a results folder, ``compute_extracts`` for one results file).

Results are deterministic (rows sorted by ps_id, no timestamps inside): running twice on
the same inputs gives byte-identical result files. Timings live only in the manifest.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from . import __version__
from ._startup import warm_up
from .aggregate import FEED_REASONS, PATIENTELE_REASONS, Aggregate, RunningTally, aggregate_periods
from .errors import VsmError
from .ingest.extracts import Extract, load_patientele, open_extract
from .ingest.schema import FEEDS_SCHEMA
from .outputs import absolute, clean_leftovers, output_lock, staged_folder
from .rules import RuleSet
from .store import (
    PERIOD_FILES,
    RESULTS_CSV,
    RESULTS_FILE,
    UNMATCHED_FILE,
    Manifest,
    atomic_path,
    check_output_path,
    check_results_file,
    check_results_out,
    code_sha256,
    file_manifest_path,
    input_entry,
    manifest_path,
    output_entry,
    write_columns,
    write_table,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DEMO_DIR = Path("data") / "demo"


@dataclass
class PeriodRun:
    """One period computed: the aggregate (counts per professional) and the forfait's columns
    (numpy arrays, money in integer cents). ``columns`` is the results table as arrays,
    ``results`` the same as a DataFrame (money as Decimal), built only when asked for."""

    period: str
    aggregate: Aggregate
    computed: dict[str, np.ndarray]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def columns(self) -> dict[str, np.ndarray]:
        from .forfait import MONEY_COLUMNS, RESULT_COLUMNS, result_columns  # start-up time: warm_up

        counts = self.aggregate.columns
        extra = [c for c in counts if c not in RESULT_COLUMNS]
        out = {}
        for name in result_columns(extra, "complement_cents" in self.computed):
            if name in MONEY_COLUMNS:
                key = name.removesuffix("_eur") + "_cents"
                out[key] = self.computed[key]
            else:
                out[name] = counts[name] if name in counts else self.computed[name]
        return out

    @cached_property
    def results(self) -> pd.DataFrame:
        from .forfait import results_frame  # start-up time: warm_up
        from .ingest.inputs import validate_counts  # start-up time: pandas, for DataFrame views only

        table = validate_counts(self.aggregate.counts, source=f"effectifs agrégés ({self.period})")
        return results_frame(table, self.computed)


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
    def hash_inputs() -> None:  # the scans are over: hash the inputs while Python works
        for extract in (inputs.feeds, inputs.patientele):
            for file in extract.file_info:
                file.start_digest()

    started = time.perf_counter()
    aggregates = aggregate_periods(con, inputs.feeds, rules, periods, tally=inputs.tally, after_scans=hash_inputs)
    aggregated = time.perf_counter()
    # start-up time: numpy and the forfait were imported in the background (warm_up) while DuckDB scanned
    from .forfait import COUNT_COLUMNS, compute_columns, paid_cents_for, to_cents

    runs: dict[str, PeriodRun] = {}
    for pid in periods:
        t0 = time.perf_counter()
        agg = aggregates[pid]
        counts = agg.columns
        _check_counts(counts, pid)
        base = rules.period(pid).complement_of
        paid_cents = None
        if base in runs:
            earlier = runs[base]
            paid_cents = paid_cents_for(counts["ps_id"], earlier.aggregate.columns["ps_id"], earlier.computed["amount_cents"])
        elif paid is not None:
            paid_cents = paid_cents_for(counts["ps_id"], paid["ps_id"].to_numpy(object), [to_cents(v) for v in paid["paid_eur"]])
        computed = compute_columns(*(counts[c] for c in COUNT_COLUMNS), rules, pid, paid_cents=paid_cents)
        runs[pid] = PeriodRun(
            pid,
            agg,
            computed,
            {"aggregate_all_periods": round(aggregated - started, 3), "compute": round(time.perf_counter() - t0, 3)},
        )
    return runs


def _check_counts(counts: dict[str, np.ndarray], period: str) -> None:
    """What validate_counts checks on a counts file holds here by construction (one row per
    professional, sorted; ALD ≤ patientèle MT, checked on load; structured ≤ fed): verify it
    cheaply, as a guard against a regression in the SQL."""
    import numpy as np  # start-up time: warm_up

    ids = counts["ps_id"]
    unique_sorted = len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1]))
    consistent = bool(np.all(counts["patients_mt_ald"] <= counts["patients_mt"])) and bool(
        np.all(counts["dmp_vsm_structured"] <= counts["dmp_vsm"])
    )
    if not (unique_sorted and consistent):
        raise AssertionError(f"Incohérence interne des effectifs agrégés ({period}).")


# --------------------------------------------------------------------------- manifest (written by vsm.store)


def period_entry(rules: RuleSet, run: PeriodRun) -> dict:
    """A period's section of the manifest: its dates, every input row by reason, the totals."""
    import numpy as np  # start-up time: warm_up

    from .forfait import total_cents

    p = rules.period(run.period)
    agg = run.aggregate
    computed = run.computed
    amount = computed["amount_cents"]
    entry = {
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "payment": p.payment,
        "complement_of": p.complement_of,
        "snapshot_dates": sorted(str(d) for d in np.unique(agg.columns["snapshot_date"])),
        "feeds_rows_by_reason": {
            reason: {"label": FEED_REASONS[reason], "rows": rows} for reason, rows in agg.feed_tally.items()
        },
        "feeds_rows_total": sum(agg.feed_tally.values()),
        "patientele_rows_by_reason": {
            reason: {"label": PATIENTELE_REASONS[reason], "rows": rows} for reason, rows in agg.patientele_tally.items()
        },
        "patientele_rows_total": sum(agg.patientele_tally.values()),
        "professionals_without_patientele": [
            {"ps_id": ps_id, "rows": rows, "dmp_vsm": dmps} for ps_id, rows, dmps in agg.unmatched_rows
        ],
        "professionals": int(len(amount)),
        "eligible": int(computed["eligible"].sum()),
        "paid": int((amount > 0).sum()),
        "majorated": int(computed["majoration"].sum()),
        "amount_eur": str(total_cents(amount)),
        "seconds": run.seconds,
    }
    if "complement_cents" in computed:
        entry["complements"] = int((computed["complement_cents"] > 0).sum())
        entry["complement_eur"] = str(total_cents(computed["complement_cents"]))
    return entry


def manifest(rules: RuleSet, feeds: Extract, patientele: Extract, runs: list[PeriodRun], files: dict[str, dict], seconds: dict) -> Manifest:
    return Manifest(
        tool={
            "name": "vsm", "version": __version__, "source_sha256": code_sha256(),
            "duckdb": duckdb.__version__, "pandas": version("pandas"),
        },
        rules={"id": rules.id, "label": rules.label, "path": rules.path, "files": list(rules.files), "sha256": rules.sha256},
        parameters={
            "periods": [run.period for run in runs],
            "population": rules.population,
            "type_codes": rules.indicator.type_codes.value,
            "structured_format_codes": rules.indicator.structured_format_codes.value,
            "structured_rule": rules.indicator.structured_rule.value,
        },
        inputs={"feeds": input_entry(feeds), "patientele": input_entry(patientele)},
        periods={run.period: {**period_entry(rules, run), "outputs": files.get(run.period, {})} for run in runs},
        seconds=seconds,
    )


# --------------------------------------------------------------------------- run


def run(
    rules: RuleSet,
    feeds: Path | str,
    patientele: Path | str,
    out_dir: Path | str,
    periods: list[str] | None = None,
) -> dict:
    """Every period of the rule set (or those given), in order, each later period getting the
    complement of the one it completes; results and manifest written to ``out_dir``: refused
    before anything runs when ``out_dir`` is not vsm's to replace (vsm.outputs), locked against
    a second run, written into a hidden staging folder (manifest included) that takes the
    place of the previous results in one last step. Returns the manifest."""
    feeds, patientele = absolute(feeds), absolute(patientele)
    out_dir = check_results_out(out_dir, (feeds, patientele))
    for pid in periods or []:
        rules.period(pid)  # unknown period → French error listing the valid ones
    wanted = list(rules.periods) if periods is None else list(periods)
    for pid in wanted:
        base = rules.period(pid).complement_of
        if base is not None and base not in wanted:
            wanted.insert(wanted.index(pid), base)
    wanted = [p for p in rules.periods if p in wanted]
    with output_lock(out_dir):
        clean_leftovers(out_dir)
        check_results_out(out_dir, (feeds, patientele))  # again, now that no one else writes it
        return _run_locked(rules, feeds, patientele, out_dir, wanted)


def _run_locked(rules: RuleSet, feeds: Path, patientele: Path, out_dir: Path, wanted: list[str]) -> dict:
    t0 = time.perf_counter()
    warm_up()
    con = connect()
    try:
        inputs = open_inputs(con, feeds, patientele, rules, wanted)
        feeds_extract, patientele_extract = inputs.feeds, inputs.patientele
        t_inputs = time.perf_counter()
        runs = compute_periods(con, inputs, rules, wanted)
    finally:
        con.close()
    t_compute = time.perf_counter()

    with staged_folder(out_dir) as staging:
        files: dict[str, dict] = {}
        for pid, period_run in runs.items():
            folder = staging / pid
            folder.mkdir()
            write_columns(period_run.columns, folder / RESULTS_FILE)
            write_table(period_run.results, folder / RESULTS_CSV)
            write_table(period_run.aggregate.unmatched, folder / UNMATCHED_FILE)
            files[pid] = {name: output_entry(folder / name, f"{pid}/{name}") for name in PERIOD_FILES}
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
        data.write(manifest_path(staging))
    return data.as_dict()


def compute_extracts(
    rules: RuleSet,
    period: str,
    feeds: Path | str,
    patientele: Path | str,
    out: Path | str,
    paid: pd.DataFrame | None = None,
    other_inputs: tuple = (),
) -> dict:
    """One period from the extracts to ``out`` (CSV or Parquet) and ``<out>.manifest.json``:
    both checked before anything runs (vsm.outputs), both written to temporary files and put
    in place only once both are complete."""
    t0 = time.perf_counter()
    feeds, patientele = absolute(feeds), absolute(patientele)
    out = check_results_file(check_output_path(out), (feeds, patientele, *other_inputs))
    out_manifest = check_results_file(file_manifest_path(out), (feeds, patientele, *other_inputs))
    rules.period(period)
    with output_lock(out):
        clean_leftovers(out)
        clean_leftovers(out_manifest)
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
        with atomic_path(out) as out_tmp, atomic_path(out_manifest) as manifest_tmp:
            write_columns(period_run.columns, out, into=out_tmp)
            t_write = time.perf_counter()
            files = {period: {out.name: output_entry(out_tmp, out.name)}}
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
            data.write(out_manifest, into=manifest_tmp)
    return {**data.as_dict(), "_run": period_run}


def ensure_demo_data(root: Path = DEMO_DIR, seed: int = 2024) -> tuple[Path, Path]:
    """The embedded demo extracts, generated on first use (deterministic for the seed)."""
    root = Path(os.path.abspath(root))  # relative to the caller's working directory, once
    feeds, patientele = root / "feeds", root / "patientele.parquet"
    if not (feeds.is_dir() and patientele.is_file()):
        from .synth import synthesize  # start-up time: only when the demo data are missing

        synthesize(root, scale="demo", seed=seed)
    if not (feeds.is_dir() and patientele.is_file()):
        raise VsmError(f"Données de démonstration introuvables dans « {root} ».")
    return feeds, patientele
