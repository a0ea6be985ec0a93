"""Explanations in French: how a professional's forfait was computed, step by step, each
step with its figures and the passage of the rule it applies (cited by vsm.rules.words.cite; a
rule set as text is vsm.rules.words.describe_rules)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from . import present as fr
from .errors import VsmError
from .rules import RuleSet
from .rules.words import cite, observation


@dataclass(frozen=True)
class Step:
    title: str
    text: str

    def __str__(self) -> str:
        return f"{self.title} : {self.text}"


def _cmp_words(comparison: str, reached: bool) -> str:
    if comparison == ">=":
        return "atteint" if reached else "sous"
    return "dépasse" if reached else "ne dépasse pas"


def _threshold_phrase(share_text: str, threshold: Fraction, comparison: str, reached: bool) -> str:
    shown = fr.fraction(threshold)
    if comparison == ">=":
        return f"{share_text}, {'au moins' if reached else 'sous le seuil de'} {shown}"
    return f"{share_text}, {'strictement au-dessus de' if reached else 'pas strictement au-dessus de'} {shown}"


def explain_row(row: pd.Series | dict, rules: RuleSet, period: str) -> list[Step]:
    """Steps for one row of :func:`vsm.forfait.compute`'s output."""
    row = dict(row)
    steps = _amount_steps(row, rules, period)
    p = rules.period(period)
    if row.get("paid_eur") is not None and not _isnan(row.get("paid_eur")):
        complement_source = p.complement_source or p.source
        steps.append(
            Step(
                "Complément",
                f"montant {period} {fr.eur(row['amount_eur'])} − déjà versé au titre de {p.complement_of} "
                f"{fr.eur(row['paid_eur'])} = {fr.eur(row['complement_eur'])} à verser (jamais négatif) "
                f"{cite(rules, complement_source)}.",
            )
        )
    return steps


def _amount_steps(row: dict, rules: RuleSet, period: str) -> list[Step]:
    p = rules.period(period)
    ald = int(row["patients_mt_ald"])
    fed = int(row["dmp_vsm"])
    structured = int(row["dmp_vsm_structured"])
    thresholds = tuple(level.min_share for level in rules.tiers.levels)
    steps = [
        Step(
            "Période",
            f"{period}, observation {observation(p)}, versement au {p.payment} "
            f"{cite(rules, p.source)}.",
        )
    ]

    min_ald = rules.eligibility.min_patients_mt_ald
    if not row["eligible"]:
        steps.append(
            Step(
                "Éligibilité",
                f"{fr.integer(ald)} patient(s) MT en ALD, il en faut au moins {fr.integer(min_ald.value)} "
                f"{cite(rules, min_ald.source)} → non éligible, forfait 0,00 €.",
            )
        )
        return steps
    steps.append(
        Step(
            "Éligibilité",
            f"{fr.integer(ald)} patients MT en ALD (au moins {fr.integer(min_ald.value)} requis) → éligible "
            f"{cite(rules, min_ald.source)}.",
        )
    )

    share = Fraction(fed, ald)
    share_text = (
        f"{fr.integer(fed)} DMP alimentés / {fr.integer(ald)} patients MT en ALD = "
        f"{fr.percent(share, thresholds=thresholds)}"
    )
    tier = int(row["tier"])
    levels = rules.tiers.levels
    if tier == 0:
        first = levels[0]
        text = _threshold_phrase(share_text, first.min_share, rules.tiers.comparison, False)
        steps.append(
            Step("Part de VSM", f"{text} {cite(rules, rules.tiers.comparison_source)} → forfait brut {fr.eur(0)}.")
        )
        return steps
    level = levels[tier - 1]
    text = _threshold_phrase(share_text, level.min_share, rules.tiers.comparison, True)
    if tier < len(levels):
        nxt = levels[tier]
        text += f" mais {_threshold_phrase('', nxt.min_share, rules.tiers.comparison, False).lstrip(', ')}"
    if share > 1:
        text += " (la part dépasse 100 % : le numérateur compte tous les DMP alimentés, pas seulement ceux des patients en ALD)"
    steps.append(Step("Part de VSM", f"{text} {cite(rules, level.source)} → forfait brut {fr.eur(level.amount_eur)}."))

    maj = rules.majoration
    tier_eur = Decimal(row["tier_eur"])
    if not maj.enabled.value:
        note = " ; non prévue par la source" if maj.enabled.note else ""
        steps.append(Step("Majoration", f"non appliquée par ce jeu de règles{note} {cite(rules, maj.enabled.source)}."))
    else:
        threshold = maj.min_structured_share
        if fed == 0:
            steps.append(Step("Majoration", f"aucun DMP alimenté, pas de part structurée → pas de majoration {cite(rules, threshold.source)}."))
            return _weight_steps(row, rules, steps, tier_eur)
        structured_text = (
            f"{fr.integer(structured)} DMP alimentés en structuré / {fr.integer(fed)} DMP alimentés = "
            f"{fr.percent(Fraction(structured, fed), thresholds=(threshold.value,))}"
        )
        rate = fr.percent(maj.rate.value, decimals=0)
        if row["majoration"]:
            text = _threshold_phrase(structured_text, threshold.value, threshold.comparison, True)
            text += f" {cite(rules, threshold.source)} → majoration de {rate} : {fr.eur(row['majoration_eur'])}"
        else:
            text = _threshold_phrase(structured_text, threshold.value, threshold.comparison, False)
            text += f" {cite(rules, threshold.source)} → pas de majoration"
        if threshold.conflict is not None:
            text += f" (seuil retenu malgré la divergence des sources : {threshold.conflict.summary})"
        if rules.indicator.structured_rule.value == "latest":
            text += " ; un DMP compte comme structuré si sa dernière alimentation l'est"
        steps.append(Step("Majoration", text + "."))

    return _weight_steps(row, rules, steps, tier_eur)


def _weight_steps(row: dict, rules: RuleSet, steps: list[Step], tier_eur: Decimal) -> list[Step]:
    mt = int(row["patients_mt"])
    pond = rules.ponderation
    gross = tier_eur + Decimal(row["majoration_eur"])
    gross_text = (
        f"({fr.eur(tier_eur)} + {fr.eur(row['majoration_eur'])})" if row["majoration"] else fr.eur(tier_eur)
    )
    if pond.enabled.value:
        reference = pond.reference_patients.value
        weight = Fraction(mt, reference)
        capped = pond.cap.value is not None and weight > pond.cap.value
        weight_text = f"{fr.integer(mt)} patients MT / {fr.integer(reference)} = {fr.number(weight)}"
        if capped:
            weight_text += f", plafonnée à {fr.number(pond.cap.value)}"
        steps.append(Step("Pondération", f"{weight_text} {cite(rules, pond.reference_patients.source)}."))
        factor = f"{fr.integer(mt)} / {fr.integer(reference)}" if not capped else fr.number(pond.cap.value)
        amount_text = f"{gross_text} × {factor} = {fr.eur(row['amount_eur'])}"
        effective = pond.cap.value if capped else weight
        if Fraction(gross) * effective != Fraction(Decimal(row["amount_eur"])):
            amount_text += " (arrondi au centime, au demi supérieur)"
    else:
        note = " ; non prévue par la source" if pond.enabled.note else ""
        steps.append(Step("Pondération", f"non appliquée par ce jeu de règles{note} {cite(rules, pond.enabled.source)}."))
        amount_text = f"{gross_text} = {fr.eur(row['amount_eur'])}"
    steps.append(Step("Montant", f"{amount_text} {cite(rules, rules.rounding.source)}."))
    return steps


def _isnan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def explain(results: pd.DataFrame, rules: RuleSet, period: str, ps_id: str) -> str:
    """The explanation, as French text, for professional ``ps_id`` of ``results``."""
    match = results[results["ps_id"].astype(str) == str(ps_id)]
    if match.empty:
        raise VsmError(f"Professionnel « {ps_id} » absent des données ({len(results)} professionnels lus).")
    row = match.iloc[0]
    lines = [f"Forfait VSM — professionnel {ps_id} — jeu de règles {rules.id}"]
    lines += [f"  {i}. {step}" for i, step in enumerate(explain_row(row, rules, period), start=1)]
    return "\n".join(lines)
