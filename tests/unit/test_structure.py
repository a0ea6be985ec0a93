"""Forfait structure 2023 (vsm.structure): the seed's totals, volet 1 as a gate, téléservices,
input validation, rule-set validation, sources verbatim, CLI, synthetic data and its calibration."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from conftest import REPO_DIR, SHARED_DIR, files_in, norm, squash, synth_scale, write_yaml
from vsm.cli import cli
from vsm.errors import VsmError
from vsm.errors import InputErrors
from vsm.rules import list_rules
from vsm.structure import (
    compute_structure,
    default_structure_rules,
    describe_structure_rules,
    explain_structure,
    input_columns,
    list_structure_rules,
    load_structure_rules,
    regional_summary,
    synth_indicators,
    synth_medecins,
    synthesize_structure,
    validate_structure_input,
)

RULES_FILE = REPO_DIR / "params" / "rules" / "structure" / "forfait-structure-2023.yml"
SCHEMA_FILE = REPO_DIR / "params" / "schemas" / "forfait_structure.schema.json"
V2_YES_NO = ("v2_codage", "v2_coordination", "v2_service_patients", "v2_maitre_stage",
             "v2_videotransmission", "v2_equipements_connectes", "v2_sas")


@pytest.fixture(scope="module")
def rules():
    return load_structure_rules("forfait-structure-2023")


def row(**overrides) -> dict:
    """A professional meeting volet 1 and nothing in volet 2, changed by ``overrides``."""
    base = {
        "ps_id": "P",
        "v1_logiciel_segur": "oui",
        "v1_taux_teletransmission": "0.9",
        "v1_horaires_annuaire": "oui",
        "v2_taux_aat": "0",
        "v2_taux_at_mp": "0",
        "v2_taux_pse": "0",
        "v2_taux_spe": "0",
        "v2_taux_dmp": "0",
        "v2_taux_mss": "0",
        "v2_taux_ordonnances_numeriques": "0",
        "v2_fse_apcv": "0",
        **{c: "non" for c in V2_YES_NO},
    }
    base.update(overrides)
    return base


ALL_MET = dict(
    v2_taux_aat="0.7", v2_taux_at_mp="0.45", v2_taux_pse="0.8", v2_taux_spe="0.9", v2_taux_dmp="0.1",
    v2_taux_mss="0.05", v2_taux_ordonnances_numeriques="0.3", v2_fse_apcv="1", **{c: "oui" for c in V2_YES_NO},
)


def compute_rows(rules, *rows) -> pd.DataFrame:
    return compute_structure(pd.DataFrame(list(rows)), rules)


def one(rules, **overrides) -> pd.Series:
    return compute_rows(rules, row(**overrides)).iloc[0]


def explained(rules, **overrides) -> str:
    results = compute_rows(rules, row(**overrides))
    return norm(explain_structure(results, rules, "P"))


# --------------------------------------------------------------------------- the seed's totals


def test_point_value_and_volet_points(rules):
    assert rules.point_value.value == Decimal("7.00")
    assert rules.volet1.points.value == 280
    assert sum(ind.points.value for ind in rules.volet2.indicators) == 883
    assert rules.max_points == 1163


def test_volet1_alone_is_280_points_1960_eur(rules):
    r = one(rules)
    assert bool(r["volet1_met"])
    assert r["volet1_points"] == 280 and r["volet1_eur"] == Decimal("1960.00")
    # nothing else met but the neutralised DCMT téléservice: 1 of 5 → 30 points
    assert r["volet2_points"] == 30 and r["amount_eur"] == Decimal("2170.00")


def test_everything_met_is_1163_points_8141_eur(rules):
    r = one(rules, **ALL_MET)
    assert r["volet2_points"] == 883 and r["volet2_eur"] == Decimal("6181.00")
    assert r["total_points"] == 1163 and r["amount_eur"] == Decimal("8141.00")


def test_volet2_points_per_indicator_as_in_the_seed(rules):
    points = {ind.id: ind.points.value for ind in rules.volet2.indicators}
    assert points == {
        "teleservices": 150, "dmp": 48, "mss": 40, "ordonnances_numeriques": 40, "apcv": 40, "codage": 50,
        "coordination": 120, "service_patients": 70, "maitre_stage": 50, "videotransmission": 50,
        "equipements_connectes": 25, "sas": 200,
    }
    for ind in rules.volet2.indicators:
        assert ind.points.value * rules.point_value.value == ind.points.stated_eur


def test_each_volet2_indicator_alone_pays_its_points(rules):
    cases = {
        "dmp": dict(v2_taux_dmp="0.1"), "mss": dict(v2_taux_mss="0.05"),
        "ordonnances_numeriques": dict(v2_taux_ordonnances_numeriques="0.3"), "apcv": dict(v2_fse_apcv="1"),
        **{c[3:]: {c: "oui"} for c in V2_YES_NO},
    }
    points = {ind.id: ind.points.value for ind in rules.volet2.indicators}
    for ind_id, overrides in cases.items():
        r = one(rules, **overrides)
        # téléservices: the neutralised DCMT always counts (1 of 5 → 30 points)
        assert r["volet2_points"] == points[ind_id] + 30, ind_id
        assert r["amount_eur"] == Decimal(280 + points[ind_id] + 30) * 7, ind_id


# --------------------------------------------------------------------------- volet 1 gate


def test_volet1_unmet_pays_nothing_not_even_volet2(rules):
    r = one(rules, v1_taux_teletransmission="0.61", **ALL_MET)
    assert not r["volet1_met"] and not r["v1_teletransmission_met"]
    assert r["volet2_points_reached"] == 883
    assert r["volet1_points"] == r["volet2_points"] == r["total_points"] == 0
    assert r["amount_eur"] == Decimal("0.00")


def test_volet1_unmet_explanation_names_the_indicator(rules):
    text = explained(rules, v1_taux_teletransmission="0.61")
    assert "Volet 1 non atteint : indicateur 4, taux de télétransmission des feuilles de soins 61,0 % < 2/3" in text
    assert "aucun versement (volet 2 compris)" in text
    assert "présentation CGSS Martinique (07/2024)" in text
    assert "0,00 €" in text.splitlines()[-1]


def test_volet1_declared_indicator_missing_is_named(rules):
    text = explained(rules, v1_logiciel_segur="non", v1_horaires_annuaire="non")
    assert "indicateurs 1 et 2, logiciel référencé Ségur" in text
    assert "indicateur 5, horaires d'ouverture du cabinet" in text
    assert one(rules, v1_logiciel_segur="non")["amount_eur"] == Decimal("0.00")
    assert one(rules, v1_horaires_annuaire="non")["amount_eur"] == Decimal("0.00")


def test_indicator_3_is_neutralised_and_counts_as_met(rules):
    ind3 = next(i for i in rules.volet1.indicators if i.number == "3")
    assert ind3.kind == "neutralised" and ind3.column is None
    assert "Neutralisé pour 2023" in ind3.source.quote
    assert "v1_sesam_vitale" not in [c.name for c in input_columns(rules)]
    r = one(rules)
    assert bool(r["v1_sesam_vitale_met"]) and bool(r["volet1_met"])
    assert "indicateur 3 : version à jour du cahier des charges SESAM-Vitale : neutralisé, compté comme atteint" in explained(rules)


def test_teletransmission_threshold_is_exact_two_thirds(rules):
    assert one(rules, v1_taux_teletransmission="0.6667")["volet1_met"]
    assert not one(rules, v1_taux_teletransmission="0.6666")["volet1_met"]
    assert one(rules, v1_taux_teletransmission="0.666666666666667")["volet1_met"]
    assert not one(rules, v1_taux_teletransmission="0.666666666666666")["volet1_met"]
    assert one(rules, v1_taux_teletransmission="1")["volet1_met"]


def test_parquet_floats_are_their_decimal_text(rules, tmp_path):
    frame = pd.DataFrame([row(v1_taux_teletransmission="0.9")])
    frame["v1_taux_teletransmission"] = [0.6667]
    frame["v2_taux_dmp"] = [0.1]
    r = compute_structure(frame, rules).iloc[0]
    assert r["volet1_met"] and r["v2_dmp_met"]


# --------------------------------------------------------------------------- volet 2 details


def test_teleservices_proportional_to_services_met(rules):
    tele = next(i for i in rules.volet2.indicators if i.id == "teleservices")
    assert tele.scoring.value == "proportional" and tele.scoring.conflict is not None
    assert [s.id for s in tele.services] == ["aat", "at_mp", "pse", "dcmt", "spe"]
    r = one(rules, v2_taux_aat="0.70", v2_taux_pse="0.80")  # + DCMT neutralised = 3 of 5
    assert r["v2_teleservices_services_met"] == 3 and r["v2_teleservices_points"] == 90
    assert not r["v2_teleservices_met"]
    r = one(rules, v2_taux_aat="0.7", v2_taux_at_mp="0.45", v2_taux_pse="0.8", v2_taux_spe="0.9")
    assert r["v2_teleservices_points"] == 150 and r["v2_teleservices_met"]
    text = explained(rules, v2_taux_aat="0.70", v2_taux_pse="0.80")
    assert "3 téléservices sur 5 atteints → 150 × 3/5 = 90 points" in text
    assert "DCMT neutralisé (compté atteint)" in text
    assert "source secondaire" in text


def test_teleservices_all_or_nothing_variant(rules, tmp_path):
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    data["volet2"]["indicators"][0]["scoring"]["value"] = "all_or_nothing"
    variant = load_structure_rules(write_yaml(tmp_path / "tout-ou-rien.yml", data))
    partial = compute_rows(variant, row(v2_taux_aat="0.70", v2_taux_pse="0.80")).iloc[0]
    full = compute_rows(variant, row(v2_taux_aat="0.7", v2_taux_at_mp="0.45", v2_taux_pse="0.8", v2_taux_spe="0.9")).iloc[0]
    assert partial["v2_teleservices_points"] == 0 and full["v2_teleservices_points"] == 150


def test_dmp_points_follow_the_seed_and_record_the_conflict(rules):
    dmp = next(i for i in rules.volet2.indicators if i.id == "dmp")
    assert dmp.points.value == 48
    assert dmp.points.conflict is not None and "40" in dmp.points.conflict.summary
    assert rules.is_secondary(dmp.threshold.source) and not rules.is_secondary(dmp.points.source)
    text = explained(rules, v2_taux_dmp="0.12")
    assert "alimentation du DMP : 12,0 % ≥ 10 % → atteint, 48 points" in text
    assert "48 points (présentation) contre 40 points (source secondaire)" in text


def test_secondary_thresholds_are_marked_secondary(rules):
    for volet, ind in rules.indicators():
        for crit in [ind, *(ind.services or [])]:
            if crit.threshold is not None and volet == 2:
                assert crit.threshold.source.seed == "domain-facts.md"
                assert rules.is_secondary(crit.threshold.source)
    assert rules.secondary_documents == ["domain-facts.md"]


def test_empty_volet2_rate_means_no_data_not_met(rules):
    r = one(rules, v2_taux_at_mp="", v2_taux_dmp="")
    assert not r["v2_teleservices_at_mp_met"] and not r["v2_dmp_met"]
    assert "aucune donnée" in explained(rules, v2_taux_dmp="")


def test_volet1_met_explanation_shows_the_sum(rules):
    text = explained(rules, v2_taux_dmp="0.2", v2_sas="oui")
    assert "Volet 1 atteint : tous ses indicateurs sont atteints → 280 points × 7,00 € = 1 960,00 €" in text
    assert "Volet 2 : 278 points × 7,00 € = 1 946,00 €" in text
    assert "Montant : 280 + 278 = 558 points × 7,00 € = 3 906,00 €" in text


def test_explain_unknown_professional(rules):
    results = compute_rows(rules, row())
    with pytest.raises(VsmError, match="absent des données"):
        explain_structure(results, rules, "ZZZ")


# --------------------------------------------------------------------------- input validation


def validation_error(rules, *rows, source="indicateurs.csv", kind="csv") -> str:
    with pytest.raises(InputErrors) as exc:
        validate_structure_input(pd.DataFrame(list(rows)), rules, source=source, kind=kind)
    return norm(str(exc.value))


@pytest.mark.parametrize(
    "column, value, fragment",
    [
        ("v1_logiciel_segur", "peut-être", "« peut-être » n'est pas une réponse oui/non"),
        ("v2_sas", "", "colonne « v2_sas » : vide"),
        ("v1_taux_teletransmission", "72 %", "pas de pourcentage"),
        ("v1_taux_teletransmission", "72", "« 72 » dépasse 1"),
        ("v2_taux_dmp", "-0.1", "est négatif"),
        ("v2_taux_mss", "abc", "« abc » n'est pas un nombre"),
        ("v1_taux_teletransmission", "", "colonne « v1_taux_teletransmission » : vide"),
        ("v2_taux_aat", "0.1234567890123456", "au plus 15 chiffres significatifs"),
        ("v2_fse_apcv", "-2", "est négatif"),
        ("v2_fse_apcv", "beaucoup", "n'est pas un entier"),
        ("region", "4", "les codes s'écrivent sur deux caractères : « 04 »"),
        ("region", "99", "« 99 » n'est pas un code de région"),
        ("ps_id", " ", "identifiant vide"),
    ],
)
def test_each_bad_cell_is_named_with_file_row_and_column(rules, column, value, fragment):
    good = row(ps_id="A", region="11")
    bad = row(**{"ps_id": "B", "region": "11", column: value})
    message = validation_error(rules, good, bad)
    assert "Fichier « indicateurs.csv »" in message
    assert "ligne 3" in message  # header is line 1, the bad row line 3
    col = "ps_id" if column == "ps_id" else column
    assert f"colonne « {col} »" in message
    assert fragment in message


def test_duplicate_ps_id(rules):
    message = validation_error(rules, row(ps_id="A"), row(ps_id="A"))
    assert "« A » apparaît plusieurs fois (ligne 2, ligne 3)" in message


def test_missing_column(rules):
    frame = pd.DataFrame([row()]).drop(columns=["v2_sas", "v1_horaires_annuaire"])
    with pytest.raises(VsmError) as exc:
        validate_structure_input(frame, rules, source="f.csv", kind="csv")
    assert "colonnes manquantes : « v1_horaires_annuaire », « v2_sas »" in str(exc.value)


def test_yes_no_spellings_are_accepted(rules):
    rows = [row(ps_id=f"P{i}", v1_logiciel_segur=yes, v1_horaires_annuaire=yes) for i, yes in enumerate(("oui", "OUI", "true", "True", "1"))]
    rows += [row(ps_id=f"N{i}", v1_logiciel_segur=no) for i, no in enumerate(("non", "Non", "false", "FALSE", "0"))]
    results = compute_rows(rules, *rows)
    assert results["volet1_met"].tolist() == [True] * 5 + [False] * 5


def test_comma_decimal_is_accepted(rules):
    assert one(rules, v1_taux_teletransmission="0,6667")["volet1_met"]


def test_parquet_rows_are_numbered_from_one(rules, tmp_path):
    path = tmp_path / "indicateurs.parquet"
    pd.DataFrame([row(ps_id="A"), row(ps_id="B", v2_sas="peut-être")]).to_parquet(path)
    from vsm.structure import read_structure_input

    with pytest.raises(InputErrors) as exc:
        read_structure_input(path, rules)
    assert "ligne 2, colonne « v2_sas »" in str(exc.value)


def test_schema_declares_the_rule_set_columns(rules):
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    fields = {f["name"]: f for f in schema["fields"]}
    assert list(fields) == ["ps_id", "region", *(c.name for c in input_columns(rules))]
    kinds = {"yesno": "boolean", "rate": "number", "count": "integer"}
    for col in input_columns(rules):
        field = fields[col.name]
        assert field["type"] == kinds[col.kind], col.name
        assert field["constraints"]["required"] is (not col.empty_allowed), col.name
        if col.kind == "rate":
            assert field["constraints"]["minimum"] == 0 and field["constraints"]["maximum"] == 1
    assert fields["region"]["x-vsm-optional"] is True
    assert schema["primaryKey"] == ["ps_id"]


# --------------------------------------------------------------------------- rule set validation


def rules_yaml() -> dict:
    return copy.deepcopy(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")))


def invalid(tmp_path, mutate) -> str:
    data = rules_yaml()
    mutate(data)
    path = write_yaml(tmp_path / "variante.yml", data)
    with pytest.raises(VsmError) as exc:
        load_structure_rules(path)
    return str(exc.value)


def test_shipped_rule_set_loads_and_is_not_a_vsm_rule_set(rules):
    assert [r.id for r in list_structure_rules()] == ["forfait-structure-2023"]
    assert "forfait-structure-2023" not in [r.id for r in list_rules()]
    assert rules.sha256 and rules.path.endswith("forfait-structure-2023.yml")


def test_unknown_key_is_refused(tmp_path):
    message = invalid(tmp_path, lambda d: d["volet1"].update({"bonus": 3}))
    assert "volet1 → bonus : clé inconnue" in message


def test_value_without_source_is_refused(tmp_path):
    message = invalid(tmp_path, lambda d: d["point_value"].pop("source"))
    assert "point_value → source : valeur sans source" in message
    message = invalid(tmp_path, lambda d: d["volet2"]["indicators"][1]["threshold"].pop("source"))
    assert "valeur sans source" in message


def test_points_that_do_not_add_up_are_refused(tmp_path):
    message = invalid(tmp_path, lambda d: d["volet2"]["indicators"][1]["points"].update({"value": 40, "stated_eur": "280.00"}))
    assert "volet 2 (somme des points des indicateurs) : 875 points calculés, la source en annonce 883" in message


def test_stated_euros_must_match_points(tmp_path):
    message = invalid(tmp_path, lambda d: d["point_value"].update({"value": "7.50"}))
    assert "volet 1 : 280 points × 7.50 € = 2100.00 €, la source annonce 1960.00 €" in message


def test_undeclared_document_is_refused(tmp_path):
    message = invalid(tmp_path, lambda d: d["documents"].pop("domain-facts.md"))
    assert "« domain-facts.md »" in message and "documents" in message


def test_rate_without_threshold_is_refused(tmp_path):
    message = invalid(tmp_path, lambda d: d["volet1"]["indicators"][2].pop("threshold"))
    assert "doit donner son seuil (threshold)" in message


def test_proportional_points_must_split_evenly(tmp_path):
    def mutate(d):
        d["volet2"]["indicators"][0]["services"].pop()  # 4 services: 150 / 4 is not whole
    message = invalid(tmp_path, mutate)
    assert "ne se partagent pas en parts entières" in message


def test_threshold_out_of_range_is_refused(tmp_path):
    message = invalid(tmp_path, lambda d: d["volet1"]["indicators"][2]["threshold"].update({"value": "3/2"}))
    assert "hors de l'intervalle [0, 1]" in message


def test_unknown_rule_set_id():
    with pytest.raises(VsmError, match="Jeux disponibles : forfait-structure-2023"):
        load_structure_rules("inconnu")
    with pytest.raises(VsmError, match="forfait VSM"):
        load_structure_rules("medecins-2024")


# --------------------------------------------------------------------------- sources verbatim


def _structure_sources():
    for rs in list_structure_rules():
        for i, source in enumerate(rs.all_sources()):
            yield pytest.param(source.seed, source.quote, id=f"{rs.id}-{i}-{source.seed[:3]}")


SOURCES = list(_structure_sources())


def test_every_value_has_sources():
    assert len(SOURCES) >= 40


@pytest.mark.skipif(not SHARED_DIR.is_dir(), reason=f"documents sources absents : {SHARED_DIR}")
@pytest.mark.parametrize("seed, quote", SOURCES)
def test_quote_is_verbatim_in_its_document(seed, quote):
    from test_rules_sources import document_text, normalise

    assert normalise(quote) in document_text(seed), f"citation absente de {seed} : « {quote} »"


@pytest.mark.skipif(not SHARED_DIR.is_dir(), reason=f"documents sources absents : {SHARED_DIR}")
def test_declared_documents_exist(rules):
    from test_rules_sources import document_path

    for seed in rules.documents:
        assert document_path(seed).is_file(), seed


def test_describe_shows_every_quote(rules):
    text = squash(describe_structure_rules(rules))
    for source in rules.all_sources():
        assert squash(source.quote) in text, source.quote
    assert "source secondaire" in text and "divergence des sources" in text


# --------------------------------------------------------------------------- CLI


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def input_csv(tmp_path) -> Path:
    path = tmp_path / "indicateurs.csv"
    pd.DataFrame([
        row(ps_id="A", region="02", v1_taux_teletransmission="0.61", **ALL_MET),
        row(ps_id="B", region="02", **ALL_MET),
        row(ps_id="C", region="11", v2_taux_dmp="0.2"),
    ]).to_csv(path, index=False)
    return path


def test_cli_compute_csv_and_parquet(input_csv, tmp_path):
    out = tmp_path / "sortie" / "resultats.csv"
    result = invoke("structure", "compute", "--rules", "forfait-structure-2023", "--input", input_csv, "--out", out)
    assert result.exit_code == 0, result.output
    stdout = norm(result.stdout)
    assert "3 professionnels, 2 atteignent le volet 1, 1 ne l'atteignent pas" in stdout
    assert "Montant total : 10 647,00 € pour 2 professionnels" in stdout  # 8 141 + (280 + 30 + 48) × 7
    written = pd.read_csv(out, dtype={"ps_id": str, "region": str})
    assert written.set_index("ps_id")["amount_eur"].to_dict() == {"A": 0.0, "B": 8141.0, "C": 2506.0}
    out_pq = tmp_path / "resultats.parquet"
    assert invoke("structure", "compute", "--input", input_csv, "--out", out_pq).exit_code == 0
    back = pd.read_parquet(out_pq)
    assert back["amount_eur"].tolist() == [Decimal("0.00"), Decimal("8141.00"), Decimal("2506.00")]


def test_cli_explain(input_csv):
    result = invoke("structure", "explain", "--rules", "forfait-structure-2023", "--input", input_csv, "--ps-id", "A")
    assert result.exit_code == 0, result.output
    text = norm(result.stdout)
    assert text.startswith("Forfait structure 2023 — professionnel A")
    assert "Volet 1 non atteint : indicateur 4, taux de télétransmission des feuilles de soins 61,0 % < 2/3 → aucun versement (volet 2 compris)" in text
    assert "auraient rapporté 883 points" in text


def test_cli_errors_are_french_and_leave_nothing(tmp_path, input_csv):
    bad = tmp_path / "faux.csv"
    pd.DataFrame([row(ps_id="A"), row(ps_id="B", v1_taux_teletransmission="72 %")]).to_csv(bad, index=False)
    out = tmp_path / "sortie" / "r.csv"
    result = invoke("structure", "compute", "--input", bad, "--out", out)
    assert result.exit_code == 2
    assert result.stderr.startswith("Erreur : ")
    assert "ligne 3, colonne « v1_taux_teletransmission »" in norm(result.stderr)
    assert not out.exists() and files_in(out.parent) == []
    result = invoke("structure", "explain", "--input", input_csv, "--ps-id", "Z")
    assert result.exit_code == 2 and "« Z » absent des données" in result.stderr
    result = invoke("structure", "compute", "--rules", "medecins-2024", "--input", input_csv, "--out", out)
    assert result.exit_code == 2 and "forfait VSM" in result.stderr
    result = invoke("structure", "compute", "--input", input_csv, "--out", tmp_path / "r.txt")
    assert result.exit_code == 2 and ".csv ou .parquet" in result.stderr


def test_cli_show(rules):
    result = invoke("structure", "show")
    assert result.exit_code == 0, result.output
    assert "Volet 1 — prérequis" in result.stdout and "7,00" in norm(result.stdout)


# --------------------------------------------------------------------------- synthetic data


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, rules):
    out = tmp_path_factory.mktemp("structure_demo") / "indicateurs.parquet"
    summary = synthesize_structure(out, scale="demo", seed=2024, rules=rules)
    return out, summary


def test_synth_is_deterministic(demo, tmp_path, rules):
    out, _ = demo
    again = tmp_path / "again.parquet"
    synthesize_structure(again, scale="demo", seed=2024, rules=rules)
    assert _sha(again) == _sha(out)
    other = tmp_path / "other.parquet"
    synthesize_structure(other, scale="demo", seed=2025, rules=rules)
    assert _sha(other) != _sha(out)
    csv_a, csv_b = tmp_path / "a.csv", tmp_path / "b.csv"
    synthesize_structure(csv_a, scale="demo", seed=7, rules=rules)
    synthesize_structure(csv_b, scale="demo", seed=7, rules=rules)
    assert _sha(csv_a) == _sha(csv_b)


def test_synth_file_is_a_valid_input(demo, rules, tmp_path):
    out, summary = demo
    from vsm.structure import read_structure_input

    table = read_structure_input(out, rules)
    medecins = synth_scale("demo")["medecins"]  # the médecins of « vsm synth --scale demo » (params/synth.yml)
    assert len(table) == summary["medecins"] == medecins
    assert table["ps_id"].is_unique
    csv = tmp_path / "demo.csv"
    synthesize_structure(csv, scale="demo", seed=2024, rules=rules)
    assert len(read_structure_input(csv, rules)) == medecins


def test_synth_calibration_demo(demo, rules):
    out, summary = demo
    results = compute_structure(pd.read_parquet(out), rules)
    n = len(results)
    paid = results[results["total_points"] > 0]
    mean_all = sum(results["amount_eur"], Decimal(0)) / n
    mean_paid = sum(paid["amount_eur"], Decimal(0)) / len(paid)
    assert Decimal(3800) <= mean_all <= Decimal(4600), mean_all
    assert Decimal(3800) <= mean_paid <= Decimal(4600), mean_paid
    failed = int((~results["volet1_met"]).sum())
    assert 0.02 * n <= failed <= 0.10 * n
    assert summary["volet1_failed"] == failed
    # every indicator is met by some and missed by others (neutralised ones excepted)
    for volet, ind in rules.indicators():
        for crit in [ind, *(ind.services or [])]:
            if crit.kind == "neutralised":
                continue
            col = f"v{volet}_{ind.id}_met" if crit is ind else f"v{volet}_{ind.id}_{crit.id}_met"
            assert 0 < results[col].sum() < n, col


def test_synth_calibration_national(rules):
    medecins = synth_medecins("national", 2024)
    assert 50_000 <= len(medecins) <= 54_000
    results = compute_structure(synth_indicators(medecins, 2024, rules), rules)
    mean_paid = sum(results["amount_eur"], Decimal(0)) / int((results["total_points"] > 0).sum())
    mean_all = sum(results["amount_eur"], Decimal(0)) / len(results)
    assert Decimal(3800) <= mean_all <= Decimal(4600)
    assert Decimal(4000) <= mean_paid <= Decimal(4450)


def test_synth_uses_the_vsm_patientele_medecins(tmp_path, rules):
    from vsm.synth import synthesize

    synthesize(tmp_path / "extrait", scale="tiny", seed=11)
    patientele = pd.read_parquet(tmp_path / "extrait" / "patientele.parquet")
    expected = patientele[patientele["ps_kind"] == "medecin"].drop_duplicates("ps_id")[["ps_id", "region"]]
    rebuilt = synth_medecins("tiny", 11)
    assert rebuilt["ps_id"].tolist() == expected["ps_id"].tolist()
    assert rebuilt["region"].tolist() == expected["region"].tolist()
    from_file = tmp_path / "from_file.parquet"
    rebuilt_file = tmp_path / "rebuilt.parquet"
    synthesize_structure(from_file, patientele_path=tmp_path / "extrait" / "patientele.parquet", seed=11, rules=rules)
    synthesize_structure(rebuilt_file, scale="tiny", seed=11, rules=rules)
    assert _sha(from_file) == _sha(rebuilt_file)


def test_cli_synth(tmp_path):
    out = tmp_path / "ind.csv"
    result = invoke("structure", "synth", "--scale", "demo", "--seed", "3", "--out", out)
    assert result.exit_code == 0, result.output
    medecins = synth_scale("demo")["medecins"]  # params/synth.yml
    assert medecins >= 1000  # the count is written in French, with a thousands separator: « 8 000 »
    assert f"Indicateurs de {medecins:,} médecins".replace(",", " ") in norm(result.stdout)
    assert "paiement moyen" in result.stdout
    assert out.is_file()


# --------------------------------------------------------------------------- regional summary


def test_regional_summary(demo, rules):
    out, _ = demo
    results = compute_structure(pd.read_parquet(out), rules)
    everything = regional_summary(results, rules=rules)
    assert everything["professionals"] == len(results)
    assert everything["total_eur"] == sum(results["amount_eur"], Decimal("0.00"))
    assert everything["points_distribution"]["professionals"].sum() == len(results)
    assert everything["points_distribution"]["professionals"].iloc[0] == everything["professionals"] - everything["volet1_met"]
    indicators = everything["indicators"].set_index("id")
    assert indicators.loc["sesam_vitale", "share"] == 1.0
    assert indicators.loc["dmp", "points"] == 48
    assert 0 < indicators.loc["teleservices.aat", "share"] < 1

    by_region = [regional_summary(results, region=code, rules=rules) for code in sorted(results["region"].unique())]
    assert sum(s["professionals"] for s in by_region) == len(results)
    assert sum((s["total_eur"] for s in by_region), Decimal("0.00")) == everything["total_eur"]
    idf = regional_summary(results, region="11", rules=rules)
    assert idf["region"] == "11" and idf["professionals"] == int((results["region"] == "11").sum())
    with pytest.raises(VsmError):
        regional_summary(results, region="99", rules=rules)


def test_regional_summary_without_region_column(rules):
    results = compute_rows(rules, row())
    assert regional_summary(results, rules=rules)["mean_eur"] == Decimal("2170.00")
    with pytest.raises(VsmError, match="region"):
        regional_summary(results, region="11", rules=rules)


def test_regional_summary_of_results_read_back_from_csv(demo, rules, tmp_path):
    from vsm.store import read_results, write_table

    out, _ = demo
    results = compute_structure(pd.read_parquet(out), rules)
    path = write_table(results, tmp_path / "resultats.csv")
    for back in (read_results(path), pd.read_csv(path, dtype={"ps_id": str, "region": str})):
        summary = regional_summary(back, region="11", rules=rules)
        assert summary["total_eur"] == regional_summary(results, region="11", rules=rules)["total_eur"]


def test_rates_with_many_digits_stay_exact(rules):
    results = compute_rows(
        rules,
        row(ps_id="A", v1_taux_teletransmission="0.666666666666667", v2_taux_dmp="0.100000000000001"),
        row(ps_id="B", v1_taux_teletransmission="0.666666666666666", v2_taux_dmp="0.099999999999999"),
    )
    assert results["volet1_met"].dtype == bool
    assert results["volet1_met"].tolist() == [True, False]
    assert results["v2_dmp_met"].tolist() == [True, False]


# --------------------------------------------------------------------------- the default rule set (params/structure.yml)

STRUCTURE_CODE = [REPO_DIR / "vsm" / "cli" / "structure.py", *sorted((REPO_DIR / "vsm" / "structure").glob("*.py"))]


@pytest.fixture
def params_with_variant(tmp_path, monkeypatch):
    """A params/ folder (VSM_PARAMS) with a second structure rule set, a copy of the shipped one
    under another id, named as the default by params/structure.yml."""
    params = tmp_path / "params"
    shutil.copytree(REPO_DIR / "params", params)
    data = rules_yaml()
    data["id"] = "variante-2099"
    write_yaml(params / "rules" / "structure" / "variante-2099.yml", data)
    (params / "structure.yml").write_text("rules: variante-2099\n", encoding="utf-8")
    monkeypatch.setenv("VSM_PARAMS", str(params))
    return params


def test_default_rule_set_is_the_one_params_names():
    assert default_structure_rules() == yaml.safe_load((REPO_DIR / "params" / "structure.yml").read_text())["rules"]
    assert load_structure_rules().id == default_structure_rules()


def test_changing_params_changes_the_default_everywhere(params_with_variant, input_csv, tmp_path):
    assert default_structure_rules() == "variante-2099"
    assert load_structure_rules().id == "variante-2099"
    results = compute_structure(pd.read_csv(input_csv, dtype=str), load_structure_rules())
    assert regional_summary(results)["rules"] == "variante-2099"  # no rule set given: the default
    assert invoke("structure", "show").stdout.startswith("Jeu de règles variante-2099 — ")
    result = invoke("structure", "compute", "--input", input_csv, "--out", tmp_path / "r.csv")
    assert result.exit_code == 0, result.output
    assert "(variante-2099)" in result.stdout
    result = invoke("structure", "explain", "--input", input_csv, "--ps-id", "A")
    assert result.exit_code == 0 and "jeu de règles variante-2099" in result.stdout
    for command in ("compute", "explain", "show", "synth"):
        result = invoke("structure", command, "--help")
        assert result.exit_code == 0 and "[défaut : variante-2099]" in squash(result.stdout), (command, result.output)
    result = invoke("structure", "show", "--rules", "forfait-structure-2023")  # named: the default does not matter
    assert result.stdout.startswith("Jeu de règles forfait-structure-2023 — ")


@pytest.mark.parametrize("content", [None, "", "rules:\n", "rules: 3\n", "autre: x\n", "rules: [a, b]\n", "rules: inconnu\n"])
def test_a_missing_or_bad_default_is_a_french_error_for_every_command(params_with_variant, input_csv, tmp_path, content):
    defaults = params_with_variant / "structure.yml"
    if content is None:
        defaults.unlink()
    else:
        defaults.write_text(content, encoding="utf-8")
    with pytest.raises(VsmError) as exc:
        load_structure_rules()
    assert "structure.yml" in str(exc.value) or "inconnu" in str(exc.value)
    out = tmp_path / "sortie" / "r.csv"
    for args in (("compute", "--input", input_csv, "--out", out), ("explain", "--input", input_csv, "--ps-id", "A"),
                 ("show",), ("synth", "--patientele", input_csv, "--out", out)):
        result = invoke("structure", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("Erreur : ") and "Traceback" not in result.output, (args, result.output)
        assert not out.exists()
    # naming the rule set still works
    assert invoke("structure", "show", "--rules", "variante-2099").exit_code == 0


def test_help_shows_the_default_without_loading_the_computation():
    code = (
        "import sys\n"
        "from vsm.cli import cli\n"
        "cli(['structure', 'compute', '--help'], standalone_mode=False)\n"
        "print(sorted(m for m in ('pandas', 'pydantic', 'vsm.structure.rules', 'vsm.synth') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert f"[défaut : {default_structure_rules()}]" in squash(done.stdout)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_no_structure_rule_set_id_is_written_in_the_code():
    ids = [path.stem for path in (REPO_DIR / "params" / "rules" / "structure").glob("*.yml")]
    assert ids
    for path in STRUCTURE_CODE:
        text = path.read_text(encoding="utf-8")
        assert not [i for i in ids if i in text], path
