"""vsm.report.methodology, vsm.report.demos and vsm.rules.words: what the methodology notebook shows, checked against the note (002)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from vsm.rules import words
from vsm.display import Prose, md_escape
from vsm.report import demos as d
from vsm.report import methodology as m
from vsm.report.display import Table, as_text
from vsm.examples import check_examples
from vsm.forfait import compute
from vsm.rules import load_rules

NNBSP = "\u202f"  # thousands separator (CLDR fr)
NBSP = "\u00a0"  # before € and %


def eur(text: str) -> str:
    """« 1 440,00 » → the French currency text Babel produces, « 1 440,00 € »."""
    return text.replace(" ", NNBSP) + NBSP + "€"


@pytest.fixture(scope="module")
def rules():
    return load_rules("medecins-2024")


@pytest.fixture(scope="module")
def rules_2023():
    return load_rules("medecins-2023")


@pytest.fixture(scope="module")
def examples(rules):
    return m.note_examples(rules)


@pytest.fixture(scope="module")
def checked(examples):
    return check_examples(examples)


def with_reference(rules, reference: int):
    pond = rules.ponderation
    node = pond.reference_patients.model_copy(update={"value": reference})
    return rules.model_copy(update={"ponderation": pond.model_copy(update={"reference_patients": node})})


# --------------------------------------------------------------------------- rule table


def test_rule_table_covers_every_section_of_the_note(rules):
    table = words.rule_table(rules)
    assert list(table.columns) == list(words.RULE_COLUMNS)
    assert set(table["section"]) == set(words.SECTIONS)


def test_every_rule_row_has_a_source_quote_passage_and_document(rules):
    table = words.rule_table(rules)
    for column in ("citation", "passage", "document", "fichier", "valeur", "règle"):
        assert (table[column].str.strip() != "").all(), column
    quotes = {s.quote for s in rules.all_sources()}
    assert set(table["citation"]) <= quotes
    assert set(table["fichier"]) <= set(rules.documents)


def test_rule_values_are_read_from_the_rule_set_in_french(rules):
    table = words.rule_table(rules).set_index("règle")
    assert table.loc["patientèle de référence", "valeur"] == "800 patients"
    assert table.loc["taux de majoration du forfait brut", "valeur"] == f"20{NBSP}%"
    assert table.loc["seuil de part structurée (DMP structurés / DMP alimentés)", "valeur"] == "≥ 1/3"
    assert table.loc["palier 1 : part de VSM ≥ 50\u00a0%", "valeur"] == f"forfait brut {eur('1 500,00')}"
    assert table.loc["palier 2 : part de VSM ≥ 90\u00a0%", "valeur"] == f"forfait brut {eur('3 000,00')}"
    assert table.loc["période P1", "valeur"].startswith("observation du 1er janvier 2022 au 31 décembre 2023")
    assert "jamais négatif" in table.loc["période P2, complément de P1", "valeur"]
    # a changed rule set changes the table: nothing is typed in the code
    changed = words.rule_table(with_reference(rules, 900)).set_index("règle")
    assert changed.loc["patientèle de référence", "valeur"] == "900 patients"


def test_denominator_rows_give_the_end_of_each_period(rules):
    rows = words.rule_table(rules).query("section == 'Dénominateur'")
    assert rows["valeur"].tolist() == ["31 décembre 2023", "30 juin 2024"]


def test_rule_markdown_quotes_the_source_and_escapes_markdown(rules):
    text = words.section_markdown(rules, "Pondération")
    assert "> « pondération = nombre de patients déclarés « Médecin traitant »" in text
    assert "\\*pondération" in text  # the note's stray « * » must not start italics
    assert "note méthodologique" in text
    assert "ne contient pas de règle" in words.section_markdown(rules, "Inexistante")


# --------------------------------------------------------------------------- worked examples


def test_examples_table_has_the_notes_seven_rows(checked, examples):
    table = m.examples_table(checked, examples)
    assert len(table) == 7
    assert table["cas"].tolist()[:5] == ["Médecin 1", "Médecin 2", "Médecin 3", "Médecin 4", "Médecin 5"]


def test_examples_table_shows_the_errata_of_rows_4_and_5(checked, examples):
    table = m.examples_table(checked, examples)
    for i in (3, 4):
        assert table.loc[i, "montant de la note"] == eur("1 440,00")
        assert table.loc[i, "montant calculé"] == eur("2 250,00")
        assert table.loc[i, "écart"] == "+" + eur("810,00")
        assert table.loc[i, "verdict"] == "erratum de la note"
    others = table.drop(index=[3, 4])
    assert (others["verdict"] == "conforme").all()
    assert (others["montant de la note"] == others["montant calculé"]).all()
    assert table.loc[2, "montant calculé"] == eur("1 500,00")
    assert table.loc[6, "montant calculé"] == eur("4 500,00")
    assert table.loc[0, "part de VSM (note)"] == f"20{NBSP}%"


def test_examples_table_without_stated_shares(checked):
    table = m.examples_table(checked)
    assert list(table.columns) == ["cas", "montant de la note", "montant calculé", "écart", "verdict"]


def test_examples_summary(checked):
    assert m.examples_summary(checked) == (
        "Bilan : 7 cas ; 5 conformes, 2 errata de la note (règle appliquée), aucun écart."
    )


def test_examples_under_another_rule_set_show_gaps(rules):
    variant = with_reference(rules, 900)
    checked = check_examples(m.note_examples(variant))
    assert "ÉCART" in checked["verdict"].tolist()
    assert "ÉCART" in m.examples_summary(checked)


def test_errata_table_shows_the_inverted_weight(examples, checked):
    table = m.errata_table(examples, checked)
    assert table["cas"].tolist() == ["Médecin 4", "Médecin 5"]
    assert (table["montant de la note"] == eur("1 440,00")).all()
    assert table.loc[0, "montant par la règle"] == (
        f"({eur('1 500,00')} + {eur('300,00')}) × 1{NNBSP}000 / 800 = {eur('2 250,00')}"
    )
    assert table.loc[0, "pondération inversée"] == f"{eur('1 800,00')} × 800 / 1{NNBSP}000 = {eur('1 440,00')}"
    assert (table["la note a inversé la pondération"] == "oui").all()
    assert table.loc[0, "ligne de la note"].startswith("Médecin 4 | 50 % | 60 % | 1")


def test_errata_markdown_explains_1440_versus_2250(examples, checked):
    text = m.errata_markdown(examples, checked)
    assert text.count("- **Médecin") == 2
    assert f"la note annonce **{eur('1 440,00')}**" in text
    assert f"**{eur('2 250,00')}**" in text
    assert f"{eur('1 800,00')} × 800 / 1{NNBSP}000 = {eur('1 440,00')}" in text
    assert "inversant la pondération" in text


def test_duplicate_medecin_6_rows_are_told_apart(examples, checked):
    table = m.duplicate_labels_table(examples, checked)
    assert table["libellé dans la note"].tolist() == ["Médecin 6", "Médecin 6"]
    assert table["libellé retenu"].nunique() == 2
    assert table["identifiant"].tolist() == ["medecin-6a", "medecin-6b"]
    assert table["majoration"].tolist() == ["non", "oui"]
    assert table["montant calculé"].tolist() == [eur("3 750,00"), eur("4 500,00")]
    text = m.duplicate_labels_markdown(examples)
    assert "2 lignes libellées « Médecin 6 »" in text
    assert f"part structurée (20{NBSP}% contre 70{NBSP}%)" in text
    assert "« Médecin 6 (2e ligne) » obtient la majoration" in text


def test_note_label_and_plain_quote():
    quote = "Médecin 4\t50 %\t60 %\t1 000\t$(1\\,500\\text{ €} + 300\\text{ €}) * (1\\,000/800) = 1\\,440\\text{ €}$"
    assert m.note_label(quote) == "Médecin 4"
    assert m.plain_quote(quote) == (
        f"Médecin 4 | 50 % | 60 % | 1 000 | (1{NNBSP}500 € + 300 €) * (1{NNBSP}000/800) = 1{NNBSP}440 €"
    )


# --------------------------------------------------------------------------- demonstrations


def test_tier_boundaries_exactly_and_just_below(rules):
    counts = d.tier_counts(rules)
    shares = [Fraction(int(r.dmp_vsm), int(r.patients_mt_ald)) for r in counts.itertuples()]
    assert shares[0] == Fraction(1, 2) and shares[1] < Fraction(1, 2)
    assert shares[2] == Fraction(9, 10) and shares[3] < Fraction(9, 10)
    table = d.run_demo(counts, rules, "P1")
    assert table["cas"].tolist()[0] == f"exactement 50{NBSP}%"
    assert table["montant"].tolist() == [eur("1 500,00"), eur("0,00"), eur("3 000,00"), eur("1 500,00")]


def test_majoration_boundary_exactly_one_third_and_just_below(rules):
    counts = d.majoration_counts(rules)
    first = counts.iloc[0]
    assert Fraction(int(first.dmp_vsm_structured), int(first.dmp_vsm)) == Fraction(1, 3)
    table = d.run_demo(counts, rules, "P1")
    assert table["majoration"].tolist() == [eur("300,00"), eur("0,00"), eur("600,00"), eur("0,00")]
    assert table["montant"].tolist() == [eur("1 800,00"), eur("1 500,00"), eur("3 600,00"), eur("3 000,00")]


def test_rounding_1001_patients_gives_1876_88(rules):
    results = compute(d.rounding_counts(rules), rules, "P1")
    assert results["amount_eur"].tolist() == [Decimal("1876.88"), Decimal("1880.63")]
    table = d.exact_amounts(results, rules)
    assert table.loc[0, "valeur exacte"] == f"1{NNBSP}876,875{NBSP}€"
    assert table.loc[0, "montant versé (arrondi)"] == eur("1 876,88")
    assert table.loc[1, "montant versé (arrondi)"] == eur("1 880,63")  # half up, not half even
    assert table.loc[0, "calcul"] == f"{eur('1 500,00')} × 1{NNBSP}001 / 800"


def test_weighting_demo(rules):
    table = d.run_demo(d.weighting_counts(rules), rules, "P1")
    assert table["pondération"].tolist() == ["0,5", "1", "1,25", "2"]
    assert table["montant"].tolist() == [eur("750,00"), eur("1 500,00"), eur("1 875,00"), eur("3 000,00")]


def test_eligibility_numerator_and_denominator_demos(rules):
    elig = d.run_demo(d.eligibility_counts(rules), rules, "P1")
    assert elig["éligible"].tolist() == ["non", "oui"]
    assert elig.loc[0, "montant"] == eur("0,00")
    num = d.run_demo(d.numerator_counts(rules), rules, "P1")
    assert num["montant"].tolist() == [eur("0,00"), eur("1 500,00"), eur("3 000,00")]
    assert num.loc[2, "part de VSM"] == f"120,0{NBSP}%"
    den = d.run_demo(d.denominator_counts(rules), rules, "P1")
    assert den["montant"].tolist() == [eur("3 000,00"), eur("1 500,00")]


def test_complement_demo(rules, rules_2023):
    assert d.complement_period(rules) == "P2"
    counts, paid = d.complement_inputs(rules)
    table = d.run_demo(counts, rules, "P2", paid=paid)
    assert table["complément"].tolist() == [eur("300,00"), eur("1 500,00"), eur("0,00")]
    assert d.complement_period(rules_2023) is None
    assert d.complement_inputs(rules_2023) is None


# --------------------------------------------------------------------------- conflicts


@pytest.mark.parametrize(
    "quote, expected",
    [
        ("si au moins 1/3 des VSM sont au format structuré", ">="),
        ("si pas de données structurées ou si strictement moins d'1/3 des VSM en structuré", ">="),
        ("si plus d'un tiers des VSM intégrés au DMP", ">"),
        ("plus d'1/3 des VSM est élaboré de manière structurée", ">"),
        ("Si cette part est supérieure ou égale à 90 %", ">="),
        ("La majoration se base sur le rapport", None),
    ],
)
def test_comparison_reading(quote, expected):
    assert m.comparison_reading(quote) == expected


def test_threshold_conflict_table(rules):
    table = m.threshold_conflict_table(rules)
    assert table["fichier"].tolist() == [
        "002_ba23acbf965b9b3d.txt", "000_3a887981c0a9fc2e.txt", "002_ba23acbf965b9b3d.txt", "003_1de6fa1a4dcabd79.txt",
    ]
    assert table["lecture"].tolist() == ["≥ 1/3", "≥ 1/3", "> 1/3", "> 1/3"]
    assert table["suivie"].tolist() == ["oui", "oui", "non", "non"]
    assert "§ 1" in table.loc[2, "passage"]
    text = m.threshold_conflict_markdown(rules)
    assert "part structurée ≥ 1/3" in text and "plus d'un tiers" in text


def test_threshold_reading_changes_the_amount_at_exactly_one_third(rules):
    table = d.threshold_reading_demo(rules, "P1")
    assert table["majoration"].tolist() == [eur("300,00"), eur("0,00")]
    assert table["retenue par le jeu de règles"].tolist() == ["oui", "non"]
    # the variant rule set is a copy: the loaded rule set is unchanged
    assert rules.majoration.min_structured_share.comparison == ">="
    assert d.with_structured_comparison(rules, ">").majoration.min_structured_share.comparison == ">"
    with pytest.raises(ValueError):
        d.with_structured_comparison(rules, "<")


def test_periods_of_the_announcement_and_of_the_note(rules, rules_2023):
    table = m.periods_table(rules_2023, rules)
    assert table["jeu de règles"].tolist() == ["medecins-2023", "medecins-2024", "medecins-2024"]
    assert table["observation"].tolist() == [
        "du 1er janvier 2022 au 30 juin 2023",
        "du 1er janvier 2022 au 31 décembre 2023",
        "du 1er janvier 2022 au 30 juin 2024",
    ]
    assert table["versement"].tolist() == ["2nd semestre 2023", "1er semestre 2024", "2e semestre 2024"]
    text = m.periods_conflict_markdown(rules_2023, rules)
    assert "fin(s) propre(s) à medecins-2023 : 30 juin 2023" in text
    assert "31 décembre 2023, 30 juin 2024" in text


def test_conflicts_table_lists_both_disagreements(rules, rules_2023):
    table = m.conflicts_table(rules, rules_2023)
    assert table["sujet"].value_counts().to_dict() == {"seuil de part structurée": 4, "période d'observation": 3}
    periods = table[table["sujet"] == "période d'observation"]
    assert periods["retenue"].tolist() == ["non", "oui", "oui"]
    assert (table["citation"].str.len() > 0).all()


# --------------------------------------------------------------------------- display


def test_ruleset_identity(rules, rules_2023):
    text = m.ruleset_identity(rules)
    assert "Jeu de règles : medecins-2024" in text
    assert f"Empreinte sha256 : {rules.sha256}" in text
    assert re.search(r"\b[0-9a-f]{64}\b", text)
    assert "Fichiers : params/rules/medecins-2024.yml" in text
    assert "À partir de : medecins-2024" in m.ruleset_identity(rules_2023)


def test_generated_at_is_iso():
    stamp = m.generated_at(dt.datetime(2024, 7, 9, 10, 0, 0, 123456, tzinfo=dt.timezone.utc))
    assert stamp == "Exécuté le 2024-07-09T10:00:00+00:00"


def test_text_table_is_aligned_and_the_display_has_no_index():
    frame = pd.DataFrame({"cas": ["a", "long cas"], "montant": [eur("1,00"), eur("1 500,00")]})
    text = as_text(frame)
    lines = text.splitlines()
    assert lines[0].startswith("cas ")
    assert len({len(line) for line in lines[1:]}) == 1  # amounts right-aligned to one width
    assert lines[2].endswith(eur("1,00")) and lines[3].endswith(eur("1 500,00"))
    table = Table(frame)
    assert repr(table) == text == str(table)
    markdown = table._repr_markdown_()
    assert markdown.startswith("| cas |") and "long cas" in markdown and "-:|" in markdown  # amounts right-aligned
    assert not hasattr(table, "_repr_html_")  # one representation: Markdown (no HTML for Quarto to prefer)
    assert as_text(frame.iloc[0:0]) == "(aucune ligne)"
    assert repr(Prose("**gras**")) == "**gras**" == Prose("**gras**")._repr_markdown_()


def test_md_escape():
    assert md_escape("a *b* $c$ _d_") == "a \\*b\\* \\$c\\$ \\_d\\_"
