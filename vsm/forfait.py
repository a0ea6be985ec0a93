"""The forfait VSM computation: pure, vectorised, exact.

Methodology note (002), § 3 « Règles de calcul du forfait »:
  1. share of VSM = DMPs fed / patients MT in ALD → « forfait brut » by tier
     (< 50 % → 0; [50 %, 90 %) → 1 500 €; ≥ 90 % → 3 000 €);
  2. majoration of 20 % of the forfait brut when structured / fed ≥ 1/3;
  3. amount = (forfait brut + majoration) × patientèle MT / 800.

Every number above comes from the rule set (params/rules/*.yml), not from this file.
Shares are compared to thresholds as integer cross-products (a × q ≥ p × b for a/b ≥ p/q),
never as floats. Money is in integer cents; the final amount is rounded once, to the cent,
half up, from the exact rational value. A P2 payment is the complement: P2 amount − amount
already paid for P1, never negative.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from .ingest.schema import COUNT_COLUMNS
from .errors import VsmError
from .money import INT64_LIMIT, cents_to_eur, meets, round_half_up_div, to_cents, total_cents, total_eur  # noqa: F401 (total_cents: the forfait's public API)
from .rules import Period, RuleSet

if TYPE_CHECKING:  # the computation itself needs numpy only; pandas wraps it for tables
    import pandas as pd

# the per-professional counts the forfait is computed from (inputs.validate_counts checks
# them), re-exported here: callers of the forfait take them from it

RESULT_COLUMNS = (
    "ps_id",
    *COUNT_COLUMNS,
    "eligible",
    "vsm_share",
    "tier",
    "tier_eur",
    "structured_share",
    "majoration",
    "majoration_eur",
    "weight",
    "amount_eur",
)
COMPLEMENT_COLUMNS = ("paid_eur", "complement_eur")
MONEY_COLUMNS = ("tier_eur", "majoration_eur", "amount_eur", *COMPLEMENT_COLUMNS)

def _share(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def weight_fraction(patients_mt: np.ndarray, rules: RuleSet) -> tuple[np.ndarray, np.ndarray]:
    """Pondération as (numerator, denominator) arrays: patientèle MT / reference, capped if set."""
    n = len(patients_mt)
    if not rules.ponderation.enabled.value:
        return np.ones(n, dtype=np.int64), np.ones(n, dtype=np.int64)
    reference = rules.ponderation.reference_patients.value
    num = patients_mt.astype(np.int64)
    den = np.full(n, reference, dtype=np.int64)
    cap = rules.ponderation.cap.value
    if cap is not None:
        over = num * cap.denominator > cap.numerator * reference
        num = np.where(over, cap.numerator, num)
        den = np.where(over, cap.denominator, den)
    return num, den


def check_paid(rules: RuleSet, period: str, paid_given: bool) -> Period:
    period_rules: Period = rules.period(period)
    if paid_given and period_rules.complement_of is None:
        raise VsmError(
            f"La période {period} du jeu de règles {rules.id} ne complète aucune période : "
            "le montant déjà versé (--paid) n'a pas de sens ici."
        )
    return period_rules


def compute_columns(
    mt: np.ndarray,
    ald: np.ndarray,
    fed: np.ndarray,
    structured: np.ndarray,
    rules: RuleSet,
    period: str,
    paid_cents: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The forfait of each professional from four int64 arrays (patients MT, patients MT in
    ALD, DMPs fed, DMPs fed structured), already validated. Money is in integer cents
    (``*_cents``); ``paid_cents``, for a period that completes an earlier one, adds the
    complement."""
    check_paid(rules, period, paid_cents is not None)
    n = len(mt)

    # § 3 « Population éligible au forfait »: at least N patients MT in ALD.
    eligible = ald >= max(rules.eligibility.min_patients_mt_ald.value, 1)

    # § 3 point 1: forfait brut by tier, share = fed / ALD compared exactly.
    tier = np.zeros(n, dtype=np.int64)
    tier_cents = np.zeros(n, dtype=np.int64)
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        reached = eligible & meets(fed, ald, level.min_share, rules.tiers.comparison)
        tier = np.where(reached, level_number, tier)
        tier_cents = np.where(reached, to_cents(level.amount_eur), tier_cents)

    # § 3 point 2: majoration when structured / fed reaches the threshold.
    maj_rules = rules.majoration
    if maj_rules.enabled.value:
        threshold = maj_rules.min_structured_share
        majoration = (tier > 0) & meets(structured, fed, threshold.value, threshold.comparison)
    else:
        majoration = np.zeros(n, dtype=bool)
    rate = maj_rules.rate.value
    maj_factor = majoration.astype(np.int64) * rate.numerator  # (den + num·maj) / den

    # § 3 point 3: weighting, then one rounding of the exact amount.
    w_num, w_den = weight_fraction(mt, rules)
    numerator = [tier_cents, rate.denominator + maj_factor, w_num]
    denominator = rate.denominator * w_den
    bound = int(tier_cents.max(initial=0)) * (rate.denominator + rate.numerator) * int(w_num.max(initial=0))
    if bound * 2 + int(denominator.max(initial=1)) >= INT64_LIMIT:
        numerator = [a.astype(object) for a in numerator]
        denominator = denominator.astype(object)
    amount_cents = round_half_up_div(numerator[0] * numerator[1] * numerator[2], denominator)
    if amount_cents.dtype == object and (n == 0 or max(amount_cents) < INT64_LIMIT):
        amount_cents = amount_cents.astype(np.int64)  # exact products went through Python integers
    majoration_cents = round_half_up_div(tier_cents * majoration.astype(np.int64) * rate.numerator, np.full(n, rate.denominator))

    columns = {
        "eligible": eligible,
        "vsm_share": _share(fed, ald),
        "tier": tier,
        "tier_cents": tier_cents,
        "structured_share": _share(structured, fed),
        "majoration": majoration,
        "majoration_cents": majoration_cents,
        "weight": w_num / w_den,
        "amount_cents": amount_cents,
    }
    if paid_cents is not None:
        columns["paid_cents"] = np.asarray(paid_cents, dtype=np.int64)
        columns["complement_cents"] = np.maximum(amount_cents - columns["paid_cents"], 0)
    return columns


def result_columns(extra: list[str], complement: bool) -> list[str]:
    """Column order of a results table: ps_id, the columns carried through, then RESULT_COLUMNS."""
    return ["ps_id", *extra, *[c for c in RESULT_COLUMNS if c != "ps_id"], *(COMPLEMENT_COLUMNS if complement else ())]


def in_euros(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same columns, each ``<name>_cents`` replaced by ``<name>_eur`` in Decimal euros."""
    return {
        (name.removesuffix("_cents") + "_eur" if name.endswith("_cents") else name): (
            cents_to_eur(values) if name.endswith("_cents") else values
        )
        for name, values in columns.items()
    }


def results_frame(table: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Validated counts (``table``) plus computed columns → the results table, money as Decimal."""
    result = table.copy()
    for name, values in in_euros(columns).items():
        result[name] = values
    extra = [c for c in table.columns if c not in RESULT_COLUMNS]
    return result[result_columns(extra, "complement_cents" in columns)]


def compute(
    counts: pd.DataFrame,
    rules: RuleSet,
    period: str,
    paid: pd.DataFrame | None = None,
    source: str = "table des effectifs",
) -> pd.DataFrame:
    """One row per professional with every intermediate figure of the forfait.

    ``counts`` has ps_id, patients_mt, patients_mt_ald, dmp_vsm, dmp_vsm_structured (other
    columns are carried through). ``paid`` (ps_id, paid_eur), for a period that complements
    an earlier one, adds paid_eur and complement_eur.
    """
    import pandas as pd

    from .ingest.inputs import validate_counts

    check_paid(rules, period, paid is not None)
    table = validate_counts(counts, source=source)
    paid_cents = None
    if paid is not None:
        paid_cents = paid_cents_for(
            table["ps_id"].to_numpy(object),
            paid["ps_id"].to_numpy(object),
            [0 if pd.isna(v) else to_cents(v) for v in paid["paid_eur"]],
        )
    columns = compute_columns(
        *(table[c].to_numpy(np.int64) for c in COUNT_COLUMNS), rules, period, paid_cents=paid_cents
    )
    return results_frame(table, columns)


def paid_cents_for(ps_ids: np.ndarray, paid_ids: np.ndarray, paid_cents) -> np.ndarray:
    """Amounts already paid (cents) for each of ``ps_ids``: 0 for a professional not paid before.
    The earlier amounts are one per professional (read_paid and the aggregation ensure it)."""
    paid = dict(zip(paid_ids.tolist(), (int(c) for c in paid_cents)))
    if len(paid) != len(paid_ids):
        raise VsmError("Montants déjà versés : un professionnel y figure plusieurs fois.")
    return np.fromiter((paid.get(i, 0) for i in ps_ids.tolist()), dtype=np.int64, count=len(ps_ids))


def total(results: pd.DataFrame, column: str = "amount_eur") -> Decimal:
    """Exact sum of a money column."""
    return total_eur(results[column])
