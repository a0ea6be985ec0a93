"""`vsm reports`: the regional reports and the national synthesis of a rule set, for each
period, executed as notebooks (registered in vsm/cli/__init__.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import VsmError


@click.command("reports")
@click.option("--rules", "rules_ref", required=True, help="Jeu de règles : identifiant (medecins-2024) ou chemin d'un fichier YAML.")
@click.option("--periods", default=None, help="Périodes, séparées par des virgules (ex. P1,P2 ; défaut : toutes).")
@click.option("--regions", default="all", show_default=True, help="« all » ou codes INSEE à deux caractères séparés par des virgules (ex. 02,11).")
@click.option(
    "--results", "results_dir", type=click.Path(path_type=Path), default=None,
    help="Dossier des résultats du lot (défaut : data/resultats/<jeu de règles>) ; calculé s'il est absent ou périmé.",
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True, help="Dossier des rapports.")
@click.option("--jobs", "jobs", default=None, help="Notebooks exécutés en parallèle (défaut : un par processeur).")
@click.option(
    "--feeds", "feeds_path", type=click.Path(path_type=Path), default=None,
    help="Traces d'alimentation du DMP (à la place des données de démonstration), avec --patientele.",
)
@click.option(
    "--patientele", "patientele_path", type=click.Path(path_type=Path), default=None,
    help="Patientèle « médecin traitant » semestrielle, avec --feeds.",
)
@click.option(
    "--structure", "structure_path", type=click.Path(path_type=Path), default=None,
    help="Indicateurs du forfait structure par médecin (CSV ou Parquet) ; défaut : indicateurs synthétiques "
    "des médecins de démonstration (sans --feeds), aucun sinon.",
)
@click.option(
    "--structure-rules", "structure_rules", default=None,
    help="Jeu de règles du forfait structure (identifiant ou fichier) ; défaut : celui de params/structure.yml.",
)
@click.option("--render/--no-render", "render", default=True, help="Mettre en page chaque rapport en HTML et PDF (défaut : oui).")
@click.option(
    "--moteur", "engine", type=click.Choice(["auto", "quarto", "integre", "nbconvert"]), default="auto", show_default=True,
    help="Moteur de rendu : Quarto s'il est sur le PATH (auto), sinon le moteur intégré (pandoc puis Typst ; "
    "« nbconvert » est son ancien nom).",
)
@click.option("--progress/--no-progress", default=True, help="Barre de progression.")
def reports(rules_ref, periods, regions, results_dir, out_dir, jobs, feeds_path, patientele_path, structure_path, structure_rules, render,
            engine, progress) -> None:
    """Exécute les rapports régionaux et la synthèse nationale (notebooks) de chaque période,
    puis les met en page en HTML et PDF.

    Les résultats sont calculés une seule fois (données de démonstration sans --feeds ni
    --patientele) ; chaque notebook lit ces résultats et garde sa région. Sortie :
    <out>/<jeu de règles>/<période>/<région>/rapport.ipynb (.html, .pdf) et paiements.csv,
    <out>/<jeu de règles>/<période>/national/synthese.ipynb (.html, .pdf), <out>/index.html.
    """
    from .. import batch
    from ..rules import load_rules

    # Every parameter is checked before anything runs.
    rules = load_rules(rules_ref)
    wanted_periods = batch.parse_periods(rules, periods)
    wanted_regions = batch.parse_regions(regions)
    workers = batch.parse_jobs(jobs)
    batch.check_extracts(feeds_path, patientele_path)
    if structure_path is not None and not Path(structure_path).is_file():
        raise VsmError(f"--structure : « {structure_path} » introuvable.")
    if structure_rules is not None:
        from ..structure.rules import load_structure_rules

        structure_rules = load_structure_rules(structure_rules).id  # unknown id or bad file → French error, now
    batch.check_templates()
    # Relative paths (and the defaults ./reports and ./data/resultats/<rules>) are resolved
    # against the caller's working directory, once, here; outputs are checked before anything runs.
    from ..outputs import absolute
    from ..store import check_results_out

    shown_out = out_dir
    from ..store import default_results_dir
    results_dir, out_dir = absolute(results_dir or default_results_dir(rules.id)), absolute(out_dir)
    feeds_path, patientele_path, structure_path = map(absolute, (feeds_path, patientele_path, structure_path))
    check_results_out(results_dir, (feeds_path, patientele_path, structure_path))
    batch.check_reports_out(out_dir, (feeds_path, patientele_path, structure_path))

    count = len(wanted_periods) * (len(wanted_regions) + 1)
    click.echo(
        f"Jeu de règles {rules.id} : {count} notebooks ({len(wanted_periods)} période(s) × "
        f"{len(wanted_regions)} région(s), plus une synthèse nationale par période)."
    )
    outcome = batch.run_batch(
        rules,
        wanted_periods,
        wanted_regions,
        results_dir,
        out_dir,
        workers,
        feeds=feeds_path,
        patientele=patientele_path,
        progress=progress,
        say=click.echo,
        structure=structure_path,
        structure_rules=structure_rules,
        render=render,
        engine=engine,
    )
    click.echo(outcome.summary())
    click.echo(f"Rapports écrits dans {Path(shown_out) / rules.id} (index : {outcome.index}).")
    if outcome.html_index is not None:
        click.echo(f"Rapports HTML et PDF : {outcome.html_index} ; listes des paiements : paiements.csv à côté de chaque rapport régional.")
    if outcome.failures or outcome.render_failures or outcome.missing:
        for problem in outcome.missing:
            click.echo(f"Fichier manquant : {problem}.", err=True)
        for failure in outcome.failures:
            click.echo(f"Échec : {failure.job.output} — {failure.error}", err=True)
        for failure in outcome.render_failures:
            click.echo(f"Échec du rendu : {failure.notebook} — {failure.error}", err=True)
        click.echo(
            f"Erreur : {len(outcome.failures)} rapport(s) en échec sur {len(outcome.results)}"
            + (f", {len(outcome.render_failures)} rendu(s) en échec" if outcome.render_failures else "")
            + (f", {len(outcome.missing)} fichier(s) listé(s) mais absent(s)" if outcome.missing else "")
            + ".",
            err=True,
        )
        sys.exit(1)  # 1: reports failed (2 is kept for invalid parameters)

