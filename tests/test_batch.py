"""The reports batch (`vsm reports`): parameters checked before anything runs, a failing
notebook reported while the others complete, and one regional report executed for real on
the demo data through Papermill."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from conftest import REPO_DIR, norm
from vsm import batch
from vsm import present as fr
from vsm.cli import cli
from vsm.errors import VsmError
from vsm.pipeline import ensure_demo_data, run
from vsm.report import region_rows
from vsm.results import read_results
from vsm.rules import load_rules


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


# --------------------------------------------------------------------------- parameters


def test_region_4_is_refused_with_the_hint():
    with pytest.raises(VsmError) as err:
        batch.parse_regions("02,4")
    assert "« 04 »" in str(err.value)
    assert "Régions valides" in str(err.value)


def test_unknown_region_lists_the_valid_ones():
    with pytest.raises(VsmError, match=r"Région inconnue : « 99 »\. Régions valides : 01 \(Guadeloupe\)"):
        batch.parse_regions("99")


def test_regions_all_and_lists():
    assert len(batch.parse_regions("all")) == 18
    assert batch.parse_regions(None) == batch.parse_regions("toutes")
    assert batch.parse_regions(" 11, 02,11 ") == ["02", "11"]


def test_unknown_period_lists_the_valid_ones(rules):
    with pytest.raises(VsmError, match="Périodes valides : P1, P2"):
        batch.parse_periods(rules, "P1,P3")
    assert batch.parse_periods(rules, "P2,P1") == ["P1", "P2"]
    assert batch.parse_periods(rules, None) == ["P1", "P2"]


def test_jobs_must_be_a_positive_integer():
    assert batch.parse_jobs(None) >= 1
    assert batch.parse_jobs("3") == 3
    for bad in ("0", "-1", "deux"):
        with pytest.raises(VsmError, match="--jobs"):
            batch.parse_jobs(bad)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--regions", "4"], "« 04 » et non « 4 »"),
        (["--regions", "99"], "Région inconnue : « 99 »"),
        (["--periods", "P3"], "Périodes valides : P1, P2"),
        (["--jobs", "0"], "--jobs"),
        (["--feeds", "absent"], "--feeds et --patientele ensemble"),
    ],
)
def test_cli_checks_everything_before_running(tmp_path, args, message):
    results, out = tmp_path / "resultats", tmp_path / "rapports"
    outcome = invoke("reports", "--rules", "medecins-2024", "--results", results, "--out", out, *args)
    assert outcome.exit_code == 2
    assert message in norm(outcome.output)
    assert outcome.output.startswith("Erreur : ")
    assert not results.exists() and not out.exists()  # nothing computed, nothing written


# --------------------------------------------------------------------------- execution


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory) -> tuple[Path, dict]:
    """The demo data's results, computed once for this module (absolute input paths)."""
    feeds, patientele = ensure_demo_data(REPO_DIR / "data" / "demo")
    folder = tmp_path_factory.mktemp("batch") / "resultats"
    manifest = run(load_rules("medecins-2024"), feeds, patientele, folder)
    return folder, manifest


@pytest.fixture(scope="module")
def executed(demo_results, tmp_path_factory):
    """Two notebooks run in parallel: region 02 for P1, and one pointed at a bogus results folder."""
    rules = load_rules("medecins-2024")
    folder, manifest = demo_results
    out = tmp_path_factory.mktemp("rapports")
    good = batch.plan(rules, ["P1"], ["02"], folder, out, manifest)[0]
    bogus_plan = batch.plan(rules, ["P1"], ["11"], folder, out, manifest)[0]
    bogus = batch.Job(
        bogus_plan.period,
        bogus_plan.region,
        bogus_plan.notebook,
        bogus_plan.output,
        {**bogus_plan.parameters, "results_dir": str(out / "pas-de-resultats")},
        bogus_plan.facts,
    )
    results = batch.run_jobs([good, bogus], workers=2, progress=False)
    return rules, folder, results


def test_failing_notebook_is_reported_and_the_other_completes(executed):
    _, _, (good, bogus) = executed
    assert good.ok, good.error
    assert not bogus.ok
    assert "VsmError" in bogus.error and "Manifeste introuvable" in bogus.error
    assert bogus.job.output.is_file()  # the executed notebook, with its error, for diagnosis
    assert nbformat.read(bogus.job.output, as_version=4).metadata["vsm"]["status"] == "échec"
    assert not list(bogus.job.output.parent.glob(".*"))  # no partial file left behind


def _outputs_text(nb) -> str:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            texts.append(data.get("text/plain", "") + data.get("text/markdown", "") + data.get("text/html", ""))
    return norm("\n".join(texts))


def test_regional_report_executed_on_the_demo_data(executed):
    rules, folder, (good, _) = executed
    assert good.job.output == good.job.output.parents[3] / "medecins-2024" / "P1" / "02" / "rapport.ipynb"
    nb = nbformat.read(good.job.output, as_version=4)
    facts = nb.metadata["vsm"]
    assert (facts["region"], facts["region_name"], facts["period"]) == ("02", "Martinique", "P1")
    assert (facts["start"], facts["end"], facts["payment"]) == ("2022-01-01", "2023-12-31", "1er semestre 2024")
    assert facts["snapshot_dates"] == ["2023-12-31"] and facts["rules"] == "medecins-2024"
    assert all("remove-input" in c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code")

    regional = region_rows(read_results(folder / "P1" / "resultats.parquet"), "02")
    text = _outputs_text(nb)
    assert "Forfait VSM — Martinique (02) — période P1" in text
    assert norm(fr.eur(sum(regional["amount_eur"], Decimal(0)))) in text
    assert "Professionnel A" in text and "Professionnel C" in text
    assert sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})) == 3
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    for ps_id in regional["ps_id"]:
        assert ps_id not in text  # never an identifier in a published report


def test_cli_reports_failures_with_exit_code_1(demo_results, tmp_path, monkeypatch):
    """The CLI path, without kernels: results reused, one job made to fail."""
    folder, _ = demo_results

    def fake_execute(job):
        error = "VsmError : échec simulé" if job.region == "11" else None
        job.output.parent.mkdir(parents=True, exist_ok=True)
        job.output.write_text("{}", encoding="utf-8")
        return batch.JobResult(job, error, 0.0)

    monkeypatch.setattr(batch, "execute", fake_execute)
    out = tmp_path / "rapports"
    outcome = invoke("reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02,11",
                     "--results", folder, "--out", out, "--no-progress")
    assert outcome.exit_code == 1, outcome.output
    assert "Résultats à jour" in outcome.output
    expected = out / "medecins-2024" / "P1" / "11" / "rapport.ipynb"
    assert f"Échec : {expected} — VsmError : échec simulé" in outcome.output
    assert "2 notebook(s) sur 3" in norm(outcome.output)
    index = json.loads((out / "medecins-2024" / "rapports.json").read_text(encoding="utf-8"))
    assert [n["path"] for n in index["notebooks"]] == ["P1/02/rapport.ipynb", "P1/11/rapport.ipynb", "P1/national/synthese.ipynb"]


def test_stale_results_are_recomputed_only_from_the_demo(demo_results, tmp_path):
    rules = load_rules("medecins-2024")
    folder, _ = demo_results
    assert batch.staleness(rules, folder) is None
    assert batch.staleness(rules, tmp_path / "absent") == "absents"
    assert "autre jeu de règles" in batch.staleness(load_rules("medecins-2023"), folder)


def test_stale_results_from_other_extracts_are_not_overwritten(demo_results, tmp_path):
    import shutil

    folder, _ = demo_results
    copy = tmp_path / "resultats"
    shutil.copytree(folder, copy)
    data = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    other = tmp_path / "autres" / "traces.parquet"
    data["inputs"]["feeds"] = {"path": str(other.parent), "files": [{"path": str(other), "sha256": "0" * 64, "rows": 1}]}
    (copy / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    rules = load_rules("medecins-2024")
    assert "périmés" in batch.staleness(rules, copy)
    with pytest.raises(VsmError, match="--feeds et --patientele"):
        batch.ensure_results(rules, copy)
    assert json.loads((copy / "manifest.json").read_text(encoding="utf-8")) == data  # left untouched
