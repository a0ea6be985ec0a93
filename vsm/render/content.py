"""One content model: every output of a report notebook is pandoc Markdown
(``text/markdown``: prose, pipe tables, notes as fenced divs) or a PNG image with its French
description (vsm/display.py). ``prepare_notebook`` checks that the notebook was executed and
keeps what a reader sees; ``notebook_markdown`` assembles the outputs into ONE Markdown
document (title box, content, footer) that either engine (engines.py) renders.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import re
from pathlib import Path

import nbformat
import yaml

from ..display import markdown_table, md_escape
from ..errors import VsmError
from ..publish.secrecy import settings
from .title import TitleBlock, footer_markdown, title_markdown



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

IMAGE_TYPES = {"image/png": ".png", "image/jpeg": ".jpg"}
_ALT_FALLBACK = "Graphique du rapport (sans description fournie par le notebook)"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _html_table_frame(table):
    """An HTML table (pandas' ``to_html`` with its index) → a DataFrame of texts."""
    import pandas as pd  # cost: only for a foreign HTML table (vsm's own outputs are Markdown)

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
    # cost: only for a foreign HTML output (vsm's own outputs are Markdown)
    import pypandoc
    from bs4 import BeautifulSoup

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
