"""Executed report notebooks → one self-contained HTML file and one PDF, in French.

- title.py: the title block and footer, from the notebook's metadata (``metadata["vsm"]``);
- content.py: the notebook's outputs as ONE pandoc Markdown document (plus images);
- engines.py: the built-in engine (pandoc → HTML; pandoc → Typst → PDF) and Quarto;
- reports.py: one notebook (:func:`render_notebook`), a folder of reports (:func:`render_all`,
  :func:`not_rendered`) and its ``index.html``.

``vsm reports`` calls :func:`render_all` as its last step, on the notebooks it has just
executed; ``vsm render`` does it alone. A notebook is never executed again here.
"""

from .content import notebook_markdown, prepare_notebook
from .engines import CSS_PATH, LUA_FILTER, PANDOC_MARKDOWN, QUARTO_CONFIG, TYPST_TEMPLATE, compile_typst, engine_name, quarto_command, typst_source
from .reports import NotRendered, Rendered, find_notebooks, index_html, not_rendered, render_all, render_notebook, write_index
from .title import KICKER, TitleBlock, title_block

__all__ = [
    "CSS_PATH",
    "KICKER",
    "LUA_FILTER",
    "PANDOC_MARKDOWN",
    "QUARTO_CONFIG",
    "TYPST_TEMPLATE",
    "NotRendered",
    "Rendered",
    "TitleBlock",
    "compile_typst",
    "engine_name",
    "find_notebooks",
    "index_html",
    "not_rendered",
    "notebook_markdown",
    "prepare_notebook",
    "quarto_command",
    "render_all",
    "render_notebook",
    "title_block",
    "typst_source",
    "write_index",
]
