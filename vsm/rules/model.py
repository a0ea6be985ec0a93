"""Rule sets as typed values: dated values with their sources, validated (pydantic).

A rule set is data (OpenFisca-style parameters with references): every threshold, amount,
date and weight comes from a YAML file, each value with the seed file and passage it comes
from. Code never hard-codes them. Shares are kept as exact fractions and money as Decimal.
The files are read and merged by loader.py.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ..errors import VsmError
from ..money import parse_eur
from ..paths import count_maximum

# --------------------------------------------------------------------------- value types

MAX_NUMBER_TEXT = 40  # « 1/3 », « 0.9 », « 50 % »: a longer number is a typo, not a rule
# A rule's amount (a tier, e.g. 3 000 €) and rate (a majoration, e.g. 20 %) stay far from what
# the results can hold: with at most MAX_COUNT patients (params/schemas/), an amount times
# (1 + rate) times the weight always fits decimal(14,2) (checked by RuleSet._coherent).
MAX_RULE_AMOUNT = Decimal("1000000.00")
MAX_MAJORATION_RATE = Fraction(10)
MAX_RESULT_EUR = 10**12  # results hold money as decimal(14, 2) (store.MONEY_PRECISION)


def parse_fraction(value: Any) -> Fraction:
    """'1/3', '0.9', '90 %', 0.5 → an exact Fraction (floats go through their decimal text)."""
    if isinstance(value, bool):
        raise ValueError("une fraction est attendue, pas vrai/faux")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"« {value} » n'est pas un nombre fini (écrire par exemple « 1/3 », « 0.9 » ou « 50 % »)")
        return Fraction(repr(value))
    if isinstance(value, str):
        text = value.strip().replace(",", ".").replace("\u202f", " ").replace("\u00a0", " ")
        try:
            if len(text) > MAX_NUMBER_TEXT:
                raise ValueError
            if text.endswith("%"):
                return Fraction(text[:-1].strip()) / 100
            return Fraction(text)
        except (ValueError, ZeroDivisionError, OverflowError):
            pass
    raise ValueError(f"« {value} » n'est pas une part lisible (écrire par exemple « 1/3 », « 0.9 » ou « 50 % »)")


def _rule_amount(value: Any) -> Decimal:
    return parse_eur(value, MAX_RULE_AMOUNT, "dans un jeu de règles")


Share = Annotated[Fraction, BeforeValidator(parse_fraction)]
Money = Annotated[Decimal, BeforeValidator(_rule_amount)]
Comparison = Literal[">=", ">"]


class StrictModel(BaseModel):
    """A rule-set node: no unknown key (a typo is an error, not a default), immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Source(StrictModel):
    """Where a value comes from: the seed file, the passage, and a short verbatim quote."""

    seed: str = Field(min_length=1)
    passage: str = Field(min_length=1)
    quote: str = Field(min_length=1)


class Conflict(StrictModel):
    """Two sources that disagree, and which reading the rule set follows."""

    summary: str
    chosen: str
    sources: list[Source] = Field(min_length=2)


class Param(StrictModel):
    """A parameter node of a rule set: a ``value`` (typed by each subclass) and its source."""

    description: str | None = None
    source: Source
    note: str | None = None


class BoolParam(Param):
    value: bool


class IntParam(Param):
    value: int = Field(ge=0)


class PositiveIntParam(Param):
    value: int = Field(gt=0)


class CapParam(Param):
    value: Share | None = None

    @field_validator("value")
    @classmethod
    def _positive(cls, v: Fraction | None) -> Fraction | None:
        if v is not None and v <= 0:
            raise ValueError("le plafond de pondération doit être strictement positif (ou null : pas de plafond)")
        return v


class CodeListParam(Param):
    value: list[str] = Field(min_length=1)


class StatusListParam(Param):
    value: list[Literal["success", "failure"]] = Field(min_length=1)


class ActionListParam(Param):
    value: list[Literal["creation", "update", "deletion"]] = Field(min_length=1)


class StructuredRuleParam(Param):
    value: Literal["any", "latest"]


class RoundingParam(Param):
    value: Literal["half_up_cent"]


class RateParam(Param):
    value: Share

    @field_validator("value")
    @classmethod
    def _non_negative(cls, v: Fraction) -> Fraction:
        if v < 0:
            raise ValueError("le taux de majoration doit être positif ou nul")
        if v > MAX_MAJORATION_RATE:
            raise ValueError(
                f"le taux de majoration {float(v):g} est déraisonnable (au plus {MAX_MAJORATION_RATE}, soit "
                f"{MAX_MAJORATION_RATE * 100} % ; 20 % s'écrit « 0.2 » ou « 20 % »)"
            )
        return v


def _check_unit_interval(v: Fraction) -> Fraction:
    if not 0 <= v <= 1:
        raise ValueError(f"le seuil {v} est hors de l'intervalle [0, 1] (une part s'écrit par exemple « 1/2 » pour 50 %)")
    return v


class ThresholdParam(Param):
    value: Share
    comparison: Comparison = ">="
    conflict: Conflict | None = None

    _unit = field_validator("value")(classmethod(lambda cls, v: _check_unit_interval(v)))


class TierLevel(StrictModel):
    min_share: Share
    amount_eur: Money
    source: Source
    note: str | None = None

    _unit = field_validator("min_share")(classmethod(lambda cls, v: _check_unit_interval(v)))


class Tiers(StrictModel):
    comparison: Comparison = ">="
    comparison_source: Source
    levels: list[TierLevel] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _increasing(cls, levels: list[TierLevel]) -> list[TierLevel]:
        for lower, upper in zip(levels, levels[1:]):
            if not upper.min_share > lower.min_share:
                raise ValueError(
                    f"les paliers doivent être croissants : le seuil {upper.min_share} suit le seuil {lower.min_share}"
                )
            if not upper.amount_eur > lower.amount_eur:
                raise ValueError(
                    f"les montants des paliers doivent être croissants : {upper.amount_eur} € suit {lower.amount_eur} €"
                )
        return levels


class Eligibility(StrictModel):
    min_patients_mt_ald: IntParam


class Indicator(StrictModel):
    type_codes: CodeListParam
    counted_statuses: StatusListParam
    counted_actions: ActionListParam
    all_patients: BoolParam
    structured_format_codes: CodeListParam
    structured_rule: StructuredRuleParam


class Majoration(StrictModel):
    enabled: BoolParam
    min_structured_share: ThresholdParam
    rate: RateParam


class Ponderation(StrictModel):
    enabled: BoolParam
    reference_patients: PositiveIntParam
    cap: CapParam


class Period(StrictModel):
    start: dt.date
    end: dt.date
    payment: str = Field(min_length=1)
    complement_of: str | None = None
    source: Source
    complement_source: Source | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.end < self.start:
            raise ValueError(f"la fin de la période ({self.end}) précède son début ({self.start})")
        if self.complement_of is not None and self.complement_source is None:
            raise ValueError("un complément (complement_of) doit citer sa source (complement_source)")
        return self


class ScenarioInfo(StrictModel):
    """What a simulation scenario (params/scenarios/*.yml, read by vsm/simulate.py) is about:
    a short label and the reason for the change. Absent from the rule sets themselves."""

    label: str = Field(min_length=1)
    rationale: str = Field(min_length=1)


class RuleSet(StrictModel):
    """A validated rule set. ``path``, ``files`` and ``sha256`` say where it was read from."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    base: str | None = None
    label: str = Field(min_length=1)
    population: Literal["medecin", "centre"]
    documents: dict[str, str]
    eligibility: Eligibility
    indicator: Indicator
    tiers: Tiers
    majoration: Majoration
    ponderation: Ponderation
    rounding: RoundingParam
    periods: dict[str, Period] = Field(min_length=1)
    scenario: ScenarioInfo | None = None  # a simulation scenario's label and rationale

    # provenance, filled by the loader (not read from YAML)
    path: str = ""
    files: tuple[str, ...] = ()
    sha256: str = ""

    @model_validator(mode="after")
    def _coherent(self) -> "RuleSet":
        ids = list(self.periods)
        for pid in ids:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", pid):
                raise ValueError(f"identifiant de période invalide : « {pid} »")
        for pid, period in self.periods.items():
            if period.complement_of is not None:
                if period.complement_of not in self.periods:
                    raise ValueError(
                        f"la période {pid} complète « {period.complement_of} », qui n'existe pas "
                        f"(périodes : {', '.join(ids)})"
                    )
                earlier = self.periods[period.complement_of]
                if ids.index(period.complement_of) >= ids.index(pid) or earlier.end > period.end:
                    raise ValueError(f"la période {pid} doit suivre la période {period.complement_of} qu'elle complète")
        ordered = sorted(self.periods.values(), key=lambda p: (p.end, p.start))
        if ordered != list(self.periods.values()):
            raise ValueError("les périodes doivent être données dans l'ordre chronologique de leur fin")
        largest = self.largest_amount()
        if largest >= MAX_RESULT_EUR:
            raise ValueError(
                f"avec ces paliers, ce taux de majoration et cette pondération, un professionnel de "
                f"{count_maximum():,} patients recevrait {float(largest):,.0f} € : au-delà de ce que les résultats "
                f"peuvent enregistrer ({MAX_RESULT_EUR:,} €)".replace(",", " ")
            )
        for source in self.all_sources():
            if source.seed not in self.documents:
                raise ValueError(
                    f"la source « {source.seed} » n'est pas déclarée dans `documents` (qui donne son nom lisible)"
                )
        return self

    def largest_amount(self) -> Fraction:
        """The highest amount a professional could receive: the top tier, majorated, weighted
        by the largest patientèle an input may declare (params/schemas/)."""
        amount = Fraction(max(level.amount_eur for level in self.tiers.levels))
        if self.majoration.enabled.value:
            amount *= 1 + self.majoration.rate.value
        if self.ponderation.enabled.value:
            weight = Fraction(count_maximum(), self.ponderation.reference_patients.value)
            cap = self.ponderation.cap.value
            amount *= weight if cap is None else min(weight, cap)
        return amount

    # ------------------------------------------------------------------ accessors

    def period(self, period_id: object) -> Period:
        key = str(period_id)
        if key not in self.periods:
            raise VsmError(
                f"Période inconnue : « {key} » pour le jeu de règles {self.id}. "
                f"Périodes valides : {', '.join(self.periods)}."
            )
        return self.periods[key]

    def document_label(self, seed: str) -> str:
        return self.documents.get(seed, seed)

    def all_sources(self) -> list[Source]:
        """Every Source object in the rule set (for checks and display)."""
        found: list[Source] = []

        def walk(node: Any) -> None:
            if isinstance(node, Source):
                found.append(node)
            elif isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    walk(getattr(node, name))
            elif isinstance(node, (list, tuple)):
                for item in node:
                    walk(item)
            elif isinstance(node, dict):
                for item in node.values():
                    walk(item)

        walk(self)
        return found
