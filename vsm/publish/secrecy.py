"""Statistical secrecy of published aggregates (domain-facts § 5): no set of 1 to the
threshold (params/secret.yml, default 10) professionals is countable from a publication, not
even by difference between its figures.

Every published count is the size of a *group* of professionals (« éligibles », « palier 1
avec majoration », a bar of a chart, a département's paid professionals…). A set of
professionals is *readable* when its indicator is a linear combination of the indicators of
the published groups (a total minus its parts, « professionnels − éligibles », P2 − P1, the
national total minus the published regions…). The reader is assumed to know which
professionals share exactly the same groups (the *atoms*) but not how many there are.

:func:`decide` masks the groups of a whole publication (both periods, both forfaits, every
region, département and the national synthesis, see vsm/report/plan.py):

1. **Primary**: every group of 1 to threshold professionals; everything of a scope that is
   itself a small count (``whole``).
2. **Each block alone** (the professionals linked by the regional groups: a region, with
   its départements, both periods and its forfait structure part): while a readable set of
   1 to threshold professionals exists, the cheapest masks that make it unreadable are
   added (by total importance, then number, then count): one group when one is enough, or
   the groups that tell apart a professional of the set from one outside it (the reader
   then cannot say in which of the two a professional is). Leaks are looked for first among
   the likely sets (every atom, every group, f ∩ g and f ∖ g for every two groups), then by
   an exact search (a mixed-integer program, HiGHS): the smallest 0/1 combination of atoms
   in the span of the published groups with 1 to threshold professionals. Masks that turn
   out unnecessary are lifted, then the exact search runs again.
3. **The national figures against the blocks** (groups spanning several blocks): for each
   set they give — a national figure, or the difference of two nested ones (« éligibles −
   rémunérés ») — the parts the blocks cannot read from their own figures are the national
   set minus the published regions. One hidden part of more than threshold professionals
   becomes known to its block, which is protected again with it; hidden parts of 1 to
   threshold professionals in all are a leak: one more region hides its part (the cheapest,
   as « s » given to a second region), or, when none can, the national figure is masked.
   Combinations of national figures beyond these pairs are left to the audit test
   (tests/secrecy_audit.py), which checks the whole demo publication.

Masked cells show the symbol « s » (secret), not « < 11 »: a cell masked to protect another
one, or an amount, can be far above 10.

Not covered: dominance rules on amounts (one professional making most of a cell's amount):
no source the project follows sets one, and the reports say so; bounds on a masked count
(knowing it lies between 0 and some total is not knowing it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import time
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from ..errors import VsmError
from ..paths import load_yaml, params_dir

TOL = 1e-7  # numerical tolerance of the (double precision) linear algebra
MILP_SECONDS = 120  # the exact search of one population gives up (French error) after this


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


# --------------------------------------------------------------------------- protections


@dataclass(frozen=True)
class Protection:
    """Which published counts of one population are masked (see :func:`protect`).

    Names whose groups hold exactly the same professionals share their fate: they are the
    same published number, under two labels.
    """

    counts: Mapping[str, int | None]  # None: read back from a saved decision (no count is saved)
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


def _unique_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(matrix, axis=0, return_inverse=True, return_counts=True)`` for a boolean
    matrix, in the same (lexicographic) order, sorting one key per row instead of rows."""
    if matrix.shape[1] == 0:
        n = matrix.shape[0]
        return (np.zeros((1 if n else 0, 0), dtype=bool), np.zeros(n, dtype=np.int64),
                np.array([n] if n else [], dtype=np.int64))
    packed = np.packbits(matrix, axis=1)
    view = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1])))[:, 0]
    _, first, inverse, counts = np.unique(view, return_index=True, return_inverse=True, return_counts=True)
    return matrix[first], inverse.ravel().astype(np.int64), counts.astype(np.int64)


class _Space:
    """The published groups of one set of professionals, as *forms* (one per distinct
    group, 0/1 over the atoms) with the linear algebra of the secrecy plan.

    Everything is done in the space of the forms (dimension: the number of groups, not of
    professionals): a set x of atoms is readable from the visible forms V when
    ‖x‖² = aᵀ (F_V F_Vᵀ)⁺ a with a = F_V x, its projection on their span.
    """

    def __init__(self, matrix: np.ndarray, keys: list, weight: list[int], limit: int, kinds: list | None = None):
        self.limit = limit
        atoms, self.atom_of, counts = _unique_rows(np.asarray(matrix, dtype=bool))
        self.counts = counts
        forms = atoms.T  # columns × atoms
        tag = kinds if kinds is not None else [None] * len(keys)
        index: dict = {}
        self.members: list[list] = []
        rows = []
        for j, key in enumerate(keys):
            if not forms[j].any():
                continue  # an empty group tells nothing: never masked for itself
            k = (forms[j].tobytes(), tag[j])
            if k not in index:
                index[k] = len(rows)
                rows.append(forms[j])
                self.members.append([])
            self.members[index[k]].append(key)
        self.F = np.array(rows, dtype=np.float64).reshape(len(rows), len(counts))
        self.gram = self.F @ self.F.T
        self.value = (self.F @ counts).round().astype(np.int64)
        w = dict(zip(keys, weight))
        self.weight = [max(w[m] for m in members) for members in self.members]
        self.milps = 0
        self._family = None
        self._solved = None  # the last visible set's (pseudo-inverse, null space)

    @property
    def size(self) -> int:
        return len(self.members)

    # -- the likely leaks, computed once: every atom, group, f ∩ g and f ∖ g of 1 to limit
    #    professionals, as (a = F x, ‖x‖², count, how to rebuild x)

    def family(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
        if self._family is not None:
            return self._family
        limit, F, n, m = self.limit, self.F, self.counts, self.size
        parts_a, parts_s, parts_v, how = [], [], [], []
        small_atoms = np.nonzero(n <= limit)[0]
        parts_a.append(F[:, small_atoms].T)
        parts_s.append(np.ones(len(small_atoms)))
        parts_v.append(n[small_atoms])
        how += [("atom", int(j), 0) for j in small_atoms]
        if m:
            small = np.nonzero((self.value >= 1) & (self.value <= limit))[0]
            parts_a.append(self.gram[:, small].T)
            parts_s.append(np.diag(self.gram)[small])
            parts_v.append(self.value[small])
            how += [("group", int(g), 0) for g in small]
            both = (F * n) @ F.T  # professionals in f ∩ g
            inter = np.triu(np.ones((m, m), dtype=bool), 1) & (both >= 1) & (both <= limit)
            rest = self.value[:, None] - both  # |f ∖ g| (row f, column g)
            minus = ~np.eye(m, dtype=bool) & (rest >= 1) & (rest <= limit)
            pairs = sorted({(min(f, g), max(f, g)) for f, g in zip(*np.nonzero(inter | minus))})
            if pairs:
                p = np.array(pairs)
                a_meet = np.empty((len(p), m))
                for start in range(0, len(p), 256):  # atoms of f ∩ g, a few hundred pairs at a time
                    chunk = p[start:start + 256]
                    a_meet[start:start + 256] = (F[chunk[:, 0]] * F[chunk[:, 1]]) @ F.T
                s_meet = self.gram[p[:, 0], p[:, 1]]
                at = {pair: i for i, pair in enumerate(pairs)}
                f_i, g_i = np.nonzero(inter)
                rows = [at[(f, g)] for f, g in zip(f_i, g_i)]
                parts_a.append(a_meet[rows].reshape(len(rows), m))
                parts_s.append(s_meet[rows])
                parts_v.append(both[f_i, g_i])
                how += [("meet", int(f), int(g)) for f, g in zip(f_i, g_i)]
                f_m, g_m = np.nonzero(minus)
                rows = [at[(min(f, g), max(f, g))] for f, g in zip(f_m, g_m)]
                parts_a.append((self.gram[:, f_m].T - a_meet[rows]).reshape(len(rows), m))
                parts_s.append(self.gram[f_m, f_m] - s_meet[rows])
                parts_v.append(rest[f_m, g_m])
                how += [("minus", int(f), int(g)) for f, g in zip(f_m, g_m)]
        self._family = (np.vstack(parts_a), np.concatenate(parts_s).astype(np.float64),
                        np.concatenate(parts_v).astype(np.int64), how)
        return self._family

    def rebuild(self, how: tuple) -> np.ndarray:
        """The atoms (0/1) of a set of :meth:`family`."""
        kind, f, g = how
        if kind == "atom":
            x = np.zeros(len(self.counts))
            x[f] = 1.0
            return x
        if kind == "group":
            return self.F[f].copy()
        if kind == "meet":
            return self.F[f] * self.F[g]
        return self.F[f] * (1.0 - self.F[g])

    # -- linear algebra on the visible forms

    def _solver(self, visible: list[int]):
        key = tuple(visible)
        if self._solved is not None and self._solved[0] == key:
            return self._solved[1]
        self._solved = (key, self._solve(visible))
        return self._solved[1]

    def _solve(self, visible: list[int]):
        g = self.gram[np.ix_(visible, visible)]
        if not len(visible):
            return np.zeros((0, 0)), np.zeros((0, 0))
        values, vectors = np.linalg.eigh(g)
        keep = values > 1e-9 * max(1.0, float(values[-1])) * len(visible)
        inverse = (vectors[:, keep] / values[keep]) @ vectors[:, keep].T
        return inverse, vectors[:, ~keep]

    def readable(self, a: np.ndarray, s: np.ndarray, visible: list[int]) -> np.ndarray:
        """Which of the sets (rows of ``a`` = F x, ``s`` = ‖x‖²) are readable from ``visible``."""
        if not len(a):
            return np.zeros(0, dtype=bool)
        if not visible:
            return np.zeros(len(a), dtype=bool)
        inverse, _ = self._solver(visible)
        av = a[:, visible]
        residual = s - np.einsum("ij,jk,ik->i", av, inverse, av)
        return residual < 1e-6 * np.maximum(1.0, s)

    def family_leak(self, visible: list[int]) -> np.ndarray | None:
        """The smallest readable set of :meth:`family` (its atoms, 0/1), or None."""
        a, s, v, how = self.family()
        hit = np.nonzero(self.readable(a, s, visible))[0]
        if not len(hit):
            return None
        return self.rebuild(how[hit[np.argmin(v[hit])]])

    def exact_leak(self, visible: list[int]) -> np.ndarray | None:
        """The smallest readable set of 1 to ``limit`` professionals (mixed-integer program
        over the atoms as the visible forms see them), its atoms (0/1); None when there is none."""
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import csr_matrix, hstack, identity

        if not visible:
            return None
        fv = self.F[visible] > 0.5
        seen, which, _ = _unique_rows(fv.T)  # visible atoms: atoms no visible form tells apart
        m = np.bincount(which, weights=self.counts, minlength=len(seen)).round().astype(np.int64)
        small = m <= self.limit
        if not small.any():
            return None
        n_atoms, n_forms = len(seen), len(visible)
        cost = np.concatenate([m, np.zeros(n_forms)]).astype(np.float64)
        equal = hstack([identity(n_atoms, format="csr"), -csr_matrix(seen.astype(np.float64))])
        self.milps += 1
        result = milp(
            cost,
            constraints=[LinearConstraint(equal, 0, 0), LinearConstraint(cost[None, :], 1, self.limit)],
            integrality=np.concatenate([np.ones(n_atoms), np.zeros(n_forms)]),
            bounds=Bounds(np.concatenate([np.zeros(n_atoms), np.full(n_forms, -np.inf)]),
                          np.concatenate([small.astype(np.float64), np.full(n_forms, np.inf)])),
            options={"time_limit": MILP_SECONDS},
        )
        if result.status == 2:  # infeasible: no readable small set
            return None
        if result.x is None:
            raise VsmError(
                "Secret statistique : la recherche exacte des effectifs de 1 à "
                f"{self.limit} lisibles n'a pas abouti en {MILP_SECONDS} s ({result.message}) ; "
                "publier moins de tableaux croisés ou relever le seuil."
            )
        return np.round(result.x[:n_atoms])[which]

    def leak(self, visible: list[int], exact: bool = True) -> np.ndarray | None:
        found = self.family_leak(visible)
        if found is None and exact:
            found = self.exact_leak(visible)
        return found

    def cut(self, target: np.ndarray, visible: list[int], fixed: Iterable[int] = (), allowed: Iterable[int] | None = None) -> set[int] | None:
        """The visible forms to mask so that the set of atoms ``target`` (0/1) is no longer
        readable, the cheapest found (:meth:`cost`): one form when one is enough, or the forms
        that tell apart an atom of the set and an atom outside it (masking them, the reader
        cannot tell whether a professional is in one or the other: u = e_a − e_b is then
        orthogonal to every visible form but not to the set), or those holding an atom of
        the set. None when each way needs a ``fixed`` form (or one outside ``allowed``)."""
        barred = set(fixed) | (set(range(self.size)) - set(allowed) if allowed is not None else set())
        options: list[tuple[tuple, set[int]]] = []
        a = self.F @ target
        inverse, null = self._solver(visible)
        c0 = inverse @ a[visible]
        for j, i in enumerate(visible):
            if i in barred or abs(c0[j]) <= TOL:
                continue
            if null.shape[1] and np.abs(null[j]).max() > TOL:
                continue  # another way of computing the set does without this form
            options.append((self.cost([i]), {i}))
        fv = self.F[visible] > 0.5
        weight = np.array([self.weight[i] for i in visible])
        value = np.array([int(self.value[i]) for i in visible])
        allowed_rows = np.array([i not in barred for i in visible])
        inside = np.nonzero(target > 0.5)[0]
        outside = np.nonzero(target < 0.5)[0]
        for atom in inside:
            cols = fv[:, [atom]] != fv[:, outside] if len(outside) else np.zeros((len(visible), 0), dtype=bool)
            cols = np.concatenate([cols, fv[:, [atom]]], axis=1)  # last: the professional taken out
            ok = ~(cols & ~allowed_rows[:, None]).any(axis=0) & cols.any(axis=0)
            if not ok.any():
                continue
            cols = cols[:, ok]
            top = (cols * weight[:, None]).sum(axis=0)
            many = cols.sum(axis=0)
            total = (cols * value[:, None]).sum(axis=0)
            best = np.lexsort((total, many, top))[0]
            options.append(((int(top[best]), int(many[best]), int(total[best])),
                            {visible[r] for r in np.nonzero(cols[:, best])[0]}))
        if not options:
            return None
        return min(options, key=lambda o: (o[0], sorted(o[1])))[1]

    def cost(self, chosen: Iterable[int]) -> tuple:
        chosen = list(chosen)
        return (sum(self.weight[i] for i in chosen), len(chosen), sum(int(self.value[i]) for i in chosen))

    def visible(self, masked: set[int]) -> list[int]:
        return [i for i in range(self.size) if i not in masked]

    def protect(self, masked: set[int], fixed: set[int] = frozenset(), lift: bool = True) -> set[int]:
        """Secondary masks on top of ``masked`` until no set of 1 to ``limit`` is readable."""
        masked = set(masked)
        primary = set(masked)

        def close(exact: bool = True) -> None:
            while True:
                found = self.leak(self.visible(masked), exact)
                if found is None:
                    return
                chosen = self.cut(found, self.visible(masked), fixed)
                if chosen is None:
                    raise VsmError(
                        "Secret statistique : les effectifs déjà publiés ailleurs suffisent à retrouver un "
                        f"effectif de 1 à {self.limit} ; aucun masque ne peut l'empêcher."
                    )
                masked.update(chosen)

        close(exact=False)
        if lift:
            for i in sorted(masked - primary, key=lambda i: (-self.weight[i], -int(self.value[i]), i)):
                if self.family_leak(self.visible(masked - {i})) is None:
                    masked.discard(i)
        close(exact=True)
        return masked

    def keys(self, forms: Iterable[int]) -> set:
        return {key for i in forms for key in self.members[i]}


# --------------------------------------------------------------------------- one population


def protect(
    groups: Mapping[str, np.ndarray],
    *,
    importance: Mapping[str, int] | None = None,
    forced: Iterable[str] = (),
    shown: Iterable[str] = (),
    whole: bool = False,
    threshold: int | None = None,
) -> Protection:
    """Mask the published counts of one population (:func:`decide` with one block and no
    national figures) so that no set of 1 to ``threshold`` professionals can be counted
    from what remains.

    ``groups``: name → boolean membership (one entry per professional of the population);
    ``importance``: higher = kept longer (default 50); ``forced``: masked whatever their
    count; ``shown``: counts the reader already has from elsewhere (never masked, always
    readable: the secondary masks are taken among the other groups); ``whole``: mask
    everything (even zeros), for a population too small to say anything about.
    """
    limit = settings().threshold if threshold is None else threshold
    names = list(groups)
    sizes = {len(np.asarray(groups[n])) for n in names}
    if len(sizes) > 1:
        raise VsmError("Secret statistique : les groupes ne portent pas sur la même population.")
    forced, shown = set(forced), set(shown)
    unknown = (forced | shown) - set(names)
    if unknown:
        raise VsmError(f"Secret statistique : groupes inconnus : {', '.join(sorted(unknown))}.")
    values = {n: int(np.count_nonzero(groups[n])) for n in names}
    if whole:
        return Protection(values, frozenset(names), frozenset(names), limit, whole=True)
    if not names:
        return Protection(values, frozenset(), frozenset(), limit)
    matrix = np.column_stack([np.asarray(groups[n], dtype=bool) for n in names])
    space = _Space(matrix, names, [(importance or {}).get(n, 50) for n in names], limit)
    masked = {i for i, m in enumerate(space.members) if 1 <= space.value[i] <= limit or forced & set(m)}
    fixed = {i for i, m in enumerate(space.members) if shown & set(m)}
    if masked & fixed:
        clash = ", ".join(sorted(n for i in masked & fixed for n in space.members[i]))
        raise VsmError(f"Secret statistique : groupes publiés ailleurs mais à masquer ici : {clash}.")
    primary = set(masked)
    masked = space.protect(masked, fixed)
    masked_names = space.keys(masked) | {n for n in forced if values[n] == 0}
    return Protection(values, frozenset(masked_names), frozenset(space.keys(primary) | (forced & masked_names)), limit)


# --------------------------------------------------------------------------- a whole publication


@dataclass(frozen=True)
class Group:
    """A published count of a publication: ``members`` are indices of professionals (of the
    whole publication); ``national`` groups may span several blocks (they do not link
    their members into one block)."""

    key: tuple
    members: np.ndarray
    importance: int = 50
    national: bool = False
    forced: bool = False  # masked whatever its count (a scope that is itself a small count)


@dataclass
class Decision:
    """What :func:`decide` masked, and what it cost."""

    masked: frozenset
    blocks: int
    learned: int  # sets of professionals the national figures give away to one block (then protected with them)
    exact_searches: int
    seconds: float


def _blocks(size: int, groups: list[Group]) -> np.ndarray:
    """Block of each professional: connected through the non-national groups."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    local = [g for g in groups if not g.national and len(g.members)]
    if not local:
        return np.arange(size)
    rows = np.concatenate([g.members for g in local])
    cols = np.concatenate([np.full(len(g.members), i) for i, g in enumerate(local)])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols + size)), shape=(size + len(local),) * 2)
    _, labels = connected_components(graph, directed=False)
    return labels[:size]


def _atom_vector(space: _Space, persons: np.ndarray) -> np.ndarray | None:
    """The set of professionals ``persons`` (boolean over the space's professionals) as atoms
    (0/1), or None when it splits an atom (it is then not readable from the space's figures)."""
    inside = np.bincount(space.atom_of, weights=persons.astype(np.float64), minlength=len(space.counts))
    if np.any((inside > 0) & (inside < space.counts)):
        return None
    return (inside > 0).astype(np.float64)


class _Block:
    """One block of a publication: its professionals, groups and masks; ``learned``: sets of
    its professionals the national figures give away (visible, never masked here)."""

    def __init__(self, local: list[Group], size: int, limit: int):
        self.local = local
        self.limit = limit
        self.people = np.unique(np.concatenate([g.members for g in local]))
        self.position = np.full(size, -1)
        self.position[self.people] = np.arange(len(self.people))
        self.learned: list[np.ndarray] = []
        self.masked_keys: set = set()
        self.searches = 0
        self.build()

    def build(self) -> None:
        columns = [g.members for g in self.local] + self.learned
        matrix = np.zeros((len(self.people), len(columns)), dtype=bool)
        for j, members in enumerate(columns):
            matrix[self.position[members], j] = True
        keys = [g.key for g in self.local] + [("appris", j) for j in range(len(self.learned))]
        weights = [g.importance for g in self.local] + [10**6] * len(self.learned)
        kinds = [None] * len(self.local) + ["appris"] * len(self.learned)
        self.space = _Space(matrix, keys, weights, self.limit, kinds)

    def protect(self) -> None:
        space = self.space
        forced = {g.key for g in self.local if g.forced} | self.masked_keys
        masked = {i for i, m in enumerate(space.members)
                  if m[0][0] != "appris" and (1 <= space.value[i] <= self.limit or forced & set(m))}
        fixed = {i for i, m in enumerate(space.members) if m[0][0] == "appris"}
        masked = space.protect(masked, fixed)
        self.searches += space.milps
        space.milps = 0
        self.masked_keys = {key for key in space.keys(masked) if key[0] != "appris"}

    def visible(self) -> list[int]:
        return [i for i, m in enumerate(self.space.members) if not (set(m) & self.masked_keys)]

    def piece(self, members: np.ndarray) -> np.ndarray | None:
        """A set of this block's professionals (global indices) as atoms, None if it splits one."""
        persons = np.zeros(len(self.people), dtype=bool)
        persons[self.position[members]] = True
        return _atom_vector(self.space, persons)

    def reads(self, members: np.ndarray) -> bool:
        x = self.piece(members)
        if x is None:
            return False
        return bool(self.space.readable((self.space.F @ x)[None, :], np.array([x.sum()]), self.visible())[0])

    def hide(self, members: np.ndarray) -> tuple | None:
        """(cost, keys to mask) so that this set of professionals is no longer readable here."""
        x = self.piece(members)
        if x is None:
            return None
        chosen = self.space.cut(x, self.visible(), {i for i, m in enumerate(self.space.members) if m[0][0] == "appris"})
        if not chosen:
            return None
        return self.space.cost(chosen), self.space.keys(chosen)


def decide(size: int, groups: list[Group], threshold: int | None = None) -> Decision:
    """The masked groups of a whole publication of ``size`` professionals (see the module
    docstring): every block protected on its own, then the national figures."""
    started = time.perf_counter()
    limit = settings().threshold if threshold is None else threshold
    block_of = _blocks(size, groups)
    by_block: dict[int, list[Group]] = {}
    for g in groups:
        if not g.national and len(g.members):
            by_block.setdefault(int(block_of[g.members[0]]), []).append(g)
    blocks = {b: _Block(local, size, limit) for b, local in sorted(by_block.items())}
    for block in blocks.values():
        block.protect()
    national = [g for g in groups if g.national]
    national_masked = {g.key for g in national if 1 <= len(g.members) <= limit or g.forced}
    _couple(blocks, national, national_masked, block_of, size, limit)
    masked = {g.key for g in groups if g.forced} | national_masked
    for block in blocks.values():
        masked |= block.masked_keys
    searches = sum(block.searches for block in blocks.values())
    learned = sum(len(block.learned) for block in blocks.values())
    return Decision(frozenset(masked), len(blocks), learned, searches, time.perf_counter() - started)


def _national_sets(national: list[Group], masked: set, size: int) -> list[tuple[np.ndarray, list]]:
    """The sets the visible national figures give: each figure, and f ∖ g for two nested ones
    (with the figures they come from)."""
    visible = [g for g in national if g.key not in masked and len(g.members)]
    member = np.zeros((len(visible), size), dtype=bool)
    for i, g in enumerate(visible):
        member[i, g.members] = True
    out = [(g.members, [g]) for g in visible]
    sizes = member.sum(axis=1)
    overlap = member.astype(np.float32) @ member.T.astype(np.float32)
    for i, f in enumerate(visible):
        for j, g in enumerate(visible):
            if i != j and overlap[i, j] == sizes[j] and sizes[j] < sizes[i]:  # g ⊂ f
                out.append((np.nonzero(member[i] & ~member[j])[0], [f, g]))
    return out


def _couple(blocks: dict, national: list[Group], national_masked: set, block_of: np.ndarray, size: int, limit: int) -> None:
    """The national figures against the blocks. For each set they give (a figure, or the
    difference of two nested ones), the parts that a block cannot read from its own figures
    are hidden: one hidden part is given away by the national figures minus the other
    blocks (it becomes known to its block, which is protected again with it); several
    hidden parts of 1 to ``limit`` professionals in all are a leak: one more block hides its
    part (the cheapest), or, when none can, the national figure is masked."""
    for _ in range(50 * max(1, len(national))):
        changed = False
        for members, sources in _national_sets(national, national_masked, size):
            touched = sorted({int(b) for b in block_of[members]})
            hidden, shown = [], []
            for b in touched:
                inside = members[block_of[members] == b]
                (shown if blocks[b].reads(inside) else hidden).append((b, inside))
            if not hidden:
                continue
            total = sum(len(inside) for _, inside in hidden)
            if total > limit and len(hidden) == 1:
                b, inside = hidden[0]
                blocks[b].learned.append(inside)
                blocks[b].build()
                try:
                    blocks[b].protect()
                    changed = True
                    break
                except VsmError:
                    blocks[b].learned.pop()
                    blocks[b].build()
            elif total > limit:
                continue
            options = []
            for b, inside in shown:
                found = blocks[b].hide(inside)
                if found is not None:
                    options.append(((*found[0], len(inside), b), b, found[1]))
            if options:
                _, b, keys = min(options, key=lambda o: o[0])
                blocks[b].masked_keys |= keys
                blocks[b].protect()
            else:
                national_masked.add(min(sources, key=lambda g: (g.importance, len(g.members), g.key)).key)
            changed = True
            break
        if not changed:
            return
    raise VsmError("Secret statistique : le plan ne se stabilise pas ; signaler ce cas.")
