"""What the reports and notebooks display, in ONE representation for every engine.

Every displayed object (prose, table with its secrecy note, chart) is published in a
notebook as pandoc Markdown (``text/markdown``) and, for a chart, a PNG image with a French
description (``text/plain``, also the image's text alternative); never ``text/html`` nor
JavaScript. Quarto keeps ``text/markdown`` for every format (its HTML formats would prefer
``text/html`` and its Typst/PDF formats would keep only the ``<table>`` of an HTML output),
and the built-in renderer (vsm/render.py) hands the same Markdown to pandoc: the two engines
turn the same source into the same document.

Tables are pipe tables: a header row (header cells in HTML and Typst), numbers right-aligned,
total rows in bold, relative column widths from the content (the separator line is always
longer than pandoc's 72 columns, so that pandoc always uses the widths given here). A note
(secrecy, source) is a fenced div ``::: {.vsm-note}`` after the table.

The plain text (``text/plain``) stays the deterministic text table of each module (as_text),
for nbval and a terminal.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

TOTAL_LABELS = ("Total", "Ensemble", "France entière")
# A cell that reads as a number, an amount, a share, a dash or the secrecy symbol.
_NUMERIC = re.compile(r"^[−\-+]?\d[\d\s\u202f\u00a0]*([.,]\d+)?(\s?[€%])?$|^[—–-]$")
_MD_SPECIAL = "\\`*_$[]<>#|~^@"
# Column widths (relative): the longest unbreakable word, and at most this many characters of a cell.
_WIDEST_TEXT = 38
_SEPARATOR_MIN = 100  # > pandoc's default --columns (72): the dashes always set the widths


def md_escape(text: object) -> str:
    """Text safe inside pandoc Markdown (also inside a pipe-table cell)."""
    out = "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))
    return out.replace("\n", " ")


def is_numeric(text: str, symbol: str = "s") -> bool:
    text = text.strip()
    return bool(text) and (bool(_NUMERIC.match(text)) or text == symbol)


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False


def _weight(column: list[str]) -> int:
    longest_word = max((len(word) for cell in column for word in cell.split()), default=1)
    return max(3, longest_word, min(_WIDEST_TEXT, max((len(c) for c in column), default=1)))


def note_markdown(note: str) -> str:
    """A note of its own (secrecy, source), the same in every engine: a fenced div."""
    return "::: {.vsm-note}\n" + md_escape(note) + "\n:::"


def markdown_table(frame, note: str = "", symbol: str = "s", escape: bool = True) -> str:
    """A DataFrame (already French text, or values shown with ``str``) → a pandoc pipe
    table without index; numbers right-aligned, total rows bold; then its note, if any."""
    header = [str(c) for c in frame.columns]
    if not header:
        return note_markdown(note) if note else ""
    body = [["—" if _missing(v) else str(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    right = [bool(body) and all(is_numeric(row[i], symbol) for row in body) for i in range(len(header))]
    cell = md_escape if escape else (lambda t: str(t).replace("|", "\\|").replace("\n", " "))
    weights = [_weight([h, *(row[i] for row in body)]) for i, h in enumerate(header)]
    scale = max(1.0, _SEPARATOR_MIN / sum(weights))
    dashes = [max(3, round(w * scale)) for w in weights]

    def bold(text: str) -> str:
        return f"**{text}**" if text.strip() else text

    lines = ["| " + " | ".join(cell(h) for h in header) + " |"]
    lines.append("|" + "|".join(("-" * (d + 1) + ":") if r else (":" + "-" * (d + 1)) for d, r in zip(dashes, right)) + "|")
    for row in body:
        cells = [cell(v) for v in row]
        if row and row[0].strip() in TOTAL_LABELS:
            cells = [bold(c) for c in cells]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    return text + ("\n\n" + note_markdown(note) if note else "")


@dataclass(frozen=True)
class Prose:
    """French Markdown text: rendered in a notebook, its source everywhere else (never an
    English placeholder such as « <IPython.core.display.Markdown object> »)."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text
