"""Statistical secrecy of published aggregates (domain-facts § 5): no count from 1 to the
threshold (params/secret.yml, default 10) is readable in a published document, not even by
difference.

:func:`protect` (what the reports use, through vsm/report/plan.py): the published counts of
one population are *groups* of professionals (« éligibles », « palier 1 avec majoration », a
bar of a chart…), whatever table they appear in. A set of professionals is readable when its
count is a linear combination of the published counts (a total minus its parts,
« professionnels − éligibles », across tables). Primary masking: every group of 1 to
threshold professionals. Secondary masking: while a protected set (every atom —
professionals in exactly the same groups —, every group, and f ∩ g, f ∖ g for every two
groups) of 1 to threshold professionals is readable, the cheapest published groups are
masked (the least important first, as few as possible), then the masks that turn out
unnecessary are lifted. A population of 1 to threshold professionals publishes nothing, not
even zeros. Masked cells show the symbol « s » (secret), not « < 11 »: a cell masked to
protect another one, or an amount, can be far above 10.

Not covered: dominance rules on amounts (one professional making most of a cell's amount);
bounds on a masked count (knowing it lies between 0 and some total is not knowing it);
sums of masked counts of several regions other than through the national totals (see
vsm/report/plan.py :func:`couple_regions`); differences between two periods (P2 − P1 of the
same group); inside a chart segment, the bars are not part of the linear check (each holds
0 or more than the threshold, and never crosses a published boundary).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from ..errors import VsmError
from ..paths import load_yaml, params_dir

CUT_POOL = 14  # groups tried together when looking for the cheapest secondary masks
CUT_SIZE = 3


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
