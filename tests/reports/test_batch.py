"""The reports batch (`vsm reports`): parameters checked before anything runs, a failing
notebook reported while the others complete, and the batch run for real on the demo data
(three regions and the national synthesis of P1, executed by Papermill, rendered to HTML and
PDF): statistical secrecy checked on the rendered documents, payment lists, forfait
structure, what a reader sees (Chromium screenshot, PDF pages), and the acceptance case of
a small region that publishes its figures (Martinique)."""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import REPO_DIR, executed_without_kernel, norm, squash
from vsm import batch, store
from vsm.publish import secrecy
from vsm import present as fr
from vsm.cli import cli
from vsm.errors import VsmError
from vsm.pipeline import ensure_demo_data, run
from vsm.report import region_rows
from vsm.store import read_results
from vsm.rules import load_rules
import secrecy_checks


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
def bogus(demo_results, tmp_path_factory):
    """A notebook pointed at a bogus results folder: it fails."""
    rules = load_rules("medecins-2024")
    folder, manifest = demo_results
    out = tmp_path_factory.mktemp("rapports-en-echec")
    planned = batch.plan(rules, ["P1"], ["11"], folder, out, manifest)[0]
    job = batch.Job(
        planned.period,
        planned.region,
        planned.notebook,
        planned.output,
        {**planned.parameters, "results_dir": str(out / "pas-de-resultats")},
        planned.facts,
    )
    return batch.run_jobs([job], workers=1, progress=False)[0]


# In the demo data (P1): Mayotte (06, 5 médecins), the only region whose every figure is
# secret; Martinique (02, 40 médecins, 11 paid), a small region that publishes its key figures
# with many secondary masks; Auvergne-Rhône-Alpes (84, 960 médecins, 957 eligible), a large
# region whose « professionnels − éligibles » is a small count, hence secondary masks.
SMALL, MARTINIQUE, LARGE = ("06",), "02", "84"
REGIONS = (*SMALL, MARTINIQUE, LARGE)


@pytest.fixture(scope="module")
def batch_run(demo_results, tmp_path_factory):
    """The whole batch for P1 and three regions: payment lists, forfait structure, notebooks
    executed in parallel, then rendered to HTML and PDF with the index."""
    rules = load_rules("medecins-2024")
    folder, _ = demo_results
    out = tmp_path_factory.mktemp("rapports")
    outcome = batch.run_batch(rules, ["P1"], list(REGIONS), folder, out, workers=2, progress=False)
    return rules, folder, out, outcome


def report_of(batch_run, region: str):
    """(report object, html text, pdf text or None) of a rendered report of the batch."""
    rules, folder, out, _ = batch_run
    from vsm import report as r

    base = out / "medecins-2024" / "P1" / region
    if region == "national":
        structure = folder.parent / "forfait-structure-2023" / "resultats.parquet"
        rep, stem = r.national_report(rules, "P1", folder, structure), "synthese"
    else:
        structure = folder.parent / "forfait-structure-2023" / "resultats.parquet"
        rep, stem = r.regional_report(rules, "P1", region, folder, structure), "rapport"
    html = (base / f"{stem}.html").read_text(encoding="utf-8")
    pdf = None
    if shutil.which("pdftotext"):
        pdf = subprocess.run(["pdftotext", "-layout", str(base / f"{stem}.pdf"), "-"], check=True, capture_output=True,
                             text=True, timeout=120).stdout
    return rep, html, pdf


def test_failing_notebook_is_reported_and_the_others_complete(bogus, batch_run):
    assert not bogus.ok
    assert "VsmError" in bogus.error and "Manifeste introuvable" in bogus.error
    assert bogus.job.output.is_file()  # the executed notebook, with its error, for diagnosis
    assert nbformat.read(bogus.job.output, as_version=4).metadata["vsm"]["status"] == "échec"
    assert not list(bogus.job.output.parent.glob(".*"))  # no partial file left behind
    outcome = batch_run[3]
    assert not outcome.failures and not outcome.render_failures
    assert len(outcome.results) == 4 and len(outcome.rendered) == 4


def _outputs_text(nb) -> str:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            texts.append(data.get("text/plain", "") + data.get("text/markdown", "") + data.get("text/html", ""))
    return norm("\n".join(texts))


def test_regional_report_executed_on_the_demo_data(batch_run):
    rules, folder, out, _ = batch_run
    output = out / "medecins-2024" / "P1" / LARGE / "rapport.ipynb"
    nb = nbformat.read(output, as_version=4)
    facts = nb.metadata["vsm"]
    assert (facts["region"], facts["region_name"], facts["period"]) == (LARGE, "Auvergne-Rhône-Alpes", "P1")
    assert (facts["start"], facts["end"], facts["payment"]) == ("2022-01-01", "2023-12-31", "1er semestre 2024")
    assert facts["snapshot_dates"] == ["2023-12-31"] and facts["rules"] == "medecins-2024"
    assert all("remove-input" in c.metadata.get("tags", []) for c in nb.cells if c.cell_type == "code")

    regional = region_rows(read_results(folder / "P1" / "resultats.parquet"), LARGE)
    text = _outputs_text(nb)
    assert "Forfait VSM — Auvergne-Rhône-Alpes (84) — période P1" in text
    assert norm(fr.eur(sum(regional["amount_eur"], Decimal(0)))) in text
    assert "Professionnel A" in text and "Professionnel C" in text
    assert sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})) == 3
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
    for ps_id in regional["ps_id"]:
        assert ps_id not in text  # never an identifier in a published report


@pytest.mark.parametrize("region", SMALL)
def test_small_region_rendered_without_any_small_count(batch_run, region):
    """Mayotte: nothing of the region is readable, in the HTML nor in the PDF."""
    rep, html, pdf = report_of(batch_run, region)
    assert rep.whole and 1 <= len(rep.regional) <= 10
    tables = rep.count_tables()
    assert secrecy_checks.find_leaks(html, tables) == []
    text = squash(html)
    assert "La région compte de 1 à 10 professionnels" in text
    assert "Professionnel A" not in text  # no worked explanation of one of its few professionals
    assert "<img" not in html and "Distributions" not in html  # no chart: no regional section at all
    assert "Chiffres clés" not in html and "Trois calculs expliqués" not in html
    for ps_id in rep.regional["ps_id"]:
        assert ps_id not in html
    if pdf is None:
        pytest.skip("pdftotext (poppler-utils) absent : installé par .ci/run")
    assert secrecy_checks.find_leaks(pdf, tables) == []


def right_cells(html: str) -> list[str]:
    """The text of the right-aligned (numeric) table cells of a rendered report, whatever the engine."""
    cells = re.findall(r'<td[^>]*(?:text-align:\s*right|class="[^"]*\bnum\b)[^>]*>(.*?)</td>', norm(html), re.DOTALL)
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]


def test_large_region_shows_its_figures_and_no_small_count(batch_run):
    from vsm import report as r

    rep, html, pdf = report_of(batch_run, LARGE)
    kf = r.key_figures(rep.regional, rep.rules)
    text = squash(html)
    assert kf.paid > 10 and fr.integer(kf.paid) in right_cells(html)  # paid professionals shown
    assert squash(fr.eur(kf.total_eur)) in text and squash(fr.eur(kf.mean_eur)) in text
    # the share reached is over the eligible: shown when their count is (960 − 957: one of
    # « professionnels » and « éligibles » is masked)
    assert (squash(fr.percent(kf.reached_share(1))) in text) == (not rep.plan.is_masked(LARGE, "eligibles"))
    tables = rep.count_tables()
    assert any(1 <= v <= 10 for t in tables.values() for v in t.to_numpy().ravel())  # there is something to hide
    assert secrecy_checks.find_leaks(html, tables) == []
    if pdf is not None:
        assert secrecy_checks.find_leaks(pdf, tables) == []
        assert squash(fr.eur(kf.total_eur)) in squash(pdf)


def test_professionals_minus_eligible_is_not_readable(batch_run):
    """Auvergne-Rhône-Alpes: 960 professionals, 957 eligible — one of the two is masked everywhere."""
    from vsm import report as r

    rep, html, _ = report_of(batch_run, LARGE)
    kf = r.key_figures(rep.regional, rep.rules)
    assert 1 <= kf.professionals - kf.eligible <= 10
    cells = set(right_cells(html))
    assert not {fr.integer(kf.professionals), fr.integer(kf.eligible)} <= cells


def test_martinique_report_tells_how_much_to_how_many_and_why(batch_run):
    """Acceptance case: a caisse reader of the Martinique P1 report sees how much is paid, to
    how many professionals, and why — in French, in « L'essentiel » at the top of the HTML and
    on the first page of the PDF — while no count from 1 to 10 is readable anywhere."""
    from vsm import report as r

    rep, html, pdf = report_of(batch_run, MARTINIQUE)
    kf = r.key_figures(rep.regional, rep.rules)
    assert not rep.whole and kf.paid > r.threshold()  # a small region, but one that publishes
    text = squash(html_lib.unescape(re.sub(r"<[^>]+>", "", html))).replace("\u2019", "'")  # pandoc's typographic apostrophe
    essentials = text.split("L'essentiel", 1)[1].split("La règle en bref", 1)[0]
    total, paid = squash(fr.eur(kf.total_eur)), fr.integer(kf.paid)
    # Everyone paid in P1 is paid in P2 (11 → 16 in the demo): the two paid counts are never
    # both published, and the plan, decided for both periods at once, hides one of them.
    p2 = r.regional_report(rep.rules, "P2", MARTINIQUE, batch_run[1], batch_run[1].parent / "forfait-structure-2023" / "resultats.parquet")
    assert rep.plan.is_masked(MARTINIQUE, "remuneres") or p2.plan.is_masked(MARTINIQUE, "remuneres")
    if rep.plan.is_masked(MARTINIQUE, "remuneres"):
        how_much = "versé à des professionnels dont le nombre est couvert par le secret statistique"
        assert how_much in essentials and f"versé à {paid} professionnels" not in essentials
        why = "Pourquoi : s éligibles ont alimenté dans le DMP un VSM pour au moins 50 %"
    else:
        share = squash(fr.percent(kf.reached_share(1)))
        how_much = f"Montant total du forfait P1 (Martinique) : {total}, versé à {paid} professionnels rémunérés"
        why = f"Pourquoi : {kf.reached[0]} éligibles ({share}) ont alimenté dans le DMP un VSM pour au moins 50 %"
        assert f"Montant moyen : {squash(fr.eur(kf.mean_eur))} par professionnel rémunéré" in essentials
        assert paid in right_cells(html) and total in squash(html)  # the key figures table too
    assert how_much in essentials and why in essentials
    listed = pd.read_csv(batch_run[2] / "medecins-2024" / "P1" / MARTINIQUE / "paiements.csv", dtype={"ps_id": str})
    assert len(listed) == kf.paid
    assert sum((Decimal(str(v)) for v in listed["payable_eur"]), Decimal(0)) == kf.total_eur  # what is paid, to the cent
    tables = rep.count_tables()
    assert any(1 <= v <= 10 for t in tables.values() for v in t.to_numpy().ravel())  # small counts to hide
    assert secrecy_checks.find_leaks(html, tables) == []
    if pdf is None:
        pytest.skip("pdftotext (poppler-utils) absent : installé par .ci/run")
    assert secrecy_checks.find_leaks(pdf, tables) == []
    first_page = squash(pdf.split("\f", 1)[0])
    assert how_much in first_page and why in first_page


def test_national_synthesis_rendered_without_any_small_count(batch_run):
    rep, html, pdf = report_of(batch_run, "national")
    tables = rep.count_tables()
    assert secrecy_checks.find_leaks(html, tables) == []
    if pdf is not None:
        assert secrecy_checks.find_leaks(pdf, tables) == []


def test_payment_lists_beside_the_reports_and_not_in_them(batch_run):
    rules, folder, out, outcome = batch_run
    results = read_results(folder / "P1" / "resultats.parquet")
    for region in REGIONS:
        path = out / "medecins-2024" / "P1" / region / "paiements.csv"
        listed = pd.read_csv(path, dtype={"ps_id": str})
        regional = region_rows(results, region)
        assert set(listed["ps_id"]) == {p for p, a in zip(regional["ps_id"], regional["amount_eur"]) if a > 0}
        html = path.with_name("rapport.html").read_text(encoding="utf-8")
        assert f"medecins-2024/P1/{region}/</code>" in html and "paiements.csv" in html  # the report says where it is
        assert not any(p in html for p in listed["ps_id"])
    index = json.loads(outcome.index.read_text(encoding="utf-8"))
    entry = next(n for n in index["notebooks"] if n["region"] == LARGE)
    assert entry["payments"] == f"P1/{LARGE}/paiements.csv"
    assert (entry["html"], entry["pdf"]) == (f"P1/{LARGE}/rapport.html", f"P1/{LARGE}/rapport.pdf")
    assert "paiements.csv" not in (out / "index.html").read_text(encoding="utf-8")


def test_every_notebook_rendered_and_indexed(batch_run):
    _, _, out, outcome = batch_run
    index = (out / "index.html").read_text(encoding="utf-8")
    for region in REGIONS:
        for suffix in ("html", "pdf"):
            assert (out / "medecins-2024" / "P1" / region / f"rapport.{suffix}").is_file()
            assert f'href="medecins-2024/P1/{region}/rapport.{suffix}"' in index
    assert (out / "medecins-2024" / "P1" / "national" / "synthese.pdf").is_file()
    assert outcome.render_seconds is not None and "rendu(s) en HTML et PDF" in outcome.summary()


def test_forfait_structure_beside_the_vsm_forfait(batch_run):
    from vsm.structure import regional_summary

    rules, folder, _, _ = batch_run
    rep, html, _ = report_of(batch_run, LARGE)
    structure = pd.read_parquet(folder.parent / "forfait-structure-2023" / "resultats.parquet")
    summary = regional_summary(rep.structure_results, LARGE)
    text = squash(html)
    assert "Forfait structure 2023" in text and "Distribution des points" in text
    assert squash(fr.eur(summary["total_eur"])) in text  # total to pay for the region's médecins
    assert set(structure["ps_id"]) == set(read_results(folder / "P1" / "resultats.parquet")["ps_id"])
    for region in SMALL:
        _, small_html, _ = report_of(batch_run, region)
        assert "pour le forfait VSM comme pour le forfait structure" in squash(small_html)
        assert "Distribution des points" not in small_html


def test_regional_report_screenshot_and_pdf_pages(batch_run, tmp_path):
    """What a caisse reader sees: the HTML in headless Chromium and the PDF pages as images,
    with the key figures in French (amounts « 1 500,00 € », shares « 48,7 % », dates)."""
    from PIL import Image

    from vsm import report as r

    rep, html, pdf = report_of(batch_run, LARGE)
    kf = r.key_figures(rep.regional, rep.rules)
    # a published share: the one reached over the eligible, or (their count masked) the majorated one
    share = kf.majorated_share if rep.plan.is_masked(LARGE, "eligibles") else kf.reached_share(1)
    expected = [squash(fr.eur(kf.total_eur)), squash(fr.percent(share)), "31 décembre 2023", "1 500,00 €"]
    assert re.search(r"\d{1,3}(?: \d{3})*,\d\d €", expected[0]) and re.search(r"^\d+,\d %$", expected[1])
    for value in expected:
        assert value in squash(html)
    html_path = batch_run[2] / "medecins-2024" / "P1" / LARGE / "rapport.html"
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None or shutil.which("pdftoppm") is None:
        pytest.skip("chromium ou pdftoppm absent : installés par .ci/run")
    shot = tmp_path / "capture.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profil'}",
         f"--screenshot={shot}", "--window-size=1280,1600", html_path.resolve().as_uri()],
        check=False, capture_output=True, timeout=180,
    )
    assert shot.exists(), "Chromium n'a pas écrit de capture"
    image = Image.open(shot).convert("L")
    assert image.size == (1280, 1600)
    assert 1 - sum(image.histogram()[245:]) / (1280 * 1600) > 0.02  # not a blank page
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(html_path.with_suffix(".pdf")), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3
    for page in pages:
        gray = Image.open(page).convert("L")
        assert 1 - sum(gray.histogram()[245:]) / (gray.width * gray.height) > 0.01, page.name
    first_page = squash(pdf.split("\f", 1)[0])
    for value in (expected[0], expected[2]):  # the key figures are on the first page of the PDF
        assert value in first_page
    assert expected[1] in squash(pdf)
    assert "Page 1 /" in pdf


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
                     "--results", folder, "--out", out, "--no-progress", "--no-render")
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
    assert store.staleness(rules, folder) is None
    assert store.staleness(rules, tmp_path / "absent") == "absents"
    assert "autre jeu de règles" in store.staleness(load_rules("medecins-2023"), folder)


def test_stale_results_from_other_extracts_are_not_overwritten(demo_results, tmp_path):
    import shutil

    folder, _ = demo_results
    copy = tmp_path / "resultats"
    shutil.copytree(folder, copy)
    data = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    other = tmp_path / "autres" / "traces.parquet"
    data["inputs"]["feeds"] = {"path": str(other.parent), "files": [{"path": str(other), "blake3": "0" * 64, "rows": 1}]}
    (copy / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    rules = load_rules("medecins-2024")
    assert "périmés" in store.staleness(rules, copy)
    with pytest.raises(VsmError, match="--feeds et --patientele"):
        batch.ensure_results(rules, copy)
    assert json.loads((copy / "manifest.json").read_text(encoding="utf-8")) == data  # left untouched


def test_cli_render_failure_is_reported_with_exit_code_1(demo_results, tmp_path, monkeypatch):
    """Notebooks « executed » (faked, without kernels) but unreadable: their rendering fails,
    the command says which and exits with 1; the payment lists are written all the same."""
    folder, _ = demo_results

    monkeypatch.setattr(batch, "execute", executed_without_kernel)
    out = tmp_path / "rapports"
    outcome = invoke("reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02",
                     "--results", folder, "--out", out, "--no-progress", "--jobs", "1")
    assert outcome.exit_code == 1, outcome.output
    assert f"Échec du rendu : {out / 'medecins-2024' / 'P1' / '02' / 'rapport.ipynb'}" in outcome.output
    assert "2 rendu(s) en échec" in outcome.output
    assert (out / "medecins-2024" / "P1" / "02" / "paiements.csv").is_file()
    assert (out / "index.html").is_file()


def test_cli_structure_file_must_exist(tmp_path):
    outcome = invoke("reports", "--rules", "medecins-2024", "--structure", tmp_path / "absent.csv", "--out", tmp_path / "r")
    assert outcome.exit_code == 2 and "--structure" in outcome.output
    assert not (tmp_path / "r").exists()


def test_results_of_the_given_extracts_are_reused_and_recomputed_when_they_change(tmp_path):
    """--feeds/--patientele: computed once, reused while the extracts are unchanged."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))  # run alone, tests/unit is not on the path
    from test_aggregate import FEED_COLUMNS, PATIENTELE, TRACES, write_csv

    feeds = write_csv(tmp_path / "traces.csv", FEED_COLUMNS, [t[:7] for t in TRACES])
    patientele = write_csv(
        tmp_path / "patientele.csv",
        ["ps_id", "ps_kind", "region", "departement", "snapshot_date", "patients_mt", "patients_mt_ald"],
        [p[:7] for p in PATIENTELE],
    )
    rules = load_rules("medecins-2024")
    folder = tmp_path / "resultats"
    said: list[str] = []
    first = batch.ensure_results(rules, folder, feeds, patientele, say=said.append)
    assert said[-1].startswith("Calcul des résultats")
    again = batch.ensure_results(rules, folder, feeds, patientele, say=said.append)
    assert said[-1].startswith("Résultats à jour pour ces extractions")
    assert again["inputs"] == first["inputs"]
    rows = [t[:7] for t in TRACES] + [("A", "D99", "2023-04-04", "SYNTH", "urn:asip:ci-sis:vsm:2012", "success", "creation")]
    write_csv(feeds, FEED_COLUMNS, rows)  # the extract changes: computed again
    third = batch.ensure_results(rules, folder, feeds, patientele, say=said.append)
    assert said[-1].startswith("Calcul des résultats")
    assert third["inputs"]["feeds"]["rows"] == len(TRACES) + 1


# --------------------------------------------------------------------------- what every engine must print (issue 13)


def _masked_tables(notebook: Path) -> int:
    """Tables of a report's notebook (pipe tables in text/markdown outputs) showing « s »."""
    from vsm import report as r

    nb = nbformat.read(notebook, as_version=4)
    count = 0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = "".join(output.get("data", {}).get("text/markdown", ""))
            for block in re.split(r"\n\s*\n", text):
                if block.startswith("| ") and re.search(rf"\|\s*(\*\*)?{r.symbol()}(\*\*)?\s*\|", block):
                    count += 1
    return count


@pytest.mark.parametrize("region", [*REGIONS, "national"])
def test_every_masked_table_has_its_secrecy_note_in_html_and_pdf(batch_run, region):
    """Quarto dropped the notes of the HTML outputs in its PDF; now each table that shows « s »
    is followed by the note, in the HTML and in the PDF text, and no count 1–10 is readable."""

    _, _, out, _ = batch_run
    stem = "synthese" if region == "national" else "rapport"
    base = out / "medecins-2024" / "P1" / region
    masked = _masked_tables(base / f"{stem}.ipynb")
    note = re.sub(r"\s+", "", norm(secrecy.secret_note()))
    html = (base / f"{stem}.html").read_text(encoding="utf-8")
    flat_html = re.sub(r"\s+", "", html_lib.unescape(re.sub(r"<[^>]+>", "", norm(html)))).replace("\u2019", "'")
    assert flat_html.count(note) >= masked
    assert "http://" not in html and "https://" not in html
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) absent : installé par .ci/run")
    pdf = subprocess.run(["pdftotext", str(base / f"{stem}.pdf"), "-"], check=True, capture_output=True, text=True).stdout
    flat_pdf = re.sub(r"\s+", "", norm(pdf)).replace("\u2019", "'")
    assert flat_pdf.count(note) >= masked
    assert "+20%duforfaitbrut" in flat_pdf  # the majoration rule is not turned into « 1. 20 % »
    pages = pdf.count("\f")
    assert f"Page 1 / {pages}" in squash(pdf) and f"Page {pages} / {pages}" in squash(pdf)
    # a word broken at a line end keeps a hyphen only where the text has one (no hyphenation)
    text = squash(html_lib.unescape(re.sub(r"<[^>]+>", " ", norm(html))))
    for left, right in re.findall(r"(\w+)-\n(\w+)", norm(pdf)):
        assert f"{left}-{right}" in text, f"{left}-{right}"


def test_papermill_cli_as_an_analyst_types_it(demo_results, tmp_path):
    """`papermill notebooks/rapport_regional.ipynb out.ipynb -p period P1 -p region 02`: papermill
    turns « 02 » into the integer 2, and the notebook reads it back as region 02."""
    import subprocess
    import sys

    import nbformat

    folder, _ = demo_results
    out = tmp_path / "martinique.ipynb"
    papermill = Path(sys.executable).parent / "papermill"
    done = subprocess.run(
        [str(papermill), str(REPO_DIR / "notebooks" / "rapport_regional.ipynb"), str(out),
         "-p", "period", "P1", "-p", "region", "02", "-p", "results_dir", str(folder)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    nb = nbformat.read(out, as_version=4)
    text = _outputs_text(nb)
    assert "Martinique" in text
    assert "Région inconnue" not in text
