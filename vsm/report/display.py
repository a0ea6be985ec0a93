"""The typed cells of the reports' tables and how they are shown: :class:`Headcount` (a
number of professionals, what statistical secrecy protects), :func:`format_cell` (a typed
cell → French text), :func:`as_text` (the one plain-text table, ``text/plain``),
:class:`Table` (a published table: pandoc Markdown in a notebook, plain text elsewhere) and
:class:`Chart` (a figure with its French description). The secrecy settings the tables
read (threshold, symbol) come from params/secret.yml through vsm.publish.secrecy.

Cell types: :class:`Headcount` (an ``int``); other ``int``: counts that are not people
(input rows, DMPs); ``Decimal``: euros; ``Fraction``: a share (shown as a percentage);
``float``: a plain number (a median of DMPs…); ``str``: text; ``None``: no value (« — »).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from .. import present as fr
from ..publish import secrecy
from ..display import is_missing, markdown_table


class Headcount(int):
    """A number of professionals: the cells that statistical secrecy protects."""


def threshold() -> int:
    """Counts from 1 to this are never published (params/secret.yml)."""
    return secrecy.settings().threshold


def symbol() -> str:
    return secrecy.settings().symbol


def chart_minimum() -> int:
    """Fewest professionals for which a per-professional distribution is drawn: three times
    the smallest publishable count (33 with the default threshold of 10), so that a chart
    has room for a few bars of more than 10 professionals each."""
    return 3 * (threshold() + 1)


def small(value: int) -> bool:
    return 1 <= int(value) <= threshold()


# --------------------------------------------------------------------------- display


def format_cell(value: object) -> str:
    """One typed cell → French text (see the module docstring for the types)."""
    if is_missing(value):
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "oui" if value else "non"
    if isinstance(value, Decimal):
        return fr.eur(value)
    if isinstance(value, Fraction):
        return fr.percent(value)
    if isinstance(value, (int, np.integer)):
        return fr.integer(int(value))
    if isinstance(value, (float, np.floating)):
        return fr.number(float(value), max_decimals=1)
    return str(value)


def count_table(frame: pd.DataFrame, labels: int = 1) -> pd.DataFrame:
    """The unmasked numbers of professionals of a typed table, labelled as published (first
    ``labels`` columns as the row label; other cells 0): what find_leaks (tests/secrecy_checks.py) checks
    a rendered report against."""
    columns = [c for j, c in enumerate(frame.columns) if j >= labels]
    rows, index = [], []
    for row in frame.itertuples(index=False, name=None):
        values = []
        for j, value in enumerate(row):
            if j < labels:
                continue
            values.append(int(value) if isinstance(value, Headcount) else 0)
        rows.append(values)
        label = tuple(str(v) for v in row[:labels])
        index.append(label[0] if labels == 1 else label)
    table = pd.DataFrame(rows, columns=[str(c) for c in columns])
    table.index = pd.MultiIndex.from_tuples(index) if labels > 1 else pd.Index(index)
    return table


def _is_right_aligned(text: str) -> bool:
    return bool(text) and (text == "—" or text[0].isdigit() or text[0] in "+-−") and not text.startswith(("de ", "[", "<"))


def as_text(frame: pd.DataFrame) -> str:
    """A plain-text table (deterministic, for ``text/plain``): numbers right-aligned."""
    if frame.empty:
        return "(aucune ligne)"
    header = [str(c) for c in frame.columns]
    body = [[str(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    right = [all(_is_right_aligned(r[i]) or r[i] == symbol() for r in body) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if a else c.ljust(w) for c, w, a in zip(cells, widths, right)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in body)])


@dataclass(frozen=True)
class Table:
    """A published table: pandoc Markdown without index in a notebook (vsm.display: the one
    representation every engine renders), plain text otherwise; with the secrecy note, in
    both, when a cell is masked."""

    frame: pd.DataFrame
    note: str = ""

    def _repr_markdown_(self) -> str:
        return markdown_table(self.frame, self.note, symbol())

    def __repr__(self) -> str:
        return as_text(self.frame) + (f"\n\n{self.note}" if self.note else "")

    __str__ = __repr__


@dataclass(frozen=True, eq=False)
class Chart:
    """A matplotlib figure shown as PNG, with a French description as its plain text: what
    the chart shows and its figures. Both engines make it the image's text alternative and
    its caption (vsm/render.py)."""

    figure: Any
    description: str

    def png(self, dpi: int = 110) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        return buffer.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def __repr__(self) -> str:
        return self.description

    __str__ = __repr__
