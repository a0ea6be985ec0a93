"""Synthetic forfait structure indicators, for the médecins of a VSM patientèle (demo and
tests), calibrated by params/synth_structure.yml (no rule of the computation reads it)."""

from __future__ import annotations


import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..errors import VsmError
from ..ingest.inputs import read_table, require_columns
from ..paths import load_yaml, params_dir
from ..store import check_output_path, write_table
from ..synth.params import MEDECIN, Calendar, load_synth_params, scale_spec
from ..synth.professionals import make_professionals
from .compute import compute_structure, total_eur
from .inputs import input_columns
from .rules import StructureRuleSet, load_structure_rules
from .summary import shown_mean

SYNTH_PARAMS_FILE = "synth_structure.yml"


def load_structure_synth_params() -> dict[str, Any]:
    path = params_dir() / SYNTH_PARAMS_FILE
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VsmError(f"Fichier de paramètres introuvable : « {path} ».") from None
    except yaml.YAMLError:
        raise VsmError(f"Fichier de paramètres illisible : « {path} » (YAML invalide).") from None
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise VsmError(f"Paramètres incomplets dans « {path} » : section « columns » absente.")
    return data


def synth_medecins(scale: str = "demo", seed: int = 2024) -> pd.DataFrame:
    """ps_id and region of the médecins that ``vsm synth --scale S --seed N`` puts in its patientèle.

    Rebuilds only the professionals (the same random stream as :func:`vsm.synth.synthesize`),
    without writing the DMP traces.
    """
    params = load_synth_params()
    spec = scale_spec(params, scale)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VsmError(f"Graine invalide : « {seed} ». Donner un entier positif ou nul.")
    cal = Calendar.from_params(params["calendar"])
    ss_pros = np.random.SeedSequence(int(seed)).spawn(4)[0]
    pros = make_professionals(params, spec, cal, np.random.default_rng(ss_pros))
    keep = np.flatnonzero(pros.kind == MEDECIN)
    return pd.DataFrame({
        "ps_id": [pros.ps_id[i] for i in keep.tolist()],
        "region": [pros.region[i] for i in keep.tolist()],
    })


def patientele_medecins(path: Path | str) -> pd.DataFrame:
    """ps_id and region of the médecins of a patientèle file (one row per professional)."""
    frame, kind = read_table(path)
    require_columns(frame, ("ps_id",), str(path))
    if "ps_kind" in frame.columns:
        frame = frame[frame["ps_kind"].astype(str) == "medecin"]
    out = pd.DataFrame({"ps_id": frame["ps_id"].astype(str).str.strip()})
    out["region"] = frame["region"].astype(str).to_numpy() if "region" in frame.columns else ""
    out = out[out["ps_id"] != ""].drop_duplicates("ps_id", keep="first").reset_index(drop=True)
    if out.empty:
        raise VsmError(f"Fichier « {path} » : aucun médecin dans la patientèle.")
    return out


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def synth_indicators(medecins: pd.DataFrame, seed: int = 2024, rules: StructureRuleSet | None = None) -> pd.DataFrame:
    """Synthetic indicators for ``medecins`` (ps_id, region), calibrated by params/synth_structure.yml.

    Each médecin has a latent « engagement numérique » z ~ N(0, 1) shifting every indicator,
    so that indicators are correlated as in practice. Deterministic for a given seed.
    """
    rules = rules or load_structure_rules()
    params = load_structure_synth_params()
    spec = params["columns"]
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2023]))
    n = len(medecins)
    z = rng.standard_normal(n)
    out = pd.DataFrame({"ps_id": medecins["ps_id"].astype(str).to_numpy(), "region": medecins["region"].astype(str).to_numpy()})
    for col in input_columns(rules):
        if col.name not in spec:
            raise VsmError(f"params/{SYNTH_PARAMS_FILE} : pas de calibration pour la colonne « {col.name} ».")
        p = spec[col.name]
        loading = float(p.get("loading", 0.0))
        u = rng.random(n)
        if col.kind == "yesno":
            out[col.name] = u < _expit(_logit(float(p["share"])) + loading * z)
        elif col.kind == "rate":
            mean = _expit(_logit(float(p["mean"])) + loading * z)
            k = float(p["concentration"])
            rate = np.round(rng.beta(mean * k, (1 - mean) * k), 4)
            empty = u < float(p.get("empty_share", 0.0)) if col.empty_allowed else np.zeros(n, dtype=bool)
            out[col.name] = np.where(empty, np.nan, rate)
        else:
            positive = u < _expit(_logit(float(p["share_positive"])) + loading * z)
            out[col.name] = np.where(positive, 1 + rng.poisson(float(p["mean_extra"]), n), 0).astype(np.int64)
    return out


def synthesize_structure(
    out: Path | str,
    patientele_path: Path | str | None = None,
    seed: int = 2024,
    scale: str = "demo",
    rules: StructureRuleSet | None = None,
) -> dict[str, Any]:
    """Write synthetic forfait structure indicators for the médecins of a VSM patientèle.

    With ``patientele_path``: the médecins of that file (same ps_id and region). Without it:
    the médecins that ``vsm synth --scale scale --seed seed`` generates. Returns a summary
    with the calibration figures (mean payment, share failing volet 1).
    """
    out = check_output_path(out)
    rules = rules or load_structure_rules()
    medecins = patientele_medecins(patientele_path) if patientele_path is not None else synth_medecins(scale, seed)
    table = synth_indicators(medecins, seed=seed, rules=rules)
    write_table(table, out)
    results = compute_structure(table, rules)
    n = len(results)
    amount = total_eur(results)
    paid = int((results["total_points"] > 0).sum())
    return {
        "out": str(out),
        "medecins": n,
        "volet1_failed": int((~results["volet1_met"]).sum()),
        "paid": paid,
        "total_eur": amount,
        "mean_eur": shown_mean(amount, n),
        "mean_eur_paid": shown_mean(amount, paid),
    }
