"""vsm/report/: the figures and tables of the regional and national reports, checked on a
small hand-built results table whose every figure is computed by hand below."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from conftest import counts, norm
from vsm import present as fr
from vsm import report as r
from vsm.publish import secrecy
from vsm.errors import VsmError
from vsm.forfait import compute, total
from vsm.money import missing_to_meet
from vsm.store import write_table
from vsm.rules import load_rules
import secrecy_checks

# (ps_id, patients_mt, patients_mt_ald, dmp_vsm, dmp_vsm_structured), region — by hand:
ROWS = [
    (("a", 800, 100, 50, 0), "02"),  # exactly 50 % → tier 1, 1 500,00 €
    (("b", 800, 100, 49, 0), "02"),  # 49 % → 0 €, 1 DMP short of 50 %
    (("c", 800, 100, 90, 30), "02"),  # exactly 90 %, structured exactly 1/3 → 3 600,00 €
    (("d", 400, 100, 89, 0), "02"),  # 89 % → tier 1 × 400/800 = 750,00 €, 1 DMP short of 90 %
    (("e", 1000, 10, 4, 0), "02"),  # exactly 40 % → 0 €, in the band, 1 DMP short
    (("f", 800, 0, 5, 0), "02"),  # no ALD patient → not eligible
    (("g", 800, 100, 39, 0), "11"),  # 39 % → below the 10-point band
    (("h", 1600, 7, 3, 3), "11"),  # 3/7 = 42,9 % → in the band, ceil(3.5) − 3 = 1 DMP short
    (("i", 800, 200, 180, 100), "11"),  # 90 %, structured 100/180 → 3 600,00 €
    (("j", 1600, 1000, 799, 0), "11"),  # 79,9 % → tier 1 × 1 600/800 = 3 000,00 €, just below the 80 % band
]


def build(rules, period="P1", paid=None) -> pd.DataFrame:
    table = counts(*[row for row, _ in ROWS])
    table["region"] = [region for _, region in ROWS]
    return compute(table, rules, period, paid=paid)


@pytest.fixture
def results(rules) -> pd.DataFrame:
    return build(rules)


@pytest.fixture
def no_secrecy(monkeypatch):
    """Threshold 0: nothing masked, for the tests of the figures and their formatting on
    the hand-built table (its regions have 1 to 10 professionals)."""
    current = secrecy.settings()
    monkeypatch.setattr(secrecy, "settings", lambda path=None: secrecy.SecretSettings(0, current.symbol, current.note_template, current.source))


def cells(frame: pd.DataFrame, label_column: str = "Indicateur") -> dict:
    return {norm(row[label_column]): row for _, row in frame.iterrows()}


# --------------------------------------------------------------------------- key figures


def test_key_figures_region_exact(results, rules):
    kf = r.key_figures(r.region_rows(results, "02"), rules)
    assert kf.professionals == 6
    assert kf.eligible == 5
    assert kf.reached == (3, 1)  # ≥ 50 %: a (exactly 50 %), c, d; ≥ 90 %: c (exactly 90 %)
    assert kf.reached_share(1) == Fraction(3, 5)
    assert kf.reached_share(2) == Fraction(1, 5)
    assert kf.majorated == 1  # c, structured exactly 1/3
    assert kf.majorated_share == Fraction(1, 3)
    assert kf.paid == 3
    assert kf.total_eur == Decimal("5850.00")
    assert kf.mean_eur == Decimal("1950.00")
    assert kf.median_eur == Decimal("1500.00")
    assert kf.complements is None and kf.complement_eur is None


def test_key_figures_national_exact(results, rules):
    kf = r.key_figures(results, rules)
    assert (kf.professionals, kf.eligible, kf.reached, kf.majorated, kf.paid) == (10, 9, (5, 2), 2, 5)
    assert kf.total_eur == Decimal("12450.00") == total(results)
    assert kf.mean_eur == Decimal("2490.00")
    assert kf.median_eur == Decimal("3000.00")  # 750, 1 500, 3 000, 3 600, 3 600


def test_tier_counts_at_the_boundaries(rules):
    table = counts(
        ("x50", 10000, 10000, 5000, 0), ("x4999", 10000, 10000, 4999, 0), ("x90", 10000, 10000, 9000, 0), ("x8999", 10000, 10000, 8999, 0)
    )
    table["region"] = "02"
    kf = r.key_figures(compute(table, rules, "P1"), rules)
    assert kf.reached == (3, 1)


def test_tiers_come_from_the_rule_set(variant):
    from vsm.rules import load_rules

    def mutate(data):
        data["tiers"]["levels"][0]["min_share"] = "3/5"

    rules = load_rules(variant(mutate))
    table = counts(("p55", 800, 100, 55, 0), ("p60", 800, 100, 60, 0))
    table["region"] = "02"
    res = compute(table, rules, "P1")
    assert r.key_figures(res, rules).reached == (1, 0)
    frame = r.key_figures_frame(res, rules, "P1")
    assert any("≥ 60 %" in norm(label) for label in frame["Indicateur"])
    near = r.near_threshold_frame(res, rules)
    assert norm(near.iloc[0]["Part de VSM actuelle"]) == "de 50 % à moins de 60 %"
    assert near.iloc[0]["Professionnels"] == 1 and near.iloc[0]["DMP à alimenter (total)"] == 5


def test_mean_and_median_exact_to_the_cent():
    assert r.median_eur([Decimal("1.00"), Decimal("2.00")]) == Decimal("1.50")
    assert r.median_eur([Decimal("0.01"), Decimal("0.02")]) == Decimal("0.02")  # 0,015 → half up
    assert r.mean_eur([Decimal("0.01"), Decimal("0.01"), Decimal("0.00")]) == Decimal("0.01")
    assert r.mean_eur([]) is None and r.median_eur([]) is None


def test_key_figures_table_published_in_french(results, rules, no_secrecy):
    shown = r.publish(r.key_figures_frame(r.region_rows(results, "02"), rules, "P1"))
    by_label = cells(shown)
    assert norm(by_label["Part de VSM ≥ 50 % (forfait brut 1 500,00 €)"]["Valeur"]) == "3"
    assert norm(by_label["Part de VSM ≥ 50 % (forfait brut 1 500,00 €)"]["Part"]) == "60,0 %"
    assert norm(by_label["Part de VSM ≥ 90 % (forfait brut 3 000,00 €)"]["Part"]) == "20,0 %"
    assert norm(by_label["Rémunérés (forfait non nul)"]["Valeur"]) == "3"
    assert norm(by_label["Montant total du forfait (P1)"]["Valeur"]) == "5 850,00 €"
    assert norm(by_label["Montant médian par professionnel rémunéré"]["Valeur"]) == "1 500,00 €"


def test_complement_period_key_figures(rules):
    p1 = build(rules, "P1")
    paid = p1[["ps_id", "amount_eur"]].rename(columns={"amount_eur": "paid_eur"})
    paid.loc[paid["ps_id"] == "c", "paid_eur"] = Decimal("4000.00")  # paid more than P2 gives: no complement
    paid.loc[paid["ps_id"] == "a", "paid_eur"] = Decimal("1000.00")  # 500,00 € complement
    p2 = build(rules, "P2", paid=paid)
    kf = r.key_figures(r.region_rows(p2, "02"), rules)
    assert kf.complements == 1
    assert kf.complement_eur == Decimal("500.00")
    assert kf.paid_before_eur == Decimal("5750.00")  # 1 000 + 4 000 + 750
    labels = " ".join(r.key_figures_frame(p2, rules, "P2")["Indicateur"])
    assert "Déjà versé au titre de P1" in labels
    assert "Compléments à verser au 2e semestre 2024" in labels
    frame = r.tier_majoration_frame(p2, rules)
    assert frame.iloc[-1]["Compléments"] == total(p2, "complement_eur")


# --------------------------------------------------------------------------- tiers × majoration


def test_tier_majoration_rows_add_up_to_the_total(results, rules):
    frame = r.tier_majoration_frame(results, rules)
    body, last = frame.iloc[:-1], frame.iloc[-1]
    assert last["Palier (part de VSM)"] == "Total"
    assert sum(body["Professionnels"]) == last["Professionnels"] == len(results)
    assert sum(body["Montant total"], Decimal(0)) == last["Montant total"] == total(results)
    rows = {(norm(row["Palier (part de VSM)"]), row["Majoration"]): row for _, row in body.iterrows()}
    assert rows[("Non éligibles", "—")]["Professionnels"] == 1
    assert rows[("< 50 %", "—")]["Professionnels"] == 4  # b, e, g, h
    assert rows[("de 50 % à moins de 90 %", "sans")]["Montant total"] == Decimal("5250.00")  # a, d, j
    assert rows[("≥ 90 %", "avec")]["Professionnels"] == 2
    assert rows[("≥ 90 %", "avec")]["Montant total"] == Decimal("7200.00")


# --------------------------------------------------------------------------- close to a threshold


def test_near_threshold_counts_and_missing_dmps(results, rules):
    frame = r.near_threshold_frame(results, rules)
    first, second = frame.iloc[0], frame.iloc[1]
    assert norm(first["Part de VSM actuelle"]) == "de 40 % à moins de 50 %"
    assert first["Professionnels"] == 3  # b (49 %), e (exactly 40 %), h (42,9 %); not g (39 %), not a (50 %)
    assert first["DMP à alimenter (total)"] == 3
    assert first["DMP à alimenter (médiane)"] == 1.0
    assert norm(second["Part de VSM actuelle"]) == "de 80 % à moins de 90 %"
    assert second["Professionnels"] == 1  # d (89 %); not j (79,9 %), not c (90 %)
    assert second["DMP à alimenter (total)"] == 1


def test_near_threshold_width_is_a_parameter(results, rules):
    frame = r.near_threshold_frame(results, rules, width=Fraction(1, 5))
    assert frame.iloc[0]["Professionnels"] == 4  # + g (39 %)
    assert frame.iloc[0]["DMP à alimenter (total)"] == 3 + 11
    assert frame.iloc[1]["Professionnels"] == 2  # + j (799 / 1 000)
    assert frame.iloc[1]["DMP à alimenter (total)"] == 1 + 101
    region = r.near_threshold_frame(r.region_rows(results, "02"), rules)
    assert list(region["Professionnels"]) == [2, 1]
    with pytest.raises(VsmError):
        r.near_threshold_frame(results, rules, width=0)


def test_missing_dmp_exact():
    import numpy as np

    fed, ald = np.array([4, 3, 0, 50]), np.array([10, 7, 3, 100])
    assert list(missing_to_meet(fed, ald, Fraction(1, 2), ">=")) == [1, 1, 2, 0]
    assert list(missing_to_meet(fed, ald, Fraction(1, 2), ">")) == [2, 1, 2, 1]


# --------------------------------------------------------------------------- region vs national


def test_region_beside_national(results, rules):
    frame = r.region_vs_national_frame(results, "02", rules, "P1")
    assert list(frame.columns) == ["Indicateur", "Martinique (02)", "France entière"]
    rows = cells(frame)
    assert (rows["Professionnels"]["Martinique (02)"], rows["Professionnels"]["France entière"]) == (6, 10)
    assert rows["Part des éligibles ≥ 50 %"]["Martinique (02)"] == Fraction(3, 5)
    assert rows["Part des éligibles ≥ 50 %"]["France entière"] == Fraction(5, 9)
    assert rows["Montant total"]["Martinique (02)"] == Decimal("5850.00")
    assert rows["Montant total"]["France entière"] == Decimal("12450.00")
    with pytest.raises(VsmError, match="04"):
        r.region_vs_national_frame(results, "4", rules, "P1")


def test_regions_side_by_side(results, rules):
    frame = r.regions_frame(results, rules, "P1")
    frame.columns = [norm(c) for c in frame.columns]
    assert len(frame) == 18 + 1
    assert frame.iloc[-1]["Région"] == "France entière"
    body = frame.iloc[:-1]
    assert sum(body["Professionnels"]) == 10
    assert sum(body["Montant total"], Decimal(0)) == frame.iloc[-1]["Montant total"] == Decimal("12450.00")
    by_code = {row["Code"]: row for _, row in body.iterrows()}
    assert by_code["11"]["Part ≥ 90 %"] == Fraction(1, 4)
    assert by_code["01"]["Professionnels"] == 0 and by_code["01"]["Part ≥ 50 %"] is None
    assert "—" in r.publish(frame).iloc[0].tolist()  # no professional: shares shown as « — »


# --------------------------------------------------------------------------- publication


def test_publish_formats_typed_cells_in_french():
    frame = pd.DataFrame(
        [["x", r.Headcount(1234), Decimal("1500"), Fraction(1, 3), None, 2.5, ""]],
        columns=list("abcdefg"),
        dtype=object,
    )
    assert isinstance(frame.iloc[0]["b"], r.Headcount)
    shown = [norm(v) for v in r.publish(frame).iloc[0]]
    assert shown == ["x", "1 234", "1 500,00 €", "33,3 %", "—", "2,5", ""]


def test_every_table_is_a_headcount_table(results, rules):
    """Counts of professionals are typed Headcount, so that secrecy can find them."""
    frame = r.key_figures_frame(results, rules, "P1")
    assert all(isinstance(v, r.Headcount) for v in frame["Valeur"] if isinstance(v, int))
    assert all(isinstance(v, r.Headcount) for v in r.tier_majoration_frame(results, rules)["Professionnels"])
    assert all(isinstance(v, r.Headcount) for v in r.near_threshold_frame(results, rules)["Professionnels"])


# --------------------------------------------------------------------------- data quality, method, cases


ENTRY = {
    "snapshot_dates": ["2023-12-31"],
    "feeds_rows_by_reason": {
        "status_not_counted": {"label": "alimentation en échec", "rows": 10},
        "outside_period": {"label": "hors de la période d'observation", "rows": 0},
        "counted": {"label": "alimentation comptée", "rows": 30},
    },
    "patientele_rows_by_reason": {"used": {"label": "arrêté retenu", "rows": 4}, "superseded": {"label": "arrêté antérieur", "rows": 4}},
    "professionals_without_patientele": [{"ps_id": "SECRET1", "rows": 5, "dmp_vsm": 4}, {"ps_id": "SECRET2", "rows": 2, "dmp_vsm": 1}],
}


def test_exclusions_by_reason():
    frame = r.exclusions_frame(ENTRY, "feeds")
    assert list(frame["Motif"]) == ["alimentation en échec", "alimentation comptée", "Total des lignes lues"]
    assert list(frame["Lignes"]) == [10, 30, 40]
    assert frame.iloc[0]["Part des lignes lues"] == Fraction(1, 4)
    patientele = r.exclusions_frame(ENTRY, "patientele")
    assert list(patientele["Ligne"]) == ["exclue", "retenue", ""]


def test_kept_reasons_match_the_aggregation():
    from vsm.aggregate import FEED_REASONS, PATIENTELE_REASONS

    assert r.KEPT_REASONS["feeds"] in FEED_REASONS
    assert r.KEPT_REASONS["patientele"] in PATIENTELE_REASONS


def test_without_patientele_never_lists_identifiers():
    frame = r.without_patientele_frame(ENTRY)
    assert list(frame["Valeur"]) == [2, 7, 5]
    assert "SECRET" not in str(r.table(frame))


def test_methodology_recap_has_values_and_sources(rules):
    frame = r.methodology_frame(rules, "P2")
    text = norm(str(r.table(frame)))
    assert "≥ 50 % → forfait brut 1 500,00 €" in text
    assert "≥ 90 % → forfait brut 3 000,00 €" in text
    assert "part structurée ≥ 1/3" in text
    assert "patientèle MT / 800" in text
    assert "note méthodologique, § 3" in text
    assert "Complément" in set(frame["Règle"])
    assert "Complément" not in set(r.methodology_frame(rules, "P1")["Règle"])


def test_worked_cases_are_pseudonymous(results, rules):
    cases = r.worked_cases(results, rules, "P1")
    assert [c.letter for c in cases] == ["A", "B", "C"]
    text = norm(r.cases_markdown(cases))
    assert "Professionnel A" in text and "Professionnel B" in text and "Professionnel C" in text
    amounts = [norm(str(case.steps[-1])) for case in cases]
    assert "0,00 €" in amounts[0]
    assert "1 500,00 €" in norm(" ".join(str(s) for s in cases[1].steps))
    assert "majoration de 20 %" in norm(" ".join(str(s) for s in cases[2].steps))
    for ps_id in results["ps_id"]:
        assert f" {ps_id} " not in text and f"«{ps_id}»" not in text


def test_worked_case_missing_is_said(rules):
    table = counts(("z", 800, 100, 20, 0))
    table["region"] = "02"
    cases = r.worked_cases(compute(table, rules, "P1"), rules, "P1")
    assert cases[0].steps and not cases[1].steps and not cases[2].steps
    assert "Aucun professionnel" in r.cases_markdown(cases)


def test_worked_case_never_shows_a_small_patient_count(rules):
    """A professional with 1 to 10 patients (or DMPs) of some kind is not explained."""
    table = counts(("small", 800, 100, 20, 4), ("big", 800, 100, 30, 0))
    table["region"] = "02"
    cases = r.worked_cases(compute(table, rules, "P1"), rules, "P1")
    text = norm(" ".join(str(s) for s in cases[0].steps))
    assert "30 DMP alimentés" in text and "20 DMP" not in text
    only_small = counts(("small", 800, 100, 20, 4))
    only_small["region"] = "02"
    case = r.worked_cases(compute(only_small, rules, "P1"), rules, "P1")[0]
    assert not case.steps and "secret statistique" in case.note


# --------------------------------------------------------------------------- title, loading, charts


def test_title_facts_and_markdown(rules):
    facts = r.title_facts(rules, "P2", "02", {"snapshot_dates": ["2024-06-30"]})
    assert facts["region"] == "02" and facts["region_name"] == "Martinique"
    assert (facts["start"], facts["end"], facts["payment"]) == ("2022-01-01", "2024-06-30", "2e semestre 2024")
    assert facts["snapshot_dates"] == ["2024-06-30"] and facts["rules"] == "medecins-2024"
    text = norm(r.title_markdown(facts))
    assert "Martinique (02)" in text and "période P2" in text
    assert "1er janvier 2022 au 30 juin 2024" in text and "30 juin 2024" in text
    national = r.title_facts(rules, "P1", r.NATIONAL, {})
    assert national["region_name"] == "France entière"


@pytest.fixture
def results_dir(tmp_path, rules, results):
    folder = tmp_path / "resultats"
    write_table(results, folder / "P1" / "resultats.parquet")
    manifest = {"rules": {"id": rules.id, "sha256": rules.sha256}, "periods": {"P1": ENTRY}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_regional_report_reads_the_results_once_and_filters(results_dir, rules, no_secrecy):
    report = r.regional_report("medecins-2024", "P1", "02", results_dir)
    assert len(report.results) == 10 and len(report.regional) == 6
    assert "Martinique (02)" in norm(str(report.title()))
    assert "5 850,00 €" in norm(str(report.key_figures()))
    table = report.comparison()._repr_markdown_()
    assert table.startswith("| ") and "|:-" in table and "-:|" in table  # a pipe table, numbers right-aligned
    chart = report.share_chart()
    assert chart.png().startswith(b"\x89PNG")
    assert "part de VSM des professionnels éligibles" in norm(repr(chart))
    national = r.national_report(rules, "P1", results_dir)
    assert "France entière" in str(national.regions())
    assert national.rates_chart().png().startswith(b"\x89PNG")


def test_report_parameters_are_checked(results_dir, rules, tmp_path):
    with pytest.raises(VsmError, match="« 04 »"):
        r.regional_report(rules, "P1", "4", results_dir)
    with pytest.raises(VsmError, match="99"):
        r.regional_report(rules, "P1", "99", results_dir)
    with pytest.raises(VsmError, match="P1, P2"):
        r.regional_report(rules, "P3", "02", results_dir)
    with pytest.raises(VsmError, match="période P2 n'a pas été calculée"):
        r.regional_report(rules, "P2", "02", results_dir)
    with pytest.raises(VsmError, match="Manifeste introuvable"):
        r.regional_report(rules, "P1", "02", tmp_path / "absent")
    with pytest.raises(VsmError, match="autre jeu de règles|jeu de règles « medecins-2024 »"):
        r.regional_report("medecins-2023", "P1", "02", results_dir)


def test_notebook_defaults_take_the_rule_set_and_the_period_of_the_results(results_dir, rules, no_secrecy):
    """rules = None, period = None (the notebooks' parameter cells): the rule set recorded in
    the results' manifest and its first period computed there — never a default id."""
    report = r.regional_report(None, None, "02", results_dir)
    assert (report.rules.id, report.period) == (rules.id, "P1")
    assert str(report.key_figures()) == str(r.regional_report(rules, "P1", "02", results_dir).key_figures())
    assert r.national_report(None, None, results_dir).rules.id == rules.id
    other = load_rules("centres-sante-2024")
    manifest = json.loads((results_dir / "manifest.json").read_text(encoding="utf-8"))
    manifest["rules"] = {"id": other.id, "sha256": other.sha256}
    (results_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert r.regional_report(None, None, "02", results_dir).rules.id == other.id
    manifest["rules"] = {}
    (results_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(VsmError, match="ne dit pas avec quel jeu de règles"):
        r.regional_report(None, None, "02", results_dir)


# --------------------------------------------------------------------------- statistical secrecy on the demo data


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo data's P1 and P2 results and forfait structure results (computed once)."""
    from conftest import REPO_DIR
    from vsm.pipeline import ensure_demo_data, run
    from vsm.rules import load_rules
    from vsm.structure import compute_structure, load_structure_rules, read_structure_input, synthesize_structure

    feeds, patientele = ensure_demo_data(REPO_DIR / "data" / "demo")
    folder = tmp_path_factory.mktemp("demo") / "resultats"
    run(load_rules("medecins-2024"), feeds, patientele, folder)
    indicators = synthesize_structure(folder.parent / "structure.parquet", patientele_path=patientele)["out"]
    srules = load_structure_rules()
    structure = compute_structure(read_structure_input(indicators, srules), srules)
    write_table(structure, folder.parent / "structure-resultats.parquet")
    return folder, folder.parent / "structure-resultats.parquet"


def regional(demo, region: str, period: str = "P1") -> r.RegionalReport:
    folder, structure = demo
    return r.regional_report("medecins-2024", period, region, folder, structure)


@pytest.mark.parametrize("period", ["P1", "P2"])
def test_plan_leaves_no_small_count_readable_in_any_scope(demo, period):
    report = regional(demo, "11", period)
    plan = report.plan
    for scope, part in r.region_scopes(report.results).items():
        pop = r.population(scope, part, report.rules)
        assert plan.whole(scope) == (1 <= len(part) <= 10), scope
        assert secrecy_checks.readable_small_sets(pop.groups, plan.protections[scope].masked) == 0, scope
    national = r.population(r.NATIONAL, report.results, report.rules, detail=False)
    assert secrecy_checks.readable_small_sets(national.groups, plan.protections[r.NATIONAL].masked) == 0


def test_plan_regions_consistent_with_the_national_totals(demo):
    """No regional count is the national total minus the published regions."""
    report = regional(demo, "11", "P2")
    plan = report.plan
    scopes = r.region_scopes(report.results)
    pops = {code: r.population(code, part, report.rules) for code, part in scopes.items()}
    national = r.population(r.NATIONAL, report.results, report.rules, detail=False)
    checked = 0
    for name in national.groups:
        if plan.is_masked(r.NATIONAL, name):
            continue
        hidden = [code for code in scopes if plan.is_masked(code, name)]
        total = sum(pops[code].count(name) for code in hidden)
        # the national total minus the published regions gives the hidden ones together:
        # 0, or more than 10 (one hidden region of more than 10 is then known to its block)
        assert not 1 <= total <= 10, name
        checked += bool(hidden)
    assert checked  # the small regions are masked: the rule had work to do


def test_amounts_and_shares_tied_to_a_masked_count_are_masked(demo):
    """A region whose professionals are published but few of them paid. No region of the
    demo data is so (Guyane pays 6 of its 18 but masks them all): Guadeloupe (44 professionals,
    11 paid) restricted to its unpaid professionals and 5 of its paid ones."""
    import dataclasses

    full = regional(demo, "01")
    results = full.results
    paid = results[(results["region"].astype(str) == "01") & results["amount_eur"].map(lambda a: a > 0)]
    report = dataclasses.replace(full, results=results.drop(index=paid.index[5:]))
    kf = r.key_figures(report.regional, report.rules)
    assert kf.professionals == len(full.regional) - len(paid) + 5 and kf.professionals > 10 and kf.paid == 5
    shown = cells(r.publish(r.key_figures_frame(report.regional, report.rules, "P1", "01"), report.plan))
    assert shown["Professionnels (patientèle « médecin traitant » en fin de période)"]["Valeur"] == str(kf.professionals)
    for label in ("Rémunérés (forfait non nul)", "Montant total du forfait (P1)", "Montant moyen par professionnel rémunéré",
                  "Montant médian par professionnel rémunéré"):
        assert shown[label]["Valeur"] == "s", label
    assert shown["Rémunérés (forfait non nul)"]["Part"] == "s"
    assert "s : secret statistique" in str(report.key_figures())


def test_small_region_publishes_nothing_of_its_own(demo):
    report = regional(demo, "06")  # Mayotte: 5 professionals
    assert report.whole
    for shown in (report.key_figures(), report.tier_totals(), report.near_thresholds(), report.quality()):
        assert isinstance(shown, r.Prose) and "non publié" in str(shown)
    for section in (report.key_figures_section(), report.tiers_section(), report.distributions_section(),
                    report.near_section(), report.forfait_structure_section(), report.cases_section()):
        assert section == []  # no regional section at all
    assert "de 1 à 10 professionnels" not in str(report.comparison_section()[1])
    comparison = r.publish(r.region_vs_national_frame(report.results, "06", report.rules, "P1"), report.plan)
    assert set(comparison["Mayotte (06)"]) == {"s"}  # zeros included
    assert "de 1 à 10 professionnels" in norm(str(report.essentials()))
    assert "Professionnel A" not in str(report.worked_examples())
    assert all(isinstance(chart, r.Prose) for chart in (report.share_chart(), report.structured_chart(), report.patientele_chart()))


def test_large_region_essentials_in_french(demo):
    report = regional(demo, "84")  # Auvergne-Rhône-Alpes: 960 professionals, 957 eligible
    kf = r.key_figures(report.regional, report.rules)
    assert 1 <= kf.professionals - kf.eligible <= 10
    text = norm(str(report.essentials()))
    assert f"**{norm(fr.eur(kf.total_eur))}**" in text and f"**{kf.paid}** professionnels rémunérés" in text
    # 960 − 957 eligible: one of the two counts is masked, the other published
    masked = {name for name in ("professionnels", "eligibles") if report.plan.is_masked("84", name)}
    assert len(masked) == 1
    if "eligibles" in masked:
        assert f"(sur **{kf.professionals}** professionnels" in text and f"**{kf.eligible}**" not in text
    else:
        assert f"({norm(fr.percent(kf.reached_share(1)))})" in text
        assert f"(sur **{kf.eligible}** éligibles)" in text and f"**{kf.professionals}**" not in text
    rule = norm(str(report.rule_summary()))
    assert "part ≥ 50 % → forfait brut de 1 500,00 €" in rule and "patientèle « médecin traitant » / 800" in rule


def test_charts_bars_hold_zero_or_more_than_the_threshold(demo):
    import numpy as np

    report = regional(demo, "11")
    chart = report.share_chart()
    assert isinstance(chart, r.Chart) and chart.png().startswith(b"\x89PNG")
    segment, bounds = r.share_segments(report.regional, report.rules)
    values = (report.regional["dmp_vsm"] / report.regional["patients_mt_ald"].clip(lower=1)).to_numpy()
    bars = r.merged_bars(values, segment, {i: (float(a), float(b)) for i, (a, b) in enumerate(bounds) if a < b}, 0.05)
    assert bars and all(bar.count > 10 for bar in bars)
    rng = np.random.default_rng(3)
    for _ in range(50):
        values = rng.random(rng.integers(0, 80))
        segments = (values > 0.5).astype(int)
        bars = r.merged_bars(values, segments, {0: (0.0, 0.5), 1: (0.5, 1.0)}, 0.05)
        assert all(bar.count > 10 for bar in bars)
        for seg in (0, 1):  # a segment's bars hold all of it, or it is too small to be drawn
            n = int((segments == seg).sum())
            assert sum(b.count for b in bars if b.segment == seg) == (n if n > 10 else 0)


def test_chart_not_drawn_for_a_small_population(demo):
    report = regional(demo, "03")  # Guyane: 18 eligible professionals < 33
    eligible = int(report.regional["eligible"].astype(bool).sum())
    assert not report.whole and r.threshold() < eligible < r.chart_minimum()  # not withheld whole, but not charted
    shown = report.share_chart()
    assert isinstance(shown, r.Prose) and "moins de 33 professionnels" in norm(str(shown))


def test_structure_section_with_and_without_results(demo):
    from vsm.structure import regional_summary

    report = regional(demo, "84")
    parts = report.structure()
    text = norm("\n".join(str(p) for p in parts))
    summary = regional_summary(report.structure_results, "84")
    assert "forfait structure 2023" in text and "7,00 € le point" in text
    assert norm(fr.eur(summary["total_eur"])) in text
    tables = [p for p in parts if isinstance(p, r.Table)]
    assert len(tables) == 2
    # the structure section is on the very same médecins: its total is the VSM report's
    # « professionnels », one published number under two labels, masked or shown with it
    plan = report.plan
    assert plan.covers("structure_84")
    assert plan.is_masked("structure_84", "structure_professionnels") == plan.is_masked("84", "professionnels")
    expected = "s" if plan.is_masked("84", "professionnels") else str(len(report.regional))
    assert tables[0].frame.iloc[-1]["Médecins"] == expected
    counts = report.count_tables()
    assert {"structure points", "structure indicateurs"} <= set(counts)
    import pypandoc  # the tables as a reader gets them: pandoc's HTML of their Markdown

    shown = pypandoc.convert_text(tables[0]._repr_markdown_() + "\n\n" + tables[1]._repr_markdown_(), "html", format="markdown")
    assert secrecy_checks.find_leaks(shown,
                              {k: counts[k] for k in ("structure points", "structure indicateurs")}) == []
    bare = r.RegionalReport(report.rules, "P1", report.region, report.results, report.entry)
    assert "omise" in str(bare.structure()[0])


def test_structure_section_keeps_the_count_the_vsm_report_publishes(demo):
    """Martinique: the VSM sections publish its 40 professionals; the forfait structure
    section is on the very same médecins, one of whom misses volet 1. Masking « 40 » there
    would hide nothing (the reader has it), and publishing the médecins paid (39) would give
    the one back: the paid count and its amounts are masked instead."""
    report = regional(demo, "02")
    n = len(report.regional)
    assert not report.whole and not report.plan.is_masked("02", "professionnels")
    structure = report.structure_results
    mine = structure[structure["region"].astype(str) == "02"]
    assert set(mine["ps_id"]) == set(report.regional["ps_id"])
    paid = int((mine["total_points"] > 0).sum())
    assert 1 <= n - paid <= 10
    parts = report.structure()
    headline = norm(str(parts[0]))
    assert f"(sur **{n}** médecins de la région)" in headline
    assert f"**{paid}** médecins" not in headline and "**s** à **s** médecins" in headline
    distribution = [p for p in parts if isinstance(p, r.Table)][0].frame
    assert distribution.iloc[-1]["Médecins"] == str(n) and distribution.iloc[0]["Médecins"] == "s"  # 0 point: n − paid


def test_payments_section_says_where_the_list_is(demo):
    folder, structure = demo
    report = r.regional_report("medecins-2024", "P2", "11", folder, structure, "medecins-2024/P2/11/paiements.csv")
    text = str(report.payments())
    assert "`paiements.csv`, à côté de ce rapport (`medecins-2024/P2/11/` dans le dossier des rapports)" in text
    assert "complément à verser" in text


def test_every_report_of_a_period_uses_the_same_masks(demo):
    """Each notebook computes the plan on its own: it must come out the same everywhere."""
    folder, structure = demo
    mine = regional(demo, "02", "P2").plan
    theirs = r.national_report("medecins-2024", "P2", folder, structure).plan
    assert mine.protections.keys() == theirs.protections.keys()
    for scope in mine.protections:
        assert mine.protections[scope].masked == theirs.protections[scope].masked, scope


def test_introduction_follows_the_rule_set_population_and_the_secrecy_threshold(monkeypatch):
    from vsm.rules import load_rules

    doctors = r.scope_markdown(load_rules("medecins-2024"), "de la région", "entre deux chiffres")
    centres = r.scope_markdown(load_rules("centres-sante-2024"), "de la région", "entre deux chiffres")
    assert "les médecins traitants de la région" in doctors and "centres" not in doctors
    assert "les centres de santé de la région" in centres and "médecins traitants" not in centres
    assert "de 1 à 10 professionnels" in doctors
    monkeypatch.setattr(r.titles, "threshold", lambda: 4)  # what params/secret.yml would say
    assert "de 1 à 4 professionnels" in r.scope_markdown(load_rules("medecins-2024"), "de la région", "entre deux chiffres")


def test_forfait_structure_rule_set_is_a_parameter(demo, tmp_path):
    import shutil

    from vsm.structure.defaults import default_structure_rules

    folder, structure = demo
    report = regional(demo, "11")  # no JSON beside these results: the structure's default rule set
    assert r.structure.structure_rules_of(report.structure_results) == default_structure_rules()
    given = r.regional_report("medecins-2024", "P1", "11", folder, structure, structure_rules="absent-2099")
    assert given.structure_results.attrs["structure_rules"] == "absent-2099"
    with pytest.raises(VsmError, match="absent-2099"):
        given.structure()
    recorded = shutil.copy(structure, tmp_path / "structure.parquet")  # with the rule set recorded beside it
    (tmp_path / "structure.json").write_text(json.dumps({"rules": "recorded-2098"}), encoding="utf-8")
    assert r.structure.read_structure_results(recorded).attrs["structure_rules"] == "recorded-2098"
    assert r.structure.read_structure_results(recorded, "absent-2099").attrs["structure_rules"] == "absent-2099"


def test_publication_decision_saved_once_and_reused_only_on_the_same_inputs(demo, tmp_path, monkeypatch):
    """The batch's secret_statistique.json: which groups are masked in each scope, no count;
    read back only when its fingerprint is that of the inputs."""
    import json

    from vsm.report import plan as sp
    from vsm.report.structure import read_structure_results
    from vsm.rules import load_rules

    folder, structure_path = demo
    structure = read_structure_results(structure_path)
    rules = load_rules("medecins-2024")
    decided = sp.publication_plan(rules, folder, structure)
    saved = tmp_path / "secret_statistique.json"
    saved.write_text(json.dumps(decided.to_json()), encoding="utf-8")
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert set(data["publications"]) == {"P1", "P2", "structure"}
    assert not any(isinstance(v, int) and not isinstance(v, bool) for pub in data["publications"].values()
                   for item in pub.values() for v in item.values())  # names only, no count
    sp._DECIDED.clear()
    calls = []
    real = sp.decide_publication
    monkeypatch.setattr(sp, "decide_publication", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = sp.publication_plan(rules, folder, structure, saved=saved)
    masks = lambda pub: {k: v for k, v in pub.masked.items() if v}  # noqa: E731
    assert calls == [] and masks(again) == masks(decided)  # read back, not decided again
    data["empreinte"] = "0" * 64  # other inputs: decided again
    saved.write_text(json.dumps(data), encoding="utf-8")
    sp._DECIDED.clear()
    other = sp.publication_plan(rules, folder, structure, saved=saved)
    assert calls == [1] and masks(other) == masks(decided)
    # every period's reports and the forfait structure parts take their masks from it
    p1, p2 = decided.period("P1"), decided.period("P2")
    assert p1.covers("structure_53") and p2.covers("structure_53") and p1.covers("53:departements")
