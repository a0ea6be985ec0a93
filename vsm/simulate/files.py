"""The files of a simulation folder (machine-readable, not published): written to a staging
folder then put in place through vsm.outputs (a folder vsm did not write is never replaced),
and read back for the report."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from .. import __version__
from ..errors import VsmError
from ..outputs import check_folder_output, clean_leftovers, output_lock, staged_folder
from ..store import file_sha256, input_entry
from ..store import write_columns
from ..rules import RuleSet
from .comparison import SUMMARY_FIELDS, Comparison
from .run import Simulation, sweep_columns
from .scenario import Scenario
from .sweep import exact_text

SIMULATION_KIND = "simulation"
MANIFEST_FILE = "manifest.json"
SUMMARY_JSON, SUMMARY_CSV = "synthese.json", "synthese.csv"
SWEEP_JSON, SWEEP_CSV = "balayage.json", "balayage.csv"
BASELINE_DIR = "reference"  # reference/<period>/resultats.parquet: the current rule's results (as vsm run)
SWEEP_DIR = "balayage"  # balayage/<period>.parquet: per professional, the payment at each value
PROFESSIONALS_FILE = "professionnels"  # <scenario>/<period>/professionnels.{parquet,csv}


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Fraction):
        return str(value)
    return value


def _csv_text(rows: list[dict], fields: tuple[str, ...] | list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else _json_value(row.get(k))) for k in fields})
    return buffer.getvalue()


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_value) + "\n"


def _is_simulation_folder(folder: Path) -> bool:
    manifest = folder / MANIFEST_FILE
    try:
        return manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("kind") == SIMULATION_KIND
    except (OSError, json.JSONDecodeError, AttributeError):
        return False


def check_out_dir(out_dir: Path | str, inputs: tuple = ()) -> Path:
    """``out_dir`` (absolute) if vsm may write a simulation there: absent, empty or a previous
    simulation folder; anything else (a file, a foreign folder, the inputs, ``.``) is refused
    by vsm.outputs, the one owner of what vsm may replace."""
    return check_folder_output(
        out_dir, inputs, own=_is_simulation_folder, what="Dossier de simulation",
        kind="un dossier de « vsm simulate » (manifeste de simulation)",
    )


def _rules_entry(rules: RuleSet, scenario: Scenario | None = None) -> dict:
    entry = {"id": rules.id, "label": rules.label, "path": rules.path, "files": list(rules.files), "sha256": rules.sha256}
    if scenario is not None:
        entry.update(scenario_label=scenario.label, rationale=scenario.rationale, scenario_file=scenario.path)
    return entry


def _key_entry(key: tuple) -> dict:
    population, types, statuses, actions, formats, rule, periods = key
    return {
        "population": population,
        "type_codes": list(types),
        "counted_statuses": list(statuses),
        "counted_actions": list(actions),
        "structured_format_codes": list(formats),
        "structured_rule": rule,
        "periods": {pid: [start.isoformat(), end.isoformat()] for pid, start, end in periods},
    }



def write_simulation(sim: Simulation, out_dir: Path | str, seconds: dict) -> dict:
    """Write every output to a staging folder, then put it in place of ``out_dir``."""
    inputs = (sim.engine.feeds.path, sim.engine.patientele.path)
    out_dir = check_out_dir(out_dir, inputs)
    with output_lock(out_dir):
        clean_leftovers(out_dir)
        out_dir = check_out_dir(out_dir, inputs)
        with staged_folder(out_dir) as staging:
            _write_simulation_files(sim, staging, seconds)
    return sim.manifest


def _write_simulation_files(sim: Simulation, staging: Path, seconds: dict) -> None:
    files: dict[str, dict] = {}
    for (scenario_id, pid), c in sim.comparisons.items():
        folder = staging / scenario_id / pid
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in (".parquet", ".csv"):
            target = folder / f"{PROFESSIONALS_FILE}{suffix}"
            write_columns(c.columns(), target)
            rel = f"{scenario_id}/{pid}/{target.name}"
            files[rel] = {"path": rel, "sha256": file_sha256(target)}
    for pid in sim.periods:  # the current rule's results, as « vsm run » writes them
        target = staging / BASELINE_DIR / pid / "resultats.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_columns(sim.engine.computed[sim.baseline.id].runs[pid].columns, target)
        rel = f"{BASELINE_DIR}/{pid}/{target.name}"
        files[rel] = {"path": rel, "sha256": file_sha256(target)}
    summary = {
        "baseline": sim.baseline.id,
        "periods": sim.periods,
        "rows": sim.summary,
        "tier_changes": sim.tier_changes,
    }
    _write_text(staging / SUMMARY_JSON, _dump(summary))
    _write_text(staging / SUMMARY_CSV, _csv_text(sim.summary, SUMMARY_FIELDS))
    for name in (SUMMARY_JSON, SUMMARY_CSV):
        files[name] = {"path": name, "sha256": file_sha256(staging / name)}
    if sim.sweep is not None:
        sweep_data = {
            "path": sim.sweep.path,
            "label": sim.sweep.label,
            "current": exact_text(sim.sweep.current),
            "values": list(sim.sweep.values),
            "rows": sim.sweep_table,
        }
        _write_text(staging / SWEEP_JSON, _dump(sweep_data))
        _write_text(staging / SWEEP_CSV, _csv_text(sim.sweep_table, ("value", "current", "period", "paid", "cost_eur")))
        for name in (SWEEP_JSON, SWEEP_CSV):
            files[name] = {"path": name, "sha256": file_sha256(staging / name)}
        for pid in sim.periods:
            target = staging / SWEEP_DIR / f"{pid}.parquet"
            target.parent.mkdir(exist_ok=True)
            write_columns(sweep_columns(sim, pid), target)
            rel = f"{SWEEP_DIR}/{target.name}"
            files[rel] = {"path": rel, "sha256": file_sha256(target)}
    engine = sim.engine
    manifest = {
        "kind": SIMULATION_KIND,
        "tool": {"name": "vsm", "version": __version__},
        "baseline": _rules_entry(sim.baseline),
        "scenarios": [_rules_entry(s.rules, s) for s in sim.scenarios],
        "sweep": None if sim.sweep is None else {
            "path": sim.sweep.path,
            "values": list(sim.sweep.values),
            "rules": [_rules_entry(r) for r in sim.sweep.variants],
        },
        "periods": sim.periods,
        "inputs": {"feeds": input_entry(engine.feeds), "patientele": input_entry(engine.patientele)},
        "aggregations": [
            {"counting": _key_entry(a.key), "rules": a.rules_ids, "feeds_rows_by_reason": a.feed_tally, "seconds": a.seconds}
            for a in engine.aggregations
        ],
        "outputs": files,
        "seconds": seconds,
    }
    _write_text(staging / MANIFEST_FILE, _dump(manifest))
    sim.manifest = manifest


def default_simulation_dir(rules_id: str) -> Path:
    """Where « vsm simulate » writes when no folder is named: data/simulations/<rule set>."""
    return Path("data") / "simulations" / rules_id


def read_simulation(folder: Path | str) -> tuple[dict, dict, dict | None]:
    """(manifest, summary, sweep or None) of a simulation folder."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise VsmError(f"Simulation introuvable : « {manifest_path} » absent (lancer « vsm simulate »).")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        summary = json.loads((folder / SUMMARY_JSON).read_text(encoding="utf-8"))
        sweep = json.loads((folder / SWEEP_JSON).read_text(encoding="utf-8")) if (folder / SWEEP_JSON).is_file() else None
    except (OSError, json.JSONDecodeError) as exc:
        raise VsmError(f"Simulation illisible dans « {folder} » ({exc}).") from None
    if manifest.get("kind") != SIMULATION_KIND:
        raise VsmError(f"« {folder} » n'est pas un dossier de simulation.")
    return manifest, summary, sweep


def read_comparison(folder: Path | str, scenario_id: str, period: str) -> Comparison:
    """One scenario × period per-professional table, back as a Comparison (cents)."""
    path = Path(folder) / scenario_id / period / f"{PROFESSIONALS_FILE}.parquet"
    if not path.is_file():
        raise VsmError(f"Résultats de simulation introuvables : « {path} ».")
    con = duckdb.connect()
    try:
        data = con.execute(
            "SELECT ps_id, region, baseline_tier, scenario_tier, CAST(baseline_eur * 100 AS BIGINT) AS b, "
            f"CAST(scenario_eur * 100 AS BIGINT) AS s FROM read_parquet('{str(path).replace(chr(39), chr(39) * 2)}') ORDER BY ps_id"
        ).fetchnumpy()
    finally:
        con.close()
    return Comparison(
        np.asarray(data["ps_id"], dtype=object), np.asarray(data["region"], dtype=object),
        np.asarray(data["baseline_tier"], dtype=np.int64), np.asarray(data["scenario_tier"], dtype=np.int64),
        np.asarray(data["b"], dtype=np.int64), np.asarray(data["s"], dtype=np.int64),
    )
