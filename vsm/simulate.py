"""Simulations: what a rule change would cost, who gains and who loses.

A *scenario* (params/scenarios/*.yml) is a rule-set variant — ``base:`` plus the values that
change, validated like any rule set (vsm/rules.py) — with a ``scenario:`` block (label,
rationale). Every value it changes must carry its own source (for a scenario, « hypothèse de
simulation » quoting the rationale): a changed value that kept its base's source is refused.

A *sweep* varies one parameter path of the base rule set (``tiers.levels.0.min_share``,
``ponderation.reference_patients``…) over exact values written as text (``0.40:0.60:0.01``
or ``0.4,0.45,0.5``: Fractions from the text, never float steps); each value is a rule set
validated by the rules model, so an impossible value gets the same French error as a bad
rule-set file.

Computation: the traces are aggregated once per distinct *counting configuration*
(population, type codes, statuses, actions, structured format codes, structured rule, the
periods' dates) — variants that change only tiers, amounts, majoration or weighting reuse
the same counts — by the pipeline's own stages (:func:`vsm.pipeline.open_inputs`,
:func:`vsm.aggregate.aggregate_periods`); each rule set is then computed by the pure forfait
(:func:`vsm.forfait.compute_columns`), a complement period against the same rule set's own
earlier period. Money stays in integer cents; what a period pays is the complement for a
complement period, the amount otherwise.

Outputs (written to a staging folder, then put in place; a folder vsm did not write is
never replaced): per scenario and period, one row per professional with the baseline
payment, the scenario payment and the difference (Parquet and CSV); a summary per scenario
× period × region and France entière (JSON and CSV); the sweep table; the manifest.
The files are for machines and are not published: the report (vsm/report_simulation.py)
applies statistical secrecy.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .errors import VsmError
from .rules import RuleSet, Source, load_rules

if TYPE_CHECKING:
    import numpy as np

SIMULATION_KIND = "simulation"
MANIFEST_FILE = "manifest.json"
SUMMARY_JSON, SUMMARY_CSV = "synthese.json", "synthese.csv"
SWEEP_JSON, SWEEP_CSV = "balayage.json", "balayage.csv"
BASELINE_DIR = "reference"  # reference/<period>/resultats.parquet: the current rule's results (as vsm run)
SWEEP_DIR = "balayage"  # balayage/<period>.parquet: per professional, the payment at each value
PROFESSIONALS_FILE = "professionnels"  # <scenario>/<period>/professionnels.{parquet,csv}
NATIONAL = "national"
HYPOTHESIS_SEED = "hypothese-de-simulation"
HYPOTHESIS_LABEL = "hypothèse de simulation"
MAX_SWEEP_VALUES = 1000
CENT = Decimal("0.01")


# --------------------------------------------------------------------------- scenarios


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


# --------------------------------------------------------------------------- sweeps


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
        return [_number(v) for v in self.values]


def _number(text: object) -> Fraction:
    from .rules import parse_fraction as _parse_fraction

    if isinstance(text, Decimal):
        return Fraction(text)
    return _parse_fraction(str(text))


def _text(value: Fraction) -> str:
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
            start, end, step = (_number(p) for p in parts)
            if step <= 0:
                raise VsmError(f"--sweep : le pas « {parts[2]} » doit être strictement positif.")
            if end < start:
                raise VsmError(f"--sweep : la fin « {parts[1]} » précède le début « {parts[0]} ».")
            count = int((end - start) / step) + 1
            if count > MAX_SWEEP_VALUES:
                raise VsmError(f"--sweep : {count} valeurs, au plus {MAX_SWEEP_VALUES}.")
            return [_text(start + k * step) for k in range(count)]
        values = [_number(p.strip()) for p in spec.split(",") if p.strip()]
    except ValueError:
        raise VsmError(
            f"--sweep : valeurs « {text} » illisibles (écrire début:fin:pas, par exemple 0.40:0.60:0.01, "
            "ou une liste, par exemple 0.4,0.45,0.5)."
        ) from None
    if not values:
        raise VsmError("--sweep : aucune valeur.")
    if len(values) > MAX_SWEEP_VALUES:
        raise VsmError(f"--sweep : {len(values)} valeurs, au plus {MAX_SWEEP_VALUES}.")
    return [_text(v) for v in values]


def _raw_rules(rules: RuleSet) -> dict:
    """The merged YAML data of a loaded rule set (its ``base:`` chain resolved)."""
    from .rules import load_raw as _load_raw

    raw, _files = _load_raw(Path(rules.path), ())
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
    return f"{change.path}={_text(low)}:{_text(high)}:{_text(step)}"


def make_sweep(base: RuleSet, spec: str, skip_invalid: bool = False, skipped: list[str] | None = None) -> Sweep:
    """``path=values`` → the rule sets of the sweep, each validated by the rules model. The
    swept value's source becomes « hypothèse de simulation (balayage) »."""
    from pydantic import ValidationError

    from .rules import validation_message as _french_error

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
        current = _number(current_raw)
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
            problems = "\n".join(f"  - {_french_error(err)}" for err in exc.errors())
            raise VsmError(f"--sweep : {path} = {value} donne un jeu de règles invalide :\n{problems}") from None
        variants.append(variant)
    kept = tuple(v for v in values if not (skipped and v in skipped))
    if not variants:
        raise VsmError(f"--sweep : aucune valeur de {path} ne donne un jeu de règles valide.")
    return Sweep(path, kept, current, tuple(variants))


# --------------------------------------------------------------------------- computation


def counting_key(rules: RuleSet, periods: list[str]) -> tuple:
    """What the aggregation of the traces depends on: rule sets with the same key share the
    same counts per professional."""
    ind = rules.indicator
    return (
        rules.population,
        tuple(ind.type_codes.value),
        tuple(sorted(ind.counted_statuses.value)),
        tuple(sorted(ind.counted_actions.value)),
        tuple(sorted(ind.structured_format_codes.value)),
        ind.structured_rule.value,
        tuple((pid, rules.period(pid).start, rules.period(pid).end) for pid in periods),
    )


@dataclass
class Payments:
    """One rule set, one period: per professional (sorted ids), what the forfait gives."""

    ps_id: np.ndarray
    region: np.ndarray
    tier: np.ndarray
    amount_cents: np.ndarray  # the forfait of the period
    payable_cents: np.ndarray  # what the period pays: the complement for a complement period


@dataclass
class Computed:
    rules: RuleSet
    periods: dict[str, Payments]
    runs: dict[str, Any] = field(default_factory=dict)  # the baseline's pipeline.PeriodRun of each period


@dataclass
class Aggregation:
    """One counting configuration: the rule sets computed from it and its tallies."""

    key: tuple
    rules_ids: list[str]
    feed_tally: dict[str, dict[str, int]]
    seconds: float


def needed_periods(rules: RuleSet, periods: list[str]) -> list[str]:
    """``periods`` plus the earlier periods they complement, in rule-set order."""
    wanted = set(periods)
    for pid in periods:
        base = rules.period(pid).complement_of
        while base is not None:
            wanted.add(base)
            base = rules.period(base).complement_of
    return [p for p in rules.periods if p in wanted]


def compute_from_counts(rules: RuleSet, aggregates: dict, periods: list[str], keep: bool = False) -> Computed:
    """Each period of ``rules`` from counts already aggregated; a complement period against
    this rule set's own earlier period."""
    import numpy as np

    from .forfait import COUNT_COLUMNS, compute_columns, paid_cents_for

    out: dict[str, Payments] = {}
    runs: dict[str, Any] = {}
    for pid in periods:
        counts = aggregates[pid].columns
        base = rules.period(pid).complement_of
        paid = None
        if base is not None:
            earlier = out[base]
            paid = paid_cents_for(counts["ps_id"], earlier.ps_id, earlier.amount_cents)
        computed = compute_columns(*(counts[c] for c in COUNT_COLUMNS), rules, pid, paid_cents=paid)
        amount = np.asarray(computed["amount_cents"], dtype=np.int64)
        payable = np.asarray(computed["complement_cents"], dtype=np.int64) if paid is not None else amount
        out[pid] = Payments(counts["ps_id"], counts["region"], computed["tier"], amount, payable)
        if keep:
            from .pipeline import PeriodRun

            runs[pid] = PeriodRun(pid, aggregates[pid], computed)
    return Computed(rules, out, runs)


@dataclass
class Engine:
    """Rule sets computed on the same extracts, one aggregation per counting configuration."""

    computed: dict[str, Computed]
    aggregations: list[Aggregation]
    feeds: Any  # extracts.Extract
    patientele: Any
    periods: list[str]


def compute_rule_sets(
    rule_sets: list[RuleSet],
    feeds: Path | str,
    patientele: Path | str,
    periods: list[str],
    say: Callable[[str], None] = lambda _text: None,
) -> Engine:
    """Every rule set over ``periods`` (with the periods they complement)."""
    from .aggregate import aggregate_periods
    from .pipeline import connect, open_inputs, warm_up

    warm_up()
    groups: dict[tuple, list[RuleSet]] = {}
    for rules in rule_sets:
        groups.setdefault(counting_key(rules, needed_periods(rules, periods)), []).append(rules)
    computed: dict[str, Computed] = {}
    aggregations: list[Aggregation] = []
    feeds_extract = patientele_extract = None
    for key, members in groups.items():
        first = members[0]
        wanted = needed_periods(first, periods)
        started = time.perf_counter()
        con = connect()
        try:
            inputs = open_inputs(con, feeds, patientele, first, wanted)
            if feeds_extract is None:
                feeds_extract, patientele_extract = inputs.feeds, inputs.patientele

                def hash_inputs(extracts=(inputs.feeds, inputs.patientele)) -> None:
                    for extract in extracts:
                        for file in extract.file_info:
                            file.start_digest()
            else:
                hash_inputs = None  # type: ignore[assignment]
            aggregates = aggregate_periods(con, inputs.feeds, first, wanted, tally=inputs.tally, after_scans=hash_inputs)
        finally:
            con.close()
        for rules in members:
            if rules.id in computed:
                raise VsmError(f"Deux jeux de règles de la simulation ont le même identifiant : « {rules.id} ».")
            computed[rules.id] = compute_from_counts(rules, aggregates, wanted, keep=rules is rule_sets[0])
        aggregations.append(
            Aggregation(key, [r.id for r in members], {pid: agg.feed_tally for pid, agg in aggregates.items()},
                        round(time.perf_counter() - started, 3))
        )
        say(f"Traces agrégées ({len(aggregations)}/{len(groups)}) pour {len(members)} jeu(x) de règles.")
    return Engine(computed, aggregations, feeds_extract, patientele_extract, list(periods))


# --------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """Baseline and one variant, one period, aligned on the union of their professionals."""

    ps_id: np.ndarray
    region: np.ndarray
    baseline_tier: np.ndarray
    scenario_tier: np.ndarray
    baseline_cents: np.ndarray
    scenario_cents: np.ndarray

    @property
    def difference_cents(self) -> np.ndarray:
        return self.scenario_cents - self.baseline_cents

    def columns(self) -> dict[str, np.ndarray]:
        """The per-professional table (money in cents, written as exact euros)."""
        return {
            "ps_id": self.ps_id,
            "region": self.region,
            "baseline_tier": self.baseline_tier,
            "scenario_tier": self.scenario_tier,
            "baseline_cents": self.baseline_cents,
            "scenario_cents": self.scenario_cents,
            "difference_cents": self.difference_cents,
        }


def align(payments: list[Payments], universe: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The union of professionals of several results (or ``universe``), their region, and for
    each result its (tier, payable cents) on that union (0 where absent)."""
    import numpy as np

    if universe is None and payments and all(p.ps_id is payments[0].ps_id for p in payments):
        # computed from the same counts: already one sorted row per professional, in the same order
        return payments[0].ps_id, payments[0].region.astype(object), [(p.tier, p.payable_cents) for p in payments]
    ids = universe if universe is not None else np.unique(np.concatenate([p.ps_id.astype(object) for p in payments])) if payments else np.empty(0, dtype=object)
    ids = np.asarray(ids, dtype=object)
    region = np.full(len(ids), None, dtype=object)
    aligned = []
    for p in payments:
        pos = np.searchsorted(ids, p.ps_id.astype(object)) if len(ids) else np.zeros(0, dtype=np.int64)
        if len(pos) and not (np.all(pos < len(ids)) and np.all(ids[np.minimum(pos, len(ids) - 1)] == p.ps_id)):
            raise AssertionError("Incohérence interne : professionnels hors de l'union.")
        missing = np.array([r is None for r in region[pos]], dtype=bool) if len(pos) else np.zeros(0, dtype=bool)
        region[pos[missing]] = p.region[missing]
        tier = np.zeros(len(ids), dtype=np.int64)
        cents = np.zeros(len(ids), dtype=np.int64)
        tier[pos] = p.tier
        cents[pos] = p.payable_cents
        aligned.append((tier, cents))
    return ids, region, aligned


def compare(baseline: Payments, scenario: Payments) -> Comparison:
    ids, region, [(bt, bc), (st, sc)] = align([baseline, scenario])
    return Comparison(ids, region, bt, st, bc, sc)


def _eur(cents: int) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)


def _round_cent(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENT, rounding=ROUND_HALF_UP)


def _mean(cents: np.ndarray) -> Decimal | None:
    if not len(cents):
        return None
    return _round_cent(Fraction(int(cents.sum()), len(cents) * 100))


def _median(cents: np.ndarray) -> Decimal | None:
    import numpy as np

    if not len(cents):
        return None
    ordered = np.sort(cents)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return _eur(int(ordered[mid]))
    return _round_cent(Fraction(int(ordered[mid - 1]) + int(ordered[mid]), 200))


def change_percent(change: Decimal, baseline: Decimal) -> Decimal | None:
    """Change in cost as a percentage of the baseline, rounded once to 0.01 (half up)."""
    if baseline == 0:
        return None
    return _round_cent(Fraction(change) * 100 / Fraction(baseline))


def summary_figures(c: Comparison, mask: np.ndarray | None = None) -> dict:
    """The budget impact of one comparison (on ``mask``'s professionals): exact money."""
    import numpy as np

    if mask is None:
        mask = np.ones(len(c.ps_id), dtype=bool)
    b, s = c.baseline_cents[mask], c.scenario_cents[mask]
    d = s - b
    cost_b, cost_s = _eur(int(b.sum())), _eur(int(s.sum()))
    change = cost_s - cost_b
    gains, losses = d[d > 0], -d[d < 0]
    return {
        "professionals": int(mask.sum()),
        "paid_baseline": int((b > 0).sum()),
        "paid_scenario": int((s > 0).sum()),
        "cost_baseline_eur": cost_b,
        "cost_scenario_eur": cost_s,
        "change_eur": change,
        "change_pct": change_percent(change, cost_b),
        "gaining": int((d > 0).sum()),
        "losing": int((d < 0).sum()),
        "unchanged": int((d == 0).sum()),
        "mean_gain_eur": _mean(gains),
        "median_gain_eur": _median(gains),
        "mean_loss_eur": _mean(losses),
        "median_loss_eur": _median(losses),
        "newly_paid": int(((b == 0) & (s > 0)).sum()),
        "no_longer_paid": int(((b > 0) & (s == 0)).sum()),
        "tier_changed": int((c.baseline_tier[mask] != c.scenario_tier[mask]).sum()),
    }


SUMMARY_FIELDS = (
    "scenario", "period", "region", "professionals", "paid_baseline", "paid_scenario", "cost_baseline_eur",
    "cost_scenario_eur", "change_eur", "change_pct", "gaining", "losing", "unchanged", "mean_gain_eur",
    "median_gain_eur", "mean_loss_eur", "median_loss_eur", "newly_paid", "no_longer_paid", "tier_changed",
)


def summary_rows(scenario_id: str, period: str, c: Comparison) -> list[dict]:
    """France entière, then each region (codes in order; unknown regions last)."""
    import numpy as np

    rows = [{"scenario": scenario_id, "period": period, "region": NATIONAL, **summary_figures(c)}]
    codes = np.array([str(r) for r in c.region], dtype=object)
    for code in sorted(set(codes.tolist())):
        rows.append({"scenario": scenario_id, "period": period, "region": code, **summary_figures(c, codes == code)})
    return rows


def transitions(c: Comparison, mask: np.ndarray | None = None) -> dict[str, int]:
    """Professionals by (baseline tier, scenario tier): « 0>1 » → count."""
    import numpy as np

    if mask is None:
        mask = np.ones(len(c.ps_id), dtype=bool)
    pairs = np.stack([c.baseline_tier[mask], c.scenario_tier[mask]], axis=1) if mask.any() else np.zeros((0, 2), dtype=np.int64)
    found, counts = np.unique(pairs, axis=0, return_counts=True) if len(pairs) else (np.zeros((0, 2)), np.zeros(0))
    return {f"{int(a)}>{int(b)}": int(n) for (a, b), n in zip(found, counts)}


def sweep_rows(sweep: Sweep, engine: Engine, baseline: RuleSet, periods: list[str]) -> list[dict]:
    """Cost and professionals paid for each value (and the current rule), exact."""
    rows = []
    points = [(v, r.id, False) for v, r in zip(sweep.values, sweep.variants)]
    if not any(_number(v) == sweep.current for v in sweep.values):
        points.append((_text(sweep.current), baseline.id, True))
    for pid in periods:
        for value, rules_id, added in sorted(points, key=lambda p: _number(p[0])):
            pay = engine.computed[rules_id].periods[pid]
            rows.append({
                "value": value,
                "current": _number(value) == sweep.current,
                "added_current": added,
                "period": pid,
                "rules": rules_id,
                "paid": int((pay.payable_cents > 0).sum()),
                "cost_eur": _eur(int(pay.payable_cents.sum())),
            })
    return rows


# --------------------------------------------------------------------------- writing


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Fraction):
        return str(value)
    return value


def _csv_text(rows: list[dict], fields: tuple[str, ...] | list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else _json_value(row.get(k))) for k in fields})
    return buffer.getvalue()


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_value) + "\n"


def _is_simulation_folder(folder: Path) -> bool:
    manifest = folder / MANIFEST_FILE
    try:
        return manifest.is_file() and json.loads(manifest.read_text(encoding="utf-8")).get("kind") == SIMULATION_KIND
    except (OSError, json.JSONDecodeError, AttributeError):
        return False


def check_out_dir(out_dir: Path | str, inputs: tuple = ()) -> Path:
    """``out_dir`` (absolute) if vsm may write a simulation there: absent, empty or a previous
    simulation folder; anything else (a file, a foreign folder, the inputs, ``.``) is refused
    by vsm.outputs, the one owner of what vsm may replace."""
    from .outputs import check_folder_output

    return check_folder_output(
        out_dir, inputs, own=_is_simulation_folder, what="Dossier de simulation",
        kind="un dossier de « vsm simulate » (manifeste de simulation)",
    )


def _rules_entry(rules: RuleSet, scenario: Scenario | None = None) -> dict:
    entry = {"id": rules.id, "label": rules.label, "path": rules.path, "files": list(rules.files), "sha256": rules.sha256}
    if scenario is not None:
        entry.update(scenario_label=scenario.label, rationale=scenario.rationale, scenario_file=scenario.path)
    return entry


def _key_entry(key: tuple) -> dict:
    population, types, statuses, actions, formats, rule, periods = key
    return {
        "population": population,
        "type_codes": list(types),
        "counted_statuses": list(statuses),
        "counted_actions": list(actions),
        "structured_format_codes": list(formats),
        "structured_rule": rule,
        "periods": {pid: [start.isoformat(), end.isoformat()] for pid, start, end in periods},
    }


@dataclass
class Simulation:
    """Everything a simulation produced (what the CLI prints and the files hold)."""

    baseline: RuleSet
    scenarios: list[Scenario]
    periods: list[str]
    engine: Engine
    comparisons: dict[tuple[str, str], Comparison] = field(default_factory=dict)
    summary: list[dict] = field(default_factory=list)
    tier_changes: dict[str, dict[str, dict[str, dict[str, int]]]] = field(default_factory=dict)
    sweep: Sweep | None = None
    sweep_table: list[dict] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    def national(self, scenario_id: str, period: str) -> dict:
        return next(r for r in self.summary if r["scenario"] == scenario_id and r["period"] == period and r["region"] == NATIONAL)


def simulate(
    baseline: RuleSet,
    scenarios: list[Scenario],
    periods: list[str],
    feeds: Path | str,
    patientele: Path | str,
    sweep: Sweep | None = None,
    say: Callable[[str], None] = lambda _text: None,
) -> Simulation:
    """Compute the baseline (first: its results are kept, as ``vsm run`` writes them), every
    scenario and every sweep value; compare each scenario with the baseline, period by period."""
    import numpy as np

    rule_sets = [baseline, *(s.rules for s in scenarios), *(sweep.variants if sweep else ())]
    engine = compute_rule_sets(rule_sets, feeds, patientele, periods, say=say)
    sim = Simulation(baseline, scenarios, periods, engine, sweep=sweep)
    base = engine.computed[baseline.id]
    for scenario in scenarios:
        sim.tier_changes[scenario.id] = {}
        for pid in periods:
            c = compare(base.periods[pid], engine.computed[scenario.id].periods[pid])
            sim.comparisons[(scenario.id, pid)] = c
            sim.summary += summary_rows(scenario.id, pid, c)
            codes = [str(r) for r in c.region]
            per_region = {NATIONAL: transitions(c)}
            codes_arr = np.array(codes, dtype=object)
            for code in sorted(set(codes)):
                per_region[code] = transitions(c, codes_arr == code)
            sim.tier_changes[scenario.id][pid] = per_region
    if sweep is not None:
        sim.sweep_table = sweep_rows(sweep, engine, baseline, periods)
    return sim


def sweep_columns(sim: Simulation, period: str) -> dict[str, np.ndarray]:
    """Per professional: the payment under the current rule and under each sweep value
    (``v1_cents``…), for the report's statistical secrecy."""
    base = sim.engine.computed[sim.baseline.id].periods[period]
    pays = [base, *(sim.engine.computed[r.id].periods[period] for r in sim.sweep.variants)]
    ids, region, aligned = align(pays)
    columns = {"ps_id": ids, "region": region, "current_cents": aligned[0][1]}
    for i, (_tier, cents) in enumerate(aligned[1:], start=1):
        columns[f"v{i}_cents"] = cents
    return columns


def write_simulation(sim: Simulation, out_dir: Path | str, seconds: dict) -> dict:
    """Write every output to a staging folder, then put it in place of ``out_dir``."""
    from .outputs import clean_leftovers, output_lock, staged_folder

    inputs = (sim.engine.feeds.path, sim.engine.patientele.path)
    out_dir = check_out_dir(out_dir, inputs)
    with output_lock(out_dir):
        clean_leftovers(out_dir)
        out_dir = check_out_dir(out_dir, inputs)
        with staged_folder(out_dir) as staging:
            _write_simulation_files(sim, staging, seconds)
    return sim.manifest


def _write_simulation_files(sim: Simulation, staging: Path, seconds: dict) -> None:
    from .store import file_sha256 as _sha256, input_entry as _input_entry
    from .store import write_columns

    files: dict[str, dict] = {}
    for (scenario_id, pid), c in sim.comparisons.items():
        folder = staging / scenario_id / pid
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in (".parquet", ".csv"):
            target = folder / f"{PROFESSIONALS_FILE}{suffix}"
            write_columns(c.columns(), target)
            rel = f"{scenario_id}/{pid}/{target.name}"
            files[rel] = {"path": rel, "sha256": _sha256(target)}
    for pid in sim.periods:  # the current rule's results, as « vsm run » writes them
        target = staging / BASELINE_DIR / pid / "resultats.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_columns(sim.engine.computed[sim.baseline.id].runs[pid].columns, target)
        rel = f"{BASELINE_DIR}/{pid}/{target.name}"
        files[rel] = {"path": rel, "sha256": _sha256(target)}
    summary = {
        "baseline": sim.baseline.id,
        "periods": sim.periods,
        "rows": sim.summary,
        "tier_changes": sim.tier_changes,
    }
    _write_text(staging / SUMMARY_JSON, _dump(summary))
    _write_text(staging / SUMMARY_CSV, _csv_text(sim.summary, SUMMARY_FIELDS))
    for name in (SUMMARY_JSON, SUMMARY_CSV):
        files[name] = {"path": name, "sha256": _sha256(staging / name)}
    if sim.sweep is not None:
        sweep_data = {
            "path": sim.sweep.path,
            "label": sim.sweep.label,
            "current": _text(sim.sweep.current),
            "values": list(sim.sweep.values),
            "rows": sim.sweep_table,
        }
        _write_text(staging / SWEEP_JSON, _dump(sweep_data))
        _write_text(staging / SWEEP_CSV, _csv_text(sim.sweep_table, ("value", "current", "period", "paid", "cost_eur")))
        for name in (SWEEP_JSON, SWEEP_CSV):
            files[name] = {"path": name, "sha256": _sha256(staging / name)}
        for pid in sim.periods:
            target = staging / SWEEP_DIR / f"{pid}.parquet"
            target.parent.mkdir(exist_ok=True)
            write_columns(sweep_columns(sim, pid), target)
            rel = f"{SWEEP_DIR}/{target.name}"
            files[rel] = {"path": rel, "sha256": _sha256(target)}
    from . import __version__

    engine = sim.engine
    manifest = {
        "kind": SIMULATION_KIND,
        "tool": {"name": "vsm", "version": __version__},
        "baseline": _rules_entry(sim.baseline),
        "scenarios": [_rules_entry(s.rules, s) for s in sim.scenarios],
        "sweep": None if sim.sweep is None else {
            "path": sim.sweep.path,
            "values": list(sim.sweep.values),
            "rules": [_rules_entry(r) for r in sim.sweep.variants],
        },
        "periods": sim.periods,
        "inputs": {"feeds": _input_entry(engine.feeds), "patientele": _input_entry(engine.patientele)},
        "aggregations": [
            {"counting": _key_entry(a.key), "rules": a.rules_ids, "feeds_rows_by_reason": a.feed_tally, "seconds": a.seconds}
            for a in engine.aggregations
        ],
        "outputs": files,
        "seconds": seconds,
    }
    _write_text(staging / MANIFEST_FILE, _dump(manifest))
    sim.manifest = manifest


def read_simulation(folder: Path | str) -> tuple[dict, dict, dict | None]:
    """(manifest, summary, sweep or None) of a simulation folder."""
    folder = Path(folder)
    manifest_path = folder / MANIFEST_FILE
    if not manifest_path.is_file():
        raise VsmError(f"Simulation introuvable : « {manifest_path} » absent (lancer « vsm simulate »).")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        summary = json.loads((folder / SUMMARY_JSON).read_text(encoding="utf-8"))
        sweep = json.loads((folder / SWEEP_JSON).read_text(encoding="utf-8")) if (folder / SWEEP_JSON).is_file() else None
    except (OSError, json.JSONDecodeError) as exc:
        raise VsmError(f"Simulation illisible dans « {folder} » ({exc}).") from None
    if manifest.get("kind") != SIMULATION_KIND:
        raise VsmError(f"« {folder} » n'est pas un dossier de simulation.")
    return manifest, summary, sweep


def read_comparison(folder: Path | str, scenario_id: str, period: str) -> Comparison:
    """One scenario × period per-professional table, back as a Comparison (cents)."""
    import duckdb
    import numpy as np

    path = Path(folder) / scenario_id / period / f"{PROFESSIONALS_FILE}.parquet"
    if not path.is_file():
        raise VsmError(f"Résultats de simulation introuvables : « {path} ».")
    con = duckdb.connect()
    try:
        data = con.execute(
            "SELECT ps_id, region, baseline_tier, scenario_tier, CAST(baseline_eur * 100 AS BIGINT) AS b, "
            f"CAST(scenario_eur * 100 AS BIGINT) AS s FROM read_parquet('{str(path).replace(chr(39), chr(39) * 2)}') ORDER BY ps_id"
        ).fetchnumpy()
    finally:
        con.close()
    return Comparison(
        np.asarray(data["ps_id"], dtype=object), np.asarray(data["region"], dtype=object),
        np.asarray(data["baseline_tier"], dtype=np.int64), np.asarray(data["scenario_tier"], dtype=np.int64),
        np.asarray(data["b"], dtype=np.int64), np.asarray(data["s"], dtype=np.int64),
    )
