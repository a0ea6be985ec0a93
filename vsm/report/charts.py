"""The charts of the reports (matplotlib figures wrapped in :class:`Chart`, with their
French description): per-professional histograms whose bars hold 0 or more than the secrecy
threshold, and the national synthesis's bars by region.

matplotlib is imported inside the drawing functions, not at the top: it costs about half a
second, and vsm.batch (every « vsm reports » start) imports this package without drawing."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping

import numpy as np
import pandas as pd

from .. import present as fr
from ..display import Prose
from ..regions import load_regions
from ..rules import RuleSet
from ..rules.words import majoration_label, reached_label, threshold_percent
from .data import NATIONAL, NATIONAL_NAME, NEAR_WIDTH, SHARE_CLIP, ZERO_BAR, ints, region_rows
from .display import Chart, chart_minimum, symbol, threshold
from .figures import key_figures
from .plan import Population, Secrecy, chart_populations, population, share_segments


# --------------------------------------------------------------------------- charts


def new_figure(width: float = 7.5, height: float = 3.6):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def percent_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.percent(x, decimals=0)))


def count_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.integer(round(x))))


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


@dataclass(frozen=True)
class Bar:
    segment: int
    low: float
    high: float
    count: int


def merged_bars(values: np.ndarray, segment: np.ndarray, bounds: Mapping[int, tuple[float, float]], step: float, limit: int | None = None) -> list[Bar]:
    """Histogram bars that never hold 1 to ``limit`` professionals. Inside each segment,
    bins of width ``step`` are made; then, while a bar holds 1 to ``limit``, the smallest
    one is merged with the smaller of its neighbours (so that a tall bin stays narrow and
    the sparse ones are grouped). Empty bins are gaps (0 is published). A segment of 1 to
    ``limit`` professionals gives no bar (it is masked as a whole)."""
    limit = threshold() if limit is None else limit
    bars = []
    for seg, (low, high) in bounds.items():
        members = values[segment == seg]
        if len(members) <= limit:
            continue
        edges = [low, *[k * step for k in range(int(math.floor(low / step)) + 1, int(math.ceil(high / step)))], high]
        counts, _ = np.histogram(np.clip(members, low, np.nextafter(high, low)), bins=edges)
        made = [[a, b, int(c)] for a, b, c in zip(edges[:-1], edges[1:], counts) if c]
        while len(made) > 1:
            smallest = min(range(len(made)), key=lambda i: (made[i][2], i))
            if made[smallest][2] > limit:
                break
            neighbours = [i for i in (smallest - 1, smallest + 1) if 0 <= i < len(made)]
            other = min(neighbours, key=lambda i: (made[i][2], i))
            left, right = sorted((smallest, other))
            made[left:right + 1] = [[made[left][0], made[right][1], made[left][2] + made[right][2]]]
        bars.extend(Bar(seg, a, b, c) for a, b, c in made)
    return bars


def _masked_segment(plan: Secrecy | None, pop: Population, name: str) -> bool:
    if plan is not None and plan.covers(pop.scope):
        return plan.is_masked(pop.scope, name)
    return pop.protect().is_masked(name)


def not_drawn(what: str, count: int) -> Prose:
    return Prose(
        f"*Graphique « {what} » non publié : il porterait sur moins de {fr.integer(chart_minimum())} professionnels "
        f"(secret statistique : ses barres feraient apparaître des effectifs de 1 à {threshold()}).*"
    )


def all_masked(what: str) -> Prose:
    return Prose(
        f"*Graphique « {what} » non publié : dans cette région, la plupart de ses parties (entre deux seuils) sont "
        "couvertes par le secret statistique.*"
    )


def _distribution(
    results: pd.DataFrame,
    rules: RuleSet,
    chart: str,
    values: np.ndarray,
    bounds: Mapping[int, tuple[float, float]],
    step: float,
    plan: Secrecy | None,
    scope: str,
    width: Fraction,
    colour: str,
    ax,
) -> tuple[list[Bar], int]:
    """Draw the merged bars of one chart; masked segments are a grey band marked « s ».
    Returns (bars drawn, segments masked)."""
    pop = population(scope, results, rules, width, detail=True)
    who, segment = chart_populations(results, rules, width)[chart]
    seg = np.where(who, segment, -1)
    hidden = 0
    shown_bounds = {}
    for value, (low, high) in bounds.items():
        name = f"segment_{chart}_{value}"
        if name in pop.groups and _masked_segment(plan, pop, name):
            hidden += 1
            ax.axvspan(low, high, facecolor="#e4e8ed", hatch="//", edgecolor="#aab4bf", linewidth=0)
            ax.text((low + high) / 2, 0.5, symbol(), transform=ax.get_xaxis_transform(), ha="center", va="center",
                    fontsize=12, color="#4a5868")
        else:
            shown_bounds[value] = (low, high)
    bars = merged_bars(values, seg, shown_bounds, step)
    if sum(b.count for b in bars) * 2 < int(who.sum()):  # mostly masked: not worth a chart
        return [], hidden
    if bars:
        ax.bar([b.low for b in bars], [b.count for b in bars], width=[b.high - b.low for b in bars], align="edge",
               color=colour, edgecolor="white")
    return bars, hidden


def bars_text(bars: list[Bar], label) -> str:
    """The figures of a histogram in words (its text alternative and caption): every bar's
    range and count; the bars hold 0 or more than the secrecy threshold, so this is as
    publishable as the chart itself."""
    parts = [f"{label(b.low, b.high)} : {fr.integer(b.count)}" for b in sorted(bars, key=lambda b: b.low)]
    return ("Professionnels par barre — " + " ; ".join(parts) + ".") if parts else ""


def _share_range(clip: float):
    def label(low: float, high: float) -> str:
        if high <= 0:
            return "aucun DMP alimenté"
        if high >= clip:
            return f"{fr.percent(low, decimals=0)} et plus"
        return f"de {fr.percent(low, decimals=0)} à {fr.percent(high, decimals=0)}"
    return label


def _patients_range(top: float):
    def label(low: float, high: float) -> str:
        if high >= top:
            return f"{fr.integer(round(low))} patients et plus"
        return f"de {fr.integer(round(low))} à {fr.integer(round(high))} patients"
    return label


def secret_caption(hidden: int) -> str:
    text = f"Barres regroupées : chacune compte 0 ou plus de {threshold()} professionnels"
    if hidden:
        text += f" ; zone hachurée « {symbol()} » : secret statistique"
    return text + "."


def share_histogram(results: pd.DataFrame, rules: RuleSet, where: str = "", plan: Secrecy | None = None,
                    scope: str = "region", width: Fraction = NEAR_WIDTH) -> Chart | Prose:
    """VSM share of the eligible professionals, with the tier thresholds of the rule set
    (bars merged and segments masked as the secrecy plan says)."""
    who, _ = chart_populations(results, rules, width)["part"]
    if int(who.sum()) < chart_minimum():
        return not_drawn("part de VSM", int(who.sum()))
    fig, ax = new_figure()
    segment, bounds = share_segments(results, rules, width)
    clip = float(SHARE_CLIP)
    shares = np.minimum(ints(results["dmp_vsm"]) / np.maximum(ints(results["patients_mt_ald"]), 1), clip - 1e-9)
    # Segment 0 is « no DMP fed » (a share of exactly 0): drawn left of the axis's zero.
    shares = np.where(segment == 0, -ZERO_BAR / 2, shares)
    display = {i: (float(a), float(b)) for i, (a, b) in enumerate(bounds)}
    display[0] = (-ZERO_BAR, 0.0)
    drawn, hidden = _distribution(results, rules, "part", shares, display, 0.05, plan, scope, width, "#4c72b0", ax)
    if not drawn:
        return all_masked("part de VSM")
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        ax.axvline(float(level.min_share), color="#c44e52", linestyle="--", linewidth=1.2)
        ax.text(float(level.min_share), 0.98, f" {reached_label(rules, level_number)} : {fr.eur(level.amount_eur)}",
                transform=ax.get_xaxis_transform(), va="top", ha="left", fontsize=8, color="#c44e52")
    ax.set_xlim(-ZERO_BAR, clip)
    ticks = [-ZERO_BAR / 2, *np.arange(0.25, clip + 1e-9, 0.25)]
    ax.set_xticks(ticks, ["aucun DMP", *(fr.percent(t, decimals=0) for t in ticks[1:])])
    count_axis(ax.yaxis)
    ax.set_xlabel(f"Part de VSM (DMP alimentés / patients MT en ALD ; au-delà de {threshold_percent(SHARE_CLIP)} : dernière classe)\n{secret_caption(hidden)}",
                  fontsize=9)
    ax.set_ylabel("Professionnels")
    ax.set_title("Part de VSM des professionnels éligibles" + (f" — {where}" if where else ""))
    description = (
        "Histogramme de la part de VSM des professionnels éligibles, "
        f"seuils des paliers : {', '.join(reached_label(rules, i) for i in range(1, len(rules.tiers.levels) + 1))}. "
        + secret_caption(hidden) + " " + bars_text(drawn, _share_range(clip))
    )
    return Chart(fig, description)


def structured_histogram(results: pd.DataFrame, rules: RuleSet, where: str = "", plan: Secrecy | None = None,
                         scope: str = "region", width: Fraction = NEAR_WIDTH) -> Chart | Prose:
    """Structured share among the eligible professionals with at least one DMP fed."""
    who, segment = chart_populations(results, rules, width)["structure"]
    if int(who.sum()) < chart_minimum():
        return not_drawn("part de VSM structurés", int(who.sum()))
    fig, ax = new_figure()
    shares = np.minimum(ints(results["dmp_vsm_structured"]) / np.maximum(ints(results["dmp_vsm"]), 1), 1 - 1e-9)
    if rules.majoration.enabled.value:
        cut = float(rules.majoration.min_structured_share.value)
        bounds = {0: (0.0, cut), 1: (cut, 1.0)}
    else:
        bounds = {0: (0.0, 1.0)}
    drawn, hidden = _distribution(results, rules, "structure", shares, bounds, 0.05, plan, scope, width, "#55a868", ax)
    if not drawn:
        return all_masked("part de VSM structurés")
    if rules.majoration.enabled.value:
        threshold_ = rules.majoration.min_structured_share.value
        ax.axvline(float(threshold_), color="#c44e52", linestyle="--", linewidth=1.2)
        ax.text(float(threshold_), 0.98, f" majoration : {majoration_label(rules)}", transform=ax.get_xaxis_transform(),
                va="top", ha="left", fontsize=8, color="#c44e52")
    ax.set_xlim(0, 1)
    percent_axis(ax.xaxis)
    count_axis(ax.yaxis)
    ax.set_xlabel(f"Part de DMP alimentés en données structurées (CI-SIS)\n{secret_caption(hidden)}", fontsize=9)
    ax.set_ylabel("Professionnels")
    ax.set_title("Part de VSM structurés" + (f" — {where}" if where else ""))
    return Chart(fig, "Histogramme de la part structurée des professionnels éligibles ayant alimenté au moins un DMP. "
                 + secret_caption(hidden) + " " + bars_text(drawn, _share_range(1.0 + 1e-9)))


def patientele_histogram(results: pd.DataFrame, rules: RuleSet, where: str = "", plan: Secrecy | None = None,
                         scope: str = "region", width: Fraction = NEAR_WIDTH) -> Chart | Prose:
    """Size of the patientèle « médecin traitant » of the eligible professionals, with the
    weighting's reference size."""
    who, _ = chart_populations(results, rules, width)["patientele"]
    if int(who.sum()) < chart_minimum():
        return not_drawn("taille de la patientèle", int(who.sum()))
    fig, ax = new_figure()
    sizes = ints(results["patients_mt"]).astype(float)
    reference = rules.ponderation.reference_patients.value
    top = float(max(int(sizes[who].max()), reference) + 100)
    bounds = {0: (0.0, float(reference)), 1: (float(reference), top)} if rules.ponderation.enabled.value else {0: (0.0, top)}
    drawn, hidden = _distribution(results, rules, "patientele", sizes, bounds, 100.0, plan, scope, width, "#8172b2", ax)
    if not drawn:
        return all_masked("taille de la patientèle")
    if rules.ponderation.enabled.value:
        ax.axvline(reference, color="#c44e52", linestyle="--", linewidth=1.2)
        ax.text(reference, 0.98, f" référence de la pondération : {fr.integer(reference)}", transform=ax.get_xaxis_transform(),
                va="top", ha="left", fontsize=8, color="#c44e52")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.integer(round(x))))
    ax.set_xlim(0, top)
    count_axis(ax.yaxis)
    ax.set_xlabel(f"Patients « médecin traitant »\n{secret_caption(hidden)}", fontsize=9)
    ax.set_ylabel("Professionnels")
    ax.set_title("Taille de la patientèle « médecin traitant »" + (f" — {where}" if where else ""))
    return Chart(fig, "Histogramme de la patientèle « médecin traitant » des professionnels éligibles. "
                 + secret_caption(hidden) + " " + bars_text(drawn, _patients_range(top)))


def _region_value(plan: Secrecy | None, results: pd.DataFrame, rules: RuleSet, code: str, names: tuple[str, ...], value):
    """A region's figure for a chart, or None when the plan masks it."""
    if plan is not None and plan.covers(code) and any(plan.is_masked(code, n) for n in names):
        return None
    if plan is None:
        pop = population(code, region_rows(results, code), rules)
        if any(pop.protect().is_masked(n) for n in names):
            return None
    return value


def regions_rates_chart(results: pd.DataFrame, rules: RuleSet, plan: Secrecy | None = None) -> Chart:
    """Share of eligible professionals at each tier, by region (horizontal bars; « s »
    where secrecy masks the share)."""
    regions = list(load_regions().values())
    figures = [key_figures(region_rows(results, r.code), rules) for r in regions]
    fig, ax = new_figure(7.5, 6.0)
    y = np.arange(len(regions))
    levels = range(1, len(rules.tiers.levels) + 1)
    height = 0.8 / len(levels)
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    hidden = 0
    for k, level in enumerate(levels):
        offsets = y + (k - (len(levels) - 1) / 2) * height
        values = [
            _region_value(plan, results, rules, r.code, (f"atteint_{level}", "eligibles"), kf.reached_share(level))
            for r, kf in zip(regions, figures)
        ]
        ax.barh(offsets, [float(v or 0) for v in values], height=height, color=colours[k % len(colours)],
                label=f"part de VSM {reached_label(rules, level)}")
        for position, value, kf in zip(offsets, values, figures):
            if value is None and kf.eligible:
                hidden += 1
                ax.text(0.005, position, symbol(), va="center", ha="left", fontsize=7, color="#4a5868")
    national = key_figures(results, rules)
    for k, level in enumerate(levels):
        share = national.reached_share(level)
        if share is not None and not (plan is not None and plan.covers(NATIONAL) and plan.is_masked(NATIONAL, f"atteint_{level}")):
            ax.axvline(float(share), color=colours[k % len(colours)], linestyle=":", linewidth=1)
    ax.set_yticks(y, [f"{r.nom} ({r.code})" for r in regions], fontsize=8)
    ax.invert_yaxis()
    percent_axis(ax.xaxis)
    ax.set_xlim(0, 1)
    note = f" ; « {symbol()} » : secret statistique" if hidden else ""
    ax.set_xlabel(f"Part des professionnels éligibles (pointillés : {NATIONAL_NAME}{note})")
    ax.set_title("Professionnels atteignant chaque palier, par région")
    fig.legend(loc="outside lower center", ncols=len(levels), fontsize=8)
    return Chart(fig, "Diagramme en barres : part des professionnels éligibles atteignant chaque palier, par région"
                 + (note.replace(" ;", ",") if note else "") + ". Les chiffres de chaque région sont ceux du tableau "
                 "« Les régions côte à côte ».")


def regions_amounts_chart(results: pd.DataFrame, rules: RuleSet, plan: Secrecy | None = None) -> Chart:
    """Mean amount per paid professional, by region (« s » where secrecy masks it)."""
    regions = list(load_regions().values())
    means = [
        _region_value(plan, results, rules, r.code, ("remuneres",), key_figures(region_rows(results, r.code), rules).mean_eur)
        for r in regions
    ]
    fig, ax = new_figure(7.5, 6.0)
    y = np.arange(len(regions))
    ax.barh(y, [float(m or 0) for m in means], color="#8172b2")
    hidden = 0
    for position, mean, r in zip(y, means, regions):
        if mean is None and len(region_rows(results, r.code)):
            hidden += 1
            ax.text(10, position, symbol(), va="center", ha="left", fontsize=8, color="#4a5868")
    national = key_figures(results, rules).mean_eur
    if national is not None and not (plan is not None and plan.covers(NATIONAL) and plan.is_masked(NATIONAL, "remuneres")):
        ax.axvline(float(national), color="#c44e52", linestyle=":", linewidth=1.2, label=f"{NATIONAL_NAME} : {fr.eur(national)}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, [f"{r.nom} ({r.code})" for r in regions], fontsize=8)
    ax.invert_yaxis()
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: fr.integer(round(x)) + fr.NBSP + "€"))
    note = f" (« {symbol()} » : secret statistique)" if hidden else ""
    ax.set_xlabel("Montant moyen par professionnel rémunéré" + note)
    ax.set_title("Montant moyen du forfait, par région")
    return Chart(fig, "Diagramme en barres : montant moyen par professionnel rémunéré, par région" + note
                 + ". Les chiffres de chaque région sont ceux du tableau « Les régions côte à côte ».")
