"""Back-test: the statistical secrecy of the whole demo publication (both periods, both
forfaits, the 18 regions, their départements and the national synthesis), audited by
tests/secrecy_audit.py — a pivoted QR basis of the published counts over the professionals
and every candidate small set — apart from the plan's own code. Each class of leak of
issue 11 is checked by name, and the audit is shown to catch what a weaker plan lets
through."""

from __future__ import annotations

import json

import numpy as np
import pytest
from golden_reports import demo_results
from secrecy_audit import audit

from vsm.publish import secrecy
from vsm.report import plan as sp
from vsm.report.data import load_period
from vsm.report.structure import read_structure_results
from vsm.rules import load_rules

LIMIT = secrecy.settings().threshold


@pytest.fixture(scope="module")
def publication(tmp_path_factory):
    results, structure_path = demo_results(tmp_path_factory.mktemp("audit"))
    rules = load_rules("medecins-2024")
    structure = read_structure_results(structure_path)
    periods = {p: load_period(rules, p, results)[1:3] for p in ("P1", "P2")}
    size, groups, names, whole = sp.publication_groups(rules, periods, structure)
    decided = sp.publication_plan(rules, results, structure)
    return rules, results, structure, periods, size, groups, decided


def masked_keys(decided: sp.Publication) -> set:
    """The masked groups as the batch writes them (secret_statistique.json), read back."""
    data = json.loads(json.dumps(decided.to_json()))
    return {(pub, scope, name) for pub, scopes in data["publications"].items()
            for scope, item in scopes.items() for name in item["masques"]}


def test_no_small_set_readable_in_the_whole_publication(publication):
    *_, size, groups, decided = publication
    masked = masked_keys(decided)
    assert audit(size, groups, masked, LIMIT) == []
    # a decision that publishes something: every region's report keeps figures, the national ones too
    visible = {g.key for g in groups if g.key not in masked and len(g.members)}
    assert ("P1", "national", "remuneres") in visible and ("P2", "national", "complements") in visible
    assert ("P1", "11", "remuneres") in visible and ("P2", "53", "eligibles") in visible
    assert decided.stats["secondes"] < 60


def count(groups, key) -> int:
    return len(next(g for g in groups if g.key == key).members)


def test_the_three_quoted_leaks_are_closed(publication):
    *_, size, groups, decided = publication
    masked = masked_keys(decided)
    shown = lambda key: key not in masked  # noqa: E731
    regions = sorted({g.key[1] for g in groups if g.key[0] == "P2" and len(g.key[1]) == 2 and not g.national})
    # (a) P2 national « éligibles − rémunérés » minus the published regions
    if shown(("P2", "national", "eligibles")) and shown(("P2", "national", "remuneres")):
        rest = count(groups, ("P2", "national", "eligibles")) - count(groups, ("P2", "national", "remuneres"))
        for code in regions:
            if shown(("P2", code, "eligibles")) and shown(("P2", code, "remuneres")):
                rest -= count(groups, ("P2", code, "eligibles")) - count(groups, ("P2", code, "remuneres"))
        assert not 1 <= rest <= LIMIT
    # (b) paid in P2 minus paid in P1, region by region (everyone paid in P1 is paid in P2)
    for code in regions:
        p1, p2 = ("P1", code, "remuneres"), ("P2", code, "remuneres")
        if shown(p1) and shown(p2):
            assert not 1 <= count(groups, p2) - count(groups, p1) <= LIMIT, code
    # (c) La Réunion's forfait structure « Points » table: its total minus the published rows
    rows = [g for g in groups if g.key[:2] == ("structure", "structure_04") and g.key[2].startswith("points_")]
    total = ("structure", "structure_04", "structure_professionnels")
    if shown(total):
        rest = count(groups, total) - sum(len(g.members) for g in rows if shown(g.key))
        assert not 1 <= rest <= LIMIT


def test_the_audit_catches_a_plan_without_the_national_step(publication, monkeypatch):
    *_, size, groups, _ = publication
    monkeypatch.setattr(secrecy, "_couple", lambda *args, **kwargs: None)
    leaks = audit(size, groups, secrecy.decide(size, groups).masked, LIMIT)
    assert any("'06'" in what for what, _ in leaks)  # Mayotte: the national total minus the published regions


def test_the_audit_catches_a_plan_without_the_exact_search(publication, monkeypatch):
    """Only the likely sets, no mixed-integer search: La Réunion's forfait structure table
    gives back two masked rows together (the quoted failure (c))."""
    *_, size, groups, _ = publication
    monkeypatch.setattr(secrecy._Space, "exact_leak", lambda self, visible: None)
    leaks = audit(size, groups, secrecy.decide(size, groups).masked, LIMIT)
    assert any("structure_04" in what for what, _ in leaks)


def test_the_audit_catches_periods_and_forfaits_decided_apart(publication):
    """The former plan: each period, and the forfait structure, protected on its own."""
    *_, size, groups, _ = publication
    masked = set()
    for part in ("P1", "P2", "structure"):
        mine = [g for g in groups if g.key[0] == part]
        masked |= secrecy.decide(size, mine).masked
    leaks = audit(size, groups, masked, LIMIT)
    assert leaks
    assert any("P1" in what and "P2" in what for what, _ in leaks)  # across the two periods


def test_audit_on_hand_built_leaks():
    """The audit's own check: it finds a difference of nested counts, a union of two masked
    rows and a national total minus the published regions, and nothing once masked well."""
    n = 60
    everyone = np.arange(n)
    groups = [
        secrecy.Group(("P", "A", "tous"), everyone[:30]),
        secrecy.Group(("P", "A", "payes"), everyone[:25]),
        secrecy.Group(("P", "B", "tous"), everyone[30:]),
        secrecy.Group(("P", "B", "ligne_1"), everyone[30:33]),
        secrecy.Group(("P", "B", "ligne_2"), everyone[33:37]),
        secrecy.Group(("P", "B", "ligne_3"), everyone[37:]),
        secrecy.Group(("P", "national", "tous"), everyone, national=True),
    ]
    assert any("∖" in what for what, _ in audit(n, groups, set(), LIMIT))  # 30 − 25
    leaks = audit(n, groups, {("P", "A", "payes"), ("P", "B", "ligne_1"), ("P", "B", "ligne_2")}, LIMIT)
    assert any("réunion" in what for what, size in leaks)  # 30 − 23 = the two masked rows
    assert audit(n, groups, {("P", "A", "payes"), ("P", "B", "ligne_1"), ("P", "B", "ligne_2"), ("P", "B", "ligne_3")}, LIMIT) == []
    decided = secrecy.decide(n, groups)
    assert audit(n, groups, decided.masked, LIMIT) == []


REGIONAL_SECTIONS = ("essentials", "scope_note", "key_figures_section", "comparison_section", "departements_section",
                     "tiers_section", "distributions_section", "share_chart_section", "structured_chart_section",
                     "patientele_chart_section", "near_section", "forfait_structure_section", "regional_quality_section",
                     "cases_section", "without_patientele", "exclusions")
NATIONAL_SECTIONS = ("essentials", "scope_note", "key_figures", "regions", "rates_chart", "amounts_chart", "tier_totals",
                     "without_patientele", "exclusions")


def test_everything_the_reports_show_is_in_the_decision(publication, monkeypatch):
    """Every section of every report of the demo publication (18 regions × 2 periods and both
    national syntheses, as the notebooks call them) takes its masks from the one decision
    audited above: no table, chart or sentence falls back to a protection of its own."""
    from vsm import report as r
    from vsm.report import plan as plan_module

    rules, results, structure, periods, *_ = publication
    structure_path = results.parent / "forfait-structure-2023" / "resultats.parquet"
    alone = []
    monkeypatch.setattr(plan_module.Secrecy, "local", classmethod(lambda cls, pops: alone.append([p.scope for p in pops]) or cls({})))
    real_protect = secrecy.protect
    monkeypatch.setattr(secrecy, "protect", lambda *a, **k: alone.append("protect") or real_protect(*a, **k))
    shown = 0
    for period in periods:
        for code in sorted(set(periods[period][0]["region"].astype(str))):
            rep = r.regional_report(rules, period, code, results, structure_path)
            for name in REGIONAL_SECTIONS:
                out = getattr(rep, name)()
                shown += len(out) if isinstance(out, (list, tuple)) else 1
        rep = r.national_report(rules, period, results, structure_path)
        for name in NATIONAL_SECTIONS:
            getattr(rep, name)()
            shown += 1
    assert alone == [] and shown > 500
