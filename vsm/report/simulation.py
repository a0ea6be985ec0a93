"""The simulation report (notebooks/simulation.ipynb): what a scenario changes, what it would
cost, who gains and who loses — every figure, table and chart of the notebook, from the
files ``vsm simulate`` wrote (vsm/simulate/), loaded and protected by vsm/simulation_data.py.

Same content model and same statistical secrecy as the payment reports (vsm/report.py):
tables are typed frames published by :func:`vsm.report.table`, charts are
:class:`vsm.report.Chart`, text is :class:`vsm.report.Prose`. Every number of professionals
shown is the size of a *group* of one scope (France entière, or a region): « rémunérés
avec la règle actuelle », « gagnants », « passent du palier 0 au palier 1 », « rémunérés
pour la valeur 0,42 du balayage »…; an amount is tied to the professionals it is paid to
(a change in cost to those whose payment changes). :func:`simulation_plan` protects each
scope with :func:`vsm.publish.secrecy.protect` (no set of 1 to 10 professionals readable, even by
difference between tables, between scenarios or between two values of a sweep), then
makes the regions consistent with the national totals (:func:`vsm.report.couple_regions`).
A region of 1 to 10 professionals publishes nothing.

The payment reports of the same period publish the current rule's counts with their own plan
(:func:`vsm.report.secrecy_plan`: that period published alone, on the current rule's results the simulation writes beside
its own): the groups they show that this report's figures are tied to (professionals, paid,
complements, at or above each tier) are added to each scope as groups already known
(``shown``): the masks are then chosen so that no small set is readable from both
publications together. Not covered: the payment reports' other groups (near a threshold,
majoration, chart segments), dominance on amounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from pathlib import Path
import math
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ..display import md_escape
from . import charts as ch
from . import display as dp
from . import figures as fg
from . import data as rd
from . import plan as sp
from ..rules import words
from .. import present as fr
from ..publish import secrecy
from ..display import Prose
from ..errors import VsmError
from ..present import eur_axis
from ..regions import load_regions
from ..store import read_results
from ..rules import RuleSet, Source, load_rules
from ..simulate.comparison import Comparison, summary_figures
from ..paths import PROJECT_DIR, default_rules
from ..simulate.files import BASELINE_DIR, default_simulation_dir, read_simulation
from ..simulate.scenario import Scenario, changes, load_scenario
from ..simulate.sweep import exact_number
from .simulation_data import PeriodData, load_period_data, parse_region, parse_scenarios, payment_groups, populations, simulation_plan

NATIONAL = rd.NATIONAL
NATIONAL_NAME = rd.NATIONAL_NAME


# --------------------------------------------------------------------------- words


def value_text(path: str, value: Any) -> str:
    """A rule value as a reader reads it (shares as percentages, money in euros)."""
    if value is None:
        return "aucun"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, Decimal):
        return fr.eur(value)
    if isinstance(value, Fraction):
        if path.endswith("amount_eur"):
            return fr.eur(Decimal(value.numerator) / Decimal(value.denominator))
        if path.endswith(("min_share", "min_structured_share", "rate")):
            return words.threshold_percent(value)
        return fr.number(value)
    if isinstance(value, int):
        return fr.integer(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return fr.date(value)
    return str(value)


def source_text(rules: RuleSet, source: Source | None) -> str:
    if source is None:
        return "—"
    return f"{words.source_label(rules, source)} : « {source.quote} »"


def _cell(value: object, masked: bool) -> str:
    return fg.figure_text(value, masked)


def signed_pct(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = fr.number(abs(value), max_decimals=2) + fr.NBSP + "%"
    return ("+" if value > 0 else "−" if value < 0 else "") + text


# --------------------------------------------------------------------------- the report


@dataclass
class SimulationReport:
    """What notebooks/simulation.ipynb shows."""

    baseline: RuleSet
    scenarios: list[Scenario]
    periods: list[str]
    region: str | None
    folder: Path
    manifest: dict
    summary: dict
    sweep: dict | None

    # ------------------------------------------------------------------ data

    @cached_property
    def data(self) -> dict[str, PeriodData]:
        ids = [s.id for s in self.scenarios]
        return {pid: load_period_data(self.folder, ids, pid, self.sweep is not None) for pid in self.periods}

    @cached_property
    def _plans(self) -> dict[str, tuple[sp.Population, dict[str, sp.Population], sp.Secrecy]]:
        out = {}
        for pid, data in self.data.items():
            path = self.folder / BASELINE_DIR / pid / "resultats.parquet"
            published = payment_groups(read_results(path), self.baseline, data) if path.is_file() else {}
            national, regions = populations(data, [s.id for s in self.scenarios], self.region, published)
            out[pid] = (national, regions, simulation_plan(national, regions))
        return out

    def plan(self, period: str) -> sp.Secrecy:
        return self._plans[period][2]

    def population(self, period: str, scope: str) -> sp.Population:
        national, regions, _ = self._plans[period]
        return national if scope == NATIONAL else regions[scope]

    def _masked(self, period: str, scope: str, *names: str) -> bool:
        plan = self.plan(period)
        return plan.whole(scope) or any(plan.is_masked(scope, n) for n in names)

    def figures(self, scenario: Scenario, period: str, scope: str = NATIONAL) -> dict:
        data = self.data[period]
        tier, cents = data.scenarios[scenario.id]
        mask = np.ones(len(data.ids), dtype=bool) if scope == NATIONAL else data.region == scope
        comparison = Comparison(data.ids, data.region, data.baseline_tier, tier, data.baseline, cents)
        return summary_figures(comparison, mask)

    def _key(self, scenario: Scenario) -> str:
        return f"s{self.scenarios.index(scenario)}"

    # ------------------------------------------------------------------ title and text

    @property
    def facts(self) -> dict:
        return title_facts(self.baseline, self.scenarios, self.periods, self.region)

    def title(self) -> Prose:
        labels = " ; ".join(s.label for s in self.scenarios) or (f"balayage de {self.sweep['label']}" if self.sweep else "")
        where = NATIONAL_NAME if self.region is None else f"{load_regions()[self.region].nom} ({self.region})"
        lines = [
            f"# Simulation du forfait VSM — {md_escape(labels)}",
            "",
            f"**Simulation budgétaire.** Règle actuelle : {md_escape(self.baseline.label)} (`{self.baseline.id}`) ; "
            f"période(s) {', '.join(self.periods)} ; {md_escape(where)}.",
        ]
        return Prose("\n".join(lines))

    def essentials(self) -> Prose:
        """For each scenario and period, the national change in cost in a few sentences."""
        lines = []
        for scenario in self.scenarios:
            for pid in self.periods:
                lines.append(self._essential_line(scenario, pid, NATIONAL, NATIONAL_NAME))
                if self.region is not None:
                    lines.append(self._essential_line(scenario, pid, self.region, load_regions()[self.region].nom))
        if not lines:
            return Prose("*Aucun scénario : seul le balayage est présenté.*")
        text = "\n".join(lines)
        if f"**{dp.symbol()}**" in text or "secret statistique" in text:
            text += f"\n\n*{md_escape(secrecy.secret_note())}*"
        return Prose(text)

    def _essential_line(self, scenario: Scenario, pid: str, scope: str, where: str) -> str:
        if self.plan(pid).whole(scope):
            return (f"- **{md_escape(scenario.label)}, {pid}, {md_escape(where)}** : moins de "
                    f"{dp.threshold() + 1} professionnels, aucun chiffre publié (secret statistique).")
        f = self.figures(scenario, pid, scope)
        k = self._key(scenario)
        m = lambda *names: self._masked(pid, scope, *(f"{k}:{n}" for n in names))  # noqa: E731
        payment = self.baseline.period(pid)
        what = f"complément versé au {payment.payment}" if payment.complement_of else f"forfait versé au {payment.payment}"
        change_hidden = m("gagnants", "perdants")
        line = (
            f"- **{md_escape(scenario.label)}, {pid}, {md_escape(where)}** ({what}) : "
            f"{_cell(f['cost_scenario_eur'], m('remuneres_scenario'))} au lieu de {_cell(f['cost_baseline_eur'], m('remuneres_base'))}, "
            f"soit {('**' + dp.symbol() + '**') if change_hidden else '**' + md_escape(fr.signed_eur(f['change_eur'])) + '**'}"
            f" ({('**' + dp.symbol() + '**') if change_hidden or m('remuneres_base') else md_escape(signed_pct(f['change_pct']))}) ; "
            f"{_cell(dp.Headcount(f['gaining']), m('gagnants'))} professionnels y gagnent, "
            f"{_cell(dp.Headcount(f['losing']), m('perdants'))} y perdent, "
            f"{_cell(dp.Headcount(f['newly_paid']), m('nouveaux'))} deviennent rémunérés et "
            f"{_cell(dp.Headcount(f['no_longer_paid']), m('sortants'))} ne le sont plus."
        )
        return line

    # ------------------------------------------------------------------ what changes

    def changes_frame(self, scenario: Scenario) -> pd.DataFrame:
        rows = []
        for c in changes(self.baseline, scenario.rules):
            rows.append([
                c.label,
                value_text(c.path, c.before),
                value_text(c.path, c.after),
                source_text(self.baseline, c.source_before),
                source_text(scenario.rules, c.source_after),
            ])
        if not rows:
            rows.append(["(aucune)", "—", "—", "—", "—"])
        return sp.typed_frame(rows, ["Règle", "Règle actuelle", "Scénario", "Source actuelle", "Source du scénario"])

    def changes(self) -> list[Prose | dp.Table]:
        out: list[Prose | dp.Table] = []
        for scenario in self.scenarios:
            out.append(Prose(f"### {md_escape(scenario.label)}\n\n*Justification* : {md_escape(scenario.rationale)}"))
            out.append(fg.table(self.changes_frame(scenario)))
        return out

    # ------------------------------------------------------------------ budget impact

    BUDGET_COLUMNS = [
        "Région", "Rémunérés, règle actuelle", "Rémunérés, scénario", "Coût actuel", "Coût du scénario", "Variation",
        "Variation (%)",
    ]
    WHO_COLUMNS = ["Région", "Gagnants", "Perdants", "Inchangés", "Nouveaux rémunérés", "Ne sont plus rémunérés"]

    def _budget_row(self, scenario: Scenario, pid: str, scope: str, name: str) -> list:
        f = self.figures(scenario, pid, scope)
        pop = self.population(pid, scope)
        k = self._key(scenario)
        change_tie = (f"{k}:gagnants", f"{k}:perdants")
        return [
            name,
            sp.counted(pop, f"{k}:remuneres_base"),
            sp.counted(pop, f"{k}:remuneres_scenario"),
            sp.tied(f["cost_baseline_eur"], scope, f"{k}:remuneres_base"),
            sp.tied(f["cost_scenario_eur"], scope, f"{k}:remuneres_scenario"),
            sp.tied(fr.signed_eur(f["change_eur"]), scope, *change_tie),
            sp.tied(signed_pct(f["change_pct"]), scope, *change_tie, f"{k}:remuneres_base"),
        ]

    def _who_row(self, scenario: Scenario, pid: str, scope: str, name: str) -> list:
        pop = self.population(pid, scope)
        k = self._key(scenario)
        return [name, *(sp.counted(pop, f"{k}:{g}") for g in ("gagnants", "perdants", "inchanges", "nouveaux", "sortants"))]

    def _tag(self, scenario: Scenario, pid: str) -> str:
        """What tells a table from the same table of another period or scenario."""
        several = len(self.scenarios) > 1
        return f"{pid}" + (f", scénario {self.scenarios.index(scenario) + 1}" if several else "")

    def _by_region(self, scenario: Scenario, pid: str, row, columns: list[str]) -> pd.DataFrame:
        national, regions, _ = self._plans[pid]
        rows = [row(scenario, pid, code, f"{region.nom} ({code})") for code, region in load_regions().items()]
        rows.append(row(scenario, pid, NATIONAL, NATIONAL_NAME))
        columns = [columns[0], f"{columns[1]} ({self._tag(scenario, pid)})", *columns[2:]]
        return sp.typed_frame(rows, columns, [national, *regions.values()])

    def budget_frame(self, scenario: Scenario, pid: str) -> pd.DataFrame:
        """Cost by region and France entière: current rule, scenario, change."""
        return self._by_region(scenario, pid, self._budget_row, self.BUDGET_COLUMNS)

    def who_frame(self, scenario: Scenario, pid: str) -> pd.DataFrame:
        """Who gains and who loses, by region and France entière."""
        return self._by_region(scenario, pid, self._who_row, self.WHO_COLUMNS)

    def budget(self) -> list[Prose | dp.Table]:
        out: list[Prose | dp.Table] = []
        for scenario in self.scenarios:
            for pid in self.periods:
                out.append(Prose(f"### {md_escape(scenario.label)} — période {pid}"))
                out.append(fg.table(self.budget_frame(scenario, pid), self.plan(pid)))
                out.append(Prose(f"Professionnels qui gagnent, perdent ou ne changent pas ({md_escape(scenario.label)}, {pid}) :"))
                out.append(fg.table(self.who_frame(scenario, pid), self.plan(pid)))
        return out

    # ------------------------------------------------------------------ gains and losses

    def gains_frame(self, scenario: Scenario, pid: str, scope: str) -> pd.DataFrame:
        f = self.figures(scenario, pid, scope)
        pop = self.population(pid, scope)
        k = self._key(scenario)
        rows = [
            ["Gagnent", sp.counted(pop, f"{k}:gagnants"), sp.tied(f["mean_gain_eur"], scope, f"{k}:gagnants"),
             sp.tied(f["median_gain_eur"], scope, f"{k}:gagnants")],
            ["Perdent", sp.counted(pop, f"{k}:perdants"), sp.tied(f["mean_loss_eur"], scope, f"{k}:perdants"),
             sp.tied(f["median_loss_eur"], scope, f"{k}:perdants")],
            ["Inchangés", sp.counted(pop, f"{k}:inchanges"), None, None],
            ["Ensemble", sp.counted(pop, "professionnels"), None, None],
        ]
        where = NATIONAL_NAME if scope == NATIONAL else load_regions()[scope].nom
        return sp.typed_frame(rows, ["Professionnels", f"Nombre ({self._tag(scenario, pid)}, {where})", "Écart moyen", "Écart médian"], [pop])

    def _scopes(self) -> list[tuple[str, str]]:
        scopes = [(NATIONAL, NATIONAL_NAME)]
        if self.region is not None:
            scopes.append((self.region, load_regions()[self.region].nom))
        return scopes

    def _sections(self, out: list) -> Iterator[tuple[Any, str, str, str]]:
        """Each scenario × period × scope, its heading appended to ``out``; a scope of too few
        professionals gets the secrecy sentence instead and is not yielded."""
        for scenario in self.scenarios:
            for pid in self.periods:
                for scope, where in self._scopes():
                    out.append(Prose(f"### {md_escape(scenario.label)} — période {pid} — {md_escape(where)}"))
                    if self.plan(pid).whole(scope):
                        out.append(Prose(f"*Moins de {dp.threshold() + 1} professionnels : aucun chiffre publié (secret statistique).*"))
                        continue
                    yield scenario, pid, scope, where

    def gains(self) -> list[Prose | dp.Table | dp.Chart]:
        out: list[Prose | dp.Table | dp.Chart] = []
        for scenario, pid, scope, where in self._sections(out):
            out.append(fg.table(self.gains_frame(scenario, pid, scope), self.plan(pid)))
            out.append(self.distribution_chart(scenario, pid, scope, where))
        return out

    def distribution_chart(self, scenario: Scenario, pid: str, scope: str, where: str) -> dp.Chart | Prose:
        """Histogram of the change per professional (losses left, gains right), bars merged
        so that each holds 0 or more than 10 professionals (vsm.report.merged_bars)."""
        data = self.data[pid]
        mask = np.ones(len(data.ids), dtype=bool) if scope == NATIONAL else data.region == scope
        _tier, cents = data.scenarios[scenario.id]
        d = (cents - data.baseline)[mask] / 100.0
        changed = d != 0
        what = "écart par professionnel"
        if int(changed.sum()) < dp.chart_minimum():
            return ch.not_drawn(what, int(changed.sum()))
        k = self._key(scenario)
        segment = np.where(d > 0, 1, np.where(d < 0, 0, -1))
        low, high = float(min(d.min(), 0.0)), float(max(d.max(), 0.0))
        step = _nice_step((high - low) / 30 if high > low else 1.0)
        bounds = {}
        hidden = 0
        fig, ax = ch.new_figure()
        for seg, name, (a, b) in ((0, "perdants", (low, 0.0)), (1, "gagnants", (0.0, high + step * 1e-6))):
            if not (segment == seg).any():
                continue
            if self._masked(pid, scope, f"{k}:{name}"):
                hidden += 1
                ax.axvspan(a, b, facecolor="#e4e8ed", hatch="//", edgecolor="#aab4bf", linewidth=0)
                ax.text((a + b) / 2, 0.5, dp.symbol(), transform=ax.get_xaxis_transform(), ha="center", va="center")
            else:
                bounds[seg] = (a, b)
        bars = ch.merged_bars(d, segment, bounds, step)
        if bars:
            colours = {0: "#c44e52", 1: "#55a868"}
            ax.bar([b.low for b in bars], [b.count for b in bars], width=[b.high - b.low for b in bars], align="edge",
                   color=[colours[b.segment] for b in bars], edgecolor="white")
        if not bars and not hidden:
            return ch.all_masked(what)
        ax.axvline(0, color="#4a5868", linewidth=1)
        eur_axis(ax, "x")
        ch.count_axis(ax.yaxis)
        ax.set_xlabel(f"Écart de paiement, scénario − règle actuelle (pertes à gauche, gains à droite)\n{ch.secret_caption(hidden)}", fontsize=9)
        ax.set_ylabel("Professionnels")
        ax.set_title(f"Gains et pertes — {scenario.label} — {pid} — {where}", fontsize=10)
        description = (f"Histogramme des écarts de paiement par professionnel dont le paiement change ({scenario.label}, {pid}, "
                       f"{where}). " + ch.secret_caption(hidden))
        return dp.Chart(fig, description)

    # ------------------------------------------------------------------ tier changes

    def transitions_frame(self, scenario: Scenario, pid: str, scope: str) -> pd.DataFrame:
        pop = self.population(pid, scope)
        k = self._key(scenario)
        levels_b = range(len(self.baseline.tiers.levels) + 1)
        levels_s = range(len(scenario.rules.tiers.levels) + 1)
        where = NATIONAL_NAME if scope == NATIONAL else load_regions()[scope].nom
        columns = ["Règle actuelle", *(f"Scénario : {words.band_label(scenario.rules, t)} ({self._tag(scenario, pid)}, {where})"
                                       for t in levels_s)]
        rows = []
        for a in levels_b:
            row: list = [words.band_label(self.baseline, a)]
            for c in levels_s:
                name = f"{k}:transition_{a}_{c}"
                row.append(sp.counted(pop, name) if name in pop.groups else dp.Headcount(0))
            rows.append(row)
        return sp.typed_frame(rows, columns, [pop])

    def transitions(self) -> list[Prose | dp.Table]:
        out: list[Prose | dp.Table] = []
        for scenario, pid, scope, _where in self._sections(out):
            f = self.figures(scenario, pid, scope)
            k = self._key(scenario)
            moved = _cell(dp.Headcount(f["tier_changed"]), self._masked(pid, scope, f"{k}:changent_palier"))
            out.append(Prose(f"{moved} professionnels changent de palier (lignes : palier avec la règle actuelle ; "
                             "colonnes : palier avec le scénario ; part de VSM pour la période)."))
            out.append(fg.table(self.transitions_frame(scenario, pid, scope), self.plan(pid)))
        return out

    # ------------------------------------------------------------------ sweep

    def _sweep_points(self, pid: str) -> list[dict]:
        return [r for r in (self.sweep or {}).get("rows", []) if r["period"] == pid]

    def sweep_frame(self, pid: str) -> pd.DataFrame:
        pop = self.population(pid, NATIONAL)
        label = self.sweep["label"]
        rows = []
        values = list(self.sweep["values"])
        for point in self._sweep_points(pid):
            text = value_text(self.sweep["path"], exact_number(point["value"]))
            current = point["current"]
            shown = f"{text} (règle actuelle)" if current else text
            cost = Decimal(point["cost_eur"])
            if point["value"] in values and not current:
                i = values.index(point["value"]) + 1
                rows.append([shown, sp.counted(pop, f"v{i}:balayage_remuneres"),
                             sp.tied(cost, NATIONAL, f"v{i}:balayage_remuneres", f"v{i}:balayage_change")])
            else:  # the current rule: the baseline's own figures
                rows.append([shown, sp.counted(pop, "remuneres_actuel"), sp.tied(cost, NATIONAL, "remuneres_actuel")])
        return sp.typed_frame(rows, [label[:1].upper() + label[1:], f"Professionnels rémunérés ({pid})", "Coût"], [pop])

    def sweep_section(self) -> list[Prose | dp.Table | dp.Chart]:
        if not self.sweep:
            return [Prose("*Pas de balayage dans cette simulation (option « --sweep » de « vsm simulate »).*")]
        out: list[Prose | dp.Table | dp.Chart] = []
        current = value_text(self.sweep["path"], exact_number(self.sweep["current"]))
        for pid in self.periods:
            out.append(Prose(f"### Période {pid}\n\nValeur actuelle de la règle : **{md_escape(current)}** "
                             f"(`{md_escape(self.sweep['path'])}`)."))
            out.append(self.sweep_chart(pid))
            out.append(fg.table(self.sweep_frame(pid), self.plan(pid)))
        return out

    def sweep_chart(self, pid: str) -> dp.Chart:
        """Cost and professionals paid for each value; the current rule's point marked, at
        the baseline's exact total; masked points are not drawn."""
        points = self._sweep_points(pid)
        values = list(self.sweep["values"])
        xs, costs, paid, hidden = [], [], [], 0
        current_point = None
        for point in points:
            x = float(exact_number(point["value"]))
            if point["current"]:
                current_point = (x, Decimal(point["cost_eur"]), int(point["paid"]))
            masked = False
            if point["value"] in values and not point["current"]:
                i = values.index(point["value"]) + 1
                masked = self._masked(pid, NATIONAL, f"v{i}:balayage_remuneres", f"v{i}:balayage_change")
            if masked:
                hidden += 1
                continue
            xs.append(x)
            costs.append(float(Decimal(point["cost_eur"])))
            paid.append(int(point["paid"]))
        # matplotlib only when a chart is drawn: « vsm simulate » imports this module for its words
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.5, 5.2), layout="constrained")
        ax_cost, ax_paid = fig.subplots(2, 1, sharex=True)
        ax_cost.plot(xs, costs, marker="o", markersize=3, color="#4c72b0")
        ax_paid.plot(xs, paid, marker="o", markersize=3, color="#55a868")
        described = ""
        if current_point is not None:
            x, cost, n = current_point
            ax_cost.axvline(x, color="#c44e52", linestyle="--", linewidth=1)
            ax_paid.axvline(x, color="#c44e52", linestyle="--", linewidth=1)
            ax_cost.plot([x], [float(cost)], marker="D", color="#c44e52", markersize=7, zorder=5)
            ax_cost.annotate(f"règle actuelle : {fr.eur(cost)}", (x, float(cost)), textcoords="offset points", xytext=(6, 8),
                             fontsize=8, color="#c44e52")
            ax_paid.plot([x], [n], marker="D", color="#c44e52", markersize=7, zorder=5)
            described = f" Règle actuelle ({value_text(self.sweep['path'], exact_number(self.sweep['current']))}) : {fr.eur(cost)}."
        eur_axis(ax_cost, "y")
        ch.count_axis(ax_paid.yaxis)
        ax_cost.set_ylabel("Coût")
        ax_paid.set_ylabel("Professionnels rémunérés")
        if self.sweep["path"].endswith(("min_share", "min_structured_share", "rate")):
            ch.percent_axis(ax_paid.xaxis)
        caption = self.sweep["label"]
        if hidden:
            caption += f" ({hidden} valeur(s) non tracée(s) : secret statistique)"
        ax_paid.set_xlabel(caption)
        ax_cost.set_title(f"Balayage — {self.sweep['label']} — {pid} — {NATIONAL_NAME}", fontsize=10)
        return dp.Chart(fig, f"Courbes du coût et du nombre de professionnels rémunérés selon {self.sweep['label']} ({pid})." + described)

    # ------------------------------------------------------------------ method

    def method(self) -> Prose:
        agg = self.manifest.get("aggregations", [])
        n_rules = sum(len(a["rules"]) for a in agg)
        inputs = self.manifest.get("inputs", {})
        rows = inputs.get("feeds", {}).get("rows")
        text = (
            f"Les traces d'alimentation du DMP ({fr.integer(rows) if rows is not None else '?'} lignes) ont été agrégées "
            f"{fr.integer(len(agg))} fois pour {fr.integer(n_rules)} jeux de règles : une seule fois par façon de compter les VSM "
            "(typeCode, statuts, actions, formats structurés, règle de structuration, dates des périodes) ; les variantes qui ne "
            "changent que les paliers, les montants, la majoration ou la pondération réutilisent les mêmes effectifs. "
            "Chaque jeu de règles est ensuite calculé par le même calcul exact que les paiements (parts comparées en rationnels, "
            "montants en centimes, un seul arrondi au centime). Pour une période de complément, le scénario est comparé à "
            "la règle actuelle sur le complément versé, calculé contre le montant de la période précédente **du même scénario**."
            f"\n\n{md_escape(secrecy.secret_note())} Les écarts de coût portent sur les professionnels "
            "dont le paiement change ; ils sont masqués avec eux. Les empreintes des jeux de règles et des extractions sont "
            "dans le manifeste de la simulation."
        )
        return Prose(text)

    # ------------------------------------------------------------------ checks

    def count_tables(self) -> dict[str, pd.DataFrame]:
        """The unmasked numbers of professionals of every table shown (for find_leaks)."""
        tables = {}
        for scenario in self.scenarios:
            for pid in self.periods:
                tables[f"budget {scenario.id} {pid}"] = dp.count_table(self.budget_frame(scenario, pid))
                tables[f"gagnants {scenario.id} {pid}"] = dp.count_table(self.who_frame(scenario, pid))
                for scope, _where in self._scopes():
                    if self.plan(pid).whole(scope):
                        continue
                    tables[f"gains {scenario.id} {pid} {scope}"] = dp.count_table(self.gains_frame(scenario, pid, scope))
                    tables[f"paliers {scenario.id} {pid} {scope}"] = dp.count_table(self.transitions_frame(scenario, pid, scope))
        if self.sweep:
            for pid in self.periods:
                tables[f"balayage {pid}"] = dp.count_table(self.sweep_frame(pid))
        return tables


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for k in (1, 2, 5, 10):
        if raw <= k * power:
            return float(k * power)
    return float(10 * power)


def title_facts(baseline: RuleSet, scenarios: list[Scenario], periods: list[str], region: str | None) -> dict:
    """The title block facts (``metadata["vsm"]`` of the executed notebook)."""
    labels = " ; ".join(s.label for s in scenarios)
    facts: dict = {
        "kind": "national" if region is None else "regional",
        "region": NATIONAL if region is None else region,
        "region_name": NATIONAL_NAME if region is None else load_regions()[region].nom,
        "title": f"Simulation du forfait VSM — {labels}" if labels else "Simulation du forfait VSM — balayage",
        "period": ", ".join(periods),
        "rules": baseline.id,
        "rules_label": baseline.label,
        "rules_sha256": baseline.sha256,
        "scenarios": [s.id for s in scenarios],
    }
    if len(periods) == 1:
        p = baseline.period(periods[0])
        facts.update(start=p.start.isoformat(), end=p.end.isoformat(), payment=p.payment, complement_of=p.complement_of)
    return facts


def simulation_report(rules: RuleSet | str | None, scenarios: object, period: str, region: object,
                      simulation_dir: str | Path | None) -> SimulationReport:
    """Validate the notebook's parameters against the simulation folder and load it.
    ``simulation_dir`` None: data/simulations/<rule set of params/vsm.yml> in the project;
    ``rules`` None: the reference rule set the simulation was computed with (its manifest)."""
    if simulation_dir is None:
        folder = PROJECT_DIR / default_simulation_dir(default_rules())
    else:
        folder = rd.resolve_path(simulation_dir)
    manifest, summary, sweep = read_simulation(folder)
    if rules is None:
        rules = str(manifest.get("baseline", {}).get("id", ""))
    baseline = rules if isinstance(rules, RuleSet) else load_rules(rules)
    if manifest["baseline"]["sha256"] != baseline.sha256 or manifest["baseline"]["id"] != baseline.id:
        raise VsmError(f"La simulation de « {folder} » a été calculée avec un autre jeu de règles que {baseline.id} : la relancer.")
    loaded = [load_scenario(rd.resolve_path(p), baseline) for p in parse_scenarios(scenarios)]
    recorded = {s["id"]: s["sha256"] for s in manifest.get("scenarios", [])}
    for scenario in loaded:
        if recorded.get(scenario.id) != scenario.rules.sha256:
            raise VsmError(
                f"Le scénario {scenario.id} n'a pas été calculé dans « {folder} » (ou son fichier a changé depuis) : relancer « vsm simulate »."
            )
    computed = manifest.get("periods", [])
    text = str(period).strip()
    periods = list(computed) if text.lower() in ("all", "toutes", "") else [text]
    for pid in periods:
        baseline.period(pid)
        if pid not in computed:
            raise VsmError(f"La période {pid} n'a pas été simulée dans « {folder} » (périodes : {', '.join(computed)}).")
    return SimulationReport(baseline, loaded, periods, parse_region(region), folder, manifest, summary, sweep)


__all__ = ["SimulationReport", "signed_pct", "simulation_report", "title_facts", "value_text"]
