"""What notebooks/rapport_regional.ipynb shows, for one region and one period: the
:class:`RegionalReport` and its worked explanations (« Professionnel A, B, C »)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .. import present as fr
from ..display import Prose, md_escape
from ..errors import VsmError
from ..explain import explain_row
from ..regions import Region, load_regions, normalize_region
from ..rules import RuleSet
from ..structure.rules import load_structure_rules
from ..rules.words import band_label, majoration_label, reached_label, threshold_percent
from .charts import patientele_histogram, share_histogram, structured_histogram
from .data import NATIONAL, NATIONAL_NAME, NEAR_WIDTH, ints, load_period, region_rows, report_parameters, results_folder
from .display import Chart, Table, count_table, chart_minimum, threshold
from .figures import (
    departements_frame,
    essentials_markdown,
    key_figures_frame,
    near_threshold_frame,
    region_vs_national_frame,
    regional_quality_frame,
    table,
    tier_majoration_frame,
    without_patientele_frame,
)
from .plan import Secrecy, departement_scope, report_plan
from .structure import read_structure_results, structure_rules_of, structure_section
from .titles import SharedSections, payments_markdown, scope_markdown, title_facts


# --------------------------------------------------------------------------- worked explanations

PATIENT_COUNTS = ("patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured")


@dataclass(frozen=True)
class Case:
    letter: str
    title: str
    steps: tuple  # of vsm.explain.Step; empty when no professional fits the case
    note: str = ""  # why no professional is shown, when steps is empty


def _typical(frame: pd.DataFrame) -> pd.Series | None:
    """The professional of ``frame`` whose VSM share is closest to the group's median
    (ties broken by identifier, never shown): a representative, reproducible choice."""
    if frame.empty:
        return None
    shares = frame["vsm_share"].astype(float).fillna(0.0)
    distance = (shares - shares.median()).abs()
    order = pd.DataFrame({"d": distance.to_numpy(), "id": frame["ps_id"].astype(str).to_numpy()}).sort_values(["d", "id"])
    return frame.iloc[int(order.index[0])]


def publishable_patient_counts(frame: pd.DataFrame) -> np.ndarray:
    """Professionals whose patient and DMP counts (shown in a worked explanation) are all 0
    or more than the secrecy threshold."""
    ok = np.ones(len(frame), dtype=bool)
    for column in PATIENT_COUNTS:
        values = ints(frame[column])
        ok &= (values == 0) | (values > threshold())
    return ok


def worked_cases(results: pd.DataFrame, rules: RuleSet, period: str) -> list[Case]:
    """Three professionals of ``results``: A with a forfait of 0 €, B at the first tier
    without majoration, C majorated — each explained step by step. Only professionals whose
    patient counts shown are 0 or more than the secrecy threshold are chosen."""
    eligible = results["eligible"].astype(bool)
    tier = results["tier"].astype(int)
    majorated = results["majoration"].astype(bool)
    zero = results[eligible & (tier == 0)]
    zero_title = f"forfait nul (part de VSM {band_label(rules, 0)})"
    if zero.empty:
        zero = results[~eligible]
        zero_title = "forfait nul (non éligible)"
    choices = [
        ("A", zero_title, zero),
        ("B", f"premier palier ({band_label(rules, 1)}), sans majoration", results[eligible & (tier == 1) & ~majorated]),
        ("C", f"forfait majoré ({majoration_label(rules)})", results[majorated]),
    ]
    if not rules.majoration.enabled.value:
        choices[2] = ("C", f"palier le plus élevé ({reached_label(rules, len(rules.tiers.levels))})", results[tier == len(rules.tiers.levels)])
    cases = []
    for letter, title, frame in choices:
        publishable = frame[publishable_patient_counts(frame)] if len(frame) else frame
        row = _typical(publishable)
        steps = tuple(explain_row(row, rules, period)) if row is not None else ()
        note = ""
        if row is None and len(frame):
            note = (
                f"Aucun professionnel de ce cas n'a que des effectifs de patients publiables (0 ou plus de {threshold()}) : "
                "son calcul n'est pas détaillé (secret statistique)."
            )
        cases.append(Case(letter, title, steps, note))
    return cases


def cases_markdown(cases: list[Case]) -> str:
    parts = []
    for case in cases:
        parts.append(f"### Professionnel {case.letter} — {md_escape(case.title)}")
        if not case.steps:
            parts.append(md_escape(case.note) if case.note else "Aucun professionnel de ce périmètre ne correspond à ce cas.")
            continue
        parts.append("\n".join(f"{i}. **{md_escape(s.title)}** : {md_escape(s.text)}" for i, s in enumerate(case.steps, start=1)))
    return "\n\n".join(parts)


@dataclass
class RegionalReport(SharedSections):
    """What rapport_regional.ipynb shows, for one region and one period."""

    rules: RuleSet
    period: str
    region: Region
    results: pd.DataFrame  # national results of the period
    entry: dict  # the manifest's entry for the period
    near_width: Fraction = NEAR_WIDTH
    structure_results: pd.DataFrame | None = None
    structure_source: str = ""
    payments_path: str = ""
    results_dir: str | Path | None = None  # where every period's results are (the secrecy plan covers them all)
    secret_plan: str | Path | None = None  # the batch's decision (secret_statistique.json)

    @cached_property
    def regional(self) -> pd.DataFrame:
        return region_rows(self.results, self.region.code)

    @cached_property
    def plan(self) -> Secrecy:
        """The masks of everything published for the rule set (the same in every notebook):
        every period, both forfaits, every region and the national synthesis."""
        return report_plan(self.rules, self.period, self.results, self.entry, self.results_dir, self.structure_results,
                           self.near_width, self.secret_plan)

    @property
    def scope(self) -> str:
        return self.region.code

    @property
    def whole(self) -> bool:
        """The region has 1 to 10 professionals: none of its figures is published."""
        return self.plan.whole(self.scope)

    @property
    def where(self) -> str:
        return f"{self.region.nom} ({self.region.code})"

    @property
    def facts(self) -> dict:
        return title_facts(self.rules, self.period, self.region.code, self.entry)

    def essentials(self) -> Prose:
        if len(self.regional) == 0:
            return Prose(f"Aucun professionnel de la région {md_escape(self.where)} dans la patientèle « médecin traitant » de ce lot : rien à verser.")
        national = essentials_markdown(self.results, self.rules, self.period, NATIONAL, self.plan, NATIONAL_NAME)
        if self.whole:
            return Prose(
                f"**La région compte de 1 à {threshold()} professionnels** dans la patientèle « médecin traitant » : "
                "conformément au secret statistique, aucun effectif, montant, part ni graphique régional n'est publié dans ce "
                "rapport, pour le forfait VSM comme pour le forfait structure (pas même les zéros, qui diraient où se trouvent "
                "ces quelques professionnels). **Le montant dû à chacun est dans la liste des paiements** remise au service "
                "des paiements de la caisse (voir « Paiements » plus bas). La règle ci-dessous s'applique à chacun ; les "
                "chiffres de la France entière sont donnés pour comparaison :\n\n"
                + national
            )
        return Prose(essentials_markdown(self.regional, self.rules, self.period, self.scope, self.plan, self.region.nom))

    def scope_note(self) -> Prose:
        return Prose(scope_markdown(self.rules, "de la région", "entre deux chiffres"))

    def _regional_table(self, what: str, frame) -> Table | Prose:
        """A table of the region's own figures (``frame()``, built only when published), or the
        sentence saying it is withheld for a region of 1 to 10 professionals."""
        return self._withheld(what) if self.whole else table(frame(), self.plan)

    def _withheld(self, what: str) -> Prose:
        return Prose(
            f"*{what} : non publié, la région comptant de 1 à {threshold()} professionnels (secret statistique). "
            "Les chiffres de la France entière sont dans le tableau « La région et la France entière ».*"
        )

    def key_figures(self) -> Table | Prose:
        return self._regional_table("Chiffres clés de la région", lambda: key_figures_frame(self.regional, self.rules, self.period, self.scope))

    def comparison(self) -> Table:
        return table(region_vs_national_frame(self.results, self.region.code, self.rules, self.period), self.plan)

    def tier_totals(self) -> Table | Prose:
        return self._regional_table("Montants par palier et majoration de la région", lambda: tier_majoration_frame(self.regional, self.rules, self.scope))

    def share_chart(self) -> Chart | Prose:
        return share_histogram(self.regional, self.rules, self.where, self.plan, self.scope, self.near_width)

    def structured_chart(self) -> Chart | Prose:
        return structured_histogram(self.regional, self.rules, self.where, self.plan, self.scope, self.near_width)

    def patientele_chart(self) -> Chart | Prose:
        return patientele_histogram(self.regional, self.rules, self.where, self.plan, self.scope, self.near_width)

    def near_thresholds(self) -> Table | Prose:
        return self._regional_table("Professionnels proches d'un seuil dans la région", lambda: near_threshold_frame(self.regional, self.rules, self.near_width, self.scope))

    def near_thresholds_intro(self) -> Prose:
        bands = " et ".join(
            f"{threshold_percent(max(level.min_share - self.near_width, Fraction(0)))} à {threshold_percent(level.min_share)}"
            for level in self.rules.tiers.levels
        )
        return Prose(
            f"Bandes de {fr.number(self.near_width * 100, 1)} points sous chaque seuil du jeu de règles ({bands}). "
            "Le nombre de DMP à alimenter est le plus petit nombre de DMP supplémentaires qui ferait atteindre le seuil "
            "à patientèle inchangée."
        )

    def quality(self) -> Table | Prose:
        return self._regional_table("Qualité des données de la région", lambda: regional_quality_frame(self.regional, self.entry, self.rules, self.scope))

    def worked_examples(self) -> Prose:
        if len(self.regional) <= threshold():
            return Prose(
                f"Les calculs expliqués ne sont montrés que pour une région de plus de {threshold()} professionnels : "
                "ils donnent les chiffres exacts d'un professionnel, qui serait trop facile à reconnaître ici (secret statistique). "
                "La règle de calcul est résumée plus haut et détaillée dans le tableau « Méthode »."
            )
        return Prose(cases_markdown(worked_cases(self.regional, self.rules, self.period)))

    def structure(self) -> list[Prose | Table]:
        return structure_section(self.structure_results, self.region.code, self.plan, self.regional, self.structure_source)


    def payments(self) -> Prose:
        return Prose(payments_markdown(self.rules, self.period, self.payments_path))

    # Sections: their heading and fixed prose are markdown cells of the notebook (tagged
    # « section-regionale »); these methods give what depends on the data. A region of 1 to 10
    # professionals has none of the regional sections (« L'essentiel » says why): each method
    # then shows nothing, and the batch drops the tagged cell before it (vsm.batch.finalize).

    def key_figures_section(self) -> list:
        if self.whole:
            return []
        return [self.key_figures()]

    def departements(self) -> Table | Prose:
        """The region's key figures by département (its patientèle's), under the plan."""
        if "departement" not in self.regional.columns:
            return Prose("*La patientèle de ce lot ne renseigne pas le département des professionnels : "
                         "pas de chiffres par département.*")
        return table(departements_frame(self.regional, self.rules, self.period, departement_scope(self.scope)), self.plan)

    def departements_section(self) -> list:
        if self.whole or len(self.regional) == 0:
            return []
        return [self.departements()]

    def comparison_section(self) -> list:
        intro = (
            "Les chiffres de la région ne sont pas publiés (« s ») ; ceux de l'ensemble des professionnels du lot sont "
            "donnés pour comparaison."
            if self.whole
            else "Les mêmes indicateurs pour la région et pour l'ensemble des professionnels du lot."
        )
        return [Prose(intro), self.comparison()]

    def tiers_section(self) -> list:
        if self.whole:
            return []
        return [self.tier_totals()]

    def distributions_section(self) -> list:
        if self.whole:
            return []
        return [
            Prose(
                "Les graphiques portent sur les professionnels éligibles. Pour le secret statistique, "
                f"les barres sont regroupées de façon que chacune compte 0 ou plus de {threshold()} professionnels et ne "
                "chevauche aucun seuil ; une partie couverte par le secret est hachurée (« s ») ; un graphique de moins de "
                f"{chart_minimum()} professionnels n'est pas tracé."
            )
        ]

    def share_chart_section(self) -> list:
        return [] if self.whole else [self.share_chart()]

    def structured_chart_section(self) -> list:
        return [] if self.whole else [self.structured_chart()]

    def patientele_chart_section(self) -> list:
        return [] if self.whole else [self.patientele_chart()]

    def near_section(self) -> list:
        if self.whole:
            return []
        return [
            Prose(
                "Professionnels éligibles dont la part de VSM est juste sous un "
                "seuil de palier, et nombre de DMP qu'il leur reste à alimenter pour l'atteindre. Seuls des agrégats sont "
                "publiés. " + self.near_thresholds_intro().text
            ),
            self.near_thresholds(),
        ]

    def forfait_structure_section(self) -> list:
        if self.whole:
            return []
        return [Prose(f"## Forfait structure {self._structure_year()}"), *self.structure()]

    def _structure_year(self) -> str:
        try:
            return str(load_structure_rules(structure_rules_of(self.structure_results)).year)
        except VsmError:
            return ""

    def regional_quality_section(self) -> list:
        """The region's own data quality (« Qualité des données »: the notebook's heading and
        the national tables follow), nothing for a region of 1 to 10 professionals."""
        if self.whole:
            return []
        return [Prose("Dans la région :"), self.quality()]

    def cases_section(self) -> list:
        if self.whole:
            return []
        return [
            Prose(
                "Trois professionnels de la région, choisis parmi les plus représentatifs "
                "de leur cas (part de VSM la plus proche de la médiane du cas), et désignés par une lettre : un forfait nul, "
                "un premier palier sans majoration, un forfait majoré. Chaque étape cite la règle qu'elle applique. Seuls "
                f"des professionnels dont les effectifs de patients affichés valent 0 ou plus de {threshold()} sont choisis."
            ),
            self.worked_examples(),
        ]

    def count_tables(self) -> dict[str, pd.DataFrame]:
        """The unmasked numbers of professionals of every table this report shows, labelled
        as shown: what find_leaks (tests/secrecy_checks.py) checks the rendered report against."""
        tables = {
            "comparaison": count_table(region_vs_national_frame(self.results, self.region.code, self.rules, self.period)),
            "absents de la patientèle": count_table(without_patientele_frame(self.entry)),
        }
        if not self.whole:
            tables["chiffres clés"] = count_table(key_figures_frame(self.regional, self.rules, self.period, self.scope))
            tables["paliers"] = count_table(tier_majoration_frame(self.regional, self.rules, self.scope), labels=2)
            tables["proches d'un seuil"] = count_table(near_threshold_frame(self.regional, self.rules, self.near_width, self.scope))
            tables["qualité"] = count_table(regional_quality_frame(self.regional, self.entry, self.rules, self.scope))
            frames: dict[str, pd.DataFrame] = {}
            structure_section(self.structure_results, self.region.code, self.plan, self.regional, self.structure_source, frames)
            tables.update({name: count_table(frame) for name, frame in frames.items()})
        return tables


def regional_report(
    rules: RuleSet | str | None,
    period: str | None,
    region: object,
    results_dir: str | Path,
    structure_results: str | Path | None = None,
    payments_path: str = "",
    structure_rules: str | None = None,
    secret_plan: str | None = None,
) -> RegionalReport:
    """Validate the notebook's parameters, read the results once and keep the region's rows.
    ``rules`` / ``period`` None: see :func:`vsm.report.data.report_parameters`;
    ``structure_rules`` None: the rule set recorded beside the forfait structure results."""
    code = normalize_region(region)  # « 4 » instead of « 04 » → French error with the hint
    rules, period = report_parameters(rules, period, results_dir)
    rules, results, entry, _ = load_period(rules, period, results_dir)
    structure = read_structure_results(structure_results, structure_rules)
    source = Path(str(structure_results)).name if structure is not None else ""
    return RegionalReport(rules, period, load_regions()[code], results, entry, structure_results=structure,
                          structure_source=source, payments_path=payments_path,
                          results_dir=results_folder(results_dir), secret_plan=secret_plan)
