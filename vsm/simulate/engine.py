"""Recomputing rule sets on the same extracts: the traces aggregated once per counting
configuration by the pipeline's own stages, each rule set then computed by the pure forfait."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..aggregate import aggregate_periods
from ..errors import VsmError
from ..forfait import COUNT_COLUMNS, compute_columns, paid_cents_for
from ..pipeline import PeriodRun, connect, open_inputs, warm_up
from ..rules import RuleSet

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

