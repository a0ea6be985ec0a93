"""The forfait structure 2023 beside the forfait VSM: rule set, inputs, computation,
French explanations, regional summary and synthetic indicator data.

Rule sets live in ``params/rules/structure/*.yml`` (their shape differs from the VSM rule
sets of ``params/rules/*.yml``, so they have their own model here, built from the same
pieces: ``Source``, ``Conflict``, ``documents``, French validation messages). Every number
of the computation (point value, points, thresholds, the téléservices scoring rule) comes
from the rule set; this file hard-codes none.

Computation (seed 003, CGSS Martinique):
  * volet 1 « prérequis »: every indicator must be met (a neutralised one counts as met);
    the volet is paid as a whole (the seed gives its total, 280 points, not points per
    indicator); when it is not met nothing is paid, volet 2 included;
  * volet 2: independent optional indicators, each paying its points when met; the
    téléservices indicator pays its points in proportion to the services met (or all or
    nothing, as the rule set says);
  * euros = points × point value, exactly, in integer cents.

Input rates are shares between 0 and 1 (« 0.72 » for 72 %), compared to the thresholds
exactly (never as floats): a rate is the decimal number it is written as.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from .. import present as fr
from ..errors import VsmError
from ..explain import Step, param_lines
from ..forfait import cents_to_eur, meets, to_cents
from ..inputs import (
    MAX_LISTED_ERRORS,
    clean_ids,
    duplicate_problems,
    parse_counts_column,
    raise_if_problems,
    read_table,
    require_columns,
)
from ..paths import count_maximum, load_yaml, params_dir, rules_dir
from ..rules import (
    BoolParam,
    Conflict,
    Money,
    PositiveIntParam,
    RuleSet,
    Source,
    ThresholdParam,
    _french_error,
    _Param,
    _read_yaml,
    _Strict,
)

STRUCTURE_SCHEMA = "forfait_structure"  # params/schemas/forfait_structure.schema.json
DEFAULT_RULES = "forfait-structure-2023"
IndicatorKind = Literal["declared", "observed", "neutralised", "rate", "count", "services"]
ServiceKind = Literal["declared", "observed", "neutralised", "rate", "count"]

_ID = r"^[a-z][a-z0-9_]*$"
_RESERVED_COLUMNS = {"ps_id", "region"}


# --------------------------------------------------------------------------- rule set model


class MoneyParam(_Param):
    value: Money


class PointValueParam(_Param):
    value: Money

    @field_validator("value")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("la valeur du point doit être strictement positive")
        return v


class PointsParam(_Param):
    """Points of an indicator; ``stated_eur`` is the euro amount printed beside them in the source."""

    value: int = Field(gt=0)
    stated_eur: Money | None = None
    conflict: Conflict | None = None


class ScoringParam(_Param):
    value: Literal["proportional", "all_or_nothing"]
    conflict: Conflict | None = None


class CountThresholdParam(_Param):
    value: int = Field(ge=0)
    unit: str | None = None  # shown after the count: « 3 FSE ≥ 1 »


class Criterion(_Strict):
    """One thing that is met or not: a declared/observed yes-no, a rate, a count, or neutralised."""

    id: str = Field(pattern=_ID)
    label: str = Field(min_length=1)
    kind: ServiceKind
    column: str | None = Field(default=None, pattern=_ID)
    threshold: ThresholdParam | None = None
    min_count: CountThresholdParam | None = None
    source: Source | None = None
    note: str | None = None

    @property
    def short_label(self) -> str:
        """« AAT (avis d'arrêt de travail en ligne) » → « AAT »."""
        return self.label.split(" (")[0]

    def _check_kind(self) -> None:
        kind = self.kind
        needs_column = kind in ("declared", "observed", "rate", "count")
        if needs_column and self.column is None:
            raise ValueError(f"un indicateur de type « {kind} » doit nommer sa colonne d'entrée (column)")
        if not needs_column and self.column is not None:
            raise ValueError(f"un indicateur de type « {kind} » n'a pas de colonne d'entrée (column à retirer)")
        if kind == "rate" and self.threshold is None:
            raise ValueError("un indicateur de type « rate » doit donner son seuil (threshold)")
        if kind != "rate" and self.threshold is not None:
            raise ValueError(f"un indicateur de type « {kind} » n'a pas de seuil en taux (threshold à retirer)")
        if kind == "count" and self.min_count is None:
            raise ValueError("un indicateur de type « count » doit donner son minimum (min_count)")
        if kind != "count" and self.min_count is not None:
            raise ValueError(f"un indicateur de type « {kind} » n'a pas de minimum (min_count à retirer)")
        if kind == "neutralised" and self.source is None:
            raise ValueError("un indicateur neutralisé doit citer la source de sa neutralisation (source)")

    @model_validator(mode="after")
    def _coherent(self) -> "Criterion":
        self._check_kind()
        return self


class Service(Criterion):
    """A téléservice inside the téléservices indicator."""


class StructureIndicator(Criterion):
    kind: IndicatorKind  # type: ignore[assignment]
    number: str = Field(min_length=1)
    source: Source
    points: PointsParam | None = None
    scoring: ScoringParam | None = None
    services: list[Service] | None = None

    def _check_kind(self) -> None:
        if self.kind == "services":
            if not self.services:
                raise ValueError("un indicateur de type « services » doit lister ses téléservices (services)")
            if self.scoring is None:
                raise ValueError("un indicateur de type « services » doit dire comment ses points sont acquis (scoring)")
            for name in ("column", "threshold", "min_count"):
                if getattr(self, name) is not None:
                    raise ValueError(f"un indicateur de type « services » n'a pas de {name} (le donner pour chaque téléservice)")
            ids = [s.id for s in self.services]
            dup = sorted({i for i in ids if ids.count(i) > 1})
            if dup:
                raise ValueError(f"téléservice(s) en double : {', '.join(dup)}")
            return
        if self.services is not None or self.scoring is not None:
            raise ValueError(f"seul un indicateur de type « services » a des téléservices (services, scoring) ; type lu : « {self.kind} »")
        super()._check_kind()

    @property
    def plural(self) -> bool:
        return " et " in self.number

    @property
    def number_text(self) -> str:
        return f"indicateur{'s' if self.plural else ''} {self.number}"


class Volet1(_Strict):
    label: str = Field(min_length=1)
    points: PointsParam
    gates_volet2: BoolParam
    indicators: list[StructureIndicator] = Field(min_length=1)

    @field_validator("indicators")
    @classmethod
    def _no_points(cls, indicators: list[StructureIndicator]) -> list[StructureIndicator]:
        for ind in indicators:
            if ind.points is not None:
                raise ValueError(
                    f"indicateur « {ind.id} » : les indicateurs du volet 1 n'ont pas de points propres, "
                    "le volet est versé en bloc (volet1 → points)"
                )
            if ind.kind == "services":
                raise ValueError(f"indicateur « {ind.id} » : le type « services » n'est prévu qu'au volet 2")
        return indicators


class Volet2(_Strict):
    label: str = Field(min_length=1)
    independent: BoolParam
    indicators: list[StructureIndicator] = Field(min_length=1)

    @field_validator("indicators")
    @classmethod
    def _points(cls, indicators: list[StructureIndicator]) -> list[StructureIndicator]:
        for ind in indicators:
            if ind.points is None:
                raise ValueError(f"indicateur « {ind.id} » : valeur sans points (points → value, avec sa source)")
        return indicators


class StatedTotals(_Strict):
    """Totals printed in the source, checked against the indicators when the rule set is loaded."""

    volet1_points: PositiveIntParam
    volet1_eur: MoneyParam
    volet2_points: PositiveIntParam
    volet2_eur: MoneyParam
    max_points: PositiveIntParam
    max_eur: MoneyParam


class StructureRuleSet(_Strict):
    """A validated forfait structure rule set (``path`` and ``sha256`` say where it was read from)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    label: str = Field(min_length=1)
    year: int = Field(ge=2000)
    documents: dict[str, str]
    secondary_documents: list[str] = []
    point_value: PointValueParam
    stated_totals: StatedTotals
    volet1: Volet1
    volet2: Volet2

    path: str = ""
    sha256: str = ""

    @model_validator(mode="after")
    def _coherent(self) -> "StructureRuleSet":
        for seed in self.secondary_documents:
            if seed not in self.documents:
                raise ValueError(f"le document secondaire « {seed} » n'est pas déclaré dans `documents`")
        for source in self.all_sources():
            if source.seed not in self.documents:
                raise ValueError(
                    f"la source « {source.seed} » n'est pas déclarée dans `documents` (qui donne son nom lisible)"
                )
        ids: list[str] = []
        columns: list[str] = []
        for _, ind in self.indicators():
            ids.append(ind.id)
            for crit in [ind, *(ind.services or [])]:
                if crit.column is not None:
                    columns.append(crit.column)
        for what, names in (("identifiant d'indicateur", ids), ("colonne d'entrée", columns)):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"{what} en double : {', '.join(dup)}")
        reserved = sorted(set(columns) & _RESERVED_COLUMNS)
        if reserved:
            raise ValueError(f"colonne d'entrée réservée : {', '.join(reserved)}")
        for ind in self.volet2.indicators:
            if ind.kind == "services" and ind.scoring.value == "proportional":
                n = len(ind.services)
                if ind.points.value % n:
                    raise ValueError(
                        f"indicateur « {ind.id} » : {ind.points.value} points ne se partagent pas en parts entières "
                        f"entre {n} téléservices (attribution proportionnelle)"
                    )
        self._check_totals()
        return self

    def _check_totals(self) -> None:
        value = self.point_value.value
        totals = self.stated_totals

        def check(what: str, computed: int, stated: PositiveIntParam) -> None:
            if computed != stated.value:
                raise ValueError(
                    f"{what} : {computed} points calculés, la source en annonce {stated.value} (stated_totals)"
                )

        def check_eur(what: str, points: int, stated: Decimal) -> None:
            if points * value != stated:
                raise ValueError(
                    f"{what} : {points} points × {value} € = {points * value} €, la source annonce {stated} €"
                )

        v1 = self.volet1.points.value
        v2 = sum(ind.points.value for ind in self.volet2.indicators)
        check("volet 1", v1, totals.volet1_points)
        check("volet 2 (somme des points des indicateurs)", v2, totals.volet2_points)
        check("total des deux volets", v1 + v2, totals.max_points)
        check_eur("volet 1", v1, totals.volet1_eur.value)
        check_eur("volet 2", v2, totals.volet2_eur.value)
        check_eur("total des deux volets", v1 + v2, totals.max_eur.value)
        for ind in self.volet2.indicators:
            if ind.points.stated_eur is not None:
                check_eur(f"indicateur « {ind.id} »", ind.points.value, ind.points.stated_eur)

    # ------------------------------------------------------------------ accessors

    def indicators(self) -> list[tuple[int, StructureIndicator]]:
        """(volet, indicator) for every indicator, volet 1 first."""
        return [(1, i) for i in self.volet1.indicators] + [(2, i) for i in self.volet2.indicators]

    def document_label(self, seed: str) -> str:
        return self.documents.get(seed, seed)

    def is_secondary(self, source: Source) -> bool:
        return source.seed in self.secondary_documents

    def all_sources(self) -> list[Source]:
        return RuleSet.all_sources(self)  # the same walk over every Source of the model

    @property
    def max_points(self) -> int:
        return self.volet1.points.value + sum(ind.points.value for ind in self.volet2.indicators)


# --------------------------------------------------------------------------- loading


def structure_rules_dir() -> Path:
    return rules_dir() / "structure"


def _resolve(ref: str | Path) -> Path:
    text = str(ref)
    if text.endswith((".yml", ".yaml")) or "/" in text or "\\" in text:
        path = Path(text)
        if not path.is_file():
            raise VsmError(f"Fichier de règles introuvable : « {text} ».")
        return path
    path = structure_rules_dir() / f"{text}.yml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(structure_rules_dir().glob("*.yml"))) or "aucun"
        hint = ""
        if (rules_dir() / f"{text}.yml").is_file():
            hint = f" « {text} » est un jeu de règles du forfait VSM (commandes « vsm compute » et « vsm explain »)."
        raise VsmError(f"Jeu de règles du forfait structure inconnu : « {text} ».{hint} Jeux disponibles : {known}.")
    return path


def load_structure_rules(ref: str | Path = DEFAULT_RULES) -> StructureRuleSet:
    """Load a forfait structure rule set by id or path; a VsmError lists every problem, in French."""
    path = _resolve(ref)
    raw = _read_yaml(path)
    try:
        rules = StructureRuleSet.model_validate(
            {**raw, "path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
        )
    except ValidationError as exc:
        problems = "\n".join(f"  - {_french_error(err)}" for err in exc.errors())
        raise VsmError(f"Jeu de règles « {path} » invalide :\n{problems}") from None
    return rules


def list_structure_rules() -> list[StructureRuleSet]:
    return [load_structure_rules(p) for p in sorted(structure_rules_dir().glob("*.yml"))]


# --------------------------------------------------------------------------- inputs

RATE_CONVENTION = "un taux s'écrit entre 0 et 1 (0.72 ou 0,72 pour 72 %)"
YES = {"oui", "true", "1"}
NO = {"non", "false", "0"}
MAX_RATE_DIGITS = 15


@dataclass(frozen=True)
class InputColumn:
    name: str
    kind: Literal["yesno", "rate", "count"]
    volet: int
    indicator: str
    empty_allowed: bool


def input_columns(rules: StructureRuleSet) -> list[InputColumn]:
    """The input columns a rule set reads, in rule-set order (besides ps_id and region).

    Yes/no and count cells must be filled; a volet 2 rate may be empty (no data: not met).
    """
    out = []
    for volet, ind in rules.indicators():
        for crit in [ind, *(ind.services or [])]:
            if crit.column is None:
                continue
            kind = {"declared": "yesno", "observed": "yesno", "rate": "rate", "count": "count"}[crit.kind]
            label = ind.label if crit is ind else f"{ind.label} — {crit.short_label}"
            out.append(InputColumn(crit.column, kind, volet, label, kind == "rate" and volet == 2))
    return out


def _parse_yes_no(values: pd.Series, column: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
    if pd.api.types.is_bool_dtype(values.dtype) and not values.isna().any():
        return values.to_numpy(dtype=bool), []
    text = values.astype("string").str.strip().str.lower().fillna("")
    yes, no = text.isin(YES).to_numpy(), text.isin(NO).to_numpy()
    problems = []
    for i in np.flatnonzero(~(yes | no))[: MAX_LISTED_ERRORS + 1]:
        raw = values.iloc[i]
        shown = "" if pd.isna(raw) else str(raw).strip()
        what = "vide" if shown == "" else f"« {shown} » n'est pas une réponse oui/non"
        problems.append((int(i), f"colonne « {column} » : {what} (valeurs acceptées : oui/non, true/false, 1/0)"))
    return yes, problems


def _rate_from_text(text: str) -> Fraction:
    """'0,72' → Fraction(18, 25); ValueError with a French message otherwise."""
    cleaned = text.strip().replace(",", ".").replace("\u202f", "").replace("\u00a0", "")
    if cleaned.endswith("%"):
        raise ValueError(f"« {text} » : pas de pourcentage, {RATE_CONVENTION}")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"« {text} » n'est pas un nombre ({RATE_CONVENTION})") from None
    if not value.is_finite():
        raise ValueError(f"« {text} » n'est pas un nombre ({RATE_CONVENTION})")
    if len(value.normalize().as_tuple().digits) > MAX_RATE_DIGITS:
        raise ValueError(f"« {text} » : au plus {MAX_RATE_DIGITS} chiffres significatifs")
    if value < 0:
        raise ValueError(f"« {text} » est négatif ({RATE_CONVENTION})")
    if value > 1:
        raise ValueError(f"« {text} » dépasse 1 : {RATE_CONVENTION}")
    return Fraction(value)


def _rate_to_fraction(raw: Any) -> Fraction | None:
    """A cell of a rate column → exact Fraction (None when empty). Floats go through their repr."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw is pd.NA:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"« {raw} » n'est pas un taux ({RATE_CONVENTION})")
    if isinstance(raw, (float, np.floating)):
        if not math.isfinite(float(raw)):
            raise ValueError(f"« {raw} » n'est pas un nombre ({RATE_CONVENTION})")
        return _rate_from_text(repr(float(raw)))
    text = str(raw)
    if text.strip() == "":
        return None
    return _rate_from_text(text)


def _parse_rates(values: pd.Series, column: str, empty_allowed: bool) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """A rate column → float64 (NaN when empty), plus problems. Values are checked exactly."""
    out = np.full(len(values), np.nan)
    problems: list[tuple[int, str]] = []
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed: list[tuple[Fraction | None, str | None]] = []
    for raw in uniques:
        try:
            parsed.append((_rate_to_fraction(raw), None))
        except ValueError as exc:
            parsed.append((None, str(exc)))
    for u, (value, error) in enumerate(parsed):
        rows = np.flatnonzero(codes == u)
        if error is not None:
            problems += [(int(i), f"colonne « {column} » : {error}") for i in rows[: MAX_LISTED_ERRORS + 1]]
        elif value is not None:
            out[rows] = float(value)
        elif not empty_allowed:
            problems += [(int(i), f"colonne « {column} » : vide (un taux est attendu, {RATE_CONVENTION})")
                         for i in rows[: MAX_LISTED_ERRORS + 1]]
    if not empty_allowed:
        problems += [(int(i), f"colonne « {column} » : vide (un taux est attendu, {RATE_CONVENTION})")
                     for i in np.flatnonzero(codes == -1)[: MAX_LISTED_ERRORS + 1]]
    return out, problems


def _rate_fractions(rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 rates (exact decimals via repr, NaN = none) → numerator, denominator arrays (0/0 for none)."""
    num = np.zeros(len(rates), dtype=object)
    den = np.zeros(len(rates), dtype=object)
    present = ~np.isnan(rates)
    if present.any():
        uniques, inverse = np.unique(rates[present], return_inverse=True)
        fractions = [Fraction(repr(float(u))) for u in uniques]
        num[present] = np.array([f.numerator for f in fractions], dtype=object)[inverse]
        den[present] = np.array([f.denominator for f in fractions], dtype=object)[inverse]
    if not len(rates) or max(int(den.max()), int(num.max())) < 2**40:
        return num.astype(np.int64), den.astype(np.int64)
    return num, den


def _parse_regions(values: pd.Series) -> tuple[pd.Series, list[tuple[int, str]]]:
    from ..regions import region_codes

    codes = set(region_codes())
    text = values.astype("string").str.strip().fillna("")
    problems = []
    for i in np.flatnonzero(~(text.isin(codes) | (text == "")).to_numpy())[: MAX_LISTED_ERRORS + 1]:
        shown = text.iat[i]
        hint = ""
        if shown.isdigit() and len(shown) == 1 and f"0{shown}" in codes:
            hint = f" ; les codes s'écrivent sur deux caractères : « 0{shown} »"
        problems.append((int(i), f"colonne « region » : « {shown} » n'est pas un code de région INSEE (voir params/regions.yml){hint}"))
    return text, problems


def validate_structure_input(
    frame: pd.DataFrame, rules: StructureRuleSet, source: str = "table des indicateurs", kind: str = "parquet"
) -> pd.DataFrame:
    """Per-professional indicators → a clean table, or InputErrors naming file, row and column.

    Yes/no columns become booleans, rates float64 (NaN when empty), counts int64; ps_id is
    text, present and unique; region (optional) a two-character INSEE code. Other columns are
    kept as they are.
    """
    columns = input_columns(rules)
    require_columns(frame, ("ps_id", *(c.name for c in columns)), source)
    frame = frame.reset_index(drop=True)
    out = frame.copy()
    problems: list[tuple[int, str]] = []
    out["ps_id"], id_problems = clean_ids(frame["ps_id"], "ps_id", kind)
    problems += id_problems
    if "region" in frame.columns:
        out["region"], region_problems = _parse_regions(frame["region"])
        problems += region_problems
    for col in columns:
        if col.kind == "yesno":
            out[col.name], col_problems = _parse_yes_no(frame[col.name], col.name)
        elif col.kind == "rate":
            out[col.name], col_problems = _parse_rates(frame[col.name], col.name, col.empty_allowed)
        else:
            out[col.name], col_problems = parse_counts_column(frame[col.name], col.name, kind, count_maximum())
        problems += col_problems
    if not id_problems:
        problems += duplicate_problems(out["ps_id"], kind, source=source)
    raise_if_problems(source, kind, problems)
    return out


def read_structure_input(path: Path | str, rules: StructureRuleSet) -> pd.DataFrame:
    """Read and validate a per-professional indicators file (CSV or Parquet)."""
    frame, kind = read_table(path, STRUCTURE_SCHEMA)
    return validate_structure_input(frame, rules, source=str(path), kind=kind)


# --------------------------------------------------------------------------- computation

SUMMARY_COLUMNS = (
    "volet1_met",
    "volet1_points",
    "volet1_eur",
    "volet2_points_reached",
    "volet2_points",
    "volet2_eur",
    "total_points",
    "amount_eur",
)


def met_column(volet: int, indicator: StructureIndicator, service: Service | None = None) -> str:
    base = f"v{volet}_{indicator.id}"
    return f"{base}_{service.id}_met" if service is not None else f"{base}_met"


def points_column(indicator: StructureIndicator) -> str:
    return f"v2_{indicator.id}_points"


def services_column(indicator: StructureIndicator) -> str:
    return f"v2_{indicator.id}_services_met"


def _criterion_met(crit: Criterion, table: pd.DataFrame) -> np.ndarray:
    n = len(table)
    if crit.kind == "neutralised":
        return np.ones(n, dtype=bool)
    values = table[crit.column]
    if crit.kind in ("declared", "observed"):
        return values.to_numpy(dtype=bool)
    if crit.kind == "count":
        return values.to_numpy(dtype=np.int64) >= crit.min_count.value
    num, den = _rate_fractions(values.to_numpy(dtype=float))
    return np.asarray(meets(num, den, crit.threshold.value, crit.threshold.comparison), dtype=bool)


def compute_structure(
    frame: pd.DataFrame, rules: StructureRuleSet, source: str = "table des indicateurs"
) -> pd.DataFrame:
    """One row per professional: each indicator met or not, points per volet, euros (exact)."""
    table = validate_structure_input(frame, rules, source=source)
    n = len(table)
    point_cents = to_cents(rules.point_value.value)
    flags: dict[str, np.ndarray] = {}

    # Volet 1: every indicator met (neutralised ones count as met); paid as a whole.
    volet1_met = np.ones(n, dtype=bool)
    for ind in rules.volet1.indicators:
        met = _criterion_met(ind, table)
        flags[met_column(1, ind)] = met
        volet1_met &= met
    volet1_points = np.where(volet1_met, rules.volet1.points.value, 0).astype(np.int64)

    # Volet 2: independent indicators, each with its points.
    reached = np.zeros(n, dtype=np.int64)
    for ind in rules.volet2.indicators:
        pts = ind.points.value
        if ind.kind == "services":
            n_met = np.zeros(n, dtype=np.int64)
            for service in ind.services:
                met = _criterion_met(service, table)
                flags[met_column(2, ind, service)] = met
                n_met += met
            flags[services_column(ind)] = n_met
            total = len(ind.services)
            if ind.scoring.value == "proportional":
                points = pts * n_met // total  # exact: the rule set checks that pts / total is whole
            else:
                points = np.where(n_met == total, pts, 0).astype(np.int64)
            flags[met_column(2, ind)] = n_met == total  # every téléservice met (full points)
        else:
            met = _criterion_met(ind, table)
            flags[met_column(2, ind)] = met
            points = np.where(met, pts, 0).astype(np.int64)
        flags[points_column(ind)] = points
        reached += points
    paid_volet2 = volet1_met if rules.volet1.gates_volet2.value else np.ones(n, dtype=bool)
    volet2_points = np.where(paid_volet2, reached, 0)
    total_points = volet1_points + volet2_points

    result = table.copy()
    for name, values in flags.items():
        result[name] = values
    result["volet1_met"] = volet1_met
    result["volet1_points"] = volet1_points
    result["volet1_eur"] = cents_to_eur(volet1_points * point_cents)
    result["volet2_points_reached"] = reached
    result["volet2_points"] = volet2_points
    result["volet2_eur"] = cents_to_eur(volet2_points * point_cents)
    result["total_points"] = total_points
    result["amount_eur"] = cents_to_eur(total_points * point_cents)
    return result


def total_eur(results: pd.DataFrame, column: str = "amount_eur") -> Decimal:
    """Exact sum of a money column (Decimal, or numbers read back from a CSV)."""
    return sum((v if isinstance(v, Decimal) else Decimal(str(v)).quantize(Decimal("0.01")) for v in results[column]),
               Decimal("0.00"))


# --------------------------------------------------------------------------- explanations


def cite(rules: StructureRuleSet, source: Source) -> str:
    """« (présentation CGSS Martinique (07/2024), tableau du volet 1, indicateur 4) »."""
    secondary = " — source secondaire" if rules.is_secondary(source) else ""
    return f"({rules.document_label(source.seed)}, {source.passage}{secondary})"


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _as_fraction(value: Any) -> Fraction | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return Fraction(repr(float(value)))


def _signs(comparison: str) -> tuple[str, str]:
    return ("≥", "<") if comparison == ">=" else (">", "≤")


def _criterion_text(crit: Criterion, row: dict, met: bool) -> str:
    """« 61,0 % < 2/3 », « déclaré (oui) », « 3 FSE ≥ 1 »… without the verdict."""
    if crit.kind == "neutralised":
        return "neutralisé, compté comme atteint"
    if crit.kind == "declared":
        return "déclaré (oui)" if met else "non déclaré (non)"
    if crit.kind == "observed":
        return "constaté par la caisse (oui)" if met else "non constaté (non)"
    if crit.kind == "count":
        count = int(row[crit.column])
        sign = "≥" if met else "<"
        unit = f" {crit.min_count.unit}" if crit.min_count.unit else ""
        return f"{fr.integer(count)}{unit} {sign} {fr.integer(crit.min_count.value)}"
    rate = _as_fraction(row[crit.column])
    if rate is None:
        return "aucune donnée"
    threshold = crit.threshold
    yes, no = _signs(threshold.comparison)
    shown = fr.percent(rate, thresholds=(threshold.value,))
    return f"{shown} {yes if met else no} {fr.fraction(threshold.value)}"


def _criterion_sources(rules: StructureRuleSet, crit: Criterion) -> str:
    if crit.kind == "rate":
        return cite(rules, crit.threshold.source)
    if crit.kind == "count":
        return cite(rules, crit.min_count.source)
    return cite(rules, crit.source) if crit.source is not None else ""


def _verdict(met: bool) -> str:
    return "atteint" if met else "non atteint"


def explain_structure_row(row: pd.Series | dict, rules: StructureRuleSet) -> list[Step]:
    """Steps for one row of :func:`compute_structure`'s output, each citing its source."""
    row = dict(row)
    value = rules.point_value
    steps = [Step("Valeur du point", f"{fr.eur(value.value)} {cite(rules, value.source)}.")]

    failures = []
    for ind in rules.volet1.indicators:
        met = bool(row[met_column(1, ind)])
        detail = _criterion_text(ind, row, met)
        text = f"{_lower_first(ind.label)} : {detail} → {_verdict(met)} {_criterion_sources(rules, ind)}"
        if ind.kind == "neutralised" and ind.note:
            text = f"{_lower_first(ind.label)} : {detail} {_criterion_sources(rules, ind)}"
        steps.append(Step(f"Volet 1, {ind.number_text}", text.rstrip() + "."))
        if not met:
            failures.append(f"{ind.number_text}, {_lower_first(ind.label)} {detail}")

    v1 = rules.volet1
    gates = v1.gates_volet2.value
    if failures:
        consequence = "aucun versement (volet 2 compris)" if gates else "volet 1 non versé"
        steps.append(
            Step(
                "Volet 1 non atteint",
                f"{' ; '.join(failures)} → {consequence} {cite(rules, v1.points.source)}.",
            )
        )
    else:
        steps.append(
            Step(
                "Volet 1 atteint",
                f"tous ses indicateurs sont atteints → {fr.integer(v1.points.value)} points × {fr.eur(value.value)} = "
                f"{fr.eur(row['volet1_eur'])} {cite(rules, v1.points.source)} ; la source ne donne pas de points "
                "par indicateur : le volet 1 est versé en bloc.",
            )
        )

    if failures and gates:
        reached = int(row["volet2_points_reached"])
        would = (
            f" ; les indicateurs du volet 2 atteints auraient rapporté {fr.integer(reached)} points"
            if reached else ""
        )
        steps.append(
            Step(
                "Volet 2",
                f"non versé, faute de volet 1 {cite(rules, v1.gates_volet2.source)}{would}.",
            )
        )
    else:
        for ind in rules.volet2.indicators:
            steps.append(Step(f"Volet 2, {ind.number_text}", _volet2_text(rules, ind, row)))
        steps.append(
            Step(
                "Volet 2",
                f"{fr.integer(int(row['volet2_points']))} points × {fr.eur(value.value)} = {fr.eur(row['volet2_eur'])} "
                f"{cite(rules, rules.volet2.independent.source)}.",
            )
        )

    total = int(row["total_points"])
    if total:
        parts = f"{fr.integer(int(row['volet1_points']))} + {fr.integer(int(row['volet2_points']))} = "
        amount = f"{parts}{fr.integer(total)} points × {fr.eur(value.value)} = {fr.eur(row['amount_eur'])}"
    else:
        amount = f"0 point → {fr.eur(row['amount_eur'])}"
    steps.append(Step("Montant", f"{amount} {cite(rules, value.source)}."))
    return steps


def _volet2_text(rules: StructureRuleSet, ind: StructureIndicator, row: dict) -> str:
    pts = int(row[points_column(ind)])
    points = ind.points
    if ind.kind == "services":
        parts = []
        for service in ind.services:
            met = bool(row[met_column(2, ind, service)])
            if service.kind == "neutralised":
                parts.append(f"{service.short_label} neutralisé (compté atteint)")
            else:
                parts.append(f"{service.short_label} {_criterion_text(service, row, met)} ({_verdict(met)})")
        n_met, total = int(row[services_column(ind)]), len(ind.services)
        if ind.scoring.value == "proportional":
            rule = f"{fr.integer(points.value)} × {n_met}/{total} = {fr.integer(pts)} points"
            how = "attribution proportionnelle au nombre de téléservices atteints"
        else:
            rule = f"{fr.integer(pts)} points ({'tous atteints' if n_met == total else 'il faut les atteindre tous'})"
            how = "tout ou rien, il faut atteindre tous les téléservices"
        seuils = sorted({cite(rules, s.threshold.source if s.kind == "rate" else s.source) for s in ind.services})
        text = (
            f"{_lower_first(ind.label)} : {' ; '.join(parts)} → {n_met} téléservices sur {total} atteints → {rule} "
            f"(points : {cite(rules, points.source)[1:-1]} ; seuils : {' ; '.join(s[1:-1] for s in seuils)} ; "
            f"règle retenue : {how}, choix documenté dans le jeu de règles)"
        )
        if ind.scoring.conflict is not None:
            text += f" ; divergence des sources : {ind.scoring.conflict.summary}"
        return text + "."
    met = bool(row[met_column(2, ind)])
    detail = _criterion_text(ind, row, met)
    gain = f"{fr.integer(pts)} points" if met else "0 point"
    if ind.kind in ("rate", "count"):
        text = (
            f"{_lower_first(ind.label)} : {detail} → {_verdict(met)}, {gain} "
            f"(points : {cite(rules, points.source)[1:-1]} ; seuil : {_criterion_sources(rules, ind)[1:-1]})"
        )
    else:
        text = f"{_lower_first(ind.label)} : {detail} → {_verdict(met)}, {gain} {cite(rules, points.source)}"
    if points.conflict is not None:
        text += f" ; divergence des sources : {points.conflict.summary} — {_lower_first(points.conflict.chosen)}"
    return text.rstrip(".") + "."


def explain_structure(results: pd.DataFrame, rules: StructureRuleSet, ps_id: str) -> str:
    """The explanation, as French text, for professional ``ps_id`` of ``results``."""
    match = results[results["ps_id"].astype(str) == str(ps_id)]
    if match.empty:
        raise VsmError(f"Professionnel « {ps_id} » absent des données ({fr.integer(len(results))} professionnels lus).")
    lines = [f"Forfait structure {rules.year} — professionnel {ps_id} — jeu de règles {rules.id}"]
    steps = explain_structure_row(match.iloc[0], rules)
    lines += [f"  {i}. {step}" for i, step in enumerate(steps, start=1)]
    return "\n".join(lines)


# --------------------------------------------------------------------------- rule set shown


def describe_structure_rules(rules: StructureRuleSet) -> str:
    """Every value of a forfait structure rule set, in French, each followed by its source."""
    out = [f"Jeu de règles {rules.id} — {rules.label}", f"  fichier : {rules.path} (sha256 {rules.sha256[:16]}…)"]

    def node(title: str, value: str, param: Any, indent: str = "  ") -> None:
        out.extend(param_lines(rules, title, value, param, indent))

    def criterion(crit: Criterion, indent: str) -> None:
        what = {"declared": "déclaratif (oui/non)", "observed": "constaté par la caisse (oui/non)",
                "neutralised": "neutralisé (compté atteint)", "rate": "taux", "count": "nombre",
                "services": "téléservices"}[crit.kind]
        column = f", colonne « {crit.column} »" if crit.column else ""
        node(crit.label, what + column, crit, indent)
        if crit.threshold is not None:
            node("seuil", f"{_signs(crit.threshold.comparison)[0]} {fr.fraction(crit.threshold.value)}", crit.threshold, indent + "    ")
        if crit.min_count is not None:
            node("minimum", f"≥ {fr.integer(crit.min_count.value)}", crit.min_count, indent + "    ")

    node("valeur du point", fr.eur(rules.point_value.value), rules.point_value)
    out.append("Totaux énoncés par la source (vérifiés au chargement)")
    t = rules.stated_totals
    for title, param, money in (
        ("volet 1", t.volet1_points, t.volet1_eur), ("volet 2", t.volet2_points, t.volet2_eur),
        ("maximum", t.max_points, t.max_eur),
    ):
        node(title, f"{fr.integer(param.value)} points", param)
        node(title, fr.eur(money.value), money)
    out.append(rules.volet1.label)
    node("points du volet (versés en bloc)", fr.integer(rules.volet1.points.value), rules.volet1.points)
    node("condition du volet 2", "oui" if rules.volet1.gates_volet2.value else "non", rules.volet1.gates_volet2)
    for ind in rules.volet1.indicators:
        out.append(f"  {ind.number_text[0].upper()}{ind.number_text[1:]}")
        criterion(ind, "    ")
    out.append(rules.volet2.label)
    node("indicateurs indépendants", "oui" if rules.volet2.independent.value else "non", rules.volet2.independent)
    for ind in rules.volet2.indicators:
        out.append(f"  {ind.number_text[0].upper()}{ind.number_text[1:]}")
        criterion(ind, "    ")
        node("points", f"{fr.integer(ind.points.value)} ({fr.eur(ind.points.value * rules.point_value.value)})",
             ind.points, "        ")
        if ind.kind == "services":
            node("attribution", ind.scoring.value, ind.scoring, "        ")
            for service in ind.services:
                criterion(service, "        ")
    return "\n".join(out)


# --------------------------------------------------------------------------- regional summary


def _mean_eur(total: Decimal, n: int) -> Decimal:
    if n == 0:
        return Decimal("0.00")
    return (total / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def regional_summary(
    results: pd.DataFrame, region: str | None = None, rules: StructureRuleSet | None = None
) -> dict[str, Any]:
    """Figures for a regional report, beside the forfait VSM.

    Returns a dict: region (code or None for all), professionals, volet1_met, paid,
    total_points, total_eur, mean_eur (per professional), mean_eur_paid (per professional
    paid), points_quantiles (dict), points_distribution (DataFrame: bracket, professionals,
    share) and indicators (DataFrame: volet, number, id, label, points, met, share).
    Counts are not masked: apply the statistical secrecy rule before publishing.
    """
    rules = rules or load_structure_rules()
    if region is not None:
        from ..regions import normalize_region

        code = normalize_region(region)
        if "region" not in results.columns:
            raise VsmError("Les résultats n'ont pas de colonne « region » : impossible de les restreindre à une région.")
        results = results[results["region"].astype(str) == code]
    else:
        code = None
    n = len(results)
    amounts = total_eur(results) if n else Decimal("0.00")
    paid = results[results["total_points"] > 0] if n else results
    points = results["total_points"].to_numpy(dtype=np.int64) if n else np.zeros(0, dtype=np.int64)

    v1 = rules.volet1.points.value
    top = rules.max_points
    edges = [0, 1, v1] + list(range(v1 + 200, top, 200)) + [top + 1]
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        count = int(((points >= lo) & (points < hi)).sum())
        label = "0" if lo == 0 else f"{fr.integer(lo)} – {fr.integer(hi - 1)}"
        rows.append({"bracket": label, "min_points": lo, "max_points": hi - 1, "professionals": count,
                     "share": count / n if n else float("nan")})
    distribution = pd.DataFrame(rows)
    distribution = distribution[(distribution["professionals"] > 0) | (distribution["min_points"] != 1)]

    indicators = []
    for volet, ind in rules.indicators():
        column = met_column(volet, ind)
        met = int(results[column].sum()) if n else 0
        indicators.append({
            "volet": volet,
            "number": ind.number,
            "id": ind.id,
            "label": ind.label,
            "points": ind.points.value if ind.points is not None else None,
            "met": met,
            "share": met / n if n else float("nan"),
        })
        for service in ind.services or []:
            column = met_column(volet, ind, service)
            met = int(results[column].sum()) if n else 0
            indicators.append({
                "volet": volet, "number": ind.number, "id": f"{ind.id}.{service.id}",
                "label": f"{ind.label} — {service.short_label}", "points": None,
                "met": met, "share": met / n if n else float("nan"),
            })
    quantiles = {}
    for name, q in (("p10", 0.10), ("p25", 0.25), ("median", 0.5), ("p75", 0.75), ("p90", 0.90)):
        quantiles[name] = float(np.quantile(points, q)) if n else float("nan")
    return {
        "region": code,
        "rules": rules.id,
        "professionals": n,
        "volet1_met": int(results["volet1_met"].sum()) if n else 0,
        "paid": len(paid),
        "total_points": int(points.sum()),
        "total_eur": amounts,
        "mean_eur": _mean_eur(amounts, n),
        "mean_eur_paid": _mean_eur(amounts, len(paid)),
        "points_quantiles": quantiles,
        "points_distribution": distribution.reset_index(drop=True),
        "indicators": pd.DataFrame(indicators),
    }


# --------------------------------------------------------------------------- synthetic data

SYNTH_PARAMS_FILE = "synth_structure.yml"


def load_structure_synth_params() -> dict[str, Any]:
    path = params_dir() / SYNTH_PARAMS_FILE
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VsmError(f"Fichier de paramètres introuvable : « {path} ».") from None
    except yaml.YAMLError:
        raise VsmError(f"Fichier de paramètres illisible : « {path} » (YAML invalide).") from None
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise VsmError(f"Paramètres incomplets dans « {path} » : section « columns » absente.")
    return data


def synth_medecins(scale: str = "demo", seed: int = 2024) -> pd.DataFrame:
    """ps_id and region of the médecins that ``vsm synth --scale S --seed N`` puts in its patientèle.

    Rebuilds only the professionals (the same random stream as :func:`vsm.synth.synthesize`),
    without writing the DMP traces.
    """
    from .. import synth

    params = synth.load_synth_params()
    spec = synth._scale_spec(params, scale)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VsmError(f"Graine invalide : « {seed} ». Donner un entier positif ou nul.")
    cal = synth._Calendar.from_params(params["calendar"])
    ss_pros = np.random.SeedSequence(int(seed)).spawn(4)[0]
    pros = synth._make_professionals(params, spec, cal, np.random.default_rng(ss_pros))
    keep = np.flatnonzero(pros.kind == synth.MEDECIN)
    return pd.DataFrame({
        "ps_id": [pros.ps_id[i] for i in keep.tolist()],
        "region": [pros.region[i] for i in keep.tolist()],
    })


def patientele_medecins(path: Path | str) -> pd.DataFrame:
    """ps_id and region of the médecins of a patientèle file (one row per professional)."""
    frame, kind = read_table(path)
    require_columns(frame, ("ps_id",), str(path))
    if "ps_kind" in frame.columns:
        frame = frame[frame["ps_kind"].astype(str) == "medecin"]
    out = pd.DataFrame({"ps_id": frame["ps_id"].astype(str).str.strip()})
    out["region"] = frame["region"].astype(str).to_numpy() if "region" in frame.columns else ""
    out = out[out["ps_id"] != ""].drop_duplicates("ps_id", keep="first").reset_index(drop=True)
    if out.empty:
        raise VsmError(f"Fichier « {path} » : aucun médecin dans la patientèle.")
    return out


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def synth_indicators(medecins: pd.DataFrame, seed: int = 2024, rules: StructureRuleSet | None = None) -> pd.DataFrame:
    """Synthetic indicators for ``medecins`` (ps_id, region), calibrated by params/synth_structure.yml.

    Each médecin has a latent « engagement numérique » z ~ N(0, 1) shifting every indicator,
    so that indicators are correlated as in practice. Deterministic for a given seed.
    """
    rules = rules or load_structure_rules()
    params = load_structure_synth_params()
    spec = params["columns"]
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2023]))
    n = len(medecins)
    z = rng.standard_normal(n)
    out = pd.DataFrame({"ps_id": medecins["ps_id"].astype(str).to_numpy(), "region": medecins["region"].astype(str).to_numpy()})
    for col in input_columns(rules):
        if col.name not in spec:
            raise VsmError(f"params/{SYNTH_PARAMS_FILE} : pas de calibration pour la colonne « {col.name} ».")
        p = spec[col.name]
        loading = float(p.get("loading", 0.0))
        u = rng.random(n)
        if col.kind == "yesno":
            out[col.name] = u < _expit(_logit(float(p["share"])) + loading * z)
        elif col.kind == "rate":
            mean = _expit(_logit(float(p["mean"])) + loading * z)
            k = float(p["concentration"])
            rate = np.round(rng.beta(mean * k, (1 - mean) * k), 4)
            empty = u < float(p.get("empty_share", 0.0)) if col.empty_allowed else np.zeros(n, dtype=bool)
            out[col.name] = np.where(empty, np.nan, rate)
        else:
            positive = u < _expit(_logit(float(p["share_positive"])) + loading * z)
            out[col.name] = np.where(positive, 1 + rng.poisson(float(p["mean_extra"]), n), 0).astype(np.int64)
    return out


def synthesize_structure(
    out: Path | str,
    patientele_path: Path | str | None = None,
    seed: int = 2024,
    scale: str = "demo",
    rules: StructureRuleSet | None = None,
) -> dict[str, Any]:
    """Write synthetic forfait structure indicators for the médecins of a VSM patientèle.

    With ``patientele_path``: the médecins of that file (same ps_id and region). Without it:
    the médecins that ``vsm synth --scale scale --seed seed`` generates. Returns a summary
    with the calibration figures (mean payment, share failing volet 1).
    """
    from ..results import check_output_path, write_table

    out = check_output_path(out)
    rules = rules or load_structure_rules()
    medecins = patientele_medecins(patientele_path) if patientele_path is not None else synth_medecins(scale, seed)
    table = synth_indicators(medecins, seed=seed, rules=rules)
    write_table(table, out)
    results = compute_structure(table, rules)
    n = len(results)
    amount = total_eur(results)
    paid = int((results["total_points"] > 0).sum())
    return {
        "out": str(out),
        "medecins": n,
        "volet1_failed": int((~results["volet1_met"]).sum()),
        "paid": paid,
        "total_eur": amount,
        "mean_eur": _mean_eur(amount, n),
        "mean_eur_paid": _mean_eur(amount, paid),
    }
