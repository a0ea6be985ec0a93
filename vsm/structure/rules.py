"""The forfait structure's rule set: its model, validated when loaded, and where it is read.

Rule sets live in ``params/rules/structure/*.yml`` (their shape differs from the VSM rule
sets of ``params/rules/*.yml``, so they have their own model here, built from the same
pieces: ``Source``, ``Conflict``, ``documents``, French validation messages). Every number
of the computation (point value, points, thresholds, the téléservices scoring rule) comes
from the rule set. The rule set used when none is named is ``params/structure.yml``'s
(vsm.structure.defaults), never a literal of the code.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..errors import VsmError
from ..paths import rules_dir
from ..rules.loader import read_rules_file, validated
from ..rules.model import BoolParam, Conflict, Money, Param, PositiveIntParam, RuleSet, Source, StrictModel, ThresholdParam
from .defaults import default_structure_rules

IndicatorKind = Literal["declared", "observed", "neutralised", "rate", "count", "services"]
ServiceKind = Literal["declared", "observed", "neutralised", "rate", "count"]

_ID = r"^[a-z][a-z0-9_]*$"
_RESERVED_COLUMNS = {"ps_id", "region"}


# --------------------------------------------------------------------------- rule set model


class MoneyParam(Param):
    value: Money


class PointValueParam(Param):
    value: Money

    @field_validator("value")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("la valeur du point doit être strictement positive")
        return v


class PointsParam(Param):
    """Points of an indicator; ``stated_eur`` is the euro amount printed beside them in the source."""

    value: int = Field(gt=0)
    stated_eur: Money | None = None
    conflict: Conflict | None = None


class ScoringParam(Param):
    value: Literal["proportional", "all_or_nothing"]
    conflict: Conflict | None = None


class CountThresholdParam(Param):
    value: int = Field(ge=0)
    unit: str | None = None  # shown after the count: « 3 FSE ≥ 1 »


class Criterion(StrictModel):
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


class Volet(StrictModel):
    """What both volets have: a label and at least one indicator."""

    label: str = Field(min_length=1)
    indicators: list[StructureIndicator] = Field(min_length=1)


class Volet1(Volet):
    points: PointsParam
    gates_volet2: BoolParam

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


class Volet2(Volet):
    independent: BoolParam

    @field_validator("indicators")
    @classmethod
    def _points(cls, indicators: list[StructureIndicator]) -> list[StructureIndicator]:
        for ind in indicators:
            if ind.points is None:
                raise ValueError(f"indicateur « {ind.id} » : valeur sans points (points → value, avec sa source)")
        return indicators


class StatedTotals(StrictModel):
    """Totals printed in the source, checked against the indicators when the rule set is loaded."""

    volet1_points: PositiveIntParam
    volet1_eur: MoneyParam
    volet2_points: PositiveIntParam
    volet2_eur: MoneyParam
    max_points: PositiveIntParam
    max_eur: MoneyParam


class StructureRuleSet(StrictModel):
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


def load_structure_rules(ref: str | Path | None = None) -> StructureRuleSet:
    """Load a forfait structure rule set by id or path (None: :func:`default_structure_rules`);
    a VsmError lists every problem, in French."""
    path = _resolve(default_structure_rules() if ref is None else ref)
    raw = read_rules_file(path)
    return validated(StructureRuleSet, {**raw, "path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}, path)


def list_structure_rules() -> list[StructureRuleSet]:
    return [load_structure_rules(p) for p in sorted(structure_rules_dir().glob("*.yml"))]
