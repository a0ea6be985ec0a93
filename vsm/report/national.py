"""What notebooks/synthese_nationale.ipynb shows, for one period: all regions side by side."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..display import Prose
from ..regions import load_regions
from ..rules import RuleSet
from ..rules.words import reached_label
from .charts import regions_amounts_chart, regions_rates_chart
from .data import NATIONAL, NATIONAL_NAME, UNKNOWN_REGION, load_period, region_rows, report_parameters, results_folder
from .display import Chart, Table, count_table
from .figures import (
    essentials_markdown,
    key_figures,
    key_figures_frame,
    table,
    tier_majoration_frame,
    without_patientele_frame,
)
from .plan import Secrecy, counted, population, report_plan, tied, typed_frame
from .titles import SharedSections, scope_markdown, title_facts


# --------------------------------------------------------------------------- national synthesis


def regions_frame(results: pd.DataFrame, rules: RuleSet, period: str) -> pd.DataFrame:
    """All regions side by side (every region of params/regions.yml, even without
    professionals), then the whole country; each region's cells tied to its own groups."""
    complement = "complement_eur" in results.columns
    levels = range(1, len(rules.tiers.levels) + 1)
    columns = ["Code", "Région", "Professionnels", "Éligibles", "Rémunérés"]
    columns += [f"Part {reached_label(rules, i)}" for i in levels]
    if rules.majoration.enabled.value:
        columns.append("Taux de majoration")
    columns += ["Montant total", "Montant moyen"]
    if complement:
        columns += ["Compléments", "Montant des compléments"]
    populations = []

    def row(code: str, name: str, scope: str, part: pd.DataFrame) -> list:
        kf = key_figures(part, rules)
        pop = population(scope, part, rules, detail=scope not in (NATIONAL, UNKNOWN_REGION))
        populations.append(pop)
        out = [code, name, counted(pop, "professionnels"), counted(pop, "eligibles"), counted(pop, "remuneres")]
        out += [tied(kf.reached_share(i), scope, f"atteint_{i}", "eligibles") for i in levels]
        if rules.majoration.enabled.value:
            out.append(tied(kf.majorated_share, scope, "majores", "atteint_1"))
        out += [tied(kf.total_eur, scope, "montant:professionnels"), tied(kf.mean_eur, scope, "remuneres")]
        if complement:
            out += [counted(pop, "complements"), tied(kf.complement_eur, scope, "complement:professionnels")]
        return out

    rows = [row(r.code, r.nom, r.code, region_rows(results, r.code)) for r in load_regions().values()]
    unknown = results[~results["region"].astype(str).isin(list(load_regions()))]
    if len(unknown):
        rows.append(row("—", "Région non renseignée", UNKNOWN_REGION, unknown))
    rows.append(row("", NATIONAL_NAME, NATIONAL, results))
    return typed_frame(rows, columns, populations)


@dataclass
class NationalReport(SharedSections):
    """What synthese_nationale.ipynb shows, for one period."""

    rules: RuleSet
    period: str
    results: pd.DataFrame
    entry: dict
    results_dir: str | Path | None = None  # where every period's results are (the secrecy plan covers them all)
    structure_results: pd.DataFrame | None = None  # the forfait structure results the regional reports show
    secret_plan: str | Path | None = None  # the batch's decision (secret_statistique.json)

    @cached_property
    def plan(self) -> Secrecy:
        """The same masks as every regional report (see :func:`vsm.report.plan.publication_plan`)."""
        return report_plan(self.rules, self.period, self.results, self.entry, self.results_dir, self.structure_results,
                           saved=self.secret_plan)

    @property
    def facts(self) -> dict:
        return title_facts(self.rules, self.period, NATIONAL, self.entry)

    def essentials(self) -> Prose:
        return Prose(essentials_markdown(self.results, self.rules, self.period, NATIONAL, self.plan, NATIONAL_NAME))

    def scope_note(self) -> Prose:
        return Prose(scope_markdown(self.rules, "de toutes les régions", "entre les tableaux de cette synthèse et ceux des rapports régionaux"))

    def key_figures(self) -> Table:
        return table(key_figures_frame(self.results, self.rules, self.period, NATIONAL), self.plan)

    def regions(self) -> Table:
        return table(regions_frame(self.results, self.rules, self.period), self.plan)

    def rates_chart(self) -> Chart:
        return regions_rates_chart(self.results, self.rules, self.plan)

    def amounts_chart(self) -> Chart:
        return regions_amounts_chart(self.results, self.rules, self.plan)

    def tier_totals(self) -> Table:
        return table(tier_majoration_frame(self.results, self.rules, NATIONAL), self.plan)

    def count_tables(self) -> dict[str, pd.DataFrame]:
        """The unmasked numbers of professionals of every table this synthesis shows."""
        return {
            "chiffres clés": count_table(key_figures_frame(self.results, self.rules, self.period, NATIONAL)),
            "régions": count_table(regions_frame(self.results, self.rules, self.period), labels=2),
            "paliers": count_table(tier_majoration_frame(self.results, self.rules, NATIONAL), labels=2),
            "absents de la patientèle": count_table(without_patientele_frame(self.entry)),
        }


def national_report(rules: RuleSet | str | None, period: str | None, results_dir: str | Path,
                    structure_results: str | Path | None = None, structure_rules: str | None = None,
                    secret_plan: str | None = None) -> NationalReport:
    """``rules`` / ``period`` None: see :func:`vsm.report.data.report_parameters`;
    ``structure_results``: those the regional reports show (the secrecy plan covers them)."""
    from .structure import read_structure_results

    rules, period = report_parameters(rules, period, results_dir)
    rules, results, entry, _ = load_period(rules, period, results_dir)
    return NationalReport(rules, period, results, entry, results_folder(results_dir),
                          read_structure_results(structure_results, structure_rules), secret_plan)
