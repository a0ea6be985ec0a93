"""French explanations of a professional's forfait, and rule sets shown with their sources."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from conftest import counts, norm, squash
from vsm.errors import VsmError
from vsm.explain import explain, explain_row
from vsm.rules.words import describe_rules
from vsm.forfait import compute
from vsm.rules import load_rules


def explained(rules, row, period="P1", paid=None, ps_id="X") -> str:
    results = compute(counts((ps_id, *row)), rules, period, paid=paid)
    return norm(explain(results, rules, period, ps_id))


def test_issue_example_146_sur_300_sous_le_seuil(rules):
    text = explained(rules, (1000, 300, 146, 0))
    assert "146 DMP alimentés / 300 patients MT en ALD = 48,7 %" in text
    assert "sous le seuil de 50 %" in text
    assert "note méthodologique" in text
    assert "forfait brut 0,00 €" in text
    assert "X" in text.splitlines()[0]
    assert "medecins-2024" in text.splitlines()[0]


def test_majore_et_pondere_montre_les_chiffres_et_le_montant(rules):
    text = explained(rules, (1001, 300, 150, 50))
    assert "150 DMP alimentés / 300 patients MT en ALD = 50,0 %" in text
    assert "au moins 50 %" in text
    assert "forfait brut 1 500,00 €" in text
    assert "50 DMP alimentés en structuré / 150 DMP alimentés" in text
    assert "au moins 1/3" in text
    assert "300,00 €" in text
    assert "20 %" in text
    assert "1 001 patients MT / 800" in text
    assert "1,25125" in text
    assert "(1 500,00 € + 300,00 €) × 1 001 / 800 = 2 252,25 €" in text
    assert "31 décembre 2023" in text


def test_arrondi_signale_quand_le_montant_est_arrondi(rules):
    text = explained(rules, (1001, 300, 150, 0))
    assert "1 876,88 €" in text
    assert "arrondi" in text


def test_part_4999_sur_10000_n_est_pas_affichee_50_pourcent(rules):
    text = explained(rules, (10000, 10000, 4999, 0))
    assert "50,0 %" not in text
    assert "= 50 %" not in text
    assert "49,99 %" in text
    assert "sous le seuil de 50 %" in text


def test_part_structuree_333_sur_1000_n_est_pas_affichee_comme_un_tiers(rules):
    text = explained(rules, (1000, 1000, 1000, 333))
    assert "= 33,3 %," not in text  # 1/3 itself shows as 33,3 %
    assert "33,30 %" in text
    assert "sous le seuil de 1/3" in text
    assert "pas de majoration" in text


def test_part_au_dela_de_100_pourcent_expliquee(rules):
    text = explained(rules, (800, 300, 450, 0))
    assert "150,0 %" in text
    assert "dépasse 100 %" in text
    assert "3 000,00 €" in text


def test_non_eligible(rules):
    text = explained(rules, (500, 0, 0, 0))
    assert "non éligible" in text
    assert "0 patient(s) MT en ALD" in text
    assert "0,00 €" in text
    assert "note méthodologique" in text


def test_complement_p2(rules):
    paid = pd.DataFrame({"ps_id": ["X"], "paid_eur": [Decimal("1500.00")]})
    text = explained(rules, (1000, 100, 95, 40), period="P2", paid=paid)
    assert "30 juin 2024" in text
    assert "4 500,00 €" in text
    assert "Complément" in text
    assert "déjà versé au titre de P1 1 500,00 €" in text
    assert "= 3 000,00 € à verser" in text


def test_complement_p2_regression_affiche_zero(rules):
    paid = pd.DataFrame({"ps_id": ["X"], "paid_eur": [Decimal("3000.00")]})
    text = explained(rules, (800, 100, 50, 0), period="P2", paid=paid)
    assert "= 0,00 € à verser" in text
    assert "jamais négatif" in text


def test_p2_sans_versement_pas_d_etape_complement(rules):
    text = explained(rules, (800, 100, 50, 0), period="P2")
    assert "Complément" not in text


def test_centres_majoration_et_ponderation_non_appliquees(centres_2024):
    text = explained(centres_2024, (1000, 300, 300, 300))
    assert "Majoration : non appliquée" in text
    assert "Pondération : non appliquée" in text
    assert "3 000,00 €" in text
    assert "2 250" not in text and "4 500" not in text


def test_professionnel_absent_est_une_erreur_francaise(rules):
    results = compute(counts(("A", 800, 100, 50, 0)), rules, "P1")
    with pytest.raises(VsmError) as info:
        explain(results, rules, "P1", "Z")
    assert "« Z »" in str(info.value)


def test_explain_row_donne_des_etapes(rules):
    results = compute(counts(("A", 1000, 100, 50, 30)), rules, "P1")
    steps = explain_row(results.iloc[0], rules, "P1")
    titles = [step.title for step in steps]
    assert titles == ["Période", "Éligibilité", "Part de VSM", "Majoration", "Pondération", "Montant"]
    assert "2 250,00 €" in norm(steps[-1].text)


def test_explain_palier_a_zero_sans_dmp_alimente(variant):
    """A rule set may have a tier starting at 0 % (thresholds in [0, 1] are allowed). A professional who fed no DMP
    then reaches that tier, and the structured share (0 / 0) is undefined: the explanation must still be given."""

    def zero_tier(d):
        first = dict(d["tiers"]["levels"][0])
        d["tiers"]["levels"].insert(0, {**first, "min_share": "0", "amount_eur": "100.00"})

    rules = load_rules(variant(zero_tier))
    results = compute(counts(("A", 800, 100, 0, 0)), rules, "P1")
    assert results["amount_eur"].iloc[0] == Decimal("100.00")
    text = norm(explain(results, rules, "P1", "A"))
    assert "100,00 €" in text


# --------------------------------------------------------------------------- describe_rules


def test_describe_rules_montre_chaque_valeur_avec_sa_source(rules):
    text = norm(describe_rules(rules))
    flat = squash(text)
    for expected in (
        "800",
        "1/3",
        "plus d'un tiers",
        "50 %",
        "90 %",
        "1 500,00 €",
        "3 000,00 €",
        "20 %",
        "SYNTH",
        "urn:asip:ci-sis:vsm:2012",
        "demi supérieur",
        "1er janvier 2022",
        "31 décembre 2023",
        "30 juin 2024",
        "1er semestre 2024",
        "2e semestre 2024",
        "aucun",
    ):
        assert expected in text, expected
    for source in rules.all_sources():
        assert squash(source.quote) in flat, source.quote
        assert source.passage in text
    assert text.count("source :") >= len(rules.all_sources())


def test_describe_rules_centres_dit_desactive(centres_2024):
    text = norm(describe_rules(centres_2024))
    assert "centres de santé" in text
    assert "appliquée : non" in text
    assert "à partir de : medecins-2024" in text


def test_describe_rules_medecins_2023_dates(medecins_2023):
    text = norm(describe_rules(medecins_2023))
    assert "1er janvier 2022" in text
    assert "30 juin 2023" in text
    assert "2nd semestre 2023" in text
    assert "31 décembre 2023" not in text.split("Périodes d'observation")[1]
