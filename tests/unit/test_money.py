"""vsm/money.py: the one half-up rounding to the cent, exact means and medians, exact share
comparisons (with Python integers where int64 would overflow)."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np

from vsm import forfait, money


def test_round_cent_is_half_up_away_from_zero_on_every_generated_fraction():
    rng = random.Random(12)
    values = [Fraction(rng.randint(-10**9, 10**9), rng.choice([1, 2, 3, 7, 200, 400, 800, 1000, 3 * 800])) for _ in range(5000)]
    values += [Fraction(n, 200) for n in range(-50, 51)]  # every half cent around zero
    for value in values:
        expected = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert money.round_cent(value) == expected, value
        assert str(money.round_cent(value)) == str(expected)  # two decimals, always


def test_round_cent_and_the_forfait_division_are_the_same_rule():
    rng = np.random.default_rng(3)
    num = rng.integers(0, 10**12, 2000)
    den = rng.integers(1, 10**6, 2000)
    cents = money.round_half_up_div(num, den)
    assert [money.round_cent(Fraction(int(n), int(d) * 100)) for n, d in zip(num, den)] == [Decimal(int(c)).scaleb(-2) for c in cents]


def test_mean_and_median_of_nothing_are_none_and_exact_otherwise():
    assert money.mean_eur([]) is None and money.median_eur([]) is None
    assert money.mean_eur(iter([Decimal("0.01"), Decimal("0.02")])) == Decimal("0.02")  # 0,015 → 0,02 (half up)
    assert money.median_eur([Decimal("3.00"), Decimal("1.00"), Decimal("2.00")]) == Decimal("2.00")
    assert money.median_eur([Decimal("1.00"), Decimal("2.01")]) == Decimal("1.51")  # 1,505 → 1,51
    assert money.share(1, 0) is None and money.share(1, 3) == Fraction(1, 3)


def test_meets_is_exact_beyond_int64_and_false_without_a_denominator():
    big = np.array([2**61, 2**61 - 1, 5, 0], dtype=np.int64)
    whole = np.array([2**61, 2**61, 10, 0], dtype=np.int64)
    assert list(money.meets(big, whole, Fraction(1, 1), ">=")) == [True, False, False, False]
    assert list(money.meets(big, whole, Fraction(1, 2), ">")) == [True, True, False, False]
    # 2**62 / 2**61 = 2 ≥ 3/2, but 2**62 × 2 does not fit in an int64
    assert list(money.meets(np.array([2**62]), np.array([2**61]), Fraction(3, 2), ">=")) == [True]
    assert forfait.meets is money.meets  # the forfait uses the one owner


def test_missing_to_meet_is_the_smallest_count_reaching_the_threshold():
    fed, ald = np.array([49, 50, 0, 7]), np.array([100, 100, 3, 7])
    for comparison in (">=", ">"):
        needed = money.missing_to_meet(fed, ald, Fraction(1, 2), comparison)
        for f, a, n in zip(fed, ald, needed):
            assert money.meets(np.array([f + n]), np.array([a]), Fraction(1, 2), comparison)[0]
            if n:
                assert not money.meets(np.array([f + n - 1]), np.array([a]), Fraction(1, 2), comparison)[0]
