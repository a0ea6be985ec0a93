"""Comparing a variant with the baseline, professional by professional: exact money (integer
cents, one half-up rounding), the budget impact per region and France entière, the tier
changes, the cost of each sweep value."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from ..money import cent_eur, mean_of_total, median_eur, round_cent
from ..rules import RuleSet
from .engine import Engine, Payments
from .sweep import Sweep, exact_number, exact_text

NATIONAL = "national"


@dataclass
class Comparison:
    """Baseline and one variant, one period, aligned on the union of their professionals."""

    ps_id: np.ndarray
    region: np.ndarray
    baseline_tier: np.ndarray
    scenario_tier: np.ndarray
    baseline_cents: np.ndarray
    scenario_cents: np.ndarray

    @property
    def difference_cents(self) -> np.ndarray:
        return self.scenario_cents - self.baseline_cents

    def columns(self) -> dict[str, np.ndarray]:
        """The per-professional table (money in cents, written as exact euros)."""
        return {
            "ps_id": self.ps_id,
            "region": self.region,
            "baseline_tier": self.baseline_tier,
            "scenario_tier": self.scenario_tier,
            "baseline_cents": self.baseline_cents,
            "scenario_cents": self.scenario_cents,
            "difference_cents": self.difference_cents,
        }


def align(payments: list[Payments], universe: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The union of professionals of several results (or ``universe``), their region, and for
    each result its (tier, payable cents) on that union (0 where absent)."""
    if universe is None and payments and all(p.ps_id is payments[0].ps_id for p in payments):
        # computed from the same counts: already one sorted row per professional, in the same order
        return payments[0].ps_id, payments[0].region.astype(object), [(p.tier, p.payable_cents) for p in payments]
    ids = universe if universe is not None else np.unique(np.concatenate([p.ps_id.astype(object) for p in payments])) if payments else np.empty(0, dtype=object)
    ids = np.asarray(ids, dtype=object)
    region = np.full(len(ids), None, dtype=object)
    aligned = []
    for p in payments:
        pos = np.searchsorted(ids, p.ps_id.astype(object)) if len(ids) else np.zeros(0, dtype=np.int64)
        if len(pos) and not (np.all(pos < len(ids)) and np.all(ids[np.minimum(pos, len(ids) - 1)] == p.ps_id)):
            raise AssertionError("Incohérence interne : professionnels hors de l'union.")
        missing = np.array([r is None for r in region[pos]], dtype=bool) if len(pos) else np.zeros(0, dtype=bool)
        region[pos[missing]] = p.region[missing]
        tier = np.zeros(len(ids), dtype=np.int64)
        cents = np.zeros(len(ids), dtype=np.int64)
        tier[pos] = p.tier
        cents[pos] = p.payable_cents
        aligned.append((tier, cents))
    return ids, region, aligned


def compare(baseline: Payments, scenario: Payments) -> Comparison:
    ids, region, [(bt, bc), (st, sc)] = align([baseline, scenario])
    return Comparison(ids, region, bt, st, bc, sc)


def _mean(cents: np.ndarray) -> Decimal | None:
    return mean_of_total(cent_eur(int(cents.sum())), len(cents))


def _median(cents: np.ndarray) -> Decimal | None:
    return median_eur(cent_eur(c) for c in cents)


def change_percent(change: Decimal, baseline: Decimal) -> Decimal | None:
    """Change in cost as a percentage of the baseline, rounded once to 0.01 (half up)."""
    if baseline == 0:
        return None
    return round_cent(Fraction(change) * 100 / Fraction(baseline))


def summary_figures(c: Comparison, mask: np.ndarray | None = None) -> dict:
    """The budget impact of one comparison (on ``mask``'s professionals): exact money."""
    if mask is None:
        mask = np.ones(len(c.ps_id), dtype=bool)
    b, s = c.baseline_cents[mask], c.scenario_cents[mask]
    d = s - b
    cost_b, cost_s = cent_eur(int(b.sum())), cent_eur(int(s.sum()))
    change = cost_s - cost_b
    gains, losses = d[d > 0], -d[d < 0]
    return {
        "professionals": int(mask.sum()),
        "paid_baseline": int((b > 0).sum()),
        "paid_scenario": int((s > 0).sum()),
        "cost_baseline_eur": cost_b,
        "cost_scenario_eur": cost_s,
        "change_eur": change,
        "change_pct": change_percent(change, cost_b),
        "gaining": int((d > 0).sum()),
        "losing": int((d < 0).sum()),
        "unchanged": int((d == 0).sum()),
        "mean_gain_eur": _mean(gains),
        "median_gain_eur": _median(gains),
        "mean_loss_eur": _mean(losses),
        "median_loss_eur": _median(losses),
        "newly_paid": int(((b == 0) & (s > 0)).sum()),
        "no_longer_paid": int(((b > 0) & (s == 0)).sum()),
        "tier_changed": int((c.baseline_tier[mask] != c.scenario_tier[mask]).sum()),
    }


SUMMARY_FIELDS = (
    "scenario", "period", "region", "professionals", "paid_baseline", "paid_scenario", "cost_baseline_eur",
    "cost_scenario_eur", "change_eur", "change_pct", "gaining", "losing", "unchanged", "mean_gain_eur",
    "median_gain_eur", "mean_loss_eur", "median_loss_eur", "newly_paid", "no_longer_paid", "tier_changed",
)


def summary_rows(scenario_id: str, period: str, c: Comparison) -> list[dict]:
    """France entière, then each region (codes in order; unknown regions last)."""
    rows = [{"scenario": scenario_id, "period": period, "region": NATIONAL, **summary_figures(c)}]
    codes = np.array([str(r) for r in c.region], dtype=object)
    for code in sorted(set(codes.tolist())):
        rows.append({"scenario": scenario_id, "period": period, "region": code, **summary_figures(c, codes == code)})
    return rows


def transitions(c: Comparison, mask: np.ndarray | None = None) -> dict[str, int]:
    """Professionals by (baseline tier, scenario tier): « 0>1 » → count."""
    if mask is None:
        mask = np.ones(len(c.ps_id), dtype=bool)
    pairs = np.stack([c.baseline_tier[mask], c.scenario_tier[mask]], axis=1) if mask.any() else np.zeros((0, 2), dtype=np.int64)
    found, counts = np.unique(pairs, axis=0, return_counts=True) if len(pairs) else (np.zeros((0, 2)), np.zeros(0))
    return {f"{int(a)}>{int(b)}": int(n) for (a, b), n in zip(found, counts)}


def sweep_rows(sweep: Sweep, engine: Engine, baseline: RuleSet, periods: list[str]) -> list[dict]:
    """Cost and professionals paid for each value (and the current rule), exact."""
    rows = []
    points = [(v, r.id, False) for v, r in zip(sweep.values, sweep.variants)]
    if not any(exact_number(v) == sweep.current for v in sweep.values):
        points.append((exact_text(sweep.current), baseline.id, True))
    for pid in periods:
        for value, rules_id, added in sorted(points, key=lambda p: exact_number(p[0])):
            pay = engine.computed[rules_id].periods[pid]
            rows.append({
                "value": value,
                "current": exact_number(value) == sweep.current,
                "added_current": added,
                "period": pid,
                "rules": rules_id,
                "paid": int((pay.payable_cents > 0).sum()),
                "cost_eur": cent_eur(int(pay.payable_cents.sum())),
            })
    return rows

