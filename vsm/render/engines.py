"""The two engines that turn the report's Markdown into ``<stem>.html`` and ``<stem>.pdf``:

- **the built-in engine** (« integre », the default without Quarto): pandoc
  (pypandoc-binary) → HTML with notebooks/templates/vsm.html and notebooks/rapport.css, all
  embedded; pandoc → Typst with notebooks/templates/vsm.typ, compiled to PDF by the ``typst``
  package;
- **Quarto**, when ``quarto`` is on the PATH: the same Markdown as ``<stem>.qmd`` with
  notebooks/_quarto.yml (same stylesheet, same Typst template through template-partials,
  same Lua filter notebooks/templates/vsm.lua).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .. import __version__
from ..errors import VsmError
from ..paths import NOTEBOOKS_DIR

QUARTO_CONFIG = NOTEBOOKS_DIR / "_quarto.yml"
CSS_PATH = NOTEBOOKS_DIR / "rapport.css"
QUARTO_OUT = "_rendu"
TEMPLATES_DIR = NOTEBOOKS_DIR / "templates"
LUA_FILTER = TEMPLATES_DIR / "vsm.lua"
TYPST_TEMPLATE = TEMPLATES_DIR / "vsm.typ"
HTML_TEMPLATE = TEMPLATES_DIR / "vsm.html"
PANDOC_MARKDOWN = "markdown-smart-implicit_header_references"  # text printed as written (apostrophes too)



@functools.lru_cache(maxsize=1)
def pandoc_path() -> str:
    """The pandoc binary that pypandoc-binary ships (looked up once per process)."""
    import pypandoc  # cost: its import looks for pandoc; once per process, when a report is rendered

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
    import typst  # cost: the Typst compiler's native module, only when a PDF is compiled

    main = work_dir / "rapport.typ"
    main.write_text(source, encoding="utf-8")
    try:
        typst.compile(str(main), output=str(pdf_path), root=str(work_dir), font_paths=[str(TEMPLATES_DIR)])
    except typst.TypstError as exc:
        raise VsmError(f"Typst n'a pas pu composer le PDF : {exc}") from None


def render_builtin(markdown: str, media_dir: Path, html_tmp: Path, pdf_tmp: Path) -> None:
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


def render_quarto(markdown: str, media_dir: Path, stem: str, html_tmp: Path, pdf_tmp: Path) -> None:
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
