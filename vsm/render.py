"""Executed report notebooks → one self-contained HTML file and one PDF, in French.

One content model: every output of a report notebook is pandoc Markdown (``text/markdown``:
prose, pipe tables, notes as fenced divs) or a PNG image with its French description
(vsm/display.py). :func:`notebook_markdown` assembles the outputs into ONE Markdown document
(title box, content, footer) and an engine renders it into the same two files
(``<stem>.html`` and ``<stem>.pdf`` beside the notebook):

- **the built-in engine** (« integre », the default without Quarto): pandoc
  (pypandoc-binary) → HTML with notebooks/templates/vsm.html and notebooks/rapport.css, all
  embedded; pandoc → Typst with notebooks/templates/vsm.typ, compiled to PDF by the ``typst``
  package;
- **Quarto**, when ``quarto`` is on the PATH: the same Markdown as ``<stem>.qmd`` with
  notebooks/_quarto.yml (same stylesheet, same Typst template through template-partials,
  same Lua filter notebooks/templates/vsm.lua).

``vsm reports`` calls :func:`render_all` as its last step, on the notebooks it has just
executed (the index also lists the reports rendered earlier and still up to date); ``vsm
render`` does it alone, and names every expected notebook it could not render
(:func:`not_rendered`). A notebook is never executed again here: papermill did it (``vsm
reports``); a notebook with an error output or without any output is refused. Both files are
written through temporary files renamed at the end, so that an error never leaves a partial
or a lonely file behind.

The title block comes from ``nb.metadata["vsm"]`` (written by ``vsm reports``): region
(a code or "national"), region_name, caisse, period, start, end, payment, complement_of,
rules, rules_label, and the dates of the input extracts (``snapshot_dates``: the patientèle
snapshots, or ``snapshots``: {name: date}). With that metadata, a leading title output of
the notebook (a Markdown output starting with « # ») is replaced by this title block; its
« # » line becomes the title.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import __version__
from . import present as fr
from .display import md_escape
from .errors import VsmError
from .paths import NOTEBOOKS_DIR
from .outputs import atomic_path

QUARTO_CONFIG = NOTEBOOKS_DIR / "_quarto.yml"
CSS_PATH = NOTEBOOKS_DIR / "rapport.css"
QUARTO_OUT = "_rendu"
INDEX_FILE = "index.html"

KICKER = "Assurance Maladie — forfait VSM (volet de synthèse médicale)"
NATIONAL = ("national", "nationale", "fr", "france")
SNAPSHOT_KEYS = ("snapshots", "snapshot_dates", "extracts", "extract_dates", "snapshot_date")
SNAPSHOT_LABELS = {
    "feeds": "traces d'alimentation du DMP",
    "traces": "traces d'alimentation du DMP",
    "traces_dmp": "traces d'alimentation du DMP",
    "dmp": "traces d'alimentation du DMP",
    "patientele": "patientèle « médecin traitant »",
    "patientele_mt": "patientèle « médecin traitant »",
}


# --------------------------------------------------------------------------- title block


@dataclass
class TitleBlock:
    title: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    running_title: str = ""


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _date_text(value) -> str:
    day = _as_date(value)
    return fr.date(day) if day is not None else str(value)


def _snapshots_text(meta: dict) -> str | None:
    key = next((k for k in SNAPSHOT_KEYS if meta.get(k) not in (None, "", [], {})), None)
    if key is None:
        return None
    value = meta[key]
    if key == "snapshot_dates" and isinstance(value, (list, tuple)):  # vsm reports: patientèle snapshots
        return f"patientèle « médecin traitant » arrêtée au {', '.join(_date_text(v) for v in value)}"
    if isinstance(value, dict):
        parts = []
        for name, item in value.items():
            if isinstance(item, dict):
                item = item.get("date") or item.get("snapshot_date") or next(iter(item.values()), "")
            if isinstance(item, (list, tuple)):
                text = ", ".join(_date_text(v) for v in item)
            else:
                text = _date_text(item)
            parts.append(f"{SNAPSHOT_LABELS.get(str(name).lower(), str(name))} au {text}")
        return " ; ".join(parts)
    if isinstance(value, (list, tuple)):
        return ", ".join(_date_text(v) for v in value)
    return _date_text(value)


def _region_text(meta: dict) -> tuple[str, str | None, bool]:
    """(« Bretagne (53) », caisse or None, is_national)."""
    code = meta.get("region")
    name = meta.get("region_name")
    if meta.get("kind") == "national" or code is None or str(code).strip().lower() in NATIONAL:
        return "France entière", None, True
    code = str(code)
    caisse = meta.get("caisse")
    try:
        from .regions import load_regions

        region = load_regions().get(code)
        if region is not None:
            name = name or region.nom
            caisse = caisse or region.caisse
    except (VsmError, OSError):  # regions.yml unreadable: the metadata alone is enough for a title
        pass
    return (f"{name} ({code})" if name else code), caisse, False


def title_block(metadata: dict, heading: str | None = None, fallback: str = "Rapport") -> TitleBlock:
    """The title and the « fiche » lines of a report, from the notebook metadata."""
    meta = dict(metadata.get("vsm") or {})
    fields: list[tuple[str, str]] = []
    if not meta:
        title = heading or fallback
        return TitleBlock(title=title, fields=fields, running_title=title)
    region, caisse, national = _region_text(meta)
    if meta.get("title"):
        title = str(meta["title"])
    elif heading:
        title = heading
    elif national:
        title = "Synthèse nationale"
    else:
        title = f"Rapport régional — {region}"
    fields.append(("Région", region + (f" — {caisse}" if caisse else "")))
    if meta.get("period"):
        fields.append(("Période", str(meta["period"])))
    if meta.get("start") and meta.get("end"):
        fields.append(("Fenêtre d'observation", f"{_date_text(meta['start'])} – {_date_text(meta['end'])}"))
    if meta.get("payment"):
        complement = f" (complément de la période {meta['complement_of']})" if meta.get("complement_of") else ""
        fields.append(("Versement", f"{meta['payment']}{complement}"))
    if meta.get("rules"):
        label = f"{meta['rules_label']} ({meta['rules']})" if meta.get("rules_label") else str(meta["rules"])
        fields.append(("Jeu de règles", label))
    snapshots = _snapshots_text(meta)
    if snapshots:
        fields.append(("Extractions", snapshots))
    executed = (metadata.get("papermill") or {}).get("end_time")
    if _as_date(executed) is not None:
        fields.append(("Calculé le", _date_text(executed)))
    running = " · ".join(x for x in (region, str(meta.get("period") or "")) if x)
    return TitleBlock(title=title, fields=fields, running_title=running)


def title_markdown(block: TitleBlock) -> str:
    """The title box in pandoc Markdown, the same for both engines: kicker, « # » title and
    the « fiche » lines (CSS styles the divs in HTML, the Lua filter makes them Typst calls)."""
    lines = [f"**{md_escape(label)} :** {md_escape(value)}" for label, value in block.fields]
    fiche = ("\n\n::: {.vsm-fiche}\n" + "\\\n".join(lines) + "\n:::") if lines else ""
    return (
        "::: {.vsm-titre}\n"
        f"::: {{.vsm-surtitre}}\n{md_escape(KICKER)}\n:::\n\n"
        f"# {md_escape(block.title)} {{.unnumbered .unlisted}}"
        f"{fiche}\n"
        ":::"
    )


def footer_markdown(produced: dt.date | None = None) -> str:
    produced = produced or dt.date.today()
    return (
        "::: {.vsm-pied}\n"
        f"Document produit par l'outil vsm {md_escape(__version__)} le {fr.date(produced)}, à partir d'un notebook "
        "déjà exécuté : aucun chiffre n'est recalculé à la mise en page.\n"
        ":::"
    )


# --------------------------------------------------------------------------- notebook clean-up

_REPR_ONLY = re.compile(r"^<[\w.]+(\s.*)?>$|^<Figure size .*>$", re.DOTALL)
_H1 = re.compile(r"^\s*#\s+(.+?)\s*#*\s*$")


def _check_executed(nb, path: Path) -> None:
    meta = nb.metadata.get("vsm") or {}
    if meta.get("status") not in (None, "ok"):
        raise VsmError(f"Le notebook {path} est en échec d'exécution ({meta.get('error') or meta.get('status')}) : pas de rendu.")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for number, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                raise VsmError(
                    f"Le notebook {path} contient une erreur d'exécution (cellule {number}) : "
                    f"{output.get('ename', '?')} — {output.get('evalue', '')}. Rien n'a été rendu."
                )
    if code_cells and not any(c.get("outputs") or c.get("execution_count") for c in code_cells):
        raise VsmError(
            f"Le notebook {path} n'a pas été exécuté (aucune sortie). Le rendu ne réexécute rien : "
            "lancer d'abord « vsm reports »."
        )


def _take_heading(nb, whole_output: bool = False) -> str | None:
    """Remove and return the leading « # Titre » of the first visible content, if any.

    In a Markdown cell only the « # » line goes (the rest is the report's text). In a code
    output with ``whole_output``, the whole output goes: it is the notebook's own title
    block, replaced by the one built from the metadata."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.splitlines()
            first = next((i for i, line in enumerate(lines) if line.strip()), None)
            if first is None:
                continue
            match = _H1.match(lines[first])
            if not match:
                return None
            cell.source = "\n".join(lines[:first] + lines[first + 1 :]).strip("\n")
            return match.group(1)
        if cell.cell_type == "code" and cell.get("outputs"):
            output = cell.outputs[0]
            text = (output.get("data") or {}).get("text/markdown")
            if text is None:
                return None
            text = "".join(text) if isinstance(text, list) else text
            lines = text.splitlines()
            first = next((i for i, line in enumerate(lines) if line.strip()), None)
            match = _H1.match(lines[first]) if first is not None else None
            if not match:
                return None
            if whole_output:
                cell.outputs = cell.outputs[1:]
            else:
                output["data"]["text/markdown"] = "\n".join(lines[:first] + lines[first + 1 :]).strip("\n")
                output["data"].pop("text/html", None)
            return match.group(1)
    return None


def prepare_notebook(nb, path: Path | str = "notebook") -> tuple[nbformat.NotebookNode, str | None]:
    """A clean copy of an executed notebook, ready for either engine, and its leading title.

    Refuses error outputs and unexecuted notebooks. Removes: cells tagged « remove-cell »,
    outputs of cells tagged « remove-output », stderr streams (warnings are for the
    developer, not the caisse), bare Python reprs (« <Figure size …> »), code cells left
    without output. The first « # Titre » becomes the report's title.
    """
    _check_executed(nb, Path(path))
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if "remove-cell" in tags:
            continue
        if cell.cell_type == "code":
            outputs = [] if "remove-output" in tags else cell.get("outputs", [])
            kept = []
            for output in outputs:
                kind = output.get("output_type")
                if kind == "stream" and output.get("name") == "stderr":
                    continue
                if kind in ("display_data", "execute_result"):
                    data = output.get("data", {})
                    plain = data.get("text/plain", "")
                    plain = "".join(plain) if isinstance(plain, list) else plain
                    if set(data) == {"text/plain"} and _REPR_ONLY.match(plain.strip()):
                        continue
                kept.append(output)
            if not kept:
                continue
            cell.outputs = kept
        cells.append(cell)
    nb.cells = cells
    heading = _take_heading(nb, whole_output=bool(nb.metadata.get("vsm")))
    nb.cells = [
        c for c in nb.cells
        if not (c.cell_type == "markdown" and not c.source.strip()) and not (c.cell_type == "code" and not c.outputs)
    ]
    return nb, heading


# --------------------------------------------------------------------------- one content model: Markdown + images

TEMPLATES_DIR = NOTEBOOKS_DIR / "templates"
LUA_FILTER = TEMPLATES_DIR / "vsm.lua"
TYPST_TEMPLATE = TEMPLATES_DIR / "vsm.typ"
HTML_TEMPLATE = TEMPLATES_DIR / "vsm.html"
IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg"}
PANDOC_MARKDOWN = "markdown-smart-implicit_header_references"  # text printed as written (apostrophes too)
_ALT_FALLBACK = "Graphique du rapport (sans description fournie par le notebook)"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _html_table_frame(table):
    """An HTML table (pandas' ``to_html`` with its index) → a DataFrame of texts."""
    import pandas as pd

    head = table.find("thead")
    header_rows = head.find_all("tr") if head is not None else []
    headers = [[c.get_text(" ", strip=True) for c in row.find_all(["th", "td"])] for row in header_rows]
    if len(headers) == 2 and len(headers[0]) == len(headers[1]) and not headers[0][0] and not any(headers[1][1:]):
        headers = [[headers[1][0], *headers[0][1:]]]  # pandas' index name on a second header row
    body_rows = [r for r in table.find_all("tr") if r.find_parent("thead") is None]
    rows = [[c.get_text(" ", strip=True) for c in row.find_all(["th", "td"])] for row in body_rows]
    width = max([len(r) for r in rows + headers] or [0])
    columns = headers[-1] if headers else [""] * width
    columns = [*columns, *[""] * (width - len(columns))]
    columns = [c or ("\u00a0" * (i + 1)) for i, c in enumerate(columns)]  # pipe tables need distinct headers
    return pd.DataFrame([[*r, *[""] * (width - len(r))] for r in rows], columns=columns)


def _html_markdown(fragment: str) -> str:
    """A foreign ``text/html`` output (a bare pandas DataFrame, say) → pandoc Markdown, so that
    it goes through the same path as everything else (vsm's own objects never emit HTML):
    its tables become pipe tables like vsm's, the rest goes through pandoc."""
    import pypandoc
    from bs4 import BeautifulSoup

    from .display import markdown_table

    soup = BeautifulSoup(fragment, "html.parser")
    for style in soup.find_all(["style", "script"]):
        style.decompose()
    parts = []
    for table in soup.find_all("table"):
        parts.append(markdown_table(_html_table_frame(table), symbol=_secret_symbol()))
        table.decompose()
    rest = str(soup).strip()
    if BeautifulSoup(rest, "html.parser").get_text(strip=True):
        parts.insert(0, pypandoc.convert_text(rest, "markdown-raw_html-native_divs-native_spans", format="html",
                                              extra_args=["--wrap=none"]).strip())
    return "\n\n".join(parts)


def _secret_symbol() -> str:
    from .secrecy import settings

    try:
        return settings().symbol
    except (VsmError, OSError):  # the secrecy settings unreadable: the default symbol
        return "s"


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text.rstrip()}\n{fence}"


def _output_markdown(output, media_dir: Path, counter: list[int]) -> str | None:
    """One notebook output → Markdown, the precedence Quarto applies to Typst/PDF:
    text/markdown, then an image (with its text alternative), then text/html, then text/plain."""
    kind = output.get("output_type")
    if kind == "stream":
        return _fence(_text(output.get("text"))) if _text(output.get("text")).strip() else None
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data") or {}
    if "text/markdown" in data:
        return _text(data["text/markdown"]).strip()
    for mime, suffix in IMAGE_TYPES.items():
        if mime in data:
            import base64

            counter[0] += 1
            name = f"figure-{counter[0]}{suffix}"
            (media_dir / name).write_bytes(base64.b64decode(_text(data[mime])))
            plain = _text(data.get("text/plain")).strip()
            alt = plain if plain and not _REPR_ONLY.match(plain) else _ALT_FALLBACK
            quoted = alt.replace("\\", "\\\\").replace('"', '\\"')
            return f'![{md_escape(alt)}]({name}){{fig-alt="{quoted}" width="100%"}}'
    if "text/html" in data:
        return _html_markdown(_text(data["text/html"]))
    if "text/plain" in data:
        return _fence(_text(data["text/plain"]))
    return None


def notebook_markdown(nb, block: TitleBlock, media_dir: Path, produced: dt.date | None = None) -> str:
    """The whole report as ONE pandoc Markdown document (front matter, title box, every
    cell, footer); images are written in ``media_dir``. Both engines render this text."""
    import yaml

    front = {"lang": "fr", "pagetitle": block.title, "vsm-entete": block.running_title or block.title}
    parts = [f"---\n{yaml.safe_dump(front, allow_unicode=True, sort_keys=False)}---", title_markdown(block)]
    counter = [0]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source.strip())
        elif cell.cell_type == "raw":
            continue
        else:
            for output in cell.get("outputs", []):
                text = _output_markdown(output, media_dir, counter)
                if text:
                    parts.append(text)
    parts.append(footer_markdown(produced))
    return "\n\n".join(p for p in parts if p) + "\n"


@functools.lru_cache(maxsize=1)
def pandoc_path() -> str:
    """The pandoc binary that pypandoc-binary ships (looked up once per process)."""
    import pypandoc

    return pypandoc.get_pandoc_path()


def _pandoc(markdown: str, to: str, extra: list[str]) -> str:
    # pandoc itself, not pypandoc.convert_text: that one runs pandoc three times per
    # conversion (version, formats, conversion), which triples the cost of a short relevé
    command = [pandoc_path(), f"--from={PANDOC_MARKDOWN}", f"--to={to}", "--wrap=none", f"--lua-filter={LUA_FILTER}", *extra]
    try:
        done = subprocess.run(command, input=markdown.encode("utf-8"), capture_output=True)
    except OSError as exc:
        raise VsmError(f"pandoc n'a pas pu être lancé pour convertir le rapport en {to} : {exc}") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip()
        raise VsmError(f"pandoc n'a pas pu convertir le rapport en {to} : {detail}")
    return done.stdout.decode("utf-8")


def html_document(markdown: str, media_dir: Path) -> str:
    """The self-contained HTML page (images and rapport.css embedded, no external resource)."""
    return _pandoc(markdown, "html5", [
        "--standalone", "--embed-resources", f"--template={HTML_TEMPLATE}", f"--css={CSS_PATH}",
        f"--resource-path={media_dir}", f"--metadata=vsm-version:{__version__}",
    ])


def typst_source(markdown: str) -> str:
    """The Typst source, with the template shared with Quarto (notebooks/templates)."""
    return _pandoc(markdown, "typst", [f"--template={TYPST_TEMPLATE}"])


def compile_typst(source: str, work_dir: Path, pdf_path: Path) -> None:
    import typst

    main = work_dir / "rapport.typ"
    main.write_text(source, encoding="utf-8")
    try:
        typst.compile(str(main), output=str(pdf_path), root=str(work_dir), font_paths=[str(TEMPLATES_DIR)])
    except typst.TypstError as exc:
        raise VsmError(f"Typst n'a pas pu composer le PDF : {exc}") from None


def _render_builtin(markdown: str, media_dir: Path, html_tmp: Path, pdf_tmp: Path) -> None:
    html_tmp.write_text(html_document(markdown, media_dir), encoding="utf-8")
    compile_typst(typst_source(markdown), media_dir, pdf_tmp)


# --------------------------------------------------------------------------- Quarto


def quarto_available() -> bool:
    return shutil.which("quarto") is not None


def quarto_command(source: Path | str, fmt: str, out_dir: Path | str) -> list[str]:
    """The Quarto command line rendering the report's Markdown (nothing is executed).

    ``fmt``: « html » (self-contained thanks to _quarto.yml's embed-resources) or « typst »
    (PDF). Run it from the folder holding _quarto.yml, templates/ and the document.
    """
    if fmt not in ("html", "typst"):
        raise VsmError(f"Format Quarto inconnu : « {fmt} » (html ou typst).")
    return ["quarto", "render", str(source), "--to", fmt, "--no-execute", "--output-dir", str(out_dir)]


def _render_quarto(markdown: str, media_dir: Path, stem: str, html_tmp: Path, pdf_tmp: Path) -> None:
    work_dir = media_dir
    shutil.copyfile(QUARTO_CONFIG, work_dir / "_quarto.yml")
    shutil.copyfile(CSS_PATH, work_dir / "rapport.css")
    shutil.copytree(TEMPLATES_DIR, work_dir / "templates", dirs_exist_ok=True)
    (work_dir / f"{stem}.qmd").write_text(markdown, encoding="utf-8")
    env = {**os.environ, "QUARTO_PYTHON": sys.executable}
    for fmt, suffix, target in (("html", ".html", html_tmp), ("typst", ".pdf", pdf_tmp)):
        command = quarto_command(f"{stem}.qmd", fmt, QUARTO_OUT)
        try:
            done = subprocess.run(command, cwd=work_dir, env=env, capture_output=True, text=True)
        except OSError as exc:
            raise VsmError(f"Quarto n'a pas pu être lancé ({' '.join(command)}) : {exc}") from None
        produced = work_dir / QUARTO_OUT / f"{stem}{suffix}"
        if done.returncode != 0 or not produced.exists():
            tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-15:])
            raise VsmError(f"Quarto n'a pas pu produire {stem}{suffix} (commande : {' '.join(command)}).\n{tail}")
        shutil.copyfile(produced, target)


# --------------------------------------------------------------------------- one notebook


ENGINES = ("auto", "quarto", "integre")
ENGINE_ALIASES = {"nbconvert": "integre", "pandoc": "integre", "intégré": "integre"}  # earlier names


def engine_name(engine: str) -> str:
    """« auto » → « quarto » when on the PATH, else « integre » (pandoc + Typst)."""
    name = ENGINE_ALIASES.get(engine, engine)
    if name == "auto":
        return "quarto" if quarto_available() else "integre"
    if name not in ENGINES:
        raise VsmError(f"Moteur de rendu inconnu : « {engine} » (auto, quarto ou integre).")
    return name


def render_notebook(ipynb_path: Path | str, out_dir: Path | str | None = None, *, engine: str = "auto") -> tuple[Path, Path]:
    """Render an executed notebook to ``<stem>.html`` and ``<stem>.pdf`` (beside it by default).

    ``engine``: « auto » (Quarto when on the PATH, else the built-in engine), « quarto » or
    « integre » (pandoc then Typst; « nbconvert » is its former name). Returns (html_path, pdf_path). Both files appear together or not at all.
    """
    path = Path(ipynb_path)
    if not path.is_file():
        raise VsmError(f"Notebook introuvable : {path}.")
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError, nbformat.ValidationError) as exc:  # JSON errors are ValueErrors
        raise VsmError(f"Notebook illisible : {path} ({exc}).") from None
    target_dir = Path(out_dir) if out_dir is not None else path.parent
    stem = path.stem
    html_path, pdf_path = target_dir / f"{stem}.html", target_dir / f"{stem}.pdf"
    chosen = engine_name(engine)
    if chosen == "quarto" and not quarto_available():
        raise VsmError("Quarto absent du PATH : installer Quarto (quarto.org) ou utiliser le moteur intégré (--moteur integre).")
    clean, heading = prepare_notebook(nb, path)
    block = title_block(nb.metadata, heading=heading, fallback=stem.replace("_", " ").capitalize())
    with contextlib.ExitStack() as stack:
        html_tmp = stack.enter_context(atomic_path(html_path))
        pdf_tmp = stack.enter_context(atomic_path(pdf_path))
        media_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vsm-rendu-")))
        markdown = notebook_markdown(clean, block, media_dir)
        if chosen == "quarto":
            _render_quarto(markdown, media_dir, stem, html_tmp, pdf_tmp)
        else:
            _render_builtin(markdown, media_dir, html_tmp, pdf_tmp)
    return html_path, pdf_path


# --------------------------------------------------------------------------- every report + index


@dataclass
class Rendered:
    notebook: Path
    html: Path | None
    pdf: Path | None
    error: str | None = None
    seconds: float = 0.0


def find_notebooks(reports_root: Path | str) -> list[Path]:
    """Every notebook under reports/, hidden folders and checkpoints excluded, in path order."""
    root = Path(reports_root)
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        found.append(path)
    return found


def _render_one(path: str, engine: str) -> Rendered:
    started = time.perf_counter()
    try:
        html_path, pdf_path = render_notebook(path, engine=engine)
        return Rendered(Path(path), html_path, pdf_path, seconds=round(time.perf_counter() - started, 2))
    except VsmError as exc:  # anything else is a bug of vsm: it propagates with its traceback
        return Rendered(Path(path), None, None, str(exc), round(time.perf_counter() - started, 2))


PARTIAL = re.compile(r"^\.(?P<stem>.+)\.partiel\.ipynb$")
BATCH_INDEX = "rapports.json"


@dataclass
class NotRendered:
    """An executed (or expected) notebook that was not rendered, and why (in French)."""

    notebook: Path
    reason: str


def not_rendered(reports_root: Path | str) -> list[NotRendered]:
    """The notebooks under ``reports_root`` that cannot be rendered, with the reason: a
    hidden partial notebook left by an interrupted or failed execution (« .rapport.partiel.ipynb »)
    with no finished notebook beside it, and every notebook a batch index (rapports.json)
    lists that is missing. Never silent: ``vsm render`` names each of them."""
    root = Path(reports_root)
    found: dict[Path, NotRendered] = {}
    for path in sorted(root.rglob(".*.partiel.ipynb")):
        match = PARTIAL.match(path.name)
        if match is None or ".ipynb_checkpoints" in path.parts:
            continue
        final = path.with_name(f"{match.group('stem')}.ipynb")
        if not final.exists():
            found[final] = NotRendered(final, f"exécution inachevée : seul le fichier partiel {path.name} existe "
                                              "(exécution interrompue ou en échec) ; relancer « vsm reports »")
    for index in sorted(root.rglob(BATCH_INDEX)):
        try:
            listed = json.loads(index.read_text(encoding="utf-8")).get("notebooks") or []
        except (OSError, ValueError, AttributeError) as exc:
            found[index] = NotRendered(index, f"index du lot illisible ({exc}) : ses notebooks ne peuvent pas être vérifiés")
            continue
        for item in listed:
            if not isinstance(item, dict) or not item.get("path"):
                continue
            notebook = index.parent / str(item["path"])
            if notebook in found or notebook.exists():
                continue
            status = item.get("status")
            why = f"statut « {status} »" + (f" : {item['error']}" if item.get("error") else "") if status not in (None, "ok") else (
                "listé comme exécuté (statut « ok »)"
            )
            found[notebook] = NotRendered(notebook, f"absent alors que {index.relative_to(root)} le liste ({why})")
    return sorted(found.values(), key=lambda n: str(n.notebook))


def _already_rendered(path: Path) -> Rendered | None:
    """A notebook rendered earlier, its HTML and PDF newer than it (for the index)."""
    html_path, pdf_path = path.with_suffix(".html"), path.with_suffix(".pdf")
    if html_path.is_file() and pdf_path.is_file():
        mtime = path.stat().st_mtime
        if html_path.stat().st_mtime >= mtime and pdf_path.stat().st_mtime >= mtime:
            return Rendered(path, html_path, pdf_path)
    return None


def render_all(
    reports_root: Path | str = "reports",
    *,
    jobs: int | None = None,
    engine: str = "auto",
    notebooks: list[Path] | None = None,
    strict: bool = True,
    progress: bool = False,
) -> list[Rendered]:
    """Render every executed notebook under ``reports_root`` (or only ``notebooks``), in
    parallel (one process per core), then write ``reports_root/index.html`` — listing also
    the notebooks rendered earlier and still up to date. With ``strict`` (the default),
    raises a VsmError listing the failures, after rendering and indexing everything that
    could be; a failed notebook's older HTML and PDF are removed, so that they cannot pass
    for its report. Returns the renderings of this call."""
    root = Path(reports_root)
    every = find_notebooks(root)
    chosen = every if notebooks is None else [Path(p) for p in notebooks]
    missing = not_rendered(root) if notebooks is None else []
    if not chosen and not missing:
        raise VsmError(f"Aucun notebook exécuté sous {root}/ : lancer d'abord « vsm reports ».")
    workers = max(1, min(jobs or os.cpu_count() or 1, len(chosen) or 1))
    if not chosen:
        results = []
    elif workers == 1:
        results = [_render_one(str(p), engine) for p in chosen]
    else:
        from tqdm import tqdm

        import multiprocessing

        # « spawn »: a forked child would inherit the state of Typst's (Rust) thread pool
        # without its threads and hang in its first compile.
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            mapped = pool.map(_render_one, [str(p) for p in chosen], [engine] * len(chosen))
            results = list(tqdm(mapped, total=len(chosen), desc="Rendu", unit=" rapport", disable=not progress, leave=True))
    results = results + [Rendered(m.notebook, None, None, m.reason) for m in missing]
    failures = [r for r in results if r.error]
    for failed in failures:  # an older rendering would pass for the report of the failed run
        for suffix in (".html", ".pdf"):
            failed.notebook.with_suffix(suffix).unlink(missing_ok=True)
    done = {r.notebook.resolve() for r in results}
    others = [r for r in (_already_rendered(p) for p in every if p.resolve() not in done) if r is not None]
    write_index(root, sorted(results + others, key=lambda r: str(r.notebook)))
    if failures and strict:
        details = "\n".join(f"  {r.notebook} : {r.error}" for r in failures)
        raise VsmError(f"{len(failures)} notebook(s) sur {len(results)} n'ont pas été rendus :\n{details}")
    return results


@dataclass
class _Entry:
    rules: str
    period: str
    region: str
    label: str
    national: bool
    html: str
    pdf: str
    window: str
    rules_label: str = ""


def _entry(root: Path, item: Rendered) -> _Entry | None:
    if item.html is None or item.pdf is None:
        return None
    relative = item.notebook.relative_to(root)
    parts = relative.parts
    try:
        meta = dict(nbformat.read(item.notebook, as_version=4).metadata.get("vsm") or {})
    except (OSError, ValueError, nbformat.ValidationError):  # the index falls back to the folder names
        meta = {}
    rules = str(meta.get("rules") or (parts[0] if len(parts) >= 4 else "Autres documents"))
    period = str(meta.get("period") or (parts[1] if len(parts) >= 4 else ""))
    region = str(meta.get("region") or (parts[2] if len(parts) >= 4 else item.notebook.stem))
    if not meta.get("region") and len(parts) < 4:
        label, national = item.notebook.stem.replace("_", " ").capitalize(), False
    else:
        text, _, national = _region_text({**meta, "region": region})
        label = "Synthèse nationale (France entière)" if national else re.sub(rf"\s*\({re.escape(region)}\)$", "", text)
    window = ""
    if meta.get("start") and meta.get("end"):
        window = f"du {_date_text(meta['start'])} au {_date_text(meta['end'])}"
        if meta.get("payment"):
            window += f", versement au {meta['payment']}"
        if meta.get("complement_of"):
            window += f" (complément de {meta['complement_of']})"
    href = lambda p: Path(os.path.relpath(p, root)).as_posix()  # noqa: E731
    return _Entry(
        rules, period, region, label, national, href(item.html), href(item.pdf), window, str(meta.get("rules_label") or "")
    )


def _rules_label(rules_id: str) -> str:
    try:
        from .rules import load_rules

        return load_rules(rules_id).label
    except VsmError:  # an unknown rule set is shown by its id only
        return ""


def index_html(root: Path, results: list[Rendered]) -> str:
    """The French index page of reports/: rule set → period → national then regions."""
    entries = [e for e in (_entry(root, r) for r in results) if e is not None]
    failed = [r for r in results if r.error]
    groups: dict[str, dict[str, list[_Entry]]] = {}
    for entry in entries:
        groups.setdefault(entry.rules, {}).setdefault(entry.period, []).append(entry)
    sections = []
    for rules in sorted(groups):
        label = next((e.rules_label for p in groups[rules].values() for e in p if e.rules_label), "") or _rules_label(rules)
        parts = [f'<section class="jeu">\n<h2>Jeu de règles {html.escape(rules)}</h2>']
        if label:
            parts.append(f'<p class="libelle">{html.escape(label)}</p>')
        for period in sorted(groups[rules]):
            items = sorted(groups[rules][period], key=lambda e: (not e.national, e.region))
            window = next((e.window for e in items if e.window), "")
            title = f"Période {html.escape(period)}" if period else "Documents"
            parts.append(f"<h3>{title}" + (f' <span class="fenetre">— {html.escape(window)}</span>' if window else "") + "</h3>")
            rows = "\n".join(
                ('<tr class="national">' if e.national else "<tr>") + f"<td>{html.escape(e.label)}</td>"
                f'<td class="code">{"" if e.national else html.escape(e.region)}</td>'
                f'<td><a href="{html.escape(e.html)}">HTML</a></td><td><a href="{html.escape(e.pdf)}">PDF</a></td></tr>'
                for e in items
            )
            parts.append(
                "<table>\n<thead><tr><th>Région</th><th>Code INSEE</th><th>À l'écran</th><th>À imprimer</th></tr></thead>\n"
                f"<tbody>\n{rows}\n</tbody>\n</table>"
            )
        parts.append("</section>")
        sections.append("\n".join(parts))
    if failed:
        items = "\n".join(f"<li>{html.escape(str(r.notebook.relative_to(root)))} : {html.escape(r.error or '')}</li>" for r in failed)
        sections.append(f'<section class="echecs"><h2>Rendus en échec</h2>\n<ul>\n{items}\n</ul></section>')
    total = len(entries)
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rapports du forfait VSM</title>
<style>
body {{ font-family: "Marianne", "Source Sans 3", "DejaVu Sans", Arial, sans-serif; color: #1d2733; margin: 0; line-height: 1.5; }}
main {{ max-width: 56rem; margin: 0 auto; padding: 2rem 2.5rem 3rem; }}
header {{ border-top: 6px solid #0b4f8a; background: #e8f0f8; padding: 1rem 1.4rem; margin-bottom: 1.5rem; }}
header p {{ margin: .2rem 0 0; }}
.surtitre {{ color: #0b4f8a; font-size: .8rem; font-weight: bold; letter-spacing: .06em; text-transform: uppercase; }}
h1 {{ margin: .2rem 0; font-size: 1.7rem; }}
h2 {{ color: #0b4f8a; border-bottom: 1px solid #c9d3de; padding-bottom: .2rem; margin-top: 2rem; }}
h3 {{ margin: 1.4rem 0 .5rem; font-size: 1.05rem; }}
.fenetre, .libelle {{ color: #4a5868; font-weight: normal; }}
table {{ border-collapse: collapse; width: 100%; font-size: .92rem; }}
th {{ background: #0b4f8a; color: #fff; text-align: left; padding: .35rem .6rem; }}
td {{ padding: .3rem .6rem; border-bottom: 1px solid #c9d3de; }}
tr.national td {{ font-weight: bold; background: #e8f0f8; }}
td.code {{ font-variant-numeric: tabular-nums; color: #4a5868; }}
a {{ color: #0b4f8a; }}
.echecs {{ color: #8a1c0b; }}
</style>
</head>
<body>
<main>
<header>
<p class="surtitre">{html.escape(KICKER)}</p>
<h1>Rapports du forfait VSM</h1>
<p>{fr.integer(total)} rapport(s), chacun en HTML (à consulter à l'écran, un seul fichier) et en PDF (A4, à imprimer). Index produit le {fr.date(dt.date.today())}.</p>
</header>
{chr(10).join(sections)}
</main>
</body>
</html>
"""


def write_index(reports_root: Path | str, results: list[Rendered]) -> Path:
    root = Path(reports_root)
    path = root / INDEX_FILE
    with atomic_path(path) as tmp:
        tmp.write_text(index_html(root, results), encoding="utf-8")
    return path
