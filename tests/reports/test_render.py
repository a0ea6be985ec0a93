"""Rendering of executed notebooks (vsm/render.py): one Markdown document per report that
every engine renders (self-contained HTML, A4 PDF through Typst), index, Quarto project; French
chart axes (vsm/present.py). The text checks run on every engine present (the built-in one
always, Quarto when on the PATH); what a reader sees (Chromium, pdftoppm) on the built-in one."""

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
from vsm import render  # noqa: E402
from vsm.publish import secrecy  # noqa: E402
from vsm.cli import cli  # noqa: E402
from vsm.errors import VsmError  # noqa: E402
from vsm.paths import NOTEBOOKS_DIR  # noqa: E402
import secrecy_checks

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
            "from vsm import present as fr\n"
            f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})  # tests/: the test-only secrecy tools\n"
            "import secrecy_checks\n"
            "from vsm.publish import secrecy\n"
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
            "shown = secrecy_checks.apply_mask(counts, secrecy_checks.secret_mask(counts), fr.integer)\n"
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


ENGINES = ["integre"] + (["quarto"] if shutil.which("quarto") else [])


@pytest.fixture(scope="module", params=ENGINES)
def rendered(request, executed, tmp_path_factory) -> tuple[Path, Path, Path]:
    """The test notebook rendered by every engine present (the built-in one always)."""
    root = tmp_path_factory.mktemp(f"reports-{request.param}")
    notebook = place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    html_path, pdf_path = render.render_notebook(notebook, engine=request.param)
    return notebook, html_path, pdf_path


@pytest.fixture(scope="module")
def builtin(executed, tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("reports-integre")
    notebook = place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    html_path, pdf_path = render.render_notebook(notebook, engine="integre")
    return notebook, html_path, pdf_path


def non_blank(png: Path) -> float:
    """Share of the image's pixels that are not (almost) white."""
    from PIL import Image

    image = Image.open(png).convert("L")
    histogram = image.histogram()
    return 1 - sum(histogram[245:]) / (image.width * image.height)


def pdf_text(pdf_path: Path, layout: bool = False) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) absent : installé par .ci/run")
    command = ["pdftotext", *(["-layout"] if layout else []), str(pdf_path), "-"]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout


def html_text(raw: str) -> str:
    import html as html_lib
    import re

    return squash(html_lib.unescape(re.sub(r"<[^>]+>", " ", raw))).replace("\u2019", "'")


def compact(text: str) -> str:
    """Text without any space (pdftotext spaces words of a table cell its own way)."""
    import re

    return re.sub(r"\s+", "", norm(text)).replace("\u2019", "'")


# --------------------------------------------------------------------------- every engine: HTML


def test_render_writes_both_files_beside_the_notebook(rendered):
    notebook, html_path, pdf_path = rendered
    assert html_path == notebook.with_name("rapport.html")
    assert pdf_path == notebook.with_name("rapport.pdf")
    assert sorted(p.name for p in files_in(notebook.parent)) == ["rapport.html", "rapport.ipynb", "rapport.pdf"]


def test_html_is_one_self_contained_file_without_any_network_reference(rendered):
    import re

    _, html_path, _ = rendered
    text = html_path.read_text(encoding="utf-8")
    assert re.search(r'<html[^>]*lang="fr"', text)
    assert PNG_DATA in text
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', text)
    assert sources and all(s.startswith("data:") for s in sources)
    assert "http://" not in text and "https://" not in text  # no CDN, no font, no link: an internal report
    assert not re.search(r'<script[^>]*\ssrc=', text) and not re.search(r'<link[^>]*\shref="(?!data:)', text)
    assert "require.js" not in text and "jquery" not in text.lower()
    assert "Autres formats" not in text


def test_html_images_have_a_french_text_alternative(rendered):
    import re

    _, html_path, _ = rendered
    text = html_path.read_text(encoding="utf-8")
    alts = re.findall(r'<img[^>]*\salt="([^"]*)"', text)
    assert alts and all(len(a) > 20 and a != "Graphique" for a in alts)
    assert "No description" not in text and "Figure size" not in text


def test_html_has_no_code_input(rendered):
    _, html_path, _ = rendered
    text = html_path.read_text(encoding="utf-8")
    for marker in ("jp-InputArea", "input_area", "In&nbsp;[", "In [", "secret_mask(", "plt.subplots", "import pandas"):
        assert marker not in text
    assert "avertissement technique" not in text  # stderr is for the developer


def test_html_title_block_from_metadata(rendered):
    _, html_path, _ = rendered
    raw = html_path.read_text(encoding="utf-8")
    text = html_text(raw)
    assert raw.count("<h1") == 1
    assert "Forfait VSM — Bretagne (53) — période P1" in text
    assert "Bloc de titre du notebook" not in text  # the notebook's own title output is replaced
    assert 'class="vsm-titre' in raw and 'class="vsm-surtitre' in raw
    for expected in (
        "ASSURANCE MALADIE" if False else render.KICKER,
        "Région : Bretagne (53) — CPAM de Bretagne",
        "Période : P1",
        "1er janvier 2022 – 31 décembre 2023",
        "1er semestre 2024",
        "(medecins-2024)",
        "arrêtée au 31 décembre 2023",
        "Document produit par l'outil vsm",
    ):
        assert expected in text, expected


def test_html_french_figures_and_masked_table(rendered):
    import re

    _, html_path, _ = rendered
    raw = html_path.read_text(encoding="utf-8")
    text = html_text(raw)
    assert "1 234 567,89 €" in text and "1 001 médecins" in text and "48,7 %" in text
    assert "<table" in raw and "<th" in raw  # header cells
    assert re.search(r'<td[^>]*text-align: right;[^>]*>s</td>', raw)  # a masked count, right-aligned
    assert "secret statistique" in text
    assert secrecy_checks.find_leaks(raw, {"paliers": COUNTS}) == []


# --------------------------------------------------------------------------- every engine: PDF


def test_pdf_text_page_numbers_and_french_figures(rendered):
    _, _, pdf_path = rendered
    text = norm(pdf_text(pdf_path, layout=True))
    pages = text.rstrip("\f").count("\f") + 1
    assert f"Page 1 / {pages}" in text and f"Page {pages} / {pages}" in text
    for expected in ("1 234 567,89 €", "1 001 médecins", "48,7 %", "Bretagne (53)", "1er janvier 2022 – 31 décembre 2023"):
        assert expected in squash(text)
    assert "Document produit par" in text
    assert "avertissement technique" not in text
    assert secrecy_checks.find_leaks(text, {"paliers": COUNTS}) == []


def test_pdf_secrecy_note_under_each_masked_table(rendered):
    _, _, pdf_path = rendered
    text = compact(pdf_text(pdf_path))
    assert compact(secrecy.secret_note()) in text


# --------------------------------------------------------------------------- built-in engine: what a reader sees


def test_pdf_is_a_real_tagged_pdf_with_non_blank_pages(builtin, tmp_path):
    _, _, pdf_path = builtin
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) absent : installé par .ci/run")
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf_path), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages
    for page in pages:
        assert non_blank(page) > 0.01, page.name
    info = subprocess.run(["pdfinfo", str(pdf_path)], capture_output=True, text=True, timeout=60).stdout
    assert "Tagged:          yes" in info  # Typst tags the PDF (structure, image alternatives)
    assert "Forfait VSM — Bretagne (53) — période P1" in info  # document title


def test_html_is_the_same_document_for_both_engines_sources(builtin):
    """The built-in engine's HTML is pandoc's conversion of the Markdown that Quarto gets."""
    _, html_path, _ = builtin
    raw = html_path.read_text(encoding="utf-8")
    assert 'name="generator" content="vsm' in raw and "(pandoc)" in raw
    assert "--bleu-pale: #e8f0f8" in raw and ".vsm-note" in raw  # the shared stylesheet, embedded

# --------------------------------------------------------------------------- (a) errors: nothing half-written


def test_notebook_with_an_error_output_is_refused(executed, tmp_path):
    nb = nbformat.read(executed, as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="boum", traceback=[])]
    path = tmp_path / "rapport.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(VsmError, match="erreur d'exécution"):
        render.render_notebook(path, engine="integre")
    assert [p.name for p in files_in(tmp_path)] == ["rapport.ipynb"]


def test_unexecuted_notebook_is_refused(tmp_path):
    path = tmp_path / "rapport.ipynb"
    nbformat.write(build_notebook(), path)
    with pytest.raises(VsmError, match="n'a pas été exécuté"):
        render.render_notebook(path, engine="integre")
    assert [p.name for p in files_in(tmp_path)] == ["rapport.ipynb"]


def test_failed_pdf_leaves_no_html_either(executed, tmp_path, monkeypatch):
    path = place(executed, tmp_path, "rapport.ipynb")
    monkeypatch.setattr(render.engines, "typst_source", lambda markdown: "#let x = (\n")  # Typst refuses this source
    with pytest.raises(VsmError, match="Typst n'a pas pu composer le PDF"):
        render.render_notebook(path, engine="integre")
    assert [p.name for p in files_in(tmp_path)] == ["rapport.ipynb"]


def test_full_disk_while_writing_the_pdf_leaves_nothing(executed, tmp_path, monkeypatch):
    import errno

    path = place(executed, tmp_path, "rapport.ipynb")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(render.engines, "compile_typst", full)
    with pytest.raises(VsmError, match="Écriture impossible|plus de place"):  # a French error (vsm.outputs.write_error)
        render.render_notebook(path, engine="integre")
    assert [p.name for p in files_in(tmp_path)] == ["rapport.ipynb"]


def test_missing_notebook_is_a_french_error(tmp_path):
    with pytest.raises(VsmError, match="introuvable"):
        render.render_notebook(tmp_path / "absent.ipynb")


# --------------------------------------------------------------------------- (b) headless Chromium


def test_html_displays_in_headless_chromium(builtin, tmp_path):
    _, html_path, _ = builtin
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
    assert render.quarto_command("rapport.qmd", "html", "_rendu") == [
        "quarto", "render", "rapport.qmd", "--to", "html", "--no-execute", "--output-dir", "_rendu",
    ]
    assert render.quarto_command(Path("a/b.qmd"), "typst", Path("out")) == [
        "quarto", "render", "a/b.qmd", "--to", "typst", "--no-execute", "--output-dir", "out",
    ]
    with pytest.raises(VsmError, match="Format Quarto inconnu"):
        render.quarto_command("rapport.qmd", "pdf", "_rendu")


def test_quarto_project_shares_the_template_filter_and_stylesheet():
    config = yaml.safe_load(render.QUARTO_CONFIG.read_text(encoding="utf-8"))
    assert config["execute"]["enabled"] is False and config["execute"]["echo"] is False
    html = config["format"]["html"]
    assert html["embed-resources"] is True and html["minimal"] is True and html["format-links"] is False
    assert html["css"] == render.CSS_PATH.name
    partials = config["format"]["typst"]["template-partials"]
    assert partials == ["templates/typst-template.typ", "templates/typst-show.typ"]
    for partial in partials:  # the very files the built-in engine's pandoc template includes
        assert (NOTEBOOKS_DIR / partial).is_file()
        assert f"${Path(partial).name}()$" in render.TYPST_TEMPLATE.read_text(encoding="utf-8")
    assert config["filters"] == ["templates/vsm.lua"] and render.LUA_FILTER == NOTEBOOKS_DIR / "templates/vsm.lua"
    assert config["lang"] == "fr"


def test_report_markdown_is_what_both_engines_get(executed, tmp_path):
    """One content model: title box, every cell's Markdown, images with their alternative, footer."""
    nb = nbformat.read(executed, as_version=4)
    clean, heading = render.prepare_notebook(nb)
    block = render.title_block(nb.metadata, heading)
    markdown = render.notebook_markdown(clean, block, tmp_path)
    front = yaml.safe_load(markdown.split("---\n", 2)[1])
    assert front == {"lang": "fr", "pagetitle": "Forfait VSM — Bretagne (53) — période P1", "vsm-entete": "Bretagne (53) · P1"}
    assert "::: {.vsm-titre}" in markdown and "::: {.vsm-surtitre}" in markdown and "::: {.vsm-pied}" in markdown
    assert "**Fenêtre d'observation :** 1er janvier 2022 – 31 décembre 2023" in markdown
    assert "# Forfait VSM — Bretagne (53) — période P1 {.unnumbered .unlisted}" in markdown
    assert "| Palier |" in markdown  # the notebook's bare DataFrame (text/html) became a pipe table
    assert "![" in markdown and (tmp_path / "figure-1.png").is_file()
    assert "<table" not in markdown and "<div" not in markdown


def test_quarto_engine_without_quarto_is_a_french_error(executed, tmp_path, monkeypatch):
    monkeypatch.setattr(render.engines, "quarto_available", lambda: False)
    path = place(executed, tmp_path, "rapport.ipynb")
    with pytest.raises(VsmError, match="Quarto absent du PATH"):
        render.render_notebook(path, engine="quarto")


@pytest.mark.skipif(shutil.which("quarto") is None, reason="Quarto absent du PATH")
def test_quarto_render_for_real(executed, tmp_path):
    path = place(executed, tmp_path, "rapport.ipynb")
    html_path, pdf_path = render.render_notebook(path, engine="quarto")
    assert PNG_DATA in html_path.read_text(encoding="utf-8")
    assert pdf_path.read_bytes().startswith(b"%PDF-")


# --------------------------------------------------------------------------- Typst markup in the text


TYPST_MARKUP_CELLS = [
    "+ 20 % du forfait brut si part structurée ≥ 1/3",
    "- 5 points de part",
    "= montant retenu",
    "/ par professionnel",
    "1. premier cas",
    "12. douzième cas",
    "+20 % collé",
    "* étoile",
    "# dièse",
    "$ dollar",
    "@ arobase",
    "_ souligné",
    "< chevron >",
]


@pytest.mark.parametrize("bold", [False, True])
def test_cells_that_look_like_typst_markup_are_printed_as_written(tmp_path, bold):
    """A cell starting with « + », « - », « = », « / » or « 3. » is text, not a Typst list or
    heading: rendered through pandoc → Typst → PDF and read back with pdftotext."""
    from vsm.display import markdown_table

    frame = pd.DataFrame({"Règle": [f"R{i}" for i in range(len(TYPST_MARKUP_CELLS))] + ["Total"],
                          "Valeur": TYPST_MARKUP_CELLS + ["+ 1 total"]})
    block = render.TitleBlock("Essai", [("Région", "+ 3 essai")], "Essai")
    paragraph = "\n\n".join(f"{md_escape_start(c)}" for c in TYPST_MARKUP_CELLS)
    text = "\n\n".join([markdown_table(frame), paragraph])
    if bold:
        text = text.replace("| R", "| **R")  # the first inline inside bold text: escaped too
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    markdown = render.notebook_markdown(nb, block, tmp_path)
    pdf = tmp_path / "essai.pdf"
    render.compile_typst(render.typst_source(markdown), tmp_path, pdf)
    read = compact(pdf_text(pdf))
    for cell in TYPST_MARKUP_CELLS + ["+ 1 total", "+ 3 essai"]:
        assert read.count(compact(cell)) >= (1 if "total" in cell or "essai" in cell else 2), cell
    assert "1.20%" not in read and "•5points" not in read


def md_escape_start(text: str) -> str:
    """A paragraph starting like a Markdown list or heading is escaped for Markdown itself."""
    from vsm.display import md_escape

    escaped = md_escape(text)
    return ("\\" + escaped) if escaped[:1] in "+-=/" or escaped[:1].isdigit() else escaped


def test_not_rendered_notebooks_are_named_with_the_reason(executed, tmp_path):
    """`vsm render` never renders 2 reports out of 3 silently: a partial notebook left by an
    interrupted execution, or a notebook the batch index lists but is missing, is named."""
    import json

    root = tmp_path / "reports"
    place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    partial = place(executed, root, "medecins-2024/P1/02/.rapport.partiel.ipynb")
    (root / "medecins-2024" / "rapports.json").write_text(json.dumps({"notebooks": [
        {"path": "P1/53/rapport.ipynb", "status": "ok"},
        {"path": "P1/02/rapport.ipynb", "status": "ok"},
        {"path": "P1/11/rapport.ipynb", "status": "ok"},
    ]}), encoding="utf-8")
    missing = render.not_rendered(root)
    assert [m.notebook.relative_to(root).as_posix() for m in missing] == ["medecins-2024/P1/02/rapport.ipynb", "medecins-2024/P1/11/rapport.ipynb"]
    assert partial.name in missing[0].reason and "rapports.json" in missing[1].reason
    result = CliRunner().invoke(cli, ["render", "--reports", str(root)])
    assert result.exit_code != 0
    assert "2 notebook(s) sur 3 n'ont pas été rendus" in result.output
    assert "P1/02/rapport.ipynb" in result.output and "P1/11/rapport.ipynb" in result.output
    assert (root / "medecins-2024/P1/53/rapport.pdf").is_file()  # the others are rendered all the same
    index = (root / "index.html").read_text(encoding="utf-8")
    assert "Rendus en échec" in index and "P1/11/rapport.ipynb" in index


# --------------------------------------------------------------------------- (d) every report and the index


def test_render_all_and_index(executed, tmp_path):
    root = tmp_path / "reports"
    place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    place(executed, root, "medecins-2024/P1/06/rapport.ipynb", region="06", region_name="Mayotte", caisse="CSS de Mayotte")
    place(
        executed, root, "medecins-2024/P1/national/synthese.ipynb",
        kind="national", region="national", region_name="France entière", caisse=None,
    )
    results = render.render_all(root, jobs=2, engine="integre")
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
        render.render_all(root, jobs=1, engine="integre")
    index = (root / "index.html").read_text(encoding="utf-8")
    assert 'href="medecins-2024/P1/53/rapport.html"' in index
    assert "Rendus en échec" in index and "06/rapport.html" not in index
    assert not (root / "medecins-2024/P1/06/rapport.html").exists()


def test_cli_render(executed, tmp_path):
    root = tmp_path / "reports"
    place(executed, root, "medecins-2024/P1/53/rapport.ipynb")
    result = CliRunner().invoke(cli, ["render", "--reports", str(root), "--moteur", "integre"])
    assert result.exit_code == 0, result.output
    assert "1 rapport(s) rendus en HTML et PDF avec le moteur intégré (pandoc, Typst)" in result.output
    former = CliRunner().invoke(cli, ["render", "--reports", str(root), "--moteur", "nbconvert"])  # the former name
    assert former.exit_code == 0 and "moteur intégré" in former.output
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
    render.render_notebook(earlier, engine="integre")
    stale = place(executed, root, "medecins-2024/P2/53/rapport.ipynb", period="P2")
    fresh = place(executed, root, "medecins-2024/P1/06/rapport.ipynb", region="06", region_name="Mayotte", caisse="CSS de Mayotte")
    results = render.render_all(root, jobs=1, engine="integre", notebooks=[fresh], strict=False)
    assert [r.notebook for r in results] == [fresh] and results[0].seconds > 0
    index = (root / "index.html").read_text(encoding="utf-8")
    assert 'href="medecins-2024/P1/06/rapport.html"' in index and 'href="medecins-2024/P1/53/rapport.pdf"' in index
    assert "P2/53" not in index and not stale.with_suffix(".html").exists()


def test_quarto_reads_the_markdown_like_the_builtin_engine():
    config = yaml.safe_load(render.QUARTO_CONFIG.read_text(encoding="utf-8"))
    assert config["from"] == render.PANDOC_MARKDOWN.split("  ")[0]


def test_markdown_table_alignment_totals_and_widths():
    """One representation of a table: pipe table, numbers right, totals bold, a numeric column
    never narrower (in the relative widths) than its longest amount, the separator line long
    enough for pandoc to always use these widths."""
    import re

    from vsm.display import markdown_table

    amount = fr.eur(1344426.05)
    frame = pd.DataFrame({
        "Code": ["11", "24", ""],
        "Région": ["Île-de-France", "Provence-Alpes-Côte d'Azur et encore un long nom de région", "France entière"],
        "Professionnels": ["1 352", "s", "8 000"],
        "Montant total": [amount, fr.eur(288210.85), fr.eur(8083532.83)],
    })
    text = markdown_table(frame, "s : secret statistique.")
    lines = text.splitlines()
    separator = lines[1]
    cells = separator.strip("|").split("|")
    assert [c.endswith(":") for c in cells] == [True, False, True, True]
    assert len(separator) > 100
    dashes = [c.count("-") for c in cells]
    assert dashes[3] / sum(dashes) * 100 >= len(amount)  # ≥ its characters, out of ~100 a line
    assert "**France entière**" in lines[4] and f"**{fr.eur(8083532.83)}**" in lines[4]  # the total row, in bold
    assert "**" not in lines[2] + lines[3]
    assert text.endswith("::: {.vsm-note}\ns : secret statistique.\n:::")
    assert re.match(r"^\|\s*$", markdown_table(pd.DataFrame({"a": ["x"]})).splitlines()[0]) is None
