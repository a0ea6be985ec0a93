"""The forfait structure of a region (or of all): the figures of a regional report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from .. import present as fr
from ..errors import VsmError
from ..regions import normalize_region
from .compute import met_column, total_eur
from ..money import mean_of_total
from .rules import StructureRuleSet, load_structure_rules


def regional_summary(
    results: pd.DataFrame, region: str | None = None, rules: StructureRuleSet | None = None
) -> dict[str, Any]:
    """Figures for a regional report, beside the forfait VSM.

    Returns a dict: region (code or None for all), professionals, volet1_met, paid,
    total_points, total_eur, mean_eur (per professional), mean_eur_paid (per professional
    paid), points_quantiles (dict), points_distribution (DataFrame: bracket, professionals,
    share) and indicators (DataFrame: volet, number, id, label, points, met, share).
    Counts are not masked: apply the statistical secrecy rule before publishing.
    """
    rules = rules or load_structure_rules()
    if region is not None:
        code = normalize_region(region)
        if "region" not in results.columns:
            raise VsmError("Les résultats n'ont pas de colonne « region » : impossible de les restreindre à une région.")
        results = results[results["region"].astype(str) == code]
    else:
        code = None
    n = len(results)
    amounts = total_eur(results) if n else Decimal("0.00")
    paid = results[results["total_points"] > 0] if n else results
    points = results["total_points"].to_numpy(dtype=np.int64) if n else np.zeros(0, dtype=np.int64)

    v1 = rules.volet1.points.value
    top = rules.max_points
    edges = [0, 1, v1] + list(range(v1 + 200, top, 200)) + [top + 1]
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        count = int(((points >= lo) & (points < hi)).sum())
        label = "0" if lo == 0 else f"{fr.integer(lo)} – {fr.integer(hi - 1)}"
        rows.append({"bracket": label, "min_points": lo, "max_points": hi - 1, "professionals": count,
                     "share": count / n if n else float("nan")})
    distribution = pd.DataFrame(rows)
    distribution = distribution[(distribution["professionals"] > 0) | (distribution["min_points"] != 1)]

    indicators = []
    for volet, ind in rules.indicators():
        column = met_column(volet, ind)
        met = int(results[column].sum()) if n else 0
        indicators.append({
            "volet": volet,
            "number": ind.number,
            "id": ind.id,
            "label": ind.label,
            "points": ind.points.value if ind.points is not None else None,
            "met": met,
            "share": met / n if n else float("nan"),
        })
        for service in ind.services or []:
            column = met_column(volet, ind, service)
            met = int(results[column].sum()) if n else 0
            indicators.append({
                "volet": volet, "number": ind.number, "id": f"{ind.id}.{service.id}",
                "label": f"{ind.label} — {service.short_label}", "points": None,
                "met": met, "share": met / n if n else float("nan"),
            })
    quantiles = {}
    for name, q in (("p10", 0.10), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("p90", 0.90)):
        quantiles[name] = float(np.quantile(points, q)) if n else float("nan")
    return {
        "region": code,
        "rules": rules.id,
        "professionals": n,
        "volet1_met": int(results["volet1_met"].sum()) if n else 0,
        "paid": len(paid),
        "total_points": int(points.sum()),
        "total_eur": amounts,
        "mean_eur": shown_mean(amounts, n),
        "mean_eur_paid": shown_mean(amounts, len(paid)),
        "points_quantiles": quantiles,
        "points_distribution": distribution.reset_index(drop=True),
        "indicators": pd.DataFrame(indicators),
    }


def shown_mean(total: Decimal, n: int) -> Decimal:
    """The summaries show 0,00 € as the mean of nobody (their published format)."""
    mean = mean_of_total(total, n)
    return Decimal("0.00") if mean is None else mean
