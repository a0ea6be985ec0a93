"""Each professional's plan: adopter or not, coverage reached, progress, start date, software
profile, volume of other documents, and the pool of DMP numbers it draws from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .params import KINDS, Calendar, day_number
from .professionals import Professionals

@dataclass
class Plan:
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
    lo, hi = day_number(window[0]), day_number(window[1])
    return rng.integers(lo, hi + 1, size)


def make_plan(params: dict[str, Any], pros: Professionals, cal: Calendar,
               rng: np.random.Generator) -> Plan:
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
    return Plan(n1=n1, n2=n2, n_post=n_post, n_pre_only=n_pre_only, n_fail_only=n_fail_only,
                 start=start, pilot=pilot, p_struct=p_struct, switch_day=switch_day.astype(np.int64),
                 n_other=n_other, pool_start=pool_start, pool_size=pool_size)

