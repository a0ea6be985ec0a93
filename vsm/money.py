"""Money and exact shares, one owner for the whole package.

* Money is integer cents (``*_cents`` arrays) or ``Decimal`` euros with two decimals.
* One rounding rule: to the cent, half up (a half cent goes away from zero), applied once,
  on the exact rational value (:func:`round_half_up_div` on arrays of cents,
  :func:`round_cent` on one ``Fraction``: the same formula).
* Shares are compared to thresholds as integer cross-products (a × q ≥ p × b for
  a/b ≥ p/q), never as floats (:func:`meets`), with Python integers when int64 could
  overflow.
* Means and medians of amounts are exact, rounded once to the cent; a mean or a median of
  no amount is ``None`` (not 0 €: nothing was paid to anybody).
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Iterable

import numpy as np

CENT = Decimal("0.01")
# Products of counts and thresholds above this go through Python integers (exact, slower).
INT64_LIMIT = 2**62


# --------------------------------------------------------------------------- cents


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def cent_eur(cents: int) -> Decimal:
    """Integer cents → exact Decimal euros with two decimals (12345 → 123.45)."""
    return Decimal(int(cents)).scaleb(-2)


def cents_to_eur(cents: np.ndarray) -> np.ndarray:
    """Integer cents → Decimal euros with exactly two decimals (an object array; each distinct
    amount is converted once)."""
    cents = np.asarray(cents)
    if len(cents) == 0:
        return np.empty(0, dtype=object)
    distinct, positions = np.unique(cents, return_inverse=True)
    euros = np.empty(len(distinct), dtype=object)
    euros[:] = [cent_eur(c) for c in distinct]
    return euros[positions.reshape(-1)]


def total_cents(cents: np.ndarray) -> Decimal:
    """Exact sum of an array of cents, in euros with two decimals."""
    return Decimal(int(sum(int(c) for c in cents)) if cents.dtype == object else int(cents.sum(dtype=np.int64))).scaleb(-2)


def total_eur(amounts: Iterable[Decimal]) -> Decimal:
    """Exact sum of Decimal euros (0,00 € for none)."""
    return sum(amounts, Decimal("0.00"))


# --------------------------------------------------------------------------- reading an amount


def parse_eur(value: Any, maximum: Decimal, where: str = "") -> Decimal:
    """'1500.00', ' 2250.5 ' or 1500 → Decimal euros with two decimals; at most two decimals,
    never negative, at most ``maximum`` (``where`` says whose bound it is, e.g. « dans un jeu
    de règles »). Raises ValueError with a French message. The one reader of an amount that a
    user writes (rule sets, amounts already paid)."""
    if isinstance(value, bool):
        raise ValueError("un montant est attendu, pas vrai/faux")
    shown = str(value).strip()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"« {value} » n'est pas un montant en euros (écrire par exemple « 1500.00 »)")
    try:
        amount = Decimal(shown) if len(shown) <= 40 else Decimal("NaN")
    except InvalidOperation:
        raise ValueError(f"« {value} » n'est pas un montant en euros (écrire par exemple « 1500.00 »)") from None
    if not amount.is_finite():
        raise ValueError(f"« {value} » n'est pas un montant en euros (écrire par exemple « 1500.00 »)")
    if amount < 0:
        raise ValueError(f"« {value} » : le montant doit être positif ou nul")
    if amount > maximum:
        raise ValueError(f"« {value} » : montant déraisonnable (au plus {maximum} €{' ' + where if where else ''})")
    if amount != amount.quantize(CENT):
        raise ValueError(f"« {value} » : un montant a au plus deux décimales (centimes)")
    return amount.quantize(CENT)


# --------------------------------------------------------------------------- rounding


def round_half_up_div(numerator, denominator):
    """round(numerator / denominator) half up, for numerator ≥ 0 and denominator > 0, exactly
    (integers or integer arrays)."""
    return (2 * numerator + denominator) // (2 * denominator)


def round_cent(value: Fraction | Decimal | int) -> Decimal:
    """An exact amount in euros → Decimal euros rounded to the cent, half up (a half cent
    goes away from zero, as ``decimal.ROUND_HALF_UP``)."""
    cents = Fraction(value) * 100
    magnitude = round_half_up_div(abs(cents.numerator), cents.denominator)
    return Decimal(magnitude if cents >= 0 else -magnitude).scaleb(-2)


# --------------------------------------------------------------------------- means


def mean_eur(amounts: Iterable[Decimal]) -> Decimal | None:
    """Exact mean, rounded once to the cent (half up); None for no amount."""
    amounts = list(amounts)
    return mean_of_total(total_eur(amounts), len(amounts))


def mean_of_total(total: Decimal, n: int) -> Decimal | None:
    """``total`` shared among ``n`` professionals, exact, rounded once to the cent (half up);
    None when there is nobody (a mean of nothing is not 0,00 €: the caller says what to show)."""
    if n == 0:
        return None
    return round_cent(Fraction(total) / n)


def median_eur(amounts: Iterable[Decimal]) -> Decimal | None:
    """Exact median (mean of the two middle values for an even count), to the cent; None for
    no amount."""
    ordered = sorted(amounts)
    if not ordered:
        return None
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return round_cent((Fraction(ordered[mid - 1]) + Fraction(ordered[mid])) / 2)


# --------------------------------------------------------------------------- shares


def share(part: int, whole: int) -> Fraction | None:
    """part / whole exactly; None when whole is 0."""
    return Fraction(part, whole) if whole else None


def meets(numerator: np.ndarray, denominator: np.ndarray, threshold: Fraction, comparison: str) -> np.ndarray:
    """numerator / denominator (≥ or >) threshold, exactly, for denominator > 0 (False elsewhere)."""
    left = numerator.astype(object) * threshold.denominator if _overflows(numerator, threshold) else numerator * threshold.denominator
    right = denominator.astype(object) * threshold.numerator if _overflows(denominator, threshold) else denominator * threshold.numerator
    result = (left >= right) if comparison == ">=" else (left > right)
    return np.asarray(result, dtype=bool) & (denominator > 0)


def _overflows(values: np.ndarray, factor: Fraction) -> bool:
    top = int(values.max()) if len(values) else 0
    return top * max(factor.numerator, factor.denominator) >= INT64_LIMIT


def missing_to_meet(numerator: np.ndarray, denominator: np.ndarray, threshold: Fraction, comparison: str) -> np.ndarray:
    """How much the numerator still lacks to meet ``threshold`` (the smallest n with
    (numerator + n) / denominator at the threshold), exactly, for denominator > 0; 0 when
    already met."""
    p, q = threshold.numerator, threshold.denominator
    if comparison == ">=":
        needed = -((-denominator * p) // q)  # ceil(denominator × p / q)
    else:
        needed = (denominator * p) // q + 1
    return np.maximum(needed - numerator, 0)
