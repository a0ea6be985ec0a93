"""Explanations in French: how a professional's forfait was computed, step by step, each
step with its figures and the passage of the rule it applies; and rule sets shown with
every value beside its source."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from . import present as fr
from .errors import VsmError
from .rules import RuleSet, Source


@dataclass(frozen=True)
class Step:
    title: str
    text: str

    def __str__(self) -> str:
        return f"{self.title} : {self.text}"


def cite(rules: RuleSet, source: Source) -> str:
    """« (note méthodologique, § 3, règles de calcul du forfait, point 1) »."""
    return f"({rules.document_label(source.seed)}, {source.passage})"


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
            f"{period}, observation du {fr.date(p.start)} au {fr.date(p.end)}, versement au {p.payment} "
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


# --------------------------------------------------------------------------- rule sets


def _source_lines(rules, source: Source, indent: str) -> list[str]:
    """Two lines: the document and passage, then the quote. A rule set that tells secondary
    sources apart (``is_secondary``, as the forfait structure's does) gets them marked."""
    is_secondary = getattr(rules, "is_secondary", None)
    secondary = ", source secondaire" if is_secondary is not None and is_secondary(source) else ""
    return [
        f"{indent}source : {source.seed} ({rules.document_label(source.seed)}{secondary}), {source.passage}",
        f"{indent}         « {source.quote} »",
    ]


def param_lines(rules, title: str, value: str, node, indent: str = "  ") -> list[str]:
    """« • title : value », then the node's description, source, note and source conflict.

    ``rules`` is any rule set with ``document_label`` (the VSM or the structure rule sets).
    """
    out = [f"{indent}• {title} : {value}"]
    sub = indent + "    "
    if getattr(node, "description", None):
        out.append(f"{sub}{node.description}")
    if getattr(node, "source", None) is not None:
        out.extend(_source_lines(rules, node.source, sub))
    if getattr(node, "note", None):
        out.append(f"{sub}note : {node.note}")
    conflict = getattr(node, "conflict", None)
    if conflict is not None:
        out.append(f"{sub}divergence des sources : {conflict.summary}")
        out.append(f"{sub}choix : {conflict.chosen}")
        for s in conflict.sources:
            out.extend(_source_lines(rules, s, sub + "  "))
    return out


def describe_rules(rules: RuleSet) -> str:
    """Every value of a rule set, in French, each followed by its source."""
    out = [f"Jeu de règles {rules.id} — {rules.label}", f"  fichier : {rules.path} (sha256 {rules.sha256[:16]}…)"]
    if rules.base:
        out.append(f"  à partir de : {rules.base}")
    out.append(f"  population : {'médecins' if rules.population == 'medecin' else 'centres de santé'}")

    def param(title: str, value: str, node) -> None:
        out.extend(param_lines(rules, title, value, node))

    def yes(flag: bool) -> str:
        return "oui" if flag else "non"

    out.append("Éligibilité")
    param("patients MT en ALD minimum", fr.integer(rules.eligibility.min_patients_mt_ald.value), rules.eligibility.min_patients_mt_ald)
    out.append("Indicateur (numérateur)")
    ind = rules.indicator
    param("typeCode comptés", ", ".join(ind.type_codes.value), ind.type_codes)
    param("statuts comptés", ", ".join(ind.counted_statuses.value), ind.counted_statuses)
    param("actions comptées", ", ".join(ind.counted_actions.value), ind.counted_actions)
    param("tous les patients (ALD ou non)", yes(ind.all_patients.value), ind.all_patients)
    param("formatCode structurés", ", ".join(ind.structured_format_codes.value), ind.structured_format_codes)
    param("DMP alimenté plusieurs fois : structuré si", ind.structured_rule.value, ind.structured_rule)
    out.append(f"Paliers (part de VSM {rules.tiers.comparison} seuil)")
    out.extend(_source_lines(rules, rules.tiers.comparison_source, "      "))
    for level in rules.tiers.levels:
        out.append(f"  • {rules.tiers.comparison} {fr.fraction(level.min_share)} → forfait brut {fr.eur(level.amount_eur)}")
        out.extend(_source_lines(rules, level.source, "      "))
    maj = rules.majoration
    out.append("Majoration pour données structurées")
    param("appliquée", yes(maj.enabled.value), maj.enabled)
    param(
        "seuil de part structurée",
        f"{maj.min_structured_share.comparison} {fr.fraction(maj.min_structured_share.value)}",
        maj.min_structured_share,
    )
    param("taux", fr.percent(maj.rate.value, decimals=0), maj.rate)
    pond = rules.ponderation
    out.append("Pondération")
    param("appliquée", yes(pond.enabled.value), pond.enabled)
    param("patientèle de référence", fr.integer(pond.reference_patients.value), pond.reference_patients)
    param("plafond", "aucun" if pond.cap.value is None else fr.number(pond.cap.value), pond.cap)
    out.append("Arrondi")
    param("règle", "une seule fois, au centime, demi supérieur", rules.rounding)
    out.append("Périodes d'observation")
    for pid, p in rules.periods.items():
        line = f"  • {pid} : du {fr.date(p.start)} au {fr.date(p.end)}, versement au {p.payment}"
        if p.complement_of:
            line += f" (complément de {p.complement_of})"
        out.append(line)
        out.extend(_source_lines(rules, p.source, "      "))
        if p.complement_source:
            out.extend(_source_lines(rules, p.complement_source, "      "))
        if p.note:
            out.append(f"      note : {p.note}")
    return "\n".join(out)
