"""Groups of professionals and the statistical-secrecy plan of everything a rule set
publishes (domain-facts § 5, params/secret.yml).

Every number of professionals a report shows is the size of a *group* of professionals of
one *scope* (a region, its table by département, its forfait structure part, or the whole
country): « éligibles », « palier 1 avec majoration », a bar of a chart… A builder records,
beside its typed table (``frame.attrs["secret"]``), which group each cell counts or is
computed on: a share is tied to its numerator and its denominator, an amount to the
professionals it is paid to, a median of DMPs to the professionals it is taken over.
:func:`publication_plan` decides once, for every period computed and the forfait structure
together, which groups are masked (:func:`vsm.publish.secrecy.decide`: no set of 1 to 10
professionals readable, even by difference between tables, periods or forfaits, or as the
national total minus the published regions); the batch writes that decision to
« secret_statistique.json » and every notebook reads it. :func:`publish` replaces the cells
of masked groups by « s ». A scope of 1 to 10 professionals publishes nothing at all (zeros
would tell where its few professionals are).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..publish import secrecy
from ..display import is_missing
from ..money import meets
from ..regions import load_regions
from ..rules import RuleSet
from ..rules.words import band_label
from .data import ABSENT, NATIONAL, NEAR_WIDTH, SHARE_CLIP, UNKNOWN_REGION, ints
from .display import Headcount, chart_minimum, format_cell, small, symbol, threshold


# --------------------------------------------------------------------------- groups and the secrecy plan

Group = tuple[str, str]  # (scope, group name)


class _Shared:
    """Attached to DataFrames (``attrs``): never copied, equal only to itself."""

    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self


@dataclass(frozen=True, eq=False)
class Population(_Shared):
    """Named groups of the professionals of one scope (a region, the whole country)."""

    scope: str
    groups: Mapping[str, np.ndarray]
    importance: Mapping[str, int] = field(default_factory=dict)

    def count(self, name: str) -> int:
        return int(np.count_nonzero(self.groups[name]))

    @property
    def size(self) -> int:
        return len(next(iter(self.groups.values()))) if self.groups else 0

    def protect(self, forced: Iterable[str] = ()) -> secrecy.Protection:
        """Masks of this scope alone; everything when it holds 1 to 10 professionals."""
        return secrecy.protect(self.groups, importance=self.importance, forced=forced, whole=small(self.size))


@dataclass(eq=False)
class Secrecy(_Shared):
    """The masked groups of every scope of a publication (see :func:`publication_plan`)."""

    protections: dict[str, secrecy.Protection]

    def is_masked(self, scope: str, name: str) -> bool:
        return self.protections[scope].is_masked(name)

    def whole(self, scope: str) -> bool:
        return self.protections[scope].whole

    def covers(self, scope: str) -> bool:
        return scope in self.protections

    @classmethod
    def local(cls, populations: Iterable[Population]) -> "Secrecy":
        """Each population protected on its own (a table published alone)."""
        return cls({p.scope: p.protect() for p in populations})


@dataclass(eq=False)
class _Meta(_Shared):
    cells: dict[tuple[int, int], tuple[Group, ...]]
    populations: tuple[Population, ...]


@dataclass(frozen=True)
class _Cell:
    """A typed value with the groups of professionals it counts or is computed on."""

    value: object
    groups: tuple[Group, ...]


def tied(value: object, scope: str, *names: str) -> _Cell:
    return _Cell(value, tuple((scope, n) for n in names))


def counted(population: Population, name: str) -> _Cell:
    """The size of a group, as a Headcount tied to that group."""
    return _Cell(Headcount(population.count(name)), ((population.scope, name),))


def typed_frame(rows: list[list], columns: list[str], populations: Iterable[Population] = ()) -> pd.DataFrame:
    """A typed table; the groups of its cells go to ``frame.attrs["secret"]``."""
    cells: dict[tuple[int, int], tuple[Group, ...]] = {}
    plain = []
    for i, row in enumerate(rows):
        out = []
        for j, value in enumerate(row):
            if isinstance(value, _Cell):
                cells[(i, j)] = value.groups
                value = value.value
            out.append(value)
        plain.append(out)
    frame = pd.DataFrame(plain, columns=columns, dtype=object)
    frame.attrs["secret"] = _Meta(cells, tuple(populations))
    return frame


def masked_cells(frame: pd.DataFrame, plan: Secrecy | None = None) -> np.ndarray:
    """Boolean (rows × columns): the cells of a typed table that are not published."""
    meta: _Meta | None = frame.attrs.get("secret")
    if plan is None or (meta is not None and not all(plan.covers(p.scope) for p in meta.populations)):
        local = Secrecy.local(meta.populations) if meta is not None else Secrecy({})
        plan = Secrecy({**local.protections, **(plan.protections if plan else {})})
    out = np.zeros(frame.shape, dtype=bool)
    for i, row in enumerate(frame.itertuples(index=False, name=None)):
        for j, value in enumerate(row):
            groups = meta.cells.get((i, j)) if meta is not None else None
            if groups:
                out[i, j] = any(plan.is_masked(scope, name) for scope, name in groups)
            elif isinstance(value, Headcount):  # a count with no group: primary masking only
                out[i, j] = small(value)
    return out


def publish(frame: pd.DataFrame, plan: Secrecy | None = None) -> pd.DataFrame:
    """A typed aggregate table → the table as published (French text cells, « s » where
    statistical secrecy masks a cell).

    Every table a report shows goes through here. ``plan``: the masks of the whole
    publication (:func:`publication_plan`); without it, the table is protected on its own.
    """
    hidden = masked_cells(frame, plan)
    sym = symbol()
    out = pd.DataFrame(
        [
            [sym if hidden[i, j] else format_cell(v) for j, v in enumerate(row)]
            for i, row in enumerate(frame.itertuples(index=False, name=None))
        ],
        columns=[str(c) for c in frame.columns],
        dtype=object,
    )
    out.attrs["masked"] = int(hidden.sum())
    return out


# --------------------------------------------------------------------------- groups of professionals

# Importance of the published groups when secondary masks have to be chosen (higher: kept
# longer). What a caisse reads first — how much is paid, to how many — is masked last.
IMPORTANCE = {
    "remuneres": 100,
    "complements": 95,
    "atteint": 90,
    "eligibles": 80,
    "majores": 70,
    "professionnels": 60,
    "deja_payes": 55,
    "palier": 40,
    "non_eligibles": 40,
    "departement": 35,
    "proche": 30,
    "segment": 20,
    "sans_dmp": 10,
}


def group_importance(name: str) -> int:
    base = name.split(":", 1)[-1]
    if name.startswith("montant:"):
        return IMPORTANCE["remuneres"] if base == "professionnels" else IMPORTANCE["palier"]
    if name.startswith("complement:"):
        return IMPORTANCE["complements"] if base == "professionnels" else IMPORTANCE["palier"]
    if name.startswith("deja_verse:"):
        return IMPORTANCE["deja_payes"] if base == "professionnels" else IMPORTANCE["palier"]
    for prefix, weight in IMPORTANCE.items():
        if base == prefix or base.startswith(prefix + "_"):
            return weight
    return 50


def tier_rows(rules: RuleSet) -> list[tuple[str, str, str, Decimal | None]]:
    """(group name, share band, majoration, gross amount) of the tier × majoration table,
    non-eligible first; the rows partition the professionals."""
    rows: list[tuple[str, str, str, Decimal | None]] = [
        ("non_eligibles", "Non éligibles", "—", None),
        ("palier_0", band_label(rules, 0), "—", Decimal("0.00")),
    ]
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        if rules.majoration.enabled.value:
            rows.append((f"palier_{level_number}_sans", band_label(rules, level_number), "sans", level.amount_eur))
            rows.append((f"palier_{level_number}_avec", band_label(rules, level_number), "avec", level.amount_eur))
        else:
            rows.append((f"palier_{level_number}", band_label(rules, level_number), "—", level.amount_eur))
    return rows


def _share_cuts(rules: RuleSet, width: Fraction) -> list[tuple[Fraction, str]]:
    """Where the VSM share histogram's segments change: a share above 0 (no DMP fed is a
    published group), each band's lower bound (≥) and each tier threshold (with the rule
    set's comparison), in increasing order. Bars never cross a published boundary, so that
    no bar minus a published count leaves a small group."""
    cuts = {(Fraction(0), ">")}
    for level in rules.tiers.levels:
        lower = max(level.min_share - width, Fraction(0))
        if lower > 0:
            cuts.add((lower, ">="))
        cuts.add((level.min_share, rules.tiers.comparison))
    return sorted(cuts, key=lambda c: (c[0], c[1] == ">"))


def share_segments(results: pd.DataFrame, rules: RuleSet, width: Fraction = NEAR_WIDTH) -> tuple[np.ndarray, list[tuple[Fraction, Fraction]]]:
    """Segment of each professional's VSM share (−1: not eligible) and the segments' bounds:
    segment i holds the eligible professionals meeting exactly the first i cuts."""
    eligible = results["eligible"].astype(bool).to_numpy()
    fed, ald = ints(results["dmp_vsm"]), ints(results["patients_mt_ald"])
    cuts = _share_cuts(rules, width)
    segment = np.zeros(len(results), dtype=np.int64)
    for value, comparison in cuts:
        segment += meets(fed, ald, value, comparison)
    segment[~eligible] = -1
    bounds = [Fraction(0), *(c[0] for c in cuts), SHARE_CLIP]
    return segment, list(zip(bounds[:-1], bounds[1:]))


def _structured_ok(results: pd.DataFrame, rules: RuleSet) -> np.ndarray:
    fed, structured = ints(results["dmp_vsm"]), ints(results["dmp_vsm_structured"])
    threshold_ = rules.majoration.min_structured_share
    return meets(structured, fed, threshold_.value, threshold_.comparison) & (fed > 0)


def chart_populations(results: pd.DataFrame, rules: RuleSet, width: Fraction) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each per-professional chart: (who is drawn, segment of each drawn professional).
    Charts are drawn for eligible professionals only (the forfait's population)."""
    eligible = results["eligible"].astype(bool).to_numpy()
    segment, _ = share_segments(results, rules, width)
    fed = ints(results["dmp_vsm"]) > 0
    structured = _structured_ok(results, rules).astype(np.int64) if rules.majoration.enabled.value else np.zeros(len(results), dtype=np.int64)
    if rules.ponderation.enabled.value:
        above = (ints(results["patients_mt"]) >= rules.ponderation.reference_patients.value).astype(np.int64)
    else:
        above = np.zeros(len(results), dtype=np.int64)
    return {
        "part": (eligible, segment),
        "structure": (eligible & fed, structured),
        "patientele": (eligible, above),
    }


def drawn_charts(results: pd.DataFrame, rules: RuleSet, width: Fraction = NEAR_WIDTH) -> dict[str, bool]:
    """Which per-professional charts a region's report draws: those of at least
    :func:`chart_minimum` professionals."""
    return {name: int(who.sum()) >= chart_minimum() for name, (who, _) in chart_populations(results, rules, width).items()}


def vsm_groups(results: pd.DataFrame, rules: RuleSet, width: Fraction = NEAR_WIDTH, detail: bool = True) -> dict[str, np.ndarray]:
    """Every group of professionals whose size a report publishes, or that an amount, a
    share or a median is computed on (``detail``: the regional report's extra groups —
    close to a threshold, without DMP, chart segments).

    Names: professionnels, non_eligibles, eligibles, palier_0, atteint_<k> (eligible at or
    above tier k), palier_<k>_sans / palier_<k>_avec (or palier_<k> without majoration),
    majores, remuneres (forfait > 0), complements and deja_payes (complementary period);
    « montant:<row> », « complement:<row> », « deja_verse:<row> »: the professionals of a
    row who are paid (an amount is tied to them); proche_<k>, sans_dmp, segment_<chart>_<i>.
    """
    n = len(results)
    eligible = results["eligible"].astype(bool).to_numpy()
    tiers = ints(results["tier"])
    majorated = results["majoration"].astype(bool).to_numpy()
    paid = np.array([a > 0 for a in results["amount_eur"]], dtype=bool)
    groups: dict[str, np.ndarray] = {
        "professionnels": np.ones(n, dtype=bool),
        "non_eligibles": ~eligible,
        "eligibles": eligible,
        "palier_0": eligible & (tiers == 0),
    }
    for level_number in range(1, len(rules.tiers.levels) + 1):
        groups[f"atteint_{level_number}"] = eligible & (tiers >= level_number)
        in_tier = eligible & (tiers == level_number)
        if rules.majoration.enabled.value:
            groups[f"palier_{level_number}_sans"] = in_tier & ~majorated
            groups[f"palier_{level_number}_avec"] = in_tier & majorated
        else:
            groups[f"palier_{level_number}"] = in_tier
    if rules.majoration.enabled.value:
        groups["majores"] = majorated
    groups["remuneres"] = paid
    complement = "complement_eur" in results.columns
    if complement:
        groups["complements"] = np.array([c > 0 for c in results["complement_eur"]], dtype=bool)
        groups["deja_payes"] = np.array([c > 0 for c in results["paid_eur"]], dtype=bool)
    for row in ["professionnels", *(r[0] for r in tier_rows(rules))]:
        groups[f"montant:{row}"] = groups[row] & paid
        if complement:
            groups[f"complement:{row}"] = groups[row] & groups["complements"]
            groups[f"deja_verse:{row}"] = groups[row] & groups["deja_payes"]
    if detail:
        fed, ald = ints(results["dmp_vsm"]), ints(results["patients_mt_ald"])
        for level_number, level in enumerate(rules.tiers.levels, start=1):
            lower = max(level.min_share - width, Fraction(0))
            groups[f"proche_{level_number}"] = (
                eligible & meets(fed, ald, lower, ">=") & ~meets(fed, ald, level.min_share, rules.tiers.comparison)
            )
        groups["sans_dmp"] = fed == 0
        drawn = drawn_charts(results, rules, width)
        for name, (who, segment) in chart_populations(results, rules, width).items():
            if drawn[name]:
                for value in sorted(set(segment[who].tolist())):
                    groups[f"segment_{name}_{value}"] = who & (segment == value)
    return groups


def population(scope: str, results: pd.DataFrame, rules: RuleSet, width: Fraction = NEAR_WIDTH, detail: bool = True) -> Population:
    groups = vsm_groups(results, rules, width, detail)
    importance = {name: group_importance(name) for name in groups}
    if "complements" in groups:
        # a complementary period pays the complements: its professionals paid (and amount)
        # over the whole year are context, masked before the first period's when one must go
        for name in ("remuneres", "montant:professionnels"):
            importance[name] = IMPORTANCE["complements"] - 5
    return Population(scope, groups, importance)


def absent_population(entry: dict) -> Population:
    """The professionals who fed VSMs but are absent from the patientèle (national)."""
    n = len(entry.get("professionals_without_patientele", []))
    return Population(ABSENT, {"absents": np.ones(n, dtype=bool)})


def region_scopes(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    codes = results["region"].astype(str)
    scopes = {code: results[codes == code] for code in load_regions()}
    unknown = results[~codes.isin(list(load_regions()))]
    if len(unknown):
        scopes[UNKNOWN_REGION] = unknown
    return scopes


def couple_regions(national, regions: dict, coupled: list[str]) -> dict:
    """Each scope protected on its own, then the regions made consistent with the national
    totals for every group of ``coupled`` (published both nationally and by every region):
    the masked regional counts of a group must be 0 or at least two adding up to more than
    the threshold, else the national total minus the published regions gives them back; one
    more region (its smallest published count) is masked, or the national figure, until
    nothing changes. Used by the simulation report (vsm/report/simulation_data.py); the
    payment reports take the finer step of :func:`vsm.publish.secrecy.decide` (nested
    national figures, one hidden region known to its block)."""
    limit = threshold()
    forced: dict[str, set[str]] = {scope: set() for scope in [NATIONAL, *regions]}
    protections = {NATIONAL: national.protect()}
    for code, pop in regions.items():
        protections[code] = pop.protect()
    for _ in range(200):
        changed = False
        for name in coupled:
            if protections[NATIONAL].is_masked(name):
                continue
            hidden = [code for code in regions if protections[code].is_masked(name)]
            if not hidden:
                continue
            total = sum(regions[code].count(name) for code in hidden)
            if len(hidden) >= 2 and not (1 <= total <= limit):
                continue
            shown = [code for code in regions if not protections[code].is_masked(name)]
            if not shown:
                forced[NATIONAL].add(name)
                protections[NATIONAL] = national.protect(forced[NATIONAL])
            else:
                pick = min(shown, key=lambda code: (regions[code].count(name) == 0, regions[code].count(name), code))
                forced[pick].add(name)
                protections[pick] = regions[pick].protect(forced[pick])
            changed = True
        if not changed:
            break
    return protections


def secrecy_plan(results: pd.DataFrame, rules: RuleSet, entry: dict | None = None, width: Fraction = NEAR_WIDTH) -> Secrecy:
    """The masks of one period's reports published alone (all regional reports and the
    national synthesis): :func:`publication_plan` with this period only."""
    return decide_publication(rules, {"_": (results, entry or {})}, None, width).period("_")


# --------------------------------------------------------------------------- a whole publication

STRUCTURE = "structure"  # the publication key of the forfait structure's groups


def structure_scope(region: str) -> str:
    """The plan's scope of a region's forfait structure part."""
    return f"structure_{region}"


@dataclass(eq=False)
class Publication(_Shared):
    """What is masked in everything published for a rule set: every period's regional reports,
    départements and national synthesis, and the forfait structure parts
    (:func:`decide_publication`)."""

    names: dict[tuple[str, str], dict[str, int | None]]  # (publication, scope) → group → count (None when read back)
    masked: dict[tuple[str, str], frozenset[str]]
    whole: frozenset[tuple[str, str]]
    threshold: int
    stats: dict = field(default_factory=dict)
    fingerprint: str = ""

    def period(self, publication: str) -> Secrecy:
        """The masks a report of ``publication`` (a period) uses; the forfait structure's
        scopes come with them."""
        protections = {}
        for (pub, scope), counts in self.names.items():
            if pub in (publication, STRUCTURE):
                masked = self.masked.get((pub, scope), frozenset())
                protections[scope] = secrecy.Protection(counts, masked, masked, self.threshold, (pub, scope) in self.whole)
        return Secrecy(protections)

    def to_json(self) -> dict:
        """The decision as « reports/<rules>/secret_statistique.json » keeps it: which groups
        are masked in each scope (no count is written)."""
        scopes: dict[str, dict] = {}
        for (pub, scope), counts in sorted(self.names.items()):
            scopes.setdefault(pub, {})[scope] = {
                "entier": (pub, scope) in self.whole,
                "masques": sorted(self.masked.get((pub, scope), ())),
                "publies": sorted(set(counts) - self.masked.get((pub, scope), frozenset())),
            }
        return {"format": 1, "empreinte": self.fingerprint, "seuil": self.threshold, "decision": self.stats, "publications": scopes}


def _universe(ids: list[np.ndarray]) -> pd.Index:
    return pd.Index(np.unique(np.concatenate([np.asarray(i, dtype=str) for i in ids]) if ids else np.zeros(0, dtype=str)))


def publication_groups(
    rules: RuleSet,
    periods: Mapping[str, tuple[pd.DataFrame, dict]],
    structure: pd.DataFrame | None,
    width: Fraction = NEAR_WIDTH,
) -> tuple[int, list[secrecy.Group], dict[tuple[str, str], dict[str, int]], set[tuple[str, str]]]:
    """Every group of professionals the publication shows (see the module docstring), as
    :class:`vsm.publish.secrecy.Group` over one numbering of the professionals (by ``ps_id``,
    across periods and forfaits): (number of professionals, groups, counts by scope, whole
    scopes)."""
    ids = [frame["ps_id"] for frame, _ in periods.values()]
    ids += [np.array([str(p["ps_id"]) for p in (entry or {}).get("professionals_without_patientele", [])], dtype=str)
            for _, entry in periods.values()]
    if structure is not None:
        ids.append(structure["ps_id"])
    universe = _universe(ids)
    groups: list[secrecy.Group] = []
    names: dict[tuple[str, str], dict[str, int]] = {}
    whole: set[tuple[str, str]] = set()

    def add(publication: str, pop: Population, people: np.ndarray, national: bool = False, entire: bool = False) -> None:
        key = (publication, pop.scope)
        names[key] = {name: int(np.count_nonzero(v)) for name, v in pop.groups.items()}
        if entire:
            whole.add(key)
        for name, member in pop.groups.items():
            groups.append(secrecy.Group((publication, pop.scope, name), people[np.asarray(member, dtype=bool)],
                                        pop.importance.get(name, 50), national, entire))

    small_regions: set[str] = set()
    for publication, (results, entry) in periods.items():
        people = universe.get_indexer(results["ps_id"].astype(str))
        add(publication, population(NATIONAL, results, rules, width, detail=False), people, national=True)
        for code, part in region_scopes(results).items():
            mine = universe.get_indexer(part["ps_id"].astype(str))
            pop = population(code, part, rules, width, detail=code != UNKNOWN_REGION)
            entire = small(pop.size)
            if entire:
                small_regions.add(code)
            add(publication, pop, mine, entire=entire)
            if code != UNKNOWN_REGION and "departement" in part.columns:
                add(publication, departement_population(departement_scope(code), part, rules, pop.groups), mine, entire=entire)
        absent = absent_population(entry or {})
        listed = [str(p["ps_id"]) for p in (entry or {}).get("professionals_without_patientele", [])]
        add(publication, absent, universe.get_indexer(listed))
    if structure is not None:
        from ..structure.rules import load_structure_rules
        srules = load_structure_rules(structure_rules_of(structure))
        codes = structure["region"].astype(str) if "region" in structure.columns else pd.Series([], dtype=str)
        for code in sorted(set(codes)):
            mine = structure[codes == code]
            pop, _, _ = structure_population(mine, srules, structure_scope(code))
            add(STRUCTURE, pop, universe.get_indexer(mine["ps_id"].astype(str)), entire=small(len(mine)) or code in small_regions)
    return len(universe), groups, names, whole


def publication_plan(
    rules: RuleSet,
    results_dir: str | Path,
    structure: pd.DataFrame | None = None,
    width: Fraction = NEAR_WIDTH,
    saved: str | Path | None = None,
) -> Publication:
    """The secrecy decision of everything published for ``rules``: every period computed in
    ``results_dir`` (not only the one of a report: what P2 publishes must not give back what
    P1 hides) and the forfait structure results when given. ``saved``: the decision the batch
    wrote (« secret_statistique.json »), used when it was taken on these very inputs."""
    from .data import load_period, read_manifest_periods

    periods = {}
    for period in read_manifest_periods(results_dir):
        _, results, entry, _ = load_period(rules, period, results_dir)
        periods[period] = (results, entry)
    fingerprint = publication_fingerprint(rules, periods, structure, width)
    if fingerprint in _DECIDED:
        return _DECIDED[fingerprint]
    found = load_publication(saved, fingerprint) if saved is not None and str(saved).strip() else None
    if found is None:
        found = decide_publication(rules, periods, structure, width, fingerprint=fingerprint)
    while len(_DECIDED) >= 4:
        _DECIDED.pop(next(iter(_DECIDED)))
    _DECIDED[fingerprint] = found
    return found


_DECIDED: dict[str, "Publication"] = {}  # decisions of this process, by fingerprint of their inputs


def report_plan(
    rules: RuleSet,
    period: str,
    results: pd.DataFrame,
    entry: dict,
    results_dir: str | Path | None,
    structure: pd.DataFrame | None = None,
    width: Fraction = NEAR_WIDTH,
    saved: str | Path | None = None,
) -> Secrecy:
    """The masks a report of ``period`` uses: those of everything published from
    ``results_dir`` (:func:`publication_plan`), or, for a report built on results alone (no
    folder), those of this period and ``structure`` decided together."""
    if results_dir is None:
        return decide_publication(rules, {period: (results, entry)}, structure, width).period(period)
    return publication_plan(rules, results_dir, structure, width, saved).period(period)


def decide_publication(
    rules: RuleSet,
    periods: Mapping[str, tuple[pd.DataFrame, dict]],
    structure: pd.DataFrame | None = None,
    width: Fraction = NEAR_WIDTH,
    fingerprint: str | None = None,
) -> Publication:
    """Decide once which groups are masked in everything published for a rule set: both
    periods, both forfaits, every region, département and the national synthesis together
    (:func:`vsm.publish.secrecy.decide`), so that no combination of their figures — P2 − P1,
    the national total minus the published regions over nested columns, a table's total
    minus its published rows — gives a set of 1 to 10 professionals."""
    size, groups, names, whole = publication_groups(rules, periods, structure, width)
    decision = secrecy.decide(size, groups, threshold())
    masked: dict[tuple[str, str], set[str]] = {}
    for publication, scope, name in decision.masked:
        masked.setdefault((publication, scope), set()).add(name)
    stats = {
        "professionnels": size, "groupes": len(groups), "masques": len(decision.masked), "blocs": decision.blocks,
        "ensembles_donnes_par_le_national": decision.learned, "recherches_exactes": decision.exact_searches,
        "secondes": round(decision.seconds, 2),
    }
    if fingerprint is None:
        fingerprint = publication_fingerprint(rules, periods, structure, width)
    return Publication(names, {k: frozenset(v) for k, v in masked.items()}, frozenset(whole), threshold(), stats, fingerprint)


def publication_fingerprint(rules: RuleSet, periods: Mapping[str, tuple[pd.DataFrame, dict]], structure: pd.DataFrame | None,
                            width: Fraction) -> str:
    """What the decision depends on: the results of every period and of the forfait structure
    (their contents), the rule sets, the near-threshold width, the secrecy threshold and the
    code."""
    import hashlib

    from ..store import code_sha256

    digest = hashlib.sha256()
    for part in (rules.id, rules.sha256, str(width), str(threshold()), code_sha256()):
        digest.update(part.encode() + b"\0")
    frames = [(k, f) for k, (f, _) in sorted(periods.items())] + ([(STRUCTURE, structure)] if structure is not None else [])
    for key, frame in frames:
        digest.update(key.encode() + b"\0" + str(list(frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    for key, (_, entry) in sorted(periods.items()):
        listed = sorted(str(p["ps_id"]) for p in (entry or {}).get("professionals_without_patientele", []))
        digest.update(key.encode() + b"\0" + "\n".join(listed).encode())
    if structure is not None:
        digest.update(str(structure.attrs.get("structure_rules", "")).encode())
    return digest.hexdigest()


def load_publication(path: str | Path, fingerprint: str) -> Publication | None:
    """The decision saved by the batch (:meth:`Publication.to_json`) when it was taken on the
    same inputs and code (same fingerprint), else None. Its groups' counts are not in the
    file: they read as None (the reports count their groups themselves)."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != 1 or data.get("empreinte") != fingerprint or data.get("seuil") != threshold():
        return None
    names, masked, whole = {}, {}, set()
    try:
        for publication, scopes in data["publications"].items():
            for scope, item in scopes.items():
                hidden = frozenset(str(n) for n in item["masques"])
                names[(publication, scope)] = dict.fromkeys(sorted(hidden | {str(n) for n in item["publies"]}))
                masked[(publication, scope)] = hidden
                if item.get("entier"):
                    whole.add((publication, scope))
    except (KeyError, AttributeError, TypeError):
        return None
    return Publication(names, masked, frozenset(whole), threshold(), data.get("decision", {}), fingerprint)


# --------------------------------------------------------------------------- by département

DEPARTEMENT_TOTALS = ("professionnels", "eligibles", "remuneres", "complements")  # the table's last row: the region


def departement_scope(region: str) -> str:
    """The plan's scope of a region's table by département."""
    return f"{region}:departements"


def departement_codes(results: pd.DataFrame) -> np.ndarray:
    """Each professional's département as found in the results (None when missing), once."""
    return np.array([None if is_missing(v) or str(v).strip() == "" else str(v).strip() for v in results["departement"]], dtype=object)


def departement_keys(codes: np.ndarray) -> dict[str, str | None]:
    """Group-name key → département code (of :func:`departement_codes`), in code order,
    « non_renseigne » (missing) last: every professional is in exactly one key."""
    keys: dict[str, str | None] = {code: code for code in sorted({c for c in codes if c is not None})}
    if any(c is None for c in codes):
        keys["non_renseigne"] = None
    return keys


def departement_population(scope: str, results: pd.DataFrame, rules: RuleSet, base: Mapping[str, np.ndarray] | None = None) -> Population:
    """The groups the table « par département » publishes: for each département, its
    professionals, eligible, paid (its amount is tied to them) and, for a complementary period,
    those with a complement; and the region's own totals (the table's last row). ``base``: the
    region's groups when already computed (:func:`vsm_groups`)."""
    base = vsm_groups(results, rules, detail=False) if base is None else base
    groups: dict[str, np.ndarray] = {name: base[name] for name in DEPARTEMENT_TOTALS if name in base}
    codes = departement_codes(results)
    for key, code in departement_keys(codes).items():
        members = np.fromiter((c == code for c in codes), dtype=bool, count=len(codes))
        groups[f"departement_{key}"] = members
        groups[f"departement_{key}_eligibles"] = members & base["eligibles"]
        groups[f"departement_{key}_remuneres"] = members & base["remuneres"]
        if "complements" in base:
            groups[f"departement_{key}_complements"] = members & base["complements"]
    return Population(scope, groups, {name: group_importance(name) for name in groups})


# --------------------------------------------------------------------------- forfait structure 2023


def structure_rules_of(structure: pd.DataFrame | None) -> str:
    """The forfait structure rule set of these results: the one they were computed with
    (recorded beside them, or given to the report), else params/structure.yml's default."""
    if structure is None:
        from ..structure.defaults import default_structure_rules

        return default_structure_rules()
    from ..structure.defaults import default_structure_rules

    return str(structure.attrs.get("structure_rules") or default_structure_rules())


def structure_population(results: pd.DataFrame, rules, scope: str) -> tuple[Population, list[tuple[str, str]], list[tuple[int, Any, str]]]:
    """Groups of a region's forfait structure results: everyone, the paid, each bracket of
    points (those of vsm.structure.regional_summary) and each indicator met.
    Returns (population, [(bracket group, label)], [(volet, indicator, group)])."""
    from ..structure.compute import met_column
    from ..structure.summary import regional_summary

    n = len(results)
    points = results["total_points"].to_numpy(dtype=np.int64) if n else np.zeros(0, dtype=np.int64)
    groups: dict[str, np.ndarray] = {
        "structure_professionnels": np.ones(n, dtype=bool),
        "structure_payes": points > 0,
    }
    importance = {"structure_professionnels": 60, "structure_payes": 100}
    summary = regional_summary(results, None, rules)
    brackets = []
    for i, row in summary["points_distribution"].reset_index(drop=True).iterrows():
        name = f"points_{i}"
        groups[name] = (points >= int(row["min_points"])) & (points <= int(row["max_points"]))
        importance[name] = 40
        brackets.append((name, str(row["bracket"])))
    indicators = []
    for volet, ind in rules.indicators():
        name = f"indicateur_{volet}_{ind.id}"
        column = met_column(volet, ind)
        groups[name] = results[column].to_numpy(dtype=bool) if n else np.zeros(0, dtype=bool)
        importance[name] = 50
        indicators.append((volet, ind, name))
    return Population(scope, groups, importance), brackets, indicators
