"""Interim copies of three helpers that issue 12 gathers into shared modules.

Another change is gathering cent rounding and means into ``vsm/money.py`` (``round_cent``,
``mean_eur``) and the citing of a source into ``vsm/words.py`` (``cite``). Until it is merged
the forfait structure keeps its ONE copy of each here, and imports them from here only: at
merge, point the imports of this package at the shared modules and delete this file.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..rules import Source

CENT = Decimal("0.01")


def round_cent(value: Decimal) -> Decimal:
    """Euros to the cent, half-up (the one rounding of money)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def mean_eur(total: Decimal, n: int) -> Decimal:
    """Mean amount per professional, to the cent (half-up); 0,00 € when there is none."""
    if n == 0:
        return Decimal("0.00")
    return round_cent(total / n)


def cite(rules: Any, source: Source) -> str:
    """« (présentation CGSS Martinique (07/2024), tableau du volet 1, indicateur 4) »: the
    document's readable name (``rules.document_label``) and the passage, marked when the
    rule set lists the document as secondary (``rules.is_secondary``)."""
    secondary = " — source secondaire" if rules.is_secondary(source) else ""
    return f"({rules.document_label(source.seed)}, {source.passage}{secondary})"
