"""The forfait structure of each professional: pure and exact (seed 003, CGSS Martinique).

  * volet 1 « prérequis »: every indicator must be met (a neutralised one counts as met);
    the volet is paid as a whole (the seed gives its total, 280 points, not points per
    indicator); when it is not met nothing is paid, volet 2 included;
  * volet 2: independent optional indicators, each paying its points when met; the
    téléservices indicator pays its points in proportion to the services met (or all or
    nothing, as the rule set says);
  * euros = points × point value, exactly, in integer cents.

Rates are compared to the thresholds as integer rationals (never as floats).
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from ..forfait import cents_to_eur, meets, to_cents
from .inputs import rate_fractions, validate_structure_input
from ..money import round_cent
from .rules import Criterion, Service, StructureIndicator, StructureRuleSet

SUMMARY_COLUMNS = (
    "volet1_met",
    "volet1_points",
    "volet1_eur",
    "volet2_points_reached",
    "volet2_points",
    "volet2_eur",
    "total_points",
    "amount_eur",
)


def met_column(volet: int, indicator: StructureIndicator, service: Service | None = None) -> str:
    base = f"v{volet}_{indicator.id}"
    return f"{base}_{service.id}_met" if service is not None else f"{base}_met"


def points_column(indicator: StructureIndicator) -> str:
    return f"v2_{indicator.id}_points"


def services_column(indicator: StructureIndicator) -> str:
    return f"v2_{indicator.id}_services_met"


def _criterion_met(crit: Criterion, table: pd.DataFrame) -> np.ndarray:
    n = len(table)
    if crit.kind == "neutralised":
        return np.ones(n, dtype=bool)
    values = table[crit.column]
    if crit.kind in ("declared", "observed"):
        return values.to_numpy(dtype=bool)
    if crit.kind == "count":
        return values.to_numpy(dtype=np.int64) >= crit.min_count.value
    num, den = rate_fractions(values.to_numpy(dtype=float))
    return np.asarray(meets(num, den, crit.threshold.value, crit.threshold.comparison), dtype=bool)


def compute_structure(
    frame: pd.DataFrame, rules: StructureRuleSet, source: str = "table des indicateurs"
) -> pd.DataFrame:
    """One row per professional: each indicator met or not, points per volet, euros (exact)."""
    table = validate_structure_input(frame, rules, source=source)
    n = len(table)
    point_cents = to_cents(rules.point_value.value)
    flags: dict[str, np.ndarray] = {}

    # Volet 1: every indicator met (neutralised ones count as met); paid as a whole.
    volet1_met = np.ones(n, dtype=bool)
    for ind in rules.volet1.indicators:
        met = _criterion_met(ind, table)
        flags[met_column(1, ind)] = met
        volet1_met &= met
    volet1_points = np.where(volet1_met, rules.volet1.points.value, 0).astype(np.int64)

    # Volet 2: independent indicators, each with its points.
    reached = np.zeros(n, dtype=np.int64)
    for ind in rules.volet2.indicators:
        pts = ind.points.value
        if ind.kind == "services":
            n_met = np.zeros(n, dtype=np.int64)
            for service in ind.services:
                met = _criterion_met(service, table)
                flags[met_column(2, ind, service)] = met
                n_met += met
            flags[services_column(ind)] = n_met
            total = len(ind.services)
            if ind.scoring.value == "proportional":
                points = pts * n_met // total  # exact: the rule set checks that pts / total is whole
            else:
                points = np.where(n_met == total, pts, 0).astype(np.int64)
            flags[met_column(2, ind)] = n_met == total  # every téléservice met (full points)
        else:
            met = _criterion_met(ind, table)
            flags[met_column(2, ind)] = met
            points = np.where(met, pts, 0).astype(np.int64)
        flags[points_column(ind)] = points
        reached += points
    paid_volet2 = volet1_met if rules.volet1.gates_volet2.value else np.ones(n, dtype=bool)
    volet2_points = np.where(paid_volet2, reached, 0)
    total_points = volet1_points + volet2_points

    result = table.copy()
    for name, values in flags.items():
        result[name] = values
    result["volet1_met"] = volet1_met
    result["volet1_points"] = volet1_points
    result["volet1_eur"] = cents_to_eur(volet1_points * point_cents)
    result["volet2_points_reached"] = reached
    result["volet2_points"] = volet2_points
    result["volet2_eur"] = cents_to_eur(volet2_points * point_cents)
    result["total_points"] = total_points
    result["amount_eur"] = cents_to_eur(total_points * point_cents)
    return result


def total_eur(results: pd.DataFrame, column: str = "amount_eur") -> Decimal:
    """Exact sum of a money column (Decimal, or numbers read back from a CSV)."""
    return sum((v if isinstance(v, Decimal) else round_cent(Decimal(str(v))) for v in results[column]), Decimal("0.00"))
