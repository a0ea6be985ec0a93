"""Test-only secrecy tools (not shipped in the package): the masking of a plain table of
counts with « Total » margins (:func:`secret_mask`, :func:`publish_table`: an independent
second implementation the tests compare the reports' plan with), the check that a protection
leaves no small set readable (:func:`readable_small_sets`), and :func:`find_leaks`, which reads
a rendered document (HTML, or the text of its PDF) against the unmasked counts of its tables.

Plain-table masking:
1. **Primary masking**: a count from 1 to the threshold is not published. 0 is published.
2. **Secondary masking**: a published total must not give a masked cell back by difference.
   A "line" is a row whose total is published (a « Total » column) or a column whose total is
   published (a « Total » row); margins are lines too. While a line has exactly one masked
   cell, the smallest other cell of that line is masked as well (a non-zero body cell first,
   then a zero cell, the line's total only as a last resort), until nothing changes. Then
   every masked cell is checked against all published totals together (linear algebra: a
   masked cell is recoverable when its value is the same in every solution of the published
   equations); a recoverable cell gets one more complementary mask, and the loop starts again.
3. **Amounts** (and shares) computed on a masked count are masked with it.
"""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from vsm import present as fr
from vsm.errors import VsmError
from vsm.publish.secrecy import settings

TOTAL = "Total"

Cell = tuple[int, int]


def _margins(table: pd.DataFrame, total: str | None) -> tuple[int | None, int | None]:
    """Positions of the totals row and totals column (None when not published)."""
    if total is None:
        return None, None
    rows = [i for i, label in enumerate(table.index) if label == total]
    cols = [j for j, label in enumerate(table.columns) if label == total]
    if len(rows) > 1 or len(cols) > 1:
        raise VsmError(f"Le tableau a plusieurs lignes ou colonnes « {total} ».")
    return (rows[0] if rows else None), (cols[0] if cols else None)


def _values(counts: pd.DataFrame) -> np.ndarray:
    try:
        values = counts.astype("float64").to_numpy()
    except (TypeError, ValueError):
        raise VsmError("Secret statistique : le tableau d'effectifs contient des valeurs non numériques.") from None
    if np.isnan(values).any() or (values < 0).any() or (values != np.round(values)).any():
        raise VsmError("Secret statistique : les effectifs doivent être des entiers positifs ou nuls, sans case vide.")
    return values.astype(np.int64)


def _lines(shape: tuple[int, int], total_row: int | None, total_col: int | None) -> list[tuple[list[Cell], Cell]]:
    """Every published equation « sum of the line's cells = the line's total », as (body cells, total cell)."""
    n_rows, n_cols = shape
    lines = []
    if total_col is not None:
        for r in range(n_rows):
            lines.append(([(r, c) for c in range(n_cols) if c != total_col], (r, total_col)))
    if total_row is not None:
        for c in range(n_cols):
            lines.append(([(r, c) for r in range(n_rows) if r != total_row], (total_row, c)))
    return lines


def _check_totals(values: np.ndarray, lines: list[tuple[list[Cell], Cell]], counts: pd.DataFrame) -> None:
    for body, total_cell in lines:
        if sum(values[cell] for cell in body) != values[total_cell]:
            r, c = total_cell
            raise VsmError(
                f"Secret statistique : le total « {counts.index[r]} × {counts.columns[c]} » "
                f"({values[total_cell]}) n'est pas la somme de sa ligne ou de sa colonne ; "
                "seuls des totaux additifs peuvent être publiés avec ce tableau."
            )


def _candidate(cells: Iterable[Cell], total_cell: Cell | None, values: np.ndarray, mask: np.ndarray) -> Cell | None:
    """The cell to mask in a line: the smallest non-zero unmasked body cell, else a zero body
    cell, else (last resort) the line's total. Ties: the first in table order."""
    body = [cell for cell in cells if not mask[cell]]
    if body:
        return min(body, key=lambda cell: (values[cell] == 0, values[cell], cell))
    if total_cell is not None and not mask[total_cell]:
        return total_cell
    return None


def _recoverable(mask: np.ndarray, lines: list[tuple[list[Cell], Cell]]) -> list[Cell]:
    """Masked cells whose value the published cells and totals determine exactly.

    Unknowns: the masked cells. Each line gives one equation (body − total = known). A masked
    cell is determined iff its coordinate is zero in every vector of the equations' null space.
    """
    masked = [tuple(int(i) for i in cell) for cell in np.argwhere(mask)]
    if not masked:
        return []
    position = {cell: k for k, cell in enumerate(masked)}
    rows = []
    for body, total_cell in lines:
        row = np.zeros(len(masked))
        for cell in body:
            if cell in position:
                row[position[cell]] = 1.0
        if total_cell in position:
            row[position[total_cell]] = -1.0
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.array(rows)
    _, singular, vt = np.linalg.svd(matrix)
    rank = int((singular > 1e-9).sum())
    null_space = vt[rank:]  # rows span the null space
    if null_space.shape[0] == 0:
        return list(masked)
    return [cell for cell, k in position.items() if np.abs(null_space[:, k]).max() < 1e-9]


def secret_mask(counts: pd.DataFrame, *, total: str | None = TOTAL, threshold: int | None = None) -> pd.DataFrame:
    """Boolean mask (True = do not publish) of a table of counts, margins included.

    ``counts``: integer counts; a row and/or a column labelled ``total`` (« Total ») holds the
    published totals (``pd.crosstab(..., margins=True, margins_name="Total")`` gives both).
    Without a « Total » column the columns are independent (no row equations), and the
    other way round. Primary masking (1 ≤ count ≤ threshold) then secondary masking as
    described in the module docstring.
    """
    limit = settings().threshold if threshold is None else threshold
    values = _values(counts)
    total_row, total_col = _margins(counts, total)
    lines = _lines(values.shape, total_row, total_col)
    _check_totals(values, lines, counts)
    mask = (values >= 1) & (values <= limit)
    while True:
        changed = False
        for body, total_cell in lines:
            members = [*body, total_cell]
            if sum(bool(mask[cell]) for cell in members) == 1:
                pick = _candidate(body, total_cell, values, mask)
                if pick is not None:
                    mask[pick] = True
                    changed = True
        if changed:
            continue
        exposed = _recoverable(mask, lines)
        if not exposed:
            break
        cell = exposed[0]
        options = []
        for body, total_cell in lines:
            if cell in body or cell == total_cell:
                pick = _candidate(body, total_cell, values, mask)
                if pick is not None:
                    options.append(pick)
        if not options:  # every cell of its lines is masked already: take one elsewhere
            options = [tuple(int(i) for i in c) for c in np.argwhere(~mask)]
            if not options:
                break
        positive = [c for c in options if values[c] > 0] or options
        mask[min(positive, key=lambda c: (values[c], c))] = True
    return pd.DataFrame(mask, index=counts.index, columns=counts.columns)


def recoverable_cells(counts: pd.DataFrame, mask: pd.DataFrame, *, total: str | None = TOTAL) -> list[tuple[object, object]]:
    """(row label, column label) of masked cells that the published cells and totals give back
    exactly. Empty for a mask made by ``secret_mask``."""
    values = _values(counts)
    total_row, total_col = _margins(counts, total)
    lines = _lines(values.shape, total_row, total_col)
    cells = _recoverable(mask.to_numpy(dtype=bool), lines)
    return [(counts.index[r], counts.columns[c]) for r, c in sorted(cells)]


def apply_mask(
    values: pd.DataFrame | pd.Series,
    mask: pd.DataFrame | pd.Series,
    fmt: Callable[[object], str] | None = None,
    *,
    symbol: str | None = None,
) -> pd.DataFrame | pd.Series:
    """Values formatted with ``fmt`` (French text), the masked ones replaced by the symbol.

    Use the mask of the counts for the amounts computed on them: ``apply_mask(amounts,
    secret_mask(counts), fr.eur)``. ``values`` and ``mask`` must have the same labels.
    """
    sym = settings().symbol if symbol is None else symbol
    fmt = fmt or str
    if isinstance(values, pd.Series):
        aligned = mask.reindex(values.index)
    else:
        aligned = mask.reindex(index=values.index, columns=values.columns)
    if aligned.isna().to_numpy().any():
        raise VsmError("Secret statistique : le masque ne couvre pas toutes les cases du tableau à publier.")
    aligned = aligned.astype(bool)
    if isinstance(values, pd.Series):
        return pd.Series([sym if m else fmt(v) for v, m in zip(values, aligned)], index=values.index, name=values.name, dtype=object)
    out = pd.DataFrame(index=values.index, columns=values.columns, dtype=object)
    for column in values.columns:
        out[column] = [sym if m else fmt(v) for v, m in zip(values[column], aligned[column])]
    return out


def publish_table(
    frame: pd.DataFrame,
    counts: list[str],
    tied: Mapping[str, str] | None = None,
    formats: Mapping[str, Callable[[object], str]] | None = None,
    *,
    total: str | None = TOTAL,
    threshold: int | None = None,
) -> pd.DataFrame:
    """A table ready to display: every column as French text, secret cells masked.

    ``counts``: the count columns, protected together by ``secret_mask`` (a « Total » row of
    ``frame`` is the column totals; a count column named « Total » is the row totals).
    ``tied``: amount or share column → the count column it is computed on; masked with it.
    ``formats``: column → formatter (default: ``fr.integer`` for counts, ``str`` otherwise).
    """
    tied = dict(tied or {})
    formats = dict(formats or {})
    unknown = [c for c in [*counts, *tied, *tied.values()] if c not in frame.columns]
    if unknown:
        raise VsmError(f"Secret statistique : colonnes absentes du tableau : {', '.join(map(str, unknown))}.")
    mask = secret_mask(frame[counts], total=total, threshold=threshold)
    out = pd.DataFrame(index=frame.index, dtype=object)
    for column in frame.columns:
        if column in counts:
            out[column] = apply_mask(frame[column], mask[column], formats.get(column, fr.integer))
        elif column in tied:
            out[column] = apply_mask(frame[column], mask[tied[column]], formats.get(column, str))
        else:
            fmt = formats.get(column, str)
            out[column] = [fmt(v) for v in frame[column]]
    return out


def readable_small_sets(groups: Mapping[str, np.ndarray], masked: Iterable[str], *, threshold: int | None = None) -> int:
    """How many sets of 1 to ``threshold`` professionals the unmasked groups of one
    population give away (0 for a protection made by :func:`protect`): the independent audit
    of tests/secrecy_audit.py on a single population."""
    from secrecy_audit import audit

    from vsm.publish.secrecy import Group

    limit = settings().threshold if threshold is None else threshold
    names = list(groups)
    size = len(np.asarray(groups[names[0]])) if names else 0
    listed = [Group(("_", "_", n), np.nonzero(np.asarray(groups[n], dtype=bool))[0]) for n in names]
    hidden = {("_", "_", n) for n in masked}
    return len(audit(size, listed, hidden, limit))


# --------------------------------------------------------------------------- checking a rendered document


class _TableParser(HTMLParser):
    """Every <table> of an HTML document as a list of rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._stack: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in ("td", "th") and self._stack:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._stack:
            if not self._stack[-1]:
                self._stack[-1].append([])
            self._stack[-1][-1].append(_clean(" ".join(self._cell)))
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append(self._stack.pop())

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " ")).strip()


def _is_html(rendered: str) -> bool:
    return bool(re.search(r"<table\b", rendered, re.IGNORECASE))


def _rendered_tables(rendered: str) -> list[list[list[str]]]:
    parser = _TableParser()
    parser.feed(rendered)
    return parser.tables


def _label(row_label: object) -> tuple[str, ...]:
    return tuple(_clean(str(x)) for x in row_label) if isinstance(row_label, tuple) else (_clean(str(row_label)),)


# A French number as displayed: « 7 », « 1 234 », « 12,5 » (thousands separated by a space).
_NUMBER = re.compile(r"(?<![\w,.])(\d{1,3}(?: \d{3})+|\d+)(,\d+)?(?![\w,.])")
MIN_WRAPPED_LABEL = 12  # characters of a row label wrapped over several lines that identify it


def _text_lines(rendered: str) -> list[str]:
    return [line for line in (_clean_keep(line) for line in html_lib.unescape(rendered).splitlines()) if line.strip()]


def _clean_keep(text: str) -> str:
    """No-break spaces as spaces, the runs of spaces kept (they separate the columns)."""
    return text.replace("\u202f", " ").replace("\u00a0", " ").rstrip()


def _text_leaks(lines: list[str], name: str, table: pd.DataFrame, small: list, limit: int) -> list[str]:
    """Plain text has no columns: a row, found by its label (label cells joined by spaces),
    or by the first line of a label wrapped over several lines, must not show the number of
    any of its small cells after its label."""
    problems = []
    labels = {r: " ".join(x for x in _label(r) if x) for r in table.index}  # empty label cells vanish in plain text
    for r, c in small:
        label = labels[r]
        found = []
        for line in lines:
            cells = [re.sub(r"\s+", " ", cell) for cell in re.split(r"\s{2,}", line.strip())]
            for k in range(1, len(cells)):
                head = " ".join(cells[:k])
                if head == label:
                    found.append(cells[k:])
                    break
                wrapped = len(head) >= MIN_WRAPPED_LABEL and label.startswith(head)
                if wrapped and not any(key != r and x.startswith(head) for key, x in labels.items()):
                    found.append(cells[k:])
                    break
                if not label.startswith(head):
                    break
        if not found:
            problems.append(f"{name} : ligne « {label} » introuvable.")
            continue
        value = int(table.loc[r, c])
        for rest in found:
            shown = [
                int(m.group(1).replace(" ", ""))
                for cell in rest
                for m in _NUMBER.finditer(cell)
                if m.group(2) is None and not cell[m.end():].lstrip().startswith(("%", "€"))
            ]
            if value in shown:
                problems.append(f"{name} : « {label} × {c} » vaut {value} et la ligne l'affiche (« {label}  {'  '.join(rest)} »).")
                break
    return problems


def find_leaks(rendered: str, tables: Mapping[str, pd.DataFrame] | Iterable[pd.DataFrame], *, threshold: int | None = None) -> list[str]:
    """Problems (French) where a rendered document shows a count from 1 to the threshold of
    one of ``tables`` (the unmasked counts, labelled as in the report: a row is found by its
    label cells — a MultiIndex for several label columns —, a column by its header).

    HTML: the cell at the row and the column must not hold a digit. Plain text (from
    ``pdftotext -layout``, where columns are only spaces): the row must not show the small
    number anywhere after its label. A table, row or cell that cannot be found is a problem
    too, so that a check never passes by finding nothing. Empty list: no small count shown."""
    limit = settings().threshold if threshold is None else threshold
    named = tables.items() if isinstance(tables, Mapping) else ((f"tableau {i + 1}", t) for i, t in enumerate(tables))
    html_mode = _is_html(rendered)
    rendered_tables = _rendered_tables(rendered) if html_mode else []
    text_rows = [] if html_mode else _text_lines(rendered)
    problems = []
    for name, table in named:
        small = [(r, c) for r in table.index for c in table.columns if 1 <= int(table.loc[r, c]) <= limit]
        if not small:
            continue
        if not html_mode:
            problems += _text_leaks(text_rows, name, table, small, limit)
            continue
        wanted = [_clean(str(c)) for c in table.columns]
        candidates = []  # (body, header) of every rendered table with these headers
        for rows in rendered_tables:
            for h, header in enumerate(rows):
                if all(label in header for label in wanted):
                    candidates.append((rows[h + 1 :], header))
                    break
        if not candidates:
            problems.append(f"{name} : tableau introuvable (en-têtes {', '.join(wanted)}).")
            continue
        for r, c in small:
            label = _label(r)
            text_label = " × ".join(label)
            found = None
            for body, header in candidates:
                row = next((row for row in body if len(row) >= len(label) and tuple(row[: len(label)]) == label), None)
                if row is not None:
                    found = (row, header)
                    break
            if found is None:
                problems.append(f"{name} : case « {text_label} × {c} » introuvable.")
                continue
            row, header = found
            position = header.index(_clean(str(c)))
            if len(row) > len(header):  # a header without the index's corner cell
                position += len(row) - len(header)
            if position >= len(row):
                problems.append(f"{name} : case « {text_label} × {c} » introuvable.")
            elif any(ch.isdigit() for ch in row[position]):
                problems.append(f"{name} : « {text_label} × {c} » vaut {int(table.loc[r, c])} et s'affiche « {row[position]} » (secret non appliqué).")
    return problems

