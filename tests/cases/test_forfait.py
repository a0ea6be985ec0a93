"""The forfait computation, sentence by sentence of the methodology note (002), § 3.

Boundaries are computed here, independently of the code, with Fraction and Decimal.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from conftest import counts, eur, one, round_half_up_cent
from vsm.errors import VsmError
from vsm.forfait import RESULT_COLUMNS, compute
from vsm.errors import InputErrors
from vsm.ingest.inputs import read_counts, validate_counts
from vsm.rules import load_rules

HALF, NINE_TENTHS, THIRD = Fraction(1, 2), Fraction(9, 10), Fraction(1, 3)


def run(rules, *rows, period="P1", paid=None):
    return compute(counts(*rows), rules, period, paid=paid)


def amount(rules, mt, ald, fed, structured, period="P1") -> Decimal:
    return one(run(rules, (mt, ald, fed, structured), period=period))["amount_eur"]


# --------------------------------------------------------------------------- result shape


def test_result_columns_and_money_types(rules):
    results = run(rules, (1000, 100, 50, 30), (800, 100, 95, 0))
    assert list(results.columns) == list(RESULT_COLUMNS)
    for column in ("tier_eur", "majoration_eur", "amount_eur"):
        for value in results[column]:
            assert isinstance(value, Decimal), column
            assert value == value.quantize(Decimal("0.01"))
    assert list(results["amount_eur"]) == [eur("2250.00"), eur("3000.00")]


def test_extra_columns_are_carried_through(rules):
    table = counts((800, 100, 50, 0)).assign(region="02")
    results = compute(table, rules, "P1")
    assert results["region"].tolist() == ["02"]


def test_compute_does_not_modify_its_input(rules):
    table = counts((800, 100, 50, 0))
    before = table.copy()
    compute(table, rules, "P1")
    pd.testing.assert_frame_equal(table, before)


# --------------------------------------------------------------------------- § 3, population éligible


def test_eligibles_medecins_ayant_au_moins_1_patient_mt_en_ald(rules):
    """« Médecins libéraux ayant au moins 1 patient déclaré « Médecin traitant » en ALD »."""
    row = one(run(rules, (1, 1, 1, 0)))
    assert bool(row["eligible"]) is True
    assert row["tier"] == 2  # 1/1 = 100 % ≥ 90 %
    assert row["amount_eur"] == eur("3.75")  # 3 000 × 1 / 800


def test_zero_patient_en_ald_non_eligible_montant_nul_parts_nan(rules):
    row = one(run(rules, (500, 0, 0, 0)))
    assert bool(row["eligible"]) is False
    assert row["tier"] == 0
    assert row["tier_eur"] == eur(0)
    assert bool(row["majoration"]) is False
    assert row["majoration_eur"] == eur(0)
    assert row["amount_eur"] == eur(0)
    assert math.isnan(row["vsm_share"])
    assert math.isnan(row["structured_share"])


def test_zero_patient_en_ald_mais_dmp_alimentes_reste_non_eligible(rules):
    """The numerator counts every DMP fed, so a doctor without ALD patients may still have fed some."""
    row = one(run(rules, (500, 0, 40, 40)))
    assert bool(row["eligible"]) is False
    assert math.isnan(row["vsm_share"])
    assert row["tier"] == 0
    assert bool(row["majoration"]) is False
    assert row["amount_eur"] == eur(0)


def test_zero_patient_mt_non_eligible(rules):
    row = one(run(rules, (0, 0, 0, 0)))
    assert bool(row["eligible"]) is False
    assert row["amount_eur"] == eur(0)


# --------------------------------------------------------------------------- § 2/3, indicateur


def test_indicateur_numerateur_tous_les_dmp_alimentes_part_au_dela_de_100_pourcent(rules):
    """« l'ensemble des DMP alimentés par le médecin et pas seulement les DMP des patients en ALD »."""
    fed, ald = 450, 300
    assert Fraction(fed, ald) == Fraction(3, 2)
    row = one(run(rules, (800, ald, fed, 0)))
    assert row["vsm_share"] == pytest.approx(1.5)
    assert row["tier"] == 2
    assert row["tier_eur"] == eur("3000.00")
    assert row["amount_eur"] == eur("3000.00")


# --------------------------------------------------------------------------- § 3, point 1


def test_part_strictement_inferieure_a_50_pourcent_remuneration_nulle(rules):
    """« Si la part de VSM alimentés est strictement inférieure à 50 % : la rémunération du médecin est nulle. »"""
    assert Fraction(149, 300) < HALF
    row = one(run(rules, (800, 300, 149, 149)))
    assert row["tier"] == 0
    assert row["tier_eur"] == eur(0)
    assert bool(row["majoration"]) is False
    assert row["amount_eur"] == eur(0)


def test_part_4999_sur_10000_reste_sous_50_pourcent_malgre_l_arrondi(rules):
    share = Fraction(4999, 10000)
    assert share < HALF
    assert round(4999 / 10000 * 100) == 50  # rounded for display, it would look like 50 %
    row = one(run(rules, (10000, 10000, 4999, 0)))
    assert row["tier"] == 0
    assert row["amount_eur"] == eur(0)


def test_part_juste_sous_50_pourcent_que_le_flottant_arrondit_a_50_pourcent(rules):
    ald = 2**60
    fed = 2**59 - 1
    assert Fraction(fed, ald) < HALF
    assert fed / ald == 0.5  # a float comparison would pay this doctor
    row = one(run(rules, (ald, ald, fed, 0)))
    assert row["tier"] == 0
    assert row["amount_eur"] == eur(0)


def test_part_comprise_entre_50_inclus_et_90_exclus_forfait_brut_1500(rules):
    """« Si cette part est comprise entre 50 % (inclus) et 90 % (exclus) : le forfait « brut » est de 1 500 €. »"""
    assert Fraction(150, 300) == HALF
    row = one(run(rules, (800, 300, 150, 0)))
    assert row["tier"] == 1
    assert row["tier_eur"] == eur("1500.00")
    assert row["amount_eur"] == eur("1500.00")
    # just below 90 %: still 1 500 €
    assert HALF <= Fraction(269, 300) < NINE_TENTHS
    row = one(run(rules, (800, 300, 269, 0)))
    assert row["tier"] == 1
    assert row["amount_eur"] == eur("1500.00")
    assert Fraction(8999, 10000) < NINE_TENTHS
    assert one(run(rules, (10000, 10000, 8999, 0)))["tier_eur"] == eur("1500.00")


def test_part_superieure_ou_egale_a_90_pourcent_forfait_brut_3000(rules):
    """« Si cette part est supérieure ou égale à 90 % : le forfait « brut » est de 3 000 €. »"""
    assert Fraction(270, 300) == NINE_TENTHS
    row = one(run(rules, (800, 300, 270, 0)))
    assert row["tier"] == 2
    assert row["tier_eur"] == eur("3000.00")
    assert row["amount_eur"] == eur("3000.00")
    assert one(run(rules, (800, 300, 300, 0)))["tier_eur"] == eur("3000.00")


def test_tres_grands_effectifs_montant_exact(rules):
    """Large counts take the exact (object) path: no overflow, no float."""
    mt = 10**15
    row = one(run(rules, (mt, mt, mt // 2, 0)))
    assert row["tier"] == 1
    assert row["amount_eur"] == round_half_up_cent(Fraction(1500) * Fraction(mt, 800))
    assert row["amount_eur"] == Decimal("1875000000000000.00")


# --------------------------------------------------------------------------- § 3, point 2


def test_au_moins_un_tiers_structure_majoration_de_20_pourcent(rules):
    """« Si au moins 1/3 des VSM sont alimentés en données structurées (...) alors le forfait « brut » est majoré de 20 % :
    soit un supplément de 300 € pour un forfait « brut » de 1500 € et 600 € pour un forfait « brut » de 3 000 €. »"""
    assert Fraction(50, 150) == THIRD
    row = one(run(rules, (800, 300, 150, 50)))
    assert row["tier_eur"] == eur("1500.00")
    assert bool(row["majoration"]) is True
    assert row["majoration_eur"] == eur("300.00")
    assert row["amount_eur"] == eur("1800.00")

    assert Fraction(90, 270) == THIRD
    row = one(run(rules, (800, 300, 270, 90)))
    assert row["tier_eur"] == eur("3000.00")
    assert bool(row["majoration"]) is True
    assert row["majoration_eur"] == eur("600.00")
    assert row["amount_eur"] == eur("3600.00")


def test_strictement_moins_d_un_tiers_structure_majoration_nulle(rules):
    """« Sinon la majoration est nulle (si pas de données structurées ou si strictement moins d'1/3 des VSM en structuré) »."""
    assert Fraction(49, 150) < THIRD
    row = one(run(rules, (800, 300, 150, 49)))
    assert bool(row["majoration"]) is False
    assert row["majoration_eur"] == eur(0)
    assert row["amount_eur"] == eur("1500.00")

    assert Fraction(333, 1000) < THIRD
    row = one(run(rules, (1000, 1000, 1000, 333)))
    assert row["tier"] == 2
    assert bool(row["majoration"]) is False
    assert row["amount_eur"] == eur("3750.00")  # 3 000 × 1 000 / 800, no majoration

    row = one(run(rules, (800, 300, 150, 0)))  # pas de données structurées
    assert bool(row["majoration"]) is False
    assert row["amount_eur"] == eur("1500.00")


def test_part_structuree_juste_sous_un_tiers_que_le_flottant_arrondit_a_un_tiers(rules):
    fed = 3 * 2**58
    structured = 2**58 - 1
    assert Fraction(structured, fed) < THIRD
    assert structured / fed == 1 / 3  # a float comparison would grant the majoration
    row = one(run(rules, (fed, fed, fed, structured)))
    assert row["tier"] == 2
    assert bool(row["majoration"]) is False
    assert row["amount_eur"] == round_half_up_cent(Fraction(3000) * Fraction(fed, 800))


def test_majoration_se_base_sur_le_rapport_structures_sur_ensemble_des_vsm_alimentes(rules):
    """« La majoration se base sur le rapport du nombre de VSM alimentés en données structurées dans l'ensemble des VSM
    alimentés. » — not on the ALD patientèle: 60 structured / 180 fed = 1/3, although 60 / 300 ALD = 20 %."""
    assert Fraction(60, 180) == THIRD and Fraction(60, 300) < THIRD
    row = one(run(rules, (800, 300, 180, 60)))
    assert row["structured_share"] == pytest.approx(1 / 3)
    assert bool(row["majoration"]) is True
    assert row["amount_eur"] == eur("1800.00")


def test_pas_de_majoration_sans_forfait_brut_meme_a_100_pourcent_structure(rules):
    row = one(run(rules, (800, 300, 100, 100)))
    assert row["tier"] == 0
    assert row["structured_share"] == pytest.approx(1.0)
    assert bool(row["majoration"]) is False
    assert row["majoration_eur"] == eur(0)
    assert row["amount_eur"] == eur(0)


# --------------------------------------------------------------------------- § 3, point 3


def test_montant_total_egal_forfait_brut_plus_majoration_fois_ponderation(rules):
    """« Montant total du Forfait = Forfait « brut » + majoration pour données structurées) *pondération »."""
    row = one(run(rules, (1000, 100, 50, 30)))
    expected = round_half_up_cent((Fraction(1500) + Fraction(300)) * Fraction(1000, 800))
    assert expected == eur("2250.00")
    assert row["tier_eur"] + row["majoration_eur"] == eur("1800.00")
    assert row["weight"] == pytest.approx(1.25)
    assert row["amount_eur"] == expected


def test_ponderation_egale_patients_mt_sur_800_sans_plafond(rules):
    """« pondération = nombre de patients déclarés « Médecin traitant » du médecin à la date considérée/800 »."""
    for mt, weight in ((400, Fraction(1, 2)), (800, Fraction(1)), (1600, Fraction(2)), (4000, Fraction(5))):
        row = one(run(rules, (mt, 100, 95, 0)))
        assert row["weight"] == pytest.approx(float(weight))
        assert row["amount_eur"] == round_half_up_cent(Fraction(3000) * weight)
    assert amount(rules, 4000, 100, 95, 0) == eur("15000.00")  # no cap


def test_arrondi_unique_au_centime_1001_patients(rules):
    exact = Fraction(1500) * Fraction(1001, 800)
    assert exact == Fraction(1876875, 1000)  # 1 876,875 €
    assert amount(rules, 1001, 300, 150, 0) == eur("1876.88")


def test_arrondi_demi_superieur_3_patients(rules):
    """1 500 × 3 / 800 = 5,625 € exactly: half up gives 5,63 € (banker's rounding would give 5,62 €)."""
    exact = Fraction(1500) * Fraction(3, 800)
    assert exact * 100 == Fraction(11250, 20)  # 562,5 cents, exactly a half
    assert amount(rules, 3, 2, 1, 0) == eur("5.63")


def test_arrondi_demi_superieur_7_patients_sans_majoration(rules):
    """1 500 × 7 / 800 = 13,125 € → 13,13 € (banker's: 13,12 €)."""
    assert amount(rules, 7, 2, 1, 0) == eur("13.13")


def test_arrondi_montant_exact_avec_majoration_7_patients(rules):
    """(1 500 + 300) × 7 / 800 = 15,75 € exactly: nothing to round."""
    assert Fraction(1800) * Fraction(7, 800) == Fraction(1575, 100)
    assert amount(rules, 7, 2, 1, 1) == eur("15.75")


def test_un_patient_montant_3_75(rules):
    """With 1 patient, share is 0 or ≥ 100 %: 3 000 × 1/800 = 3,75 €; with majoration 3 600 / 800 = 4,50 €."""
    assert amount(rules, 1, 1, 1, 0) == eur("3.75")
    assert amount(rules, 1, 1, 1, 1) == eur("4.50")


def test_un_patient_a_1500_arrondi_1_875_en_1_88(variant):
    """1 500 × 1 / 800 = 1,875 € → 1,88 €. Under medecins-2024 a 1-patient doctor cannot be at 1 500 € (share is
    0 or ≥ 100 %), so this uses a variant with a single 1 500 € tier."""
    path = variant(lambda d: d["tiers"].__setitem__("levels", d["tiers"]["levels"][:1]))
    single_tier = load_rules(path)
    assert amount(single_tier, 1, 1, 1, 0) == eur("1.88")


def test_arrondi_une_seule_fois_pas_sur_la_majoration_ponderee(rules):
    """(1 500 + 300) × 1 001 / 800 = 2 252,25 exactly, vs 1 876,88 + 375,38 = 2 252,26 if each part were rounded."""
    row = one(run(rules, (1001, 300, 150, 50)))
    assert row["amount_eur"] == round_half_up_cent(Fraction(1800) * Fraction(1001, 800))
    assert row["amount_eur"] == eur("2252.25")


# --------------------------------------------------------------------------- periods and complement


def test_periode_inconnue_liste_les_periodes_valides(rules):
    with pytest.raises(VsmError) as info:
        run(rules, (800, 100, 50, 0), period="P3")
    message = str(info.value)
    assert "P3" in message and "P1" in message and "P2" in message


def test_complement_p2_amelioration_complement_positif(rules):
    """« peut « améliorer » ses résultats à mi-2024 et percevoir un versement complémentaire à mi 2024 »."""
    table = counts(("A", 1000, 100, 95, 40))  # P2: (3 000 + 600) × 1 000 / 800 = 4 500 €
    paid = pd.DataFrame({"ps_id": ["A"], "paid_eur": [Decimal("1500.00")]})
    row = one(compute(table, rules, "P2", paid=paid))
    assert row["amount_eur"] == eur("4500.00")
    assert row["paid_eur"] == eur("1500.00")
    assert row["complement_eur"] == eur("3000.00")


def test_complement_p2_regression_jamais_negatif(rules):
    table = counts(("A", 800, 100, 50, 0))  # P2: 1 500 €
    paid = pd.DataFrame({"ps_id": ["A"], "paid_eur": [Decimal("3000.00")]})
    row = one(compute(table, rules, "P2", paid=paid))
    assert row["amount_eur"] == eur("1500.00")
    assert row["complement_eur"] == eur("0.00")


def test_complement_p2_professionnel_absent_des_versements_recoit_le_montant_entier(rules):
    table = counts(("A", 800, 100, 50, 0), ("B", 1000, 100, 95, 0))
    paid = pd.DataFrame({"ps_id": ["A"], "paid_eur": [Decimal("1500.00")]})
    results = compute(table, rules, "P2", paid=paid)
    assert one(results, "A")["complement_eur"] == eur("0.00")
    assert one(results, "B")["paid_eur"] == eur("0.00")
    assert one(results, "B")["complement_eur"] == eur("3750.00")
    assert list(results.columns)[-2:] == ["paid_eur", "complement_eur"]


def test_complement_p2_centimes_exacts(rules):
    table = counts(("A", 1001, 300, 150, 50))  # 2 252,25 €
    paid = pd.DataFrame({"ps_id": ["A"], "paid_eur": [Decimal("1876.88")]})
    assert one(compute(table, rules, "P2", paid=paid))["complement_eur"] == eur("375.37")


def test_montant_deja_verse_pour_p1_est_refuse(rules):
    paid = pd.DataFrame({"ps_id": ["A"], "paid_eur": [Decimal("1500.00")]})
    with pytest.raises(VsmError) as info:
        compute(counts(("A", 800, 100, 50, 0)), rules, "P1", paid=paid)
    assert "P1" in str(info.value)


# --------------------------------------------------------------------------- other rule sets


def test_centres_sante_2024_ni_majoration_ni_ponderation(centres_2024):
    results = run(
        centres_2024,
        (1000, 100, 95, 95),  # 100 % structured, 1 000 patients: still 3 000 €
        (1001, 300, 150, 150),
        (200, 100, 49, 49),
        period="P1",
    )
    assert list(results["majoration"]) == [False, False, False]
    assert list(results["majoration_eur"]) == [eur(0)] * 3
    assert list(results["weight"]) == [1.0, 1.0, 1.0]
    assert list(results["amount_eur"]) == [eur("3000.00"), eur("1500.00"), eur("0.00")]
    assert list(results["amount_eur"]) == list(results["tier_eur"])


def test_centres_sante_2024_p2_complement(centres_2024):
    paid = pd.DataFrame({"ps_id": ["C"], "paid_eur": [Decimal("1500.00")]})
    row = one(compute(counts(("C", 1000, 100, 95, 95)), centres_2024, "P2", paid=paid))
    assert row["complement_eur"] == eur("1500.00")


def test_medecins_2023_periode_unique(medecins_2023):
    assert amount(medecins_2023, 1000, 100, 50, 30) == eur("2250.00")
    with pytest.raises(VsmError) as info:
        run(medecins_2023, (800, 100, 50, 0), period="P2")
    assert "P1" in str(info.value)
    paid = pd.DataFrame({"ps_id": ["ps1"], "paid_eur": [Decimal("1.00")]})
    with pytest.raises(VsmError):
        run(medecins_2023, (800, 100, 50, 0), period="P1", paid=paid)


# --------------------------------------------------------------------------- invalid counts

GOOD = {"ps_id": "ok", "patients_mt": "800", "patients_mt_ald": "100", "dmp_vsm": "50", "dmp_vsm_structured": "10"}


def _two_rows(**second) -> pd.DataFrame:
    """Two data rows as text (as read from a CSV); the second one is changed."""
    return pd.DataFrame([GOOD, {**GOOD, "ps_id": "bad", **second}])


def _input_error(frame, rules) -> str:
    with pytest.raises(InputErrors) as info:
        compute(frame, rules, "P1")
    return str(info.value)


@pytest.mark.parametrize("column", ["patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured"])
def test_effectif_negatif_refuse(rules, column):
    message = _input_error(_two_rows(**{column: "-1"}), rules)
    assert "ligne 2" in message
    assert f"« {column} »" in message
    assert "négatif" in message


@pytest.mark.parametrize("bad", ["12.5", "abc", "", "  "])
def test_effectif_non_entier_refuse(rules, bad):
    message = _input_error(_two_rows(dmp_vsm=bad), rules)
    assert "ligne 2" in message
    assert "« dmp_vsm »" in message
    if bad.strip():
        assert bad in message


def test_effectif_non_entier_en_flottant_refuse(rules):
    frame = counts((800, 100, 50, 10), (800, 100, 50, 10)).astype({"dmp_vsm": float})
    frame.loc[1, "dmp_vsm"] = 12.5
    message = _input_error(frame, rules)
    assert "ligne 2" in message and "« dmp_vsm »" in message


def test_effectif_manquant_none_refuse(rules):
    frame = _two_rows()
    frame.loc[1, "patients_mt"] = None
    message = _input_error(frame, rules)
    assert "ligne 2" in message and "« patients_mt »" in message


def test_effectif_trop_grand_n_est_pas_dit_negatif(rules):
    """A value beyond int64 must be reported as it is, not as « -9223372036854775808 est négatif »."""
    message = _input_error(_two_rows(patients_mt="99999999999999999999"), rules)
    assert "ligne 2" in message and "« patients_mt »" in message
    assert "-9223372036854775808" not in message
    assert "99999999999999999999" in message


def test_plus_de_patients_en_ald_que_de_patients_mt_refuse(rules):
    message = _input_error(_two_rows(patients_mt="100", patients_mt_ald="101"), rules)
    assert "ligne 2" in message
    assert "« patients_mt_ald »" in message


def test_plus_de_dmp_structures_que_de_dmp_alimentes_refuse(rules):
    message = _input_error(_two_rows(dmp_vsm="10", dmp_vsm_structured="11"), rules)
    assert "ligne 2" in message
    assert "« dmp_vsm_structured »" in message


def test_ps_id_en_double_nomme_les_deux_lignes(rules):
    frame = pd.DataFrame([GOOD, {**GOOD, "ps_id": "x"}, {**GOOD}])
    message = _input_error(frame, rules)
    assert "« ps_id »" in message
    assert "« ok »" in message
    assert "ligne 1" in message and "ligne 3" in message


def test_ps_id_vide_refuse(rules):
    message = _input_error(_two_rows(ps_id=""), rules)
    assert "ligne 2" in message and "« ps_id »" in message


def test_colonne_manquante_refusee(rules):
    frame = _two_rows().drop(columns=["dmp_vsm"])
    with pytest.raises(InputErrors) as info:
        compute(frame, rules, "P1")
    assert "« dmp_vsm »" in str(info.value)


def test_plusieurs_erreurs_toutes_nommees(rules):
    frame = pd.DataFrame([GOOD, {**GOOD, "ps_id": "b", "dmp_vsm": "abc"}, {**GOOD, "ps_id": "c", "patients_mt": "-3"}])
    message = _input_error(frame, rules)
    assert "2 erreurs" in message
    assert "ligne 2, colonne « dmp_vsm »" in message
    assert "ligne 3, colonne « patients_mt »" in message


def test_validate_counts_renvoie_des_entiers(rules):
    clean = validate_counts(_two_rows(dmp_vsm=" 17 "))
    assert clean["dmp_vsm"].tolist() == [50, 17]
    assert str(clean["dmp_vsm"].dtype) == "int64"


def test_fichier_csv_deuxieme_ligne_de_donnees_est_la_ligne_3(tmp_path):
    path = tmp_path / "effectifs.csv"
    path.write_text(
        "ps_id,patients_mt,patients_mt_ald,dmp_vsm,dmp_vsm_structured\n"
        "10001,800,100,50,10\n"
        "10002,800,100,12.5,10\n",
        encoding="utf-8",
    )
    with pytest.raises(InputErrors) as info:
        read_counts(path)
    message = str(info.value)
    assert str(path) in message
    assert "ligne 3" in message
    assert "« dmp_vsm »" in message
    assert "12.5" in message


def test_fichier_csv_garde_les_zeros_en_tete_des_identifiants(tmp_path, rules):
    path = tmp_path / "effectifs.csv"
    path.write_text(
        "ps_id,patients_mt,patients_mt_ald,dmp_vsm,dmp_vsm_structured\n00123,800,100,50,10\n", encoding="utf-8"
    )
    table = read_counts(path)
    assert table["ps_id"].tolist() == ["00123"]
    assert one(compute(table, rules, "P1"))["amount_eur"] == eur("1500.00")


def test_fichier_parquet_numerote_les_lignes_de_donnees_a_partir_de_1(tmp_path):
    path = tmp_path / "effectifs.parquet"
    counts(("a", 800, 100, 50, 10), ("b", 800, 100, 50, 60)).to_parquet(path)
    with pytest.raises(InputErrors) as info:
        read_counts(path)
    message = str(info.value)
    assert str(path) in message and "ligne 2" in message and "« dmp_vsm_structured »" in message


def test_counts_csv_from_a_french_spreadsheet_semicolons_and_bom(tmp_path):
    """A CSV saved by a French spreadsheet (UTF-8 with BOM, « ; » separator) reads the same."""
    from vsm.forfait import compute
    from vsm.ingest.inputs import read_counts
    from vsm.rules import load_rules

    path = tmp_path / "effectifs.csv"
    path.write_bytes(
        "\ufeffps_id;patients_mt;patients_mt_ald;dmp_vsm;dmp_vsm_structured\r\n"
        "0012;1000;100;50;30\r\n".encode("utf-8")
    )
    counts = read_counts(path)
    assert list(counts["ps_id"]) == ["0012"]
    results = compute(counts, load_rules("medecins-2024"), "P1")
    assert str(results["amount_eur"].iloc[0]) == "2250.00"  # (1 500 + 300) × 1 000 / 800
