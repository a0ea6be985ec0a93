"""Statistical secrecy of published aggregates (domain-facts § 5), and the payment list.

Two tools, one rule — no count from 1 to the threshold (params/secret.yml, default 10) is
readable in a published document, not even by difference:

* :func:`protect` (what the reports use, through vsm/report.py): the published counts of
  one population are *groups* of professionals (« éligibles », « palier 1 avec
  majoration », a bar of a chart…), whatever table they appear in. A set of professionals
  is readable when its count is a linear combination of the published counts (a total
  minus its parts, « professionnels − éligibles », across tables). Primary masking: every
  group of 1 to threshold professionals. Secondary masking: while a protected set (every
  atom — professionals in exactly the same groups —, every group, and f ∩ g, f ∖ g for
  every two groups) of 1 to threshold professionals is readable, the cheapest published
  groups are masked (the least important first, as few as possible), then the masks
  that turn out unnecessary are lifted. A population of 1 to threshold professionals
  publishes nothing, not even zeros.
* :func:`secret_mask` / :func:`publish_table`, for a plain table of counts with « Total »
  margins:

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
4. Masked cells show the symbol « s » (secret), not « < 11 »: a cell masked to protect
   another one, or an amount, can be far above 10, so « < 11 » would be false there.

:func:`find_leaks` checks a rendered document (HTML, or the text of its PDF) against the
unmasked counts of its tables.

Not covered: dominance rules on amounts (one professional making most of a cell's amount);
bounds on a masked count (knowing it lies between 0 and some total is not knowing it);
sums of masked counts of several regions other than through the national totals (see
vsm/report.py :func:`secrecy_plan`); differences between two periods (P2 − P1 of the same
group); inside a chart segment, the bars are not part of the linear check (each holds 0 or
more than the threshold, and never crosses a published boundary).

The per-professional payment list (``write_payments``) is not a published aggregate: it is
the caisse's internal file for its payment staff, one row per professional (ps_id and
amounts only, never a patient identifier).
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from itertools import combinations
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from . import present as fr
from .errors import VsmError
from .paths import load_yaml, params_dir

TOTAL = "Total"
CUT_POOL = 14  # groups tried together when looking for the cheapest secondary masks
CUT_SIZE = 3

Cell = tuple[int, int]


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SecretSettings:
    threshold: int  # counts from 1 to threshold are masked
    symbol: str  # what a masked cell shows
    note_template: str  # French footnote, with {seuil}
    source: str

    @property
    def note(self) -> str:
        return " ".join(self.note_template.format(seuil=self.threshold).split())


@lru_cache(maxsize=None)
def _load(path: str) -> SecretSettings:
    file = Path(path)
    try:
        data = load_yaml(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VsmError(f"Paramètres du secret statistique introuvables : {file}.") from None
    threshold = data.get("seuil")
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
        raise VsmError(f"{file} : « seuil » doit être un entier positif ou nul, pas « {threshold} ».")
    symbol = str(data.get("symbole", "s"))
    if any(ch.isdigit() for ch in symbol):
        raise VsmError(f"{file} : le symbole du secret « {symbol} » ne doit pas contenir de chiffre.")
    source = data.get("source", {})
    return SecretSettings(
        threshold=threshold,
        symbol=symbol,
        note_template=str(data.get("note", "{seuil}")),
        source=f"{source.get('document', '?')}, {source.get('passage', '?')} : « {source.get('quote', '')} »",
    )


def settings(path: Path | str | None = None) -> SecretSettings:
    """The secrecy settings of params/secret.yml (or of ``path``)."""
    return _load(str(Path(path) if path is not None else params_dir() / "secret.yml"))


def secret_note(threshold: int | None = None) -> str:
    """The French footnote to print under every table with masked cells."""
    current = settings()
    if threshold is not None and threshold != current.threshold:
        current = SecretSettings(threshold, current.symbol, current.note_template, current.source)
    return current.note


# --------------------------------------------------------------------------- masking


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


# --------------------------------------------------------------------------- groups of professionals


@dataclass(frozen=True)
class Protection:
    """Which published counts of one population are masked (see :func:`protect`).

    Names whose groups hold exactly the same professionals share their fate: they are the
    same published number, under two labels.
    """

    counts: Mapping[str, int]
    masked: frozenset[str]
    primary: frozenset[str]
    threshold: int
    whole: bool = False  # everything masked: the population itself is a small count

    def is_masked(self, name: str) -> bool:
        if name not in self.counts:
            raise KeyError(f"groupe inconnu du plan de secret statistique : {name}")
        return name in self.masked

    def count(self, name: str) -> int:
        return int(self.counts[name])


def _atoms(groups: Mapping[str, np.ndarray], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Forms (names × atoms, 0/1) and atom counts: an atom is a set of professionals who
    belong to exactly the same groups."""
    size = {len(np.asarray(groups[n])) for n in names}
    if len(size) > 1:
        raise VsmError("Secret statistique : les groupes ne portent pas sur la même population.")
    if not names:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    matrix = np.column_stack([np.asarray(groups[n], dtype=bool) for n in names])
    if matrix.shape[0] == 0:
        return np.zeros((len(names), 0)), np.zeros(0, dtype=np.int64)
    atoms, counts = _unique_rows(matrix)
    return atoms.T.astype(np.float64), counts.astype(np.int64)


def _unique_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(matrix, axis=0, return_counts=True)`` for a boolean matrix, in the same
    (lexicographic) order, but sorting one integer per row instead of rows: each row is read
    as a binary number, its first column the most significant bit."""
    width = matrix.shape[1]
    if width > 63:
        return np.unique(matrix, axis=0, return_counts=True)
    weights = np.left_shift(np.uint64(1), np.arange(width - 1, -1, -1, dtype=np.uint64))
    keys = (matrix.astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)
    unique_keys, counts = np.unique(keys, return_counts=True)
    atoms = (unique_keys[:, None] & weights[None, :]) != 0
    return atoms, counts


def _sensitive(forms: np.ndarray, counts: np.ndarray, threshold: int) -> np.ndarray:
    """The sets of professionals whose count must not be readable: every atom, every group,
    and for every two groups f and g, f ∩ g and f ∖ g (« professionnels − éligibles »…) —
    only those holding 1 to ``threshold`` professionals."""
    n_atoms = len(counts)
    if n_atoms == 0:
        return np.zeros((0, 0))
    candidates = [np.eye(n_atoms)]
    if len(forms):
        candidates.append(forms)
        a = forms[:, None, :]
        b = forms[None, :, :]
        candidates.append((a * b).reshape(-1, n_atoms))
        candidates.append((a * (1 - b)).reshape(-1, n_atoms))
    vectors = np.vstack(candidates) if n_atoms else np.zeros((0, 0))
    if not len(vectors):
        return vectors
    values = vectors @ counts
    vectors = vectors[(values >= 1) & (values <= threshold)]
    return np.unique(vectors, axis=0) if len(vectors) else vectors


def _determined(vectors: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """Which ``vectors`` are linear combinations of the ``visible`` forms (their count can
    be computed from the published counts)."""
    if not len(vectors):
        return np.zeros(0, dtype=bool)
    if not len(visible):
        return np.zeros(len(vectors), dtype=bool)
    _, singular, vt = np.linalg.svd(visible, full_matrices=False)
    rank = int((singular > 1e-9 * max(1.0, singular[0])).sum())
    basis = vt[:rank]
    residual = vectors - (vectors @ basis.T) @ basis
    return np.abs(residual).max(axis=1) < 1e-7


def _involved(target: np.ndarray, forms: np.ndarray, visible: list[int]) -> list[int]:
    """The visible groups that take part in some way of computing ``target`` from the
    visible groups (the others can be masked or not without changing anything for it)."""
    matrix = forms[visible].T  # atoms × visible groups: matrix @ c = target
    c0, *_ = np.linalg.lstsq(matrix, target, rcond=None)
    _, singular, vt = np.linalg.svd(matrix, full_matrices=True)
    rank = int((singular > 1e-9 * max(1.0, singular[0] if len(singular) else 1.0)).sum())
    null = vt[rank:]  # solutions: c0 + combinations of these rows
    return [g for j, g in enumerate(visible) if abs(c0[j]) > 1e-9 or (len(null) and np.abs(null[:, j]).max() > 1e-9)]


def _cheapest_cut(target: np.ndarray, forms: np.ndarray, masked: set[int], weight: list[int], value: list[int],
                  fixed: frozenset[int] | set[int] = frozenset()) -> set[int]:
    """The published groups to mask so that ``target`` is no longer readable: the fewest
    groups among the least important ones (the most important group masked is as little
    important as possible, then as few groups as possible, then the smallest counts).
    ``fixed`` groups are published elsewhere: they stay visible and are never chosen."""
    visible = [i for i in range(len(forms)) if i not in masked]
    involved = [i for i in _involved(target, forms, visible) if i not in fixed]
    tried: dict[frozenset, bool] = {}

    def hides(cut: tuple[int, ...]) -> bool:
        key = frozenset(cut)
        if key not in tried:
            rest = forms[[i for i in visible if i not in key]]
            tried[key] = not _determined(target[None, :], rest)[0]
        return tried[key]

    for level in sorted({weight[i] for i in involved}):
        pool = sorted((i for i in involved if weight[i] <= level), key=lambda i: (weight[i], value[i], i))[:CUT_POOL]
        for size in range(1, CUT_SIZE + 1):
            cuts = sorted(combinations(pool, size), key=lambda cut: (sum(value[i] for i in cut), cut))
            found = next((cut for cut in cuts if hides(cut)), None)
            if found is not None:
                return set(found)
    touching = [i for i in involved if (forms[i] * target).any()] or involved  # last resort, always enough in the end
    return {min(touching, key=lambda i: (weight[i], value[i], i))} if touching else set()


def protect(
    groups: Mapping[str, np.ndarray],
    *,
    importance: Mapping[str, int] | None = None,
    forced: Iterable[str] = (),
    shown: Iterable[str] = (),
    whole: bool = False,
    threshold: int | None = None,
) -> Protection:
    """Mask the published counts of one population so that no set of 1 to ``threshold``
    professionals can be counted from what remains.

    ``groups``: name → boolean membership (one entry per professional of the population);
    every group is a count published somewhere (a table cell, a share's numerator or
    denominator, the group an amount is computed on, a chart's bars). The count of a set
    of professionals is readable when it is a linear combination of the published counts
    (a total minus its parts, a difference of two nested counts, across tables). The sets
    protected are every atom (professionals in exactly the same groups), every group, and
    f ∩ g and f ∖ g for every two groups.

    1. **Primary**: a group of 1 to ``threshold`` professionals is masked (``forced`` ones too).
    2. **Secondary**: while a protected set of 1 to ``threshold`` professionals is readable,
       mask the least important published group (``importance``: higher = kept longer;
       default 50; then the smaller count first) whose masking makes fewer sets readable.
    3. Secondary masks that turn out unnecessary are lifted, most important first.

    ``shown``: groups whose count the reader already has from elsewhere (the same
    professionals counted in another part of the document): never masked, always counted
    as readable; the secondary masks are taken among the other groups.

    ``whole``: mask everything (even zeros), for a population too small to say anything
    about (zeros would tell where its few professionals are).
    """
    limit = settings().threshold if threshold is None else threshold
    names = list(groups)
    forms, counts = _atoms(groups, names)
    values = {n: int(forms[i] @ counts) if len(counts) else 0 for i, n in enumerate(names)}
    forced, shown = set(forced), set(shown)
    unknown = (forced | shown) - set(names)
    if unknown:
        raise VsmError(f"Secret statistique : groupes inconnus : {', '.join(sorted(unknown))}.")
    if whole:
        return Protection(values, frozenset(names), frozenset(names), limit, whole=True)
    # Identical groups are one published number.
    keys = [forms[i].tobytes() for i in range(len(names))]
    ids: dict[bytes, int] = {}
    members: list[list[str]] = []
    for name, key in zip(names, keys):
        if key not in ids:
            ids[key] = len(members)
            members.append([])
        members[ids[key]].append(name)
    unique = np.array([forms[names.index(m[0])] for m in members]) if members else np.zeros((0, len(counts)))
    form_value = [values[m[0]] for m in members]
    weight = [max((importance or {}).get(n, 50) for n in m) for m in members]
    masked = {i for i, m in enumerate(members) if 1 <= form_value[i] <= limit or forced & set(m)}
    fixed = frozenset(i for i, m in enumerate(members) if shown & set(m))
    if masked & fixed:
        clash = ", ".join(sorted(n for i in masked & fixed for n in members[i]))
        raise VsmError(f"Secret statistique : groupes publiés ailleurs mais à masquer ici : {clash}.")
    primary = set(masked)
    sensitive = _sensitive(unique, counts, limit)

    def leaks(hidden: set[int]) -> np.ndarray:
        visible = unique[[i for i in range(len(members)) if i not in hidden]]
        return sensitive[_determined(sensitive, visible)]

    current = leaks(masked)
    while len(current):
        cut = _cheapest_cut(current[0], unique, masked, weight, form_value, fixed)
        if not cut:
            if fixed:
                raise VsmError("Secret statistique : les effectifs déjà publiés ailleurs suffisent à retrouver un "
                               f"effectif de 1 à {limit} ; aucun masque ne peut l'empêcher.")
            break
        masked |= cut
        current = leaks(masked)
    for i in sorted(masked - primary, key=lambda i: (-weight[i], -form_value[i])):
        if not len(leaks(masked - {i})):
            masked.discard(i)
    names_masked = frozenset(n for i in masked for n in members[i])
    names_primary = frozenset(n for i in primary for n in members[i])
    return Protection(values, names_masked, names_primary, limit)


def readable_small_sets(groups: Mapping[str, np.ndarray], masked: Iterable[str], *, threshold: int | None = None) -> int:
    """How many protected sets of 1 to ``threshold`` professionals the unmasked groups give
    away (0 for a protection made by :func:`protect`): a check for the tests."""
    limit = settings().threshold if threshold is None else threshold
    names = list(groups)
    forms, counts = _atoms(groups, names)
    hidden = set(masked)
    visible = forms[[i for i, n in enumerate(names) if n not in hidden]] if len(names) else forms
    sensitive = _sensitive(forms, counts, limit)
    return int(_determined(sensitive, visible).sum())


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


# --------------------------------------------------------------------------- payment list

PAYMENT_COLUMNS = ("tier_eur", "majoration_eur", "amount_eur", "paid_eur", "complement_eur")
PAYMENTS_FILE = "paiements.csv"


def payments(results: pd.DataFrame, region: str) -> pd.DataFrame:
    """The professionals of ``region`` with something to pay: ps_id and amounts only.

    ``payable_eur`` is what the caisse pays for this period: the complement for a
    complementary period (``complement_eur``), the amount otherwise.
    """
    from .regions import normalize_region

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
    from .store import write_table

    return write_table(payments(results, region), Path(out_dir) / PAYMENTS_FILE)
