"""Regional and national reports of a batch's results: every figure, table and chart that
notebooks/rapport_regional.ipynb and notebooks/synthese_nationale.ipynb show.

The notebooks only narrate and display; all the logic is here, unit tested. A notebook reads
the batch's results file (one row per professional, national) and filters its region: the
national aggregation is never redone per report.

Published tables
----------------
Each aggregate table is first built as a DataFrame of *typed* cells, then goes through
:func:`publish`, the single place where tables become French text — and where statistical
secrecy (masking small counts, issue 5) is to be applied. Cell types:

* :class:`Headcount` (an ``int``): a number of professionals — what secrecy masks;
* other ``int``: counts that are not people (input rows, DMPs);
* ``Decimal``: euros; ``Fraction``: a share (shown as a percentage); ``float``: a plain
  number (a median of DMPs…); ``str``: text; ``None``: no value (« — »).

Charts are built from the same functions (:func:`share_histogram`…), so that they too can be
checked in one place. No report ever shows a professional's or a patient's identifier: the
worked explanations call the professionals « Professionnel A, B, C ».
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import present as fr
from .errors import VsmError
from .paths import PROJECT_DIR
from .regions import Region, load_regions, normalize_region
from .rules import RuleSet, Source, load_rules

RESULTS_FILE = "resultats.parquet"
MANIFEST_FILE = "manifest.json"
NATIONAL = "national"
NATIONAL_NAME = "France entière"
NEAR_WIDTH = Fraction(1, 10)  # « close to a threshold »: within 10 points below it
SHARE_CLIP = Fraction(3, 2)  # VSM share histogram: shares above 150 % go in the last bin
# Tally keys of the rows that are kept (vsm/aggregate.py FEED_REASONS / PATIENTELE_REASONS);
# every other key is a reason for excluding the row.
KEPT_REASONS = {"feeds": "counted", "patientele": "used"}
CASES = ("A", "B", "C")
CENT = Decimal("0.01")


class Headcount(int):
    """A number of professionals: the cells that statistical secrecy masks."""


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


def publish(frame: pd.DataFrame) -> pd.DataFrame:
    """A typed aggregate table → the table as published (French text cells).

    Every table a report shows goes through here: this is where statistical secrecy
    (masking Headcount cells, and what can be derived from them) will be applied.
    """
    return pd.DataFrame(
        [[format_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)],
        columns=[str(c) for c in frame.columns],
        dtype=object,
    )


def _is_right_aligned(text: str) -> bool:
    return bool(text) and (text == "—" or text[0].isdigit() or text[0] in "+-−") and not text.startswith(("de ", "[", "<"))


def as_text(frame: pd.DataFrame) -> str:
    """A plain-text table (deterministic, for ``text/plain``): numbers right-aligned."""
    if frame.empty:
        return "(aucune ligne)"
    header = [str(c) for c in frame.columns]
    body = [[str(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(header)]
    right = [all(_is_right_aligned(r[i]) for r in body) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if a else c.ljust(w) for c, w, a in zip(cells, widths, right)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in body)])


@dataclass(frozen=True)
class Table:
    """A published table: HTML without index in a notebook, plain text otherwise."""

    frame: pd.DataFrame

    def _repr_html_(self) -> str:
        return self.frame.to_html(index=False, escape=True, classes="vsm-table", border=0)

    def __repr__(self) -> str:
        return as_text(self.frame)

    __str__ = __repr__


@dataclass(frozen=True)
class Prose:
    """French Markdown text (its source as the plain-text representation)."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


@dataclass(frozen=True, eq=False)
class Chart:
    """A matplotlib figure shown as PNG, with a French description as its plain text."""

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


def table(frame: pd.DataFrame) -> Table:
    """Publish a typed table and wrap it for display."""
    return Table(publish(frame))


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
    from .results import read_results

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


def key_figures_frame(results: pd.DataFrame, rules: RuleSet, period: str) -> pd.DataFrame:
    """Indicator | Valeur | Part | Base de la part — typed cells."""
    kf = key_figures(results, rules)
    p = rules.period(period)
    rows: list[list] = [
        ["Professionnels (patientèle « médecin traitant » à la fin de la période)", Headcount(kf.professionals), "", ""],
        [
            f"Professionnels éligibles (au moins {fr.integer(rules.eligibility.min_patients_mt_ald.value)} patient MT en ALD)",
            Headcount(kf.eligible),
            _share(kf.eligible, kf.professionals),
            "des professionnels",
        ],
    ]
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        rows.append(
            [
                f"Professionnels avec une part de VSM {reached_label(rules, level_number)} (forfait brut {fr.eur(level.amount_eur)})",
                Headcount(kf.reached[level_number - 1]),
                kf.reached_share(level_number),
                "des éligibles",
            ]
        )
    if rules.majoration.enabled.value:
        rows.append(
            [
                f"Avec la majoration ({majoration_label(rules)})",
                Headcount(kf.majorated),
                kf.majorated_share,
                f"des professionnels {reached_label(rules, 1)}",
            ]
        )
    rows += [
        [f"Montant total du forfait ({period})", kf.total_eur, "", ""],
        ["Montant moyen par professionnel rémunéré", kf.mean_eur, "", ""],
        ["Montant médian par professionnel rémunéré", kf.median_eur, "", ""],
    ]
    if kf.complements is not None:
        rows += [
            [f"Déjà versé au titre de {p.complement_of}", kf.paid_before_eur, "", ""],
            [
                f"Compléments à verser au {p.payment} (professionnels)",
                Headcount(kf.complements),
                _share(kf.complements, kf.paid),
                f"des professionnels rémunérés en {period}",
            ],
            [f"Montant des compléments à verser au {p.payment}", kf.complement_eur, "", ""],
        ]
    return pd.DataFrame(rows, columns=["Indicateur", "Valeur", "Part", "Base de la part"], dtype=object)


def _comparison_rows(kf: KeyFigures, rules: RuleSet, period: str) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [
        ("Professionnels", Headcount(kf.professionals)),
        ("Professionnels éligibles", Headcount(kf.eligible)),
    ]
    for level_number in range(1, len(rules.tiers.levels) + 1):
        rows.append((f"Part des éligibles {reached_label(rules, level_number)}", kf.reached_share(level_number)))
    if rules.majoration.enabled.value:
        rows.append((f"Taux de majoration (parmi les {reached_label(rules, 1)})", kf.majorated_share))
    rows += [
        ("Professionnels rémunérés", Headcount(kf.paid)),
        ("Montant total", kf.total_eur),
        ("Montant moyen par professionnel rémunéré", kf.mean_eur),
        ("Montant médian par professionnel rémunéré", kf.median_eur),
    ]
    if kf.complements is not None:
        rows += [("Compléments à verser (professionnels)", Headcount(kf.complements)), ("Montant des compléments", kf.complement_eur)]
    return rows


def region_vs_national_frame(results: pd.DataFrame, region: str, rules: RuleSet, period: str) -> pd.DataFrame:
    """Indicator | <region> | France entière, from the national results."""
    code = normalize_region(region)
    name = load_regions()[code].nom
    mine = _comparison_rows(key_figures(region_rows(results, code), rules), rules, period)
    everyone = _comparison_rows(key_figures(results, rules), rules, period)
    return pd.DataFrame(
        [[label, a, b] for (label, a), (_, b) in zip(mine, everyone)],
        columns=["Indicateur", f"{name} ({code})", NATIONAL_NAME],
        dtype=object,
    )


# --------------------------------------------------------------------------- tiers × majoration


def tier_majoration_frame(results: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Professionals and amounts by tier × majoration, non-eligible first, then a total row:
    the rows add up to the whole table."""
    complement = "complement_eur" in results.columns
    eligible = results["eligible"].astype(bool)
    tiers = _ints(results["tier"])
    majorated = results["majoration"].astype(bool).to_numpy()
    maj_enabled = rules.majoration.enabled.value
    columns = ["Palier (part de VSM)", "Forfait brut", "Majoration", "Professionnels", "Montant total"]
    if complement:
        columns.append("Compléments")

    def row(label: str, gross: Decimal | None, maj: str, mask: np.ndarray) -> list:
        part = results[mask]
        out = [label, gross, maj, Headcount(len(part)), _money_total(part["amount_eur"])]
        if complement:
            out.append(_money_total(part["complement_eur"]))
        return out

    rows = [row("Non éligibles", None, "—", ~eligible.to_numpy())]
    rows.append(row(band_label(rules, 0), Decimal("0.00"), "—", eligible.to_numpy() & (tiers == 0)))
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        in_tier = eligible.to_numpy() & (tiers == level_number)
        if maj_enabled:
            rows.append(row(band_label(rules, level_number), level.amount_eur, "sans", in_tier & ~majorated))
            rows.append(row(band_label(rules, level_number), level.amount_eur, "avec", in_tier & majorated))
        else:
            rows.append(row(band_label(rules, level_number), level.amount_eur, "—", in_tier))
    rows.append(row("Total", None, "", np.ones(len(results), dtype=bool)))
    return pd.DataFrame(rows, columns=columns, dtype=object)


# --------------------------------------------------------------------------- close to a threshold


def near_threshold_frame(results: pd.DataFrame, rules: RuleSet, width: Fraction = NEAR_WIDTH) -> pd.DataFrame:
    """For each tier threshold t: eligible professionals whose VSM share is in [t − width, t)
    (not reaching t), and how many DMPs they still have to feed to reach it — aggregates only."""
    width = Fraction(width)
    if width <= 0:
        raise VsmError("La largeur de la bande sous le seuil doit être strictement positive.")
    eligible = results["eligible"].astype(bool).to_numpy()
    fed = _ints(results["dmp_vsm"])[eligible]
    ald = _ints(results["patients_mt_ald"])[eligible]
    comparison = rules.tiers.comparison
    rows = []
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        threshold = level.min_share
        lower = max(threshold - width, Fraction(0))
        in_band = _meets(fed, ald, lower, ">=") & ~_meets(fed, ald, threshold, comparison)
        missing = missing_dmp(fed[in_band], ald[in_band], threshold, comparison)
        rows.append(
            [
                f"{reached_label(rules, level_number)} (forfait brut {fr.eur(level.amount_eur)})",
                f"de {_pct(lower)} à moins de {_pct(threshold)}" if comparison == ">=" else f"de {_pct(lower)} à {_pct(threshold)} inclus",
                Headcount(int(in_band.sum())),
                int(missing.sum()),
                float(np.median(missing)) if len(missing) else None,
            ]
        )
    return pd.DataFrame(
        rows,
        columns=["Seuil visé", "Part de VSM actuelle", "Professionnels", "DMP à alimenter (total)", "DMP à alimenter (médiane)"],
        dtype=object,
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
    """Professionals who fed VSMs but are absent from the patientèle (no region: national)."""
    listed = entry.get("professionals_without_patientele", [])
    return pd.DataFrame(
        [
            [
                "Professionnels ayant alimenté des VSM, absents de la patientèle (France entière, sans région)",
                Headcount(len(listed)),
            ],
            ["Lignes de traces de ces professionnels", int(sum(int(p.get("rows", 0)) for p in listed))],
            ["DMP alimentés par ces professionnels (non comptés)", int(sum(int(p.get("dmp_vsm", 0)) for p in listed))],
        ],
        columns=["Indicateur", "Valeur"],
        dtype=object,
    )


def regional_quality_frame(results: pd.DataFrame, entry: dict) -> pd.DataFrame:
    """What the results themselves say about the region's data."""
    fed = _ints(results["dmp_vsm"])
    dates = entry.get("snapshot_dates") or sorted({str(d) for d in results.get("snapshot_date", [])})
    return pd.DataFrame(
        [
            ["Professionnels sans patient MT en ALD (non éligibles)", Headcount(int((~results["eligible"].astype(bool)).sum()))],
            ["Professionnels sans aucun DMP alimenté en VSM", Headcount(int((fed == 0).sum()))],
            ["Date d'arrêté de la patientèle", ", ".join(fr.date(_iso(d)) for d in dates) or "—"],
        ],
        columns=["Indicateur", "Valeur"],
        dtype=object,
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


@dataclass(frozen=True)
class Case:
    letter: str
    title: str
    steps: tuple  # of vsm.explain.Step; empty when no professional fits the case


def _typical(frame: pd.DataFrame) -> pd.Series | None:
    """The professional of ``frame`` whose VSM share is closest to the group's median
    (ties broken by identifier, never shown): a representative, reproducible choice."""
    if frame.empty:
        return None
    shares = frame["vsm_share"].astype(float).fillna(0.0)
    distance = (shares - shares.median()).abs()
    order = pd.DataFrame({"d": distance.to_numpy(), "id": frame["ps_id"].astype(str).to_numpy()}).sort_values(["d", "id"])
    return frame.iloc[int(order.index[0])]


def worked_cases(results: pd.DataFrame, rules: RuleSet, period: str) -> list[Case]:
    """Three professionals of ``results``: A with a forfait of 0 €, B at the first tier
    without majoration, C majorated — each explained step by step."""
    from .explain import explain_row

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
        row = _typical(frame)
        steps = tuple(explain_row(row, rules, period)) if row is not None else ()
        cases.append(Case(letter, title, steps))
    return cases


def cases_markdown(cases: list[Case]) -> str:
    parts = []
    for case in cases:
        parts.append(f"### Professionnel {case.letter} — {md_escape(case.title)}")
        if not case.steps:
            parts.append("Aucun professionnel de ce périmètre ne correspond à ce cas.")
            continue
        parts.append("\n".join(f"{i}. **{md_escape(s.title)}** : {md_escape(s.text)}" for i, s in enumerate(case.steps, start=1)))
    return "\n\n".join(parts)


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


def share_histogram(results: pd.DataFrame, rules: RuleSet, where: str = "") -> Chart:
    """VSM share of the eligible professionals, with the tier thresholds of the rule set."""
    fig, ax = _figure()
    eligible = results[results["eligible"].astype(bool)]
    clip = float(SHARE_CLIP)
    shares = np.minimum(_ints(eligible["dmp_vsm"]) / np.maximum(_ints(eligible["patients_mt_ald"]), 1), clip - 1e-9)
    title = "Part de VSM des professionnels éligibles" + (f" — {where}" if where else "")
    if len(shares) == 0:
        _empty(ax, "Aucun professionnel éligible")
    else:
        ax.hist(shares, bins=np.linspace(0, clip, 31), color="#4c72b0", edgecolor="white")
        for level_number, level in enumerate(rules.tiers.levels, start=1):
            ax.axvline(float(level.min_share), color="#c44e52", linestyle="--", linewidth=1.2)
            ax.text(float(level.min_share), 0.98, f" {reached_label(rules, level_number)} : {fr.eur(level.amount_eur)}",
                    transform=ax.get_xaxis_transform(), va="top", ha="left", fontsize=8, color="#c44e52")
        ax.set_xlim(0, clip)
        _percent_axis(ax.xaxis)
        _count_axis(ax.yaxis)
        ax.set_xlabel(f"Part de VSM (DMP alimentés / patients MT en ALD ; au-delà de {_pct(SHARE_CLIP)} : dernière classe)")
        ax.set_ylabel("Professionnels")
    ax.set_title(title)
    description = (
        f"Histogramme de la part de VSM de {fr.integer(len(shares))} professionnels éligibles, "
        f"seuils des paliers : {', '.join(reached_label(rules, i) for i in range(1, len(rules.tiers.levels) + 1))}."
    )
    return Chart(fig, description)


def structured_histogram(results: pd.DataFrame, rules: RuleSet, where: str = "") -> Chart:
    """Structured share among the professionals with at least one DMP fed."""
    fig, ax = _figure()
    fed = results[_ints(results["dmp_vsm"]) > 0]
    shares = _ints(fed["dmp_vsm_structured"]) / np.maximum(_ints(fed["dmp_vsm"]), 1)
    title = "Part de VSM structurés" + (f" — {where}" if where else "")
    if len(shares) == 0:
        _empty(ax, "Aucun professionnel n'a alimenté de DMP")
    else:
        ax.hist(np.minimum(shares, 1 - 1e-9), bins=np.linspace(0, 1, 21), color="#55a868", edgecolor="white")
        if rules.majoration.enabled.value:
            threshold = rules.majoration.min_structured_share.value
            ax.axvline(float(threshold), color="#c44e52", linestyle="--", linewidth=1.2)
            ax.text(float(threshold), 0.98, f" majoration : {majoration_label(rules)}", transform=ax.get_xaxis_transform(),
                    va="top", ha="left", fontsize=8, color="#c44e52")
        ax.set_xlim(0, 1)
        _percent_axis(ax.xaxis)
        _count_axis(ax.yaxis)
        ax.set_xlabel("Part de DMP alimentés en données structurées (CI-SIS)")
        ax.set_ylabel("Professionnels")
    ax.set_title(title)
    return Chart(fig, f"Histogramme de la part structurée de {fr.integer(len(shares))} professionnels ayant alimenté au moins un DMP.")


def patientele_histogram(results: pd.DataFrame, rules: RuleSet, where: str = "") -> Chart:
    """Size of the patientèle « médecin traitant », with the weighting's reference size."""
    fig, ax = _figure()
    sizes = _ints(results["patients_mt"])
    title = "Taille de la patientèle « médecin traitant »" + (f" — {where}" if where else "")
    if len(sizes) == 0:
        _empty(ax, "Aucun professionnel")
    else:
        top = max(int(sizes.max()), rules.ponderation.reference_patients.value) + 100
        ax.hist(sizes, bins=np.arange(0, top + 100, 100), color="#8172b2", edgecolor="white")
        if rules.ponderation.enabled.value:
            reference = rules.ponderation.reference_patients.value
            ax.axvline(reference, color="#c44e52", linestyle="--", linewidth=1.2)
            ax.text(reference, 0.98, f" référence de la pondération : {fr.integer(reference)}", transform=ax.get_xaxis_transform(),
                    va="top", ha="left", fontsize=8, color="#c44e52")
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.integer(round(x))))
        ax.set_xlim(0, top)
        _count_axis(ax.yaxis)
        ax.set_xlabel("Patients « médecin traitant »")
        ax.set_ylabel("Professionnels")
    ax.set_title(title)
    return Chart(fig, f"Histogramme de la patientèle « médecin traitant » de {fr.integer(len(sizes))} professionnels.")


# --------------------------------------------------------------------------- national synthesis


def regions_frame(results: pd.DataFrame, rules: RuleSet, period: str) -> pd.DataFrame:
    """All regions side by side (every region of params/regions.yml, even without
    professionals), then the whole country."""
    complement = "complement_eur" in results.columns
    levels = range(1, len(rules.tiers.levels) + 1)
    columns = ["Code", "Région", "Professionnels", "Éligibles", "Rémunérés"]
    columns += [f"Part {reached_label(rules, i)}" for i in levels]
    if rules.majoration.enabled.value:
        columns.append("Taux de majoration")
    columns += ["Montant total", "Montant moyen"]
    if complement:
        columns += ["Compléments", "Montant des compléments"]

    def row(code: str, name: str, part: pd.DataFrame) -> list:
        kf = key_figures(part, rules)
        out = [code, name, Headcount(kf.professionals), Headcount(kf.eligible), Headcount(kf.paid)]
        out += [kf.reached_share(i) for i in levels]
        if rules.majoration.enabled.value:
            out.append(kf.majorated_share)
        out += [kf.total_eur, kf.mean_eur]
        if complement:
            out += [Headcount(kf.complements), kf.complement_eur]
        return out

    rows = [row(r.code, r.nom, region_rows(results, r.code)) for r in load_regions().values()]
    unknown = results[~results["region"].astype(str).isin(list(load_regions()))]
    if len(unknown):
        rows.append(row("—", "Région non renseignée", unknown))
    rows.append(row("", NATIONAL_NAME, results))
    return pd.DataFrame(rows, columns=columns, dtype=object)


def regions_rates_chart(results: pd.DataFrame, rules: RuleSet) -> Chart:
    """Share of eligible professionals at each tier, by region (horizontal bars)."""
    regions = list(load_regions().values())
    figures = [key_figures(region_rows(results, r.code), rules) for r in regions]
    fig, ax = _figure(7.5, 6.0)
    y = np.arange(len(regions))
    levels = range(1, len(rules.tiers.levels) + 1)
    height = 0.8 / len(levels)
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    for k, level in enumerate(levels):
        values = [float(kf.reached_share(level) or 0) for kf in figures]
        ax.barh(y + (k - (len(levels) - 1) / 2) * height, values, height=height, color=colours[k % len(colours)],
                label=f"part de VSM {reached_label(rules, level)}")
    national = key_figures(results, rules)
    for k, level in enumerate(levels):
        share = national.reached_share(level)
        if share is not None:
            ax.axvline(float(share), color=colours[k % len(colours)], linestyle=":", linewidth=1)
    ax.set_yticks(y, [f"{r.nom} ({r.code})" for r in regions], fontsize=8)
    ax.invert_yaxis()
    _percent_axis(ax.xaxis)
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"Part des professionnels éligibles (pointillés : {NATIONAL_NAME})")
    ax.set_title("Professionnels atteignant chaque palier, par région")
    fig.legend(loc="outside lower center", ncols=len(levels), fontsize=8)
    return Chart(fig, "Diagramme en barres : part des professionnels éligibles atteignant chaque palier, par région.")


def regions_amounts_chart(results: pd.DataFrame, rules: RuleSet) -> Chart:
    """Mean amount per paid professional, by region."""
    regions = list(load_regions().values())
    means = [key_figures(region_rows(results, r.code), rules).mean_eur for r in regions]
    fig, ax = _figure(7.5, 6.0)
    y = np.arange(len(regions))
    ax.barh(y, [float(m or 0) for m in means], color="#8172b2")
    national = key_figures(results, rules).mean_eur
    if national is not None:
        ax.axvline(float(national), color="#c44e52", linestyle=":", linewidth=1.2, label=f"{NATIONAL_NAME} : {fr.eur(national)}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, [f"{r.nom} ({r.code})" for r in regions], fontsize=8)
    ax.invert_yaxis()
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.integer(round(x)) + fr.NBSP + "€"))
    ax.set_xlabel("Montant moyen par professionnel rémunéré")
    ax.set_title("Montant moyen du forfait, par région")
    return Chart(fig, "Diagramme en barres : montant moyen par professionnel rémunéré, par région.")


# --------------------------------------------------------------------------- the two reports


@dataclass
class RegionalReport:
    """What rapport_regional.ipynb shows, for one region and one period."""

    rules: RuleSet
    period: str
    region: Region
    results: pd.DataFrame  # national results of the period
    entry: dict  # the manifest's entry for the period
    near_width: Fraction = NEAR_WIDTH

    @cached_property
    def regional(self) -> pd.DataFrame:
        return region_rows(self.results, self.region.code)

    @property
    def where(self) -> str:
        return f"{self.region.nom} ({self.region.code})"

    @property
    def facts(self) -> dict:
        return title_facts(self.rules, self.period, self.region.code, self.entry)

    def title(self) -> Prose:
        return Prose(title_markdown(self.facts))

    def key_figures(self) -> Table:
        return table(key_figures_frame(self.regional, self.rules, self.period))

    def comparison(self) -> Table:
        return table(region_vs_national_frame(self.results, self.region.code, self.rules, self.period))

    def tier_totals(self) -> Table:
        return table(tier_majoration_frame(self.regional, self.rules))

    def share_chart(self) -> Chart:
        return share_histogram(self.regional, self.rules, self.where)

    def structured_chart(self) -> Chart:
        return structured_histogram(self.regional, self.rules, self.where)

    def patientele_chart(self) -> Chart:
        return patientele_histogram(self.regional, self.rules, self.where)

    def near_thresholds(self) -> Table:
        return table(near_threshold_frame(self.regional, self.rules, self.near_width))

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

    def quality(self) -> Table:
        return table(regional_quality_frame(self.regional, self.entry))

    def exclusions(self, kind: str = "feeds") -> Table:
        return table(exclusions_frame(self.entry, kind))

    def without_patientele(self) -> Table:
        return table(without_patientele_frame(self.entry))

    def methodology(self) -> Table:
        return table(methodology_frame(self.rules, self.period))

    def worked_examples(self) -> Prose:
        return Prose(cases_markdown(worked_cases(self.regional, self.rules, self.period)))


@dataclass
class NationalReport:
    """What synthese_nationale.ipynb shows, for one period."""

    rules: RuleSet
    period: str
    results: pd.DataFrame
    entry: dict

    @property
    def facts(self) -> dict:
        return title_facts(self.rules, self.period, NATIONAL, self.entry)

    def title(self) -> Prose:
        return Prose(title_markdown(self.facts))

    def key_figures(self) -> Table:
        return table(key_figures_frame(self.results, self.rules, self.period))

    def regions(self) -> Table:
        return table(regions_frame(self.results, self.rules, self.period))

    def rates_chart(self) -> Chart:
        return regions_rates_chart(self.results, self.rules)

    def amounts_chart(self) -> Chart:
        return regions_amounts_chart(self.results, self.rules)

    def tier_totals(self) -> Table:
        return table(tier_majoration_frame(self.results, self.rules))

    def exclusions(self, kind: str = "feeds") -> Table:
        return table(exclusions_frame(self.entry, kind))

    def without_patientele(self) -> Table:
        return table(without_patientele_frame(self.entry))

    def methodology(self) -> Table:
        return table(methodology_frame(self.rules, self.period))


def regional_report(rules: RuleSet | str, period: str, region: object, results_dir: str | Path) -> RegionalReport:
    """Validate the notebook's parameters, read the results once and keep the region's rows."""
    code = normalize_region(region)  # « 4 » instead of « 04 » → French error with the hint
    rules, results, entry, _ = load_period(rules, period, results_dir)
    return RegionalReport(rules, period, load_regions()[code], results, entry)


def national_report(rules: RuleSet | str, period: str, results_dir: str | Path) -> NationalReport:
    rules, results, entry, _ = load_period(rules, period, results_dir)
    return NationalReport(rules, period, results, entry)


__all__ = [
    "Chart",
    "Headcount",
    "KeyFigures",
    "NationalReport",
    "Prose",
    "RegionalReport",
    "Table",
    "key_figures",
    "national_report",
    "publish",
    "regional_report",
]
