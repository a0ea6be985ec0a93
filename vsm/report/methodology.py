"""What notebooks/methodologie.ipynb shows besides the rules themselves (vsm.rules.words) and the
demonstrations (vsm.report.demos): the rule set's identity, the note's worked examples, its
errata and the conflicts between sources, as French tables and texts.

The notebook narrates and displays. Every value shown here is read from a rule set
(params/rules/*.yml) with its source, and every amount comes from :func:`vsm.forfait.compute`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

from .. import present as fr
from ..display import md_escape
from ..examples import Examples, check_examples, load_examples
from ..forfait import compute
from ..money import round_cent
from ..paths import PROJECT_DIR
from ..rules import RuleSet, list_rules, load_rules
from ..rules.words import COMPARISON_SIGNS, observation, yes_no


def _relative(path: str) -> str:
    try:
        return Path(path).resolve().relative_to(PROJECT_DIR).as_posix()
    except ValueError:
        return str(path)


def ruleset_identity(rules: RuleSet) -> str:
    """The rule set's id, label, files (relative to the project) and sha256, in French."""
    lines = [
        f"Jeu de règles : {rules.id}",
        f"Libellé : {rules.label}",
    ]
    if rules.base:
        lines.append(f"À partir de : {rules.base}")
    lines.append("Fichiers : " + ", ".join(_relative(f) for f in rules.files))
    lines.append(f"Empreinte sha256 : {rules.sha256}")
    lines.append("Périodes : " + ", ".join(rules.periods))
    return "\n".join(lines)


def documents_table(rules: RuleSet) -> pd.DataFrame:
    """The documents the rule set cites: file and readable name."""
    return pd.DataFrame(
        [{"fichier": seed, "document": label} for seed, label in rules.documents.items()],
        columns=["fichier", "document"],
    )


# --------------------------------------------------------------------------- worked examples


def note_rules(rules: RuleSet | str | None = None) -> RuleSet:
    """The rule set the notebook explains: ``rules`` as given, or (None) the rule set of the
    note's worked examples (params/examples/)."""
    if rules is None:
        return load_examples().rules
    return rules if isinstance(rules, RuleSet) else load_rules(rules)


def earlier_readings(rules: RuleSet) -> list[RuleSet]:
    """The rule sets that keep another reading of the same rules for the same population:
    built on ``rules`` (their ``base``) with other observation periods (medecins-2023, the
    announcement, for medecins-2024, the note)."""
    ends = [(p.start, p.end) for p in rules.periods.values()]
    return [
        other for other in list_rules()
        if other.base == rules.id and other.population == rules.population
        and [(p.start, p.end) for p in other.periods.values()] != ends
    ]


def note_examples(rules: RuleSet, examples_id: str | None = None) -> Examples:
    """The note's worked examples (params/examples/, ``examples_id`` None: the default set),
    computed with ``rules``."""
    examples = load_examples() if examples_id is None else load_examples(examples_id)
    if rules == examples.rules:
        return examples
    period = examples.period if examples.period in rules.periods else next(iter(rules.periods))
    return Examples(rules, period, examples.cases, examples.seed, examples.passage)


def note_label(quote: str) -> str:
    """The label of a row as printed in the note: the first cell of the quoted table row."""
    return quote.split("\t", 1)[0].strip()


def examples_table(checked: pd.DataFrame, examples: Examples | None = None) -> pd.DataFrame:
    """The note's table beside the computed amounts, in French, with the verdict.

    ``checked`` is :func:`vsm.examples.check_examples`'s output; with ``examples``, the note's
    shares and patientèle are shown too.
    """
    frame = checked.reset_index(drop=True)
    cases = examples.cases.set_index("id") if examples is not None else None
    rows = []
    for r in frame.to_dict("records"):
        row = {"cas": r["label"]}
        if cases is not None:
            case = cases.loc[r["id"]]
            row["part de VSM (note)"] = fr.percent(case["stated_vsm_share"], decimals=0)
            row["part structurée (note)"] = fr.percent(case["stated_structured_share"], decimals=0)
            row["patientèle MT"] = fr.integer(case["stated_patients_mt"])
        row["montant de la note"] = fr.eur(r["stated_amount_eur"])
        row["montant calculé"] = fr.eur(r["computed_amount_eur"])
        gap = Decimal(r["computed_amount_eur"]) - Decimal(r["stated_amount_eur"])
        row["écart"] = "—" if gap == 0 else fr.signed_eur(gap)
        row["verdict"] = r["verdict"]
        rows.append(row)
    return pd.DataFrame(rows)


def examples_summary(checked: pd.DataFrame) -> str:
    """« Bilan : 5 cas conformes, 2 errata de la note (règle appliquée), aucun écart. »"""
    verdicts = checked["verdict"].tolist()
    ok = verdicts.count("conforme")
    errata = verdicts.count("erratum de la note")
    gaps = len(verdicts) - ok - errata

    def plural(n: int, one: str, many: str) -> str:
        return f"{n} {one if n == 1 else many}"

    gap_text = "aucun écart" if gaps == 0 else plural(gaps, "ÉCART à examiner", "ÉCARTS à examiner")
    return (
        f"Bilan : {plural(len(verdicts), 'cas', 'cas')} ; {plural(ok, 'conforme', 'conformes')}, "
        f"{plural(errata, 'erratum de la note', 'errata de la note')} (règle appliquée), {gap_text}."
    )


def _results(examples: Examples) -> pd.DataFrame:
    return compute(examples.counts(), examples.rules, examples.period, source="exemples de la note")


def errata_table(examples: Examples, checked: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each row the note gets wrong: the note's amount, the rule's amount with its
    computation, and the amount obtained with the weight inverted (reference / patientèle)."""
    checked = check_examples(examples) if checked is None else checked
    results = _results(examples).set_index("ps_id")
    cases = examples.cases.set_index("id")
    reference = examples.rules.ponderation.reference_patients.value
    rows = []
    for r in checked[checked["verdict"] == "erratum de la note"].to_dict("records"):
        res = results.loc[r["id"]]
        mt = int(cases.loc[r["id"], "patients_mt"])
        gross = Decimal(res["tier_eur"]) + Decimal(res["majoration_eur"])
        inverted = Fraction(gross) * Fraction(reference, mt)
        stated = Decimal(r["stated_amount_eur"])
        gross_text = (
            f"({fr.eur(res['tier_eur'])} + {fr.eur(res['majoration_eur'])})" if res["majoration"] else fr.eur(gross)
        )
        rows.append({
            "cas": r["label"],
            "ligne de la note": plain_quote(cases.loc[r["id"], "quote"]),
            "montant de la note": fr.eur(stated),
            "montant par la règle": f"{gross_text} × {fr.integer(mt)} / {fr.integer(reference)} = {fr.eur(r['computed_amount_eur'])}",
            "pondération inversée": f"{fr.eur(gross)} × {fr.integer(reference)} / {fr.integer(mt)} = {fr.eur(round_cent(inverted))}",
            "la note a inversé la pondération": yes_no(Fraction(stated) == inverted),
        })
    return pd.DataFrame(rows)


def errata_markdown(examples: Examples, checked: pd.DataFrame | None = None) -> str:
    """The errata of the note's examples, explained in French (Markdown)."""
    checked = check_examples(examples) if checked is None else checked
    wrong = checked[checked["verdict"] == "erratum de la note"]
    if wrong.empty:
        return "Aucun exemple de la note ne contredit la règle qu'elle énonce."
    results = _results(examples).set_index("ps_id")
    cases = examples.cases.set_index("id")
    reference = examples.rules.ponderation.reference_patients.value
    parts = []
    for r in wrong.to_dict("records"):
        case = cases.loc[r["id"]]
        res = results.loc[r["id"]]
        mt = int(case["patients_mt"])
        gross = Decimal(res["tier_eur"]) + Decimal(res["majoration_eur"])
        inverted = Fraction(gross) * Fraction(reference, mt)
        text = (
            f"**{md_escape(r['label'])}** (part de VSM {fr.percent(case['stated_vsm_share'], decimals=0)}, "
            f"part structurée {fr.percent(case['stated_structured_share'], decimals=0)}, "
            f"{fr.integer(mt)} patients MT) : la note annonce **{fr.eur(r['stated_amount_eur'])}** ; "
            f"la règle qu'elle énonce donne ({fr.eur(res['tier_eur'])} + {fr.eur(res['majoration_eur'])}) "
            f"× {fr.integer(mt)} / {fr.integer(reference)} = **{fr.eur(r['computed_amount_eur'])}**."
        )
        if Fraction(Decimal(r["stated_amount_eur"])) == inverted:
            text += (
                f" Or {fr.eur(gross)} × {fr.integer(reference)} / {fr.integer(mt)} = {fr.eur(round_cent(inverted))} : "
                "le montant annoncé est celui que l'on obtient en **inversant la pondération** "
                "(patientèle de référence / patientèle du médecin au lieu de patientèle du médecin / patientèle de référence)."
            )
        parts.append("- " + text)
    return "\n".join(parts)


def duplicate_labels_table(examples: Examples, checked: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows of the note that share the same label (the two « Médecin 6 »), told apart."""
    checked = check_examples(examples) if checked is None else checked
    results = _results(examples).set_index("ps_id")
    computed = checked.set_index("id")
    cases = examples.cases.copy()
    cases["note_label"] = cases["quote"].map(note_label)
    dup = cases[cases["note_label"].duplicated(keep=False)]
    rows = []
    for case in dup.to_dict("records"):
        res = results.loc[case["id"]]
        rows.append({
            "libellé dans la note": case["note_label"],
            "ligne de la note": plain_quote(case["quote"]),
            "libellé retenu": case["label"],
            "identifiant": case["id"],
            "part de VSM": fr.percent(case["stated_vsm_share"], decimals=0),
            "part structurée": fr.percent(case["stated_structured_share"], decimals=0),
            "patientèle MT": fr.integer(case["stated_patients_mt"]),
            "majoration": yes_no(bool(res["majoration"])),
            "montant de la note": fr.eur(case["stated_amount_eur"]),
            "montant calculé": fr.eur(computed.loc[case["id"], "computed_amount_eur"]),
        })
    return pd.DataFrame(rows)


def duplicate_labels_markdown(examples: Examples) -> str:
    """Why the rows sharing a label are two different cases: the stated figures that differ,
    and which of them reaches the majoration."""
    cases = examples.cases.copy()
    cases["note_label"] = cases["quote"].map(note_label)
    majorated = _results(examples).set_index("ps_id")["majoration"]
    fields = {
        "stated_vsm_share": ("part de VSM", lambda v: fr.percent(v, decimals=0)),
        "stated_structured_share": ("part structurée", lambda v: fr.percent(v, decimals=0)),
        "stated_patients_mt": ("patientèle MT", fr.integer),
        "stated_amount_eur": ("montant annoncé", fr.eur),
    }
    threshold = examples.rules.majoration.min_structured_share
    parts = []
    for label, group in cases.groupby("note_label", sort=False):
        if len(group) < 2:
            continue
        names = " et ".join(f"« {md_escape(v)} »" for v in group["label"])
        same = [name for col, (name, _) in fields.items() if group[col].nunique() == 1]
        differ = [
            f"{name} (" + " contre ".join(show(v) for v in group[col]) + ")"
            for col, (name, show) in fields.items()
            if group[col].nunique() > 1
        ]
        text = f"La note contient {len(group)} lignes libellées « {md_escape(label)} », nommées ici {names}."
        if same:
            text += f" Elles ont les mêmes valeurs de : {', '.join(same)}."
        if differ:
            text += f" Elles diffèrent par : {', '.join(differ)}."
        with_maj = [v for v, i in zip(group["label"], group["id"]) if bool(majorated.loc[i])]
        without = [v for v, i in zip(group["label"], group["id"]) if not bool(majorated.loc[i])]
        if with_maj and without:
            text += (
                f" Avec un seuil de part structurée {COMPARISON_SIGNS[threshold.comparison]} {fr.fraction(threshold.value)}, "
                f"{', '.join(f'« {md_escape(v)} »' for v in with_maj)} obtient la majoration, "
                f"{', '.join(f'« {md_escape(v)} »' for v in without)} ne l'obtient pas : ce sont deux cas "
                "distincts, pas un doublon."
            )
        else:
            text += " Ce sont deux cas distincts, pas un doublon."
        parts.append(text)
    return "\n\n".join(parts) if parts else "Aucun libellé n'est répété dans le tableau de la note."


def plain_quote(quote: str) -> str:
    """A row of the note's table as plain text: cells separated by « | », its LaTeX written out
    (« $1\\,500\\text{ €}$ » → « 1 500 € »)."""
    text = re.sub(r"\\text\{([^}]*)\}", r"\1", quote)
    text = text.replace("\\,", "\u202f").replace("$", "")
    return " | ".join(cell.strip() for cell in text.split("\t"))


# --------------------------------------------------------------------------- conflicts


def comparison_reading(quote: str) -> str | None:
    """The comparison a wording implies: « au moins », « supérieure ou égale », « strictement
    moins … nulle » → « >= » ; « plus de/d'un tiers » → « > » ; otherwise None."""
    text = quote.lower().replace("’", "'")
    if "strictement moins" in text or "au moins" in text or "supérieure ou égale" in text or "supérieur ou égal" in text:
        return ">="
    if "plus d'" in text or "plus de" in text or "strictement supérieur" in text:
        return ">"
    return None


def threshold_conflict_table(rules: RuleSet) -> pd.DataFrame:
    """Each source of the structured-share threshold with the comparison its wording implies."""
    threshold = rules.majoration.min_structured_share
    conflict = threshold.conflict
    if conflict is None:
        return pd.DataFrame(columns=["document", "fichier", "passage", "citation", "lecture", "suivie"])
    rows = []
    for source in conflict.sources:
        reading = comparison_reading(source.quote)
        rows.append({
            "document": rules.document_label(source.seed),
            "fichier": source.seed,
            "passage": source.passage,
            "citation": source.quote,
            "lecture": f"{COMPARISON_SIGNS[reading]} {fr.fraction(threshold.value)}" if reading else "—",
            "suivie": yes_no(reading == threshold.comparison),
        })
    return pd.DataFrame(rows)


def threshold_conflict_markdown(rules: RuleSet) -> str:
    threshold = rules.majoration.min_structured_share
    conflict = threshold.conflict
    if conflict is None:
        return f"Le jeu de règles {md_escape(rules.id)} ne signale pas de divergence sur le seuil de structuration."
    return (
        f"**Divergence :** {md_escape(conflict.summary)}.\n\n"
        f"**Seuil retenu par le jeu de règles {md_escape(rules.id)} :** part structurée "
        f"{COMPARISON_SIGNS[threshold.comparison]} {fr.fraction(threshold.value)}.\n\n"
        f"**Pourquoi :** {md_escape(conflict.chosen)}"
    )


def periods_table(*rule_sets: RuleSet) -> pd.DataFrame:
    """The observation periods of several rule sets side by side, each with its source."""
    rows = []
    for rules in rule_sets:
        for pid, period in rules.periods.items():
            rows.append({
                "jeu de règles": rules.id,
                "période": pid,
                "observation": observation(period),
                "versement": period.payment,
                "complément de": period.complement_of or "—",
                "document": rules.document_label(period.source.seed),
                "citation": period.source.quote,
            })
    return pd.DataFrame(rows)


def periods_conflict_markdown(old: RuleSet, new: RuleSet) -> str:
    """How the periods of ``new`` replace those of ``old`` (e.g. the note's rule set against the announcement's)."""

    def describe(rules: RuleSet) -> str:
        items = [
            f"{pid} {observation(p)} (versement au {p.payment}"
            + (f", complément de {p.complement_of}" if p.complement_of else "")
            + ")"
            for pid, p in rules.periods.items()
        ]
        seeds = sorted({p.source.seed for p in rules.periods.values()})
        docs = ", ".join(f"{rules.document_label(s)} ({s})" for s in seeds)
        count = len(items)
        return f"{count} période{'s' if count > 1 else ''} d'après {docs} : " + " ; ".join(items)

    old_ends = {p.end for p in old.periods.values()}
    new_ends = {p.end for p in new.periods.values()}
    lines = [
        f"- **{md_escape(old.id)}** — {md_escape(describe(old))}.",
        f"- **{md_escape(new.id)}** — {md_escape(describe(new))}.",
    ]
    if old_ends != new_ends:
        dropped = ", ".join(fr.date(d) for d in sorted(old_ends - new_ends)) or "aucune"
        added = ", ".join(fr.date(d) for d in sorted(new_ends - old_ends)) or "aucune"
        lines.append(
            f"\nLes fins de période diffèrent : fin(s) propre(s) à {md_escape(old.id)} : {dropped} ; "
            f"fin(s) propre(s) à {md_escape(new.id)} : {added}."
        )
    notes = [p.note for p in old.periods.values() if p.note]
    if notes:
        lines.append("\n" + " ".join(md_escape(n) for n in notes))
    return "\n".join(lines)


def conflicts_table(rules_2024: RuleSet, rules_2023: RuleSet) -> pd.DataFrame:
    """Every disagreement between the sources, one row per source: the structured-share
    threshold (from ``rules_2024``'s recorded conflict) and the observation periods (from the
    two rule sets)."""
    rows = []
    for r in threshold_conflict_table(rules_2024).to_dict("records"):
        rows.append({
            "sujet": "seuil de part structurée",
            "jeu de règles": rules_2024.id,
            "document": r["document"],
            "passage": r["passage"],
            "citation": r["citation"],
            "lecture": r["lecture"],
            "retenue": r["suivie"],
        })
    for rules in (rules_2023, rules_2024):
        for pid, period in rules.periods.items():
            rows.append({
                "sujet": "période d'observation",
                "jeu de règles": rules.id,
                "document": rules.document_label(period.source.seed),
                "passage": period.source.passage,
                "citation": period.source.quote,
                "lecture": f"{pid} : {observation(period)}, versement au {period.payment}",
                "retenue": yes_no(rules is rules_2024),
            })
    return pd.DataFrame(rows)


def generated_at(now: dt.datetime | None = None) -> str:
    """« Exécuté le 2024-07-09T10:00:00+00:00 » (UTC, ISO; sanitized by nbval)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"Exécuté le {now.replace(microsecond=0).isoformat()}"
