"""Regional and national reports of a batch's results: every figure, table and chart that
notebooks/rapport_regional.ipynb and notebooks/synthese_nationale.ipynb show.

The notebooks only narrate and display; all the logic is here, unit tested. A notebook reads
the batch's results file (one row per professional, national) and filters its region: the
national aggregation is never redone per report.

Published tables
----------------
Each aggregate table is first built as a DataFrame of *typed* cells, then goes through
:func:`publish`, the single place where tables become French text and where statistical
secrecy is applied. Cell types:

* :class:`Headcount` (an ``int``): a number of professionals — what secrecy protects;
* other ``int``: counts that are not people (input rows, DMPs);
* ``Decimal``: euros; ``Fraction``: a share (shown as a percentage); ``float``: a plain
  number (a median of DMPs…); ``str``: text; ``None``: no value (« — »).

Statistical secrecy (domain-facts § 5, params/secret.yml)
---------------------------------------------------------
Every number of professionals a report shows is the size of a *group* of professionals of
one *scope* (a region, or the whole country): « éligibles », « palier 1 avec majoration »,
a bar of a chart… A builder records, beside its typed table (``frame.attrs["secret"]``),
which group each cell counts or is computed on: a share is tied to its numerator and its
denominator, an amount to the professionals it is paid to, a median of DMPs to the
professionals it is taken over. :func:`secrecy_plan` decides once, for a whole period, which
groups are masked (:func:`vsm.secrecy.protect` per scope: no set of 1 to 10 professionals
readable, even by difference between tables, e.g. « professionnels − éligibles »; then the
regions are made consistent with the national totals: a region's masked count is never the
national total minus the published regions). :func:`publish` replaces the cells of masked
groups by « s ». A scope of 1 to 10 professionals publishes nothing at all (zeros would
tell where its few professionals are).

Charts are published counts too: their bars are merged so that each holds 0 or more than 10
professionals, their segments (between the tier thresholds…) are groups of the plan, and a
chart is not drawn for fewer than :func:`chart_minimum` professionals. Worked explanations
(« Professionnel A, B, C ») are shown only for regions of more than 10 professionals, for
professionals whose patient counts shown are 0 or more than 10. No report ever shows a
professional's or a patient's identifier; the per-professional payment list is the
separate paiements.csv (vsm.secrecy.write_payments), never in a report.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..display import Prose, markdown_table  # noqa: F401 (Prose re-exported for the notebooks)
from .. import present as fr
from .. import secrecy
from ..errors import VsmError
from ..paths import PROJECT_DIR
from ..regions import Region, load_regions, normalize_region
from ..rules import RuleSet, Source, load_rules

RESULTS_FILE = "resultats.parquet"
MANIFEST_FILE = "manifest.json"
PAYMENTS_FILE = secrecy.PAYMENTS_FILE
NATIONAL = "national"
NATIONAL_NAME = "France entière"
UNKNOWN_REGION = "hors_region"  # scope of the professionals whose region is not in params/regions.yml
ABSENT = "absents_patientele"  # scope of the professionals absent from the patientèle
NEAR_WIDTH = Fraction(1, 10)  # « close to a threshold »: within 10 points below it
SHARE_CLIP = Fraction(3, 2)  # VSM share histogram: shares above 150 % go in the last bin
ZERO_BAR = 0.05  # VSM share histogram: width of the bar of the professionals with no DMP fed
# Tally keys of the rows that are kept (vsm/aggregate.py FEED_REASONS / PATIENTELE_REASONS);
# every other key is a reason for excluding the row.
KEPT_REASONS = {"feeds": "counted", "patientele": "used"}
CASES = ("A", "B", "C")
CENT = Decimal("0.01")


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


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NA or value is pd.NaT


def format_cell(value: object) -> str:
    """One typed cell → French text (see the module docstring for the types)."""
    if _missing(value):
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
    """The masked groups of every scope of a publication (see :func:`secrecy_plan`)."""

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
    publication (:func:`secrecy_plan`); without it, the table is protected on its own.
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


def count_table(frame: pd.DataFrame, labels: int = 1) -> pd.DataFrame:
    """The unmasked numbers of professionals of a typed table, labelled as published (first
    ``labels`` columns as the row label; other cells 0): what vsm.secrecy.find_leaks checks
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


def table(frame: pd.DataFrame, plan: Secrecy | None = None) -> Table:
    """Publish a typed table and wrap it for display (secrecy footnote when needed)."""
    shown = publish(frame, plan)
    return Table(shown, secrecy.secret_note() if shown.attrs.get("masked") else "")


def md_escape(text: str) -> str:
    """Text safe inside Markdown."""
    return "".join("\\" + c if c in "\\`*_$[]<>#|" else c for c in str(text))


# --------------------------------------------------------------------------- loading


def resolve_path(path: str | Path) -> Path:
    """A path as given (absolute, or relative to the working directory), else relative to
    the project folder (a notebook runs from notebooks/)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    candidate = PROJECT_DIR / path
    return candidate if candidate.exists() else path


def results_path(results_dir: str | Path, period: str) -> Path:
    return Path(results_dir) / period / RESULTS_FILE


def read_manifest(results_dir: str | Path) -> dict:
    path = Path(results_dir) / MANIFEST_FILE
    if not path.is_file():
        raise VsmError(
            f"Manifeste introuvable : « {path} ». Calculer d'abord les résultats (« vsm run » ou « vsm reports »)."
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise VsmError(f"Manifeste illisible : « {path} » (JSON invalide).") from None


def load_period(rules: RuleSet | str, period: str, results_dir: str | Path) -> tuple[RuleSet, pd.DataFrame, dict, dict]:
    """Rules, national results of ``period``, the manifest's entry of the period, and the
    whole manifest — checked to belong together (same rule set, same period)."""
    from ..results import read_results

    if not isinstance(rules, RuleSet):
        rules = load_rules(rules)
    rules.period(period)  # unknown period → French error listing the valid ones
    folder = resolve_path(results_dir)
    manifest = read_manifest(folder)
    recorded = manifest.get("rules", {})
    if recorded.get("id") != rules.id:
        raise VsmError(
            f"Les résultats de « {folder} » ont été calculés avec le jeu de règles « {recorded.get('id')} », "
            f"pas « {rules.id} »."
        )
    if recorded.get("sha256") != rules.sha256:
        raise VsmError(
            f"Les résultats de « {folder} » ont été calculés avec une autre version du jeu de règles {rules.id} : "
            "les recalculer (« vsm run » ou « vsm reports »)."
        )
    entry = manifest.get("periods", {}).get(period)
    if entry is None:
        done = ", ".join(manifest.get("periods", {})) or "aucune"
        raise VsmError(f"La période {period} n'a pas été calculée dans « {folder} » (périodes calculées : {done}).")
    path = results_path(folder, period)
    if not path.is_file():
        raise VsmError(f"Résultats introuvables : « {path} ».")
    return rules, read_results(path), entry, manifest


def region_rows(results: pd.DataFrame, code: str) -> pd.DataFrame:
    """The professionals of one region (their patientèle's region)."""
    return results[results["region"].astype(str) == code]


def region_of(value: object) -> Region:
    return load_regions()[normalize_region(value)]


# --------------------------------------------------------------------------- rule words


def _cmp(rules: RuleSet) -> str:
    return "≥" if rules.tiers.comparison == ">=" else ">"


def _pct(value: Fraction) -> str:
    """A threshold as a percentage, exact digits only (« 50 % », « 33,3 % »)."""
    return fr.percent(value, decimals=0 if (value * 100).denominator == 1 else 1)


def reached_label(rules: RuleSet, level: int) -> str:
    """« ≥ 50 % » for tier level 1 (levels count from 1)."""
    return f"{_cmp(rules)} {_pct(rules.tiers.levels[level - 1].min_share)}"


def band_label(rules: RuleSet, tier: int) -> str:
    """The share band of tier ``tier`` (0 = below the first level): « < 50 % »,
    « de 50 % à moins de 90 % », « ≥ 90 % »."""
    levels = rules.tiers.levels
    strict = rules.tiers.comparison == ">="
    if tier == 0:
        return f"{'<' if strict else '≤'} {_pct(levels[0].min_share)}"
    low = _pct(levels[tier - 1].min_share)
    if tier == len(levels):
        return f"{_cmp(rules)} {low}"
    high = _pct(levels[tier].min_share)
    return f"de {low} à moins de {high}" if strict else f"plus de {low} à {high}"


def majoration_label(rules: RuleSet) -> str:
    threshold = rules.majoration.min_structured_share
    sign = "≥" if threshold.comparison == ">=" else ">"
    return f"part structurée {sign} {fr.fraction(threshold.value)}"


def cite(rules: RuleSet, source: Source) -> str:
    return f"{rules.document_label(source.seed)}, {source.passage}"


# --------------------------------------------------------------------------- exact helpers


def _round_cent(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


def mean_eur(amounts: list[Decimal]) -> Decimal | None:
    """Exact mean, rounded once to the cent (half up)."""
    if not amounts:
        return None
    return _round_cent(Fraction(sum(amounts, Decimal(0))) / len(amounts))


def median_eur(amounts: list[Decimal]) -> Decimal | None:
    """Exact median (mean of the two middle values for an even count), to the cent."""
    if not amounts:
        return None
    ordered = sorted(amounts)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return _round_cent((Fraction(ordered[mid - 1]) + Fraction(ordered[mid])) / 2)


def _money_total(values) -> Decimal:
    return sum(values, Decimal("0.00"))


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def _ints(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=np.int64)


def missing_dmp(fed: np.ndarray, ald: np.ndarray, threshold: Fraction, comparison: str) -> np.ndarray:
    """DMPs still to feed to reach ``threshold`` (the smallest n with (fed + n) / ald at the
    threshold), exactly, for ald > 0; 0 when already reached."""
    p, q = threshold.numerator, threshold.denominator
    if comparison == ">=":
        needed = -((-ald * p) // q)  # ceil(ald × p / q)
    else:
        needed = (ald * p) // q + 1
    return np.maximum(needed - fed, 0)


def _meets(fed: np.ndarray, ald: np.ndarray, threshold: Fraction, comparison: str) -> np.ndarray:
    left, right = fed * threshold.denominator, ald * threshold.numerator
    return (left >= right) if comparison == ">=" else (left > right)


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
    "proche": 30,
    "segment": 20,
    "sans_dmp": 10,
}


def _importance(name: str) -> int:
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
    fed, ald = _ints(results["dmp_vsm"]), _ints(results["patients_mt_ald"])
    cuts = _share_cuts(rules, width)
    segment = np.zeros(len(results), dtype=np.int64)
    for value, comparison in cuts:
        segment += _meets(fed, ald, value, comparison)
    segment[~eligible] = -1
    bounds = [Fraction(0), *(c[0] for c in cuts), SHARE_CLIP]
    return segment, list(zip(bounds[:-1], bounds[1:]))


def _structured_ok(results: pd.DataFrame, rules: RuleSet) -> np.ndarray:
    fed, structured = _ints(results["dmp_vsm"]), _ints(results["dmp_vsm_structured"])
    threshold_ = rules.majoration.min_structured_share
    return _meets(structured, fed, threshold_.value, threshold_.comparison) & (fed > 0)


def _chart_populations(results: pd.DataFrame, rules: RuleSet, width: Fraction) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each per-professional chart: (who is drawn, segment of each drawn professional).
    Charts are drawn for eligible professionals only (the forfait's population)."""
    eligible = results["eligible"].astype(bool).to_numpy()
    segment, _ = share_segments(results, rules, width)
    fed = _ints(results["dmp_vsm"]) > 0
    structured = _structured_ok(results, rules).astype(np.int64) if rules.majoration.enabled.value else np.zeros(len(results), dtype=np.int64)
    if rules.ponderation.enabled.value:
        above = (_ints(results["patients_mt"]) >= rules.ponderation.reference_patients.value).astype(np.int64)
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
    return {name: int(who.sum()) >= chart_minimum() for name, (who, _) in _chart_populations(results, rules, width).items()}


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
    tiers = _ints(results["tier"])
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
        fed, ald = _ints(results["dmp_vsm"]), _ints(results["patients_mt_ald"])
        for level_number, level in enumerate(rules.tiers.levels, start=1):
            lower = max(level.min_share - width, Fraction(0))
            groups[f"proche_{level_number}"] = (
                eligible & _meets(fed, ald, lower, ">=") & ~_meets(fed, ald, level.min_share, rules.tiers.comparison)
            )
        groups["sans_dmp"] = fed == 0
        drawn = drawn_charts(results, rules, width)
        for name, (who, segment) in _chart_populations(results, rules, width).items():
            if drawn[name]:
                for value in sorted(set(segment[who].tolist())):
                    groups[f"segment_{name}_{value}"] = who & (segment == value)
    return groups


def population(scope: str, results: pd.DataFrame, rules: RuleSet, width: Fraction = NEAR_WIDTH, detail: bool = True) -> Population:
    groups = vsm_groups(results, rules, width, detail)
    return Population(scope, groups, {name: _importance(name) for name in groups})


def absent_population(entry: dict) -> Population:
    """The professionals who fed VSMs but are absent from the patientèle (national)."""
    n = len(entry.get("professionals_without_patientele", []))
    return Population(ABSENT, {"absents": np.ones(n, dtype=bool)})


def _region_scopes(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
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
    nothing changes. The one owner of this step, for the payment and simulation reports."""
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
    """The masks of every report of a period — all regional reports and the national
    synthesis — decided together, so that no combination of them gives a small count back.

    1. The whole country (the groups the national figures publish) and each region (all
       the groups its report publishes) are protected on their own
       (:func:`vsm.secrecy.protect`); a region of 1 to 10 professionals publishes nothing.
    2. Regions against the national totals: for every group published both nationally and
       per region, the masked regional counts must be 0 or at least two, adding up to 0 or
       more than 10 — otherwise the national total minus the published regions would give
       them back. Else the smallest published count of another region is masked too (then
       that region is protected again), until nothing changes.
    """
    national = population(NATIONAL, results, rules, width, detail=False)
    regions = {code: population(code, part, rules, width, detail=code != UNKNOWN_REGION) for code, part in _region_scopes(results).items()}
    coupled = [name for name in national.groups if all(name in pop.groups for pop in regions.values())]
    protections = couple_regions(national, regions, coupled)
    if entry is not None:
        protections[ABSENT] = absent_population(entry).protect()
    return Secrecy(protections)


# --------------------------------------------------------------------------- key figures


@dataclass(frozen=True)
class KeyFigures:
    """The headline figures of a set of professionals (a region, or the whole country)."""

    professionals: int
    eligible: int
    reached: tuple[int, ...]  # per tier level: eligible professionals at or above it
    paid: int  # forfait > 0
    majorated: int
    total_eur: Decimal
    mean_eur: Decimal | None  # per paid professional
    median_eur: Decimal | None
    paid_before_eur: Decimal | None = None  # complement period: already paid for the earlier period
    complements: int | None = None
    complement_eur: Decimal | None = None

    def reached_share(self, level: int) -> Fraction | None:
        return _share(self.reached[level - 1], self.eligible)

    @property
    def majorated_share(self) -> Fraction | None:
        """Majorated among the professionals who reach a tier (the majoration needs one)."""
        return _share(self.majorated, self.reached[0] if self.reached else 0)


def key_figures(results: pd.DataFrame, rules: RuleSet) -> KeyFigures:
    eligible = results["eligible"].astype(bool)
    tiers = _ints(results["tier"])
    amounts = list(results["amount_eur"])
    paid = [a for a in amounts if a > 0]
    complement = "complement_eur" in results.columns
    return KeyFigures(
        professionals=len(results),
        eligible=int(eligible.sum()),
        reached=tuple(int(((tiers >= level) & eligible.to_numpy()).sum()) for level in range(1, len(rules.tiers.levels) + 1)),
        paid=len(paid),
        majorated=int(results["majoration"].astype(bool).sum()),
        total_eur=_money_total(amounts),
        mean_eur=mean_eur(paid),
        median_eur=median_eur(paid),
        paid_before_eur=_money_total(results["paid_eur"]) if complement else None,
        complements=int(sum(1 for c in results["complement_eur"] if c > 0)) if complement else None,
        complement_eur=_money_total(results["complement_eur"]) if complement else None,
    )


def key_figures_frame(results: pd.DataFrame, rules: RuleSet, period: str, scope: str = NATIONAL) -> pd.DataFrame:
    """Indicateur | Valeur | Part | Base de la part — typed cells, tied to their groups."""
    kf = key_figures(results, rules)
    pop = population(scope, results, rules, detail=False)
    p = rules.period(period)
    rows: list[list] = [
        ["Professionnels (patientèle « médecin traitant » en fin de période)", counted(pop, "professionnels"), "", ""],
        [
            f"Éligibles (au moins {fr.integer(rules.eligibility.min_patients_mt_ald.value)} patient MT en ALD)",
            counted(pop, "eligibles"),
            tied(_share(kf.eligible, kf.professionals), scope, "eligibles", "professionnels"),
            "des professionnels",
        ],
    ]
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        rows.append(
            [
                f"Part de VSM {reached_label(rules, level_number)} (forfait brut {fr.eur(level.amount_eur)})",
                counted(pop, f"atteint_{level_number}"),
                tied(kf.reached_share(level_number), scope, f"atteint_{level_number}", "eligibles"),
                "des éligibles",
            ]
        )
    if rules.majoration.enabled.value:
        rows.append(
            [
                f"Majorés ({majoration_label(rules)})",
                counted(pop, "majores"),
                tied(kf.majorated_share, scope, "majores", "atteint_1"),
                f"des professionnels {reached_label(rules, 1)}",
            ]
        )
    rows += [
        ["Rémunérés (forfait non nul)", counted(pop, "remuneres"), tied(_share(kf.paid, kf.eligible), scope, "remuneres", "eligibles"), "des éligibles"],
        [f"Montant total du forfait ({period})", tied(kf.total_eur, scope, "montant:professionnels"), "", ""],
        ["Montant moyen par professionnel rémunéré", tied(kf.mean_eur, scope, "remuneres"), "", ""],
        ["Montant médian par professionnel rémunéré", tied(kf.median_eur, scope, "remuneres"), "", ""],
    ]
    if kf.complements is not None:
        rows += [
            [f"Déjà versé au titre de {p.complement_of}", tied(kf.paid_before_eur, scope, "deja_verse:professionnels"), "", ""],
            [
                f"Compléments à verser au {p.payment} (professionnels)",
                counted(pop, "complements"),
                tied(_share(kf.complements, kf.paid), scope, "complements", "remuneres"),
                f"des rémunérés en {period}",
            ],
            [f"Montant des compléments à verser au {p.payment}", tied(kf.complement_eur, scope, "complement:professionnels"), "", ""],
        ]
    return typed_frame(rows, ["Indicateur", "Valeur", "Part", "Base de la part"], [pop])


def _comparison_rows(results: pd.DataFrame, rules: RuleSet, scope: str) -> tuple[list[tuple[str, object]], Population]:
    kf = key_figures(results, rules)
    pop = population(scope, results, rules, detail=False)
    rows: list[tuple[str, object]] = [
        ("Professionnels", counted(pop, "professionnels")),
        ("Professionnels éligibles", counted(pop, "eligibles")),
    ]
    for level_number in range(1, len(rules.tiers.levels) + 1):
        rows.append(
            (f"Part des éligibles {reached_label(rules, level_number)}",
             tied(kf.reached_share(level_number), scope, f"atteint_{level_number}", "eligibles"))
        )
    if rules.majoration.enabled.value:
        rows.append((f"Taux de majoration (parmi les {reached_label(rules, 1)})", tied(kf.majorated_share, scope, "majores", "atteint_1")))
    rows += [
        ("Professionnels rémunérés", counted(pop, "remuneres")),
        ("Montant total", tied(kf.total_eur, scope, "montant:professionnels")),
        ("Montant moyen par professionnel rémunéré", tied(kf.mean_eur, scope, "remuneres")),
        ("Montant médian par professionnel rémunéré", tied(kf.median_eur, scope, "remuneres")),
    ]
    if kf.complements is not None:
        rows += [
            ("Compléments à verser (professionnels)", counted(pop, "complements")),
            ("Montant des compléments", tied(kf.complement_eur, scope, "complement:professionnels")),
        ]
    return rows, pop


def region_vs_national_frame(results: pd.DataFrame, region: str, rules: RuleSet, period: str) -> pd.DataFrame:
    """Indicator | <region> | France entière, from the national results."""
    code = normalize_region(region)
    name = load_regions()[code].nom
    mine, here = _comparison_rows(region_rows(results, code), rules, code)
    everyone, there = _comparison_rows(results, rules, NATIONAL)
    return typed_frame(
        [[label, a, b] for (label, a), (_, b) in zip(mine, everyone)],
        ["Indicateur", f"{name} ({code})", NATIONAL_NAME],
        [here, there],
    )


# --------------------------------------------------------------------------- tiers × majoration


def tier_majoration_frame(results: pd.DataFrame, rules: RuleSet, scope: str = NATIONAL) -> pd.DataFrame:
    """Professionals and amounts by tier × majoration (long format), non-eligible first,
    then a « Total » row: the rows add up to the whole table. Each amount is tied to the
    row's paid professionals."""
    complement = "complement_eur" in results.columns
    pop = population(scope, results, rules, detail=False)
    columns = ["Palier (part de VSM)", "Majoration", "Forfait brut", "Professionnels", "Montant total"]
    if complement:
        columns.append("Compléments")

    def row(name: str, label: str, maj: str, gross: Decimal | None) -> list:
        part = results[pop.groups[name]]
        out = [label, maj, gross, counted(pop, name), tied(_money_total(part["amount_eur"]), scope, f"montant:{name}")]
        if complement:
            out.append(tied(_money_total(part["complement_eur"]), scope, f"complement:{name}"))
        return out

    rows = [row(name, label, maj, gross) for name, label, maj, gross in tier_rows(rules)]
    rows.append(row("professionnels", "Total", "", None))
    return typed_frame(rows, columns, [pop])


# --------------------------------------------------------------------------- close to a threshold


def near_threshold_frame(results: pd.DataFrame, rules: RuleSet, width: Fraction = NEAR_WIDTH, scope: str = "region") -> pd.DataFrame:
    """For each tier threshold t: eligible professionals whose VSM share is in [t − width, t)
    (not reaching t), and how many DMPs they still have to feed to reach it — aggregates only,
    tied to the professionals of the band."""
    width = Fraction(width)
    if width <= 0:
        raise VsmError("La largeur de la bande sous le seuil doit être strictement positive.")
    pop = population(scope, results, rules, width, detail=True)
    eligible = results["eligible"].astype(bool).to_numpy()
    fed = _ints(results["dmp_vsm"])
    ald = _ints(results["patients_mt_ald"])
    comparison = rules.tiers.comparison
    rows = []
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        threshold_ = level.min_share
        lower = max(threshold_ - width, Fraction(0))
        name = f"proche_{level_number}"
        in_band = pop.groups[name] & eligible
        missing = missing_dmp(fed[in_band], ald[in_band], threshold_, comparison)
        rows.append(
            [
                f"{reached_label(rules, level_number)} (forfait brut {fr.eur(level.amount_eur)})",
                f"de {_pct(lower)} à moins de {_pct(threshold_)}" if comparison == ">=" else f"de {_pct(lower)} à {_pct(threshold_)} inclus",
                counted(pop, name),
                tied(int(missing.sum()), scope, name),
                tied(float(np.median(missing)) if len(missing) else None, scope, name),
            ]
        )
    return typed_frame(
        rows,
        ["Seuil visé", "Part de VSM actuelle", "Professionnels", "DMP à alimenter (total)", "DMP à alimenter (médiane)"],
        [pop],
    )


# --------------------------------------------------------------------------- data quality


def exclusions_frame(entry: dict, kind: str = "feeds") -> pd.DataFrame:
    """Input rows by reason (from the manifest's period entry): excluded rows first, then the
    rows kept, then the total. ``kind``: "feeds" (DMP traces) or "patientele"."""
    if kind not in KEPT_REASONS:
        raise ValueError(kind)
    tally: dict = entry[f"{kind}_rows_by_reason"]
    total = sum(int(item["rows"]) for item in tally.values())
    kept = KEPT_REASONS[kind]
    rows = [
        [item["label"], "exclue", int(item["rows"]), _share(int(item["rows"]), total)]
        for reason, item in tally.items()
        if reason != kept and int(item["rows"])
    ]
    if kept in tally:
        item = tally[kept]
        rows.append([item["label"], "retenue", int(item["rows"]), _share(int(item["rows"]), total)])
    rows.append(["Total des lignes lues", "", total, _share(total, total)])
    return pd.DataFrame(rows, columns=["Motif", "Ligne", "Lignes", "Part des lignes lues"], dtype=object)


def without_patientele_frame(entry: dict) -> pd.DataFrame:
    """Professionals who fed VSMs but are absent from the patientèle (no region: national);
    their rows and DMPs are tied to their number."""
    listed = entry.get("professionals_without_patientele", [])
    pop = absent_population(entry)
    return typed_frame(
        [
            [
                "Professionnels ayant alimenté des VSM, absents de la patientèle (France entière, sans région)",
                counted(pop, "absents"),
            ],
            ["Lignes de traces de ces professionnels", tied(int(sum(int(p.get("rows", 0)) for p in listed)), ABSENT, "absents")],
            ["DMP alimentés par ces professionnels (non comptés)", tied(int(sum(int(p.get("dmp_vsm", 0)) for p in listed)), ABSENT, "absents")],
        ],
        ["Indicateur", "Valeur"],
        [pop],
    )


def regional_quality_frame(results: pd.DataFrame, entry: dict, rules: RuleSet | None = None, scope: str = "region") -> pd.DataFrame:
    """What the results themselves say about the region's data."""
    dates = entry.get("snapshot_dates") or sorted({str(d) for d in results.get("snapshot_date", [])})
    if rules is None:
        fed = _ints(results["dmp_vsm"])
        groups = {"non_eligibles": ~results["eligible"].astype(bool).to_numpy(), "sans_dmp": fed == 0, "professionnels": np.ones(len(results), dtype=bool)}
        pop = Population(scope, groups, {n: _importance(n) for n in groups})
    else:
        pop = population(scope, results, rules, detail=True)
    return typed_frame(
        [
            ["Professionnels sans patient MT en ALD (non éligibles)", counted(pop, "non_eligibles")],
            ["Professionnels sans aucun DMP alimenté en VSM", counted(pop, "sans_dmp")],
            ["Date d'arrêté de la patientèle", ", ".join(fr.date(_iso(d)) for d in dates) or "—"],
        ],
        ["Indicateur", "Valeur"],
        [pop],
    )


def _iso(value: object):
    import datetime as dt

    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# --------------------------------------------------------------------------- methodology recap


def methodology_frame(rules: RuleSet, period: str) -> pd.DataFrame:
    """The rules applied, each value beside its source (document, passage, quote)."""
    p = rules.period(period)
    rows: list[tuple[str, str, Source]] = []
    min_ald = rules.eligibility.min_patients_mt_ald
    rows.append(("Population éligible", f"au moins {fr.integer(min_ald.value)} patient « médecin traitant » en ALD", min_ald.source))
    ind = rules.indicator
    rows.append(
        (
            "Part de VSM",
            "DMP alimentés en VSM (" + ", ".join(ind.type_codes.value) + ", "
            + ("tous patients" if ind.all_patients.value else "patients en ALD") + ") / patients MT en ALD",
            ind.all_patients.source,
        )
    )
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        rows.append((f"Palier {level_number}", f"part de VSM {reached_label(rules, level_number)} → forfait brut {fr.eur(level.amount_eur)}", level.source))
    maj = rules.majoration
    if maj.enabled.value:
        rows.append(("Majoration", f"+ {fr.percent(maj.rate.value, decimals=0)} du forfait brut si {majoration_label(rules)}", maj.min_structured_share.source))
    else:
        rows.append(("Majoration", "non appliquée", maj.enabled.source))
    pond = rules.ponderation
    if pond.enabled.value:
        cap = "" if pond.cap.value is None else f", plafonnée à {fr.number(pond.cap.value)}"
        rows.append(("Pondération", f"patientèle MT / {fr.integer(pond.reference_patients.value)}{cap}", pond.reference_patients.source))
    else:
        rows.append(("Pondération", "non appliquée", pond.enabled.source))
    rows.append(("Arrondi", "une seule fois, au centime, au demi supérieur", rules.rounding.source))
    rows.append((f"Période {period}", f"observation du {fr.date(p.start)} au {fr.date(p.end)}, versement au {p.payment}", p.source))
    if p.complement_of:
        rows.append(
            (
                "Complément",
                f"montant {period} − montant déjà versé au titre de {p.complement_of}, jamais négatif",
                p.complement_source or p.source,
            )
        )
    return pd.DataFrame(
        [[rule, value, cite(rules, source), f"« {source.quote} »"] for rule, value, source in rows],
        columns=["Règle", "Valeur", "Source", "Citation"],
        dtype=object,
    )


# --------------------------------------------------------------------------- worked explanations

PATIENT_COUNTS = ("patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured")


@dataclass(frozen=True)
class Case:
    letter: str
    title: str
    steps: tuple  # of vsm.explain.Step; empty when no professional fits the case
    note: str = ""  # why no professional is shown, when steps is empty


def _typical(frame: pd.DataFrame) -> pd.Series | None:
    """The professional of ``frame`` whose VSM share is closest to the group's median
    (ties broken by identifier, never shown): a representative, reproducible choice."""
    if frame.empty:
        return None
    shares = frame["vsm_share"].astype(float).fillna(0.0)
    distance = (shares - shares.median()).abs()
    order = pd.DataFrame({"d": distance.to_numpy(), "id": frame["ps_id"].astype(str).to_numpy()}).sort_values(["d", "id"])
    return frame.iloc[int(order.index[0])]


def publishable_patient_counts(frame: pd.DataFrame) -> np.ndarray:
    """Professionals whose patient and DMP counts (shown in a worked explanation) are all 0
    or more than the secrecy threshold."""
    ok = np.ones(len(frame), dtype=bool)
    for column in PATIENT_COUNTS:
        values = _ints(frame[column])
        ok &= (values == 0) | (values > threshold())
    return ok


def worked_cases(results: pd.DataFrame, rules: RuleSet, period: str) -> list[Case]:
    """Three professionals of ``results``: A with a forfait of 0 €, B at the first tier
    without majoration, C majorated — each explained step by step. Only professionals whose
    patient counts shown are 0 or more than the secrecy threshold are chosen."""
    from ..explain import explain_row

    eligible = results["eligible"].astype(bool)
    tier = results["tier"].astype(int)
    majorated = results["majoration"].astype(bool)
    zero = results[eligible & (tier == 0)]
    zero_title = f"forfait nul (part de VSM {band_label(rules, 0)})"
    if zero.empty:
        zero = results[~eligible]
        zero_title = "forfait nul (non éligible)"
    choices = [
        ("A", zero_title, zero),
        ("B", f"premier palier ({band_label(rules, 1)}), sans majoration", results[eligible & (tier == 1) & ~majorated]),
        ("C", f"forfait majoré ({majoration_label(rules)})", results[majorated]),
    ]
    if not rules.majoration.enabled.value:
        choices[2] = ("C", f"palier le plus élevé ({reached_label(rules, len(rules.tiers.levels))})", results[tier == len(rules.tiers.levels)])
    cases = []
    for letter, title, frame in choices:
        publishable = frame[publishable_patient_counts(frame)] if len(frame) else frame
        row = _typical(publishable)
        steps = tuple(explain_row(row, rules, period)) if row is not None else ()
        note = ""
        if row is None and len(frame):
            note = (
                f"Aucun professionnel de ce cas n'a que des effectifs de patients publiables (0 ou plus de {threshold()}) : "
                "son calcul n'est pas détaillé (secret statistique)."
            )
        cases.append(Case(letter, title, steps, note))
    return cases


def cases_markdown(cases: list[Case]) -> str:
    parts = []
    for case in cases:
        parts.append(f"### Professionnel {case.letter} — {md_escape(case.title)}")
        if not case.steps:
            parts.append(md_escape(case.note) if case.note else "Aucun professionnel de ce périmètre ne correspond à ce cas.")
            continue
        parts.append("\n".join(f"{i}. **{md_escape(s.title)}** : {md_escape(s.text)}" for i, s in enumerate(case.steps, start=1)))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- charts


def _figure(width: float = 7.5, height: float = 3.6):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _percent_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.percent(x, decimals=0)))


def _count_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.integer(round(x))))


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


@dataclass(frozen=True)
class Bar:
    segment: int
    low: float
    high: float
    count: int


def merged_bars(values: np.ndarray, segment: np.ndarray, bounds: Mapping[int, tuple[float, float]], step: float, limit: int | None = None) -> list[Bar]:
    """Histogram bars that never hold 1 to ``limit`` professionals. Inside each segment,
    bins of width ``step`` are made; then, while a bar holds 1 to ``limit``, the smallest
    one is merged with the smaller of its neighbours (so that a tall bin stays narrow and
    the sparse ones are grouped). Empty bins are gaps (0 is published). A segment of 1 to
    ``limit`` professionals gives no bar (it is masked as a whole)."""
    limit = threshold() if limit is None else limit
    bars = []
    for seg, (low, high) in bounds.items():
        members = values[segment == seg]
        if len(members) <= limit:
            continue
        edges = [low, *[k * step for k in range(int(math.floor(low / step)) + 1, int(math.ceil(high / step)))], high]
        counts, _ = np.histogram(np.clip(members, low, np.nextafter(high, low)), bins=edges)
        made = [[a, b, int(c)] for a, b, c in zip(edges[:-1], edges[1:], counts) if c]
        while len(made) > 1:
            smallest = min(range(len(made)), key=lambda i: (made[i][2], i))
            if made[smallest][2] > limit:
                break
            neighbours = [i for i in (smallest - 1, smallest + 1) if 0 <= i < len(made)]
            other = min(neighbours, key=lambda i: (made[i][2], i))
            left, right = sorted((smallest, other))
            made[left:right + 1] = [[made[left][0], made[right][1], made[left][2] + made[right][2]]]
        bars.extend(Bar(seg, a, b, c) for a, b, c in made)
    return bars


def _masked_segment(plan: Secrecy | None, pop: Population, name: str) -> bool:
    if plan is not None and plan.covers(pop.scope):
        return plan.is_masked(pop.scope, name)
    return pop.protect().is_masked(name)


def _not_drawn(what: str, count: int) -> Prose:
    return Prose(
        f"*Graphique « {what} » non publié : il porterait sur moins de {fr.integer(chart_minimum())} professionnels "
        f"(secret statistique : ses barres feraient apparaître des effectifs de 1 à {threshold()}).*"
    )


def _all_masked(what: str) -> Prose:
    return Prose(
        f"*Graphique « {what} » non publié : dans cette région, la plupart de ses parties (entre deux seuils) sont "
        "couvertes par le secret statistique.*"
    )


def _distribution(
    results: pd.DataFrame,
    rules: RuleSet,
    chart: str,
    values: np.ndarray,
    bounds: Mapping[int, tuple[float, float]],
    step: float,
    plan: Secrecy | None,
    scope: str,
    width: Fraction,
    colour: str,
    ax,
) -> tuple[list[Bar], int]:
    """Draw the merged bars of one chart; masked segments are a grey band marked « s ».
    Returns (bars drawn, segments masked)."""
    pop = population(scope, results, rules, width, detail=True)
    who, segment = _chart_populations(results, rules, width)[chart]
    seg = np.where(who, segment, -1)
    hidden = 0
    shown_bounds = {}
    for value, (low, high) in bounds.items():
        name = f"segment_{chart}_{value}"
        if name in pop.groups and _masked_segment(plan, pop, name):
            hidden += 1
            ax.axvspan(low, high, facecolor="#e4e8ed", hatch="//", edgecolor="#aab4bf", linewidth=0)
            ax.text((low + high) / 2, 0.5, symbol(), transform=ax.get_xaxis_transform(), ha="center", va="center",
                    fontsize=12, color="#4a5868")
        else:
            shown_bounds[value] = (low, high)
    bars = merged_bars(values, seg, shown_bounds, step)
    if sum(b.count for b in bars) * 2 < int(who.sum()):  # mostly masked: not worth a chart
        return [], hidden
    if bars:
        ax.bar([b.low for b in bars], [b.count for b in bars], width=[b.high - b.low for b in bars], align="edge",
               color=colour, edgecolor="white")
    return bars, hidden


def bars_text(bars: list[Bar], label) -> str:
    """The figures of a histogram in words (its text alternative and caption): every bar's
    range and count; the bars hold 0 or more than the secrecy threshold, so this is as
    publishable as the chart itself."""
    parts = [f"{label(b.low, b.high)} : {fr.integer(b.count)}" for b in sorted(bars, key=lambda b: b.low)]
    return ("Professionnels par barre — " + " ; ".join(parts) + ".") if parts else ""


def _share_range(clip: float):
    def label(low: float, high: float) -> str:
        if high <= 0:
            return "aucun DMP alimenté"
        if high >= clip:
            return f"{fr.percent(low, decimals=0)} et plus"
        return f"de {fr.percent(low, decimals=0)} à {fr.percent(high, decimals=0)}"
    return label


def _patients_range(top: float):
    def label(low: float, high: float) -> str:
        if high >= top:
            return f"{fr.integer(round(low))} patients et plus"
        return f"de {fr.integer(round(low))} à {fr.integer(round(high))} patients"
    return label


def _secret_caption(hidden: int) -> str:
    text = f"Barres regroupées : chacune compte 0 ou plus de {threshold()} professionnels"
    if hidden:
        text += f" ; zone hachurée « {symbol()} » : secret statistique"
    return text + "."


def share_histogram(results: pd.DataFrame, rules: RuleSet, where: str = "", plan: Secrecy | None = None,
                    scope: str = "region", width: Fraction = NEAR_WIDTH) -> Chart | Prose:
    """VSM share of the eligible professionals, with the tier thresholds of the rule set
    (bars merged and segments masked as the secrecy plan says)."""
    who, _ = _chart_populations(results, rules, width)["part"]
    if int(who.sum()) < chart_minimum():
        return _not_drawn("part de VSM", int(who.sum()))
    fig, ax = _figure()
    segment, bounds = share_segments(results, rules, width)
    clip = float(SHARE_CLIP)
    shares = np.minimum(_ints(results["dmp_vsm"]) / np.maximum(_ints(results["patients_mt_ald"]), 1), clip - 1e-9)
    # Segment 0 is « no DMP fed » (a share of exactly 0): drawn left of the axis's zero.
    shares = np.where(segment == 0, -ZERO_BAR / 2, shares)
    display = {i: (float(a), float(b)) for i, (a, b) in enumerate(bounds)}
    display[0] = (-ZERO_BAR, 0.0)
    drawn, hidden = _distribution(results, rules, "part", shares, display, 0.05, plan, scope, width, "#4c72b0", ax)
    if not drawn:
        return _all_masked("part de VSM")
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        ax.axvline(float(level.min_share), color="#c44e52", linestyle="--", linewidth=1.2)
        ax.text(float(level.min_share), 0.98, f" {reached_label(rules, level_number)} : {fr.eur(level.amount_eur)}",
                transform=ax.get_xaxis_transform(), va="top", ha="left", fontsize=8, color="#c44e52")
    ax.set_xlim(-ZERO_BAR, clip)
    ticks = [-ZERO_BAR / 2, *np.arange(0.25, clip + 1e-9, 0.25)]
    ax.set_xticks(ticks, ["aucun DMP", *(fr.percent(t, decimals=0) for t in ticks[1:])])
    _count_axis(ax.yaxis)
    ax.set_xlabel(f"Part de VSM (DMP alimentés / patients MT en ALD ; au-delà de {_pct(SHARE_CLIP)} : dernière classe)\n{_secret_caption(hidden)}",
                  fontsize=9)
    ax.set_ylabel("Professionnels")
    ax.set_title("Part de VSM des professionnels éligibles" + (f" — {where}" if where else ""))
    description = (
        "Histogramme de la part de VSM des professionnels éligibles, "
        f"seuils des paliers : {', '.join(reached_label(rules, i) for i in range(1, len(rules.tiers.levels) + 1))}. "
        + _secret_caption(hidden) + " " + bars_text(drawn, _share_range(clip))
    )
    return Chart(fig, description)


def structured_histogram(results: pd.DataFrame, rules: RuleSet, where: str = "", plan: Secrecy | None = None,
                         scope: str = "region", width: Fraction = NEAR_WIDTH) -> Chart | Prose:
    """Structured share among the eligible professionals with at least one DMP fed."""
    who, segment = _chart_populations(results, rules, width)["structure"]
    if int(who.sum()) < chart_minimum():
        return _not_drawn("part de VSM structurés", int(who.sum()))
    fig, ax = _figure()
    shares = np.minimum(_ints(results["dmp_vsm_structured"]) / np.maximum(_ints(results["dmp_vsm"]), 1), 1 - 1e-9)
    if rules.majoration.enabled.value:
        cut = float(rules.majoration.min_structured_share.value)
        bounds = {0: (0.0, cut), 1: (cut, 1.0)}
    else:
        bounds = {0: (0.0, 1.0)}
    drawn, hidden = _distribution(results, rules, "structure", shares, bounds, 0.05, plan, scope, width, "#55a868", ax)
    if not drawn:
        return _all_masked("part de VSM structurés")
    if rules.majoration.enabled.value:
        threshold_ = rules.majoration.min_structured_share.value
        ax.axvline(float(threshold_), color="#c44e52", linestyle="--", linewidth=1.2)
        ax.text(float(threshold_), 0.98, f" majoration : {majoration_label(rules)}", transform=ax.get_xaxis_transform(),
                va="top", ha="left", fontsize=8, color="#c44e52")
    ax.set_xlim(0, 1)
    _percent_axis(ax.xaxis)
    _count_axis(ax.yaxis)
    ax.set_xlabel(f"Part de DMP alimentés en données structurées (CI-SIS)\n{_secret_caption(hidden)}", fontsize=9)
    ax.set_ylabel("Professionnels")
    ax.set_title("Part de VSM structurés" + (f" — {where}" if where else ""))
    return Chart(fig, "Histogramme de la part structurée des professionnels éligibles ayant alimenté au moins un DMP. "
                 + _secret_caption(hidden) + " " + bars_text(drawn, _share_range(1.0 + 1e-9)))


def patientele_histogram(results: pd.DataFrame, rules: RuleSet, where: str = "", plan: Secrecy | None = None,
                         scope: str = "region", width: Fraction = NEAR_WIDTH) -> Chart | Prose:
    """Size of the patientèle « médecin traitant » of the eligible professionals, with the
    weighting's reference size."""
    who, _ = _chart_populations(results, rules, width)["patientele"]
    if int(who.sum()) < chart_minimum():
        return _not_drawn("taille de la patientèle", int(who.sum()))
    fig, ax = _figure()
    sizes = _ints(results["patients_mt"]).astype(float)
    reference = rules.ponderation.reference_patients.value
    top = float(max(int(sizes[who].max()), reference) + 100)
    bounds = {0: (0.0, float(reference)), 1: (float(reference), top)} if rules.ponderation.enabled.value else {0: (0.0, top)}
    drawn, hidden = _distribution(results, rules, "patientele", sizes, bounds, 100.0, plan, scope, width, "#8172b2", ax)
    if not drawn:
        return _all_masked("taille de la patientèle")
    if rules.ponderation.enabled.value:
        ax.axvline(reference, color="#c44e52", linestyle="--", linewidth=1.2)
        ax.text(reference, 0.98, f" référence de la pondération : {fr.integer(reference)}", transform=ax.get_xaxis_transform(),
                va="top", ha="left", fontsize=8, color="#c44e52")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.integer(round(x))))
    ax.set_xlim(0, top)
    _count_axis(ax.yaxis)
    ax.set_xlabel(f"Patients « médecin traitant »\n{_secret_caption(hidden)}", fontsize=9)
    ax.set_ylabel("Professionnels")
    ax.set_title("Taille de la patientèle « médecin traitant »" + (f" — {where}" if where else ""))
    return Chart(fig, "Histogramme de la patientèle « médecin traitant » des professionnels éligibles. "
                 + _secret_caption(hidden) + " " + bars_text(drawn, _patients_range(top)))


# --------------------------------------------------------------------------- title


def title_facts(rules: RuleSet, period: str, region: str, entry: dict) -> dict:
    """The facts of a report's title block (also stored in the executed notebook's
    metadata under ``vsm``). ``region``: a code, or "national"."""
    p = rules.period(period)
    if region == NATIONAL:
        code, name, caisse = NATIONAL, NATIONAL_NAME, None
    else:
        r = region_of(region)
        code, name, caisse = r.code, r.nom, r.caisse
    return {
        "kind": "national" if code == NATIONAL else "regional",
        "region": code,
        "region_name": name,
        "caisse": caisse,
        "period": period,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "payment": p.payment,
        "complement_of": p.complement_of,
        "rules": rules.id,
        "rules_label": rules.label,
        "rules_sha256": rules.sha256,
        "snapshot_dates": list(entry.get("snapshot_dates", [])),
    }


def title_markdown(facts: dict) -> str:
    import datetime as dt

    where = facts["region_name"] if facts["region"] == NATIONAL else f"{facts['region_name']} ({facts['region']})"
    kind = "Synthèse nationale" if facts["region"] == NATIONAL else "Rapport régional"
    start, end = dt.date.fromisoformat(facts["start"]), dt.date.fromisoformat(facts["end"])
    lines = [
        f"# Forfait VSM — {md_escape(where)} — période {facts['period']}",
        "",
        f"**{kind}.** Observation du {fr.date(start)} au {fr.date(end)}, versement au {facts['payment']}"
        + (f" (complément de la période {facts['complement_of']})" if facts.get("complement_of") else "")
        + ".",
        "",
        f"- Jeu de règles : {md_escape(facts['rules_label'])} (`{facts['rules']}`)",
    ]
    if facts.get("caisse"):
        lines.append(f"- Caisse : {md_escape(facts['caisse'])}")
    dates = ", ".join(fr.date(dt.date.fromisoformat(d)) for d in facts.get("snapshot_dates", [])) or "—"
    lines.append(f"- Date des extractions (arrêté de la patientèle « médecin traitant ») : {dates}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- national synthesis


def regions_frame(results: pd.DataFrame, rules: RuleSet, period: str) -> pd.DataFrame:
    """All regions side by side (every region of params/regions.yml, even without
    professionals), then the whole country; each region's cells tied to its own groups."""
    complement = "complement_eur" in results.columns
    levels = range(1, len(rules.tiers.levels) + 1)
    columns = ["Code", "Région", "Professionnels", "Éligibles", "Rémunérés"]
    columns += [f"Part {reached_label(rules, i)}" for i in levels]
    if rules.majoration.enabled.value:
        columns.append("Taux de majoration")
    columns += ["Montant total", "Montant moyen"]
    if complement:
        columns += ["Compléments", "Montant des compléments"]
    populations = []

    def row(code: str, name: str, scope: str, part: pd.DataFrame) -> list:
        kf = key_figures(part, rules)
        pop = population(scope, part, rules, detail=scope not in (NATIONAL, UNKNOWN_REGION))
        populations.append(pop)
        out = [code, name, counted(pop, "professionnels"), counted(pop, "eligibles"), counted(pop, "remuneres")]
        out += [tied(kf.reached_share(i), scope, f"atteint_{i}", "eligibles") for i in levels]
        if rules.majoration.enabled.value:
            out.append(tied(kf.majorated_share, scope, "majores", "atteint_1"))
        out += [tied(kf.total_eur, scope, "montant:professionnels"), tied(kf.mean_eur, scope, "remuneres")]
        if complement:
            out += [counted(pop, "complements"), tied(kf.complement_eur, scope, "complement:professionnels")]
        return out

    rows = [row(r.code, r.nom, r.code, region_rows(results, r.code)) for r in load_regions().values()]
    unknown = results[~results["region"].astype(str).isin(list(load_regions()))]
    if len(unknown):
        rows.append(row("—", "Région non renseignée", UNKNOWN_REGION, unknown))
    rows.append(row("", NATIONAL_NAME, NATIONAL, results))
    return typed_frame(rows, columns, populations)


def _region_value(plan: Secrecy | None, results: pd.DataFrame, rules: RuleSet, code: str, names: tuple[str, ...], value):
    """A region's figure for a chart, or None when the plan masks it."""
    if plan is not None and plan.covers(code) and any(plan.is_masked(code, n) for n in names):
        return None
    if plan is None:
        pop = population(code, region_rows(results, code), rules)
        if any(pop.protect().is_masked(n) for n in names):
            return None
    return value


def regions_rates_chart(results: pd.DataFrame, rules: RuleSet, plan: Secrecy | None = None) -> Chart:
    """Share of eligible professionals at each tier, by region (horizontal bars; « s »
    where secrecy masks the share)."""
    regions = list(load_regions().values())
    figures = [key_figures(region_rows(results, r.code), rules) for r in regions]
    fig, ax = _figure(7.5, 6.0)
    y = np.arange(len(regions))
    levels = range(1, len(rules.tiers.levels) + 1)
    height = 0.8 / len(levels)
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    hidden = 0
    for k, level in enumerate(levels):
        offsets = y + (k - (len(levels) - 1) / 2) * height
        values = [
            _region_value(plan, results, rules, r.code, (f"atteint_{level}", "eligibles"), kf.reached_share(level))
            for r, kf in zip(regions, figures)
        ]
        ax.barh(offsets, [float(v or 0) for v in values], height=height, color=colours[k % len(colours)],
                label=f"part de VSM {reached_label(rules, level)}")
        for position, value, kf in zip(offsets, values, figures):
            if value is None and kf.eligible:
                hidden += 1
                ax.text(0.005, position, symbol(), va="center", ha="left", fontsize=7, color="#4a5868")
    national = key_figures(results, rules)
    for k, level in enumerate(levels):
        share = national.reached_share(level)
        if share is not None and not (plan is not None and plan.covers(NATIONAL) and plan.is_masked(NATIONAL, f"atteint_{level}")):
            ax.axvline(float(share), color=colours[k % len(colours)], linestyle=":", linewidth=1)
    ax.set_yticks(y, [f"{r.nom} ({r.code})" for r in regions], fontsize=8)
    ax.invert_yaxis()
    _percent_axis(ax.xaxis)
    ax.set_xlim(0, 1)
    note = f" ; « {symbol()} » : secret statistique" if hidden else ""
    ax.set_xlabel(f"Part des professionnels éligibles (pointillés : {NATIONAL_NAME}{note})")
    ax.set_title("Professionnels atteignant chaque palier, par région")
    fig.legend(loc="outside lower center", ncols=len(levels), fontsize=8)
    return Chart(fig, "Diagramme en barres : part des professionnels éligibles atteignant chaque palier, par région"
                 + (note.replace(" ;", ",") if note else "") + ". Les chiffres de chaque région sont ceux du tableau "
                 "« Les régions côte à côte ».")


def regions_amounts_chart(results: pd.DataFrame, rules: RuleSet, plan: Secrecy | None = None) -> Chart:
    """Mean amount per paid professional, by region (« s » where secrecy masks it)."""
    regions = list(load_regions().values())
    means = [
        _region_value(plan, results, rules, r.code, ("remuneres",), key_figures(region_rows(results, r.code), rules).mean_eur)
        for r in regions
    ]
    fig, ax = _figure(7.5, 6.0)
    y = np.arange(len(regions))
    ax.barh(y, [float(m or 0) for m in means], color="#8172b2")
    hidden = 0
    for position, mean, r in zip(y, means, regions):
        if mean is None and len(region_rows(results, r.code)):
            hidden += 1
            ax.text(10, position, symbol(), va="center", ha="left", fontsize=8, color="#4a5868")
    national = key_figures(results, rules).mean_eur
    if national is not None and not (plan is not None and plan.covers(NATIONAL) and plan.is_masked(NATIONAL, "remuneres")):
        ax.axvline(float(national), color="#c44e52", linestyle=":", linewidth=1.2, label=f"{NATIONAL_NAME} : {fr.eur(national)}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, [f"{r.nom} ({r.code})" for r in regions], fontsize=8)
    ax.invert_yaxis()
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.integer(round(x)) + fr.NBSP + "€"))
    note = f" (« {symbol()} » : secret statistique)" if hidden else ""
    ax.set_xlabel("Montant moyen par professionnel rémunéré" + note)
    ax.set_title("Montant moyen du forfait, par région")
    return Chart(fig, "Diagramme en barres : montant moyen par professionnel rémunéré, par région" + note
                 + ". Les chiffres de chaque région sont ceux du tableau « Les régions côte à côte ».")


# --------------------------------------------------------------------------- headline and rule, in words


def _figure_text(value: object, masked: bool) -> str:
    return f"**{symbol()}**" if masked else f"**{md_escape(format_cell(value))}**"


def essentials_markdown(results: pd.DataFrame, rules: RuleSet, period: str, scope: str, plan: Secrecy, where: str) -> str:
    """What a caisse reader must see first: how much is paid, to how many professionals,
    and why — in a few sentences, with the plan's masks (« s »)."""
    p = rules.period(period)
    kf = key_figures(results, rules)

    hidden: list[bool] = []

    def m(*names: str) -> bool:
        hidden.append(any(plan.is_masked(scope, n) for n in names))
        return hidden[-1]

    lines = []
    paid = (
        f"versé à {_figure_text(Headcount(kf.paid), False)} professionnels rémunérés"
        if not m("remuneres")
        else "versé à des professionnels dont le nombre est couvert par le secret statistique"
    )
    base = []
    if not m("eligibles"):
        base.append(f"{_figure_text(Headcount(kf.eligible), False)} éligibles")
    if not m("professionnels"):
        base.append(f"{_figure_text(Headcount(kf.professionals), False)} professionnels dans la patientèle « médecin traitant »")
    lines.append(
        f"- **Montant total du forfait {period}** ({where}) : {_figure_text(kf.total_eur, m('montant:professionnels'))}, "
        f"{paid}" + (f" (sur {' et '.join(base)})" if base else "") + "."
    )
    if kf.paid:
        lines.append(
            f"- **Montant moyen** : {_figure_text(kf.mean_eur, m('remuneres'))} par professionnel rémunéré "
            f"(médiane : {_figure_text(kf.median_eur, m('remuneres'))})."
        )
    if kf.complements is not None:
        lines.append(
            f"- **Compléments à verser au {p.payment}** : {_figure_text(kf.complement_eur, m('complement:professionnels'))} "
            f"à {_figure_text(Headcount(kf.complements), m('complements'))} professionnels : le montant {period} "
            f"moins ce qui a déjà été versé au titre de {p.complement_of} "
            f"({_figure_text(kf.paid_before_eur, m('deja_verse:professionnels'))}), jamais négatif."
        )
    levels = rules.tiers.levels
    first = f"{_figure_text(Headcount(kf.reached[0]), m('atteint_1'))} éligibles"
    if kf.eligible and not m("atteint_1", "eligibles"):
        first += f" ({md_escape(fr.percent(kf.reached_share(1)))})"
    why = (
        f"- **Pourquoi** : {first} ont alimenté dans le DMP un VSM pour au moins {md_escape(_pct(levels[0].min_share))} "
        f"de leurs patients « médecin traitant » en ALD (forfait brut {md_escape(fr.eur(levels[0].amount_eur))})"
    )
    for level_number, level in enumerate(levels[1:], start=2):
        why += (
            f", dont {_figure_text(Headcount(kf.reached[level_number - 1]), m(f'atteint_{level_number}'))} au moins "
            f"{md_escape(_pct(level.min_share))} ({md_escape(fr.eur(level.amount_eur))})"
        )
    if rules.majoration.enabled.value:
        why += (
            f" ; {_figure_text(Headcount(kf.majorated), m('majores'))} ont la majoration de "
            f"{md_escape(fr.percent(rules.majoration.rate.value, decimals=0))} ({md_escape(majoration_label(rules))})"
        )
    if rules.ponderation.enabled.value:
        why += (
            f". Chaque forfait est ensuite pondéré par la patientèle « médecin traitant » "
            f"(patientèle / {md_escape(fr.integer(rules.ponderation.reference_patients.value))})"
        )
    lines.append(why + ".")
    text = "\n".join(lines)
    if any(hidden) and f"**{symbol()}**" in text:
        text += f"\n\n*{md_escape(secrecy.secret_note())}*"
    return text


def rule_markdown(rules: RuleSet, period: str) -> str:
    """The rule of the forfait in a few numbered steps (values from the rule set; the
    sources are in the « Méthode » table)."""
    p = rules.period(period)
    ind = rules.indicator
    min_ald = rules.eligibility.min_patients_mt_ald.value
    steps = [
        f"**Éligibilité** : avoir au moins {fr.integer(min_ald)} patient « médecin traitant » en ALD à la fin de la période.",
        f"**Part de VSM** : DMP alimentés en VSM ({', '.join(ind.type_codes.value)}) du {fr.date(p.start)} au {fr.date(p.end)}, "
        "divisés par le nombre de patients « médecin traitant » en ALD"
        + (" (tous les DMP alimentés par le médecin comptent : la part peut dépasser 100 %)." if ind.all_patients.value else "."),
        "**Palier** : " + " ; ".join(
            f"part {reached_label(rules, i)} → forfait brut de {fr.eur(level.amount_eur)}" for i, level in enumerate(rules.tiers.levels, start=1)
        ) + f" ; en dessous de {_pct(rules.tiers.levels[0].min_share)}, rien.",
    ]
    maj = rules.majoration
    if maj.enabled.value:
        steps.append(f"**Majoration** : + {fr.percent(maj.rate.value, decimals=0)} du forfait brut si la {majoration_label(rules)} (VSM au format CI-SIS).")
    pond = rules.ponderation
    if pond.enabled.value:
        cap = "" if pond.cap.value is None else f", au plus × {fr.number(pond.cap.value)}"
        steps.append(f"**Pondération** : forfait × patientèle « médecin traitant » / {fr.integer(pond.reference_patients.value)}{cap}.")
    steps.append("**Arrondi** : une seule fois, au centime.")
    if p.complement_of:
        steps.append(f"**Complément** : montant {period} − montant déjà versé au titre de {p.complement_of}, jamais négatif ; versé au {p.payment}.")
    else:
        steps.append(f"**Versement** : au {p.payment}.")
    return "\n".join(f"{i}. {md_escape_keep_bold(s)}" for i, s in enumerate(steps, start=1)) + (
        "\n\nChaque valeur vient du jeu de règles, avec sa source : voir le tableau « Méthode » en fin de rapport."
    )


def md_escape_keep_bold(text: str) -> str:
    """Escape Markdown, keeping the ``**bold**`` marks written here."""
    return "**".join(md_escape(part) for part in text.split("**"))


def payments_markdown(rules: RuleSet, period: str, path: str) -> str:
    p = rules.period(period)
    what = f"le complément à verser au {p.payment}" if p.complement_of else f"le montant à verser au {p.payment}"
    folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    where = f"`{PAYMENTS_FILE}`, à côté de ce rapport" + (f" (`{folder}` dans le dossier des rapports)" if folder else "")
    return (
        "La liste des paiements par professionnel n'est pas publiée dans ce rapport. Elle est remise au seul service "
        f"des paiements de la caisse, dans le fichier {where} : une ligne par professionnel à payer, son identifiant "
        f"(RPPS) et ses montants en euros, dont `payable_eur`, {md_escape(what)}. Elle ne contient aucun identifiant de patient."
    )


# --------------------------------------------------------------------------- forfait structure 2023


def structure_population(results: pd.DataFrame, rules, scope: str) -> tuple[Population, list[tuple[str, str]], list[tuple[int, Any, str]]]:
    """Groups of a region's forfait structure results: everyone, the paid, each bracket of
    points (those of vsm.structure.regional_summary) and each indicator met.
    Returns (population, [(bracket group, label)], [(volet, indicator, group)])."""
    from ..structure import met_column, regional_summary

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


def structure_section(
    structure: pd.DataFrame | None,
    code: str,
    plan: Secrecy,
    vsm_results: pd.DataFrame,
    source: str = "",
    frames: dict[str, pd.DataFrame] | None = None,
) -> list[Prose | Table]:
    """The « Forfait structure 2023 » part of a regional report: total to pay, distribution
    of points, share of professionals meeting each indicator — with the same formatting and
    secrecy rules (a structure population of 1 to 10 médecins publishes nothing; when it is
    the very population of the VSM report, its size shares the fate of the VSM one: masked
    with it, and when the VSM report publishes it, never masked here, since the reader has it
    anyway — the other counts are masked instead). The typed tables shown are also put in
    ``frames`` when given."""
    from ..structure import load_structure_rules, total_eur

    if structure is None:
        return [Prose(
            "Les résultats du forfait structure ne sont pas fournis à ce rapport (paramètre `structure_results` vide) : "
            "cette partie est omise. « vsm reports » les calcule sur les données de démonstration ; sur des données réelles, "
            "donner le fichier d'indicateurs avec « --structure »."
        )]
    rules = load_structure_rules(str(structure.attrs.get("structure_rules", "forfait-structure-2023")))
    mine = structure[structure["region"].astype(str) == code] if "region" in structure.columns else structure.iloc[0:0]
    scope = f"structure_{code}"
    pop, brackets, indicators = structure_population(mine, rules, scope)
    forced, shown_elsewhere = set(), set()
    same = set(mine["ps_id"].astype(str)) == set(vsm_results["ps_id"].astype(str))
    if same and plan.covers(code):
        # The same médecins as the VSM report: « structure_professionnels » is its « professionnels ».
        (forced if plan.is_masked(code, "professionnels") else shown_elsewhere).add("structure_professionnels")
    whole = plan.covers(code) and plan.whole(code) or small(len(mine))
    protection = secrecy.protect(pop.groups, importance=pop.importance, forced=forced,
                                 shown=set() if whole else shown_elsewhere, whole=whole)
    local = Secrecy({scope: protection})
    n = len(mine)
    paid = pop.count("structure_payes")
    amount = total_eur(mine) if n else Decimal("0.00")
    mean_paid = mean_eur([a for a in mine["amount_eur"] if a > 0]) if paid else None

    def shown(value, *names) -> str:
        return _figure_text(value, any(protection.is_masked(x) for x in names))

    intro = (
        f"Le forfait structure {rules.year} ({md_escape(rules.id)}) rémunère l'équipement et les pratiques du cabinet, "
        f"à {md_escape(fr.eur(rules.point_value.value))} le point : le volet 1 (prérequis, "
        f"{md_escape(fr.integer(rules.volet1.points.value))} points) n'est versé que si tous ses indicateurs sont atteints, "
        "sans quoi rien n'est versé, volet 2 compris ; le volet 2 paie chaque indicateur atteint. "
        "Il est calculé à part du forfait VSM, sur les indicateurs de chaque médecin"
        + (f" (fichier `{md_escape(source)}`)" if source else "")
        + ", et n'entre pas dans les montants ci-dessus."
    )
    if n == 0:
        return [Prose(intro + "\n\nAucun médecin de la région dans les résultats du forfait structure.")]
    if whole:
        return [Prose(
            intro + f"\n\n*Chiffres régionaux du forfait structure non publiés : la région compte de 1 à {threshold()} "
            "médecins (secret statistique).*"
        )]
    headline = (
        f"- **Montant total à verser** : {shown(amount, 'structure_payes')} à {shown(Headcount(paid), 'structure_payes')} médecins "
        f"(sur {shown(Headcount(n), 'structure_professionnels')} médecins de la région)"
        + (f", soit {shown(mean_paid, 'structure_payes')} en moyenne par médecin payé." if mean_paid is not None else ".")
    )
    masked_headline = any(protection.is_masked(x) for x in ("structure_payes", "structure_professionnels"))
    parts: list[Prose | Table] = [Prose(intro + "\n\n" + headline + (f"\n\n*{md_escape(secrecy.secret_note())}*" if masked_headline else ""))]
    rows = [
        [label, counted(pop, name), tied(_share(pop.count(name), n), scope, name, "structure_professionnels")]
        for name, label in brackets
    ]
    rows.append(["Total", counted(pop, "structure_professionnels"), tied(_share(n, n), scope, "structure_professionnels")])
    distribution = typed_frame(rows, ["Points", "Médecins", "Part des médecins"], [pop])
    parts.append(Prose("Distribution des points (un médecin sans le volet 1 a 0 point) :"))
    parts.append(table(distribution, local))
    rows = []
    for volet, ind, name in indicators:
        points = fr.integer(ind.points.value) if ind.points is not None else "prérequis"
        rows.append([
            f"{volet} — {ind.label}",
            points,
            counted(pop, name),
            tied(_share(pop.count(name), n), scope, name, "structure_professionnels"),
        ])
    met = typed_frame(rows, ["Volet — indicateur", "Points", "Médecins qui l'atteignent", "Part des médecins"], [pop])
    parts.append(Prose("Part des médecins qui atteignent chaque indicateur (volet 1 : prérequis ; volet 2 : points de l'indicateur) :"))
    parts.append(table(met, local))
    if frames is not None:
        frames["structure points"] = distribution
        frames["structure indicateurs"] = met
    return parts


def read_structure_results(path: str | Path | None) -> pd.DataFrame | None:
    """The forfait structure results written by « vsm reports » (None: no path given)."""
    if path is None or not str(path).strip():
        return None
    from ..results import read_results

    file = resolve_path(path)
    if not file.is_file():
        raise VsmError(f"Résultats du forfait structure introuvables : « {file} ».")
    frame = read_results(file)
    meta = file.with_suffix(".json")
    if meta.is_file():
        frame.attrs["structure_rules"] = json.loads(meta.read_text(encoding="utf-8")).get("rules", "forfait-structure-2023")
    return frame


# --------------------------------------------------------------------------- the two reports


POPULATION_WORDS = {"medecin": "les médecins traitants", "centre": "les centres de santé"}


def scope_markdown(rules: RuleSet, where: str, across: str) -> str:
    """Who a report is about (the rule set's population) and the statistical-secrecy rule it
    follows (the threshold of params/secret.yml): the sentences of the introduction that
    depend on the rule set and the settings, so that the notebook's prose does not."""
    who = POPULATION_WORDS[rules.population]
    return (
        f"Professionnels concernés : {who} {where} (jeu de règles {md_escape(rules.id)}). "
        f"Secret statistique : aucun effectif de 1 à {threshold()} professionnels n'est lisible, "
        f"ni dans un tableau ni par différence {across} (« s »)."
    )


@dataclass
class RegionalReport:
    """What rapport_regional.ipynb shows, for one region and one period."""

    rules: RuleSet
    period: str
    region: Region
    results: pd.DataFrame  # national results of the period
    entry: dict  # the manifest's entry for the period
    near_width: Fraction = NEAR_WIDTH
    structure_results: pd.DataFrame | None = None
    structure_source: str = ""
    payments_path: str = ""

    @cached_property
    def regional(self) -> pd.DataFrame:
        return region_rows(self.results, self.region.code)

    @cached_property
    def plan(self) -> Secrecy:
        """The masks of every report of the period (the same in every notebook)."""
        return secrecy_plan(self.results, self.rules, self.entry, self.near_width)

    @property
    def scope(self) -> str:
        return self.region.code

    @property
    def whole(self) -> bool:
        """The region has 1 to 10 professionals: none of its figures is published."""
        return self.plan.whole(self.scope)

    @property
    def where(self) -> str:
        return f"{self.region.nom} ({self.region.code})"

    @property
    def facts(self) -> dict:
        return title_facts(self.rules, self.period, self.region.code, self.entry)

    def title(self) -> Prose:
        return Prose(title_markdown(self.facts))

    def essentials(self) -> Prose:
        if len(self.regional) == 0:
            return Prose(f"Aucun professionnel de la région {md_escape(self.where)} dans la patientèle « médecin traitant » de ce lot : rien à verser.")
        national = essentials_markdown(self.results, self.rules, self.period, NATIONAL, self.plan, NATIONAL_NAME)
        if self.whole:
            return Prose(
                f"**La région compte de 1 à {threshold()} professionnels** dans la patientèle « médecin traitant » : "
                "conformément au secret statistique, aucun effectif, montant, part ni graphique régional n'est publié dans ce "
                "rapport, pour le forfait VSM comme pour le forfait structure (pas même les zéros, qui diraient où se trouvent "
                "ces quelques professionnels). **Le montant dû à chacun est dans la liste des paiements** remise au service "
                "des paiements de la caisse (voir « Paiements » plus bas). La règle ci-dessous s'applique à chacun ; les "
                "chiffres de la France entière sont donnés pour comparaison :\n\n"
                + national
            )
        return Prose(essentials_markdown(self.regional, self.rules, self.period, self.scope, self.plan, self.region.nom))

    def rule_summary(self) -> Prose:
        return Prose(rule_markdown(self.rules, self.period))

    def scope_note(self) -> Prose:
        return Prose(scope_markdown(self.rules, "de la région", "entre deux chiffres"))

    def _withheld(self, what: str) -> Prose:
        return Prose(
            f"*{what} : non publié, la région comptant de 1 à {threshold()} professionnels (secret statistique). "
            "Les chiffres de la France entière sont dans le tableau « La région et la France entière ».*"
        )

    def key_figures(self) -> Table | Prose:
        if self.whole:
            return self._withheld("Chiffres clés de la région")
        return table(key_figures_frame(self.regional, self.rules, self.period, self.scope), self.plan)

    def comparison(self) -> Table:
        return table(region_vs_national_frame(self.results, self.region.code, self.rules, self.period), self.plan)

    def tier_totals(self) -> Table | Prose:
        if self.whole:
            return self._withheld("Montants par palier et majoration de la région")
        return table(tier_majoration_frame(self.regional, self.rules, self.scope), self.plan)

    def share_chart(self) -> Chart | Prose:
        return share_histogram(self.regional, self.rules, self.where, self.plan, self.scope, self.near_width)

    def structured_chart(self) -> Chart | Prose:
        return structured_histogram(self.regional, self.rules, self.where, self.plan, self.scope, self.near_width)

    def patientele_chart(self) -> Chart | Prose:
        return patientele_histogram(self.regional, self.rules, self.where, self.plan, self.scope, self.near_width)

    def near_thresholds(self) -> Table | Prose:
        if self.whole:
            return self._withheld("Professionnels proches d'un seuil dans la région")
        return table(near_threshold_frame(self.regional, self.rules, self.near_width, self.scope), self.plan)

    def near_thresholds_intro(self) -> Prose:
        bands = " et ".join(
            f"{_pct(max(level.min_share - self.near_width, Fraction(0)))} à {_pct(level.min_share)}"
            for level in self.rules.tiers.levels
        )
        return Prose(
            f"Bandes de {fr.number(self.near_width * 100, 1)} points sous chaque seuil du jeu de règles ({bands}). "
            "Le nombre de DMP à alimenter est le plus petit nombre de DMP supplémentaires qui ferait atteindre le seuil "
            "à patientèle inchangée."
        )

    def quality(self) -> Table | Prose:
        if self.whole:
            return self._withheld("Qualité des données de la région")
        return table(regional_quality_frame(self.regional, self.entry, self.rules, self.scope), self.plan)

    def exclusions(self, kind: str = "feeds") -> Table:
        return table(exclusions_frame(self.entry, kind))

    def without_patientele(self) -> Table:
        return table(without_patientele_frame(self.entry), self.plan)

    def methodology(self) -> Table:
        return table(methodology_frame(self.rules, self.period))

    def worked_examples(self) -> Prose:
        if len(self.regional) <= threshold():
            return Prose(
                f"Les calculs expliqués ne sont montrés que pour une région de plus de {threshold()} professionnels : "
                "ils donnent les chiffres exacts d'un professionnel, qui serait trop facile à reconnaître ici (secret statistique). "
                "La règle de calcul est résumée plus haut et détaillée dans le tableau « Méthode »."
            )
        return Prose(cases_markdown(worked_cases(self.regional, self.rules, self.period)))

    def structure(self) -> list[Prose | Table]:
        return structure_section(self.structure_results, self.region.code, self.plan, self.regional, self.structure_source)


    def payments(self) -> Prose:
        return Prose(payments_markdown(self.rules, self.period, self.payments_path))

    # Sections: a heading, its explanation and its tables or charts; a region of 1 to 10
    # professionals has none of the regional sections (« L'essentiel » says why).

    def key_figures_section(self) -> list:
        if self.whole:
            return []
        return [
            Prose(
                "## Chiffres clés\n\nLes parts sont calculées sur les professionnels éligibles ; le taux de majoration, sur "
                "les professionnels qui atteignent au moins le premier palier (seuls ceux-là peuvent être majorés). Moyenne "
                "et médiane portent sur les professionnels rémunérés (forfait non nul)."
            ),
            self.key_figures(),
        ]

    def comparison_section(self) -> list:
        intro = (
            "Les chiffres de la région ne sont pas publiés (« s ») ; ceux de l'ensemble des professionnels du lot sont "
            "donnés pour comparaison."
            if self.whole
            else "Les mêmes indicateurs pour la région et pour l'ensemble des professionnels du lot."
        )
        return [Prose(f"## La région et la France entière\n\n{intro}"), self.comparison()]

    def tiers_section(self) -> list:
        if self.whole:
            return []
        return [
            Prose(
                "## Montants par palier et majoration\n\nChaque professionnel figure dans une seule ligne : les lignes "
                "s'additionnent pour donner le total. Le montant est le forfait brut du palier, éventuellement majoré, "
                "pondéré par la taille de la patientèle « médecin traitant »."
            ),
            self.tier_totals(),
        ]

    def distributions_section(self) -> list:
        if self.whole:
            return []
        return [
            Prose(
                "## Distributions\n\nLes graphiques portent sur les professionnels éligibles. Pour le secret statistique, "
                f"les barres sont regroupées de façon que chacune compte 0 ou plus de {threshold()} professionnels et ne "
                "chevauche aucun seuil ; une partie couverte par le secret est hachurée (« s ») ; un graphique de moins de "
                f"{chart_minimum()} professionnels n'est pas tracé.\n\nPart de VSM, avec les seuils des paliers ; la part "
                "peut dépasser 100 %, car le numérateur compte tous les DMP alimentés par le médecin, pas seulement ceux de "
                "ses patients en ALD."
            ),
            self.share_chart(),
            Prose(
                "Part de VSM alimentés en données structurées (CI-SIS), parmi les professionnels qui ont alimenté au moins "
                "un DMP, avec le seuil de la majoration."
            ),
            self.structured_chart(),
            Prose(
                "Taille de la patientèle « médecin traitant », avec la patientèle de référence de la pondération : "
                "au-dessus, le forfait est augmenté ; au-dessous, il est réduit."
            ),
            self.patientele_chart(),
        ]

    def near_section(self) -> list:
        if self.whole:
            return []
        return [
            Prose(
                "## Professionnels proches d'un seuil\n\nProfessionnels éligibles dont la part de VSM est juste sous un "
                "seuil de palier, et nombre de DMP qu'il leur reste à alimenter pour l'atteindre. Seuls des agrégats sont "
                "publiés. " + self.near_thresholds_intro().text
            ),
            self.near_thresholds(),
        ]

    def forfait_structure_section(self) -> list:
        if self.whole:
            return []
        return [Prose(f"## Forfait structure {self._structure_year()}"), *self.structure()]

    def _structure_year(self) -> str:
        try:
            from ..structure import load_structure_rules

            name = "forfait-structure-2023"
            if self.structure_results is not None:
                name = str(self.structure_results.attrs.get("structure_rules", name))
            return str(load_structure_rules(name).year)
        except VsmError:
            return ""

    def quality_section(self) -> list:
        parts: list = [Prose("## Qualité des données")]
        if not self.whole:
            parts += [Prose("Dans la région :"), self.quality()]
        parts += [
            Prose(
                "Lignes des extractions écartées, par motif. Les extractions sont lues une seule fois pour toute la France : "
                "ces comptes sont nationaux, car une ligne écartée n'est pas toujours rattachable à une région (un "
                "professionnel absent de la patientèle n'a pas de région). Traces d'alimentation du DMP :"
            ),
            self.exclusions("feeds"),
            Prose("Lignes de la patientèle « médecin traitant » (arrêtés semestriels) :"),
            self.exclusions("patientele"),
            Prose(
                "Professionnels qui ont alimenté des VSM mais qui ne figurent pas dans la patientèle à la fin de la "
                "période : leurs alimentations ne sont pas comptées (pas de dénominateur)."
            ),
            self.without_patientele(),
        ]
        return parts

    def cases_section(self) -> list:
        if self.whole:
            return []
        return [
            Prose(
                "## Trois calculs expliqués\n\nTrois professionnels de la région, choisis parmi les plus représentatifs "
                "de leur cas (part de VSM la plus proche de la médiane du cas), et désignés par une lettre : un forfait nul, "
                "un premier palier sans majoration, un forfait majoré. Chaque étape cite la règle qu'elle applique. Seuls "
                f"des professionnels dont les effectifs de patients affichés valent 0 ou plus de {threshold()} sont choisis."
            ),
            self.worked_examples(),
        ]

    def count_tables(self) -> dict[str, pd.DataFrame]:
        """The unmasked numbers of professionals of every table this report shows, labelled
        as shown: what vsm.secrecy.find_leaks checks the rendered report against."""
        tables = {
            "comparaison": count_table(region_vs_national_frame(self.results, self.region.code, self.rules, self.period)),
            "absents de la patientèle": count_table(without_patientele_frame(self.entry)),
        }
        if not self.whole:
            tables["chiffres clés"] = count_table(key_figures_frame(self.regional, self.rules, self.period, self.scope))
            tables["paliers"] = count_table(tier_majoration_frame(self.regional, self.rules, self.scope), labels=2)
            tables["proches d'un seuil"] = count_table(near_threshold_frame(self.regional, self.rules, self.near_width, self.scope))
            tables["qualité"] = count_table(regional_quality_frame(self.regional, self.entry, self.rules, self.scope))
            frames: dict[str, pd.DataFrame] = {}
            structure_section(self.structure_results, self.region.code, self.plan, self.regional, self.structure_source, frames)
            tables.update({name: count_table(frame) for name, frame in frames.items()})
        return tables


@dataclass
class NationalReport:
    """What synthese_nationale.ipynb shows, for one period."""

    rules: RuleSet
    period: str
    results: pd.DataFrame
    entry: dict

    @cached_property
    def plan(self) -> Secrecy:
        return secrecy_plan(self.results, self.rules, self.entry)

    @property
    def facts(self) -> dict:
        return title_facts(self.rules, self.period, NATIONAL, self.entry)

    def title(self) -> Prose:
        return Prose(title_markdown(self.facts))

    def essentials(self) -> Prose:
        return Prose(essentials_markdown(self.results, self.rules, self.period, NATIONAL, self.plan, NATIONAL_NAME))

    def scope_note(self) -> Prose:
        return Prose(scope_markdown(self.rules, "de toutes les régions", "entre les tableaux de cette synthèse et ceux des rapports régionaux"))

    def rule_summary(self) -> Prose:
        return Prose(rule_markdown(self.rules, self.period))

    def key_figures(self) -> Table:
        return table(key_figures_frame(self.results, self.rules, self.period, NATIONAL), self.plan)

    def regions(self) -> Table:
        return table(regions_frame(self.results, self.rules, self.period), self.plan)

    def rates_chart(self) -> Chart:
        return regions_rates_chart(self.results, self.rules, self.plan)

    def amounts_chart(self) -> Chart:
        return regions_amounts_chart(self.results, self.rules, self.plan)

    def tier_totals(self) -> Table:
        return table(tier_majoration_frame(self.results, self.rules, NATIONAL), self.plan)

    def exclusions(self, kind: str = "feeds") -> Table:
        return table(exclusions_frame(self.entry, kind))

    def without_patientele(self) -> Table:
        return table(without_patientele_frame(self.entry), self.plan)

    def methodology(self) -> Table:
        return table(methodology_frame(self.rules, self.period))

    def count_tables(self) -> dict[str, pd.DataFrame]:
        """The unmasked numbers of professionals of every table this synthesis shows."""
        return {
            "chiffres clés": count_table(key_figures_frame(self.results, self.rules, self.period, NATIONAL)),
            "régions": count_table(regions_frame(self.results, self.rules, self.period), labels=2),
            "paliers": count_table(tier_majoration_frame(self.results, self.rules, NATIONAL), labels=2),
            "absents de la patientèle": count_table(without_patientele_frame(self.entry)),
        }


def regional_report(
    rules: RuleSet | str,
    period: str,
    region: object,
    results_dir: str | Path,
    structure_results: str | Path | None = None,
    payments_path: str = "",
) -> RegionalReport:
    """Validate the notebook's parameters, read the results once and keep the region's rows."""
    code = normalize_region(region)  # « 4 » instead of « 04 » → French error with the hint
    rules, results, entry, _ = load_period(rules, period, results_dir)
    structure = read_structure_results(structure_results)
    source = Path(str(structure_results)).name if structure is not None else ""
    return RegionalReport(rules, period, load_regions()[code], results, entry, structure_results=structure,
                          structure_source=source, payments_path=payments_path)


def national_report(rules: RuleSet | str, period: str, results_dir: str | Path) -> NationalReport:
    rules, results, entry, _ = load_period(rules, period, results_dir)
    return NationalReport(rules, period, results, entry)


__all__ = [
    "couple_regions",
    "Chart",
    "Headcount",
    "KeyFigures",
    "NationalReport",
    "Prose",
    "RegionalReport",
    "Secrecy",
    "Table",
    "key_figures",
    "national_report",
    "publish",
    "regional_report",
    "secrecy_plan",
]
