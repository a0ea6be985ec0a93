"""What notebooks/methodologie.ipynb shows: the methodology note's rules, its worked examples,
its errata and the conflicts between sources, as French tables and texts.

The notebook only narrates and displays. Every value shown here is read from a rule set
(params/rules/*.yml) with its source, and every amount comes from :func:`vsm.forfait.compute`.
The small demonstration tables are built from the rule set's own thresholds, so that « exactly
at the threshold » stays exact whatever the thresholds are; the patientèle sizes are inputs.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd

from .display import Prose, markdown_table  # noqa: F401 (Prose re-exported for the notebooks)
from . import present as fr
from .examples import Examples, check_examples, load_examples
from .forfait import compute
from .paths import PROJECT_DIR
from .rules import RuleSet, Source

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
_COMPARISON = {">=": "≥", ">": ">"}


# --------------------------------------------------------------------------- display


@dataclass(frozen=True)
class Table:
    """A DataFrame shown without its index: a pandoc Markdown table in a notebook (vsm.display,
    the one representation every engine renders), a plain-text table otherwise.

    The plain text (``text/plain``) is deterministic, so that nbval can compare it.
    """

    frame: pd.DataFrame

    def _repr_markdown_(self) -> str:
        return markdown_table(self.frame)

    def __str__(self) -> str:
        return as_text(self.frame)

    def __repr__(self) -> str:
        return as_text(self.frame)


def as_text(frame: pd.DataFrame) -> str:
    """A plain-text table without the index: columns separated by two spaces, text cells
    left-aligned, amounts, counts and percentages right-aligned."""
    if frame.empty:
        return "(aucune ligne)"
    header = [str(c) for c in frame.columns]
    body = [["—" if _missing(v) else str(v) for v in row] for row in frame.itertuples(index=False)]
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    right = [all(_numeric_text(row[i]) for row in body) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)]
        return "  ".join(out).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(row) for row in body)])


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


_NUMERIC = re.compile(r"^[+-]?[\d\u202f\u00a0 ]+(,\d+)?(\u00a0?[€%])?$|^—$")


def _numeric_text(text: str) -> bool:
    return bool(_NUMERIC.match(text))


def md_escape(text: str) -> str:
    """Text safe inside Markdown: quotes of the seeds hold « * », « $ », « _ »…"""
    out = []
    for char in str(text):
        if char in "\\`*_$[]<>#|":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


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


# --------------------------------------------------------------------------- rules


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


def _yes(flag: bool) -> str:
    return "oui" if flag else "non"


def _observation(period) -> str:
    return f"du {fr.date(period.start)} au {fr.date(period.end)}"


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
                     _yes(ind.all_patients.value), ind.all_patients.source, ind.all_patients.note))

    for pid, period in rules.periods.items():
        rows.append(_row(rules, "Dénominateur", f"patients MT en ALD comptés à la fin de la période {pid}",
                         fr.date(period.end), period.source))

    tiers = rules.tiers
    rows.append(_row(rules, "Paliers", "comparaison de la part de VSM au seuil",
                     f"part {_COMPARISON[tiers.comparison]} seuil ; en dessous du premier seuil : {fr.eur(0)}",
                     tiers.comparison_source))
    for number, level in enumerate(tiers.levels, start=1):
        rows.append(_row(rules, "Paliers",
                         f"palier {number} : part de VSM {_COMPARISON[tiers.comparison]} {fr.fraction(level.min_share)}",
                         f"forfait brut {fr.eur(level.amount_eur)}", level.source, level.note))

    maj = rules.majoration
    rows.append(_row(rules, "Majoration", "majoration pour données structurées appliquée",
                     _yes(maj.enabled.value), maj.enabled.source, maj.enabled.note))
    threshold = maj.min_structured_share
    rows.append(_row(rules, "Majoration", "seuil de part structurée (DMP structurés / DMP alimentés)",
                     f"{_COMPARISON[threshold.comparison]} {fr.fraction(threshold.value)}",
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
                     _yes(pond.enabled.value), pond.enabled.source, pond.enabled.note))
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
                         f"observation {_observation(period)}, versement au {period.payment}",
                         period.source, period.note))
    for pid, period in rules.periods.items():
        if period.complement_of is not None:
            rows.append(_row(rules, "Complément", f"période {pid}, complément de {period.complement_of}",
                             f"montant {pid} − montant déjà versé pour {period.complement_of}, jamais négatif",
                             period.complement_source or period.source, period.note))
    return pd.DataFrame(rows, columns=list(RULE_COLUMNS))


def rule_markdown(rules: RuleSet, section: str) -> str:
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


# --------------------------------------------------------------------------- demonstrations


def _counts(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["ps_id", "cas", "patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured"])


def _lcm(*values: int) -> int:
    out = 1
    for v in values:
        out = out * v // math.gcd(out, v)
    return out


def _at(threshold: Fraction, base: int) -> int:
    """The smallest count n with n / base ≥ threshold (exact when base is a multiple of its denominator)."""
    return math.ceil(threshold * base)


def _pct(value: Fraction) -> str:
    return fr.fraction(value)


def _patients(n: int) -> str:
    return f"{fr.integer(n)} patient{'s' if n > 1 else ''}"


def eligibility_counts(rules: RuleSet) -> pd.DataFrame:
    """A doctor just below the minimum number of ALD patients, and one exactly at it."""
    minimum = rules.eligibility.min_patients_mt_ald.value
    below = max(minimum - 1, 0)
    return _counts([
        {"ps_id": "E1", "cas": f"{_patients(below)} MT en ALD (minimum : {fr.integer(minimum)})",
         "patients_mt": 800, "patients_mt_ald": below, "dmp_vsm": 5, "dmp_vsm_structured": 0},
        {"ps_id": "E2", "cas": f"{_patients(max(minimum, 1))} MT en ALD, autant de DMP alimentés",
         "patients_mt": 800, "patients_mt_ald": max(minimum, 1), "dmp_vsm": max(minimum, 1), "dmp_vsm_structured": 0},
    ])


def numerator_counts(rules: RuleSet) -> pd.DataFrame:
    """The same doctor counted with the DMPs of its ALD patients only, then with every DMP it fed."""
    first = rules.tiers.levels[0].min_share
    base = _lcm(first.denominator) * 100
    ald_fed = _at(first, base) - 5
    others = 10
    return _counts([
        {"ps_id": "N1", "cas": "DMP des seuls patients en ALD", "patients_mt": 800, "patients_mt_ald": base,
         "dmp_vsm": ald_fed, "dmp_vsm_structured": 0},
        {"ps_id": "N2", "cas": f"tous les DMP alimentés (+{fr.integer(others)} patients hors ALD)", "patients_mt": 800,
         "patients_mt_ald": base, "dmp_vsm": ald_fed + others, "dmp_vsm_structured": 0},
        {"ps_id": "N3", "cas": "plus de DMP alimentés que de patients en ALD", "patients_mt": 800,
         "patients_mt_ald": base, "dmp_vsm": base + base // 5, "dmp_vsm_structured": 0},
    ])


def denominator_counts(rules: RuleSet) -> pd.DataFrame:
    """The same number of DMPs fed, divided by the ALD patients at the end of the period: one more
    ALD patient on that date can move the doctor to a lower tier."""
    top = rules.tiers.levels[-1].min_share
    base = _lcm(top.denominator) * 10
    fed = _at(top, base)
    return _counts([
        {"ps_id": "D1", "cas": f"{fr.integer(base)} patients en ALD à la fin de la période", "patients_mt": 800,
         "patients_mt_ald": base, "dmp_vsm": fed, "dmp_vsm_structured": 0},
        {"ps_id": "D2", "cas": f"{fr.integer(base + 1)} patients en ALD à la fin de la période", "patients_mt": 800,
         "patients_mt_ald": base + 1, "dmp_vsm": fed, "dmp_vsm_structured": 0},
    ])


def tier_counts(rules: RuleSet) -> pd.DataFrame:
    """For each tier: a share exactly at its threshold, and one DMP fewer (just below)."""
    levels = rules.tiers.levels
    base = _lcm(*(level.min_share.denominator for level in levels)) * 10
    while any(_at(level.min_share, base) < 1 for level in levels if level.min_share > 0):
        base *= 10
    rows = []
    for number, level in enumerate(levels, start=1):
        at = _at(level.min_share, base)
        exact = Fraction(at, base) == level.min_share
        rows.append({"ps_id": f"T{number}a", "cas": f"{'exactement' if exact else 'au moins'} {_pct(level.min_share)}",
                     "patients_mt": 800, "patients_mt_ald": base, "dmp_vsm": at, "dmp_vsm_structured": 0})
        if at > 0:
            rows.append({"ps_id": f"T{number}b", "cas": f"juste sous {_pct(level.min_share)} (un DMP de moins)",
                         "patients_mt": 800, "patients_mt_ald": base, "dmp_vsm": at - 1, "dmp_vsm_structured": 0})
    return _counts(rows)


def majoration_counts(rules: RuleSet) -> pd.DataFrame:
    """For each tier: a structured share exactly at the majoration threshold, and one fewer."""
    threshold = rules.majoration.min_structured_share.value
    fed = _lcm(threshold.denominator) * 100
    structured = _at(threshold, fed)
    exact = Fraction(structured, fed) == threshold
    rows = []
    for number, level in enumerate(rules.tiers.levels, start=1):
        ald = math.floor(fed / level.min_share) if level.min_share > 0 else fed
        ald = max(min(ald, fed * 10), 1)
        rows.append({"ps_id": f"M{number}a",
                     "cas": f"palier {number}, part structurée {'exactement' if exact else 'au moins'} {_pct(threshold)}",
                     "patients_mt": max(800, ald), "patients_mt_ald": ald, "dmp_vsm": fed,
                     "dmp_vsm_structured": structured})
        if structured > 0:
            rows.append({"ps_id": f"M{number}b", "cas": f"palier {number}, part structurée juste sous {_pct(threshold)}",
                         "patients_mt": max(800, ald), "patients_mt_ald": ald, "dmp_vsm": fed,
                         "dmp_vsm_structured": structured - 1})
    return _counts(rows)


def _first_tier_doctors(rules: RuleSet, prefix: str, patienteles: tuple[int, ...]) -> pd.DataFrame:
    """The same doctor, exactly at the first tier and without structured VSM, with each of
    the given patientèles MT."""
    first = rules.tiers.levels[0].min_share
    base = _lcm(first.denominator) * 50
    fed = _at(first, base)
    return _counts([
        {"ps_id": f"{prefix}{mt}", "cas": f"{fr.integer(mt)} patients MT", "patients_mt": mt, "patients_mt_ald": base,
         "dmp_vsm": fed, "dmp_vsm_structured": 0}
        for mt in patienteles
    ])


def weighting_counts(rules: RuleSet) -> pd.DataFrame:
    """The same first-tier doctor with patientèles of 400, 800, 1 000 and 1 600 patients MT."""
    return _first_tier_doctors(rules, "W", (400, 800, 1000, 1600))


def rounding_counts(rules: RuleSet) -> pd.DataFrame:
    """First-tier doctors whose weighted amount falls on a half cent (1 001 and 1 003 patients MT)."""
    return _first_tier_doctors(rules, "R", (1001, 1003))


def complement_period(rules: RuleSet) -> str | None:
    """The first period that complements an earlier one (P2 in medecins-2024), or None."""
    for pid, period in rules.periods.items():
        if period.complement_of is not None:
            return pid
    return None


def complement_inputs(rules: RuleSet) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Counts at the end of the complementing period and amounts already paid for the earlier one.

    C1 was paid the first tier and now reaches the majoration; C2 was paid nothing and now
    reaches the first tier; C3's amount went down (smaller patientèle): no reclaim.
    """
    pid = complement_period(rules)
    if pid is None:
        return None
    earlier = rules.periods[pid].complement_of
    threshold = rules.majoration.min_structured_share.value
    first = rules.tiers.levels[0].min_share
    fed = _lcm(threshold.denominator, first.denominator) * 10
    ald = math.floor(fed / first)
    counts = _counts([
        {"ps_id": "C1", "cas": f"payé en {earlier} au palier 1, part structurée atteinte en {pid}",
         "patients_mt": 800, "patients_mt_ald": ald, "dmp_vsm": fed, "dmp_vsm_structured": _at(threshold, fed)},
        {"ps_id": "C2", "cas": f"rien en {earlier}, palier 1 atteint en {pid}",
         "patients_mt": 800, "patients_mt_ald": ald, "dmp_vsm": fed, "dmp_vsm_structured": 0},
        {"ps_id": "C3", "cas": f"patientèle plus petite en {pid} qu'en {earlier}",
         "patients_mt": 700, "patients_mt_ald": ald, "dmp_vsm": fed, "dmp_vsm_structured": 0},
    ])
    first_amount = rules.tiers.levels[0].amount_eur
    paid = pd.DataFrame({"ps_id": ["C1", "C2", "C3"], "paid_eur": [first_amount, Decimal("0.00"), first_amount]})
    return counts, paid


def demo_table(results: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """French table of :func:`vsm.forfait.compute` results for the demonstrations."""
    thresholds = tuple(level.min_share for level in rules.tiers.levels)
    structured_threshold = (rules.majoration.min_structured_share.value,)
    rows = []
    for r in results.to_dict("records"):
        ald, fed, structured, mt = (int(r[c]) for c in ("patients_mt_ald", "dmp_vsm", "dmp_vsm_structured", "patients_mt"))
        row = {
            "cas": r.get("cas", r["ps_id"]),
            "patients MT": fr.integer(mt),
            "patients MT en ALD": fr.integer(ald),
            "DMP alimentés": fr.integer(fed),
            "dont structurés": fr.integer(structured),
            "éligible": _yes(bool(r["eligible"])),
            "part de VSM": fr.percent(Fraction(fed, ald), thresholds=thresholds) if ald else "—",
            "part structurée": fr.percent(Fraction(structured, fed), thresholds=structured_threshold) if fed else "—",
            "forfait brut": fr.eur(r["tier_eur"]),
            "majoration": fr.eur(r["majoration_eur"]),
            "pondération": fr.number(r["weight"]),
            "montant": fr.eur(r["amount_eur"]),
        }
        if "paid_eur" in r:
            row["déjà versé"] = fr.eur(r["paid_eur"])
            row["complément"] = fr.eur(r["complement_eur"])
        rows.append(row)
    return pd.DataFrame(rows)


def run_demo(counts: pd.DataFrame, rules: RuleSet, period: str, paid: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compute the forfait of a demonstration counts table and return the French table."""
    return demo_table(compute(counts, rules, period, paid=paid, source="démonstration"), rules)


def exact_amounts(results: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Beside each rounded amount, the exact value before rounding (for the rounding rule)."""
    rows = []
    for r in results.to_dict("records"):
        mt = int(r["patients_mt"])
        gross = Fraction(Decimal(r["tier_eur"]) + Decimal(r["majoration_eur"]))
        if rules.ponderation.enabled.value:
            weight = Fraction(mt, rules.ponderation.reference_patients.value)
            cap = rules.ponderation.cap.value
            if cap is not None:
                weight = min(weight, cap)
        else:
            weight = Fraction(1)
        exact = gross * weight
        rows.append({
            "cas": r.get("cas", r["ps_id"]),
            "calcul": f"{fr.eur(gross)} × {fr.integer(mt)} / {fr.integer(rules.ponderation.reference_patients.value)}"
            if rules.ponderation.enabled.value else fr.eur(gross),
            "valeur exacte": fr.number(exact, max_decimals=6) + "\u00a0€",
            "montant versé (arrondi)": fr.eur(r["amount_eur"]),
        })
    return pd.DataFrame(rows)


def with_structured_comparison(rules: RuleSet, comparison: str) -> RuleSet:
    """A copy of the rule set whose structured-share threshold uses ``comparison`` (« >= » or « > »)."""
    if comparison not in _COMPARISON:
        raise ValueError(f"comparaison inconnue : {comparison!r}")
    maj = rules.majoration
    threshold = maj.min_structured_share.model_copy(update={"comparison": comparison})
    return rules.model_copy(update={"majoration": maj.model_copy(update={"min_structured_share": threshold})})


def threshold_reading_demo(rules: RuleSet, period: str) -> pd.DataFrame:
    """A doctor with exactly the threshold share of structured DMPs, under « au moins » (≥) and
    under « plus de » (>): what the wording conflict changes."""
    threshold = rules.majoration.min_structured_share.value
    first = rules.tiers.levels[0].min_share
    fed = _lcm(threshold.denominator) * 100
    counts = _counts([{
        "ps_id": "X", "cas": f"part structurée exactement {_pct(threshold)}", "patients_mt": 800,
        "patients_mt_ald": max(math.floor(fed / first), 1) if first > 0 else fed, "dmp_vsm": fed,
        "dmp_vsm_structured": _at(threshold, fed),
    }])
    rows = []
    for comparison, wording in ((">=", "« au moins »"), (">", "« plus de »")):
        variant = with_structured_comparison(rules, comparison)
        r = compute(counts, variant, period, source="démonstration").iloc[0]
        rows.append({
            "lecture": f"{wording} : part structurée {_COMPARISON[comparison]} {_pct(threshold)}",
            "DMP structurés / alimentés": f"{fr.integer(int(r['dmp_vsm_structured']))} / {fr.integer(int(r['dmp_vsm']))}",
            "majoration": fr.eur(r["majoration_eur"]),
            "montant": fr.eur(r["amount_eur"]),
            "retenue par le jeu de règles": _yes(comparison == rules.majoration.min_structured_share.comparison),
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- worked examples


def note_examples(rules: RuleSet, examples_id: str = "medecins-2024") -> Examples:
    """The note's worked examples, computed with ``rules`` (the note's own rule set by default)."""
    examples = load_examples(examples_id)
    if rules == examples.rules:
        return examples
    period = examples.period if examples.period in rules.periods else next(iter(rules.periods))
    return Examples(rules, period, examples.cases, examples.seed, examples.passage)


def note_label(quote: str) -> str:
    """The label of a row as printed in the note: the first cell of the quoted table row."""
    return quote.split("\t", 1)[0].strip()


def _signed_eur(amount: Decimal) -> str:
    if amount == 0:
        return "—"
    return ("+" if amount > 0 else "") + fr.eur(amount)


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
        row["écart"] = _signed_eur(Decimal(r["computed_amount_eur"]) - Decimal(r["stated_amount_eur"]))
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
            "pondération inversée": f"{fr.eur(gross)} × {fr.integer(reference)} / {fr.integer(mt)} = {fr.eur(_round_cent(inverted))}",
            "la note a inversé la pondération": _yes(Fraction(stated) == inverted),
        })
    return pd.DataFrame(rows)


def _round_cent(value: Fraction) -> Decimal:
    cents = (2 * value * 100 + 1) // 2
    return Decimal(int(cents)).scaleb(-2)


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
                f" Or {fr.eur(gross)} × {fr.integer(reference)} / {fr.integer(mt)} = {fr.eur(_round_cent(inverted))} : "
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
            "majoration": _yes(bool(res["majoration"])),
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
                f" Avec un seuil de part structurée {_COMPARISON[threshold.comparison]} {_pct(threshold.value)}, "
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
            "lecture": f"{_COMPARISON[reading]} {_pct(threshold.value)}" if reading else "—",
            "suivie": _yes(reading == threshold.comparison),
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
        f"{_COMPARISON[threshold.comparison]} {_pct(threshold.value)}.\n\n"
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
                "observation": _observation(period),
                "versement": period.payment,
                "complément de": period.complement_of or "—",
                "document": rules.document_label(period.source.seed),
                "citation": period.source.quote,
            })
    return pd.DataFrame(rows)


def periods_conflict_markdown(old: RuleSet, new: RuleSet) -> str:
    """How the periods of ``new`` replace those of ``old`` (medecins-2024 vs medecins-2023)."""

    def describe(rules: RuleSet) -> str:
        items = [
            f"{pid} {_observation(p)} (versement au {p.payment}"
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
                "lecture": f"{pid} : {_observation(period)}, versement au {period.payment}",
                "retenue": _yes(rules is rules_2024),
            })
    return pd.DataFrame(rows)


def generated_at(now: dt.datetime | None = None) -> str:
    """« Exécuté le 2024-07-09T10:00:00+00:00 » (UTC, ISO; sanitized by nbval)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"Exécuté le {now.replace(microsecond=0).isoformat()}"
