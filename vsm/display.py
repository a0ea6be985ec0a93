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
_LINE_CHARS = 100  # characters of a table line on an A4 page (8.5 pt)
# A table of this many columns or more is printed smaller (7 pt: typst-template.typ's
# vsm-colonnes-serrees, rapport.css's table:has(col:nth-child(8))), with more characters a line.
WIDE_COLUMNS = 8
_LINE_CHARS_WIDE = 122
_BREAKS = re.compile(r"[ \t\n/-]+")  # where a line may break (not at a no-break space)


def md_escape(text: object) -> str:
    """Text safe inside pandoc Markdown (also inside a pipe-table cell)."""
    out = "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))
    return out.replace("\n", " ")


def md_escape_keep_bold(text: str) -> str:
    """Escape Markdown, keeping the ``**bold**`` marks of the text."""
    return "**".join(md_escape(part) for part in str(text).split("**"))


def is_numeric(text: str, symbol: str = "s") -> bool:
    text = text.strip()
    return bool(text) and (bool(_NUMERIC.match(text)) or text == symbol)


def is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False


def _widths(header: list[str], body: list[list[str]], right: list[bool]) -> list[int]:
    """Relative column widths, in characters: every column gets at least its longest
    unbreakable word (a whole number or amount: their spaces do not break), the text columns
    then share what is left of a line up to their longest cell."""
    minimum, wanted = [], []
    for i, head in enumerate(header):
        cells = [row[i] for row in body]
        words = [len(w) for text in [head, *cells] for w in _BREAKS.split(text) if w]
        unbreakable = max([*words, *(len(c) for c in cells if right[i])], default=1) + 2
        minimum.append(max(4, unbreakable))
        wanted.append(max(minimum[-1], min(_WIDEST_TEXT, max((len(c) for c in [head, *cells]), default=1)) + 2))
    room = (_LINE_CHARS_WIDE if len(header) >= WIDE_COLUMNS else _LINE_CHARS) - sum(minimum)
    extra = sum(w - m for w, m in zip(wanted, minimum))
    share = 1.0 if extra <= 0 or room >= extra else max(0.0, room / extra)
    return [round(m + (w - m) * share) for m, w in zip(minimum, wanted)]


def note_markdown(note: str) -> str:
    """A note of its own (secrecy, source), the same in every engine: a fenced div."""
    return "::: {.vsm-note}\n" + md_escape(note) + "\n:::"


def markdown_table(frame, note: str = "", symbol: str = "s", escape: bool = True) -> str:
    """A DataFrame (already French text, or values shown with ``str``) → a pandoc pipe
    table without index; numbers right-aligned, total rows bold; then its note, if any."""
    header = [str(c) for c in frame.columns]
    if not header:
        return note_markdown(note) if note else ""
    body = [["—" if is_missing(v) else str(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    filled = [[row[i] for row in body if row[i].strip()] for i in range(len(header))]  # a blank cell does not decide
    right = [bool(cells) and all(is_numeric(c, symbol) for c in cells) for cells in filled]
    cell = md_escape if escape else (lambda t: str(t).replace("|", "\\|").replace("\n", " "))
    weights = _widths(header, body, right)
    scale = max(1.0, _SEPARATOR_MIN / sum(weights))
    dashes = [max(3, round(w * scale)) for w in weights]

    def bold(text: str) -> str:
        return f"**{text}**" if text.strip() else text

    lines = ["| " + " | ".join(cell(h) for h in header) + " |"]
    lines.append("|" + "|".join(("-" * (d + 1) + ":") if r else (":" + "-" * (d + 1)) for d, r in zip(dashes, right)) + "|")
    for row in body:
        cells = [cell(v) for v in row]
        first = next((c.strip() for c in row if c.strip()), "")
        if first in TOTAL_LABELS:
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
