"""`vsm render`: executed report notebooks → HTML and PDF, plus reports/index.html."""

from __future__ import annotations

from pathlib import Path

import click

from .. import present as fr

ENGINE_LABELS = {"quarto": "Quarto", "integre": "le moteur intégré (pandoc, Typst)"}


@click.command()
@click.option(
    "--reports", "reports_dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True,
    help="Dossier des notebooks exécutés (sortie de « vsm reports »).",
)
@click.option(
    "--notebook", "notebook", type=click.Path(path_type=Path), default=None,
    help="Rendre un seul notebook exécuté (HTML et PDF à côté de lui), sans index.",
)
@click.option(
    "--moteur", "engine", type=click.Choice(["auto", "quarto", "integre", "nbconvert"]), default="auto", show_default=True,
    help="Quarto s'il est sur le PATH (auto), sinon le moteur intégré : pandoc puis Typst, avec le même "
    "gabarit que Quarto (« nbconvert » est son ancien nom).",
)
@click.option("--jobs", type=int, default=None, help="Rendus en parallèle (défaut : un par cœur).")
def render(reports_dir: Path, notebook: Path | None, engine: str, jobs: int | None) -> None:
    """Met en page les rapports exécutés : un HTML autonome et un PDF A4 par notebook.

    Les notebooks ne sont pas réexécutés. Écrit aussi <reports>/index.html, qui relie tous
    les rapports par jeu de règles, période et région. Chaque notebook attendu qui n'a pas
    été rendu est nommé, avec la raison.
    """
    from ..batch import check_reports_out
    from ..outputs import absolute, clean_tmp_files, output_lock
    from ..render import engine_name, render_all, render_notebook

    shown = reports_dir
    reports_dir, notebook = absolute(reports_dir), absolute(notebook)  # once, against the caller's folder
    label = ENGINE_LABELS[engine_name(engine)]
    if notebook is not None:
        html_path, pdf_path = render_notebook(notebook, engine=engine)
        click.echo(f"Rendu avec {label} : {html_path} et {pdf_path}.")
        return
    check_reports_out(reports_dir)  # writes only into a vsm reports folder
    with output_lock(reports_dir):
        clean_tmp_files(reports_dir)  # what an interrupted rendering left behind
        results = render_all(reports_dir, jobs=jobs, engine=engine)
    click.echo(
        f"{fr.integer(len(results))} rapport(s) rendus en HTML et PDF avec {label}. "
        f"Index : {shown / 'index.html'}."
    )
