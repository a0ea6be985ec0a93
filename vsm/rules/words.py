"""The rules in French, once: every sentence, label and table that puts a rule set's values
into words, for every place that shows them (the command line, the explanations, the
methodology notebook, the reports), and the one way a source is cited.

* :func:`cite` — « (note méthodologique, § 3, point 1) », after a value in a sentence;
  :func:`source_label` — the same without the brackets, in a « Source » column.
* :func:`describe_rules` — a rule set as text, each value followed by its source
  (``vsm rules show``);
* :func:`rule_table` and :func:`section_markdown` — every rule with its section, value,
  document, passage, quote and note (the methodology notebook);
* :func:`methodology_frame` — the « Méthode » table of the reports (rules applied to a
  period, each beside its source and quote);
* :func:`rule_summary_markdown` — « La règle en bref », the forfait in numbered steps;
* the labels the tables and charts share: :func:`reached_label`, :func:`band_label`,
  :func:`majoration_label`, :func:`threshold_percent`, :func:`comparison_sign`.

Every value comes from the rule set; nothing here knows a threshold, an amount or a date.
"""

from __future__ import annotations

from fractions import Fraction

import pandas as pd

from .. import present as fr
from ..display import md_escape, md_escape_keep_bold
from .model import RuleSet, Source

SECTIONS = (
    "Éligibilité",
    "Numérateur",
    "Dénominateur",
    "Paliers",
    "Majoration",
    "Pondération",
    "Arrondi",
    "Périodes",
    "Complément",
)
RULE_COLUMNS = ("section", "règle", "valeur", "document", "fichier", "passage", "citation", "note")

_STATUS = {"success": "succès", "failure": "échec"}
_ACTION = {"creation": "création", "update": "mise à jour", "deletion": "suppression"}
_STRUCTURED_RULE = {
    "any": "au moins une alimentation structurée dans la période",
    "latest": "la dernière alimentation comptée est structurée",
}
COMPARISON_SIGNS = {">=": "≥", ">": ">"}
POPULATION_WORDS = {"medecin": "les médecins traitants", "centre": "les centres de santé"}


# --------------------------------------------------------------------------- citing a source


def source_label(rules, source: Source) -> str:
    """« note méthodologique, § 3, point 1 » (« — source secondaire » when the rule set tells
    secondary sources apart, as the forfait structure's does)."""
    is_secondary = getattr(rules, "is_secondary", None)
    secondary = " — source secondaire" if is_secondary is not None and is_secondary(source) else ""
    return f"{rules.document_label(source.seed)}, {source.passage}{secondary}"


def cite(rules, source: Source) -> str:
    """« (note méthodologique, § 3, règles de calcul du forfait, point 1) », after a value.
    ``rules``: any rule set with ``document_label`` (the VSM or the structure rule sets)."""
    return f"({source_label(rules, source)})"


# --------------------------------------------------------------------------- labels


def comparison_sign(comparison: str) -> str:
    """« >= » → « ≥ »."""
    return COMPARISON_SIGNS[comparison]


def yes_no(flag: bool) -> str:
    return "oui" if flag else "non"


def observation(period) -> str:
    """« du 1 janvier 2024 au 30 juin 2024 »."""
    return f"du {fr.date(period.start)} au {fr.date(period.end)}"


def _cmp(rules: RuleSet) -> str:
    return comparison_sign(rules.tiers.comparison)


def threshold_percent(value: Fraction) -> str:
    """A threshold as a percentage, exact digits only (« 50 % », « 33,3 % »)."""
    return fr.percent(value, decimals=0 if (value * 100).denominator == 1 else 1)


def reached_label(rules: RuleSet, level: int) -> str:
    """« ≥ 50 % » for tier level 1 (levels count from 1)."""
    return f"{_cmp(rules)} {threshold_percent(rules.tiers.levels[level - 1].min_share)}"


def band_label(rules: RuleSet, tier: int) -> str:
    """The share band of tier ``tier`` (0 = below the first level): « < 50 % »,
    « de 50 % à moins de 90 % », « ≥ 90 % »."""
    levels = rules.tiers.levels
    strict = rules.tiers.comparison == ">="
    if tier == 0:
        return f"{'<' if strict else '≤'} {threshold_percent(levels[0].min_share)}"
    low = threshold_percent(levels[tier - 1].min_share)
    if tier == len(levels):
        return f"{_cmp(rules)} {low}"
    high = threshold_percent(levels[tier].min_share)
    return f"de {low} à moins de {high}" if strict else f"plus de {low} à {high}"


def majoration_label(rules: RuleSet) -> str:
    threshold = rules.majoration.min_structured_share
    return f"part structurée {comparison_sign(threshold.comparison)} {fr.fraction(threshold.value)}"



# --------------------------------------------------------------------------- a rule set as text


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

    out.append("Éligibilité")
    param("patients MT en ALD minimum", fr.integer(rules.eligibility.min_patients_mt_ald.value), rules.eligibility.min_patients_mt_ald)
    out.append("Indicateur (numérateur)")
    ind = rules.indicator
    param("typeCode comptés", ", ".join(ind.type_codes.value), ind.type_codes)
    param("statuts comptés", ", ".join(ind.counted_statuses.value), ind.counted_statuses)
    param("actions comptées", ", ".join(ind.counted_actions.value), ind.counted_actions)
    param("tous les patients (ALD ou non)", yes_no(ind.all_patients.value), ind.all_patients)
    param("formatCode structurés", ", ".join(ind.structured_format_codes.value), ind.structured_format_codes)
    param("DMP alimenté plusieurs fois : structuré si", ind.structured_rule.value, ind.structured_rule)
    out.append(f"Paliers (part de VSM {rules.tiers.comparison} seuil)")
    out.extend(_source_lines(rules, rules.tiers.comparison_source, "      "))
    for level in rules.tiers.levels:
        out.append(f"  • {rules.tiers.comparison} {fr.fraction(level.min_share)} → forfait brut {fr.eur(level.amount_eur)}")
        out.extend(_source_lines(rules, level.source, "      "))
    maj = rules.majoration
    out.append("Majoration pour données structurées")
    param("appliquée", yes_no(maj.enabled.value), maj.enabled)
    param(
        "seuil de part structurée",
        f"{maj.min_structured_share.comparison} {fr.fraction(maj.min_structured_share.value)}",
        maj.min_structured_share,
    )
    param("taux", fr.percent(maj.rate.value, decimals=0), maj.rate)
    pond = rules.ponderation
    out.append("Pondération")
    param("appliquée", yes_no(pond.enabled.value), pond.enabled)
    param("patientèle de référence", fr.integer(pond.reference_patients.value), pond.reference_patients)
    param("plafond", "aucun" if pond.cap.value is None else fr.number(pond.cap.value), pond.cap)
    out.append("Arrondi")
    param("règle", "une seule fois, au centime, demi supérieur", rules.rounding)
    out.append("Périodes d'observation")
    for pid, p in rules.periods.items():
        line = f"  • {pid} : {observation(p)}, versement au {p.payment}"
        if p.complement_of:
            line += f" (complément de {p.complement_of})"
        out.append(line)
        out.extend(_source_lines(rules, p.source, "      "))
        if p.complement_source:
            out.extend(_source_lines(rules, p.complement_source, "      "))
        if p.note:
            out.append(f"      note : {p.note}")
    return "\n".join(out)


# --------------------------------------------------------------------------- every rule with its source


def _row(rules: RuleSet, section: str, label: str, value: str, source: Source, note: str | None = None) -> dict:
    return {
        "section": section,
        "règle": label,
        "valeur": value,
        "document": rules.document_label(source.seed),
        "fichier": source.seed,
        "passage": source.passage,
        "citation": source.quote,
        "note": note or "",
    }


def rule_table(rules: RuleSet) -> pd.DataFrame:
    """One row per rule of the rule set: section, French label, value formatted in French,
    source document, file, passage, verbatim quote and note (empty when none)."""
    rows: list[dict] = []
    elig = rules.eligibility.min_patients_mt_ald
    rows.append(_row(rules, "Éligibilité", "patients « médecin traitant » en ALD, au minimum",
                     fr.integer(elig.value), elig.source, elig.note))

    ind = rules.indicator
    rows.append(_row(rules, "Numérateur", "documents comptés (typeCode)", ", ".join(ind.type_codes.value),
                     ind.type_codes.source, ind.type_codes.note))
    rows.append(_row(rules, "Numérateur", "alimentations comptées (statut)",
                     ", ".join(_STATUS.get(s, s) for s in ind.counted_statuses.value),
                     ind.counted_statuses.source, ind.counted_statuses.note))
    rows.append(_row(rules, "Numérateur", "actions comptées",
                     ", ".join(_ACTION.get(a, a) for a in ind.counted_actions.value),
                     ind.counted_actions.source, ind.counted_actions.note))
    rows.append(_row(rules, "Numérateur", "DMP de tous les patients, en ALD ou non",
                     yes_no(ind.all_patients.value), ind.all_patients.source, ind.all_patients.note))

    for pid, period in rules.periods.items():
        rows.append(_row(rules, "Dénominateur", f"patients MT en ALD comptés à la fin de la période {pid}",
                         fr.date(period.end), period.source))

    tiers = rules.tiers
    rows.append(_row(rules, "Paliers", "comparaison de la part de VSM au seuil",
                     f"part {COMPARISON_SIGNS[tiers.comparison]} seuil ; en dessous du premier seuil : {fr.eur(0)}",
                     tiers.comparison_source))
    for number, level in enumerate(tiers.levels, start=1):
        rows.append(_row(rules, "Paliers",
                         f"palier {number} : part de VSM {COMPARISON_SIGNS[tiers.comparison]} {fr.fraction(level.min_share)}",
                         f"forfait brut {fr.eur(level.amount_eur)}", level.source, level.note))

    maj = rules.majoration
    rows.append(_row(rules, "Majoration", "majoration pour données structurées appliquée",
                     yes_no(maj.enabled.value), maj.enabled.source, maj.enabled.note))
    threshold = maj.min_structured_share
    rows.append(_row(rules, "Majoration", "seuil de part structurée (DMP structurés / DMP alimentés)",
                     f"{COMPARISON_SIGNS[threshold.comparison]} {fr.fraction(threshold.value)}",
                     threshold.source, threshold.note))
    rows.append(_row(rules, "Majoration", "taux de majoration du forfait brut",
                     fr.percent(maj.rate.value, decimals=0), maj.rate.source, maj.rate.note))
    rows.append(_row(rules, "Majoration", "formats structurés CI-SIS (formatCode)",
                     ", ".join(ind.structured_format_codes.value),
                     ind.structured_format_codes.source, ind.structured_format_codes.note))
    rows.append(_row(rules, "Majoration", "un DMP alimenté plusieurs fois est structuré si",
                     _STRUCTURED_RULE.get(ind.structured_rule.value, ind.structured_rule.value),
                     ind.structured_rule.source, ind.structured_rule.note))

    pond = rules.ponderation
    rows.append(_row(rules, "Pondération", "pondération par la patientèle « médecin traitant » appliquée",
                     yes_no(pond.enabled.value), pond.enabled.source, pond.enabled.note))
    rows.append(_row(rules, "Pondération", "patientèle de référence",
                     f"{fr.integer(pond.reference_patients.value)} patients",
                     pond.reference_patients.source, pond.reference_patients.note))
    rows.append(_row(rules, "Pondération", "plafond de la pondération",
                     "aucun" if pond.cap.value is None else fr.number(pond.cap.value),
                     pond.cap.source, pond.cap.note))

    rows.append(_row(rules, "Arrondi", "arrondi du montant",
                     "une seule fois, sur le montant final pondéré, au centime, la moitié vers le haut",
                     rules.rounding.source, rules.rounding.note))

    for pid, period in rules.periods.items():
        rows.append(_row(rules, "Périodes", f"période {pid}",
                         f"observation {observation(period)}, versement au {period.payment}",
                         period.source, period.note))
    for pid, period in rules.periods.items():
        if period.complement_of is not None:
            rows.append(_row(rules, "Complément", f"période {pid}, complément de {period.complement_of}",
                             f"montant {pid} − montant déjà versé pour {period.complement_of}, jamais négatif",
                             period.complement_source or period.source, period.note))
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))


def section_markdown(rules: RuleSet, section: str) -> str:
    """The rules of one section as Markdown: value, then the quote of its source."""
    table = rule_table(rules)
    rows = table[table["section"] == section]
    if rows.empty:
        return f"*Le jeu de règles {md_escape(rules.id)} ne contient pas de règle « {md_escape(section)} ».*"
    parts = []
    for row in rows.itertuples(index=False):
        text = (
            f"**{md_escape(row.règle)}** : {md_escape(row.valeur)}\n\n"
            f"> « {md_escape(row.citation)} »\n>\n"
            f"> — *{md_escape(row.document)}* ({md_escape(row.fichier)}), {md_escape(row.passage)}"
        )
        if row.note:
            text += f"\n\n*Note du jeu de règles :* {md_escape(row.note)}"
        parts.append(text)
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- the reports


def methodology_frame(rules: RuleSet, period: str) -> pd.DataFrame:
    """The rules applied, each value beside its source (document, passage, quote)."""
    p = rules.period(period)
    rows: list[tuple[str, str, Source]] = []
    min_ald = rules.eligibility.min_patients_mt_ald
    rows.append(("Population éligible", f"au moins {fr.integer(min_ald.value)} patient « médecin traitant » en ALD", min_ald.source))
    ind = rules.indicator
    rows.append(
        (
            "Part de VSM",
            "DMP alimentés en VSM (" + ", ".join(ind.type_codes.value) + ", "
            + ("tous patients" if ind.all_patients.value else "patients en ALD") + ") / patients MT en ALD",
            ind.all_patients.source,
        )
    )
    for level_number, level in enumerate(rules.tiers.levels, start=1):
        rows.append((f"Palier {level_number}", f"part de VSM {reached_label(rules, level_number)} → forfait brut {fr.eur(level.amount_eur)}", level.source))
    maj = rules.majoration
    if maj.enabled.value:
        rows.append(("Majoration", f"+ {fr.percent(maj.rate.value, decimals=0)} du forfait brut si {majoration_label(rules)}", maj.min_structured_share.source))
    else:
        rows.append(("Majoration", "non appliquée", maj.enabled.source))
    pond = rules.ponderation
    if pond.enabled.value:
        cap = "" if pond.cap.value is None else f", plafonnée à {fr.number(pond.cap.value)}"
        rows.append(("Pondération", f"patientèle MT / {fr.integer(pond.reference_patients.value)}{cap}", pond.reference_patients.source))
    else:
        rows.append(("Pondération", "non appliquée", pond.enabled.source))
    rows.append(("Arrondi", "une seule fois, au centime, au demi supérieur", rules.rounding.source))
    rows.append((f"Période {period}", f"observation {observation(p)}, versement au {p.payment}", p.source))
    if p.complement_of:
        rows.append(
            (
                "Complément",
                f"montant {period} − montant déjà versé au titre de {p.complement_of}, jamais négatif",
                p.complement_source or p.source,
            )
        )
    return pd.DataFrame(
        [[rule, value, source_label(rules, source), f"« {source.quote} »"] for rule, value, source in rows],
        columns=["Règle", "Valeur", "Source", "Citation"],
        dtype=object,
    )


def rule_summary_markdown(rules: RuleSet, period: str) -> str:
    """The rule of the forfait in a few numbered steps (values from the rule set; the
    sources are in the « Méthode » table)."""
    p = rules.period(period)
    ind = rules.indicator
    min_ald = rules.eligibility.min_patients_mt_ald.value
    steps = [
        f"**Éligibilité** : avoir au moins {fr.integer(min_ald)} patient « médecin traitant » en ALD à la fin de la période.",
        f"**Part de VSM** : DMP alimentés en VSM ({', '.join(ind.type_codes.value)}) {observation(p)}, "
        "divisés par le nombre de patients « médecin traitant » en ALD"
        + (" (tous les DMP alimentés par le médecin comptent : la part peut dépasser 100 %)." if ind.all_patients.value else "."),
        "**Palier** : " + " ; ".join(
            f"part {reached_label(rules, i)} → forfait brut de {fr.eur(level.amount_eur)}" for i, level in enumerate(rules.tiers.levels, start=1)
        ) + f" ; en dessous de {threshold_percent(rules.tiers.levels[0].min_share)}, rien.",
    ]
    maj = rules.majoration
    if maj.enabled.value:
        steps.append(f"**Majoration** : + {fr.percent(maj.rate.value, decimals=0)} du forfait brut si la {majoration_label(rules)} (VSM au format CI-SIS).")
    pond = rules.ponderation
    if pond.enabled.value:
        cap = "" if pond.cap.value is None else f", au plus × {fr.number(pond.cap.value)}"
        steps.append(f"**Pondération** : forfait × patientèle « médecin traitant » / {fr.integer(pond.reference_patients.value)}{cap}.")
    steps.append("**Arrondi** : une seule fois, au centime.")
    if p.complement_of:
        steps.append(f"**Complément** : montant {period} − montant déjà versé au titre de {p.complement_of}, jamais négatif ; versé au {p.payment}.")
    else:
        steps.append(f"**Versement** : au {p.payment}.")
    return "\n".join(f"{i}. {md_escape_keep_bold(s)}" for i, s in enumerate(steps, start=1)) + (
        "\n\nChaque valeur vient du jeu de règles, avec sa source : voir le tableau « Méthode » en fin de rapport."
    )
