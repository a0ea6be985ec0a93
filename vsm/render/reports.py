"""Rendering reports: one executed notebook (:func:`render_notebook`) into ``<stem>.html``
and ``<stem>.pdf`` beside it (content.py gives its Markdown, engines.py renders it), every
report of a folder (:func:`render_all`) and its ``index.html``.

``vsm reports`` calls :func:`render_all` as its last step, on the notebooks it has just
executed (the index also lists the reports rendered earlier and still up to date); ``vsm
render`` does it alone, and names every expected notebook it could not render
(:func:`not_rendered`). A notebook is never executed again here: papermill did it (``vsm
reports``); a notebook with an error output or without any output is refused. Both files are
written through temporary files renamed at the end, so that an error never leaves a partial
or a lonely file behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import multiprocessing
import os
import re
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from tqdm import tqdm

from .. import present as fr
from ..errors import VsmError
from ..outputs import atomic_path
from ..rules import load_rules
from .content import notebook_markdown, prepare_notebook
from . import engines
from .title import KICKER, date_text, region_text, title_block

INDEX_FILE = "index.html"



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
    chosen = engines.engine_name(engine)
    if chosen == "quarto" and not engines.quarto_available():
        raise VsmError("Quarto absent du PATH : installer Quarto (quarto.org) ou utiliser le moteur intégré (--moteur integre).")
    clean, heading = prepare_notebook(nb, path)
    block = title_block(nb.metadata, heading=heading, fallback=stem.replace("_", " ").capitalize())
    with contextlib.ExitStack() as stack:
        html_tmp = stack.enter_context(atomic_path(html_path))
        pdf_tmp = stack.enter_context(atomic_path(pdf_path))
        media_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vsm-rendu-")))
        markdown = notebook_markdown(clean, block, media_dir)
        if chosen == "quarto":
            engines.render_quarto(markdown, media_dir, stem, html_tmp, pdf_tmp)
        else:
            engines.render_builtin(markdown, media_dir, html_tmp, pdf_tmp)
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
        text, _, national = region_text({**meta, "region": region})
        label = "Synthèse nationale (France entière)" if national else re.sub(rf"\s*\({re.escape(region)}\)$", "", text)
    window = ""
    if meta.get("start") and meta.get("end"):
        window = f"du {date_text(meta['start'])} au {date_text(meta['end'])}"
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
