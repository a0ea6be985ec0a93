"""Properties of the forfait, checked with hypothesis against an independent exact oracle.

The oracle below re-implements the note's rule (002, § 3) with Fraction, from the note's own
figures, without calling any helper of vsm.forfait.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import counts, one, round_half_up_cent
from vsm.forfait import compute
from vsm.rules import load_rules

RULES = load_rules("medecins-2024")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def oracle_exact(mt: int, ald: int, fed: int, structured: int) -> Fraction:
    """The note's rule, exactly: (brut + majoration) × mt / 800, brut by tier, majoration if structured ≥ 1/3."""
    if ald < 1:
        return Fraction(0)
    share = Fraction(fed, ald)
    brut = Fraction(3000) if share >= Fraction(9, 10) else Fraction(1500) if share >= Fraction(1, 2) else Fraction(0)
    majoration = brut / 5 if brut > 0 and fed > 0 and Fraction(structured, fed) >= Fraction(1, 3) else Fraction(0)
    return (brut + majoration) * Fraction(mt, 800)


def oracle(mt, ald, fed, structured) -> Decimal:
    return round_half_up_cent(oracle_exact(mt, ald, fed, structured))


@st.composite
def doctor(draw, max_mt: int = 5000):
    mt = draw(st.integers(0, max_mt))
    ald = draw(st.integers(0, mt))
    fed = draw(st.integers(0, max(2 * ald, 3)))
    structured = draw(st.integers(0, fed))
    return mt, ald, fed, structured


def amounts(rows) -> list[Decimal]:
    return list(compute(counts(*rows), RULES, "P1")["amount_eur"])


@SETTINGS
@given(st.lists(doctor(), min_size=1, max_size=40))
def test_amount_equals_independent_exact_computation_rounded_half_up(rows):
    assert amounts(rows) == [oracle(*row) for row in rows]


@SETTINGS
@given(st.lists(doctor(max_mt=10**9), min_size=1, max_size=20))
def test_amount_equals_oracle_for_large_patienteles(rows):
    assert amounts(rows) == [oracle(*row) for row in rows]


@SETTINGS
@given(st.lists(doctor(), min_size=1, max_size=40))
def test_amount_is_never_negative(rows):
    results = compute(counts(*rows), RULES, "P1")
    for column in ("tier_eur", "majoration_eur", "amount_eur"):
        assert all(value >= 0 for value in results[column])


@SETTINGS
@given(doctor(), st.integers(1, 500))
def test_amount_never_decreases_when_dmp_vsm_grows_without_structured(row, extra):
    """Other things equal (no structured VSM, so no majoration to lose), more DMP fed never lowers the amount."""
    mt, ald, fed, _ = row
    before, after = amounts([(mt, ald, fed, 0), (mt, ald, fed + extra, 0)])
    assert after >= before


@SETTINGS
@given(doctor(), st.integers(1, 500))
def test_tier_never_decreases_when_dmp_vsm_grows(row, extra):
    mt, ald, fed, structured = row
    results = compute(counts((mt, ald, fed, structured), (mt, ald, fed + extra, structured)), RULES, "P1")
    assert results["tier_eur"].iloc[1] >= results["tier_eur"].iloc[0]


@SETTINGS
@given(doctor(), st.integers(1, 500))
def test_amount_never_decreases_when_structured_dmp_vsm_are_added(row, extra):
    """More DMP fed, all of them structured (dmp_vsm and dmp_vsm_structured grow together): never less."""
    mt, ald, fed, structured = row
    before, after = amounts([(mt, ald, fed, structured), (mt, ald, fed + extra, structured + extra)])
    assert after >= before


def test_adding_unstructured_dmp_vsm_can_lose_the_majoration():
    """Not monotone in dmp_vsm alone: the rule itself (structured / fed ≥ 1/3) makes 17/50 → 17/60 lose the
    majoration while the tier stays at 1 500 €. This documents the rule, it is not a bug."""
    assert Fraction(17, 50) >= Fraction(1, 3) > Fraction(17, 60)
    assert amounts([(800, 100, 50, 17), (800, 100, 60, 17)]) == [Decimal("1800.00"), Decimal("1500.00")]


@SETTINGS
@given(doctor(), st.integers(1, 500))
def test_amount_never_decreases_when_dmp_vsm_structured_grows(row, extra):
    mt, ald, fed, structured = row
    grown = min(structured + extra, fed)
    before, after = amounts([(mt, ald, fed, structured), (mt, ald, fed, grown)])
    assert after >= before


@SETTINGS
@given(doctor(max_mt=2000), st.integers(2, 10))
def test_amount_is_proportional_to_patients_mt(row, k):
    """amount(k·n) = k × exact(n) to the half cent, and k × amount(n) within k half cents (one rounding each)."""
    mt, ald, fed, structured = row
    small, large = amounts([(mt, ald, fed, structured), (k * mt, ald, fed, structured)])
    exact_small = oracle_exact(mt, ald, fed, structured)
    assert abs(Fraction(large) - k * exact_small) <= Fraction(1, 200)
    assert abs(large - k * small) <= Decimal("0.005") * (k + 1)
    if k == 2:
        assert abs(large - 2 * small) <= Decimal("0.01")


@SETTINGS
@given(doctor(), st.integers(0, 10**6))
def test_complement_is_never_negative_and_is_amount_minus_paid(row, paid_cents):
    table = counts(("A", *row))
    paid_eur = Decimal(paid_cents).scaleb(-2)
    paid = pd.DataFrame({"ps_id": ["A"], "paid_eur": [paid_eur]})
    result = one(compute(table, RULES, "P2", paid=paid))
    assert result["complement_eur"] >= 0
    assert result["complement_eur"] == max(Decimal("0.00"), result["amount_eur"] - paid_eur)
    assert result["amount_eur"] == oracle(*row)


@pytest.mark.parametrize(
    "row, expected",
    [
        ((1001, 300, 150, 0), "1876.88"),
        ((3, 2, 1, 0), "5.63"),
        ((7, 2, 1, 1), "15.75"),
        ((1000, 100, 50, 30), "2250.00"),
    ],
)
def test_oracle_agrees_with_hand_computed_values(row, expected):
    assert oracle(*row) == Decimal(expected)
