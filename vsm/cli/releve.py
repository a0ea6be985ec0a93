"""`vsm releve`: individual statements (one professional's forfait, every period, explained)
as PDF and HTML (registered in vsm/cli/__init__.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .app import VSM_RULES

from .. import present as fr
from ..errors import VsmError


@click.command("releve")
@click.option("--ps-id", "ps_ids", multiple=True, help="Identifiant du professionnel (RPPS ou FINESS) ; l'option se répète.")
@click.option(
    "--liste", "id_list", type=click.Path(path_type=Path), default=None,
    help="Fichier d'identifiants : CSV avec une colonne ps_id, ou un identifiant par ligne.",
)
@click.option("--rules", "rules_ref", default=VSM_RULES, show_default=True, help="Jeu de règles (identifiant ou fichier YAML).")
@click.option(
    "--results", "results_dir", type=click.Path(path_type=Path), default=None,
    help="Dossier des résultats (« vsm run » ; défaut : data/resultats/<jeu de règles>).",
)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("releves"), show_default=True, help="Dossier des relevés.")
@click.option(
    "--contact", "contact_file", type=click.Path(path_type=Path), default=None,
    help="Fichier des coordonnées où contester (même forme que params/caisse.yml ; défaut : params/caisse.yml).",
)
@click.option("--jobs", type=int, default=None, help="Relevés mis en page en parallèle (défaut : un par cœur).")
@click.option(
    "--moteur", "engine", type=click.Choice(["auto", "quarto", "nbconvert"]), default="auto", show_default=True,
    help="Moteur de rendu : Quarto s'il est sur le PATH (auto), sinon nbconvert et WeasyPrint.",
)
@click.option("--progress/--no-progress", default=False, help="Barre de progression.")
def releve(ps_ids, id_list, rules_ref, results_dir, out_dir, contact_file, jobs, engine, progress) -> None:
    """Écrit le relevé individuel de chaque professionnel : <out>/<ps_id>.pdf et .html.

    Pour chaque période du jeu de règles : chiffres retenus, palier, majoration, pondération,
    montant (et complément), chaque étape avec sa règle et sa source, ce qu'il aurait fallu
    pour l'étape suivante. Code de sortie : 0 si tous les relevés sont écrits ; 1 si des
    identifiants sont introuvables ou des relevés en échec (les autres sont écrits) ; 2 pour
    un paramètre invalide ou aucun identifiant trouvé (rien n'est écrit).
    """
    from ..releve.batch import produce, read_id_list
    from ..rules import load_rules

    if bool(ps_ids) == (id_list is not None):
        raise VsmError("Donner soit --ps-id (une ou plusieurs fois), soit --liste, pas les deux.")
    if jobs is not None and jobs < 1:
        raise VsmError(f"--jobs : « {jobs} » n'est pas un nombre de processus positif.")
    rules = load_rules(rules_ref)
    wanted = list(ps_ids) if ps_ids else read_id_list(id_list)
    if contact_file is not None and not Path(contact_file).is_file():
        raise VsmError(f"--contact : fichier « {contact_file} » introuvable.")
    from ..outputs import absolute, check_folder_output, clean_tmp_files, output_lock
    from ..releve.batch import clean_work_folders, is_statements_folder

    from ..store import default_results_dir
    results_dir = absolute(results_dir or default_results_dir(rules.id))
    checks = dict(own=is_statements_folder, what="Dossier des relevés", kind="un dossier de relevés de vsm (<ps_id>.pdf, <ps_id>.html)")
    out_dir = check_folder_output(out_dir, (results_dir,), **checks)
    with output_lock(out_dir):
        out_dir = check_folder_output(out_dir, (results_dir,), **checks)
        clean_work_folders(out_dir)
        clean_tmp_files(out_dir)
        outcome = produce(rules, wanted, results_dir, out_dir,
                          contact_file=contact_file, jobs=jobs, engine=engine, progress=progress)
    done = [p for p in outcome.produced if not p.error]
    click.echo(
        f"{fr.integer(len(done))} relevé(s) écrit(s) dans {out_dir} (PDF et HTML) en {fr.number(outcome.seconds, 1)} s "
        f"(exécution {fr.number(outcome.execute_seconds, 1)} s, mise en page {fr.number(outcome.render_seconds, 1)} s)."
    )
    if len(done) == 1:
        click.echo(f"  {done[0].pdf}\n  {done[0].html}")
    if outcome.duplicates:
        click.echo(f"{fr.integer(outcome.duplicates)} identifiant(s) en double, édité(s) une seule fois.")
    if outcome.missing:
        click.echo(
            f"Erreur : {fr.integer(len(outcome.missing))} identifiant(s) introuvable(s) dans les résultats, sans relevé : "
            f"{', '.join(outcome.missing)}.",
            err=True,
        )
    for failure in outcome.failures:
        click.echo(f"Échec du relevé {failure.ps_id} : {failure.error}", err=True)
    if outcome.missing or outcome.failures:
        sys.exit(1)
