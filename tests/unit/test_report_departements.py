"""The regional report's key figures by département (issue 12): what the table shows, that it
drops nobody, and that it is published under the same statistical secrecy as the rest."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from conftest import counts
from vsm import report as r
from vsm.display import Prose
from vsm.publish import secrecy
import secrecy_checks
from vsm.forfait import compute
from vsm.regions import departement_label, departement_names, load_regions


def region_results(rules, sizes: dict[object, int], region: str = "53", period: str = "P1", unpaid: int | None = None) -> pd.DataFrame:
    """``sizes``: département code (None: missing) → number of professionals, every second
    one reaching the first tier (60 % of 100 ALD patients), the others at 10 % — or, with
    ``unpaid``, the first ``unpaid`` professionals at 10 % and all the others paid."""
    rows, deps = [], []
    k = 0
    for code, n in sizes.items():
        for i in range(n):
            fed = (60 if i % 2 == 0 else 10) if unpaid is None else (10 if k < unpaid else 60)
            rows.append((f"p{k:04d}", 800 + k, 100, fed, 0))
            deps.append(code)
            k += 1
    table = counts(*rows)
    table["region"] = region
    table["departement"] = deps
    paid = None
    if period == "P2":  # the complementary period: what P1 paid (computed on the same counts)
        first = compute(table, rules, "P1")
        paid = pd.DataFrame({"ps_id": first["ps_id"], "paid_eur": first["amount_eur"]})
    return compute(table, rules, period, paid=paid)


def body(frame: pd.DataFrame) -> dict[str, list]:
    return {row[0]: list(row[1:]) for row in frame.itertuples(index=False, name=None)}


def test_every_departement_of_the_regions_has_a_name():
    names = departement_names()
    listed = [d for region in load_regions().values() for d in region.departements]
    assert len(listed) == len(set(listed)) == 101
    assert sorted(listed) == sorted(names)


def test_departement_labels():
    assert departement_label("22") == "22 Côtes-d'Armor"
    assert departement_label("2A") == "2A Corse-du-Sud"
    assert departement_label("974") == "974 La Réunion"
    assert departement_label("99") == "99 (code inconnu)"
    assert departement_label(None) == "Non renseigné"
    assert departement_label(float("nan")) == "Non renseigné"
    assert departement_label("  ") == "Non renseigné"


def test_rows_partition_the_region_and_add_up(rules):
    results = region_results(rules, {"56": 40, "22": 30, "29": 24})
    frame = r.figures.departements_frame(results, rules, "P1", r.plan.departement_scope("53"))
    rows = body(frame)
    assert list(rows) == ["22 Côtes-d'Armor", "29 Finistère", "56 Morbihan", "Ensemble de la région"]
    assert rows["22 Côtes-d'Armor"][:3] == [30, 30, 15]
    assert rows["56 Morbihan"][:3] == [40, 40, 20]
    total = rows["Ensemble de la région"]
    assert total[:3] == [94, 94, 47]
    parts = [v for k, v in rows.items() if k != "Ensemble de la région"]
    assert sum(p[3] for p in parts) == total[3] == sum(results["amount_eur"], Decimal("0.00"))
    assert all(isinstance(p[3], Decimal) for p in parts)


def test_missing_and_unknown_codes_are_rows_not_dropped(rules):
    results = region_results(rules, {"35": 30, None: 12, "99": 14})
    rows = body(r.figures.departements_frame(results, rules, "P1", r.plan.departement_scope("53")))
    assert list(rows) == ["35 Ille-et-Vilaine", "99 (code inconnu)", "Non renseigné", "Ensemble de la région"]
    assert sum(v[0] for k, v in rows.items() if k != "Ensemble de la région") == rows["Ensemble de la région"][0] == 56


def test_complementary_period_adds_the_complements(rules):
    results = region_results(rules, {"22": 30, "29": 30}, period="P2")
    frame = r.figures.departements_frame(results, rules, "P2", r.plan.departement_scope("53"))
    assert list(frame.columns)[-2:] == ["Compléments à verser (professionnels)", "Montant des compléments"]
    rows = body(frame)
    assert rows["Ensemble de la région"][-1] == sum(results["complement_eur"], Decimal("0.00"))


def test_small_departement_is_masked_and_not_readable_by_difference(rules):
    # 3 professionals in the Finistère: its counts are masked, and so is enough of the rest
    # that « région − other départements » does not give them back.
    results = region_results(rules, {"22": 40, "29": 3, "35": 30, "56": 36})
    plan = r.secrecy_plan(results, rules)
    scope = r.plan.departement_scope("53")
    published = r.publish(r.figures.departements_frame(results, rules, "P1", scope), plan)
    rows = {row[0]: list(row[1:]) for row in published.itertuples(index=False, name=None)}
    symbol = secrecy.settings().symbol
    assert rows["29 Finistère"][:3] == [symbol] * 3
    assert rows["29 Finistère"][3] == symbol  # its amount too
    population = r.plan.departement_population(scope, results, rules)
    protection = plan.protections[scope]
    hidden = [name for name in population.groups if protection.is_masked(name)]
    assert secrecy_checks.readable_small_sets(population.groups, hidden) == 0
    # the region's own totals: masked here exactly when the region's report masks them
    for name in ("professionnels", "eligibles", "remuneres"):
        assert protection.is_masked(name) == plan.protections["53"].is_masked(name)
    # every published count of the table is really 0 or more than the threshold
    for values in rows.values():
        for value in values[:3]:
            if value != symbol:
                number = int(str(value).replace("\u202f", "").replace(" ", ""))
                assert number == 0 or number > secrecy.settings().threshold


def test_departement_groups_partition_the_region(rules):
    results = region_results(rules, {"22": 20, "29": 20})
    pop = r.plan.departement_population("53:departements", results, rules)
    assert {"departement_22", "departement_29_eligibles", "departement_22_remuneres", "remuneres"} <= set(pop.groups)
    assert not any(name.startswith("departement_") for name in r.vsm_groups(results, rules))  # its own scope
    members = pop.groups["departement_22"].astype(int) + pop.groups["departement_29"].astype(int)
    assert np.array_equal(members, np.ones(len(results), dtype=int))


def test_report_without_departement_column_says_so(rules, tmp_path):
    results = region_results(rules, {"22": 20}).drop(columns=["departement"])
    report = r.RegionalReport(rules, "P1", load_regions()["53"], results, {})
    shown = report.departements()
    assert isinstance(shown, Prose)
    assert "ne renseigne pas le département" in str(shown.text if hasattr(shown, "text") else shown)


@pytest.mark.parametrize("size", [1, 7, 10])
def test_region_of_one_to_ten_publishes_no_departement_figure(rules, size):
    results = region_results(rules, {"22": size})
    report = r.RegionalReport(rules, "P1", load_regions()["53"], results, {})
    assert report.departements_section() == []


def test_region_totals_masked_by_the_region_are_masked_in_the_table(rules):
    # 5 eligible professionals unpaid: the region's report masks one of « éligibles » /
    # « rémunérés » (else their difference gives the 5); the table's last row follows it
    results = region_results(rules, {"22": 30, "29": 30}, unpaid=5)
    plan = r.secrecy_plan(results, rules)
    region = plan.protections["53"]
    masked = [name for name in ("professionnels", "eligibles", "remuneres") if region.is_masked(name)]
    assert masked, "the hand-built region must mask a total"
    scope = r.plan.departement_scope("53")
    published = r.publish(r.figures.departements_frame(results, rules, "P1", scope), plan)
    last = published.iloc[-1]
    symbol = secrecy.settings().symbol
    columns = {"professionnels": "Professionnels", "eligibles": "Éligibles", "remuneres": "Rémunérés"}
    for name, column in columns.items():
        assert (last[column] == symbol) == region.is_masked(name), name


def test_section_headings_are_dropped_when_the_section_shows_nothing():
    """The regional notebook's section headings are markdown cells: the batch hides one
    (« remove-cell ») when the code cell after it shows nothing (a region of 1 to 10)."""
    import nbformat

    from vsm.batch import REMOVE_CELL, SECTION_TAG, drop_empty_sections

    def heading(text):
        return nbformat.v4.new_markdown_cell(text, metadata={"tags": [SECTION_TAG]})

    shown = nbformat.v4.new_code_cell("display(x)", outputs=[nbformat.v4.new_output("display_data", {"text/markdown": "x"})])
    empty = nbformat.v4.new_code_cell("display(*[])")
    plain = nbformat.v4.new_markdown_cell("## Méthode")
    cells = [heading("## Chiffres clés"), shown, heading("## Distributions"), empty, plain, nbformat.v4.new_code_cell("y")]
    drop_empty_sections(cells)
    assert REMOVE_CELL not in cells[0].metadata["tags"]
    assert REMOVE_CELL in cells[2].metadata["tags"]
    assert "tags" not in cells[4].metadata  # an untagged heading is never hidden


def test_the_regional_notebook_holds_the_section_headings():
    """The headings and fixed prose of the regional sections are the notebook's, not Python's."""
    import json

    from conftest import REPO_DIR
    from vsm.batch import SECTION_TAG

    nb = json.loads((REPO_DIR / "notebooks" / "rapport_regional.ipynb").read_text(encoding="utf-8"))
    headings = ["".join(c["source"]).split("\n")[0] for c in nb["cells"]
                if c["cell_type"] == "markdown" and SECTION_TAG in c["metadata"].get("tags", [])]
    for wanted in ["## Chiffres clés", "## Par département", "## Montants par palier et majoration", "## Distributions",
                   "## Professionnels proches d'un seuil", "## Trois calculs expliqués"]:
        assert wanted in headings
    code = (REPO_DIR / "vsm" / "report" / "regional.py").read_text(encoding="utf-8")
    assert "## Chiffres clés" not in code and "## Distributions" not in code
