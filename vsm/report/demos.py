"""The demonstrations of notebooks/methodologie.ipynb: small tables of counts built from the
rule set's own thresholds (so that « exactly at the threshold » stays exact whatever the
thresholds are; the patientèle sizes are inputs), computed by :func:`vsm.forfait.compute`
and shown in French."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from .. import present as fr
from ..forfait import compute
from ..rules import RuleSet
from ..rules.words import COMPARISON_SIGNS, yes_no


def _counts(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["ps_id", "cas", "patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured"])


def _lcm(*values: int) -> int:
    out = 1
    for v in values:
        out = out * v // math.gcd(out, v)
    return out


def _at(threshold: Fraction, base: int) -> int:
    """The smallest count n with n / base ≥ threshold (exact when base is a multiple of its denominator)."""
    return math.ceil(threshold * base)


def _patients(n: int) -> str:
    return f"{fr.integer(n)} patient{'s' if n > 1 else ''}"


def eligibility_counts(rules: RuleSet) -> pd.DataFrame:
    """A doctor just below the minimum number of ALD patients, and one exactly at it."""
    minimum = rules.eligibility.min_patients_mt_ald.value
    below = max(minimum - 1, 0)
    return _counts([
        {"ps_id": "E1", "cas": f"{_patients(below)} MT en ALD (minimum : {fr.integer(minimum)})",
         "patients_mt": 800, "patients_mt_ald": below, "dmp_vsm": 5, "dmp_vsm_structured": 0},
        {"ps_id": "E2", "cas": f"{_patients(max(minimum, 1))} MT en ALD, autant de DMP alimentés",
         "patients_mt": 800, "patients_mt_ald": max(minimum, 1), "dmp_vsm": max(minimum, 1), "dmp_vsm_structured": 0},
    ])


def numerator_counts(rules: RuleSet) -> pd.DataFrame:
    """The same doctor counted with the DMPs of its ALD patients only, then with every DMP it fed."""
    first = rules.tiers.levels[0].min_share
    base = _lcm(first.denominator) * 100
    ald_fed = _at(first, base) - 5
    others = 10
    return _counts([
        {"ps_id": "N1", "cas": "DMP des seuls patients en ALD", "patients_mt": 800, "patients_mt_ald": base,
         "dmp_vsm": ald_fed, "dmp_vsm_structured": 0},
        {"ps_id": "N2", "cas": f"tous les DMP alimentés (+{fr.integer(others)} patients hors ALD)", "patients_mt": 800,
         "patients_mt_ald": base, "dmp_vsm": ald_fed + others, "dmp_vsm_structured": 0},
        {"ps_id": "N3", "cas": "plus de DMP alimentés que de patients en ALD", "patients_mt": 800,
         "patients_mt_ald": base, "dmp_vsm": base + base // 5, "dmp_vsm_structured": 0},
    ])


def denominator_counts(rules: RuleSet) -> pd.DataFrame:
    """The same number of DMPs fed, divided by the ALD patients at the end of the period: one more
    ALD patient on that date can move the doctor to a lower tier."""
    top = rules.tiers.levels[-1].min_share
    base = _lcm(top.denominator) * 10
    fed = _at(top, base)
    return _counts([
        {"ps_id": "D1", "cas": f"{fr.integer(base)} patients en ALD à la fin de la période", "patients_mt": 800,
         "patients_mt_ald": base, "dmp_vsm": fed, "dmp_vsm_structured": 0},
        {"ps_id": "D2", "cas": f"{fr.integer(base + 1)} patients en ALD à la fin de la période", "patients_mt": 800,
         "patients_mt_ald": base + 1, "dmp_vsm": fed, "dmp_vsm_structured": 0},
    ])


def tier_counts(rules: RuleSet) -> pd.DataFrame:
    """For each tier: a share exactly at its threshold, and one DMP fewer (just below)."""
    levels = rules.tiers.levels
    base = _lcm(*(level.min_share.denominator for level in levels)) * 10
    while any(_at(level.min_share, base) < 1 for level in levels if level.min_share > 0):
        base *= 10
    rows = []
    for number, level in enumerate(levels, start=1):
        at = _at(level.min_share, base)
        exact = Fraction(at, base) == level.min_share
        rows.append({"ps_id": f"T{number}a", "cas": f"{'exactement' if exact else 'au moins'} {fr.fraction(level.min_share)}",
                     "patients_mt": 800, "patients_mt_ald": base, "dmp_vsm": at, "dmp_vsm_structured": 0})
        if at > 0:
            rows.append({"ps_id": f"T{number}b", "cas": f"juste sous {fr.fraction(level.min_share)} (un DMP de moins)",
                         "patients_mt": 800, "patients_mt_ald": base, "dmp_vsm": at - 1, "dmp_vsm_structured": 0})
    return _counts(rows)


def majoration_counts(rules: RuleSet) -> pd.DataFrame:
    """For each tier: a structured share exactly at the majoration threshold, and one fewer."""
    threshold = rules.majoration.min_structured_share.value
    fed = _lcm(threshold.denominator) * 100
    structured = _at(threshold, fed)
    exact = Fraction(structured, fed) == threshold
    rows = []
    for number, level in enumerate(rules.tiers.levels, start=1):
        ald = math.floor(fed / level.min_share) if level.min_share > 0 else fed
        ald = max(min(ald, fed * 10), 1)
        rows.append({"ps_id": f"M{number}a",
                     "cas": f"palier {number}, part structurée {'exactement' if exact else 'au moins'} {fr.fraction(threshold)}",
                     "patients_mt": max(800, ald), "patients_mt_ald": ald, "dmp_vsm": fed,
                     "dmp_vsm_structured": structured})
        if structured > 0:
            rows.append({"ps_id": f"M{number}b", "cas": f"palier {number}, part structurée juste sous {fr.fraction(threshold)}",
                         "patients_mt": max(800, ald), "patients_mt_ald": ald, "dmp_vsm": fed,
                         "dmp_vsm_structured": structured - 1})
    return _counts(rows)


def _first_tier_doctors(rules: RuleSet, prefix: str, patienteles: tuple[int, ...]) -> pd.DataFrame:
    """The same doctor, exactly at the first tier and without structured VSM, with each of
    the given patientèles MT."""
    first = rules.tiers.levels[0].min_share
    base = _lcm(first.denominator) * 50
    fed = _at(first, base)
    return _counts([
        {"ps_id": f"{prefix}{mt}", "cas": f"{fr.integer(mt)} patients MT", "patients_mt": mt, "patients_mt_ald": base,
         "dmp_vsm": fed, "dmp_vsm_structured": 0}
        for mt in patienteles
    ])


def weighting_counts(rules: RuleSet) -> pd.DataFrame:
    """The same first-tier doctor with patientèles of 400, 800, 1 000 and 1 600 patients MT."""
    return _first_tier_doctors(rules, "W", (400, 800, 1000, 1600))


def rounding_counts(rules: RuleSet) -> pd.DataFrame:
    """First-tier doctors whose weighted amount falls on a half cent (1 001 and 1 003 patients MT)."""
    return _first_tier_doctors(rules, "R", (1001, 1003))


def complement_period(rules: RuleSet) -> str | None:
    """The first period that complements an earlier one (P2 in medecins-2024), or None."""
    for pid, period in rules.periods.items():
        if period.complement_of is not None:
            return pid
    return None


def complement_inputs(rules: RuleSet) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Counts at the end of the complementing period and amounts already paid for the earlier one.

    C1 was paid the first tier and now reaches the majoration; C2 was paid nothing and now
    reaches the first tier; C3's amount went down (smaller patientèle): no reclaim.
    """
    pid = complement_period(rules)
    if pid is None:
        return None
    earlier = rules.periods[pid].complement_of
    threshold = rules.majoration.min_structured_share.value
    first = rules.tiers.levels[0].min_share
    fed = _lcm(threshold.denominator, first.denominator) * 10
    ald = math.floor(fed / first)
    counts = _counts([
        {"ps_id": "C1", "cas": f"payé en {earlier} au palier 1, part structurée atteinte en {pid}",
         "patients_mt": 800, "patients_mt_ald": ald, "dmp_vsm": fed, "dmp_vsm_structured": _at(threshold, fed)},
        {"ps_id": "C2", "cas": f"rien en {earlier}, palier 1 atteint en {pid}",
         "patients_mt": 800, "patients_mt_ald": ald, "dmp_vsm": fed, "dmp_vsm_structured": 0},
        {"ps_id": "C3", "cas": f"patientèle plus petite en {pid} qu'en {earlier}",
         "patients_mt": 700, "patients_mt_ald": ald, "dmp_vsm": fed, "dmp_vsm_structured": 0},
    ])
    first_amount = rules.tiers.levels[0].amount_eur
    paid = pd.DataFrame({"ps_id": ["C1", "C2", "C3"], "paid_eur": [first_amount, Decimal("0.00"), first_amount]})
    return counts, paid


def demo_table(results: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """French table of :func:`vsm.forfait.compute` results for the demonstrations."""
    thresholds = tuple(level.min_share for level in rules.tiers.levels)
    structured_threshold = (rules.majoration.min_structured_share.value,)
    rows = []
    for r in results.to_dict("records"):
        ald, fed, structured, mt = (int(r[c]) for c in ("patients_mt_ald", "dmp_vsm", "dmp_vsm_structured", "patients_mt"))
        row = {
            "cas": r.get("cas", r["ps_id"]),
            "patients MT": fr.integer(mt),
            "patients MT en ALD": fr.integer(ald),
            "DMP alimentés": fr.integer(fed),
            "dont structurés": fr.integer(structured),
            "éligible": yes_no(bool(r["eligible"])),
            "part de VSM": fr.percent(Fraction(fed, ald), thresholds=thresholds) if ald else "—",
            "part structurée": fr.percent(Fraction(structured, fed), thresholds=structured_threshold) if fed else "—",
            "forfait brut": fr.eur(r["tier_eur"]),
            "majoration": fr.eur(r["majoration_eur"]),
            "pondération": fr.number(r["weight"]),
            "montant": fr.eur(r["amount_eur"]),
        }
        if "paid_eur" in r:
            row["déjà versé"] = fr.eur(r["paid_eur"])
            row["complément"] = fr.eur(r["complement_eur"])
        rows.append(row)
    return pd.DataFrame(rows)


def run_demo(counts: pd.DataFrame, rules: RuleSet, period: str, paid: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compute the forfait of a demonstration counts table and return the French table."""
    return demo_table(compute(counts, rules, period, paid=paid, source="démonstration"), rules)


def exact_amounts(results: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Beside each rounded amount, the exact value before rounding (for the rounding rule)."""
    rows = []
    for r in results.to_dict("records"):
        mt = int(r["patients_mt"])
        gross = Fraction(Decimal(r["tier_eur"]) + Decimal(r["majoration_eur"]))
        if rules.ponderation.enabled.value:
            weight = Fraction(mt, rules.ponderation.reference_patients.value)
            cap = rules.ponderation.cap.value
            if cap is not None:
                weight = min(weight, cap)
        else:
            weight = Fraction(1)
        exact = gross * weight
        rows.append({
            "cas": r.get("cas", r["ps_id"]),
            "calcul": f"{fr.eur(gross)} × {fr.integer(mt)} / {fr.integer(rules.ponderation.reference_patients.value)}"
            if rules.ponderation.enabled.value else fr.eur(gross),
            "valeur exacte": fr.number(exact, max_decimals=6) + "\u00a0€",
            "montant versé (arrondi)": fr.eur(r["amount_eur"]),
        })
    return pd.DataFrame(rows)


def with_structured_comparison(rules: RuleSet, comparison: str) -> RuleSet:
    """A copy of the rule set whose structured-share threshold uses ``comparison`` (« >= » or « > »)."""
    if comparison not in COMPARISON_SIGNS:
        raise ValueError(f"comparaison inconnue : {comparison!r}")
    maj = rules.majoration
    threshold = maj.min_structured_share.model_copy(update={"comparison": comparison})
    return rules.model_copy(update={"majoration": maj.model_copy(update={"min_structured_share": threshold})})


def threshold_reading_demo(rules: RuleSet, period: str) -> pd.DataFrame:
    """A doctor with exactly the threshold share of structured DMPs, under « au moins » (≥) and
    under « plus de » (>): what the wording conflict changes."""
    threshold = rules.majoration.min_structured_share.value
    first = rules.tiers.levels[0].min_share
    fed = _lcm(threshold.denominator) * 100
    counts = _counts([{
        "ps_id": "X", "cas": f"part structurée exactement {fr.fraction(threshold)}", "patients_mt": 800,
        "patients_mt_ald": max(math.floor(fed / first), 1) if first > 0 else fed, "dmp_vsm": fed,
        "dmp_vsm_structured": _at(threshold, fed),
    }])
    rows = []
    for comparison, wording in ((">=", "« au moins »"), (">", "« plus de »")):
        variant = with_structured_comparison(rules, comparison)
        r = compute(counts, variant, period, source="démonstration").iloc[0]
        rows.append({
            "lecture": f"{wording} : part structurée {COMPARISON_SIGNS[comparison]} {fr.fraction(threshold)}",
            "DMP structurés / alimentés": f"{fr.integer(int(r['dmp_vsm_structured']))} / {fr.integer(int(r['dmp_vsm']))}",
            "majoration": fr.eur(r["majoration_eur"]),
            "montant": fr.eur(r["amount_eur"]),
            "retenue par le jeu de règles": yes_no(comparison == rules.majoration.min_structured_share.comparison),
        })
    return pd.DataFrame(rows)


