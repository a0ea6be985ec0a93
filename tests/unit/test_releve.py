"""The individual statement (vsm.releve, `vsm releve`) and the list of professionals to
accompany (a_accompagner.csv).

The statement's figures come from a results folder built here by hand (one professional per
case: each tier, with and without majoration, P2 with and without complement, no ALD
patient, a share above 100 %, absent from P1); the euros at stake are checked against
amounts computed by hand, and every « n more for the next step » against the forfait
recomputed with n and n − 1.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import eur, norm, squash, write_yaml
from vsm import present as fr
from vsm.cli import cli
from vsm.explain import explain
from vsm.forfait import compute, compute_columns
from vsm.releve.accompaniment import ACCOMPANIMENT_NAME, accompaniment
from vsm.releve.batch import read_id_list
from vsm.releve.content import load_batch, statement
from vsm.releve.gaps import NO_GAP, gaps, needed
from vsm.releve.notebook import Statements
from vsm.releve.settings import load_contacts, load_margins
from vsm.store import write_table
from vsm.rules import load_rules

# ps_id → (region, P1 counts or None, P2 counts or None); counts = (mt, ald, fed, structured)
CASES = {
    "10000000001": ("53", (800, 100, 45, 10), (800, 100, 49, 10)),  # tier 0 → 1 DMP short of 50 % in P2
    "10000000002": ("53", (1001, 100, 50, 0), (1001, 100, 60, 20)),  # tier 1, no majoration → P2 majorated
    "10000000003": ("53", (800, 90, 81, 27), (800, 90, 81, 27)),  # exactly 90 % and 1/3: top, majorated
    "10000000004": ("53", (1600, 10, 9, 2), (1600, 10, 9, 2)),  # tier 2, 2/9 structured: 1 short of 1/3
    "10000000005": ("11", (500, 20, 30, 30), (500, 20, 30, 30)),  # share 150 %
    "10000000006": ("53", (300, 0, 5, 0), (300, 0, 5, 0)),  # no ALD patient: not eligible
    "10000000007": ("53", (1200, 100, 95, 40), (1000, 120, 100, 40)),  # P2 lower than P1: complement 0
    "10000000008": ("53", None, (800, 100, 60, 15)),  # absent from P1; P2 structured 25 %
    "10000000009": ("53", (800, 100, 85, 0), (800, 100, 85, 0)),  # 85 %: 5 short of 90 %
    "10000000010": ("53", (800, 100, 60, 15), (800, 100, 60, 15)),  # 25 % structured: 5 short of 1/3
}
SNAPSHOTS = {"P1": dt.date(2023, 12, 31), "P2": dt.date(2024, 6, 30)}


def _counts(position: int, kind: str = "medecin") -> pd.DataFrame:
    """The cases' counts of the rule set's first (0) or later (1) period."""
    rows = []
    for ps_id, (region, p1, p2) in CASES.items():
        values = p1 if position == 0 else p2
        if values is None:
            continue
        rows.append({"ps_id": ps_id, "ps_kind": kind, "region": region, "snapshot_date": SNAPSHOTS["P1" if position == 0 else "P2"],
                     **dict(zip(["patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured"], values))})
    return pd.DataFrame(rows)


def build_results(folder: Path, rules) -> Path:
    """Results of every period of ``rules`` for the cases (a complementary period with the
    amounts of the period it completes as already paid), and a manifest."""
    computed = {}
    for position, (period, p) in enumerate(rules.periods.items()):
        paid = None
        if p.complement_of:
            paid = computed[p.complement_of][["ps_id", "amount_eur"]].rename(columns={"amount_eur": "paid_eur"})
        computed[period] = compute(_counts(min(position, 1), rules.population), rules, period, paid=paid)
        write_table(computed[period], folder / period / "resultats.parquet")
    manifest = {
        "rules": {"id": rules.id, "sha256": rules.sha256},
        "periods": {p: {"snapshot_dates": [SNAPSHOTS["P1" if i == 0 else "P2"].isoformat()]} for i, p in enumerate(rules.periods)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def m2024():
    return load_rules("medecins-2024")


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory, m2024) -> Path:
    return build_results(tmp_path_factory.mktemp("resultats"), m2024)


@pytest.fixture(scope="module")
def batch(results_dir, m2024):
    return load_batch(m2024, results_dir)


def results_row(results_dir: Path, period: str, ps_id: str) -> pd.Series:
    table = pd.read_parquet(results_dir / period / "resultats.parquet")
    return table[table["ps_id"] == ps_id].iloc[0]


# --------------------------------------------------------------------------- figures


@pytest.mark.parametrize("ps_id", [p for p in CASES])
def test_statement_figures_equal_the_results_file_to_the_cent(batch, results_dir, ps_id):
    s = statement(batch, ps_id)
    for ps in s.periods:
        if ps.row is None:
            assert CASES[ps_id][1 if ps.period == "P1" else 2] is None
            continue
        row = results_row(results_dir, ps.period, ps_id)
        payable = row["complement_eur"] if ps.period == "P2" else row["amount_eur"]
        assert s.payable(ps.period) == payable
        figures = dict(s.figures(ps))
        assert fr.eur(row["amount_eur"]) in figures.get("Forfait de la période", "") + figures.get("Forfait, déjà versé, complément", "")
        assert figures["Patientèle MT"].startswith(fr.integer(int(row["patients_mt"])))
        assert f"dont {fr.integer(int(row['patients_mt_ald']))} en ALD" in figures["Patientèle MT"]
        assert "31/12/2023" in figures["Patientèle MT"] if ps.period == "P1" else "30/06/2024" in figures["Patientèle MT"]
        if ps.period == "P2":
            assert fr.eur(row["paid_eur"]) in figures["Forfait, déjà versé, complément"]
            assert fr.eur(row["complement_eur"]) in figures["Forfait, déjà versé, complément"]
        line = next(r for r in s.summary() if r[0] == ps.period)
        assert line[2] == fr.eur(row["amount_eur"]) and line[4] == fr.eur(payable)
        assert fr.eur(payable) in str(s.header()[0])
        for gap in ps.gaps:
            assert gap.payable_now == payable


def test_the_cases_cover_each_tier_majoration_complement_and_edge(results_dir):
    p1 = pd.read_parquet(results_dir / "P1" / "resultats.parquet")
    p2 = pd.read_parquet(results_dir / "P2" / "resultats.parquet")
    assert set(p1["tier"]) == {0, 1, 2}
    assert {(t, m) for t, m in zip(p1["tier"], p1["majoration"])} >= {(1, False), (2, False), (2, True)}
    assert (p2["complement_eur"] > 0).any() and ((p2["complement_eur"] == 0) & (p2["paid_eur"] > 0)).any()
    assert (~p1["eligible"]).any() and (p1["vsm_share"] > 1).any()
    assert ((p2["tier"] == 1) & p2["majoration"]).any()


@pytest.mark.parametrize("ps_id", [p for p in CASES])
def test_each_step_is_what_vsm_explain_says(batch, results_dir, m2024, ps_id):
    s = statement(batch, ps_id)
    for ps in s.periods:
        if ps.row is None:
            continue
        table = pd.read_parquet(results_dir / ps.period / "resultats.parquet")
        lines = explain(table, m2024, ps.period, ps_id).splitlines()[1:]
        assert [f"  {i}. {step}" for i, step in enumerate(ps.steps, start=1)] == lines
        markdown = norm(s.steps_markdown(ps)).replace("\\", "")
        for step in ps.steps:
            assert norm(step.text) in markdown


@pytest.mark.parametrize("rule_id", ["medecins-2023", "centres-sante-2024"])
def test_every_shipped_rule_set_gives_statements_equal_to_its_results(rule_id, tmp_path):
    rules = load_rules(rule_id)
    folder = build_results(tmp_path, rules)
    batch = load_batch(rules, folder)
    for ps_id in CASES:
        if not batch.known(ps_id):
            continue
        s = statement(batch, ps_id)
        assert [ps.period for ps in s.periods] == list(rules.periods)
        for ps in s.periods:
            if ps.row is None:
                continue
            row = results_row(folder, ps.period, ps_id)
            payable = row["complement_eur"] if rules.period(ps.period).complement_of else row["amount_eur"]
            assert s.payable(ps.period) == payable
            table = pd.read_parquet(folder / ps.period / "resultats.parquet")
            assert [f"  {i}. {x}" for i, x in enumerate(ps.steps, start=1)] == explain(table, rules, ps.period, ps_id).splitlines()[1:]
            if not rules.majoration.enabled.value:
                assert all(g.kind == "palier" for g in ps.gaps)
            text = " ".join(v for _, v in s.figures(ps))
            assert fr.eur(row["amount_eur"]) in text
        if rules.population == "centre":
            assert s.facts()["title"] == f"Relevé individuel — centre de santé {ps_id}"


def test_statement_of_a_professional_absent_from_a_period(batch):
    s = statement(batch, "10000000008")
    p1 = s.periods[0]
    assert p1.row is None
    text = str(s.period_section("P1")[0])
    assert "ne figurez pas dans les résultats de la période P1" in text
    assert s.summary()[0][2] is None and "P1 : absent des résultats, rien à verser" in str(s.header()[0])


# --------------------------------------------------------------------------- next steps, by hand


def test_gaps_and_euros_at_stake_computed_by_hand(batch):
    s = statement(batch, "10000000002")
    p1 = s.periods[0]
    # 50/100 = 50 %: 40 more DMPs for 90 %; 0/50 structured: 17 more for 1/3 (17/50 ≥ 1/3 > 16/50)
    assert [(g.kind, g.missing) for g in p1.gaps] == [("palier", 40), ("majoration", 17)]
    # now 1 500 × 1 001 / 800 = 1 876,875 → 1 876,88 ; 3 000 × 1 001 / 800 = 3 753,75 ;
    # (1 500 + 300) × 1 001 / 800 = 2 252,25
    assert p1.gaps[0].payable_now == eur("1876.88")
    assert p1.gaps[0].payable_then == eur("3753.75") and p1.gaps[0].stake == eur("1876.87")
    assert p1.gaps[1].payable_then == eur("2252.25") and p1.gaps[1].stake == eur("375.37")
    text = squash(s.gaps_markdown(p1))
    assert "40 DMP alimentés de plus pour atteindre 90 %" in text
    assert "17 VSM structurés de plus pour la majoration" in text
    assert "soit **1 876,87 €** de plus" in text and "soit **375,37 €** de plus" in text


def test_p2_stake_is_the_extra_complement(batch):
    s = statement(batch, "10000000002")
    p2 = s.periods[1]
    # P2: 60/100, majorated (20/60 = 1/3): (1 500 + 300) × 1 001 / 800 = 2 252,25, paid 1 876,88
    assert s.payable("P2") == eur("375.37")
    assert [(g.kind, g.missing) for g in p2.gaps] == [("palier", 30)]
    # 90 DMPs, 50 structured kept ≥ 1/3 (the 30 more are structured): 3 600 × 1 001 / 800 = 4 504,50
    assert p2.gaps[0].payable_then == eur("4504.50") - eur("1876.88")
    assert "complément de 2 627,62 € au lieu de 375,37 €" in squash(s.gaps_markdown(p2))
    assert "majoration comprise" in s.gaps_markdown(p2)


def test_one_dmp_short_and_one_structured_short(batch):
    s = statement(batch, "10000000001")
    assert [(g.kind, g.missing) for g in s.periods[1].gaps] == [("palier", 1)]
    assert "1 DMP alimenté de plus pour atteindre 50 %" in squash(s.gaps_markdown(s.periods[1]))
    assert "ne s'applique qu'une fois un palier atteint" in s.gaps_markdown(s.periods[1])
    s = statement(batch, "10000000004")
    assert [(g.kind, g.missing) for g in s.periods[0].gaps] == [("majoration", 1)]
    # 3 000 × 2 = 6 000 → 3 600 × 2 = 7 200
    assert s.periods[0].gaps[0].stake == eur("1200.00")


def test_top_tier_with_majoration_and_share_above_100_percent(batch):
    for ps_id in ("10000000003", "10000000005"):
        s = statement(batch, ps_id)
        assert s.periods[0].gaps == []
        assert "aucune, le palier le plus haut est atteint, et la majoration aussi" in s.gaps_markdown(s.periods[0])
    s = statement(batch, "10000000005")
    assert any("la part dépasse 100 %" in step.text for step in s.periods[0].steps)
    assert "150,0 %" in norm(dict(s.figures(s.periods[0]))["Palier"])


def test_not_eligible_without_ald_patient(batch):
    s = statement(batch, "10000000006")
    ps = s.periods[0]
    assert ps.gaps == [] and not ps.row["eligible"]
    assert "aucune : sans au moins 1 patient(s)" in squash(s.gaps_markdown(ps))
    assert dict(s.figures(ps))["Palier"].startswith("non éligible")


def test_p2_below_p1_pays_no_complement(batch):
    s = statement(batch, "10000000007")
    assert s.payable("P2") == eur("0.00")
    assert "complément 0,00 €" in squash(dict(s.figures(s.periods[1]))["Forfait, déjà versé, complément"])


# --------------------------------------------------------------------------- the smallest n, property


def _ge_rules():
    return load_rules("medecins-2024")


@pytest.fixture(scope="module")
def strict_rules(tmp_path_factory):
    """A variant where every comparison is strict (« > »): the smallest n changes."""
    from conftest import rules_yaml

    data = rules_yaml()
    data["id"] = "strict"
    data["tiers"]["comparison"] = ">"
    data["majoration"]["min_structured_share"]["comparison"] = ">"
    return load_rules(write_yaml(tmp_path_factory.mktemp("strict") / "strict.yml", data))


COUNTS = st.tuples(st.integers(0, 5000), st.integers(0, 3000), st.integers(0, 4000), st.integers(0, 4000)).map(
    lambda t: (t[0], t[1], t[2], min(t[3], t[2]))
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(COUNTS, min_size=1, max_size=30), strict=st.booleans(), period=st.sampled_from(["P1", "P2"]))
def test_needed_numbers_are_the_smallest_that_reach_the_step(rows, strict, period, strict_rules):
    rules = strict_rules if strict else _GE
    mt, ald, fed, structured = (np.array(c, dtype=np.int64) for c in zip(*rows))
    table = pd.DataFrame({"ps_id": [str(i) for i in range(len(rows))], "patients_mt": mt, "patients_mt_ald": ald,
                          "dmp_vsm": fed, "dmp_vsm_structured": structured})
    paid = None
    if period == "P2":
        table["paid_eur"] = [Decimal(int(v)) for v in mt]  # any earlier payment
        paid = np.array([int(v) * 100 for v in mt], dtype=np.int64)
    g = gaps(table, rules, period)
    now = compute_columns(mt, ald, fed, structured, rules, period, paid_cents=paid)
    n = g.dmp_needed
    reach = n > 0
    if reach.any():
        at_n = compute_columns(mt, ald, fed + np.where(reach, n, 0), structured, rules, period, paid_cents=paid)
        before = compute_columns(mt, ald, fed + np.where(reach, n - 1, 0), structured, rules, period, paid_cents=paid)
        assert (at_n["tier"][reach] >= g.next_level[reach]).all()  # a small ALD count can jump a tier
        assert (before["tier"][reach] < g.next_level[reach]).all()
    # no gap only when the top tier is reached or the professional is not eligible
    none = n == NO_GAP
    assert ((now["tier"][none] == len(rules.tiers.levels)) | ~now["eligible"][none]).all()
    k = g.structured_needed
    more = k > 0
    if more.any():
        at_k = compute_columns(mt, ald, fed, structured + np.where(more, k, 0), rules, period, paid_cents=paid)
        before = compute_columns(mt, ald, fed, structured + np.where(more, k - 1, 0), rules, period, paid_cents=paid)
        assert at_k["majoration"][more].all() and not before["majoration"][more].any()
        assert (structured[more] + k[more] <= fed[more]).all()  # among the DMPs already fed
        stake = (at_k["complement_cents"] if paid is not None else at_k["amount_cents"]) - (
            now["complement_cents"] if paid is not None else now["amount_cents"])
        assert (g.majoration_payable_cents[more] - g.payable_cents[more] == stake[more]).all()


_GE = _ge_rules()


@given(count=st.integers(0, 10**6), den=st.integers(1, 10**6), p=st.integers(0, 50), q=st.integers(1, 50),
       strict=st.booleans())
@settings(max_examples=300, deadline=None)
def test_needed_is_exact_at_any_threshold(count, den, p, q, strict):
    threshold = Fraction(min(p, q), q)
    comparison = ">" if strict else ">="
    n = int(needed(np.array([count]), np.array([den]), threshold, comparison)[0])
    reached = (lambda x: Fraction(x, den) > threshold) if strict else (lambda x: Fraction(x, den) >= threshold)
    assert reached(count + n)
    assert n == 0 or not reached(count + n - 1)


# --------------------------------------------------------------------------- the list to accompany


def test_accompaniment_lists_each_gap_exactly_sorted_by_stake(results_dir, m2024):
    table = pd.read_parquet(results_dir / "P1" / "resultats.parquet")
    frame = accompaniment(table, m2024, "P1", "53")
    got = {(r.ps_id, r.etape): r for r in frame.itertuples()}
    # 45 % (≥ 40 %): 5 DMPs for 50 %; 85 % (≥ 80 %): 5 DMPs for 90 %; 15/60 = 25 % structured
    # (≥ 1/3 − 10 points): 5 for 20/60. Not listed: 2/9 = 22,2 % structured (under 23,3 %), 50 %
    # for 90 %, and region 11.
    assert set(got) == {("10000000001", "palier 1"), ("10000000009", "palier 2"), ("10000000010", "majoration")}
    assert got[("10000000001", "palier 1")].manque == 5
    assert got[("10000000009", "palier 2")].manque == 5
    assert got[("10000000010", "majoration")].manque == 5
    assert got[("10000000010", "majoration")].unite == "VSM structurés"
    # 800 patients (weight 1): 0 → 1 500 ; 1 500 → 3 000 ; 1 500 → 1 800
    assert got[("10000000001", "palier 1")].enjeu_eur == eur("1500.00")
    assert got[("10000000009", "palier 2")].enjeu_eur == eur("1500.00")
    assert got[("10000000010", "majoration")].enjeu_eur == eur("300.00")
    assert list(frame["ps_id"]) == ["10000000001", "10000000009", "10000000010"]
    stakes = list(frame["enjeu_eur"])
    assert stakes == sorted(stakes, reverse=True)
    assert "10000000005" not in set(frame["ps_id"])  # region 11
    assert "patient" not in " ".join(frame.columns).replace("patients_mt", "")  # no patient identifier column


def test_accompaniment_margin_comes_from_the_params_file(results_dir, m2024, tmp_path):
    table = pd.read_parquet(results_dir / "P1" / "resultats.parquet")
    path = write_yaml(tmp_path / "accompagnement.yml", {
        "marge_palier": {"value": "1/25", "rationale": "essai"},
        "marge_majoration": {"value": "0", "rationale": "essai"},
    })
    frame = accompaniment(table, m2024, "P1", "53", load_margins(path))
    # 45 % is 5 points under 50 %, 85 % is 5 points under 90 %: neither within 4 points
    assert frame.empty
    with pytest.raises(Exception, match="justification"):
        load_margins(write_yaml(tmp_path / "bad.yml", {"marge_palier": {"value": "1/10"}, "marge_majoration": {"value": "1/10", "rationale": "x"}}))
    shipped = load_margins()
    assert shipped.tier == Fraction(1, 10) and shipped.majoration == Fraction(1, 10)


def test_accompaniment_list_written_beside_the_payments_and_never_indexed(results_dir, m2024, tmp_path):
    from vsm import batch

    batch.write_all_payments(m2024, ["P1", "P2"], ["53", "11"], results_dir, tmp_path)
    folder = tmp_path / m2024.id / "P1" / "53"
    assert (folder / "paiements.csv").is_file()
    written = pd.read_csv(folder / ACCOMPANIMENT_NAME, dtype={"ps_id": str})
    expected = accompaniment(pd.read_parquet(results_dir / "P1" / "resultats.parquet"), m2024, "P1", "53")
    assert written["ps_id"].tolist() == expected["ps_id"].tolist()
    assert [Decimal(str(v)).quantize(Decimal("0.01")) for v in written["enjeu_eur"]] == list(expected["enjeu_eur"])
    assert (tmp_path / m2024.id / "P2" / "11" / ACCOMPANIMENT_NAME).is_file()
    from vsm.render import index_html

    assert "a_accompagner" not in index_html(tmp_path, [])


# --------------------------------------------------------------------------- settings and identifiers


def test_contact_placeholder_and_filled_contact(batch, tmp_path):
    s = statement(batch, "10000000002")
    assert s.contact is None
    assert "Adresse de contact non renseignée" in s.contact_markdown()
    path = write_yaml(tmp_path / "contact.yml", {"defaut": None, "regions": {"53": "Service des relations avec les professionnels de santé"}})
    contacts = load_contacts(path)
    assert contacts.for_region("53").startswith("Service des relations") and contacts.for_region("11") is None
    with pytest.raises(Exception, match="inconnu"):
        load_contacts(write_yaml(tmp_path / "bad.yml", {"regions": {"4": "x"}}))
    assert load_contacts().default is None  # shipped file: nothing made up


def test_id_lists_with_or_without_header(tmp_path):
    (tmp_path / "a.csv").write_text("ps_id;nom\n0100;x\n0200;y\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("0100\n\n0200\n", encoding="utf-8")
    assert read_id_list(tmp_path / "a.csv") == ["0100", "0200"]
    assert read_id_list(tmp_path / "b.txt") == ["0100", "0200"]
    (tmp_path / "c.csv").write_text("ps_id,nom\n,x\n", encoding="utf-8")
    with pytest.raises(Exception, match="ligne 2"):
        read_id_list(tmp_path / "c.csv")
    (tmp_path / "d.csv").write_text("", encoding="utf-8")
    with pytest.raises(Exception, match="vide"):
        read_id_list(tmp_path / "d.csv")


def test_number_ids_are_refused_in_the_notebook(results_dir):
    with pytest.raises(Exception, match="comme texte"):
        Statements("medecins-2024", results_dir, 10000000002)


def test_results_disagreeing_with_the_rules_are_refused(results_dir, m2024, tmp_path):
    import shutil

    copy = tmp_path / "r"
    shutil.copytree(results_dir, copy)
    table = pd.read_parquet(copy / "P1" / "resultats.parquet")
    table.loc[0, "amount_eur"] = Decimal("1.00")
    write_table(table, copy / "P1" / "resultats.parquet")
    with pytest.raises(Exception, match="ne correspondent pas"):
        load_batch(m2024, copy)


# --------------------------------------------------------------------------- the command, rendered


def run_cli(*args):
    return CliRunner().invoke(cli, list(args))


def test_unknown_identifier_names_no_other_professional(results_dir, tmp_path):
    out = tmp_path / "releves"
    result = run_cli("releve", "--ps-id", "99999999999", "--results", str(results_dir), "--out", str(out))
    assert result.exit_code == 2
    assert "« 99999999999 » introuvable" in result.output
    assert not re.search(r"1000000000\d", result.output)
    assert not out.exists() or not any(out.iterdir())


def test_both_or_neither_option_is_refused(results_dir, tmp_path):
    assert run_cli("releve", "--results", str(results_dir)).exit_code == 2
    (tmp_path / "ids.csv").write_text("ps_id\n10000000001\n", encoding="utf-8")
    result = run_cli("releve", "--ps-id", "10000000001", "--liste", str(tmp_path / "ids.csv"), "--results", str(results_dir))
    assert result.exit_code == 2 and "pas les deux" in result.output


@pytest.fixture(scope="module")
def produced(results_dir, tmp_path_factory):
    """`vsm releve --liste` with two known identifiers and one unknown, a contact file, and
    the work folder and temporary file an interrupted run left in the output folder."""
    root = tmp_path_factory.mktemp("cli")
    out = root / "releves"
    out.mkdir()
    (out / ".releves.vsm-staging-abc123").mkdir()
    (out / ".releves.vsm-staging-abc123" / "lot.ipynb").write_text("{}", encoding="utf-8")
    (out / ".10000000002.pdf.abcdefgh.tmp").write_bytes(b"%PDF partiel")
    (root / "ids.csv").write_text("ps_id\n10000000002\n10000000008\n00000000000\n10000000002\n", encoding="utf-8")
    contact = write_yaml(root / "contact.yml", {"defaut": "CPAM — service Forfaits, 1 rue de l'Exemple (adresse d'essai)", "regions": {}})
    result = subprocess.run(
        [str(Path(sys.executable).parent / "vsm"), "releve", "--liste", str(root / "ids.csv"),
         "--results", str(results_dir), "--out", str(out), "--contact", str(contact), "--jobs", "2"],
        capture_output=True, text=True, timeout=600,
    )
    return result, out


def test_list_with_an_unknown_identifier_produces_the_others(produced):
    result, out = produced
    assert result.returncode == 1, result.stderr
    assert "1 identifiant(s) introuvable(s)" in result.stderr and "00000000000" in result.stderr
    assert "1 identifiant(s) en double" in result.stdout
    names = sorted(p.name for p in out.iterdir())
    assert names == ["10000000002.html", "10000000002.pdf", "10000000008.html", "10000000008.pdf"]


def test_a_folder_holding_other_files_is_refused_and_left_as_it_was(results_dir, tmp_path):
    out = tmp_path / "mes-documents"
    out.mkdir()
    (out / "notes.txt").write_text("à garder", encoding="utf-8")
    (out / "10000000002.pdf").write_bytes(b"un autre document")
    result = run_cli("releve", "--ps-id", "10000000002", "--results", str(results_dir), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "n'est pas un dossier de relevés de vsm" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["10000000002.pdf", "notes.txt"]
    assert (out / "10000000002.pdf").read_bytes() == b"un autre document"
    for target in (results_dir, results_dir / "P1"):  # the inputs, or a folder inside them
        refused = run_cli("releve", "--ps-id", "10000000002", "--results", str(results_dir), "--out", str(target))
        assert refused.exit_code == 2 and "Traceback" not in refused.output


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def test_pdf_text_of_a_statement(produced, results_dir):
    _, out = produced
    text = squash(pdf_text(out / "10000000002.pdf"))
    p1, p2 = results_row(results_dir, "P1", "10000000002"), results_row(results_dir, "P2", "10000000002")
    assert "Relevé individuel — médecin 10000000002" in text
    for amount in (p1["amount_eur"], p2["amount_eur"], p2["paid_eur"], p2["complement_eur"]):
        assert fr.eur(amount).replace("\u202f", " ").replace("\u00a0", " ") in text
    assert "40 DMP alimentés de plus pour atteindre 90 %" in text
    assert "17 VSM structurés de plus pour la majoration" in text
    assert "30 DMP alimentés de plus pour atteindre 90 %" in text
    assert "note méthodologique, § 3, règles de calcul du forfait, point 1" in text
    assert "1 rue de l'Exemple" in text and "non renseignée" not in text
    assert "Document personnel" in text and "secret statistique" in text
    assert "1 001 / 800" in text
    assert 1 <= pdf_pages(out / "10000000002.pdf") <= 2


def test_statements_of_one_batch_do_not_leak_into_each_other(produced):
    _, out = produced
    for own, other in (("10000000002", "10000000008"), ("10000000008", "10000000002")):
        for suffix in (".pdf", ".html"):
            path = out / f"{own}{suffix}"
            text = pdf_text(path) if suffix == ".pdf" else path.read_text(encoding="utf-8")
            assert own in text and other not in text
    text = squash(pdf_text(out / "10000000008.pdf"))
    assert "ne figurez pas dans les résultats de la période P1" in text
    assert "5 VSM structurés de plus pour la majoration" in text  # 15/60 → 20/60
