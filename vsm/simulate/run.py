"""A simulation run: the baseline, every scenario and every sweep value computed, each scenario
compared with the baseline period by period."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..rules import RuleSet
from .comparison import NATIONAL, Comparison, align, compare, summary_rows, sweep_rows, transitions
from .engine import Engine, compute_rule_sets
from .scenario import Scenario
from .sweep import Sweep

@dataclass
class Simulation:
    """Everything a simulation produced (what the CLI prints and the files hold)."""

    baseline: RuleSet
    scenarios: list[Scenario]
    periods: list[str]
    engine: Engine
    comparisons: dict[tuple[str, str], Comparison] = field(default_factory=dict)
    summary: list[dict] = field(default_factory=list)
    tier_changes: dict[str, dict[str, dict[str, dict[str, int]]]] = field(default_factory=dict)
    sweep: Sweep | None = None
    sweep_table: list[dict] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    def national(self, scenario_id: str, period: str) -> dict:
        return next(r for r in self.summary if r["scenario"] == scenario_id and r["period"] == period and r["region"] == NATIONAL)


def simulate(
    baseline: RuleSet,
    scenarios: list[Scenario],
    periods: list[str],
    feeds: Path | str,
    patientele: Path | str,
    sweep: Sweep | None = None,
    say: Callable[[str], None] = lambda _text: None,
) -> Simulation:
    """Compute the baseline (first: its results are kept, as ``vsm run`` writes them), every
    scenario and every sweep value; compare each scenario with the baseline, period by period."""
    rule_sets = [baseline, *(s.rules for s in scenarios), *(sweep.variants if sweep else ())]
    engine = compute_rule_sets(rule_sets, feeds, patientele, periods, say=say)
    sim = Simulation(baseline, scenarios, periods, engine, sweep=sweep)
    base = engine.computed[baseline.id]
    for scenario in scenarios:
        sim.tier_changes[scenario.id] = {}
        for pid in periods:
            c = compare(base.periods[pid], engine.computed[scenario.id].periods[pid])
            sim.comparisons[(scenario.id, pid)] = c
            sim.summary += summary_rows(scenario.id, pid, c)
            codes = [str(r) for r in c.region]
            per_region = {NATIONAL: transitions(c)}
            codes_arr = np.array(codes, dtype=object)
            for code in sorted(set(codes)):
                per_region[code] = transitions(c, codes_arr == code)
            sim.tier_changes[scenario.id][pid] = per_region
    if sweep is not None:
        sim.sweep_table = sweep_rows(sweep, engine, baseline, periods)
    return sim


def sweep_columns(sim: Simulation, period: str) -> dict[str, np.ndarray]:
    """Per professional: the payment under the current rule and under each sweep value
    (``v1_cents``…), for the report's statistical secrecy."""
    base = sim.engine.computed[sim.baseline.id].periods[period]
    pays = [base, *(sim.engine.computed[r.id].periods[period] for r in sim.sweep.variants)]
    ids, region, aligned = align(pays)
    columns = {"ps_id": ids, "region": region, "current_cents": aligned[0][1]}
    for i, (_tier, cents) in enumerate(aligned[1:], start=1):
        columns[f"v{i}_cents"] = cents
    return columns

