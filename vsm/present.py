"""French formatting for everything a person reads (explanations, CLI, reports).

Babel (CLDR data) does the locale work: narrow no-break space as thousands separator,
comma as decimal mark, no-break space before € and %. Files written for machines (CSV,
Parquet) never go through here.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

LOCALE = "fr_FR"
NBSP = "\u00a0"


def eur(amount: Decimal | int | float | str) -> str:
    """1876.88 → « 1 876,88 € »."""
    return format_currency(Decimal(str(amount)), "EUR", locale=LOCALE)


def integer(value: int) -> str:
    """1001 → « 1 001 »."""
    return format_decimal(int(value), locale=LOCALE)


def number(value: Decimal | Fraction | float | int, max_decimals: int = 5) -> str:
    """A plain number with up to ``max_decimals`` decimals: 1.25125 → « 1,25125 »."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    value = Decimal(str(value)).quantize(Decimal(1).scaleb(-max_decimals), rounding=ROUND_HALF_UP)
    return format_decimal(value, format="#,##0." + "#" * max_decimals, locale=LOCALE)


def _percent_text(value: Fraction, decimals: int) -> str:
    scaled = Decimal(value.numerator * 100) / Decimal(value.denominator)
    rounded = scaled.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(rounded, format=pattern, locale=LOCALE) + NBSP + "%"


def percent(value: Fraction | float | None, decimals: int = 1, thresholds: tuple[Fraction, ...] = ()) -> str:
    """A share as a French percentage: 146/300 → « 48,7 % ».

    With ``thresholds``, more decimals are shown when rounding would make a share that is
    not exactly on a threshold look as if it were (49,96 % is not « 50,0 % »).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    exact = value if isinstance(value, Fraction) else Fraction(repr(float(value)))
    text = _percent_text(exact, decimals)
    for extra in range(decimals, decimals + 6):
        text = _percent_text(exact, extra)
        if not any(exact != t and text == _percent_text(t, extra) for t in thresholds):
            break
    return text


def fraction(value: Fraction) -> str:
    """Fraction(1, 3) → « 1/3 »; Fraction(1, 2) → « 50 % » reads better for round shares."""
    if value.denominator in (1, 2, 4, 5, 10, 20, 25, 50, 100):
        return percent(value, decimals=0)
    return f"{value.numerator}/{value.denominator}"


def date(value: dt.date) -> str:
    """2023-12-31 → « 31 décembre 2023 »; the first of the month is « 1er »."""
    text = format_date(value, format="long", locale=LOCALE)
    if value.day == 1:
        text = "1er" + text[1:]
    return text


# --------------------------------------------------------------------------- chart axes
# Tick labels of matplotlib charts go through the same French formatters as the text.
# Import of matplotlib is deferred, so that modules using only the text formatters do not
# pay for it.


def _axes_of(ax, axis: str) -> list:
    if axis == "x":
        return [ax.xaxis]
    if axis == "y":
        return [ax.yaxis]
    if axis == "both":
        return [ax.xaxis, ax.yaxis]
    raise ValueError(f"axis must be 'x', 'y' or 'both', not {axis!r}")


def percent_axis(ax, axis: str = "x", decimals: int = 0, xmax: float = 1.0):
    """Tick labels as French percentages: with the default ``xmax=1``, a tick at 0.5 reads
    « 50 % » (values are shares); with ``xmax=100``, the values are already percentages."""
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda value, _pos: percent(float(value) / xmax, decimals=decimals))
    for item in _axes_of(ax, axis):
        item.set_major_formatter(formatter)
    return ax


def eur_axis(ax, axis: str = "y", decimals: int = 0):
    """Tick labels as French amounts in euros: « 1 500 € » (« 1 500,00 € » with decimals=2)."""
    from matplotlib.ticker import FuncFormatter

    def label(value, _pos):
        if decimals == 2:
            return eur(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + NBSP + "¤"
        return format_currency(Decimal(str(value)), "EUR", format=pattern, currency_digits=False, locale=LOCALE)

    for item in _axes_of(ax, axis):
        item.set_major_formatter(FuncFormatter(label))
    return ax


def integer_axis(ax, axis: str = "y"):
    """Integer ticks only, labelled the French way: « 12 500 »."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    for item in _axes_of(ax, axis):
        item.set_major_locator(MaxNLocator(integer=True))
        item.set_major_formatter(FuncFormatter(lambda value, _pos: integer(round(value))))
    return ax


def signed_eur(value: Decimal | None) -> str:
    """A change of an amount: « +12,00 € », « −12,00 € » (true minus sign), « 0,00 € »;
    « — » for no value."""
    if value is None:
        return "—"
    return ("+" if value > 0 else "−" if value < 0 else "") + eur(abs(value))
