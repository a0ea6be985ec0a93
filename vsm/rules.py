"""Rule sets: dated values with their sources, read from params/rules/*.yml and validated.

A rule set is data (OpenFisca-style parameters with references): every threshold, amount,
date and weight comes from a YAML file, each value with the seed file and passage it comes
from. Code never hard-codes them. Shares are kept as exact fractions and money as Decimal.

A file may start from another rule set with ``base: <id or path>``: mappings are merged key
by key, but a parameter node (a mapping holding ``value``), the tiers and the periods are
replaced whole, so that a new value never silently inherits the old value's source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import VsmError
from .paths import count_maximum, read_yaml_file, rules_dir

# --------------------------------------------------------------------------- value types

MAX_NUMBER_TEXT = 40  # « 1/3 », « 0.9 », « 50 % »: a longer number is a typo, not a rule
# A rule's amount (a tier, e.g. 3 000 €) and rate (a majoration, e.g. 20 %) stay far from what
# the results can hold: with at most MAX_COUNT patients (params/schemas/), an amount times
# (1 + rate) times the weight always fits decimal(14,2) (checked by RuleSet._coherent).
MAX_RULE_AMOUNT = Decimal("1000000.00")
MAX_MAJORATION_RATE = Fraction(10)
MAX_RESULT_EUR = 10**12  # results hold money as decimal(14, 2) (results.MONEY_PRECISION)


def _parse_fraction(value: Any) -> Fraction:
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


def _parse_money(value: Any) -> Decimal:
    """'1500.00' or 1500 → Decimal('1500.00'); at most two decimals, never negative."""
    if isinstance(value, bool):
        raise ValueError("un montant est attendu, pas vrai/faux")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"« {value} » n'est pas un montant en euros (écrire par exemple « 1500.00 »)")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"« {value} » n'est pas un montant en euros (écrire par exemple « 1500.00 »)") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"« {value} » : le montant doit être positif ou nul")
    if amount > MAX_RULE_AMOUNT:
        raise ValueError(f"« {value} » : montant déraisonnable (au plus {MAX_RULE_AMOUNT} € dans un jeu de règles)")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"« {value} » : un montant a au plus deux décimales (centimes)")
    return amount.quantize(Decimal("0.01"))


Share = Annotated[Fraction, BeforeValidator(_parse_fraction)]
Money = Annotated[Decimal, BeforeValidator(_parse_money)]
Comparison = Literal[">=", ">"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Source(_Strict):
    """Where a value comes from: the seed file, the passage, and a short verbatim quote."""

    seed: str = Field(min_length=1)
    passage: str = Field(min_length=1)
    quote: str = Field(min_length=1)


class Conflict(_Strict):
    """Two sources that disagree, and which reading the rule set follows."""

    summary: str
    chosen: str
    sources: list[Source] = Field(min_length=2)


class _Param(_Strict):
    description: str | None = None
    source: Source
    note: str | None = None


class BoolParam(_Param):
    value: bool


class IntParam(_Param):
    value: int = Field(ge=0)


class PositiveIntParam(_Param):
    value: int = Field(gt=0)


class CapParam(_Param):
    value: Share | None = None

    @field_validator("value")
    @classmethod
    def _positive(cls, v: Fraction | None) -> Fraction | None:
        if v is not None and v <= 0:
            raise ValueError("le plafond de pondération doit être strictement positif (ou null : pas de plafond)")
        return v


class CodeListParam(_Param):
    value: list[str] = Field(min_length=1)


class StatusListParam(_Param):
    value: list[Literal["success", "failure"]] = Field(min_length=1)


class ActionListParam(_Param):
    value: list[Literal["creation", "update", "deletion"]] = Field(min_length=1)


class StructuredRuleParam(_Param):
    value: Literal["any", "latest"]


class RoundingParam(_Param):
    value: Literal["half_up_cent"]


class RateParam(_Param):
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


class ThresholdParam(_Param):
    value: Share
    comparison: Comparison = ">="
    conflict: Conflict | None = None

    _unit = field_validator("value")(classmethod(lambda cls, v: _check_unit_interval(v)))


class TierLevel(_Strict):
    min_share: Share
    amount_eur: Money
    source: Source
    note: str | None = None

    _unit = field_validator("min_share")(classmethod(lambda cls, v: _check_unit_interval(v)))


class Tiers(_Strict):
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


class Eligibility(_Strict):
    min_patients_mt_ald: IntParam


class Indicator(_Strict):
    type_codes: CodeListParam
    counted_statuses: StatusListParam
    counted_actions: ActionListParam
    all_patients: BoolParam
    structured_format_codes: CodeListParam
    structured_rule: StructuredRuleParam


class Majoration(_Strict):
    enabled: BoolParam
    min_structured_share: ThresholdParam
    rate: RateParam


class Ponderation(_Strict):
    enabled: BoolParam
    reference_patients: PositiveIntParam
    cap: CapParam


class Period(_Strict):
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


class ScenarioInfo(_Strict):
    """What a simulation scenario (params/scenarios/*.yml, read by vsm/simulate.py) is about:
    a short label and the reason for the change. Absent from the rule sets themselves."""

    label: str = Field(min_length=1)
    rationale: str = Field(min_length=1)


class RuleSet(_Strict):
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


# --------------------------------------------------------------------------- loading

_REPLACED_WHOLE = {"periods", "tiers"}


def _is_param_node(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if (
            key not in _REPLACED_WHOLE
            and isinstance(value, dict)
            and isinstance(current, dict)
            and not _is_param_node(value)
            and not _is_param_node(current)
        ):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def _resolve(ref: str | Path, relative_to: Path | None = None) -> Path:
    text = str(ref)
    candidate = Path(text)
    looks_like_path = text.endswith((".yml", ".yaml")) or "/" in text or "\\" in text
    if looks_like_path:
        if not candidate.is_absolute() and relative_to is not None and not candidate.exists():
            candidate = relative_to / candidate
        if not candidate.is_file():
            raise VsmError(f"Fichier de règles introuvable : « {text} ».")
        return candidate
    path = rules_dir() / f"{text}.yml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(rules_dir().glob("*.yml")))
        raise VsmError(f"Jeu de règles inconnu : « {text} ». Jeux disponibles : {known}.")
    return path


def _read_yaml(path: Path) -> dict:
    """A rules file: bounded size and alias expansion, UTF-8, no duplicate key (paths.py)."""
    data = read_yaml_file(path, "Fichier de règles")
    if not isinstance(data, dict):
        raise VsmError(f"Fichier de règles « {path} » : un dictionnaire YAML est attendu.")
    return data


def _load_raw(path: Path, seen: tuple[Path, ...]) -> tuple[dict, tuple[Path, ...]]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " → ".join(str(p) for p in (*seen, resolved))
        raise VsmError(f"Jeu de règles : héritage circulaire ({chain}).")
    data = _read_yaml(path)
    base_ref = data.get("base")
    if base_ref is None:
        return data, (resolved,)
    base_data, base_files = _load_raw(_resolve(base_ref, relative_to=path.parent), (*seen, resolved))
    base_documents = dict(base_data.get("documents") or {})
    merged = _merge(base_data, data)
    merged["documents"] = {**base_documents, **(data.get("documents") or {})}
    return merged, (resolved, *base_files)


_FRENCH_TYPES = {
    "extra_forbidden": "clé inconnue",
    "int_parsing": "un entier est attendu",
    "int_type": "un entier est attendu",
    "int_from_float": "un entier est attendu",
    "bool_parsing": "vrai/faux (true/false) attendu",
    "bool_type": "vrai/faux (true/false) attendu",
    "string_type": "un texte est attendu",
    "list_type": "une liste est attendue",
    "dict_type": "un dictionnaire est attendu",
    "model_type": "un dictionnaire est attendu",
    "date_from_datetime_parsing": "date invalide (AAAA-MM-JJ attendue)",
    "date_parsing": "date invalide (AAAA-MM-JJ attendue)",
    "date_type": "date invalide (AAAA-MM-JJ attendue)",
    "string_too_short": "ne doit pas être vide",
    "too_short": "ne doit pas être vide",
    "string_pattern_mismatch": "format invalide (minuscules, chiffres, « - », « . » ou « _ »)",
}


def _french_error(err: dict) -> str:
    loc = " → ".join(str(part) for part in err["loc"]) or "(racine)"
    kind = err["type"]
    if kind == "missing":
        if err["loc"] and err["loc"][-1] in ("source", "comparison_source", "complement_source"):
            return f"{loc} : valeur sans source (seed, passage, quote sont obligatoires)"
        return f"{loc} : valeur manquante"
    if kind == "value_error":
        return f"{loc} : {err['ctx']['error']}"
    if kind == "literal_error":
        return f"{loc} : valeur « {err.get('input')} » non autorisée (valeurs possibles : {err['ctx']['expected']})"
    if kind in ("greater_than", "greater_than_equal"):
        bound = err["ctx"].get("gt", err["ctx"].get("ge"))
        sign = ">" if kind == "greater_than" else "≥"
        return f"{loc} : la valeur doit être {sign} {bound}"
    return f"{loc} : {_FRENCH_TYPES.get(kind, 'valeur invalide')} (valeur lue : « {err.get('input')} »)"


def load_rules(ref: str | Path) -> RuleSet:
    """Load a rule set by id (``medecins-2024``) or by file path, and validate it.

    Raises VsmError with a French message naming every problem found.
    """
    path = _resolve(ref)
    raw, files = _load_raw(path, ())
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
    try:
        rules = RuleSet.model_validate(
            {**raw, "path": str(path), "files": tuple(str(f) for f in files), "sha256": digest.hexdigest()}
        )
    except ValidationError as exc:
        problems = "\n".join(f"  - {_french_error(err)}" for err in exc.errors())
        raise VsmError(f"Jeu de règles « {path} » invalide :\n{problems}") from None
    return rules


def list_rules() -> list[RuleSet]:
    """Every rule set shipped in params/rules/, in file-name order."""
    return [load_rules(path) for path in sorted(rules_dir().glob("*.yml"))]
