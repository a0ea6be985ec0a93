"""Rendering of executed notebooks (vsm/render.py): self-contained HTML, A4 PDF, index,
Quarto command line; French chart axes (vsm/present.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from conftest import REPO_DIR, files_in, norm, squash  # noqa: E402
from vsm import present as fr  # noqa: E402
from vsm import render, secrecy  # noqa: E402
from vsm.cli import cli  # noqa: E402
from vsm.errors import VsmError  # noqa: E402

PNG_DATA = "data:image/png;base64,"
# The unmasked counts the test notebook publishes (masked) in its table.
COUNTS = pd.DataFrame(
    {"Sans majoration": [120, 45, 30, 195], "Avec majoration": [0, 4, 18, 22], "Total": [120, 49, 48, 217]},
    index=["Palier 0", "Palier 1", "Palier 2", "Total"],
)
META = {
    "kind": "regional",
    "region": "53",
    "region_name": "Bretagne",
    "caisse": "CPAM de Bretagne",
    "period": "P1",
    "start": "2022-01-01",
    "end": "2023-12-31",
    "payment": "1er semestre 2024",
    "complement_of": None,
    "rules": "medecins-2024",
    "rules_label": "Forfait VSM des médecins traitants — note méthodologique 2024",
    "snapshot_dates": ["2023-12-31"],
    "status": "ok",
    "error": None,
}


# --------------------------------------------------------------------------- a small executed notebook


def _code(source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["remove-input"]
    return cell


def build_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    parameters = _code('region = "53"\nperiod = "P1"')
    parameters.metadata["tags"].append("parameters")
    nb.cells = [
        parameters,
        _code(
            "import warnings\n"
            "from decimal import Decimal\n"
            "import pandas as pd\n"
            "import matplotlib.pyplot as plt\n"
            "from IPython.display import Markdown, display\n"
            "from vsm import present as fr, secrecy\n"
            "warnings.warn('avertissement technique pour le développeur')\n"
            "display(Markdown('# Forfait VSM — Bretagne (53) — période P1\\n\\n**Rapport régional.** Bloc de titre du notebook.'))"
        ),
        nbformat.v4.new_markdown_cell(
            "Ce rapport présente le forfait VSM des médecins traitants de la région pour la période P1."
        ),
        _code(
            "display(Markdown(f\"Montant total : **{fr.eur(Decimal('1234567.89'))}** pour {fr.integer(1001)} médecins ; "
            "part médiane : {fr.percent(0.487)}.\"))"
        ),
        nbformat.v4.new_markdown_cell("## Professionnels par palier et majoration"),
        _code(
            "counts = pd.DataFrame({'Sans majoration': [120, 45, 30], 'Avec majoration': [0, 4, 18]},\n"
            "                      index=['Palier 0', 'Palier 1', 'Palier 2'])\n"
            "counts['Total'] = counts.sum(axis=1)\n"
            "counts.loc['Total'] = counts.sum()\n"
            "shown = secrecy.apply_mask(counts, secrecy.secret_mask(counts), fr.integer)\n"
            "shown.index.name = 'Palier'\n"
            "display(shown)\n"
            "display(Markdown(secrecy.secret_note()))"
        ),
        nbformat.v4.new_markdown_cell("## Montants par département"),
        _code(
            "fig, ax = plt.subplots(figsize=(7, 3.2))\n"
            "ax.bar(['Côtes-d’Armor', 'Finistère', 'Ille-et-Vilaine', 'Morbihan'], [60000, 10500, 82500, 45000], color='#0b4f8a')\n"
            "fr.eur_axis(ax)\n"
            "ax.set_title('Montant du forfait par département')\n"
            "fig.tight_layout()\n"
            "plt.show()"
        ),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> Path:
    """The test notebook, executed once (a real kernel, like papermill), kept read-only."""
    from nbclient import NotebookClient

    nb = build_notebook()
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(REPO_DIR)}}).execute()
    nb.metadata["vsm"] = dict(META)
    path = tmp_path_factory.mktemp("executed") / "rapport.ipynb"
    nbformat.write(nb, path)
    return path


def place(executed: Path, root: Path, rel: str, **meta) -> Path:
    """A copy of the executed notebook at ``root/rel`` with metadata changes."""
    nb = nbformat.read(executed, as_version=4)
    nb.metadata["vsm"].update(meta)
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


@pytest.fixture(scope="module")
def rendered(executed, tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("reports")
    notebook = place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    html_path, pdf_path = render.render_notebook(notebook, engine="nbconvert")
    return notebook, html_path, pdf_path


def non_blank(png: Path) -> float:
    """Share of the image's pixels that are not (almost) white."""
    from PIL import Image

    image = Image.open(png).convert("L")
    histogram = image.histogram()
    return 1 - sum(histogram[245:]) / (image.width * image.height)


# --------------------------------------------------------------------------- (a) fallback: HTML


def test_render_writes_both_files_beside_the_notebook(rendered):
    notebook, html_path, pdf_path = rendered
    assert html_path == notebook.with_name("rapport.html")
    assert pdf_path == notebook.with_name("rapport.pdf")
    assert sorted(p.name for p in files_in(notebook.parent)) == ["rapport.html", "rapport.ipynb", "rapport.pdf"]


def test_html_is_one_self_contained_file(rendered):
    _, html_path, _ = rendered
    text = html_path.read_text(encoding="utf-8")
    assert '<html lang="fr">' in text
    assert PNG_DATA in text
    sources = [s for s in __import__("re").findall(r'<img[^>]*\ssrc="([^"]*)"', text)]
    assert sources and all(s.startswith("data:") for s in sources)
    assert "<script" not in text and "<link" not in text
    assert "No description" not in text  # alt texts in French


def test_html_has_no_code_input(rendered):
    _, html_path, _ = rendered
    text = html_path.read_text(encoding="utf-8")
    for marker in ("jp-InputArea", "input_area", "In&nbsp;[", "In [", "secret_mask(", "plt.subplots", "import pandas"):
        assert marker not in text
    assert "avertissement technique" not in text  # stderr is for the developer


def test_html_title_block_from_metadata(rendered):
    _, html_path, _ = rendered
    text = squash(html_path.read_text(encoding="utf-8"))
    assert text.count("<h1>") == 1
    assert "<h1>Forfait VSM — Bretagne (53) — période P1</h1>" in text
    assert "Bloc de titre du notebook" not in text  # the notebook's own title output is replaced
    for expected in (
        "Bretagne (53) — CPAM de Bretagne",
        "<dd>P1</dd>",
        "1er janvier 2022 – 31 décembre 2023",
        "1er semestre 2024",
        "(medecins-2024)",
        "arrêtée au 31 décembre 2023",
    ):
        assert expected in text


def test_html_french_figures_and_masked_table(rendered):
    _, html_path, _ = rendered
    raw = html_path.read_text(encoding="utf-8")
    text = squash(raw)
    assert "1 234 567,89 €" in text and "1 001 médecins" in text and "48,7 %" in text
    assert "<table" in raw and '<td class="num">s</td>' in raw
    assert "secret statistique" in text
    assert secrecy.find_leaks(raw, {"paliers": COUNTS}) == []


# --------------------------------------------------------------------------- (a) fallback: PDF


def test_pdf_is_a_real_pdf_with_non_blank_pages(rendered, tmp_path):
    _, _, pdf_path = rendered
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) absent : installé par .ci/run")
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf_path), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages
    for page in pages:
        assert non_blank(page) > 0.01, page.name


def test_pdf_text_page_numbers_and_french_figures(rendered):
    _, _, pdf_path = rendered
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) absent : installé par .ci/run")
    done = subprocess.run(["pdftotext", "-layout", str(pdf_path), "-"], check=True, capture_output=True, text=True, timeout=120)
    text = norm(done.stdout)
    pages = text.count("\f") or 1
    assert f"Page 1 / {pages}" in text
    for expected in ("1 234 567,89 €", "1 001 médecins", "48,7 %", "Bretagne (53)", "1er janvier 2022 – 31 décembre 2023"):
        assert expected in squash(text)
    assert "avertissement technique" not in text
    assert secrecy.find_leaks(done.stdout, {"paliers": COUNTS}) == []


# --------------------------------------------------------------------------- (a) errors: nothing half-written


def test_notebook_with_an_error_output_is_refused(executed, tmp_path):
    nb = nbformat.read(executed, as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="boum", traceback=[])]
    path = tmp_path / "rapport.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(VsmError, match="erreur d'exécution"):
        render.render_notebook(path, engine="nbconvert")
    assert [p.name for p in files_in(tmp_path)] == ["rapport.ipynb"]


def test_unexecuted_notebook_is_refused(tmp_path):
    path = tmp_path / "rapport.ipynb"
    nbformat.write(build_notebook(), path)
    with pytest.raises(VsmError, match="n'a pas été exécuté"):
        render.render_notebook(path, engine="nbconvert")
    assert [p.name for p in files_in(tmp_path)] == ["rapport.ipynb"]


def test_failed_pdf_leaves_no_html_either(executed, tmp_path, monkeypatch):
    import weasyprint

    path = place(executed, tmp_path, "rapport.ipynb")

    def boom(*args, **kwargs):
        raise OSError("disque plein")

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", boom)
    with pytest.raises(VsmError, match="Écriture impossible"):  # a write failure is a French error (vsm.results.atomic_path)
        render.render_notebook(path, engine="nbconvert")
    assert [p.name for p in files_in(tmp_path)] == ["rapport.ipynb"]


def test_missing_notebook_is_a_french_error(tmp_path):
    with pytest.raises(VsmError, match="introuvable"):
        render.render_notebook(tmp_path / "absent.ipynb")


# --------------------------------------------------------------------------- (b) headless Chromium


def test_html_displays_in_headless_chromium(rendered, tmp_path):
    _, html_path, _ = rendered
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium absent : installé par .ci/run (paquet Debian chromium)")
    shot = tmp_path / "capture.png"
    subprocess.run(
        [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profil'}", f"--screenshot={shot}", "--window-size=1280,2000",
            html_path.resolve().as_uri(),
        ],
        check=False, capture_output=True, timeout=180,
    )
    assert shot.exists(), "Chromium n'a pas écrit de capture"
    from PIL import Image

    assert Image.open(shot).size == (1280, 2000)
    assert non_blank(shot) > 0.02


# --------------------------------------------------------------------------- (c) Quarto


def test_quarto_command_line():
    assert render.quarto_command("rapport.ipynb", "html", "_rendu") == [
        "quarto", "render", "rapport.ipynb", "--to", "html", "--no-execute", "--output-dir", "_rendu",
    ]
    assert render.quarto_command(Path("a/b.ipynb"), "typst", Path("out")) == [
        "quarto", "render", "a/b.ipynb", "--to", "typst", "--no-execute", "--output-dir", "out",
    ]
    with pytest.raises(VsmError, match="Format Quarto inconnu"):
        render.quarto_command("rapport.ipynb", "pdf", "_rendu")


def test_quarto_project_configuration():
    config = yaml.safe_load(render.QUARTO_CONFIG.read_text(encoding="utf-8"))
    assert config["execute"]["enabled"] is False and config["execute"]["echo"] is False
    assert config["format"]["html"]["embed-resources"] is True
    assert config["format"]["html"]["css"] == render.CSS_PATH.name
    assert config["format"]["typst"]["papersize"] == "a4"
    assert config["format"]["typst"]["page-numbering"] == "1 / 1"
    assert config["lang"] == "fr"


def test_quarto_notebook_has_front_matter_and_fiche(executed):
    nb = nbformat.read(executed, as_version=4)
    clean, heading = render.prepare_notebook(nb)
    block = render.title_block(nb.metadata, heading)
    quarto_nb = render.quarto_notebook(clean, block)
    front = quarto_nb.cells[0]
    assert front.cell_type == "raw"
    assert yaml.safe_load(front.source.strip("-\n")) == {"title": "Forfait VSM — Bretagne (53) — période P1", "lang": "fr"}
    assert "**Fenêtre d'observation :** 1er janvier 2022 – 31 décembre 2023" in quarto_nb.cells[1].source


def test_quarto_engine_without_quarto_is_a_french_error(executed, tmp_path, monkeypatch):
    monkeypatch.setattr(render, "quarto_available", lambda: False)
    path = place(executed, tmp_path, "rapport.ipynb")
    with pytest.raises(VsmError, match="Quarto absent du PATH"):
        render.render_notebook(path, engine="quarto")


@pytest.mark.skipif(shutil.which("quarto") is None, reason="Quarto absent du PATH")
def test_quarto_render_for_real(executed, tmp_path):
    path = place(executed, tmp_path, "rapport.ipynb")
    html_path, pdf_path = render.render_notebook(path, engine="quarto")
    assert PNG_DATA in html_path.read_text(encoding="utf-8")
    assert pdf_path.read_bytes().startswith(b"%PDF-")


# --------------------------------------------------------------------------- (d) every report and the index


def test_render_all_and_index(executed, tmp_path):
    root = tmp_path / "reports"
    place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    place(executed, root, "medecins-2024/P1/06/rapport.ipynb", region="06", region_name="Mayotte", caisse="CSS de Mayotte")
    place(
        executed, root, "medecins-2024/P1/national/synthese.ipynb",
        kind="national", region="national", region_name="France entière", caisse=None,
    )
    results = render.render_all(root, jobs=2, engine="nbconvert")
    assert len(results) == 3 and not any(r.error for r in results)
    index = (root / "index.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in index
    for rel in (
        "medecins-2024/P1/53/rapport.html", "medecins-2024/P1/53/rapport.pdf",
        "medecins-2024/P1/06/rapport.html", "medecins-2024/P1/06/rapport.pdf",
        "medecins-2024/P1/national/synthese.html", "medecins-2024/P1/national/synthese.pdf",
    ):
        assert f'href="{rel}"' in index
        assert (root / rel).is_file()
    text = squash(index)
    assert "Jeu de règles medecins-2024" in text and "Période P1" in text
    assert "Bretagne" in text and "Mayotte" in text and "Synthèse nationale" in text
    assert text.index("Synthèse nationale") < text.index("Mayotte") < text.index("Bretagne")
    assert "du 1er janvier 2022 au 31 décembre 2023" in text


def test_render_all_reports_failures_and_still_indexes_the_others(executed, tmp_path):
    root = tmp_path / "reports"
    place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    failed = place(executed, root, "medecins-2024/P1/06/rapport.ipynb", region="06", status="échec", error="KeyError : '06'")
    failed.with_suffix(".html").write_text("ancien rendu", encoding="utf-8")  # from an earlier, successful run
    with pytest.raises(VsmError, match="1 notebook"):
        render.render_all(root, jobs=1, engine="nbconvert")
    index = (root / "index.html").read_text(encoding="utf-8")
    assert 'href="medecins-2024/P1/53/rapport.html"' in index
    assert "Rendus en échec" in index and "06/rapport.html" not in index
    assert not (root / "medecins-2024/P1/06/rapport.html").exists()


def test_cli_render(executed, tmp_path):
    root = tmp_path / "reports"
    place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    result = CliRunner().invoke(cli, ["render", "--reports", str(root), "--moteur", "nbconvert"])
    assert result.exit_code == 0, result.output
    assert "1 rapport(s) rendus en HTML et PDF avec nbconvert et WeasyPrint" in result.output
    assert (root / "index.html").is_file()
    empty = CliRunner().invoke(cli, ["render", "--reports", str(tmp_path / "vide")])
    assert empty.exit_code == 2
    assert "Aucun notebook exécuté" in empty.output


# --------------------------------------------------------------------------- French chart axes


def tick_labels(fig, axis) -> list[str]:
    fig.canvas.draw()
    return [norm(t.get_text()) for t in axis.get_ticklabels() if t.get_text()]


def test_percent_axis():
    fig, ax = plt.subplots()
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 1])
    fr.percent_axis(ax)
    assert tick_labels(fig, ax.xaxis) == ["0 %", "25 %", "50 %", "100 %"]
    fr.percent_axis(ax, "y", decimals=1, xmax=100)
    ax.set_ylim(0, 50)
    ax.set_yticks([12.5, 48.7])
    assert tick_labels(fig, ax.yaxis) == ["12,5 %", "48,7 %"]
    plt.close(fig)


def test_eur_axis():
    fig, ax = plt.subplots()
    ax.set_ylim(0, 12500)
    ax.set_yticks([0, 1500, 12500])
    fr.eur_axis(ax)
    assert tick_labels(fig, ax.yaxis) == ["0 €", "1 500 €", "12 500 €"]
    fr.eur_axis(ax, decimals=2)
    assert tick_labels(fig, ax.yaxis) == ["0,00 €", "1 500,00 €", "12 500,00 €"]
    plt.close(fig)


def test_integer_axis_and_both_axes():
    fig, ax = plt.subplots()
    ax.plot([0, 4.5], [0, 25000])
    ax.set_xlim(0, 4.5)
    ax.set_ylim(0, 25000)
    fr.integer_axis(ax, "both")
    labels = tick_labels(fig, ax.yaxis)
    assert "25 000" in labels and all("," not in label and "." not in label for label in labels)
    assert all(label.isdigit() for label in tick_labels(fig, ax.xaxis))
    with pytest.raises(ValueError):
        fr.integer_axis(ax, "z")
    plt.close(fig)


def test_render_only_some_notebooks_keeps_the_others_in_the_index(executed, tmp_path):
    """What « vsm reports » does: render the notebooks it has just executed; the index still
    lists a report rendered earlier (and up to date), never a stale one."""
    root = tmp_path / "reports"
    earlier = place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    render.render_notebook(earlier, engine="nbconvert")
    stale = place(executed, root, "medecins-2024/P2/53/rapport.ipynb", period="P2")
    fresh = place(executed, root, "medecins-2024/P1/06/rapport.ipynb", region="06", region_name="Mayotte", caisse="CSS de Mayotte")
    results = render.render_all(root, jobs=1, engine="nbconvert", notebooks=[fresh], strict=False)
    assert [r.notebook for r in results] == [fresh] and results[0].seconds > 0
    index = (root / "index.html").read_text(encoding="utf-8")
    assert 'href="medecins-2024/P1/06/rapport.html"' in index and 'href="medecins-2024/P1/53/rapport.pdf"' in index
    assert "P2/53" not in index and not stale.with_suffix(".html").exists()
