"""Scenarios: a rule-set variant (``base:`` plus the values that change) with a ``scenario:``
block, checked against the base rule set of the simulation; what a variant changes, in French."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import VsmError
from ..rules import RuleSet, Source, load_rules

HYPOTHESIS_SEED = "hypothese-de-simulation"
HYPOTHESIS_LABEL = "hypothèse de simulation"


@dataclass(frozen=True)
class Change:
    """One value a variant changes: where, what it was, what it becomes, and both sources."""

    path: str
    label: str
    before: Any
    after: Any
    source_before: Source | None
    source_after: Source | None


# French names of the rule values a scenario may change (paths as in the YAML files)
_LABELS = {
    "eligibility.min_patients_mt_ald": "patients MT en ALD minimum pour être éligible",
    "indicator.type_codes": "typeCode des VSM comptés",
    "indicator.counted_statuses": "statuts d'alimentation comptés",
    "indicator.counted_actions": "actions comptées",
    "indicator.all_patients": "tous les DMP alimentés comptent (ALD ou non)",
    "indicator.structured_format_codes": "formatCode des VSM structurés",
    "indicator.structured_rule": "règle de comptage des VSM structurés",
    "tiers.comparison": "comparaison aux seuils des paliers",
    "majoration.enabled": "majoration pour données structurées",
    "majoration.min_structured_share": "part structurée minimale pour la majoration",
    "majoration.rate": "taux de majoration",
    "ponderation.enabled": "pondération par la patientèle",
    "ponderation.reference_patients": "patientèle « médecin traitant » de référence",
    "ponderation.cap": "plafond de la pondération",
    "rounding": "arrondi",
}


def value_label(path: str) -> str:
    """The French name of a rule value from its path (« seuil du palier 1 »…)."""
    parts = path.split(".")
    if parts[:2] == ["tiers", "levels"] and len(parts) >= 4 and parts[2].isdigit():
        what = {"min_share": "seuil", "amount_eur": "montant"}.get(parts[3], parts[3])
        return f"{what} du palier {int(parts[2]) + 1}"
    if parts[0] == "periods" and len(parts) >= 3:
        what = {"start": "début", "end": "fin", "payment": "versement", "complement_of": "période complétée"}.get(parts[2], parts[2])
        return f"{what} de la période {parts[1]}"
    key = ".".join(p for p in parts if p != "value")
    return _LABELS.get(key, key)


def _leaves(rules: RuleSet) -> dict[str, tuple[Any, Source | None]]:
    """Every rule value of a rule set by path, with the source that covers it."""
    out: dict[str, tuple[Any, Source | None]] = {}

    def param(path: str, node) -> None:
        out[path] = (node.value, node.source)
        if hasattr(node, "comparison"):
            out[path + ".comparison"] = (node.comparison, node.source)

    out["eligibility.min_patients_mt_ald"] = (rules.eligibility.min_patients_mt_ald.value, rules.eligibility.min_patients_mt_ald.source)
    for name in type(rules.indicator).model_fields:
        param(f"indicator.{name}", getattr(rules.indicator, name))
    out["tiers.comparison"] = (rules.tiers.comparison, rules.tiers.comparison_source)
    out["tiers.levels"] = (len(rules.tiers.levels), rules.tiers.comparison_source)
    for i, level in enumerate(rules.tiers.levels):
        out[f"tiers.levels.{i}.min_share"] = (level.min_share, level.source)
        out[f"tiers.levels.{i}.amount_eur"] = (level.amount_eur, level.source)
    for group in ("majoration", "ponderation"):
        node = getattr(rules, group)
        for name in type(node).model_fields:
            param(f"{group}.{name}", getattr(node, name))
    out["rounding"] = (rules.rounding.value, rules.rounding.source)
    for pid, period in rules.periods.items():
        for name in ("start", "end", "payment", "complement_of"):
            out[f"periods.{pid}.{name}"] = (getattr(period, name), period.source)
    return out


def changes(base: RuleSet, variant: RuleSet) -> list[Change]:
    """The rule values ``variant`` changes from ``base``, in rule-set order."""
    before, after = _leaves(base), _leaves(variant)
    found = []
    for path in [*before, *(p for p in after if p not in before)]:
        old, new = before.get(path, (None, None)), after.get(path, (None, None))
        if old[0] != new[0]:
            found.append(Change(path, value_label(path), old[0], new[0], old[1], new[1]))
    return found


@dataclass(frozen=True)
class Scenario:
    """A scenario file, loaded: its rule set (validated), label and rationale."""

    rules: RuleSet
    path: str

    @property
    def id(self) -> str:
        return self.rules.id

    @property
    def label(self) -> str:
        return self.rules.scenario.label if self.rules.scenario else self.rules.label

    @property
    def rationale(self) -> str:
        return self.rules.scenario.rationale if self.rules.scenario else ""


def load_scenario(path: str | Path, base: RuleSet) -> Scenario:
    """Load a scenario file and check it against the base rule set of the simulation: it is
    a variant (``base:``) with a ``scenario:`` block, of the same population and periods,
    and each value it changes carries its own source."""
    file = Path(path)
    if not file.is_file():
        raise VsmError(f"Scénario introuvable : « {path} ».")
    rules = load_rules(file)
    where = f"Scénario « {path} »"
    if rules.scenario is None:
        raise VsmError(f"{where} : bloc « scenario: » (label, rationale) manquant — ce fichier est un jeu de règles, pas un scénario.")
    if rules.base is None:
        raise VsmError(f"{where} : un scénario est une variante d'un jeu de règles (« base: medecins-2024 » puis les valeurs qui changent).")
    if rules.population != base.population:
        raise VsmError(
            f"{where} : population « {rules.population} », le jeu de règles de référence {base.id} porte sur « {base.population} »."
        )
    if list(rules.periods) != list(base.periods):
        raise VsmError(
            f"{where} : périodes {', '.join(rules.periods)}, celles du jeu de référence {base.id} sont {', '.join(base.periods)}."
        )
    unsourced = [c for c in changes(base, rules) if c.source_after is not None and c.source_after == c.source_before]
    if unsourced:
        names = ", ".join(f"{c.path} ({c.label})" for c in unsourced)
        raise VsmError(
            f"{where} : valeur modifiée sans nouvelle source : {names}. Chaque valeur changée cite sa source "
            f"(pour un scénario : seed « {HYPOTHESIS_SEED} », déclaré dans documents, et la justification en citation)."
        )
    return Scenario(rules, str(path))

