"""Test-only audit of a whole publication's statistical secrecy, written apart from the
plan's own code (vsm/publish/secrecy.py) so that it can catch what the plan misses.

The reader of the publication sees the published counts: the sizes of the visible groups.
A set of professionals is *readable* when its indicator (over the professionals, not over
the plan's atoms) is a linear combination of the visible groups' indicators. The audit
takes an orthonormal basis of that span by a pivoted QR decomposition of the visible groups
over the professionals (LAPACK, not the plan's Gram matrices), then tests every candidate
set of 1 to the threshold professionals:

- every professional alone, and every set of professionals who share all their groups;
- every group, published or masked (a masked count that can be solved for);
- f ∩ g and f ∖ g for every two groups (P2 − P1 of the same group, « éligibles −
  rémunérés », a département against its region, a forfait structure row against a VSM
  count…);
- unions of two or three masked groups of one scope (a table's total minus its published
  rows);
- across regions: unions of the masked cells of one group in two or three regions, and of
  f ∖ g of two nested groups over two or three regions (the national total minus the
  published regions).
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import numpy as np
from scipy.linalg import qr
from scipy.sparse import csr_matrix


def _membership(size: int, groups) -> csr_matrix:
    rows = np.concatenate([np.full(len(g.members), i) for i, g in enumerate(groups)]) if groups else np.zeros(0, int)
    cols = np.concatenate([np.asarray(g.members) for g in groups]) if groups else np.zeros(0, int)
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(groups), size))


def readable_basis(size: int, groups, masked) -> np.ndarray:
    """Orthonormal basis (professionals × rank) of the span of the visible groups."""
    visible = [g for g in groups if g.key not in masked and len(g.members)]
    if not visible:
        return np.zeros((size, 0))
    matrix = _membership(size, visible).toarray().T  # professionals × visible groups
    q, r, _ = qr(matrix, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int((diagonal > 1e-9 * max(1.0, diagonal[0])).sum()) if len(diagonal) else 0
    return q[:, :rank]


def _readable(basis: np.ndarray, sets: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(len(sets), dtype=bool)
    for start in range(0, len(sets), 4000):
        chunk = sets[start:start + 4000]
        rows = np.concatenate([np.full(len(s), i) for i, s in enumerate(chunk)])
        cols = np.concatenate(chunk)
        x = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(chunk), basis.shape[0]))
        projected = np.asarray(x @ basis)
        sizes = np.array([len(s) for s in chunk], dtype=np.float64)
        out[start:start + len(chunk)] = sizes - (projected ** 2).sum(axis=1) < 1e-6 * np.maximum(1.0, sizes)
    return out


def candidates(size: int, groups, masked, limit: int) -> list[tuple[str, np.ndarray]]:
    """(description, professionals) of every candidate set of 1 to ``limit`` professionals."""
    out: list[tuple[str, np.ndarray]] = []
    members = [np.asarray(g.members) for g in groups]
    out += [(f"professionnel n° {i}", np.array([i])) for i in range(size)]
    signature = _membership(size, groups).T.tocsr()
    keys = defaultdict(list)
    for i in range(size):
        keys[tuple(signature.indices[signature.indptr[i]:signature.indptr[i + 1]])].append(i)
    out += [("professionnels aux mêmes groupes", np.array(p)) for p in keys.values() if len(p) <= limit]
    out += [(f"groupe {g.key}", m) for g, m in zip(groups, members) if 1 <= len(m) <= limit]
    matrix = _membership(size, groups)
    both = (matrix @ matrix.T).tocoo()
    sizes = np.array([len(m) for m in members])
    for f, g, n in zip(both.row, both.col, both.data):
        if f == g:
            continue
        if f < g and 1 <= n <= limit:
            out.append((f"{groups[f].key} ∩ {groups[g].key}", np.intersect1d(members[f], members[g])))
        if 1 <= sizes[f] - n <= limit:
            out.append((f"{groups[f].key} ∖ {groups[g].key}", np.setdiff1d(members[f], members[g])))
    by_scope = defaultdict(list)
    for g, m in zip(groups, members):
        if g.key in masked and len(m) and not g.national:
            by_scope[g.key[:2]].append((g, m))
    for cells in by_scope.values():
        cells = [(g, m) for g, m in cells if len(m) <= limit][:60]
        for k in (2, 3):
            for combo in combinations(cells, k):
                union = np.unique(np.concatenate([m for _, m in combo]))
                if 1 <= len(union) <= limit:
                    out.append(("réunion de cases masquées de " + str(combo[0][0].key[:2]), union))
    out += _across_regions(groups, members, masked, limit)
    return out


def _across_regions(groups, members, masked, limit: int) -> list[tuple[str, np.ndarray]]:
    """Cells of the same group in several regions (publication, name), masked somewhere:
    unions of two or three of them, and of f ∖ g for two nested names."""
    out = []
    cell = {(g.key[0], g.key[1], g.key[2]): m for g, m in zip(groups, members)
            if not g.national and ":" not in g.key[1] and not g.key[1].startswith("structure_")}  # the regions' own scopes
    national = {(g.key[0], g.key[2]) for g in groups if g.national and g.key not in masked}
    by_name = defaultdict(dict)
    for (publication, scope, name), m in cell.items():
        if (publication, name) in national:
            by_name[(publication, name)][scope] = m
    hidden = {(g.key[0], g.key[1], g.key[2]) for g in groups if g.key in masked}
    for (publication, name), regions in by_name.items():
        pieces = [(scope, m) for scope, m in regions.items() if (publication, scope, name) in hidden and 1 <= len(m) <= limit]
        for k in (2, 3):
            for combo in combinations(pieces, k):
                union = np.unique(np.concatenate([m for _, m in combo]))
                if len(union) <= limit:
                    out.append((f"{publication} {name} de {', '.join(s for s, _ in combo)}", union))
    names = defaultdict(list)
    for publication, name in by_name:
        names[publication].append(name)
    for publication, listed in names.items():
        for f, g in combinations(sorted(listed), 2):
            for big, small in ((f, g), (g, f)):
                pieces = []
                for scope in by_name[(publication, big)]:
                    if scope not in by_name[(publication, small)]:
                        continue
                    a, b = by_name[(publication, big)][scope], by_name[(publication, small)][scope]
                    if len(np.setdiff1d(b, a)):
                        break  # not nested
                    rest = np.setdiff1d(a, b)
                    if ((publication, scope, big) in hidden or (publication, scope, small) in hidden) and 1 <= len(rest) <= limit:
                        pieces.append((scope, rest))
                else:
                    for k in (2, 3):
                        for combo in combinations(pieces, k):
                            union = np.unique(np.concatenate([m for _, m in combo]))
                            if len(union) <= limit:
                                out.append((f"{publication} {big} − {small} de {', '.join(s for s, _ in combo)}", union))
    return out


def audit(size: int, groups, masked, limit: int) -> list[tuple[str, int]]:
    """Every candidate set of 1 to ``limit`` professionals that the visible groups give
    away, as (description, number of professionals)."""
    masked = set(masked)
    basis = readable_basis(size, groups, masked)
    found = candidates(size, groups, masked, limit)
    hits = _readable(basis, [m for _, m in found])
    return [(what, len(m)) for (what, m), hit in zip(found, hits) if hit]
