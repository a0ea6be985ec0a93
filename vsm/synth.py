"""Synthetic extracts: SI-Pilotage DMP feed traces and patientèle "médecin traitant" snapshots.

``synthesize(out_dir, scale, seed)`` writes::

    out_dir/feeds/part-00000.parquet, part-00001.parquet, ...   one row per feed attempt
    out_dir/patientele.parquet                                  one row per professional × snapshot

Every tunable figure lives in ``params/synth.yml`` with its source or labelled as an
assumption. The output is deterministic for a given seed (byte-identical Parquet files with
the same library versions): all randomness comes from ``numpy.random.SeedSequence(seed)``,
spawned once for the professionals, once for their plans and once per output file.

Model, in short (details and figures in synth.yml):

* professionals: médecins (RPPS with a Luhn key), centres de santé (FINESS-like, starting with
  the département code) and a few RPPS "specialists" who feed VSMs but have no patientèle row;
  regions weighted by ``poids_medecins`` (regions.yml), largest-remainder allocation;
* patientèle MT per semestrial snapshot: Weibull (médecins) or lognormal (centres) base size,
  multiplicative drift; ALD count binomial with a per-professional beta-distributed share;
* each professional gets a plan: adopter or not, coverage reached at the end of P2, progress at
  the end of P1 (early/late adopters), start date, software profile (structured/unstructured/
  mixed, possible switch to structured), volume of other documents;
* each DMP index ``k`` of a professional belongs to one segment: fed first in P1, first in
  P2, after P2, only before 2022, only failures. Updates, deletions, retried failures and
  other document types are added around them. Rows are then sorted by date within a file.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from .errors import VsmError
from .paths import load_yaml, params_dir
from .regions import load_regions

FEEDS_SCHEMA = pa.schema(
    [
        ("ps_id", pa.string()),
        ("dmp_id", pa.string()),
        ("event_date", pa.date32()),
        ("type_code", pa.string()),
        ("format_code", pa.string()),
        ("status", pa.string()),
        ("action", pa.string()),
    ]
)
PATIENTELE_SCHEMA = pa.schema(
    [
        ("ps_id", pa.string()),
        ("ps_kind", pa.string()),
        ("region", pa.string()),
        ("departement", pa.string()),
        ("snapshot_date", pa.date32()),
        ("patients_mt", pa.int64()),
        ("patients_mt_ald", pa.int64()),
    ]
)

STATUSES = ("success", "failure")
ACTIONS = ("creation", "update", "deletion")
KINDS = ("medecin", "centre", "specialiste")  # "specialiste" never appears in patientèle
MEDECIN, CENTRE, SPECIALISTE = 0, 1, 2
S_SUCCESS, S_FAILURE = 0, 1
A_CREATION, A_UPDATE, A_DELETION = 0, 1, 2

_EPOCH = dt.date(1970, 1, 1)
_MASK40 = np.uint64((1 << 40) - 1)
_DMP_PREFIX = b"DMP"
_DMP_DIGITS = 13  # 2**40 < 10**13
_DICTIONARY_COLUMNS = ["ps_id", "type_code", "format_code", "status", "action", "event_date"]


# --------------------------------------------------------------------------- parameters


def load_synth_params() -> dict[str, Any]:
    """params/synth.yml as a dict (a French VsmError if it is missing or unreadable)."""
    path = params_dir() / "synth.yml"
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise VsmError(f"Fichier de paramètres introuvable : « {path} ».") from exc
    except yaml.YAMLError as exc:
        raise VsmError(f"Fichier de paramètres illisible : « {path} » ({exc}).") from exc
    for key in ("scales", "calendar", "professionals", "patientele", "adoption", "software",
                "vsm_noise", "other_documents", "codes"):
        if not isinstance(data, dict) or key not in data:
            raise VsmError(f"Paramètres incomplets dans « {path} » : section « {key} » absente.")
    return data


def documented_scales(params: dict[str, Any] | None = None) -> list[str]:
    """Scale names shown to users (hidden test scales excluded)."""
    params = params or load_synth_params()
    return [name for name, spec in params["scales"].items() if spec.get("documented", True)]


def scale_spec(params: dict[str, Any], scale: str) -> dict[str, Any]:
    scales = params["scales"]
    if not isinstance(scale, str) or scale not in scales:
        valid = ", ".join(f"« {s} »" for s in documented_scales(params))
        raise VsmError(f"Échelle inconnue : « {scale} ». Échelles valides : {valid}.")
    return scales[scale]


def _day(value: str | dt.date) -> int:
    """An ISO date (or date) → days since 1970-01-01."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return (value - _EPOCH).days


def _snapshot_days(first: str, last: str) -> np.ndarray:
    """Every 30/06 and 31/12 from first to last (both included)."""
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    out = []
    for year in range(start.year, end.year + 1):
        for month, day in ((6, 30), (12, 31)):
            d = dt.date(year, month, day)
            if start <= d <= end:
                out.append(_day(d))
    return np.array(out, dtype=np.int32)


@dataclass(frozen=True)
class Calendar:
    obs_start: int
    deadline1: int
    deadline2: int
    traces_start: int
    traces_end: int
    snapshots: np.ndarray  # int32 days

    @classmethod
    def from_params(cls, cal: dict[str, Any]) -> "Calendar":
        d1, d2 = (_day(d) for d in cal["deadlines"])
        return cls(
            obs_start=_day(cal["observation_start"]),
            deadline1=d1,
            deadline2=d2,
            traces_start=_day(cal["traces_start"]),
            traces_end=_day(cal["traces_end"]),
            snapshots=_snapshot_days(cal["first_snapshot"], cal["last_snapshot"]),
        )

    def snapshot_index(self, day: int) -> int:
        """Index of the latest snapshot on or before ``day``."""
        return int(np.searchsorted(self.snapshots, day, side="right") - 1)


# --------------------------------------------------------------------------- identifiers


def _luhn_key(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _coprime_multiplier(rng: np.random.Generator, modulus_digits: int) -> int:
    a = int(rng.integers(10 ** (modulus_digits - 1), 10**modulus_digits))
    while math.gcd(a, 10) != 1:
        a += 1
    return a


def _rpps_ids(n: int, rng: np.random.Generator) -> list[str]:
    """n distinct RPPS-like ids: "10" + 8 digits + Luhn key (11 digits)."""
    a, b = _coprime_multiplier(rng, 8), int(rng.integers(0, 10**8))
    serial = (np.arange(n, dtype=np.int64) * a + b) % 10**8
    out = []
    for s in serial.tolist():
        payload = f"10{s:08d}"
        out.append(payload + _luhn_key(payload))
    return out


def _finess_prefix(departement: str) -> str:
    # Real FINESS numbers use 2A/2B and 9A..9F; the project keeps all-digit ids (brief).
    if departement in ("2A", "2B"):
        return "20"
    return departement


def _finess_ids(departements: list[str], rng: np.random.Generator) -> list[str]:
    """FINESS-like ids: département code + serial + Luhn key (9 digits)."""
    a5, a6 = _coprime_multiplier(rng, 5), _coprime_multiplier(rng, 6)
    b = int(rng.integers(0, 10**5))
    out = []
    for i, dep in enumerate(departements):
        prefix = _finess_prefix(dep)
        width = 8 - len(prefix)
        mult = a5 if width == 5 else a6
        payload = f"{prefix}{(i * mult + b) % 10**width:0{width}d}"
        out.append(payload + _luhn_key(payload))
    return out


def _mix40(x: np.ndarray, keys: tuple[int, int, int]) -> np.ndarray:
    """A bijection of [0, 2**40): pseudonymises pool positions into DMP numbers."""
    k1, k2, k3 = (np.uint64(k) for k in keys)
    y = x.astype(np.uint64) ^ k3
    y = (y * k1) & _MASK40
    y ^= y >> np.uint64(19)
    y = (y * k2) & _MASK40
    y ^= y >> np.uint64(23)
    return y


def _fixed_width_strings(prefix: bytes, numbers: np.ndarray, digits: int) -> pa.Array:
    """prefix + zero-padded decimal numbers, built in one buffer (no Python loop per row)."""
    n = len(numbers)
    width = len(prefix) + digits
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    x = numbers.astype(np.uint64, copy=True)
    ten = np.uint64(10)
    for j in range(width - 1, len(prefix) - 1, -1):
        buf[:, j] = (x % ten).astype(np.uint8) + 48
        x //= ten
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)])


# --------------------------------------------------------------------------- professionals


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
class _Professionals:
    ps_id: list[str]
    kind: np.ndarray  # int8, KINDS index
    region: list[str]
    departement: list[str]
    patients_mt: np.ndarray  # (n, snapshots) int64
    patients_ald: np.ndarray  # (n, snapshots) int64
    zero_ald: np.ndarray  # bool


def make_professionals(params: dict[str, Any], spec: dict[str, Any], cal: Calendar,
                        rng: np.random.Generator) -> _Professionals:
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
    for pos, ident in zip(rpps_pos.tolist(), _rpps_ids(len(rpps_pos), rng)):
        ps_id[pos] = ident
    centre_pos = np.flatnonzero(kind == CENTRE)
    for pos, ident in zip(centre_pos.tolist(), _finess_ids([departement[p] for p in centre_pos], rng)):
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

    return _Professionals(ps_id, kind, region, departement, patients_mt, patients_ald, zero_ald)


def _patientele_table(pros: _Professionals, cal: Calendar, meta: dict[bytes, bytes]) -> pa.Table:
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


# --------------------------------------------------------------------------- plans


@dataclass
class _Plan:
    n1: np.ndarray  # DMPs first fed in P1
    n2: np.ndarray  # ... in P1 or P2 (cumulative)
    n_post: np.ndarray
    n_pre_only: np.ndarray
    n_fail_only: np.ndarray
    start: np.ndarray  # int days
    pilot: np.ndarray  # bool
    p_struct: np.ndarray
    switch_day: np.ndarray  # int days, huge when no switch
    n_other: np.ndarray
    pool_start: np.ndarray  # int64
    pool_size: np.ndarray  # int64

    @property
    def n_index(self) -> np.ndarray:
        return self.n2 + self.n_post + self.n_pre_only + self.n_fail_only


def _uniform_days(rng: np.random.Generator, window: list[str], size: int) -> np.ndarray:
    lo, hi = _day(window[0]), _day(window[1])
    return rng.integers(lo, hi + 1, size)


def _make_plan(params: dict[str, Any], pros: _Professionals, cal: Calendar,
               rng: np.random.Generator) -> _Plan:
    ad, sw, noise, other = params["adoption"], params["software"], params["vsm_noise"], params["other_documents"]
    kind = pros.kind
    n = len(kind)
    ald_p1 = pros.patients_ald[:, cal.snapshot_index(cal.deadline1)].astype(float)
    ald_p2 = pros.patients_ald[:, cal.snapshot_index(cal.deadline2)].astype(float)

    never = np.array([float(ad["never_share"][k]) for k in KINDS])[kind]
    adopter = rng.random(n) >= never

    comps = ad["coverage_p2"]
    w = np.array([float(cmp["weight"]) for cmp in comps])
    comp = rng.choice(len(comps), n, p=w / w.sum())
    lows = np.array([float(cmp["low"]) for cmp in comps])[comp]
    highs = np.array([float(cmp["high"]) for cmp in comps])[comp]
    r2 = lows + (highs - lows) * rng.random(n)

    early = rng.random(n) < float(ad["early_share"])
    in_2024 = ~early & (rng.random(n) < float(ad["late_in_2024_share"]))
    g_early = rng.uniform(*map(float, ad["early_progress_at_p1"]), n)
    g_late = rng.uniform(*map(float, ad["late_progress_at_p1"]), n)
    g = np.where(early, g_early, np.where(in_2024, 0.0, g_late))
    start = np.where(
        early, _uniform_days(rng, ad["early_start"], n),
        np.where(in_2024, _uniform_days(rng, ad["late_start_2024"], n), _uniform_days(rng, ad["late_start"], n)),
    ).astype(np.int64)

    n2 = np.rint(r2 * ald_p2).astype(np.int64)
    n1 = np.minimum(n2, np.rint(r2 * g * ald_p1).astype(np.int64))
    n1 = np.where(in_2024, 0, n1)

    # Non-adopters: nothing, or a handful of VSMs in P1.
    occasional = rng.random(n) < float(ad["occasional_share"])
    occ_feeds = rng.integers(1, int(ad["occasional_max_feeds"]) + 1, n)
    occ_feeds = np.where(occasional, occ_feeds, 0)
    n1 = np.where(adopter, n1, occ_feeds)
    n2 = np.where(adopter, n2, occ_feeds)
    start = np.where(adopter, start, _uniform_days(rng, ad["early_start"], n))

    # Médecins without any patient in ALD: a few VSMs all the same.
    zero_feeds = rng.integers(0, int(params["professionals"]["zero_ald_max_feeds"]) + 1, n)
    n1 = np.where(pros.zero_ald, zero_feeds, n1)
    n2 = np.where(pros.zero_ald, zero_feeds, n2)
    start = np.where(pros.zero_ald, _uniform_days(rng, ad["early_start"], n), start)

    n_post = np.where(adopter & ~pros.zero_ald, rng.poisson(float(ad["post_p2_rate"]) * ald_p2), 0)
    pilot = adopter & early & ~pros.zero_ald & (rng.random(n) < float(ad["pilot_share"]))
    n_pre_only = np.where(pilot, rng.poisson(float(ad["pre_only_rate"]) * np.maximum(ald_p1, 1)), 0)
    n_fail_only = rng.poisson(float(noise["fail_only_rate"]) * n2)

    # Software profile → probability that a VSM is structured; some switch to structured.
    profiles = sw["profiles"]
    names = list(profiles)
    pw = np.array([float(profiles[k]) for k in names])
    prof = np.array(names)[rng.choice(len(names), n, p=pw / pw.sum())]
    mixed_p = np.clip(rng.normal(float(sw["mixed_structured_mean"]), float(sw["mixed_structured_sd"]), n),
                      0.05, 0.95)
    p_struct = np.where(prof == "structured", 1.0, np.where(prof == "mixed", mixed_p, 0.0))
    switch = (prof == "unstructured") & (rng.random(n) < float(sw["switch_share"]))
    switch_day = np.where(switch, _uniform_days(rng, sw["switch_window"], n), np.iinfo(np.int32).max)

    # Other document types: proportional to the mean patientèle.
    rates = other["rate_per_patient"]
    mean_rate = np.where(adopter, float(rates["adopter"]), float(rates["non_adopter"]))
    shape = float(other["rate_gamma_shape"])
    rate = rng.gamma(shape, mean_rate / shape)
    n_other = rng.poisson(rate * pros.patients_mt.mean(axis=1))

    n_index = n2 + n_post + n_pre_only + n_fail_only
    pool_size = np.maximum(pros.patients_mt.max(axis=1), n_index) + 1
    pool_start = np.concatenate([[0], np.cumsum(pool_size)[:-1]]).astype(np.int64)
    return _Plan(n1=n1, n2=n2, n_post=n_post, n_pre_only=n_pre_only, n_fail_only=n_fail_only,
                 start=start, pilot=pilot, p_struct=p_struct, switch_day=switch_day.astype(np.int64),
                 n_other=n_other, pool_start=pool_start, pool_size=pool_size)


# --------------------------------------------------------------------------- feed rows


@dataclass(frozen=True)
class _Codes:
    types: tuple[str, ...]  # index 0 = SYNTH
    other_weights: np.ndarray  # weights of types[1:]
    recent_from: np.ndarray  # per type: earliest day (traces_start when not "recent")
    formats: tuple[str, ...]  # vsm, ips, pdf, text
    ips_type: str  # LOINC typeCode of IPS summaries (filed with the IPS formatCode)
    F_VSM: int = 0
    F_IPS: int = 1
    F_PDF: int = 2
    F_TEXT: int = 3


def _make_codes(params: dict[str, Any], cal: Calendar) -> _Codes:
    codes, other = params["codes"], params["other_documents"]
    type_names = [str(t) for t in other["types"]]
    weights = np.array([float(other["types"][t]) for t in other["types"]])
    recent = {str(k): _day(v) for k, v in (other.get("recent_types") or {}).items()}
    recent_from = np.array([cal.traces_start] + [recent.get(t, cal.traces_start) for t in type_names])
    formats = (codes["structured_formats"]["vsm"], codes["structured_formats"]["ips"],
               codes["unstructured_formats"]["pdf"], codes["unstructured_formats"]["text"])
    return _Codes(types=(str(codes["vsm_type"]), *type_names), other_weights=weights / weights.sum(),
                  recent_from=recent_from, formats=formats, ips_type=str(codes["ips_type"]))


def _rush_dates(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, share: float,
                scale: float) -> np.ndarray:
    """Uniform in [lo, hi], except a share counted back from hi (rush before the deadline)."""
    n = len(lo)
    uniform = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    rushed = hi - np.floor(rng.exponential(scale, n)).astype(np.int64)
    use_rush = (rng.random(n) < share) & (rushed >= lo)
    return np.where(use_rush, rushed, uniform)


def _vsm_formats(rng: np.random.Generator, p_struct: np.ndarray, switch_day: np.ndarray,
                 day: np.ndarray, sw: dict[str, Any], codes: _Codes) -> np.ndarray:
    structured = (rng.random(len(day)) < p_struct) | (day >= switch_day)
    ips = (day >= _day(sw["ips_from"])) & (rng.random(len(day)) < float(sw["ips_share"]))
    text = rng.random(len(day)) < float(sw["unstructured_text_share"])
    return np.where(structured, np.where(ips, codes.F_IPS, codes.F_VSM),
                    np.where(text, codes.F_TEXT, codes.F_PDF)).astype(np.int8)


def _feeds_chunk(params: dict[str, Any], plan: _Plan, lo: int, hi: int, cal: Calendar,
                 codes: _Codes, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Rows of professionals [lo, hi) as integer columns (pro = global index)."""
    ad, sw, noise, other = params["adoption"], params["software"], params["vsm_noise"], params["other_documents"]
    sl = slice(lo, hi)
    n1, n2, n_post, n_pre = plan.n1[sl], plan.n2[sl], plan.n_post[sl], plan.n_pre_only[sl]
    n_idx = plan.n_index[sl]

    # ---- one row per (professional, DMP index): the first feed of that DMP
    local = np.repeat(np.arange(hi - lo), n_idx)
    pro = local + lo
    k = np.arange(len(local), dtype=np.int64) - np.repeat(np.cumsum(n_idx) - n_idx, n_idx)
    c1, c2 = n2[local], (n2 + n_post)[local]
    seg = np.select([k < n1[local], k < c1, k < c2, k < c2 + n_pre[local]], [0, 1, 2, 3], 4).astype(np.int8)
    start = plan.start[pro]

    win_lo = np.select(
        [seg == 0, seg == 1, seg == 2, seg == 3],
        [np.maximum(start, cal.obs_start), np.maximum(start, cal.deadline1 + 1), cal.deadline2 + 1,
         cal.traces_start],
        np.maximum(start, cal.traces_start),
    )
    win_hi = np.select([seg == 0, seg == 1, seg == 2, seg == 3],
                       [cal.deadline1, cal.deadline2, cal.traces_end, cal.obs_start - 1], cal.traces_end)
    win_lo = np.minimum(win_lo, win_hi)
    rush_share, rush_scale = ad["rush_share"], ad["rush_scale_days"]
    day = _rush_dates(rng, win_lo, win_hi, 0.0, 1.0)
    for s in (0, 1):
        m = seg == s
        day[m] = _rush_dates(rng, win_lo[m], win_hi[m], float(rush_share[s]), float(rush_scale[s]))

    dmp = plan.pool_start[pro] + k
    shared = (seg <= 1) & (pro > 0) & (rng.random(len(k)) < float(noise["share_with_neighbour"]))
    prev = np.maximum(pro - 1, 0)
    shared &= k < plan.pool_size[prev]
    dmp = np.where(shared, plan.pool_start[prev] + k, dmp)

    status = np.where(seg == 4, S_FAILURE, S_SUCCESS).astype(np.int8)
    action = np.full(len(k), A_CREATION, dtype=np.int8)
    fmt = _vsm_formats(rng, plan.p_struct[pro], plan.switch_day[pro], day, sw, codes)

    parts = []
    # Pilots: some P1 DMPs were already created in 2021-S2; the in-period feed is an update.
    dup = (seg == 0) & plan.pilot[pro] & (rng.random(len(k)) < float(ad["pre_dup_share"]))
    if dup.any():
        d_day = rng.integers(cal.traces_start, cal.obs_start, int(dup.sum()))
        parts.append((pro[dup], dmp[dup], d_day, fmt[dup], np.full(d_day.shape, S_SUCCESS),
                      np.full(d_day.shape, A_CREATION)))
        action[dup] = A_UPDATE
    parts.insert(0, (pro, dmp, day, fmt, status, action))

    base = np.flatnonzero(seg <= 2)
    # Updates of the same DMP (format drawn again: mixed software gives both formats).
    n_upd = rng.poisson(float(noise["updates_per_dmp"]), len(base))
    u = np.repeat(base, n_upd)
    u_day = day[u] + 1 + np.floor(rng.exponential(float(noise["update_delay_days"]), len(u))).astype(np.int64)
    keep = u_day <= cal.traces_end
    u, u_day = u[keep], u_day[keep]
    u_fmt = _vsm_formats(rng, plan.p_struct[pro[u]], plan.switch_day[pro[u]], u_day, sw, codes)
    parts.append((pro[u], dmp[u], u_day, u_fmt, np.full(len(u), S_SUCCESS), np.full(len(u), A_UPDATE)))
    # Deletions (successful, later).
    d = base[rng.random(len(base)) < float(noise["deletion_share"])]
    d_day = day[d] + 1 + np.floor(rng.exponential(float(noise["deletion_delay_days"]), len(d))).astype(np.int64)
    keep = d_day <= cal.traces_end
    d, d_day = d[keep], d_day[keep]
    parts.append((pro[d], dmp[d], d_day, fmt[d], np.full(len(d), S_SUCCESS), np.full(len(d), A_DELETION)))
    # A failed attempt shortly before a successful one.
    f = base[rng.random(len(base)) < float(noise["retry_failure_share"])]
    f_day = np.maximum(day[f] - rng.integers(0, 3, len(f)), cal.traces_start)
    parts.append((pro[f], dmp[f], f_day, fmt[f], np.full(len(f), S_FAILURE), action[f]))

    # ---- other document types
    n_oth = plan.n_other[sl]
    o_local = np.repeat(np.arange(hi - lo), n_oth)
    o_pro = o_local + lo
    m = len(o_pro)
    o_dmp = plan.pool_start[o_pro] + np.floor(rng.random(m) * plan.pool_size[o_pro]).astype(np.int64)
    o_type = (1 + rng.choice(len(codes.other_weights), m, p=codes.other_weights)).astype(np.int8)
    trend = rng.random(m) < float(other["trend_share"])
    # Increasing density: the max of two uniforms has a linearly increasing density.
    frac = np.where(trend, np.maximum(rng.random(m), rng.random(m)), rng.random(m))
    recent = codes.recent_from[o_type]
    o_day = recent + np.floor(frac * (cal.traces_end - recent + 1)).astype(np.int64)
    is_ips_doc = np.array([t == codes.ips_type for t in codes.types])[o_type]
    text = rng.random(m) < float(other["text_share"])
    o_fmt = np.where(is_ips_doc, codes.F_IPS, np.where(text, codes.F_TEXT, codes.F_PDF)).astype(np.int8)
    acts = other["actions"]
    aw = np.array([float(acts[a]) for a in ACTIONS])
    o_action = rng.choice(len(ACTIONS), m, p=aw / aw.sum()).astype(np.int8)
    o_status = (rng.random(m) < float(other["failure_share"])).astype(np.int8)

    cols = [np.concatenate(c) for c in zip(*parts)]
    v_pro, v_dmp, v_day, v_fmt, v_status, v_action = cols
    out = {
        "pro": np.concatenate([v_pro, o_pro]).astype(np.int64),
        "dmp": np.concatenate([v_dmp, o_dmp]).astype(np.int64),
        "day": np.concatenate([v_day, o_day]).astype(np.int32),
        "type": np.concatenate([np.zeros(len(v_pro), np.int8), o_type]).astype(np.int8),
        "format": np.concatenate([v_fmt, o_fmt]).astype(np.int8),
        "status": np.concatenate([v_status, o_status]).astype(np.int8),
        "action": np.concatenate([v_action, o_action]).astype(np.int8),
    }
    # A trace log: chronological within a file (stable, hence deterministic).
    order = np.lexsort((out["dmp"], out["pro"], out["day"]))
    return {key: value[order] for key, value in out.items()}


def _feeds_table(rows: dict[str, np.ndarray], lo: int, hi: int, ps_ids: list[str],
                 codes: _Codes, dmp_keys: tuple[int, int, int]) -> pa.Table:
    def dictionary(indices: np.ndarray, values: list[str] | tuple[str, ...]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(list(values), pa.string()))

    return pa.table(
        {
            "ps_id": dictionary(rows["pro"] - lo, ps_ids[lo:hi]),
            "dmp_id": _fixed_width_strings(_DMP_PREFIX, _mix40(rows["dmp"], dmp_keys), _DMP_DIGITS),
            "event_date": pa.array(rows["day"]).cast(pa.date32()),
            "type_code": dictionary(rows["type"], codes.types),
            "format_code": dictionary(rows["format"], codes.formats),
            "status": dictionary(rows["status"], STATUSES),
            "action": dictionary(rows["action"], ACTIONS),
        }
    )


def _write_feeds_chunk(table: pa.Table, path: Path, meta: dict[bytes, bytes]) -> None:
    # Dictionary-encoded in memory, plain `string` on disk: the Arrow schema is not stored,
    # so every reader (pyarrow, pandas, DuckDB) sees the declared string columns.
    with pq.ParquetWriter(path, table.schema, compression="zstd", store_schema=False,
                          use_dictionary=_DICTIONARY_COLUMNS) as writer:
        writer.write_table(table, row_group_size=1 << 20)
        writer.add_key_value_metadata({k.decode(): v.decode() for k, v in meta.items()})


# --------------------------------------------------------------------------- entry point


def synthesize(out_dir: Path, scale: str = "demo", seed: int = 2024, progress: bool = False) -> dict:
    """Write DIR/feeds/part-NNNNN.parquet (a folder of Parquet files) and DIR/patientele.parquet.

    Return a summary dict: {"scale", "seed", "feeds_rows", "feeds_files", "patientele_rows",
    "professionals", "centres", "seconds"} plus "professionals_without_patientele" and
    "out_dir". ``professionals`` counts the médecins with a patientèle; ``centres`` the centres
    de santé. Output is generated in a temporary sibling folder and moved into place only when
    complete: an existing out_dir keeps its other files, and its feeds/ and patientele.parquet
    are replaced only on success.
    """
    t0 = time.perf_counter()
    params = load_synth_params()
    spec = scale_spec(params, scale)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VsmError(f"Graine invalide : « {seed} ». Donner un entier positif ou nul.")
    seed = int(seed)
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise VsmError(f"« {out_dir} » existe et n'est pas un dossier.")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_dir.parent / f".{out_dir.name}.synth-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as exc:
        raise VsmError(f"Impossible de créer le dossier de sortie « {out_dir} » : {exc.strerror or exc}.") from exc

    try:
        summary = _generate(tmp, params, spec, scale, seed, progress)
        _install(tmp, out_dir)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise VsmError(f"Écriture des données synthétiques impossible dans « {out_dir} » : "
                           f"{exc.strerror or exc}. Aucun fichier n'a été modifié.") from exc
        raise
    summary["out_dir"] = str(out_dir)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


def _install(tmp: Path, out_dir: Path) -> None:
    """Move a complete generation into place (feeds/ and patientele.parquet only)."""
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    feeds, backup = out_dir / "feeds", out_dir / f".feeds.old-{uuid.uuid4().hex[:8]}"
    had_feeds = feeds.exists()
    if had_feeds:
        os.rename(feeds, backup)
    try:
        os.rename(tmp / "feeds", feeds)
        os.replace(tmp / "patientele.parquet", out_dir / "patientele.parquet")
    except BaseException:
        if feeds.exists() and had_feeds:
            shutil.rmtree(feeds, ignore_errors=True)
        if had_feeds:
            os.rename(backup, feeds)
        raise
    if had_feeds:
        shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _generate(tmp: Path, params: dict[str, Any], spec: dict[str, Any], scale: str, seed: int,
              progress: bool) -> dict:
    cal = Calendar.from_params(params["calendar"])
    codes = _make_codes(params, cal)
    ss_pros, ss_plan, ss_keys, ss_chunks = np.random.SeedSequence(seed).spawn(4)
    pros = make_professionals(params, spec, cal, np.random.default_rng(ss_pros))
    plan = _make_plan(params, pros, cal, np.random.default_rng(ss_plan))
    key_rng = np.random.default_rng(ss_keys)
    dmp_keys = (int(key_rng.integers(1, 1 << 39)) * 2 + 1, int(key_rng.integers(1, 1 << 39)) * 2 + 1,
                int(key_rng.integers(0, 1 << 40)))
    meta = {b"vsm.synthetic": b"true", b"vsm.synth.scale": scale.encode(), b"vsm.synth.seed": str(seed).encode()}

    patientele = _patientele_table(pros, cal, meta)
    pq.write_table(patientele, tmp / "patientele.parquet", compression="zstd")

    n = len(pros.kind)
    per_file = max(1, int(spec["professionals_per_file"]))
    bounds = [(lo, min(lo + per_file, n)) for lo in range(0, n, per_file)]
    chunk_seeds = ss_chunks.spawn(len(bounds))
    feeds_dir = tmp / "feeds"
    feeds_dir.mkdir()
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(bounds), desc="Traces d'alimentation DMP", unit="fichier")
    feeds_rows = 0
    try:
        for i, ((lo, hi), chunk_seed) in enumerate(zip(bounds, chunk_seeds)):
            rows = _feeds_chunk(params, plan, lo, hi, cal, codes, np.random.default_rng(chunk_seed))
            table = _feeds_table(rows, lo, hi, pros.ps_id, codes, dmp_keys)
            del rows
            _write_feeds_chunk(table, feeds_dir / f"part-{i:05d}.parquet", meta)
            feeds_rows += table.num_rows
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"{feeds_rows:,} lignes".replace(",", "\u202f"))
    finally:
        if bar is not None:
            bar.close()

    return {
        "scale": scale,
        "seed": seed,
        "feeds_rows": int(feeds_rows),
        "feeds_files": len(bounds),
        "patientele_rows": patientele.num_rows,
        "professionals": int((pros.kind == MEDECIN).sum()),
        "centres": int((pros.kind == CENTRE).sum()),
        "professionals_without_patientele": int((pros.kind == SPECIALISTE).sum()),
        "seconds": 0.0,
    }
