"""The `vsm` command line: outputs, French messages, and no file left behind on error."""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from conftest import REPO_DIR, files_in, norm, squash
from vsm.cli import cli
from vsm.rules import load_rules

HEADER = "ps_id,patients_mt,patients_mt_ald,dmp_vsm,dmp_vsm_structured\n"
VSM_BIN = REPO_DIR / ".venv" / "bin" / "vsm"


def invoke(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


@pytest.fixture
def good_counts(tmp_path) -> Path:
    path = tmp_path / "effectifs.csv"
    path.write_text(HEADER + "A,1000,100,50,30\nB,800,100,95,0\nC,1001,300,146,0\n", encoding="utf-8")
    return path


@pytest.fixture
def bad_counts(tmp_path) -> Path:
    path = tmp_path / "effectifs_faux.csv"
    path.write_text(HEADER + "A,1000,100,50,30\nB,800,100,-5,0\n", encoding="utf-8")
    return path


@pytest.fixture
def out_dir(tmp_path) -> Path:
    folder = tmp_path / "sortie"
    folder.mkdir()
    return folder


def assert_failed_cleanly(result, out_path: Path, *fragments: str) -> str:
    """Exit ≠ 0, « Erreur : » on stderr, and neither the output nor any temporary file left."""
    assert result.exit_code != 0, result.output
    stderr = norm(result.stderr)
    assert stderr.startswith("Erreur : "), stderr
    for fragment in fragments:
        assert fragment in stderr, (fragment, stderr)
    assert not out_path.exists()
    assert files_in(out_path.parent) == [], files_in(out_path.parent)
    assert "Traceback" not in result.output
    return stderr


# --------------------------------------------------------------------------- compute


def test_compute_csv(good_counts, out_dir):
    out = out_dir / "resultats.csv"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", good_counts, "--out", out)
    assert result.exit_code == 0, result.output
    stdout = norm(result.stdout)
    assert "3 professionnels" in stdout
    assert "5 250,00 €" in stdout  # 2 250 + 3 000 + 0
    lines = out.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    assert header[-1] == "amount_eur"
    row_a = dict(zip(header, lines[1].split(",")))
    assert row_a["ps_id"] == "A"
    assert row_a["amount_eur"] == "2250.00"
    assert row_a["tier_eur"] == "1500.00"
    assert row_a["majoration_eur"] == "300.00"
    row_b = dict(zip(header, lines[2].split(",")))
    assert row_b["amount_eur"] == "3000.00"
    assert files_in(out_dir) == [out]


def test_compute_parquet_has_decimal_money(good_counts, out_dir):
    out = out_dir / "resultats.parquet"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", good_counts, "--out", out)
    assert result.exit_code == 0, result.output
    schema = pq.read_schema(out)
    for column in ("tier_eur", "majoration_eur", "amount_eur"):
        assert pa.types.is_decimal(schema.field(column).type), column
        assert schema.field(column).type.scale == 2
    frame = pd.read_parquet(out)
    assert list(frame["ps_id"]) == ["A", "B", "C"]
    assert list(frame["amount_eur"]) == [Decimal("2250.00"), Decimal("3000.00"), Decimal("0.00")]
    assert all(isinstance(v, Decimal) for v in frame["amount_eur"])
    assert files_in(out_dir) == [out]


def test_compute_p2_with_paid_from_p1_results(tmp_path, good_counts, out_dir):
    p1 = out_dir / "p1.csv"
    assert invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", good_counts,
                  "--out", p1).exit_code == 0
    counts_p2 = tmp_path / "effectifs_p2.csv"
    counts_p2.write_text(HEADER + "A,1000,100,95,40\nB,800,100,50,0\nC,1001,300,150,0\n", encoding="utf-8")
    p2 = out_dir / "p2.csv"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P2", "--counts", counts_p2,
                    "--paid", p1, "--out", p2)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(p2, dtype=str)
    assert list(frame["amount_eur"]) == ["4500.00", "1500.00", "1876.88"]
    assert list(frame["paid_eur"]) == ["2250.00", "3000.00", "0.00"]
    assert list(frame["complement_eur"]) == ["2250.00", "0.00", "1876.88"]
    assert "Compléments à verser" in result.stdout


def test_compute_p2_without_paid_warns(good_counts, out_dir):
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P2", "--counts", good_counts,
                    "--out", out_dir / "p2.csv")
    assert result.exit_code == 0
    assert "Attention" in result.stderr


def test_compute_with_rules_path(good_counts, out_dir):
    path = REPO_DIR / "params" / "rules" / "centres-sante-2024.yml"
    out = out_dir / "centres.csv"
    result = invoke("compute", "--rules", path, "--period", "P1", "--counts", good_counts, "--out", out)
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out, dtype=str)["amount_eur"]) == ["1500.00", "3000.00", "0.00"]


# --------------------------------------------------------------------------- explain


def test_explain(good_counts):
    result = invoke("explain", "--rules", "medecins-2024", "--period", "P1", "--counts", good_counts, "--ps-id", "C")
    assert result.exit_code == 0, result.output
    text = norm(result.stdout)
    assert "146 DMP alimentés / 300 patients MT en ALD = 48,7 %" in text
    assert "sous le seuil de 50 %" in text
    assert "forfait brut 0,00 €" in text


def test_explain_majorated(good_counts):
    result = invoke("explain", "--rules", "medecins-2024", "--period", "P1", "--counts", good_counts, "--ps-id", "A")
    assert result.exit_code == 0
    assert "(1 500,00 € + 300,00 €) × 1 000 / 800 = 2 250,00 €" in norm(result.stdout)


def test_explain_unknown_professional(good_counts):
    result = invoke("explain", "--rules", "medecins-2024", "--period", "P1", "--counts", good_counts, "--ps-id", "Z")
    assert result.exit_code != 0
    assert result.stderr.startswith("Erreur : ")
    assert "« Z »" in result.stderr


# --------------------------------------------------------------------------- rules


def test_rules_list():
    result = invoke("rules", "list")
    assert result.exit_code == 0
    text = norm(result.stdout)
    for rule_id in ("medecins-2024", "medecins-2023", "centres-sante-2024"):
        assert rule_id in text
    assert "31 décembre 2023" in text
    assert "30 juin 2024" in text
    assert "30 juin 2023" in text


def test_rules_show_medecins_2024_every_value_and_source():
    result = invoke("rules", "show", "medecins-2024")
    assert result.exit_code == 0, result.output
    text = norm(result.stdout)
    flat = squash(text)
    for expected in ("800", "1/3", "20 %", "50 %", "90 %", "1 500,00 €", "3 000,00 €", "plus d'un tiers",
                     "1er janvier 2022", "31 décembre 2023", "30 juin 2024", "SYNTH", "aucun"):
        assert expected in text, expected
    rules = load_rules("medecins-2024")
    for source in rules.all_sources():
        assert squash(source.quote) in flat, source.quote
        assert source.seed in text


def test_rules_show_unknown_id():
    result = invoke("rules", "show", "inconnu")
    assert result.exit_code != 0
    assert result.stderr.startswith("Erreur : ")
    assert "medecins-2024" in result.stderr


# --------------------------------------------------------------------------- exemples


def test_exemples(tmp_path):
    out = tmp_path / "exemples"
    result = invoke("exemples", "--out", out)
    assert result.exit_code == 0, result.output
    text = norm(result.stdout)
    assert "erratum de la note" in text
    assert "1 440,00 €" in text and "2 250,00 €" in text
    assert "0 écart(s)" in text
    assert sorted(p.name for p in files_in(out)) == ["effectifs.csv", "resultats.csv", "verification.csv"]
    checked = pd.read_csv(out / "verification.csv", dtype=str)
    assert list(checked["computed_amount_eur"]) == ["0.00", "0.00", "1500.00", "2250.00", "2250.00",
                                                    "3750.00", "4500.00"]
    assert list(pd.read_csv(out / "resultats.csv", dtype=str)["amount_eur"])[3] == "2250.00"


def test_exemples_without_out():
    result = invoke("exemples")
    assert result.exit_code == 0
    assert "ÉCART" not in result.stdout


def test_exemples_with_gaps_fails_and_leaves_no_file(tmp_path):
    """A params/ folder (VSM_PARAMS) whose reference patientèle is 1 000: the note's examples no longer match."""
    params = tmp_path / "params"
    shutil.copytree(REPO_DIR / "params", params)
    rules_file = params / "rules" / "medecins-2024.yml"
    data = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    data["ponderation"]["reference_patients"]["value"] = 1000
    rules_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = tmp_path / "exemples"
    result = invoke("exemples", "--out", out, env={"VSM_PARAMS": str(params)})
    assert result.exit_code != 0
    assert "ÉCART" in result.stdout
    assert result.stderr.startswith("Erreur : ")
    assert files_in(out) == []


# --------------------------------------------------------------------------- errors


def test_error_bad_counts(bad_counts, out_dir):
    out = out_dir / "r.csv"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", bad_counts, "--out", out)
    assert_failed_cleanly(result, out, "ligne 3", "« dmp_vsm »", str(bad_counts))


def test_error_bad_counts_parquet_output(bad_counts, out_dir):
    out = out_dir / "r.parquet"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", bad_counts, "--out", out)
    assert_failed_cleanly(result, out, "ligne 3")


def test_error_bad_counts_output_folder_not_created(bad_counts, tmp_path):
    out = tmp_path / "nouveau" / "r.csv"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", bad_counts, "--out", out)
    assert_failed_cleanly(result, out)
    assert not out.parent.exists()


def test_error_missing_counts_file(tmp_path, out_dir):
    out = out_dir / "r.csv"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", tmp_path / "absent.csv",
                    "--out", out)
    assert_failed_cleanly(result, out, "absent.csv")


def test_error_unknown_rule_id(good_counts, out_dir):
    out = out_dir / "r.csv"
    result = invoke("compute", "--rules", "medecins-2099", "--period", "P1", "--counts", good_counts, "--out", out)
    assert_failed_cleanly(result, out, "medecins-2099", "medecins-2024", "medecins-2023", "centres-sante-2024")


def test_error_unknown_period_lists_valid_ones(good_counts, out_dir):
    out = out_dir / "r.csv"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P3", "--counts", good_counts, "--out", out)
    stderr = assert_failed_cleanly(result, out, "P3")
    assert "P1" in stderr and "P2" in stderr


def test_error_bad_output_extension(good_counts, out_dir):
    out = out_dir / "r.xlsx"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", good_counts, "--out", out)
    assert_failed_cleanly(result, out, ".csv", ".parquet")


def test_error_invalid_paid_file(tmp_path, good_counts, out_dir):
    paid = tmp_path / "verse.csv"
    paid.write_text("ps_id,amount_eur\nA,2250.00\nB,abc\n", encoding="utf-8")
    out = out_dir / "r.csv"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P2", "--counts", good_counts,
                    "--paid", paid, "--out", out)
    assert_failed_cleanly(result, out, "ligne 3", "« amount_eur »", "verse.csv")


def test_error_paid_file_with_negative_amount(tmp_path, good_counts, out_dir):
    paid = tmp_path / "verse.csv"
    paid.write_text("ps_id,amount_eur\nA,-1.00\n", encoding="utf-8")
    out = out_dir / "r.parquet"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P2", "--counts", good_counts,
                    "--paid", paid, "--out", out)
    assert_failed_cleanly(result, out, "ligne 2", "« amount_eur »")


def test_error_paid_file_for_p1(tmp_path, good_counts, out_dir):
    paid = tmp_path / "verse.csv"
    paid.write_text("ps_id,amount_eur\nA,2250.00\n", encoding="utf-8")
    out = out_dir / "r.csv"
    result = invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", good_counts,
                    "--paid", paid, "--out", out)
    assert_failed_cleanly(result, out, "P1")


def test_error_invalid_rule_file(tmp_path, good_counts, out_dir):
    rules_file = tmp_path / "casse.yml"
    rules_file.write_text("id: casse\ntiers: [1, 2\n", encoding="utf-8")
    out = out_dir / "r.csv"
    result = invoke("compute", "--rules", rules_file, "--period", "P1", "--counts", good_counts, "--out", out)
    assert_failed_cleanly(result, out, "YAML invalide")


def test_error_missing_option_in_french(good_counts, out_dir):
    result = invoke("compute", "--rules", "medecins-2024", "--counts", good_counts, "--out", out_dir / "r.csv")
    assert result.exit_code != 0
    assert result.stderr.startswith("Erreur : ")
    assert "--period" in result.stderr
    assert files_in(out_dir) == []


# --------------------------------------------------------------------------- real subprocess


@pytest.mark.skipif(not VSM_BIN.exists(), reason=f"{VSM_BIN} absent (paquet non installé dans .venv)")
def test_subprocess_compute_and_error(good_counts, bad_counts, out_dir):
    out = out_dir / "resultats.csv"
    ok = subprocess.run(
        [str(VSM_BIN), "compute", "--rules", "medecins-2024", "--period", "P1", "--counts", str(good_counts),
         "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "Résultats écrits" in ok.stdout
    assert pd.read_csv(out, dtype=str)["amount_eur"].tolist() == ["2250.00", "3000.00", "0.00"]

    failed_out = out_dir / "faux.csv"
    failed = subprocess.run(
        [str(VSM_BIN), "compute", "--rules", "medecins-2024", "--period", "P1", "--counts", str(bad_counts),
         "--out", str(failed_out)],
        capture_output=True, text=True, timeout=60,
    )
    assert failed.returncode != 0
    assert failed.stderr.startswith("Erreur : ")
    assert "ligne 3" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert files_in(out_dir) == [out]


@pytest.mark.skipif(not VSM_BIN.exists(), reason=f"{VSM_BIN} absent")
def test_subprocess_help():
    result = subprocess.run([str(VSM_BIN), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("compute", "explain", "rules", "exemples"):
        assert command in result.stdout


def test_help_and_usage_errors_are_in_french():
    from click.testing import CliRunner

    from vsm.cli import cli

    runner = CliRunner()
    shown = runner.invoke(cli, ["--help"])
    assert shown.exit_code == 0
    assert "Utilisation : " in shown.output and "Afficher cette aide et quitter." in shown.output
    assert "Commandes" in shown.output and "Show this message" not in shown.output
    bad = runner.invoke(cli, ["synth", "--scale", "xx", "--out", "x"])
    assert bad.exit_code == 2
    assert "valeur invalide pour '--scale'" in bad.output and "ne fait pas partie de" in bad.output


def test_type_names_are_french_in_errors_and_help():
    from click.testing import CliRunner

    from vsm.cli import cli

    runner = CliRunner()
    bad = runner.invoke(cli, ["synth", "--seed", "abc", "--out", "x"])
    assert bad.exit_code == 2
    assert "'abc' n'est pas un entier valide" in bad.output and "integer" not in bad.output
    shown = runner.invoke(cli, ["synth", "--help"])
    assert "--seed ENTIER" in shown.output and "INTEGER" not in shown.output


def test_command_line_exit_codes_survive_the_fast_exit(tmp_path):
    # main() leaves through os._exit after flushing: the exit code and the messages must stay
    ok = subprocess.run([sys.executable, "-m", "vsm.cli", "--version"], capture_output=True, text=True)
    assert ok.returncode == 0 and "vsm" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "vsm.cli", "compute", "--rules", "medecins-2024", "--period", "P9",
         "--counts", "x.csv", "--out", str(tmp_path / "r.csv")],
        capture_output=True, text=True,
    )
    assert bad.returncode == 2 and "Erreur : " in bad.stderr and "P9" in bad.stderr
