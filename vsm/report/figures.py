"""The figures and tables of the reports, as typed tables tied to their groups of
professionals (vsm.report.plan), published by :func:`table`: key figures, the region beside
the whole country, tiers × majoration, professionals close to a threshold, data quality, and
« L'essentiel » in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from .. import present as fr
from ..publish import secrecy
from ..display import md_escape
from ..errors import VsmError
from ..money import mean_eur, median_eur, missing_to_meet, share, total_eur
from ..regions import departement_label, load_regions, normalize_region
from ..rules import RuleSet
from ..rules.words import majoration_label, reached_label, threshold_percent
from .data import ABSENT, KEPT_REASONS, NATIONAL, NATIONAL_NAME, NEAR_WIDTH, ints, region_rows
from .display import Headcount, Table, format_cell, symbol
from .plan import (
    Population,
    Secrecy,
    absent_population,
    departement_codes,
    departement_keys,
    departement_population,
    counted,
    group_importance,
    population,
    publish,
    tied,
    tier_rows,
    typed_frame,
)


def table(frame: pd.DataFrame, plan: Secrecy | None = None) -> Table:
    """Publish a typed table and wrap it for display (secrecy footnote when needed)."""
    shown = publish(frame, plan)
    return Table(shown, secrecy.secret_note() if shown.attrs.get("masked") else "")


# --------------------------------------------------------------------------- key figures


@dataclass(frozen=True)
class KeyFigures:
    """The headline figures of a set of professionals (a region, or the whole country)."""

    professionals: int
    eligible: int
    reached: tuple[int, ...]  # per tier level: eligible professionals at or above it
    paid: int  # forfait > 0
    majorated: int
    total_eur: Decimal
    mean_eur: Decimal | None  # per paid professional
    median_eur: Decimal | None
    paid_before_eur: Decimal | None = None  # complement period: already paid for the earlier period
    complements: int | None = None
    complement_eur: Decimal | None = None

    def reached_share(self, level: int) -> Fraction | None:
        return share(self.reached[level - 1], self.eligible)

    @property
    def majorated_share(self) -> Fraction | None:
        """Majorated among the professionals who reach a tier (the majoration needs one)."""
        return share(self.majorated, self.reached[0] if self.reached else 0)


def key_figures(results: pd.DataFrame, rules: RuleSet) -> KeyFigures:
    eligible = results["eligible"].astype(bool)
    tiers = ints(results["tier"])
    amounts = list(results["amount_eur"])
    paid = [a for a in amounts if a > 0]
    complement = "complement_eur" in results.columns
    return KeyFigures(
        professionals=len(results),
        eligible=int(eligible.sum()),
        reached=tuple(int(((tiers >= level) & eligible.to_numpy()).sum()) for level in range(1, len(rules.tiers.levels) + 1)),
        paid=len(paid),
        majorated=int(results["majoration"].astype(bool).sum()),
        total_eur=total_eur(amounts),
        mean_eur=mean_eur(paid),
        median_eur=median_eur(paid),
        paid_before_eur=total_eur(results["paid_eur"]) if complement else None,
        complements=int(sum(1 for c in results["complement_eur"] if c > 0)) if complement else None,
        complement_eur=total_eur(results["complement_eur"]) if complement else None,
    )


def key_figures_frame(results: pd.DataFrame, rules: RuleSet, period: str, scope: str = NATIONAL) -> pd.DataFrame:
    """Indicateur | Valeur | Part | Base de la part — typed cells, tied to their groups."""
    kf = key_figures(results, rules)
    pop = population(scope, results, rules, detail=False)
    p = rules.period(period)
    rows: list[list] = [
        ["Professionnels (patientèle « médecin traitant » en fin de période)", counted(pop, "professionnels"), "", ""],
        [
            f"Éligibles (au moins {fr.integer(rules.eligibility.min_patients_mt_ald.value)} patient MT en ALD)",
            counted(pop, "eligibles"),
            tied(share(kf.eligible, kf.professionals), scope, "eligibles", "professionnels"),
            "des professionnels",
        ],
    ]
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        rows.append(
            [
                f"Part de VSM {reached_label(rules, level_number)} (forfait brut {fr.eur(level.amount_eur)})",
                counted(pop, f"atteint_{level_number}"),
                tied(kf.reached_share(level_number), scope, f"atteint_{level_number}", "eligibles"),
                "des éligibles",
            ]
        )
    if rules.majoration.enabled.value:
        rows.append(
            [
                f"Majorés ({majoration_label(rules)})",
                counted(pop, "majores"),
                tied(kf.majorated_share, scope, "majores", "atteint_1"),
                f"des professionnels {reached_label(rules, 1)}",
            ]
        )
    rows += [
        ["Rémunérés (forfait non nul)", counted(pop, "remuneres"), tied(share(kf.paid, kf.eligible), scope, "remuneres", "eligibles"), "des éligibles"],
        [f"Montant total du forfait ({period})", tied(kf.total_eur, scope, "montant:professionnels"), "", ""],
        ["Montant moyen par professionnel rémunéré", tied(kf.mean_eur, scope, "remuneres"), "", ""],
        ["Montant médian par professionnel rémunéré", tied(kf.median_eur, scope, "remuneres"), "", ""],
    ]
    if kf.complements is not None:
        rows += [
            [f"Déjà versé au titre de {p.complement_of}", tied(kf.paid_before_eur, scope, "deja_verse:professionnels"), "", ""],
            [
                f"Compléments à verser au {p.payment} (professionnels)",
                counted(pop, "complements"),
                tied(share(kf.complements, kf.paid), scope, "complements", "remuneres"),
                f"des rémunérés en {period}",
            ],
            [f"Montant des compléments à verser au {p.payment}", tied(kf.complement_eur, scope, "complement:professionnels"), "", ""],
        ]
    return typed_frame(rows, ["Indicateur", "Valeur", "Part", "Base de la part"], [pop])


def _comparison_rows(results: pd.DataFrame, rules: RuleSet, scope: str) -> tuple[list[tuple[str, object]], Population]:
    kf = key_figures(results, rules)
    pop = population(scope, results, rules, detail=False)
    rows: list[tuple[str, object]] = [
        ("Professionnels", counted(pop, "professionnels")),
        ("Professionnels éligibles", counted(pop, "eligibles")),
    ]
    for level_number in range(1, len(rules.tiers.levels) + 1):
        rows.append(
            (f"Part des éligibles {reached_label(rules, level_number)}",
             tied(kf.reached_share(level_number), scope, f"atteint_{level_number}", "eligibles"))
        )
    if rules.majoration.enabled.value:
        rows.append((f"Taux de majoration (parmi les {reached_label(rules, 1)})", tied(kf.majorated_share, scope, "majores", "atteint_1")))
    rows += [
        ("Professionnels rémunérés", counted(pop, "remuneres")),
        ("Montant total", tied(kf.total_eur, scope, "montant:professionnels")),
        ("Montant moyen par professionnel rémunéré", tied(kf.mean_eur, scope, "remuneres")),
        ("Montant médian par professionnel rémunéré", tied(kf.median_eur, scope, "remuneres")),
    ]
    if kf.complements is not None:
        rows += [
            ("Compléments à verser (professionnels)", counted(pop, "complements")),
            ("Montant des compléments", tied(kf.complement_eur, scope, "complement:professionnels")),
        ]
    return rows, pop


def region_vs_national_frame(results: pd.DataFrame, region: str, rules: RuleSet, period: str) -> pd.DataFrame:
    """Indicator | <region> | France entière, from the national results."""
    code = normalize_region(region)
    name = load_regions()[code].nom
    mine, here = _comparison_rows(region_rows(results, code), rules, code)
    everyone, there = _comparison_rows(results, rules, NATIONAL)
    return typed_frame(
        [[label, a, b] for (label, a), (_, b) in zip(mine, everyone)],
        ["Indicateur", f"{name} ({code})", NATIONAL_NAME],
        [here, there],
    )


# --------------------------------------------------------------------------- tiers × majoration


def tier_majoration_frame(results: pd.DataFrame, rules: RuleSet, scope: str = NATIONAL) -> pd.DataFrame:
    """Professionals and amounts by tier × majoration (long format), non-eligible first,
    then a « Total » row: the rows add up to the whole table. Each amount is tied to the
    row's paid professionals."""
    complement = "complement_eur" in results.columns
    pop = population(scope, results, rules, detail=False)
    columns = ["Palier (part de VSM)", "Majoration", "Forfait brut", "Professionnels", "Montant total"]
    if complement:
        columns.append("Compléments")

    def row(name: str, label: str, maj: str, gross: Decimal | None) -> list:
        part = results[pop.groups[name]]
        out = [label, maj, gross, counted(pop, name), tied(total_eur(part["amount_eur"]), scope, f"montant:{name}")]
        if complement:
            out.append(tied(total_eur(part["complement_eur"]), scope, f"complement:{name}"))
        return out

    rows = [row(name, label, maj, gross) for name, label, maj, gross in tier_rows(rules)]
    rows.append(row("professionnels", "Total", "", None))
    return typed_frame(rows, columns, [pop])


# --------------------------------------------------------------------------- close to a threshold


def near_threshold_frame(results: pd.DataFrame, rules: RuleSet, width: Fraction = NEAR_WIDTH, scope: str = "region") -> pd.DataFrame:
    """For each tier threshold t: eligible professionals whose VSM share is in [t − width, t)
    (not reaching t), and how many DMPs they still have to feed to reach it — aggregates only,
    tied to the professionals of the band."""
    width = Fraction(width)
    if width <= 0:
        raise VsmError("La largeur de la bande sous le seuil doit être strictement positive.")
    pop = population(scope, results, rules, width, detail=True)
    eligible = results["eligible"].astype(bool).to_numpy()
    fed = ints(results["dmp_vsm"])
    ald = ints(results["patients_mt_ald"])
    comparison = rules.tiers.comparison
    rows = []
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        threshold_ = level.min_share
        lower = max(threshold_ - width, Fraction(0))
        name = f"proche_{level_number}"
        in_band = pop.groups[name] & eligible
        missing = missing_to_meet(fed[in_band], ald[in_band], threshold_, comparison)
        rows.append(
            [
                f"{reached_label(rules, level_number)} (forfait brut {fr.eur(level.amount_eur)})",
                f"de {threshold_percent(lower)} à moins de {threshold_percent(threshold_)}" if comparison == ">=" else f"de {threshold_percent(lower)} à {threshold_percent(threshold_)} inclus",
                counted(pop, name),
                tied(int(missing.sum()), scope, name),
                tied(float(np.median(missing)) if len(missing) else None, scope, name),
            ]
        )
    return typed_frame(
        rows,
        ["Seuil visé", "Part de VSM actuelle", "Professionnels", "DMP à alimenter (total)", "DMP à alimenter (médiane)"],
        [pop],
    )


# --------------------------------------------------------------------------- data quality


def exclusions_frame(entry: dict, kind: str = "feeds") -> pd.DataFrame:
    """Input rows by reason (from the manifest's period entry): excluded rows first, then the
    rows kept, then the total. ``kind``: "feeds" (DMP traces) or "patientele"."""
    if kind not in KEPT_REASONS:
        raise ValueError(kind)
    tally: dict = entry[f"{kind}_rows_by_reason"]
    total = sum(int(item["rows"]) for item in tally.values())
    kept = KEPT_REASONS[kind]
    rows = [
        [item["label"], "exclue", int(item["rows"]), share(int(item["rows"]), total)]
        for reason, item in tally.items()
        if reason != kept and int(item["rows"])
    ]
    if kept in tally:
        item = tally[kept]
        rows.append([item["label"], "retenue", int(item["rows"]), share(int(item["rows"]), total)])
    rows.append(["Total des lignes lues", "", total, share(total, total)])
    return pd.DataFrame(rows, columns=["Motif", "Ligne", "Lignes", "Part des lignes lues"], dtype=object)


def without_patientele_frame(entry: dict) -> pd.DataFrame:
    """Professionals who fed VSMs but are absent from the patientèle (no region: national);
    their rows and DMPs are tied to their number."""
    listed = entry.get("professionals_without_patientele", [])
    pop = absent_population(entry)
    return typed_frame(
        [
            [
                "Professionnels ayant alimenté des VSM, absents de la patientèle (France entière, sans région)",
                counted(pop, "absents"),
            ],
            ["Lignes de traces de ces professionnels", tied(int(sum(int(p.get("rows", 0)) for p in listed)), ABSENT, "absents")],
            ["DMP alimentés par ces professionnels (non comptés)", tied(int(sum(int(p.get("dmp_vsm", 0)) for p in listed)), ABSENT, "absents")],
        ],
        ["Indicateur", "Valeur"],
        [pop],
    )


def regional_quality_frame(results: pd.DataFrame, entry: dict, rules: RuleSet | None = None, scope: str = "region") -> pd.DataFrame:
    """What the results themselves say about the region's data."""
    dates = entry.get("snapshot_dates") or sorted({str(d) for d in results.get("snapshot_date", [])})
    if rules is None:
        fed = ints(results["dmp_vsm"])
        groups = {"non_eligibles": ~results["eligible"].astype(bool).to_numpy(), "sans_dmp": fed == 0, "professionnels": np.ones(len(results), dtype=bool)}
        pop = Population(scope, groups, {n: group_importance(n) for n in groups})
    else:
        pop = population(scope, results, rules, detail=True)
    return typed_frame(
        [
            ["Professionnels sans patient MT en ALD (non éligibles)", counted(pop, "non_eligibles")],
            ["Professionnels sans aucun DMP alimenté en VSM", counted(pop, "sans_dmp")],
            ["Date d'arrêté de la patientèle", ", ".join(fr.date(_iso(d)) for d in dates) or "—"],
        ],
        ["Indicateur", "Valeur"],
        [pop],
    )


def _iso(value: object):
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# --------------------------------------------------------------------------- headline and rule, in words


def figure_text(value: object, masked: bool) -> str:
    return f"**{symbol()}**" if masked else f"**{md_escape(format_cell(value))}**"


def essentials_markdown(results: pd.DataFrame, rules: RuleSet, period: str, scope: str, plan: Secrecy, where: str) -> str:
    """What a caisse reader must see first: how much is paid, to how many professionals,
    and why — in a few sentences, with the plan's masks (« s »)."""
    p = rules.period(period)
    kf = key_figures(results, rules)

    hidden: list[bool] = []

    def m(*names: str) -> bool:
        hidden.append(any(plan.is_masked(scope, n) for n in names))
        return hidden[-1]

    lines = []
    paid = (
        f"versé à {figure_text(Headcount(kf.paid), False)} professionnels rémunérés"
        if not m("remuneres")
        else "versé à des professionnels dont le nombre est couvert par le secret statistique"
    )
    base = []
    if not m("eligibles"):
        base.append(f"{figure_text(Headcount(kf.eligible), False)} éligibles")
    if not m("professionnels"):
        base.append(f"{figure_text(Headcount(kf.professionals), False)} professionnels dans la patientèle « médecin traitant »")
    lines.append(
        f"- **Montant total du forfait {period}** ({where}) : {figure_text(kf.total_eur, m('montant:professionnels'))}, "
        f"{paid}" + (f" (sur {' et '.join(base)})" if base else "") + "."
    )
    if kf.paid:
        lines.append(
            f"- **Montant moyen** : {figure_text(kf.mean_eur, m('remuneres'))} par professionnel rémunéré "
            f"(médiane : {figure_text(kf.median_eur, m('remuneres'))})."
        )
    if kf.complements is not None:
        lines.append(
            f"- **Compléments à verser au {p.payment}** : {figure_text(kf.complement_eur, m('complement:professionnels'))} "
            f"à {figure_text(Headcount(kf.complements), m('complements'))} professionnels : le montant {period} "
            f"moins ce qui a déjà été versé au titre de {p.complement_of} "
            f"({figure_text(kf.paid_before_eur, m('deja_verse:professionnels'))}), jamais négatif."
        )
    levels = rules.tiers.levels
    first = f"{figure_text(Headcount(kf.reached[0]), m('atteint_1'))} éligibles"
    if kf.eligible and not m("atteint_1", "eligibles"):
        first += f" ({md_escape(fr.percent(kf.reached_share(1)))})"
    why = (
        f"- **Pourquoi** : {first} ont alimenté dans le DMP un VSM pour au moins {md_escape(threshold_percent(levels[0].min_share))} "
        f"de leurs patients « médecin traitant » en ALD (forfait brut {md_escape(fr.eur(levels[0].amount_eur))})"
    )
    for level_number, level in enumerate(levels[1:], start=2):
        why += (
            f", dont {figure_text(Headcount(kf.reached[level_number - 1]), m(f'atteint_{level_number}'))} au moins "
            f"{md_escape(threshold_percent(level.min_share))} ({md_escape(fr.eur(level.amount_eur))})"
        )
    if rules.majoration.enabled.value:
        why += (
            f" ; {figure_text(Headcount(kf.majorated), m('majores'))} ont la majoration de "
            f"{md_escape(fr.percent(rules.majoration.rate.value, decimals=0))} ({md_escape(majoration_label(rules))})"
        )
    if rules.ponderation.enabled.value:
        why += (
            f". Chaque forfait est ensuite pondéré par la patientèle « médecin traitant » "
            f"(patientèle / {md_escape(fr.integer(rules.ponderation.reference_patients.value))})"
        )
    lines.append(why + ".")
    text = "\n".join(lines)
    if any(hidden) and f"**{symbol()}**" in text:
        text += f"\n\n*{md_escape(secrecy.secret_note())}*"
    return text


# --------------------------------------------------------------------------- by département


def departements_frame(results: pd.DataFrame, rules: RuleSet, period: str, scope: str) -> pd.DataFrame:
    """Département | Professionnels | Éligibles | Rémunérés | Montant (| compléments): the key
    figures of one region by département (its patientèle's), then the region as a whole.
    ``scope``: the plan's scope of the table (:func:`vsm.report.plan.departement_scope`)."""
    pop = departement_population(scope, results, rules)
    complement = "complement_eur" in results.columns
    columns = ["Département", "Professionnels", "Éligibles", "Rémunérés", f"Montant total du forfait ({period})"]
    if complement:
        columns += ["Compléments à verser (professionnels)", "Montant des compléments"]
    rows: list[list] = []
    for key, code in departement_keys(departement_codes(results)).items():
        name = f"departement_{key}"
        part = results[pop.groups[name]]
        row = [
            departement_label(code),
            counted(pop, name),
            counted(pop, f"{name}_eligibles"),
            counted(pop, f"{name}_remuneres"),
            tied(total_eur(part["amount_eur"]), scope, f"{name}_remuneres"),
        ]
        if complement:
            row += [counted(pop, f"{name}_complements"), tied(total_eur(part["complement_eur"]), scope, f"{name}_complements")]
        rows.append(row)
    total = [
        "Ensemble de la région",
        counted(pop, "professionnels"),
        counted(pop, "eligibles"),
        counted(pop, "remuneres"),
        tied(total_eur(results["amount_eur"]), scope, "remuneres"),
    ]
    if complement:
        total += [counted(pop, "complements"), tied(total_eur(results["complement_eur"]), scope, "complements")]
    rows.append(total)
    return typed_frame(rows, columns, [pop])
