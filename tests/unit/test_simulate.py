"""Simulations (vsm/simulate/, vsm/cli/simulate.py, vsm/report/simulation.py and vsm/report/simulation_data.py): scenario
files, one aggregation per counting configuration, exact comparisons, the complement of a
scenario against its own P1, sweeps, outputs, the CLI and the report's secrecy."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vsm.report import simulation as rs
from vsm.cli import cli
from vsm.errors import VsmError
from vsm.rules import load_rules
from vsm.simulate.comparison import NATIONAL, compare, summary_figures
from vsm.simulate.engine import compute_from_counts
from vsm.simulate.files import read_simulation, write_simulation
from vsm.simulate.run import simulate
from vsm.simulate.scenario import HYPOTHESIS_LABEL, HYPOTHESIS_SEED, changes, load_scenario
from vsm.simulate.sweep import default_sweep_spec, exact_number, make_sweep, parse_sweep_values

from conftest import REPO_DIR, norm
import secrecy_checks


def _eur(cents: int) -> Decimal:
    """Integer cents as exact euros (the test's own conversion)."""
    return Decimal(int(cents)).scaleb(-2)


SCENARIOS = REPO_DIR / "params" / "scenarios"
TIER_40 = SCENARIOS / "palier-1-40.yml"
REFERENCE_1000 = SCENARIOS / "patientele-reference-1000.yml"
CAP_2 = SCENARIOS / "ponderation-plafond-2.yml"
HALF_STRUCTURED = SCENARIOS / "majoration-moitie-structuree.yml"
CENTRES = SCENARIOS / "centres-ponderation.yml"
MEDECIN_SCENARIOS = [TIER_40, REFERENCE_1000, CAP_2, HALF_STRUCTURED]


# --------------------------------------------------------------------------- helpers


class _Agg:
    """Stands for vsm.aggregate.Aggregate: only ``columns`` is read."""

    def __init__(self, rows: list[tuple]):
        ids, mt, ald, fed, structured = zip(*rows) if rows else ((), (), (), (), ())
        self.columns = {
            "ps_id": np.array(ids, dtype=object),
            "region": np.array(["84"] * len(ids), dtype=object),
            "patients_mt": np.array(mt, dtype=np.int64),
            "patients_mt_ald": np.array(ald, dtype=np.int64),
            "dmp_vsm": np.array(fed, dtype=np.int64),
            "dmp_vsm_structured": np.array(structured, dtype=np.int64),
        }


def _payments(rules, rows_p1, rows_p2=None):
    aggregates = {"P1": _Agg(rows_p1)}
    periods = ["P1"]
    if rows_p2 is not None:
        aggregates["P2"] = _Agg(rows_p2)
        periods.append("P2")
    return compute_from_counts(rules, aggregates, periods)


def _eur_of(payments, period, ps_id):
    pay = payments.periods[period]
    i = list(pay.ps_id).index(ps_id)
    return Decimal(int(pay.payable_cents[i])).scaleb(-2)


def _scenario(path, base="medecins-2024"):
    return load_scenario(path, load_rules(base))


def _write_scenario(tmp_path: Path, data: dict, name: str = "scenario.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


HYPOTHESIS_SOURCE = {"seed": "hypothese-de-simulation", "passage": "test", "quote": "une hypothèse"}
DOCS = {"hypothese-de-simulation": "hypothèse de simulation"}


# --------------------------------------------------------------------------- scenario files


@pytest.mark.parametrize("path", [*MEDECIN_SCENARIOS, CENTRES], ids=lambda p: p.stem)
def test_shipped_scenarios_load_with_label_rationale_and_sourced_changes(path):
    base = "centres-sante-2024" if path == CENTRES else "medecins-2024"
    scenario = _scenario(path, base)
    assert scenario.label and scenario.rationale
    found = changes(load_rules(base), scenario.rules)
    assert found, "a scenario changes at least one value"
    for change in found:
        assert change.source_after.seed == HYPOTHESIS_SEED
        assert change.source_after.quote == scenario.rationale
        assert scenario.rules.document_label(change.source_after.seed) == HYPOTHESIS_LABEL


def test_shipped_scenarios_change_what_their_name_says():
    base = load_rules("medecins-2024")
    assert [c.path for c in changes(base, _scenario(TIER_40).rules)] == ["tiers.levels.0.min_share"]
    assert [c.path for c in changes(base, _scenario(REFERENCE_1000).rules)] == ["ponderation.reference_patients"]
    assert [c.path for c in changes(base, _scenario(CAP_2).rules)] == ["ponderation.cap"]
    assert [c.path for c in changes(base, _scenario(HALF_STRUCTURED).rules)] == ["majoration.min_structured_share"]
    centres = changes(load_rules("centres-sante-2024"), _scenario(CENTRES, "centres-sante-2024").rules)
    assert [c.path for c in centres] == ["ponderation.enabled"]


def test_a_scenario_file_is_also_a_rule_set_for_vsm_compute(tmp_path):
    counts = tmp_path / "effectifs.csv"
    counts.write_text("ps_id,patients_mt,patients_mt_ald,dmp_vsm,dmp_vsm_structured\nps1,800,100,45,0\n", encoding="utf-8")
    out = tmp_path / "p1.csv"
    result = CliRunner().invoke(cli, ["compute", "--rules", str(TIER_40), "--period", "P1", "--counts", str(counts), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["amount_eur"].tolist() == [1500.0]


def test_scenario_refused_without_scenario_block(tmp_path):
    path = _write_scenario(tmp_path, {"id": "x", "base": "medecins-2024", "label": "x"})
    with pytest.raises(VsmError, match="scenario"):
        load_scenario(path, load_rules("medecins-2024"))


def test_scenario_refused_when_a_changed_value_keeps_the_base_source(tmp_path):
    base = yaml.safe_load((REPO_DIR / "params/rules/medecins-2024.yml").read_text(encoding="utf-8"))
    node = dict(base["ponderation"]["reference_patients"], value=1000)  # the base's source, silently kept
    path = _write_scenario(tmp_path, {
        "id": "x", "base": "medecins-2024", "label": "x", "scenario": {"label": "x", "rationale": "y"},
        "ponderation": {"reference_patients": node},
    })
    with pytest.raises(VsmError, match="sans nouvelle source.*ponderation.reference_patients"):
        load_scenario(path, load_rules("medecins-2024"))


def test_scenario_refused_without_base_or_for_another_population(tmp_path):
    data = yaml.safe_load((REPO_DIR / "params/rules/medecins-2024.yml").read_text(encoding="utf-8"))
    data.update(id="copie", scenario={"label": "x", "rationale": "y"})
    with pytest.raises(VsmError, match="base"):
        load_scenario(_write_scenario(tmp_path, data), load_rules("medecins-2024"))
    with pytest.raises(VsmError, match="population"):
        load_scenario(CENTRES, load_rules("medecins-2024"))


def test_scenario_values_are_validated_like_any_rule_set(tmp_path):
    path = _write_scenario(tmp_path, {
        "id": "x", "base": "medecins-2024", "label": "x", "scenario": {"label": "x", "rationale": "y"}, "documents": DOCS,
        "ponderation": {"cap": {"value": -1, "source": HYPOTHESIS_SOURCE}},
    })
    with pytest.raises(VsmError, match="plafond"):
        load_scenario(path, load_rules("medecins-2024"))


# --------------------------------------------------------------------------- hand-computed cases


def test_tier_40_by_hand():
    base, scenario = load_rules("medecins-2024"), _scenario(TIER_40).rules
    rows = [("a", 800, 100, 45, 0), ("b", 800, 100, 40, 0), ("c", 800, 100, 39, 0), ("d", 800, 100, 60, 0)]
    before, after = _payments(base, rows), _payments(scenario, rows)
    assert [_eur_of(before, "P1", i) for i in "abcd"] == [Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("1500.00")]
    # 40 % exactly reaches the new first tier (≥), 39 % does not
    assert [_eur_of(after, "P1", i) for i in "abcd"] == [Decimal("1500.00"), Decimal("1500.00"), Decimal("0.00"), Decimal("1500.00")]


def test_reference_1000_by_hand():
    base, scenario = load_rules("medecins-2024"), _scenario(REFERENCE_1000).rules
    rows = [("a", 1001, 100, 50, 0)]
    # 1 500 × 1 001 / 800 = 1 876,875 → 1 876,88 ; 1 500 × 1 001 / 1 000 = 1 501,50
    assert _eur_of(_payments(base, rows), "P1", "a") == Decimal("1876.88")
    assert _eur_of(_payments(scenario, rows), "P1", "a") == Decimal("1501.50")


def test_cap_2_by_hand():
    base, scenario = load_rules("medecins-2024"), _scenario(CAP_2).rules
    rows = [("a", 2000, 100, 90, 0), ("b", 1600, 100, 90, 0), ("c", 1601, 100, 50, 0)]
    before, after = _payments(base, rows), _payments(scenario, rows)
    assert [_eur_of(before, "P1", i) for i in "abc"] == [Decimal("7500.00"), Decimal("6000.00"), Decimal("3001.88")]
    assert [_eur_of(after, "P1", i) for i in "abc"] == [Decimal("6000.00"), Decimal("6000.00"), Decimal("3000.00")]


def test_half_structured_by_hand():
    base, scenario = load_rules("medecins-2024"), _scenario(HALF_STRUCTURED).rules
    rows = [("a", 800, 100, 50, 20), ("b", 800, 100, 50, 25), ("c", 800, 100, 50, 24)]
    before, after = _payments(base, rows), _payments(scenario, rows)
    assert [_eur_of(before, "P1", i) for i in "abc"] == [Decimal("1800.00")] * 3
    assert [_eur_of(after, "P1", i) for i in "abc"] == [Decimal("1500.00"), Decimal("1800.00"), Decimal("1500.00")]


def test_centres_weighting_by_hand():
    base = load_rules("centres-sante-2024")
    scenario = _scenario(CENTRES, "centres-sante-2024").rules
    rows = [("a", 1600, 100, 50, 50), ("b", 400, 100, 95, 0)]
    before, after = _payments(base, rows), _payments(scenario, rows)
    assert [_eur_of(before, "P1", i) for i in "ab"] == [Decimal("1500.00"), Decimal("3000.00")]  # no majoration, no weighting
    assert [_eur_of(after, "P1", i) for i in "ab"] == [Decimal("3000.00"), Decimal("1500.00")]


def test_p2_complement_under_a_scenario_is_against_the_scenarios_own_p1():
    base, scenario = load_rules("medecins-2024"), _scenario(TIER_40).rules
    p1 = [("a", 800, 100, 45, 0), ("b", 800, 100, 30, 0)]
    p2 = [("a", 800, 100, 55, 0), ("b", 800, 100, 45, 0)]
    before, after = _payments(base, p1, p2), _payments(scenario, p1, p2)
    # a: paid nothing in P1 under the current rule, so its P2 complement is the whole 1 500;
    # under the scenario it was paid 1 500 in P1 already: complement 0
    assert _eur_of(before, "P2", "a") == Decimal("1500.00")
    assert _eur_of(after, "P2", "a") == Decimal("0.00")
    # b: reaches 40 % only in P2: nothing under the current rule, the whole 1 500 under the scenario
    assert _eur_of(before, "P2", "b") == Decimal("0.00")
    assert _eur_of(after, "P2", "b") == Decimal("1500.00")
    c = compare(before.periods["P2"], after.periods["P2"])
    assert c.difference_cents.tolist() == [-150000, 150000]
    figures = summary_figures(c)
    assert figures["change_eur"] == Decimal("0.00") and figures["gaining"] == 1 and figures["losing"] == 1
    assert figures["newly_paid"] == 1 and figures["no_longer_paid"] == 1


# --------------------------------------------------------------------------- properties

_counts = st.lists(
    st.tuples(st.integers(0, 3000), st.integers(0, 400), st.integers(0, 600), st.integers(0, 100)),
    min_size=1, max_size=40,
).map(lambda rows: [(f"p{i}", max(mt, ald), ald, fed, min(s, fed)) for i, (mt, ald, fed, s) in enumerate(rows)])


def _identity(base):
    return base.model_copy(update={"id": base.id + "-identique"})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_counts)
def test_a_scenario_identical_to_its_base_changes_nothing(rows):
    base = load_rules("medecins-2024")
    before, after = _payments(base, rows, rows), _payments(_identity(base), rows, rows)
    for pid in ("P1", "P2"):
        c = compare(before.periods[pid], after.periods[pid])
        assert not c.difference_cents.any()
        f = summary_figures(c)
        assert f["change_eur"] == 0 and f["gaining"] == f["losing"] == f["newly_paid"] == f["no_longer_paid"] == 0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_counts,
    level=st.integers(0, 1),
    lower=st.fractions(min_value=0, max_value=Fraction(1, 2), max_denominator=200),
    raise_cents=st.integers(0, 300000),
    rate=st.fractions(min_value=0, max_value=Fraction(1, 2), max_denominator=100),
)
def test_lowering_a_threshold_or_raising_an_amount_never_lowers_a_payment(rows, level, lower, raise_cents, rate):
    base = load_rules("medecins-2024")
    levels = list(base.tiers.levels)
    floor = levels[level - 1].min_share if level else Fraction(0)
    new_share = max(levels[level].min_share - lower, floor + Fraction(1, 1000) if level else Fraction(0))
    new_amount = levels[level].amount_eur + Decimal(raise_cents).scaleb(-2)
    if level == 0:
        new_amount = min(new_amount, levels[1].amount_eur - Decimal("0.01"))
    levels[level] = levels[level].model_copy(update={"min_share": new_share, "amount_eur": new_amount})
    tiers = base.tiers.model_copy(update={"levels": levels})
    majoration = base.majoration.model_copy(update={"rate": base.majoration.rate.model_copy(update={"value": base.majoration.rate.value + rate})})
    variant = base.model_copy(update={"id": "variante", "tiers": tiers, "majoration": majoration})
    before, after = _payments(base, rows, rows), _payments(variant, rows, rows)
    for pid in ("P1", "P2"):  # the forfait amount of each period (not the complement, which depends on P1)
        assert (after.periods[pid].amount_cents >= before.periods[pid].amount_cents).all()


# --------------------------------------------------------------------------- sweeps


def test_sweep_values_are_exact_from_the_text():
    values = parse_sweep_values("0.40:0.60:0.01")
    assert len(values) == 21 and values[0] == "0.4" and values[1] == "0.41" and values[-1] == "0.6"
    assert [exact_number(v) for v in values] == [Fraction(40 + k, 100) for k in range(21)]
    assert parse_sweep_values("0.4,0.45,1/3") == ["0.4", "0.45", "1/3"]
    assert parse_sweep_values("800:1000:100") == ["800", "900", "1000"]
    # float steps would give 0.30000000000000004 here
    assert parse_sweep_values("0.1:0.3:0.1") == ["0.1", "0.2", "0.3"]


@pytest.mark.parametrize("spec, message", [
    ("tiers.levels.0.min_share=0.6:0.4:0.01", "précède"),
    ("tiers.levels.0.min_share=0.4:0.6:0", "pas"),
    ("tiers.levels.0.min_share=abc", "illisibles"),
    ("tiers.levels.5.min_share=0.4", "liste"),
    ("tiers.niveaux.0=0.4", "inconnu"),
    ("tiers.levels.0.min_share=0.95", "croissants"),
    ("indicator.type_codes=1,2", "numérique"),
    ("tiers.levels.0.min_share", "chemin=valeurs"),
])
def test_sweep_errors_are_french_and_name_the_problem(spec, message):
    with pytest.raises(VsmError, match=message):
        make_sweep(load_rules("medecins-2024"), spec)


def test_sweep_variants_carry_the_value_and_a_simulation_source():
    base = load_rules("medecins-2024")
    sweep = make_sweep(base, "ponderation.reference_patients=800,1000")
    assert sweep.current == 800
    assert [r.ponderation.reference_patients.value for r in sweep.variants] == [800, 1000]
    assert all(r.ponderation.reference_patients.source.seed == HYPOTHESIS_SEED for r in sweep.variants)
    amounts = make_sweep(base, "tiers.levels.1.amount_eur=3000:3500:250")
    assert [r.tiers.levels[1].amount_eur for r in amounts.variants] == [Decimal("3000.00"), Decimal("3250.00"), Decimal("3500.00")]


# --------------------------------------------------------------------------- on the demo data


@pytest.fixture(scope="module")
def demo():
    from vsm.pipeline import ensure_demo_data

    return ensure_demo_data(REPO_DIR / "data" / "demo")


@pytest.fixture(scope="module")
def simulation(demo, tmp_path_factory):
    base = load_rules("medecins-2024")
    scenarios = [load_scenario(p, base) for p in MEDECIN_SCENARIOS]
    sweep = make_sweep(base, "tiers.levels.0.min_share=0.40:0.60:0.01")
    sim = simulate(base, scenarios, ["P1", "P2"], *demo, sweep=sweep)
    out = tmp_path_factory.mktemp("sim") / "simulation"
    write_simulation(sim, out, {})
    return sim, out


def test_traces_aggregated_once_for_variants_that_count_alike(simulation):
    sim, _ = simulation
    assert len(sim.engine.aggregations) == 1
    assert len(sim.engine.aggregations[0].rules_ids) == 1 + 4 + 21


def test_a_counting_change_gets_its_own_aggregation(demo, tmp_path):
    base = load_rules("medecins-2024")
    raw = yaml.safe_load((REPO_DIR / "params/rules/medecins-2024.yml").read_text(encoding="utf-8"))
    node = dict(raw["indicator"]["structured_rule"], value="latest", source=HYPOTHESIS_SOURCE)
    latest = load_scenario(_write_scenario(tmp_path, {
        "id": "latest", "base": "medecins-2024", "label": "x", "scenario": {"label": "dernière alimentation", "rationale": "y"},
        "documents": DOCS, "indicator": {"structured_rule": node},
    }), base)
    sim = simulate(base, [_scenario(TIER_40), latest], ["P1"], *demo)
    assert sorted(len(a.rules_ids) for a in sim.engine.aggregations) == [1, 2]
    # the same counts as a direct computation of that rule set
    from vsm.pipeline import compute_extracts

    direct = compute_extracts(latest.rules, "P1", *demo, tmp_path / "p1.parquet")["_run"]
    assert (sim.engine.computed["latest"].periods["P1"].amount_cents == direct.computed["amount_cents"]).all()


def test_baseline_equals_vsm_run(simulation, demo, tmp_path):
    from vsm.pipeline import run

    sim, out = simulation
    manifest = run(load_rules("medecins-2024"), *demo, tmp_path / "run")
    for pid in ("P1", "P2"):  # the current rule's results, written beside the simulation, are vsm run's to the byte
        assert (out / "reference" / pid / "resultats.parquet").read_bytes() == (tmp_path / "run" / pid / "resultats.parquet").read_bytes()
    for pid in ("P1", "P2"):
        key = "complement_eur" if pid == "P2" else "amount_eur"
        assert str(_eur(int(sim.engine.computed["medecins-2024"].periods[pid].payable_cents.sum()))) == manifest["periods"][pid][key]
        assert sim.national(load_scenario(TIER_40, sim.baseline).id, pid)["cost_baseline_eur"] == Decimal(manifest["periods"][pid][key])


def test_sweep_point_at_the_current_rule_is_the_baseline_exact_total(simulation):
    sim, _ = simulation
    for pid in ("P1", "P2"):
        current = [r for r in sim.sweep_table if r["current"] and r["period"] == pid]
        assert len(current) == 1
        baseline = _eur(int(sim.engine.computed["medecins-2024"].periods[pid].payable_cents.sum()))
        assert current[0]["cost_eur"] == baseline
        assert current[0]["cost_eur"] == sim.national("medecins-2024-palier-1-40", pid)["cost_baseline_eur"]
        tier40 = next(r for r in sim.sweep_table if r["value"] == "0.4" and r["period"] == pid)
        assert tier40["cost_eur"] == sim.national("medecins-2024-palier-1-40", pid)["cost_scenario_eur"]


def test_sweep_adds_the_current_rule_when_it_is_not_a_value(demo):
    base = load_rules("medecins-2024")
    sweep = make_sweep(base, "tiers.levels.0.min_share=0.41,0.42")
    sim = simulate(base, [], ["P1"], *demo, sweep=sweep)
    assert [(r["value"], r["current"]) for r in sim.sweep_table] == [("0.41", False), ("0.42", False), ("0.5", True)]
    assert sim.sweep_table[-1]["cost_eur"] == _eur(int(sim.engine.computed[base.id].periods["P1"].payable_cents.sum()))


def test_summary_adds_up_and_regions_sum_to_national(simulation):
    sim, out = simulation
    for (sid, pid), c in sim.comparisons.items():
        rows = [r for r in sim.summary if r["scenario"] == sid and r["period"] == pid]
        national = rows[0]
        assert national["region"] == NATIONAL
        assert national["change_eur"] == _eur(int(c.difference_cents.sum()))
        assert national["gaining"] + national["losing"] + national["unchanged"] == national["professionals"]
        for key in ("professionals", "gaining", "losing", "newly_paid", "no_longer_paid"):
            assert sum(r[key] for r in rows[1:]) == national[key]
        assert sum((r["change_eur"] for r in rows[1:]), Decimal(0)) == national["change_eur"]
    # the reference 1000 scenario pays exactly 800/1000 of each amount, before the one rounding
    ref = sim.national("medecins-2024-patientele-reference-1000", "P1")
    assert ref["gaining"] == 0 and ref["newly_paid"] == 0 and ref["no_longer_paid"] == 0
    assert ref["change_pct"] == Decimal("-20.00")


def test_outputs_exact_money_and_manifest(simulation):
    sim, out = simulation
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "simulation"
    assert manifest["baseline"]["sha256"] == sim.baseline.sha256
    assert {s["id"] for s in manifest["scenarios"]} == {s.id for s in sim.scenarios}
    assert all(s["sha256"] for s in manifest["scenarios"])
    assert manifest["inputs"]["feeds"]["files"][0]["blake3"]
    table = pd.read_parquet(out / "medecins-2024-palier-1-40" / "P1" / "professionnels.parquet")
    assert {type(v) for v in table["difference_eur"]} == {Decimal}
    assert (table["scenario_eur"] - table["baseline_eur"] == table["difference_eur"]).all()
    csv_table = pd.read_csv(out / "medecins-2024-palier-1-40" / "P1" / "professionnels.csv", dtype=str)
    assert csv_table["difference_eur"].str.fullmatch(r"-?\d+\.\d\d").all()
    assert sum(Decimal(v) for v in csv_table["difference_eur"]) == sim.national("medecins-2024-palier-1-40", "P1")["change_eur"]
    summary_csv = pd.read_csv(out / "synthese.csv", dtype=str)
    assert len(summary_csv) == len(sim.summary)
    for rel in manifest["outputs"]:
        assert (out / rel).is_file(), rel


def test_out_dir_that_vsm_did_not_write_is_never_replaced(tmp_path, simulation):
    sim, _ = simulation
    foreign = tmp_path / "mes-fichiers"
    foreign.mkdir()
    (foreign / "note.txt").write_text("à garder", encoding="utf-8")
    with pytest.raises(VsmError, match="n.est pas un dossier de « vsm simulate »"):
        write_simulation(sim, foreign, {})
    assert (foreign / "note.txt").read_text(encoding="utf-8") == "à garder"


# --------------------------------------------------------------------------- CLI


def test_cli_prints_the_national_change_in_french(demo, tmp_path):
    out = tmp_path / "sim"
    result = CliRunner().invoke(cli, ["simulate", "--rules", "medecins-2024", "--scenario", str(TIER_40), "--period", "P1",
                                      "--feeds", str(demo[0]), "--patientele", str(demo[1]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = norm(result.output)
    assert "Premier palier à 40 %" in text and "période P1, France entière" in text
    row = read_simulation(out)[1]["rows"][0]
    from vsm import present as fr

    assert norm(fr.eur(Decimal(row["change_eur"]))) in text
    assert (out / "medecins-2024-palier-1-40" / "P1" / "professionnels.parquet").is_file()


@pytest.mark.parametrize("args, message", [
    ([], "Rien à simuler"),
    (["--scenario", str(TIER_40), "--period", "P9"], "Période inconnue"),
    (["--scenario", "absent.yml"], "introuvable"),
    (["--scenario", str(TIER_40), "--region", "4"], "04"),
    (["--scenario", str(TIER_40), "--feeds", "x"], "ensemble"),
    (["--sweep", "tiers.levels.0.min_share=0.6:0.4:0.1"], "précède"),
])
def test_cli_errors_are_french_with_exit_code_2(args, message, tmp_path):
    result = CliRunner().invoke(cli, ["simulate", "--rules", "medecins-2024", "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- report and secrecy


def test_report_secrecy_no_small_set_readable_and_tables_checked(simulation):

    sim, out = simulation
    report = rs.simulation_report("medecins-2024", [str(p) for p in MEDECIN_SCENARIOS], "all", "02", out)
    for pid in report.periods:
        plan = report.plan(pid)
        national, regions, _ = report._plans[pid]
        for pop in [national, *regions.values()]:
            protection = plan.protections[pop.scope]
            if protection.whole:
                continue
            assert secrecy_checks.readable_small_sets(pop.groups, protection.masked) == 0, pop.scope
    # what the payment reports of the period publish stays published here, and the masks go elsewhere
    from vsm import report as payment_report
    from vsm.store import read_results

    for pid in report.periods:
        results = read_results(out / "reference" / pid / "resultats.parquet")
        payment_plan = payment_report.secrecy_plan(results, report.baseline)
        martinique = report.population(pid, "02")
        assert ("paiement:remuneres" in martinique.shown) == (not payment_plan.is_masked("02", "remuneres"))
        if pid == "P1" and "paiement:remuneres" in martinique.shown:  # paid under the current rule: the payment report's « rémunérés » (P2: its complements)
            assert not report.plan(pid).is_masked("02", "remuneres_actuel")
        for code in report._plans[pid][1]:
            if payment_plan.covers(code) and not payment_plan.whole(code) and not payment_plan.is_masked(code, "remuneres"):
                assert not report.plan(pid).is_masked(code, "paiement:remuneres"), code
    import pypandoc

    from vsm import render

    markdown = "\n\n".join(
        part._repr_markdown_() for part in [*report.budget(), *report.gains(), *report.transitions(), *report.sweep_section()]
        if hasattr(part, "_repr_markdown_")
    )
    html = pypandoc.convert_text(markdown, "html5", format=render.PANDOC_MARKDOWN)  # what both engines publish
    assert secrecy_checks.find_leaks(html, report.count_tables()) == []
    # Mayotte (5 médecins) publishes nothing, not even a zero
    mayotte = report.budget_frame(report.scenarios[0], "P1")
    published = rs.sp.publish(mayotte, report.plan("P1"))
    row = published[published.iloc[:, 0].str.contains("(06)", regex=False)].iloc[0]
    assert all(v == rs.dp.symbol() for v in row.iloc[1:])


def test_report_refuses_a_simulation_of_other_rules(simulation, tmp_path):
    _, out = simulation
    with pytest.raises(VsmError, match="autre jeu de règles"):
        rs.simulation_report("medecins-2023", [], "P1", "", out)
    other = yaml.safe_load(TIER_40.read_text(encoding="utf-8"))
    other["id"] = "autre-scenario"
    with pytest.raises(VsmError, match="n'a pas été calculé"):
        rs.simulation_report("medecins-2024", [str(_write_scenario(tmp_path, other))], "P1", "", out)



def test_simulate_report_rendered_without_leaks(demo, tmp_path):

    out, reports = tmp_path / "sim", tmp_path / "rapport"
    result = CliRunner().invoke(cli, [
        "simulate", "--rules", "medecins-2024", "--scenario", str(TIER_40), "--period", "P1",
        "--sweep", "tiers.levels.0.min_share=0.40:0.60:0.01", "--feeds", str(demo[0]), "--patientele", str(demo[1]),
        "--out", str(out), "--report", "--report-out", str(reports), "--region", "02",
    ])
    assert result.exit_code == 0, result.output
    html_path, pdf_path = reports / "simulation.html", reports / "simulation.pdf"
    assert html_path.is_file() and pdf_path.is_file()
    report = rs.simulation_report("medecins-2024", [str(TIER_40)], "P1", "02", out)
    html = html_path.read_text(encoding="utf-8")
    assert secrecy_checks.find_leaks(html, report.count_tables()) == []
    import subprocess

    text = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Premier palier à 40 %" in text and "règle actuelle" in text
    baseline = report.figures(report.scenarios[0], "P1")["cost_baseline_eur"]
    from vsm import present as fr

    assert norm(fr.eur(baseline)) in norm(text)  # the sweep's current point is annotated with the baseline total
    assert "Traceback" not in html and "import " not in html


def test_simulation_notebook_is_thin_and_hard_codes_no_rule_value():
    import nbformat

    nb = nbformat.read(REPO_DIR / "notebooks" / "simulation.ipynb", as_version=4)
    cells = nb.cells
    assert "parameters" in cells[0].metadata.get("tags", [])
    for name in ("rules", "scenarios", "period", "region", "simulation_dir"):
        assert f"{name} = " in cells[0].source
    for cell in cells:
        if cell.cell_type == "markdown":
            assert not any(ch.isdigit() for ch in cell.source), cell.source  # every number comes from vsm
        else:
            assert "remove-input" in cell.metadata.get("tags", [])
            assert len(cell.source.splitlines()) <= 8


def test_default_sweep_of_a_report_is_the_value_the_scenario_changes():
    base = load_rules("medecins-2024")
    assert default_sweep_spec(base, _scenario(TIER_40)) == "tiers.levels.0.min_share=0.4:0.6:0.01"
    assert default_sweep_spec(base, _scenario(REFERENCE_1000)) == "ponderation.reference_patients=600:1000:20"
    assert default_sweep_spec(base, _scenario(HALF_STRUCTURED)) == "majoration.min_structured_share=1/6:0.5:1/60"
    assert default_sweep_spec(base, _scenario(CAP_2)) is None  # from « no cap »: nothing to sweep around
    sweep = make_sweep(base, default_sweep_spec(base, _scenario(TIER_40)))
    assert len(sweep.values) == 21 and sweep.current == Fraction(1, 2)
    skipped: list[str] = []
    partial = make_sweep(base, "tiers.levels.0.min_share=0.8:1:0.05", skip_invalid=True, skipped=skipped)
    assert partial.values == ("0.8", "0.85") and skipped == ["0.9", "0.95", "1"]  # not below the second tier


def test_identical_scenario_end_to_end_and_a_complement_period_alone(demo, tmp_path):
    path = _write_scenario(tmp_path, {
        "id": "identique", "base": "medecins-2024", "label": "identique",
        "scenario": {"label": "Rien ne change", "rationale": "contrôle"},
    })
    base = load_rules("medecins-2024")
    scenario = load_scenario(path, base)
    assert changes(base, scenario.rules) == []
    sim = simulate(base, [scenario], ["P2"], *demo)  # P1 computed too: P2 completes it
    assert sim.periods == ["P2"] and set(sim.engine.computed["identique"].periods) == {"P1", "P2"}
    c = sim.comparisons[("identique", "P2")]
    assert len(c.ps_id) > 1000 and not c.difference_cents.any()
    national = sim.national("identique", "P2")
    assert national["change_eur"] == 0 and national["change_pct"] == 0 and national["unchanged"] == national["professionals"]
    assert [r["period"] for r in sim.summary] == ["P2"] * len(sim.summary)
