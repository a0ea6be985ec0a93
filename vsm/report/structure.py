"""The forfait structure part of a regional report, under the same secrecy rules."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd

from .. import present as fr
from ..publish import secrecy
from ..display import Prose, md_escape
from ..errors import VsmError
from ..money import mean_eur, share
from ..store import read_results
from ..structure.compute import total_eur
from ..structure.rules import load_structure_rules
from .data import resolve_path
from .display import Headcount, Table, small, threshold
from .figures import figure_text, table
from .plan import Secrecy, counted, structure_population, structure_rules_of, structure_scope, tied, typed_frame


def structure_section(
    structure: pd.DataFrame | None,
    code: str,
    plan: Secrecy,
    vsm_results: pd.DataFrame,
    source: str = "",
    frames: dict[str, pd.DataFrame] | None = None,
) -> list[Prose | Table]:
    """The « Forfait structure 2023 » part of a regional report: total to pay, distribution
    of points, share of professionals meeting each indicator — with the same formatting and
    secrecy rules (a structure population of 1 to 10 médecins publishes nothing; when it is
    the very population of the VSM report, its size shares the fate of the VSM one: masked
    with it, and when the VSM report publishes it, never masked here, since the reader has it
    anyway — the other counts are masked instead). The typed tables shown are also put in
    ``frames`` when given."""
    if structure is None:
        return [Prose(
            "Les résultats du forfait structure ne sont pas fournis à ce rapport (paramètre `structure_results` vide) : "
            "cette partie est omise. « vsm reports » les calcule sur les données de démonstration ; sur des données réelles, "
            "donner le fichier d'indicateurs avec « --structure »."
        )]
    rules = load_structure_rules(structure_rules_of(structure))
    mine = structure[structure["region"].astype(str) == code] if "region" in structure.columns else structure.iloc[0:0]
    scope = structure_scope(code)
    pop, brackets, indicators = structure_population(mine, rules, scope)
    if plan.covers(scope):  # decided with everything else the rule set publishes
        protection = plan.protections[scope]
        whole = protection.whole
    else:  # published alone: « structure_professionnels » shares the fate of the VSM report's « professionnels »
        forced, shown_elsewhere = set(), set()
        same = set(mine["ps_id"].astype(str)) == set(vsm_results["ps_id"].astype(str))
        if same and plan.covers(code):
            (forced if plan.is_masked(code, "professionnels") else shown_elsewhere).add("structure_professionnels")
        whole = plan.covers(code) and plan.whole(code) or small(len(mine))
        protection = secrecy.protect(pop.groups, importance=pop.importance, forced=forced,
                                     shown=set() if whole else shown_elsewhere, whole=whole)
    local = Secrecy({scope: protection})
    n = len(mine)
    paid = pop.count("structure_payes")
    amount = total_eur(mine) if n else Decimal("0.00")
    mean_paid = mean_eur([a for a in mine["amount_eur"] if a > 0]) if paid else None

    def shown(value, *names) -> str:
        return figure_text(value, any(protection.is_masked(x) for x in names))

    intro = (
        f"Le forfait structure {rules.year} ({md_escape(rules.id)}) rémunère l'équipement et les pratiques du cabinet, "
        f"à {md_escape(fr.eur(rules.point_value.value))} le point : le volet 1 (prérequis, "
        f"{md_escape(fr.integer(rules.volet1.points.value))} points) n'est versé que si tous ses indicateurs sont atteints, "
        "sans quoi rien n'est versé, volet 2 compris ; le volet 2 paie chaque indicateur atteint. "
        "Il est calculé à part du forfait VSM, sur les indicateurs de chaque médecin"
        + (f" (fichier `{md_escape(source)}`)" if source else "")
        + ", et n'entre pas dans les montants ci-dessus."
    )
    if n == 0:
        return [Prose(intro + "\n\nAucun médecin de la région dans les résultats du forfait structure.")]
    if whole:
        return [Prose(
            intro + f"\n\n*Chiffres régionaux du forfait structure non publiés : la région compte de 1 à {threshold()} "
            "médecins (secret statistique).*"
        )]
    headline = (
        f"- **Montant total à verser** : {shown(amount, 'structure_payes')} à {shown(Headcount(paid), 'structure_payes')} médecins "
        f"(sur {shown(Headcount(n), 'structure_professionnels')} médecins de la région)"
        + (f", soit {shown(mean_paid, 'structure_payes')} en moyenne par médecin payé." if mean_paid is not None else ".")
    )
    masked_headline = any(protection.is_masked(x) for x in ("structure_payes", "structure_professionnels"))
    parts: list[Prose | Table] = [Prose(intro + "\n\n" + headline + (f"\n\n*{md_escape(secrecy.secret_note())}*" if masked_headline else ""))]
    rows = [
        [label, counted(pop, name), tied(share(pop.count(name), n), scope, name, "structure_professionnels")]
        for name, label in brackets
    ]
    rows.append(["Total", counted(pop, "structure_professionnels"), tied(share(n, n), scope, "structure_professionnels")])
    distribution = typed_frame(rows, ["Points", "Médecins", "Part des médecins"], [pop])
    parts.append(Prose("Distribution des points (un médecin sans le volet 1 a 0 point) :"))
    parts.append(table(distribution, local))
    rows = []
    for volet, ind, name in indicators:
        points = fr.integer(ind.points.value) if ind.points is not None else "prérequis"
        rows.append([
            f"{volet} — {ind.label}",
            points,
            counted(pop, name),
            tied(share(pop.count(name), n), scope, name, "structure_professionnels"),
        ])
    met = typed_frame(rows, ["Volet — indicateur", "Points", "Médecins qui l'atteignent", "Part des médecins"], [pop])
    parts.append(Prose("Part des médecins qui atteignent chaque indicateur (volet 1 : prérequis ; volet 2 : points de l'indicateur) :"))
    parts.append(table(met, local))
    if frames is not None:
        frames["structure points"] = distribution
        frames["structure indicateurs"] = met
    return parts


def read_structure_results(path: str | Path | None, rules: str | None = None) -> pd.DataFrame | None:
    """The forfait structure results written by « vsm reports » (None: no path given).
    ``rules``: their rule set (None: the one recorded in the JSON file beside them)."""
    if path is None or not str(path).strip():
        return None
    file = resolve_path(path)
    if not file.is_file():
        raise VsmError(f"Résultats du forfait structure introuvables : « {file} ».")
    frame = read_results(file)
    meta = file.with_suffix(".json")
    recorded = json.loads(meta.read_text(encoding="utf-8")).get("rules") if meta.is_file() else None
    if rules or recorded:
        frame.attrs["structure_rules"] = str(rules or recorded)
    return frame
