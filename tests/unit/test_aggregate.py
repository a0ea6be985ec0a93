"""Aggregation of hand-built DMP traces and patientèle snapshots, checked against amounts
computed by hand from the methodology note (every expected figure is worked out in the
comments, independently of the code)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import duckdb
from blake3 import blake3
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from vsm.aggregate import FEED_REASONS, aggregate
from vsm.cli import cli
from vsm.errors import VsmError
from vsm.ingest.extracts import load_patientele, open_extract
from vsm.paths import rules_dir
from vsm.pipeline import compute_extracts, run
from vsm.rules import load_rules

S = "urn:asip:ci-sis:vsm:2012"  # structured (CI-SIS)
IPS = "urn:ihe:pcc:ips:2020"  # structured (IPS-FR)
U = "urn:ihe:iti:xds-sd:pdf:2008"  # unstructured

FEED_COLUMNS = ["ps_id", "dmp_id", "event_date", "type_code", "format_code", "status", "action"]

# (ps_id, dmp_id, date, type_code, format_code, status, action, expected reason P1, expected reason P2)
TRACES = [
    # Professional A (médecin, 02). P1 end 2023-12-31: 10 ALD, 1 000 patients MT.
    ("A", "D1", "2022-01-01", "SYNTH", S, "success", "creation", "counted", "counted"),  # first day of the period
    ("A", "D1", "2023-05-01", "SYNTH", U, "success", "update", "counted", "counted"),  # same DMP again
    ("A", "D2", "2023-12-31", "SYNTH", U, "success", "creation", "counted", "counted"),  # last day of P1
    ("A", "D3", "2021-12-31", "SYNTH", S, "success", "creation", "outside_period", "outside_period"),  # day before
    ("A", "D4", "2024-01-01", "SYNTH", S, "success", "creation", "outside_period", "counted"),  # day after P1
    ("A", "D5", "2023-03-03", "SYNTH", S, "failure", "creation", "status_not_counted", "status_not_counted"),
    ("A", "D6", "2023-03-03", "11490-0", S, "success", "creation", "type_not_counted", "type_not_counted"),
    ("A", "D7", "2023-03-03", "SYNTH", S, "success", "deletion", "action_not_counted", "action_not_counted"),
    ("A", "D8", "2023-03-01", "SYNTH", U, "success", "creation", "counted", "counted"),  # unstructured, then
    ("A", "D8", "2024-03-01", "SYNTH", IPS, "success", "update", "outside_period", "counted"),  # structured in P2
    ("A", "D9", "2023-01-01", "SYNTH", S, "success", "creation", "counted", "counted"),  # structured, then
    ("A", "D9", "2023-06-01", "SYNTH", "", "success", "update", "counted", "counted"),  # no formatCode: unstructured
    ("A", "D10", "2023-02-02", "SYNTH", U, "success", "creation", "counted", "counted"),  # shared with B
    ("A", "D11", "2024-07-01", "SYNTH", S, "success", "creation", "outside_period", "outside_period"),  # day after P2
    # Professional B (médecin, 11): 4 ALD, 400 patients MT at both ends.
    ("B", "D10", "2023-02-02", "SYNTH", U, "success", "creation", "counted", "counted"),
    ("B", "D20", "2022-06-15", "SYNTH", U, "success", "creation", "counted", "counted"),
    ("B", "D21", "2023-09-30", "SYNTH", U, "success", "update", "counted", "counted"),
    ("B", "D22", "2024-05-01", "SYNTH", U, "success", "creation", "outside_period", "counted"),
    # C is a centre de santé: its feeds do not count under the médecins' rule set.
    ("C", "D30", "2023-01-10", "SYNTH", S, "success", "creation", "other_population", "other_population"),
    # Z has no patientèle row at all.
    ("Z", "D40", "2023-01-10", "SYNTH", S, "success", "creation", "no_patientele", "no_patientele"),
    ("Z", "D41", "2023-01-11", "SYNTH", S, "success", "creation", "no_patientele", "no_patientele"),
    ("Z", "D42", "2023-01-12", "SYNTH", S, "failure", "creation", "status_not_counted", "status_not_counted"),
    # E starts in 2024: no snapshot on or before 2023-12-31.
    ("E", "D50", "2023-11-10", "SYNTH", U, "success", "creation", "no_patientele", "counted"),
]

PATIENTELE = [
    # ps_id, ps_kind, region, departement, snapshot_date, patients_mt, patients_mt_ald, reason P1, reason P2
    ("A", "medecin", "02", "972", "2023-06-30", 800, 10, "superseded", "superseded"),
    ("A", "medecin", "02", "972", "2023-12-31", 1000, 10, "used", "superseded"),
    ("A", "medecin", "02", "972", "2024-06-30", 1200, 10, "after_end", "used"),
    ("A", "medecin", "02", "972", "2024-12-31", 900, 5, "after_end", "after_end"),
    ("B", "medecin", "11", "75", "2023-12-31", 400, 4, "used", "superseded"),
    ("B", "medecin", "11", "75", "2024-06-30", 400, 4, "after_end", "used"),
    ("C", "centre", "11", "93", "2023-12-31", 3000, 100, "other_population", "other_population"),
    ("E", "medecin", "04", "974", "2024-06-30", 800, 1, "after_end", "used"),
]

# Expected amounts, by hand (note § 3):
# P1, rule "any":
#   A: DMPs D1 D2 D8 D9 D10 = 5; structured (any CI-SIS feed in P1) D1 D9 = 2; 2/5 ≥ 1/3 → +20 %.
#      share 5/10 = 50 % → 1 500 €; weight 1 000/800 → (1 500 + 300) × 1,25 = 2 250,00 €.
#   B: D10 D20 D21 = 3 / 4 ALD = 75 % → 1 500 €, no structured; × 400/800 → 750,00 €.
# P2, rule "any":
#   A: D1 D2 D4 D8 D9 D10 = 6 / 10 = 60 % → 1 500 €; structured D1 D4 D8 D9 = 4/6 → +300 €;
#      × 1 200/800 = 1,5 → 2 700,00 €; paid 2 250,00 € → complement 450,00 €.
#   B: 4/4 = 100 % → 3 000 € × 0,5 = 1 500,00 €; paid 750,00 € → complement 750,00 €.
#   E: D50 = 1/1 = 100 % → 3 000 € × 800/800 = 3 000,00 €; nothing paid in P1 → 3 000,00 €.
# Rule "latest" (a DMP is structured if its latest counted feed is):
#   P1 A: D1 latest U, D9 latest unstructured → 0/5 → no majoration → 1 500 × 1,25 = 1 875,00 €.
#   P2 A: D4 (S) and D8 (latest IPS) → 2/6 = exactly 1/3 → majoration → 2 700,00 €; complement 825,00 €.
EXPECTED = {
    ("any", "P1"): {"A": "2250.00", "B": "750.00"},
    ("any", "P2"): {"A": "2700.00", "B": "1500.00", "E": "3000.00"},
    ("latest", "P1"): {"A": "1875.00", "B": "750.00"},
    ("latest", "P2"): {"A": "2700.00", "B": "1500.00", "E": "3000.00"},
}
EXPECTED_COMPLEMENT = {
    "any": {"A": "450.00", "B": "750.00", "E": "3000.00"},
    "latest": {"A": "825.00", "B": "750.00", "E": "3000.00"},
}


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def extracts(tmp_path: Path) -> tuple[Path, Path]:
    feeds = write_csv(tmp_path / "traces.csv", FEED_COLUMNS, [t[:7] for t in TRACES])
    patientele = write_csv(
        tmp_path / "patientele.csv",
        ["ps_id", "ps_kind", "region", "departement", "snapshot_date", "patients_mt", "patients_mt_ald"],
        [p[:7] for p in PATIENTELE],
    )
    return feeds, patientele


@pytest.fixture
def latest_rules(tmp_path: Path):
    variant = tmp_path / "latest.yml"
    data = {
        "id": "medecins-2024-latest",
        "base": str(rules_dir() / "medecins-2024.yml"),
        "label": "Variante : un DMP est structuré si sa dernière alimentation l'est",
        "population": "medecin",
        "documents": {},
        "indicator": {
            "structured_rule": {
                "value": "latest",
                "source": {
                    "seed": "002_ba23acbf965b9b3d.txt",
                    "passage": "§ 3, majoration",
                    "quote": "La majoration se base sur le rapport du nombre de VSM alimentés en données structurées",
                },
            }
        },
    }
    variant.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_rules(variant)


def _aggregate(feeds: Path, patientele: Path, rules, period: str):
    con = duckdb.connect()
    load_patientele(con, patientele)
    return aggregate(con, open_extract(con, feeds, "traces_dmp"), rules, period)


def _amounts(results: pd.DataFrame, column: str = "amount_eur") -> dict[str, str]:
    return {r.ps_id: str(getattr(r, column)) for r in results.itertuples()}


@pytest.mark.parametrize("period", ["P1", "P2"])
def test_every_trace_row_is_counted_once_under_its_reason(extracts, period):
    agg = _aggregate(*extracts, load_rules("medecins-2024"), period)
    column = 7 if period == "P1" else 8
    expected = Counter(t[column] for t in TRACES)
    assert {k: v for k, v in agg.feed_tally.items() if v} == dict(expected)
    assert sum(agg.feed_tally.values()) == len(TRACES)
    patientele_expected = Counter(p[7 if period == "P1" else 8] for p in PATIENTELE)
    assert {k: v for k, v in agg.patientele_tally.items() if v} == dict(patientele_expected)


def test_numerator_counts_distinct_dmps_structured_if_any_feed_is(extracts):
    agg = _aggregate(*extracts, load_rules("medecins-2024"), "P1")
    counts = agg.counts.set_index("ps_id")
    assert counts.loc["A", "dmp_vsm"] == 5 and counts.loc["A", "dmp_vsm_structured"] == 2
    assert counts.loc["B", "dmp_vsm"] == 3 and counts.loc["B", "dmp_vsm_structured"] == 0
    # denominator and weight from the latest snapshot on or before the period's end
    assert counts.loc["A", "patients_mt"] == 1000 and str(counts.loc["A", "snapshot_date"]) == "2023-12-31"
    assert set(counts.index) == {"A", "B"}  # C is a centre, E has no snapshot yet, Z none at all


def test_professionals_who_fed_without_patientele_are_listed(extracts):
    agg = _aggregate(*extracts, load_rules("medecins-2024"), "P1")
    listed = {r.ps_id: (r.rows, r.dmp_vsm) for r in agg.unmatched.itertuples()}
    assert listed == {"E": (1, 1), "Z": (2, 2)}


@pytest.mark.parametrize("rule", ["any", "latest"])
def test_amounts_for_both_periods_match_the_hand_computation(extracts, tmp_path, latest_rules, rule):
    rules = load_rules("medecins-2024") if rule == "any" else latest_rules
    manifest = run(rules, *extracts, tmp_path / "out")
    for period in ("P1", "P2"):
        results = pd.read_parquet(tmp_path / "out" / period / "resultats.parquet")
        paid = results[results["amount_eur"] > 0]
        assert _amounts(paid) == EXPECTED[(rule, period)]
    p2 = pd.read_parquet(tmp_path / "out" / "P2" / "resultats.parquet")
    assert _amounts(p2[p2["complement_eur"] > 0], "complement_eur") == EXPECTED_COMPLEMENT[rule]
    assert manifest["parameters"]["structured_rule"] == rule


def test_manifest_accounts_for_every_input_row(extracts, tmp_path):
    feeds, patientele = extracts
    manifest = run(load_rules("medecins-2024"), feeds, patientele, tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk["inputs"]["feeds"]["rows"] == len(TRACES)
    assert on_disk["inputs"]["feeds"]["files"][0]["blake3"] == blake3(feeds.read_bytes()).hexdigest()
    assert on_disk["inputs"]["patientele"]["rows"] == len(PATIENTELE)
    assert on_disk["rules"]["id"] == "medecins-2024" and len(on_disk["rules"]["sha256"]) == 64
    for period in ("P1", "P2"):
        entry = on_disk["periods"][period]
        assert sum(r["rows"] for r in entry["feeds_rows_by_reason"].values()) == len(TRACES)
        assert sum(r["rows"] for r in entry["patientele_rows_by_reason"].values()) == len(PATIENTELE)
        assert all(r["label"] for r in entry["feeds_rows_by_reason"].values())
    assert on_disk["periods"]["P2"]["complement_eur"] == "4200.00"  # 450 + 750 + 3 000
    assert manifest["periods"]["P1"]["amount_eur"] == "3000.00"  # 2 250 + 750


def test_parquet_file_and_folder_of_parquet_give_the_same_results(extracts, tmp_path):
    feeds_csv, patientele_csv = extracts
    frame = pd.read_csv(feeds_csv, dtype=str, keep_default_na=False)
    frame["event_date"] = pd.to_datetime(frame["event_date"]).dt.date
    folder = tmp_path / "feeds"
    folder.mkdir()
    half = len(frame) // 2
    for i, part in enumerate((frame.iloc[:half], frame.iloc[half:])):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), folder / f"part-{i}.parquet")
    pat = pd.read_csv(patientele_csv, dtype={"region": str, "departement": str, "ps_id": str})
    pat["snapshot_date"] = pd.to_datetime(pat["snapshot_date"]).dt.date
    pq.write_table(pa.Table.from_pandas(pat, preserve_index=False), tmp_path / "patientele.parquet")
    rules = load_rules("medecins-2024")
    from_csv = run(rules, feeds_csv, patientele_csv, tmp_path / "a")
    from_parquet = run(rules, folder, tmp_path / "patientele.parquet", tmp_path / "b")
    for period in ("P1", "P2"):
        a = (tmp_path / "a" / period / "resultats.csv").read_bytes()
        b = (tmp_path / "b" / period / "resultats.csv").read_bytes()
        assert a == b
        assert from_csv["periods"][period]["feeds_rows_by_reason"] == from_parquet["periods"][period]["feeds_rows_by_reason"]
    assert len(from_parquet["inputs"]["feeds"]["files"]) == 2


def test_running_twice_gives_byte_identical_results(extracts, tmp_path):
    rules = load_rules("medecins-2024")
    run(rules, *extracts, tmp_path / "one")
    run(rules, *extracts, tmp_path / "two")
    for name in ("P1/resultats.parquet", "P1/resultats.csv", "P2/resultats.parquet", "P2/resultats.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_missing_action_column_means_creation(tmp_path, extracts):
    _, patientele = extracts
    rows = [t[:6] for t in TRACES if t[6] != "deletion"]
    feeds = write_csv(tmp_path / "sans_action.csv", FEED_COLUMNS[:6], rows)
    agg = _aggregate(feeds, patientele, load_rules("medecins-2024"), "P1")
    assert agg.feed_tally["action_not_counted"] == 0
    assert agg.counts.set_index("ps_id").loc["A", "dmp_vsm"] == 5


def test_compute_cli_from_extracts_adds_region_and_kind(extracts, tmp_path):
    feeds, patientele = extracts
    out = tmp_path / "r.parquet"
    result = CliRunner().invoke(
        cli,
        ["compute", "--rules", "medecins-2024", "--period", "P1", "--feeds", str(feeds), "--patientele", str(patientele), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert {"region", "ps_kind", "amount_eur"} <= set(frame.columns)
    assert frame.set_index("ps_id").loc["A", "region"] == "02"
    assert frame.set_index("ps_id").loc["A", "amount_eur"] == Decimal("2250.00")
    assert (tmp_path / "r.manifest.json").is_file()
    assert "alimentation en échec" in result.output


def test_explain_cli_from_extracts(extracts):
    feeds, patientele = extracts
    result = CliRunner().invoke(
        cli,
        ["explain", "--rules", "medecins-2024", "--period", "P1", "--feeds", str(feeds), "--patientele", str(patientele), "--ps-id", "A"],
    )
    assert result.exit_code == 0, result.output
    assert "5 DMP alimentés / 10 patients MT en ALD = 50,0" in result.output.replace("\u202f", " ").replace("\u00a0", " ")


def test_compute_with_paid_file_gives_the_complement(extracts, tmp_path):
    feeds, patientele = extracts
    rules = load_rules("medecins-2024")
    p1 = compute_extracts(rules, "P1", feeds, patientele, tmp_path / "p1.csv")
    paid = p1["_run"].results[["ps_id", "amount_eur"]].rename(columns={"amount_eur": "paid_eur"})
    p2 = compute_extracts(rules, "P2", feeds, patientele, tmp_path / "p2.csv", paid=paid)
    assert _amounts(p2["_run"].results[p2["_run"].results["complement_eur"] > 0], "complement_eur") == EXPECTED_COMPLEMENT["any"]


def test_every_reason_has_a_french_label():
    assert all(label and label[0].islower() for label in FEED_REASONS.values())


def test_unknown_period_lists_the_valid_ones(extracts, tmp_path):
    with pytest.raises(VsmError, match="Périodes valides : P1, P2"):
        compute_extracts(load_rules("medecins-2024"), "P3", *extracts, tmp_path / "x.csv")
    assert not any(tmp_path.glob("x*"))


@pytest.mark.parametrize("rule", ["any", "latest"])
def test_one_period_alone_gives_what_the_run_of_all_periods_gives(extracts, tmp_path, latest_rules, rule):
    # the single-period queries are written differently (no per-period FILTER): same figures
    rules = load_rules("medecins-2024") if rule == "any" else latest_rules
    feeds, patientele = extracts
    run(rules, feeds, patientele, tmp_path / "all")
    for period in ("P1", "P2"):
        alone = compute_extracts(rules, period, feeds, patientele, tmp_path / f"{period}.parquet")
        together = pd.read_parquet(tmp_path / "all" / period / "resultats.parquet")
        assert _amounts(alone["_run"].results) == _amounts(together)
        counts = ["ps_id", "dmp_vsm", "dmp_vsm_structured"]
        assert alone["_run"].results[counts].to_dict("records") == together[counts].to_dict("records")
        assert alone["periods"][period]["feeds_rows_by_reason"] == json.loads(
            (tmp_path / "all" / "manifest.json").read_text(encoding="utf-8")
        )["periods"][period]["feeds_rows_by_reason"]
