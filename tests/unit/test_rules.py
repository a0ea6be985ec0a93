"""Rule sets: loading, sources for every value, validation errors, inheritance, conflicts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from pydantic import BaseModel

from conftest import RULES_DIR, counts, one, rules_yaml, write_yaml
from vsm.errors import VsmError
from vsm.forfait import compute
from vsm.rules import RuleSet, Source, list_rules, load_rules

SHIPPED = ["medecins-2024", "medecins-2023", "centres-sante-2024"]


# --------------------------------------------------------------------------- loading


def test_load_by_id():
    rules = load_rules("medecins-2024")
    assert isinstance(rules, RuleSet)
    assert rules.id == "medecins-2024"
    assert rules.population == "medecin"
    assert [level.min_share for level in rules.tiers.levels] == [Fraction(1, 2), Fraction(9, 10)]
    assert [level.amount_eur for level in rules.tiers.levels] == [Decimal("1500.00"), Decimal("3000.00")]
    assert rules.majoration.min_structured_share.value == Fraction(1, 3)
    assert rules.majoration.min_structured_share.comparison == ">="
    assert rules.majoration.rate.value == Fraction(1, 5)
    assert rules.ponderation.reference_patients.value == 800
    assert rules.ponderation.cap.value is None
    assert rules.eligibility.min_patients_mt_ald.value == 1
    assert rules.periods["P1"].start == dt.date(2022, 1, 1)
    assert rules.periods["P1"].end == dt.date(2023, 12, 31)
    assert rules.periods["P2"].start == dt.date(2022, 1, 1)
    assert rules.periods["P2"].end == dt.date(2024, 6, 30)
    assert rules.periods["P2"].complement_of == "P1"
    assert rules.sha256 and rules.path


def test_load_by_path_gives_the_same_rules():
    by_id = load_rules("medecins-2024")
    by_path = load_rules(RULES_DIR / "medecins-2024.yml")
    by_str_path = load_rules(str(RULES_DIR / "medecins-2024.yml"))
    for loaded in (by_path, by_str_path):
        assert loaded.id == by_id.id
        assert loaded.tiers == by_id.tiers
        assert loaded.majoration == by_id.majoration
        assert loaded.ponderation == by_id.ponderation
        assert loaded.periods == by_id.periods
        assert loaded.sha256 == by_id.sha256


def test_list_rules_lists_every_shipped_rule_set():
    ids = [rs.id for rs in list_rules()]
    assert sorted(ids) == sorted(SHIPPED)


def test_medecins_2023_single_period_inherits_from_2024():
    rules = load_rules("medecins-2023")
    assert rules.base == "medecins-2024"
    assert list(rules.periods) == ["P1"]
    assert rules.periods["P1"].start == dt.date(2022, 1, 1)
    assert rules.periods["P1"].end == dt.date(2023, 6, 30)
    # inherited, not redefined in the file
    assert rules.indicator == load_rules("medecins-2024").indicator
    assert rules.rounding == load_rules("medecins-2024").rounding


def test_centres_sante_2024_disables_majoration_and_ponderation():
    rules = load_rules("centres-sante-2024")
    assert rules.population == "centre"
    assert rules.majoration.enabled.value is False
    assert rules.ponderation.enabled.value is False
    assert list(rules.periods) == ["P1", "P2"]


# --------------------------------------------------------------------------- every value has a source


def _walk_params(node, path="rules"):
    """(path, node) for every model that carries a value and must carry a source."""
    if isinstance(node, BaseModel):
        fields = type(node).model_fields
        if "value" in fields or "min_share" in fields or "start" in fields:
            yield path, node
        for name in fields:
            yield from _walk_params(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _walk_params(item, f"{path}[{key}]")
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from _walk_params(item, f"{path}[{i}]")


@pytest.mark.parametrize("rule_id", SHIPPED)
def test_every_value_has_a_source(rule_id):
    rules = load_rules(rule_id)
    nodes = list(_walk_params(rules))
    assert len(nodes) >= 15
    for path, node in nodes:
        source = getattr(node, "source", None)
        assert isinstance(source, Source), f"{path} has no source"
        assert source.seed and source.passage and source.quote, f"{path} has an empty source"
        assert source.seed in rules.documents, f"{path}: {source.seed} not declared in documents"
    assert isinstance(rules.tiers.comparison_source, Source)
    for pid, period in rules.periods.items():
        if period.complement_of is not None:
            assert isinstance(period.complement_source, Source), f"period {pid} complement without source"


@pytest.mark.parametrize("rule_id", SHIPPED)
def test_every_raw_yaml_value_node_has_a_source(rule_id):
    """In the file itself: every mapping with a `value` also has a `source` (before inheritance)."""

    def walk(node, path):
        if isinstance(node, dict):
            if "value" in node:
                assert "source" in node, f"{rule_id}: {path} has a value without source"
            if "min_share" in node or "amount_eur" in node or "start" in node:
                assert "source" in node, f"{rule_id}: {path} has no source"
            for key, item in node.items():
                walk(item, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{path}[{i}]")

    walk(rules_yaml(rule_id), rule_id)


# --------------------------------------------------------------------------- validation errors


def _load_error(path) -> str:
    with pytest.raises(VsmError) as info:
        load_rules(path)
    return str(info.value)


def test_unknown_key_is_rejected(variant):
    path = variant(lambda d: d["majoration"]["min_structured_share"].__setitem__("seuil", "1/3"))
    message = _load_error(path)
    assert "seuil" in message
    assert "clé inconnue" in message
    assert str(path) in message


def test_unknown_top_level_key_is_rejected(variant):
    message = _load_error(variant(lambda d: d.__setitem__("plafond_global", 10)))
    assert "plafond_global" in message and "clé inconnue" in message


def test_value_without_source_is_rejected(variant):
    message = _load_error(variant(lambda d: d["ponderation"]["reference_patients"].pop("source")))
    assert "reference_patients" in message
    assert "sans source" in message


def test_tier_without_source_is_rejected(variant):
    message = _load_error(variant(lambda d: d["tiers"]["levels"][0].pop("source")))
    assert "levels" in message and "sans source" in message


def test_period_without_source_is_rejected(variant):
    message = _load_error(variant(lambda d: d["periods"]["P1"].pop("source")))
    assert "P1" in message and "sans source" in message


@pytest.mark.parametrize("bad", ["3/2", "-1/2", "150 %"])
def test_tier_threshold_outside_unit_interval_is_rejected(variant, bad):
    message = _load_error(variant(lambda d: d["tiers"]["levels"][1].__setitem__("min_share", bad)))
    assert "min_share" in message
    assert "[0, 1]" in message


@pytest.mark.parametrize("bad", ["4/3", "-0.1", "101 %"])
def test_majoration_threshold_outside_unit_interval_is_rejected(variant, bad):
    message = _load_error(variant(lambda d: d["majoration"]["min_structured_share"].__setitem__("value", bad)))
    assert "min_structured_share" in message
    assert "[0, 1]" in message


def test_tiers_with_decreasing_thresholds_are_rejected(variant):
    def swap_thresholds(d):
        levels = d["tiers"]["levels"]
        levels[0]["min_share"], levels[1]["min_share"] = levels[1]["min_share"], levels[0]["min_share"]

    message = _load_error(variant(swap_thresholds))
    assert "paliers doivent être croissants" in message


def test_tiers_with_equal_thresholds_are_rejected(variant):
    message = _load_error(variant(lambda d: d["tiers"]["levels"][1].__setitem__("min_share", "1/2")))
    assert "croissants" in message


def test_tiers_with_decreasing_amounts_are_rejected(variant):
    message = _load_error(variant(lambda d: d["tiers"]["levels"][1].__setitem__("amount_eur", "1000.00")))
    assert "montants des paliers doivent être croissants" in message


def test_period_ending_before_it_starts_is_rejected(variant):
    message = _load_error(variant(lambda d: d["periods"]["P1"].__setitem__("end", dt.date(2021, 12, 31))))
    assert "P1" in message
    assert "précède son début" in message


def test_complement_of_unknown_period_is_rejected(variant):
    message = _load_error(variant(lambda d: d["periods"]["P2"].__setitem__("complement_of", "P0")))
    assert "P0" in message
    assert "n'existe pas" in message


def test_seed_not_declared_in_documents_is_rejected(variant):
    message = _load_error(
        variant(lambda d: d["ponderation"]["reference_patients"]["source"].__setitem__("seed", "999_inconnu.txt"))
    )
    assert "999_inconnu.txt" in message
    assert "documents" in message


def test_unknown_rule_id_lists_available_ids():
    with pytest.raises(VsmError) as info:
        load_rules("medecins-2099")
    message = str(info.value)
    assert "medecins-2099" in message
    for rule_id in SHIPPED:
        assert rule_id in message


def test_missing_rule_file_path_is_a_vsm_error(tmp_path):
    message = _load_error(tmp_path / "absent.yml")
    assert "introuvable" in message


def test_yaml_syntax_error_is_a_french_vsm_error(tmp_path):
    path = tmp_path / "casse.yml"
    path.write_text("id: casse\ntiers: [1, 2\nlabel: x\n", encoding="utf-8")
    message = _load_error(path)
    assert "YAML invalide" in message
    assert "ligne" in message
    assert str(path) in message


def test_yaml_that_is_not_a_mapping_is_rejected(tmp_path):
    path = tmp_path / "liste.yml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    assert "dictionnaire" in _load_error(path)


# --------------------------------------------------------------------------- inheritance (base:)

NEW_REFERENCE_SOURCE = {
    "seed": "002_ba23acbf965b9b3d.txt",
    "passage": "§ 3, pondération (variante de test)",
    "quote": "Rapporté au nombre de patients « Médecin traitants » de référence",
}


def test_base_variant_overriding_reference_patients_changes_amounts(tmp_path):
    path = write_yaml(
        tmp_path / "variante-1000.yml",
        {
            "id": "variante-1000",
            "base": "medecins-2024",
            "label": "Variante : patientèle de référence 1 000",
            "ponderation": {"reference_patients": {"value": 1000, "source": NEW_REFERENCE_SOURCE}},
        },
    )
    rules = load_rules(path)
    assert rules.id == "variante-1000"
    assert rules.ponderation.reference_patients.value == 1000
    assert rules.ponderation.reference_patients.source.passage == "§ 3, pondération (variante de test)"
    # untouched siblings still come from the base
    assert rules.ponderation.enabled.value is True
    assert rules.ponderation.cap.value is None
    assert rules.tiers == load_rules("medecins-2024").tiers
    assert len(rules.files) == 2

    table = counts((1000, 100, 50, 30))
    base_amount = one(compute(table, load_rules("medecins-2024"), "P1"))["amount_eur"]
    variant_amount = one(compute(table, rules, "P1"))["amount_eur"]
    assert base_amount == Decimal("2250.00")  # 1 800 × 1 000 / 800
    assert variant_amount == Decimal("1800.00")  # 1 800 × 1 000 / 1 000


def test_base_override_without_source_is_rejected(tmp_path):
    """A redefined value must bring its own source: the base's source is not silently inherited."""
    path = write_yaml(
        tmp_path / "variante-sans-source.yml",
        {
            "id": "variante-sans-source",
            "base": "medecins-2024",
            "label": "Variante sans source",
            "ponderation": {"reference_patients": {"value": 1000}},
        },
    )
    with pytest.raises(VsmError) as info:
        load_rules(path)
    message = str(info.value)
    assert "reference_patients" in message
    assert "sans source" in message


def test_base_can_be_a_relative_path(tmp_path):
    write_yaml(tmp_path / "parent.yml", {**rules_yaml(), "id": "parent"})
    path = write_yaml(
        tmp_path / "enfant.yml", {"id": "enfant", "base": "parent.yml", "label": "Enfant"}
    )
    rules = load_rules(path)
    assert rules.id == "enfant"
    assert rules.ponderation.reference_patients.value == 800


def test_circular_base_is_rejected(tmp_path):
    write_yaml(tmp_path / "a.yml", {"id": "a", "base": "b.yml", "label": "A"})
    write_yaml(tmp_path / "b.yml", {"id": "b", "base": "a.yml", "label": "B"})
    assert "circulaire" in _load_error(tmp_path / "a.yml")


# --------------------------------------------------------------------------- recorded conflict


@pytest.mark.parametrize("rule_id", ["medecins-2024", "medecins-2023"])
def test_structured_threshold_conflict_is_recorded(rule_id):
    threshold = load_rules(rule_id).majoration.min_structured_share
    assert threshold.value == Fraction(1, 3)
    assert threshold.comparison == ">="
    conflict = threshold.conflict
    assert conflict is not None
    assert len(conflict.sources) >= 2
    quotes = [s.quote for s in conflict.sources]
    assert any("plus d'un tiers" in q for q in quotes)
    assert any("au moins 1/3" in q or "strictement moins d'1/3" in q for q in quotes)
    assert conflict.summary and conflict.chosen


# --------------------------------------------------------------------------- the default rule set (params/vsm.yml)


def test_default_rule_set_is_read_from_params(tmp_path, monkeypatch):
    """params/vsm.yml names the default rule set: the CLI's --rules, the notebooks' results
    folder and the note's examples follow it; a missing or empty file is a French error."""
    import shutil

    from click.testing import CliRunner

    from vsm import paths
    from vsm.cli import cli
    from vsm.report.data import results_folder

    assert paths.default_rules() == "medecins-2024"
    params = tmp_path / "params"
    shutil.copytree(paths.params_dir(), params)
    (params / "vsm.yml").write_text("rules: centres-sante-2024\n", encoding="utf-8")
    monkeypatch.setenv("VSM_PARAMS", str(params))
    assert paths.default_rules() == "centres-sante-2024"
    assert results_folder(None) == paths.PROJECT_DIR / "data" / "resultats" / "centres-sante-2024"
    shown = CliRunner().invoke(cli, ["run", "--help"]).output
    assert "[défaut:centres-sante-2024]" in "".join(shown.split())  # click may wrap at the hyphens
    (params / "vsm.yml").write_text("autre: x\n", encoding="utf-8")
    with pytest.raises(VsmError, match="clé « rules » absente"):
        paths.default_rules()
    (params / "vsm.yml").unlink()
    with pytest.raises(VsmError, match="introuvable"):
        paths.default_rules()
