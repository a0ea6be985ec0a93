"""The per-professional payment list (``paiements.csv``): not a published aggregate, the
caisse's internal file for its payment staff, one row per professional (ps_id and amounts
only, never a patient identifier)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..errors import VsmError
from ..regions import normalize_region
from ..store import write_table

PAYMENT_COLUMNS = ("tier_eur", "majoration_eur", "amount_eur", "paid_eur", "complement_eur")
PAYMENTS_FILE = "paiements.csv"


def payments(results: pd.DataFrame, region: str) -> pd.DataFrame:
    """The professionals of ``region`` with something to pay: ps_id and amounts only.

    ``payable_eur`` is what the caisse pays for this period: the complement for a
    complementary period (``complement_eur``), the amount otherwise.
    """
    code = normalize_region(region)
    if "region" not in results.columns:
        raise VsmError("Les résultats n'ont pas de colonne « region » : impossible d'en tirer la liste des paiements d'une région.")
    rows = results[results["region"].astype(str) == code]
    columns = ["ps_id", *[c for c in PAYMENT_COLUMNS if c in rows.columns]]
    table = rows[columns].copy()
    source = "complement_eur" if "complement_eur" in table.columns else "amount_eur"
    table["payable_eur"] = [Decimal(str(v)) for v in table[source]]
    table = table[table["payable_eur"] > Decimal(0)]
    return table.sort_values("ps_id", kind="stable").reset_index(drop=True)


def write_payments(results: pd.DataFrame, region: str, out_dir: Path | str) -> Path:
    """Write ``<out_dir>/paiements.csv`` (atomically): the caisse's payment list for its region.

    For the payment staff only, never published: one row per professional with a non-zero
    payment (ps_id, amounts in euros with a dot, « 2250.00 »), no patient identifier.
    """
    return write_table(payments(results, region), Path(out_dir) / PAYMENTS_FILE)
