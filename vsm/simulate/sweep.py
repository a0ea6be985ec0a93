"""Sweeps: one parameter path of the base rule set over exact values written as text, each
value a rule set validated by the rules model."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import VsmError
from ..rules import RuleSet, load_raw, parse_fraction, validation_message
from .scenario import HYPOTHESIS_LABEL, HYPOTHESIS_SEED, Scenario, changes, value_label

MAX_SWEEP_VALUES = 1000


@dataclass(frozen=True)
class Sweep:
    """One parameter path of the base rule set and the values it takes."""

    path: str  # as given (« tiers.levels.0.min_share »)
    values: tuple[str, ...]  # exact values, as text given to the rules model
    current: Fraction  # the base rule set's value at that path
    variants: tuple[RuleSet, ...]

    @property
    def label(self) -> str:
        return value_label(self.path)

    def numbers(self) -> list[Fraction]:
        return [exact_number(v) for v in self.values]


def exact_number(text: object) -> Fraction:
    """An exact value from its text (« 0.41 », « 2/5 », « 40 % ») or a Decimal."""
    if isinstance(text, Decimal):
        return Fraction(text)
    return parse_fraction(str(text))


def exact_text(value: Fraction) -> str:
    """An exact value as text for the rules model: a terminating decimal when it is one
    (« 0.41 », « 1000 »), else « p/q »."""
    den = value.denominator
    for prime in (2, 5):
        while den % prime == 0:
            den //= prime
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    if value.denominator == 1:
        return str(value.numerator)
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    return f"{Decimal(value.numerator) / Decimal(value.denominator):.{digits}f}"


def parse_sweep_values(text: str) -> list[str]:
    """« 0.40:0.60:0.01 » (start:end:step, end included) or « 0.4,0.45,0.5 » → exact values
    as text. Shares may be written « 2/5 » or « 40 % »."""
    spec = text.strip()
    try:
        if ":" in spec:
            parts = [p.strip() for p in spec.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, end, step = (exact_number(p) for p in parts)
            if step <= 0:
                raise VsmError(f"--sweep : le pas « {parts[2]} » doit être strictement positif.")
            if end < start:
                raise VsmError(f"--sweep : la fin « {parts[1]} » précède le début « {parts[0]} ».")
            count = int((end - start) / step) + 1
            if count > MAX_SWEEP_VALUES:
                raise VsmError(f"--sweep : {count} valeurs, au plus {MAX_SWEEP_VALUES}.")
            return [exact_text(start + k * step) for k in range(count)]
        values = [exact_number(p.strip()) for p in spec.split(",") if p.strip()]
    except ValueError:
        raise VsmError(
            f"--sweep : valeurs « {text} » illisibles (écrire début:fin:pas, par exemple 0.40:0.60:0.01, "
            "ou une liste, par exemple 0.4,0.45,0.5)."
        ) from None
    if not values:
        raise VsmError("--sweep : aucune valeur.")
    if len(values) > MAX_SWEEP_VALUES:
        raise VsmError(f"--sweep : {len(values)} valeurs, au plus {MAX_SWEEP_VALUES}.")
    return [exact_text(v) for v in values]


def _raw_rules(rules: RuleSet) -> dict:
    """The merged YAML data of a loaded rule set (its ``base:`` chain resolved)."""
    raw, _files = load_raw(Path(rules.path), ())
    return raw


def _walk(raw: dict, path: str) -> tuple[Any, Any, list[Any]]:
    """(parent container, key, the containers on the way) of ``path`` in the YAML data; a
    parameter node ({value, source}) stands for its value."""
    parts = path.split(".")
    node: Any = raw
    trail = [raw]
    for i, part in enumerate(parts):
        where = ".".join(parts[:i]) or "(racine)"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise VsmError(f"--sweep : « {path} » : {where} est une liste de {len(node)} éléments (indices 0 à {len(node) - 1}).")
            key: Any = int(part)
        elif isinstance(node, dict):
            if part not in node:
                keys = ", ".join(str(k) for k in node if k not in ("source", "description", "note"))
                raise VsmError(f"--sweep : chemin « {path} » inconnu dans le jeu de règles : sous {where}, clés possibles : {keys}.")
            key = part
        else:
            raise VsmError(f"--sweep : chemin « {path} » : {where} est une valeur, pas un dictionnaire.")
        if i == len(parts) - 1:
            parent = node
            child = node[key]
            if isinstance(child, dict) and "value" in child:
                trail.append(child)
                return child, "value", trail
            return parent, key, trail
        node = node[key]
        trail.append(node)
    raise VsmError(f"--sweep : chemin « {path} » vide.")


def default_sweep_spec(base: RuleSet, scenario: Scenario) -> str | None:
    """The sweep a report shows when none is asked for: the one numeric value the scenario
    changes, from its current value minus the change to plus the change, in 20 exact steps
    (« tiers.levels.0.min_share=0.4:0.6:0.01 » for a first tier moved from 50 % to 40 %).
    None when the scenario changes something else or several values."""
    numeric = [
        c for c in changes(base, scenario.rules)
        if all(isinstance(v, (Fraction, Decimal, int)) and not isinstance(v, bool) for v in (c.before, c.after))
        and c.path != "tiers.levels"
    ]
    if len(numeric) != 1:
        return None
    change = numeric[0]
    before, after = Fraction(change.before), Fraction(change.after)
    delta = abs(after - before)
    step = delta / 10
    if isinstance(change.before, int):
        step = Fraction(max(1, int(step)))
    elif isinstance(change.before, Decimal):
        step = max(Fraction(1, 100), Fraction(int(step * 100), 100))
    low, high = max(before - delta, Fraction(0)), before + delta
    if change.path.endswith(("min_share", "min_structured_share")):
        high = min(high, Fraction(1))
    return f"{change.path}={exact_text(low)}:{exact_text(high)}:{exact_text(step)}"


def make_sweep(base: RuleSet, spec: str, skip_invalid: bool = False, skipped: list[str] | None = None) -> Sweep:
    """``path=values`` → the rule sets of the sweep, each validated by the rules model. The
    swept value's source becomes « hypothèse de simulation (balayage) »."""
    if "=" not in spec:
        raise VsmError(f"--sweep : « {spec} » : écrire chemin=valeurs, par exemple tiers.levels.0.min_share=0.40:0.60:0.01.")
    path, _, text = spec.partition("=")
    path = path.strip().removesuffix(".value")
    values = parse_sweep_values(text)
    raw = _raw_rules(base)
    container, key, trail = _walk(raw, path)
    current_raw = container[key]
    if isinstance(current_raw, bool) or current_raw is None or isinstance(current_raw, (list, dict)):
        raise VsmError(f"--sweep : « {path} » n'est pas une valeur numérique (valeur actuelle : {current_raw}).")
    try:
        current = exact_number(current_raw)
    except ValueError:
        raise VsmError(f"--sweep : « {path} » n'est pas une valeur numérique (valeur actuelle : {current_raw}).") from None
    variants = []
    for i, value in enumerate(values):
        data = copy.deepcopy(raw)
        target, target_key, way = _walk(data, path)
        target[target_key] = value
        holder = next((n for n in reversed(way) if isinstance(n, dict) and "source" in n), None)
        if holder is not None:
            holder["source"] = {
                "seed": HYPOTHESIS_SEED,
                "passage": f"balayage de {path}",
                "quote": f"{path} = {value}",
            }
            holder.pop("conflict", None)
        data["documents"] = {**(data.get("documents") or {}), HYPOTHESIS_SEED: HYPOTHESIS_LABEL}
        data["id"] = f"{base.id}.balayage-{i + 1}"
        data["label"] = f"{base.label} — {value_label(path)} = {value}"
        data["scenario"] = {"label": f"{value_label(path)} = {value}", "rationale": f"balayage de {path}"}
        digest = hashlib.sha256(f"{base.sha256}\0{path}\0{value}".encode()).hexdigest()
        try:
            variant = RuleSet.model_validate({**data, "path": base.path, "files": base.files, "sha256": digest})
        except ValidationError as exc:
            if skip_invalid:
                if skipped is not None:
                    skipped.append(value)
                continue
            problems = "\n".join(f"  - {validation_message(err)}" for err in exc.errors())
            raise VsmError(f"--sweep : {path} = {value} donne un jeu de règles invalide :\n{problems}") from None
        variants.append(variant)
    kept = tuple(v for v in values if not (skipped and v in skipped))
    if not variants:
        raise VsmError(f"--sweep : aucune valeur de {path} ne donne un jeu de règles valide.")
    return Sweep(path, kept, current, tuple(variants))

