"""The caisse's list of the professionals within reach of their next step
(« a_accompagner.csv », beside paiements.csv): for field visits only, never published."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from ..forfait import COUNT_COLUMNS, meets
from ..regions import normalize_region
from ..outputs import atomic_path
from ..rules import RuleSet
from ..money import cent_eur
from .gaps import gaps
from .settings import Margins, load_margins

ACCOMPANIMENT_NAME = "a_accompagner.csv"


ACCOMPANIMENT_COLUMNS = (
    "ps_id", "ps_kind", "etape", "manque", "unite", "part_actuelle", "seuil",
    "patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured",
    "verse_eur", "verse_si_atteint_eur", "enjeu_eur",
)


def accompaniment(results, rules: RuleSet, period: str, region: str | None = None, margins: Margins | None = None):
    """The professionals within reach of their next step (params/accompagnement.yml), one
    row per step within reach, with what they lack and the euros at stake, sorted by euros
    at stake (largest first), then ps_id."""
    margins = margins or load_margins()
    table = results if region is None else results[results["region"].astype(str) == region]
    table = table.reset_index(drop=True)
    g = gaps(table, rules, period)
    mt, ald, fed, structured = (table[c].to_numpy(np.int64) for c in COUNT_COLUMNS)
    levels = rules.tiers.levels
    rows = []
    for number, level in enumerate(levels, start=1):
        lower = max(level.min_share - margins.tier, Fraction(0))
        near = (g.next_level == number) & (g.dmp_needed > 0) & meets(fed, ald, lower, ">=")
        for i in np.flatnonzero(near):
            rows.append((i, f"palier {number}", int(g.dmp_needed[i]), "DMP alimentés",
                         Fraction(int(fed[i]), int(ald[i])), level.min_share, int(g.tier_payable_cents[i])))
    t = rules.majoration.min_structured_share
    if rules.majoration.enabled.value:
        lower = max(t.value - margins.majoration, Fraction(0))
        near = (g.structured_needed > 0) & meets(structured, fed, lower, ">=")
        for i in np.flatnonzero(near):
            rows.append((i, "majoration", int(g.structured_needed[i]), "VSM structurés",
                         Fraction(int(structured[i]), int(fed[i])), t.value, int(g.majoration_payable_cents[i])))
    records = []
    for i, step, missing, unit, share, threshold, then in rows:
        now = int(g.payable_cents[i])
        records.append({
            "ps_id": str(table["ps_id"].iloc[i]),
            "ps_kind": table["ps_kind"].iloc[i] if "ps_kind" in table.columns else rules.population,
            "etape": step,
            "manque": missing,
            "unite": unit,
            "part_actuelle": f"{share.numerator}/{share.denominator}",
            "seuil": f"{threshold.numerator}/{threshold.denominator}",
            "patients_mt": int(mt[i]),
            "patients_mt_ald": int(ald[i]),
            "dmp_vsm": int(fed[i]),
            "dmp_vsm_structured": int(structured[i]),
            "verse_eur": cent_eur(now),
            "verse_si_atteint_eur": cent_eur(then),
            "enjeu_eur": cent_eur(then - now),
            "_stake": then - now,
        })
    frame = pd.DataFrame(records, columns=[*ACCOMPANIMENT_COLUMNS, "_stake"])
    frame = frame.sort_values(["_stake", "ps_id", "etape"], ascending=[False, True, True], kind="stable")
    return frame.drop(columns="_stake").reset_index(drop=True)


def write_accompaniment(results, rules: RuleSet, period: str, region: str, out_dir: Path | str) -> Path:
    """``<out_dir>/a_accompagner.csv`` (atomically), beside paiements.csv: for the caisse's
    field visits only, never published nor linked from a report or the index."""
    frame = accompaniment(results, rules, period, normalize_region(region))
    path = Path(out_dir) / ACCOMPANIMENT_NAME
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    return path
