"""The title block of a report and the sentences of its introduction that depend on the
rule set, the settings or the batch (the notebook's prose does not), and the sections both
reports share (:class:`SharedSections`)."""

from __future__ import annotations

import datetime as dt

from .. import present as fr
from ..display import Prose, md_escape
from ..rules import RuleSet
from ..rules.words import POPULATION_WORDS, methodology_frame, rule_summary_markdown
from ..publish.payments import PAYMENTS_FILE
from .data import NATIONAL, NATIONAL_NAME, region_of
from .display import Table, threshold
from .figures import exclusions_frame, table, without_patientele_frame


# --------------------------------------------------------------------------- title


def title_facts(rules: RuleSet, period: str, region: str, entry: dict) -> dict:
    """The facts of a report's title block (also stored in the executed notebook's
    metadata under ``vsm``). ``region``: a code, or "national"."""
    p = rules.period(period)
    if region == NATIONAL:
        code, name, caisse = NATIONAL, NATIONAL_NAME, None
    else:
        r = region_of(region)
        code, name, caisse = r.code, r.nom, r.caisse
    return {
        "kind": "national" if code == NATIONAL else "regional",
        "region": code,
        "region_name": name,
        "caisse": caisse,
        "period": period,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "payment": p.payment,
        "complement_of": p.complement_of,
        "rules": rules.id,
        "rules_label": rules.label,
        "rules_sha256": rules.sha256,
        "snapshot_dates": list(entry.get("snapshot_dates", [])),
    }


def title_markdown(facts: dict) -> str:
    where = facts["region_name"] if facts["region"] == NATIONAL else f"{facts['region_name']} ({facts['region']})"
    kind = "Synthèse nationale" if facts["region"] == NATIONAL else "Rapport régional"
    start, end = dt.date.fromisoformat(facts["start"]), dt.date.fromisoformat(facts["end"])
    lines = [
        f"# Forfait VSM — {md_escape(where)} — période {facts['period']}",
        "",
        f"**{kind}.** Observation du {fr.date(start)} au {fr.date(end)}, versement au {facts['payment']}"
        + (f" (complément de la période {facts['complement_of']})" if facts.get("complement_of") else "")
        + ".",
        "",
        f"- Jeu de règles : {md_escape(facts['rules_label'])} (`{facts['rules']}`)",
    ]
    if facts.get("caisse"):
        lines.append(f"- Caisse : {md_escape(facts['caisse'])}")
    dates = ", ".join(fr.date(dt.date.fromisoformat(d)) for d in facts.get("snapshot_dates", [])) or "—"
    lines.append(f"- Date des extractions (arrêté de la patientèle « médecin traitant ») : {dates}")
    return "\n".join(lines)


def scope_markdown(rules: RuleSet, where: str, across: str) -> str:
    """Who a report is about (the rule set's population) and the statistical-secrecy rule it
    follows (the threshold of params/secret.yml): the sentences of the introduction that
    depend on the rule set and the settings, so that the notebook's prose does not."""
    who = POPULATION_WORDS[rules.population]
    return (
        f"Professionnels concernés : {who} {where} (jeu de règles {md_escape(rules.id)}). "
        f"Secret statistique : aucun effectif de 1 à {threshold()} professionnels n'est lisible, "
        f"ni dans un tableau ni par différence {across}, entre les deux périodes ou avec le forfait structure (« s ») : "
        "le masquage est décidé une seule fois pour tout ce que publie le jeu de règles. "
        "La règle de dominance (un professionnel faisant l'essentiel d'un montant publié) n'est pas appliquée : "
        "aucune des sources suivies par l'outil n'en fixe une ; tout montant publié porte sur 0 ou plus de "
        f"{threshold()} professionnels."
    )


def payments_markdown(rules: RuleSet, period: str, path: str) -> str:
    p = rules.period(period)
    what = f"le complément à verser au {p.payment}" if p.complement_of else f"le montant à verser au {p.payment}"
    folder = path.rsplit("/", 1)[0] + "/" if "/" in path else ""
    where = f"`{PAYMENTS_FILE}`, à côté de ce rapport" + (f" (`{folder}` dans le dossier des rapports)" if folder else "")
    return (
        "La liste des paiements par professionnel n'est pas publiée dans ce rapport. Elle est remise au seul service "
        f"des paiements de la caisse, dans le fichier {where} : une ligne par professionnel à payer, son identifiant "
        f"(RPPS) et ses montants en euros, dont `payable_eur`, {md_escape(what)}. Elle ne contient aucun identifiant de patient."
    )


class SharedSections:
    """What the regional report and the national synthesis show alike. The report classes
    give ``rules``, ``period``, ``entry``, ``plan`` and ``facts``."""

    def title(self) -> Prose:
        return Prose(title_markdown(self.facts))

    def rule_summary(self) -> Prose:
        return Prose(rule_summary_markdown(self.rules, self.period))

    def exclusions(self, kind: str = "feeds") -> Table:
        return table(exclusions_frame(self.entry, kind))

    def without_patientele(self) -> Table:
        return table(without_patientele_frame(self.entry), self.plan)

    def methodology(self) -> Table:
        return table(methodology_frame(self.rules, self.period))
