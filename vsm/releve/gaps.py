"""Exact gaps: what each professional of a results table lacks for the next tier and for the
majoration, and what it would then be paid — every figure through the forfait itself.

* the number of DMPs (or structured VSMs) lacking is the smallest integer ``n`` such that
  ``(count + n) / denominator`` meets the threshold, decided by :func:`vsm.forfait.meets`
  (exact integer cross-products), and checked at ``n`` and ``n - 1``;
* the euros at stake are :func:`vsm.forfait.compute_columns` run again on the counts with
  ``n`` added, minus what is payable now (the complement for a complementary period).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from ..forfait import COUNT_COLUMNS, compute_columns, meets, to_cents
from ..rules import RuleSet

NO_GAP = -1


def needed(count: np.ndarray, denominator: np.ndarray, threshold: Fraction, comparison: str) -> np.ndarray:
    """Smallest n ≥ 0 such that (count + n) / denominator meets ``threshold`` (forfait.meets,
    exact), for each professional; NO_GAP where no n can (denominator ≤ 0)."""
    count = np.asarray(count, dtype=np.int64)
    denominator = np.asarray(denominator, dtype=np.int64)
    p, q = threshold.numerator, threshold.denominator
    if comparison == ">=":
        target = -((-denominator * p) // q)  # ceil(den × p / q)
    else:
        target = (denominator * p) // q + 1
    n = np.maximum(target - count, 0)
    # the forfait's own comparison decides; the closed form above is only the first guess
    while True:
        short = ~meets(count + n, denominator, threshold, comparison) & (denominator > 0)
        if not short.any():
            break
        n = np.where(short, n + 1, n)
    while True:
        over = (n > 0) & meets(count + n - 1, denominator, threshold, comparison)
        if not over.any():
            break
        n = np.where(over, n - 1, n)
    return np.where(denominator > 0, n, NO_GAP)


def paid_cents(table) -> np.ndarray | None:
    """What a results table says was already paid (``paid_eur``), in cents; None without that column."""
    if "paid_eur" not in table.columns:
        return None
    return np.fromiter((0 if v is None else to_cents(Decimal(v)) for v in table["paid_eur"]), dtype=np.int64, count=len(table))


def _payable(columns: dict) -> np.ndarray:
    return columns["complement_cents"] if "complement_cents" in columns else columns["amount_cents"]


@dataclass
class Gaps:
    """Per professional of a results table (arrays aligned with its rows)."""

    next_level: np.ndarray  # tier to reach (1-based), 0 when none (top tier, not eligible)
    dmp_needed: np.ndarray  # DMPs fed lacking for next_level; NO_GAP when none
    tier_payable_cents: np.ndarray  # payable if the next tier were reached, all else equal
    structured_needed: np.ndarray  # structured VSMs lacking for the majoration; NO_GAP when none
    majoration_payable_cents: np.ndarray
    payable_cents: np.ndarray  # payable now (amount, or complement)


def gaps(table, rules: RuleSet, period: str) -> Gaps:
    """The gaps to the next tier and to the majoration of every row of a results table
    (counts columns, tier, majoration; paid_eur for a complementary period)."""
    mt, ald, fed, structured = (table[c].to_numpy(np.int64) for c in COUNT_COLUMNS)
    paid = paid_cents(table)
    if rules.period(period).complement_of is None:
        paid = None
    now = compute_columns(mt, ald, fed, structured, rules, period, paid_cents=paid)
    levels = rules.tiers.levels
    tier = now["tier"]
    eligible = now["eligible"]

    next_level = np.where(eligible & (tier < len(levels)), tier + 1, 0)
    dmp_needed = np.full(len(tier), NO_GAP, dtype=np.int64)
    for number, level in enumerate(levels, start=1):
        here = next_level == number
        if here.any():
            dmp_needed = np.where(here, needed(fed, ald, level.min_share, rules.tiers.comparison), dmp_needed)
    reach = dmp_needed > 0
    maj = rules.majoration
    threshold = maj.min_structured_share
    keeps = meets(structured, fed, threshold.value, threshold.comparison) if maj.enabled.value else np.zeros(len(tier), bool)
    add = np.where(reach, dmp_needed, 0)
    scenario = compute_columns(mt, ald, fed + add, structured + np.where(keeps, add, 0), rules, period, paid_cents=paid)
    tier_payable = np.where(reach, _payable(scenario), _payable(now))

    structured_needed = np.full(len(tier), NO_GAP, dtype=np.int64)
    majoration_payable = _payable(now).copy()
    if maj.enabled.value:
        candidates = (tier > 0) & ~now["majoration"] & (fed > 0)
        n = needed(structured, fed, threshold.value, threshold.comparison)
        structured_needed = np.where(candidates, n, NO_GAP)
        more = np.where(candidates, n, 0)
        scenario = compute_columns(mt, ald, fed, structured + more, rules, period, paid_cents=paid)
        majoration_payable = np.where(candidates, _payable(scenario), _payable(now))
    return Gaps(next_level, dmp_needed, tier_payable, structured_needed, majoration_payable, _payable(now))



