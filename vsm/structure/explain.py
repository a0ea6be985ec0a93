"""The forfait structure in French: each professional's computation step by step, and the
rule set itself, every value followed by its source."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pandas as pd

from .. import present as fr
from ..errors import VsmError
from ..explain import Step
from .compute import met_column, points_column, services_column
from ..rules.words import cite, param_lines
from .rules import Criterion, StructureIndicator, StructureRuleSet


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


# --------------------------------------------------------------------------- the rule set shown


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
