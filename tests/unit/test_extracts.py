"""Validation of the two extracts: every error is French and names file, line and column;
no output is left behind."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from test_aggregate import FEED_COLUMNS, PATIENTELE, TRACES, write_csv
from vsm.cli import cli
from vsm.errors import VsmError
from vsm.paths import load_schema
from vsm.pipeline import compute_extracts, run
from vsm.regions import region_codes
from vsm.rules import load_rules

PAT_COLUMNS = ["ps_id", "ps_kind", "region", "departement", "snapshot_date", "patients_mt", "patients_mt_ald"]


def good_feeds(tmp_path: Path, rows=None, name="traces.csv", columns=FEED_COLUMNS) -> Path:
    return write_csv(tmp_path / name, columns, rows if rows is not None else [t[:7] for t in TRACES])


def good_patientele(tmp_path: Path, rows=None, name="patientele.csv") -> Path:
    return write_csv(tmp_path / name, PAT_COLUMNS, rows if rows is not None else [p[:7] for p in PATIENTELE])


def fails(tmp_path: Path, feeds: Path, patientele: Path, *fragments: str) -> str:
    out = tmp_path / "out" / "resultats.parquet"
    with pytest.raises(VsmError) as caught:
        compute_extracts(load_rules("medecins-2024"), "P1", feeds, patientele, out)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    return message


def with_row(rows: list[tuple], index: int, column: int, value) -> list[tuple]:
    changed = list(rows)
    row = list(changed[index])
    row[column] = value
    changed[index] = tuple(row)
    return changed


FEEDS = [t[:7] for t in TRACES]
PAT = [p[:7] for p in PATIENTELE]


# ----------------------------------------------------------------------------- traces


def test_feeds_missing_column(tmp_path):
    feeds = write_csv(tmp_path / "t.csv", FEED_COLUMNS[:3] + FEED_COLUMNS[4:], [r[:3] + r[4:] for r in FEEDS])
    fails(tmp_path, feeds, good_patientele(tmp_path), "t.csv", "colonne manquante", "« type_code »")


def test_feeds_unparseable_date_names_line_and_column(tmp_path):
    feeds = good_feeds(tmp_path, with_row(FEEDS, 4, 2, "2023-13-45"))
    fails(tmp_path, feeds, good_patientele(tmp_path), "traces.csv", "ligne 6", "« event_date »", "2023-13-45")


def test_feeds_unknown_status(tmp_path):
    feeds = good_feeds(tmp_path, with_row(FEEDS, 0, 5, "ok"))
    fails(tmp_path, feeds, good_patientele(tmp_path), "ligne 2", "« status »", "« ok »", "success, failure")


def test_feeds_unknown_action(tmp_path):
    feeds = good_feeds(tmp_path, with_row(FEEDS, 8, 6, "delete"))
    fails(tmp_path, feeds, good_patientele(tmp_path), "ligne 10", "« action »", "« delete »", "creation, update, deletion")


def test_bad_row_outside_the_periods_computed_is_counted_outside_not_read(tmp_path):
    # row 9 (2024-03-01) lies in P2 only: P1 alone does not read it, and counts it outside
    # the period; computing both periods reads it, and stops on it.
    feeds = good_feeds(tmp_path, with_row(FEEDS, 9, 6, "delete"))
    patientele = good_patientele(tmp_path)
    data = compute_extracts(load_rules("medecins-2024"), "P1", feeds, patientele, tmp_path / "p1.parquet")
    by_reason = {k: v["rows"] for k, v in data["periods"]["P1"]["feeds_rows_by_reason"].items() if v["rows"]}
    assert by_reason == dict(Counter(t[7] for t in TRACES))  # as if the row were valid
    assert by_reason["outside_period"] == 5  # D3, D4, D8 in 2024 (the bad row), D11, D22
    with pytest.raises(VsmError) as caught:
        run(load_rules("medecins-2024"), feeds, patientele, tmp_path / "both")
    assert "ligne 11" in str(caught.value) and "« delete »" in str(caught.value)
    assert not (tmp_path / "both").exists()


def test_feeds_empty_dmp_id(tmp_path):
    feeds = good_feeds(tmp_path, with_row(FEEDS, 2, 1, ""))
    fails(tmp_path, feeds, good_patientele(tmp_path), "ligne 4", "« dmp_id »")


def test_feeds_several_errors_are_all_counted(tmp_path):
    rows = with_row(with_row(FEEDS, 0, 5, "ok"), 1, 2, "hier")
    message = fails(tmp_path, good_feeds(tmp_path, rows), good_patientele(tmp_path), "2 erreurs", "ligne 2", "ligne 3")
    assert message.index("ligne 2") < message.index("ligne 3")


def test_feeds_error_in_a_folder_of_parquet_names_the_file(tmp_path):
    frame = pd.DataFrame(FEEDS, columns=FEED_COLUMNS)
    frame.loc[15, "status"] = "perdu"
    folder = tmp_path / "feeds"
    folder.mkdir()
    pq.write_table(pa.Table.from_pandas(frame.iloc[:10], preserve_index=False), folder / "a.parquet")
    pq.write_table(pa.Table.from_pandas(frame.iloc[10:], preserve_index=False), folder / "b.parquet")
    fails(tmp_path, folder, good_patientele(tmp_path), "b.parquet, ligne 6", "« perdu »")


def test_unknown_format(tmp_path):
    bad = tmp_path / "traces.xlsx"
    bad.write_text("x")
    fails(tmp_path, bad, good_patientele(tmp_path), "Format non reconnu", ".csv, .parquet")


# ----------------------------------------------------------------------------- patientèle


@pytest.mark.parametrize(
    "index, column, value, fragments",
    [
        (1, 5, "-3", ["ligne 3", "« patients_mt »", "négatif"]),
        (1, 6, "12.5", ["ligne 3", "« patients_mt_ald »", "« 12.5 » n'est pas un entier"]),
        (4, 6, "401", ["ligne 6", "« patients_mt_ald »", "401 > patients_mt = 400"]),
        (0, 2, "4", ["ligne 2", "« region »", "« 4 »", "« 04 »"]),
        (0, 2, "99", ["ligne 2", "« region »", "« 99 »", "codes valides : 01, 02"]),
        (0, 1, "dentiste", ["ligne 2", "« ps_kind »", "medecin, centre"]),
        (3, 4, "31/12/2024", ["ligne 5", "« snapshot_date »", "31/12/2024", "AAAA-MM-JJ"]),
        (2, 0, "", ["ligne 4", "« ps_id »"]),
    ],
)
def test_patientele_errors_name_line_and_column(tmp_path, index, column, value, fragments):
    fails(tmp_path, good_feeds(tmp_path), good_patientele(tmp_path, with_row(PAT, index, column, value)), "patientele.csv", *fragments)


def test_patientele_duplicate_snapshot(tmp_path):
    rows = PAT + [("B", "medecin", "11", "75", "2023-12-31", 410, 4)]
    fails(
        tmp_path,
        good_feeds(tmp_path),
        good_patientele(tmp_path, rows),
        "« ps_id », « snapshot_date »",
        "« B » au 31/12/2023",
        "lignes 6, 10",
    )


def test_patientele_missing_column(tmp_path):
    path = write_csv(tmp_path / "p.csv", PAT_COLUMNS[:-1], [r[:-1] for r in PAT])
    fails(tmp_path, good_feeds(tmp_path), path, "p.csv", "« patients_mt_ald »", "patientele_mt.schema.json")


def test_patientele_integer_region_in_parquet_is_rejected_with_a_hint(tmp_path):
    frame = pd.DataFrame(PAT, columns=PAT_COLUMNS)
    frame["region"] = frame["region"].astype(int)
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"]).dt.date
    path = tmp_path / "patientele.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    # the column's type is refused as a whole (every declared column with its declared type)
    fails(tmp_path, good_feeds(tmp_path), path, "patientele.parquet", "« region »", "type BIGINT au lieu de texte", "« 02 »")


def test_departement_is_optional(tmp_path):
    path = write_csv(tmp_path / "p.csv", [c for c in PAT_COLUMNS if c != "departement"], [r[:3] + r[4:] for r in PAT])
    data = compute_extracts(load_rules("medecins-2024"), "P1", good_feeds(tmp_path), path, tmp_path / "r.csv")
    assert "departement" not in data["_run"].results.columns
    assert data["_run"].results.set_index("ps_id").loc["A", "amount_eur"] == 2250


# ----------------------------------------------------------------------------- no partial output


def test_run_leaves_no_partial_folder_after_an_error(tmp_path):
    feeds = good_feeds(tmp_path, with_row(FEEDS, 4, 5, "ko"))  # 2024-01-01: in P2
    out = tmp_path / "resultats"
    with pytest.raises(VsmError):
        run(load_rules("medecins-2024"), feeds, good_patientele(tmp_path), out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == sorted(["traces.csv", "patientele.csv"]) or set(
        p.name for p in tmp_path.iterdir()
    ) == {"traces.csv", "patientele.csv"}


def test_run_cli_error_is_french_and_exit_code_non_zero(tmp_path):
    feeds = good_feeds(tmp_path, with_row(FEEDS, 4, 5, "ko"))  # 2024-01-01: in P2
    result = CliRunner().invoke(
        cli, ["run", "--feeds", str(feeds), "--patientele", str(good_patientele(tmp_path)), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "Erreur : Fichier" in result.output and "ligne 6" in result.output
    assert not (tmp_path / "o").exists()


def test_compute_cli_refuses_counts_and_extracts_together(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["compute", "--rules", "medecins-2024", "--period", "P1", "--counts", "c.csv", "--feeds", "f.csv",
         "--patientele", "p.csv", "--out", str(tmp_path / "r.csv")],
    )
    assert result.exit_code == 2 and "pas les deux" in result.output


# ----------------------------------------------------------------------------- schemas


def test_schemas_are_frictionless_table_schemas_matching_the_code():
    feeds = load_schema("traces_dmp")
    assert [f["name"] for f in feeds["fields"]] == FEED_COLUMNS
    patientele = load_schema("patientele_mt")
    assert [f["name"] for f in patientele["fields"]] == PAT_COLUMNS
    region = next(f for f in patientele["fields"] if f["name"] == "region")
    assert region["constraints"]["enum"] == region_codes()
    assert patientele["primaryKey"] == ["ps_id", "snapshot_date"]
    for schema in (feeds, patientele):
        for field in schema["fields"]:
            assert field["type"] in {"string", "date", "integer"}
            json.dumps(field)


def test_extracts_saved_by_a_french_spreadsheet_give_the_same_results(tmp_path):
    """« ; » separators and a UTF-8 BOM (as a French spreadsheet saves CSV): same amounts."""
    import csv

    def write(path: Path, header: list[str], rows: list[tuple]) -> Path:
        with open(path, "w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(header)
            writer.writerows(rows)
        return path

    rules = load_rules("medecins-2024")
    semicolons = compute_extracts(
        rules, "P1", write(tmp_path / "t.csv", FEED_COLUMNS, FEEDS), write(tmp_path / "p.csv", PAT_COLUMNS, PAT),
        tmp_path / "a.csv",
    )
    commas = compute_extracts(rules, "P1", good_feeds(tmp_path), good_patientele(tmp_path), tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert semicolons["inputs"]["feeds"]["rows"] == len(FEEDS)
    assert semicolons["periods"]["P1"]["feeds_rows_by_reason"] == commas["periods"]["P1"]["feeds_rows_by_reason"]
