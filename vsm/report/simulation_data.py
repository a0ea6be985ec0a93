"""The data of the simulation report (vsm/report_simulation.py): the files ``vsm simulate``
wrote (vsm/simulate/files.py), every scenario and the sweep aligned on one universe of
professionals per period, and the statistical secrecy of each scope.

Every number of professionals the report shows is the size of a *group* of one scope
(France entière, or a region): « rémunérés avec la règle actuelle », « gagnants », « passent
du palier 0 au palier 1 », « rémunérés pour la valeur 0,42 du balayage »…
:func:`simulation_plan` protects each scope with :func:`vsm.publish.secrecy.protect`, then makes the
regions consistent with the national totals (:func:`vsm.report.couple_regions`); the
groups the payment reports of the same period publish are added to each scope as groups
already known (``shown``, :func:`payment_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import duckdb
import numpy as np
import pandas as pd

from . import display as dp
from . import data as rd
from . import plan as sp
from ..publish import secrecy
from ..errors import VsmError
from ..regions import load_regions, normalize_region
from ..rules import RuleSet
from ..simulate.files import SWEEP_DIR, read_comparison

NATIONAL = rd.NATIONAL
NATIONAL_NAME = rd.NATIONAL_NAME

IMPORTANCE = {
    "remuneres_actuel": 100,
    "remuneres_base": 100,
    "remuneres_scenario": 100,
    "gagnants": 90,
    "perdants": 90,
    "nouveaux": 80,
    "sortants": 80,
    "professionnels": 60,
    "changent_palier": 50,
    "inchanges": 40,
    "transition": 30,
    "balayage_remuneres": 35,
    "balayage_change": 20,
}


def _importance(name: str) -> int:
    base = name.split(":")[-1]
    for prefix, weight in IMPORTANCE.items():
        if base == prefix or base.startswith(prefix + "_"):
            return weight
    return 50


# --------------------------------------------------------------------------- loading


def parse_scenarios(scenarios: object) -> list[str]:
    """The notebook's ``scenarios`` parameter: a list of paths, or one text of paths
    separated by commas."""
    if scenarios is None:
        return []
    if isinstance(scenarios, str):
        return [s.strip() for s in scenarios.split(",") if s.strip()]
    return [str(s) for s in scenarios]


def parse_region(region: object) -> str | None:
    if region is None or (isinstance(region, str) and region.strip().lower() in ("", NATIONAL, "none")):
        return None
    return normalize_region(region)  # « 4 » instead of « 04 » → French error with the hint


@dataclass
class PeriodData:
    """One period: the professionals of every scenario aligned on one universe."""

    period: str
    ids: np.ndarray
    region: np.ndarray  # codes as text
    baseline: np.ndarray  # payable cents under the current rule
    baseline_tier: np.ndarray
    scenarios: dict[str, tuple[np.ndarray, np.ndarray]]  # id → (tier, payable cents)
    sweep: list[np.ndarray] = field(default_factory=list)  # payable cents per sweep value


def _align(ids: np.ndarray, part_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(ids), dtype=np.int64)
    if len(part_ids):
        out[np.searchsorted(ids, part_ids)] = values
    return out


def _read_sweep(folder: Path, period: str) -> dict[str, np.ndarray]:
    path = folder / SWEEP_DIR / f"{period}.parquet"
    if not path.is_file():
        raise VsmError(f"Balayage introuvable : « {path} ».")
    con = duckdb.connect()
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]
        money = [n for n in names if n.endswith("_eur")]
        select = ", ".join(["ps_id", "region", *(f'CAST("{n}" * 100 AS BIGINT) AS "{n}"' for n in money)])
        data = con.execute(f"SELECT {select} FROM read_parquet('{path}') ORDER BY ps_id").fetchnumpy()
    finally:
        con.close()
    return {k: np.asarray(v, dtype=object if k in ("ps_id", "region") else np.int64) for k, v in data.items()}


def load_period_data(folder: Path, scenario_ids: list[str], period: str, with_sweep: bool) -> PeriodData:
    comparisons = {sid: read_comparison(folder, sid, period) for sid in scenario_ids}
    sweep = _read_sweep(folder, period) if with_sweep else None
    parts = [c.ps_id for c in comparisons.values()] + ([sweep["ps_id"]] if sweep else [])
    ids = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=object)
    region = np.full(len(ids), "", dtype=object)
    sources = [(c.ps_id, c.region) for c in comparisons.values()] + ([(sweep["ps_id"], sweep["region"])] if sweep else [])
    for part_ids, part_region in sources:
        region[np.searchsorted(ids, part_ids)] = [str(r) for r in part_region]
    baseline = np.zeros(len(ids), dtype=np.int64)
    baseline_tier = np.zeros(len(ids), dtype=np.int64)
    scenarios = {}
    for sid, c in comparisons.items():
        baseline = np.maximum(baseline, _align(ids, c.ps_id, c.baseline_cents))
        baseline_tier = np.maximum(baseline_tier, _align(ids, c.ps_id, c.baseline_tier))
        scenarios[sid] = (_align(ids, c.ps_id, c.scenario_tier), _align(ids, c.ps_id, c.scenario_cents))
    values = []
    if sweep:
        if not comparisons:
            baseline = _align(ids, sweep["ps_id"], sweep["current_eur"])
        i = 1
        while f"v{i}_eur" in sweep:
            values.append(_align(ids, sweep["ps_id"], sweep[f"v{i}_eur"]))
            i += 1
    return PeriodData(period, ids, region, baseline, baseline_tier, scenarios, values)


# --------------------------------------------------------------------------- secrecy


def scenario_groups(data: PeriodData, index: int, sid: str, mask: np.ndarray, transitions: bool) -> dict[str, np.ndarray]:
    """The groups of professionals the report publishes for one scenario (on ``mask``)."""
    tier, cents = data.scenarios[sid]
    b, s, bt = data.baseline[mask], cents[mask], data.baseline_tier[mask]
    st = tier[mask]
    d = s - b
    k = f"s{index}"
    groups = {
        f"{k}:remuneres_base": b > 0,
        f"{k}:remuneres_scenario": s > 0,
        f"{k}:gagnants": d > 0,
        f"{k}:perdants": d < 0,
        f"{k}:inchanges": d == 0,
        f"{k}:nouveaux": (b == 0) & (s > 0),
        f"{k}:sortants": (b > 0) & (s == 0),
        f"{k}:changent_palier": bt != st,
    }
    if transitions:
        for a in np.unique(bt):
            for c in np.unique(st):
                groups[f"{k}:transition_{int(a)}_{int(c)}"] = (bt == a) & (st == c)
    return groups


def sweep_groups(data: PeriodData, mask: np.ndarray) -> dict[str, np.ndarray]:
    groups = {}
    for i, cents in enumerate(data.sweep, start=1):
        groups[f"v{i}:balayage_remuneres"] = cents[mask] > 0
        groups[f"v{i}:balayage_change"] = cents[mask] != data.baseline[mask]
    return groups


# Groups that the payment reports of the same period publish and that this report's figures
# are tied to (vsm.report.vsm_groups names): when a payment report shows one, it is « shown »
# here (vsm.publish.secrecy.protect): never masked, counted as known, the masks taken elsewhere.
PAYMENT_GROUPS = ("professionnels", "remuneres", "complements")


def payment_groups(results: pd.DataFrame, rules: RuleSet, data: PeriodData) -> dict[str, dict[str, np.ndarray]]:
    """Per scope, the payment reports' published groups (unmasked in their plan,
    :func:`vsm.report.secrecy_plan`) among :data:`PAYMENT_GROUPS` and « atteint_<k> », as
    boolean arrays over this report's professionals of the scope."""
    plan = sp.secrecy_plan(results, rules)
    names = [*PAYMENT_GROUPS, *(f"atteint_{k}" for k in range(1, len(rules.tiers.levels) + 1))]
    codes = results["region"].astype(str).to_numpy()
    out: dict[str, dict[str, np.ndarray]] = {}
    for scope in [NATIONAL, *load_regions()]:
        if not plan.covers(scope) or plan.whole(scope):
            continue
        rows = results if scope == NATIONAL else results[codes == scope]
        mine = data.ids if scope == NATIONAL else data.ids[data.region == scope]
        groups = sp.vsm_groups(rows, rules, detail=False)
        positions = np.searchsorted(mine, rows["ps_id"].to_numpy(object)) if len(mine) else np.zeros(0, dtype=np.int64)
        if len(positions) and (positions.max() >= len(mine) or not (mine[positions] == rows["ps_id"].to_numpy(object)).all()):
            continue  # not the same professionals: nothing shared with this report
        shown = {}
        for name in names:
            if name in groups and not plan.is_masked(scope, name):
                member = np.zeros(len(mine), dtype=bool)
                member[positions] = groups[name]
                shown[f"paiement:{name}"] = member
        out[scope] = shown
    return out


@dataclass(frozen=True, eq=False)
class Scope(sp.Population):
    """A population whose ``shown`` groups are published elsewhere (the payment reports)."""

    shown: frozenset[str] = frozenset()

    def protect(self, forced: Iterable[str] = ()) -> secrecy.Protection:
        whole = dp.small(self.size)
        try:
            return secrecy.protect(self.groups, importance=self.importance, forced=forced,
                                      shown=[] if whole else self.shown, whole=whole)
        except VsmError:  # what is published elsewhere leaves no safe choice here: publish nothing
            return secrecy.protect(self.groups, importance=self.importance, whole=True)


def populations(data: PeriodData, scenario_ids: list[str], region: str | None,
                published: dict[str, dict[str, np.ndarray]] | None = None) -> tuple[sp.Population, dict[str, sp.Population]]:
    everyone = np.ones(len(data.ids), dtype=bool)
    published = published or {}

    def scope(name: str, mask: np.ndarray, national: bool, detail: bool) -> Scope:
        groups = {"professionnels": np.ones(int(mask.sum()), dtype=bool), "remuneres_actuel": data.baseline[mask] > 0}
        for i, sid in enumerate(scenario_ids):
            groups.update(scenario_groups(data, i, sid, mask, transitions=detail))
        if national:
            groups.update(sweep_groups(data, mask))
        shown = published.get(name, {})
        groups.update(shown)
        return Scope(name, groups, {n: _importance(n) for n in groups}, frozenset(shown))

    pop = scope(NATIONAL, everyone, True, True)
    regions = {}
    for code in [*load_regions(), *sorted(set(data.region.tolist()) - set(load_regions()))]:
        regions[code] = scope(code, data.region == code, False, code == region)
    return pop, regions


def simulation_plan(national: sp.Population, regions: dict[str, sp.Population]) -> sp.Secrecy:
    """Each scope protected on its own, then the regions made consistent with the national
    totals (:func:`vsm.report.couple_regions`): a group's masked regional
    counts are 0 or at least two adding up to more than 10, else one more region is masked."""
    coupled = [name for name in national.groups if all(name in pop.groups for pop in regions.values())
               and not name.startswith("paiement:")]
    protections = sp.couple_regions(national, regions, coupled)
    return sp.Secrecy(protections)
