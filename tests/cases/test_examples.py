"""The methodology note's worked examples (002, § 3, « Exemples de calculs ») as a back-test."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from fractions import Fraction

import pytest

from conftest import write_yaml
from vsm.examples import check_examples, load_examples
from vsm.rules import load_rules

COMPUTED = ["0.00", "0.00", "1500.00", "2250.00", "2250.00", "3750.00", "4500.00"]
STATED = ["0.00", "0.00", "1500.00", "1440.00", "1440.00", "3750.00", "4500.00"]


@pytest.fixture(scope="module")
def checked():
    return check_examples()


def test_seven_rows(checked):
    assert len(checked) == 7
    assert list(checked["label"].str.slice(0, 9)) == ["Médecin 1", "Médecin 2", "Médecin 3", "Médecin 4",
                                                      "Médecin 5", "Médecin 6", "Médecin 6"]


def test_computed_amounts(checked):
    assert list(checked["computed_amount_eur"]) == [Decimal(a) for a in COMPUTED]
    assert list(checked["expected_amount_eur"]) == [Decimal(a) for a in COMPUTED]


def test_stated_amounts_are_the_note_s(checked):
    assert list(checked["stated_amount_eur"]) == [Decimal(a) for a in STATED]


def test_rows_4_and_5_are_errata_of_the_note(checked):
    for i in (3, 4):
        row = checked.iloc[i]
        assert row["verdict"] == "erratum de la note"
        assert row["stated_amount_eur"] == Decimal("1440.00")
        assert row["computed_amount_eur"] == Decimal("2250.00")
        assert "1 440" in row["erratum"]
        assert "2 250" in row["erratum"]


def test_other_rows_conform(checked):
    assert [checked.iloc[i]["verdict"] for i in (0, 1, 2, 5, 6)] == ["conforme"] * 5


def test_no_gap(checked):
    assert "ÉCART" not in set(checked["verdict"])


def test_the_two_medecin_6_rows_have_distinct_ids(checked):
    six = checked[checked["label"].str.startswith("Médecin 6")]
    assert len(six) == 2
    assert six["id"].nunique() == 2
    assert six["label"].nunique() == 2
    assert checked["id"].is_unique


def test_example_counts_realise_the_note_s_shares():
    examples = load_examples()
    assert examples.rules.id == "medecins-2024"
    assert examples.period == "P1"
    for row in examples.cases.itertuples():
        assert Fraction(row.dmp_vsm, row.patients_mt_ald) == row.stated_vsm_share, row.id
        assert Fraction(row.dmp_vsm_structured, row.dmp_vsm) == row.stated_structured_share, row.id
        assert row.patients_mt == row.stated_patients_mt, row.id
    assert list(examples.counts().columns) == ["ps_id", "patients_mt", "patients_mt_ald", "dmp_vsm",
                                               "dmp_vsm_structured"]


def test_the_check_can_fail_with_another_reference_patientele(tmp_path):
    path = write_yaml(
        tmp_path / "variante-1000.yml",
        {
            "id": "variante-1000",
            "base": "medecins-2024",
            "label": "Variante : patientèle de référence 1 000",
            "ponderation": {
                "reference_patients": {
                    "value": 1000,
                    "source": {
                        "seed": "002_ba23acbf965b9b3d.txt",
                        "passage": "variante de test",
                        "quote": "soit 800 patients",
                    },
                }
            },
        },
    )
    examples = dataclasses.replace(load_examples(), rules=load_rules(path))
    checked = check_examples(examples)
    verdicts = list(checked["verdict"])
    # rows with a forfait now differ from the rule's expected amount; rows at 0 € still agree
    assert verdicts == ["conforme", "conforme", "ÉCART", "ÉCART", "ÉCART", "ÉCART", "ÉCART"]
    assert checked.iloc[3]["computed_amount_eur"] == Decimal("1800.00")


def test_the_check_can_fail_when_counts_do_not_realise_the_shares():
    examples = load_examples()
    cases = examples.cases.copy()
    cases.loc[2, "dmp_vsm"] = 51  # 51 % instead of the note's 50 %: same amount, but not the note's case
    checked = check_examples(dataclasses.replace(examples, cases=cases))
    assert checked.iloc[2]["computed_amount_eur"] == Decimal("1500.00")
    assert checked.iloc[2]["verdict"] == "ÉCART"
