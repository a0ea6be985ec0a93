"""The synthetic professionals (médecins, centres de santé, specialists without a patientèle)
and their patientèle « médecin traitant » per semestrial snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from ..regions import load_regions
from .identifiers import finess_ids, rpps_ids
from .params import CENTRE, KINDS, MEDECIN, PATIENTELE_SCHEMA, SPECIALISTE, Calendar

def _allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Largest-remainder allocation of ``total`` over ``weights`` with a floor per cell."""
    if total <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    w = weights / weights.sum()
    exact = w * total
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return np.maximum(counts, minimum)


@dataclass
class Professionals:
    ps_id: list[str]
    kind: np.ndarray  # int8, KINDS index
    region: list[str]
    departement: list[str]
    patients_mt: np.ndarray  # (n, snapshots) int64
    patients_ald: np.ndarray  # (n, snapshots) int64
    zero_ald: np.ndarray  # bool


def make_professionals(params: dict[str, Any], spec: dict[str, Any], cal: Calendar,
                        rng: np.random.Generator) -> Professionals:
    regions = load_regions()
    codes = list(regions)
    weights = np.array([regions[c].poids_medecins for c in codes], dtype=float)
    pro = params["professionals"]

    n_med = _allocate(int(spec["medecins"]), weights, int(spec.get("min_medecins_per_region", 0)))
    n_cen = _allocate(int(spec["centres"]), weights, 0)
    n_spe_total = int(round(float(pro["specialists_share"]) * (n_med.sum() + n_cen.sum())))
    n_spe = _allocate(n_spe_total, weights, 0)

    region_idx = np.concatenate([
        np.repeat(np.arange(len(codes)), n_med),
        np.repeat(np.arange(len(codes)), n_cen),
        np.repeat(np.arange(len(codes)), n_spe),
    ])
    kind = np.concatenate([
        np.full(n_med.sum(), MEDECIN), np.full(n_cen.sum(), CENTRE), np.full(n_spe.sum(), SPECIALISTE)
    ]).astype(np.int8)
    # Professionals ordered by region, shuffled within their region.
    order = np.lexsort((rng.random(len(kind)), region_idx))
    region_idx, kind = region_idx[order], kind[order]
    n = len(kind)

    region = [codes[i] for i in region_idx.tolist()]
    dep_pick = rng.random(n)
    departement = []
    for code, u in zip(region, dep_pick.tolist()):
        deps = regions[code].departements
        departement.append(deps[min(int(u * len(deps)), len(deps) - 1)])

    ps_id: list[str] = [""] * n
    rpps_pos = np.flatnonzero(kind != CENTRE)
    for pos, ident in zip(rpps_pos.tolist(), rpps_ids(len(rpps_pos), rng)):
        ps_id[pos] = ident
    centre_pos = np.flatnonzero(kind == CENTRE)
    for pos, ident in zip(centre_pos.tolist(), finess_ids([departement[p] for p in centre_pos], rng)):
        ps_id[pos] = ident

    # Base patientèle (médecins and specialists' pseudo patientèle alike: used for pool sizes).
    pat = params["patientele"]
    med, cen = pat["medecin"], pat["centre"]
    base = float(med["scale"]) * rng.weibull(float(med["shape"]), n)
    base = np.maximum(base, float(med["minimum"]))
    is_centre = kind == CENTRE
    cen_base = float(cen["median"]) * np.exp(float(cen["sigma"]) * rng.standard_normal(n))
    base = np.where(is_centre, np.maximum(cen_base, float(cen["minimum"])), base)

    n_snap = len(cal.snapshots)
    drift = pat["drift"]
    steps = rng.normal(float(drift["mean_log_per_semester"]), float(drift["sd_log_per_semester"]),
                       (n, n_snap))
    steps[:, 0] = 0.0
    patients_mt = np.maximum(np.rint(base[:, None] * np.exp(np.cumsum(steps, axis=1))), 1).astype(np.int64)

    ald = pat["ald"]
    m, c = float(ald["mean_share"]), float(ald["concentration"])
    share0 = rng.beta(m * c, (1 - m) * c, n)
    walk = rng.normal(0.0, float(ald["drift_sd_per_semester"]), (n, n_snap))
    walk[:, 0] = 0.0
    trend = float(ald["trend_per_semester"]) * np.arange(n_snap)
    # Binomial at the first snapshot only: the same patients stay in ALD, so later counts
    # follow the patientèle and a slow drift of the share instead of fresh binomial noise.
    ald0 = rng.binomial(patients_mt[:, 0], share0)
    share = np.clip((ald0 / patients_mt[:, 0])[:, None] + trend[None, :] + np.cumsum(walk, axis=1), 0.0, 1.0)
    patients_ald = np.minimum(np.rint(patients_mt * share), patients_mt).astype(np.int64)
    patients_ald[:, 0] = ald0

    # A few médecins with a small patientèle and no patient in ALD at all (not eligible).
    med_pos = np.flatnonzero(kind == MEDECIN)
    n_zero = min(len(med_pos), max(1, int(round(float(pro["zero_ald_share"]) * len(med_pos)))))
    zero_pos = np.sort(rng.choice(med_pos, n_zero, replace=False)) if len(med_pos) else med_pos
    zero_ald = np.zeros(n, dtype=bool)
    zero_ald[zero_pos] = True
    small = rng.integers(1, int(pro["zero_ald_max_patients"]) + 1, len(zero_pos))
    patients_mt[zero_pos] = small[:, None]
    patients_ald[zero_pos] = 0

    return Professionals(ps_id, kind, region, departement, patients_mt, patients_ald, zero_ald)


def patientele_table(pros: Professionals, cal: Calendar, meta: dict[bytes, bytes]) -> pa.Table:
    keep = np.flatnonzero(pros.kind != SPECIALISTE)
    n_snap = len(cal.snapshots)
    rep = np.repeat(keep, n_snap)

    def col(values: list[str]) -> pa.Array:
        return pa.array([values[i] for i in keep.tolist()], pa.string()).take(
            pa.array(np.repeat(np.arange(len(keep)), n_snap)))

    kinds = pa.array([KINDS[k] for k in pros.kind[keep].tolist()], pa.string())
    table = pa.table(
        {
            "ps_id": col(pros.ps_id),
            "ps_kind": kinds.take(pa.array(np.repeat(np.arange(len(keep)), n_snap))),
            "region": col(pros.region),
            "departement": col(pros.departement),
            "snapshot_date": pa.array(np.tile(cal.snapshots, len(keep)).astype(np.int32)).cast(pa.date32()),
            "patients_mt": pa.array(pros.patients_mt[rep, np.tile(np.arange(n_snap), len(keep))]),
            "patients_mt_ald": pa.array(pros.patients_ald[rep, np.tile(np.arange(n_snap), len(keep))]),
        },
        schema=PATIENTELE_SCHEMA,
    )
    return table.replace_schema_metadata(meta)

