"""`vsm structure …`: the forfait structure 2023 beside the forfait VSM.

Registered in vsm/cli/__init__.py, so errors are shown like every other command (« Erreur : … »,
exit code 2) and outputs are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import present as fr
from .app import STRUCTURE_RULES


RULES = click.option(
    "--rules", "rules_ref", default=STRUCTURE_RULES, show_default=True,
    help="Jeu de règles du forfait structure : identifiant (params/rules/structure/) ou chemin d'un fichier YAML.",
)
INPUT = click.option(
    "--input", "input_path", required=True, type=click.Path(path_type=Path),
    help="Indicateurs par professionnel (CSV ou Parquet), voir params/schemas/forfait_structure.schema.json.",
)


@click.group()
def structure() -> None:
    """Forfait structure 2023 : calcul, explication, données synthétiques."""


def _load(rules_ref: str, input_path: Path):
    from ..structure.compute import compute_structure
    from ..structure.inputs import read_structure_input
    from ..structure.rules import load_structure_rules

    rules = load_structure_rules(rules_ref)
    table = read_structure_input(input_path, rules)
    return rules, compute_structure(table, rules, source=str(input_path))


@structure.command("compute")
@RULES
@INPUT
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="Fichier de résultats (.csv ou .parquet).")
def compute_cmd(rules_ref: str, input_path: Path, out_path: Path) -> None:
    """Calcule le forfait structure de chaque professionnel et écrit les résultats."""
    from ..outputs import absolute
    from ..store import check_output_path, check_results_file, write_table
    from ..structure.compute import total_eur
    from ..money import mean_of_total

    check_output_path(out_path)
    check_results_file(absolute(out_path), (absolute(input_path),))  # before anything is read
    rules, results = _load(rules_ref, input_path)
    write_table(results, out_path)
    n = len(results)
    met = int(results["volet1_met"].sum())
    paid = int((results["total_points"] > 0).sum())
    click.echo(
        f"Forfait structure {rules.year} ({rules.id}) : {fr.integer(n)} professionnels, "
        f"{fr.integer(met)} atteignent le volet 1, {fr.integer(n - met)} ne l'atteignent pas (aucun versement)."
    )
    amount = total_eur(results)
    mean = f", soit {fr.eur(mean_of_total(amount, paid))} en moyenne par professionnel payé" if paid else ""
    click.echo(f"Montant total : {fr.eur(amount)} pour {fr.integer(paid)} professionnels{mean}.")
    click.echo(f"Résultats écrits dans {out_path}.")


@structure.command("explain")
@RULES
@INPUT
@click.option("--ps-id", "ps_id", required=True, help="Identifiant du professionnel (RPPS).")
def explain_cmd(rules_ref: str, input_path: Path, ps_id: str) -> None:
    """Explique pas à pas le forfait structure d'un professionnel, sources à l'appui."""
    from ..structure.explain import explain_structure

    rules, results = _load(rules_ref, input_path)
    click.echo(explain_structure(results, rules, ps_id))


@structure.command("show")
@RULES
def show_cmd(rules_ref: str) -> None:
    """Affiche chaque valeur du jeu de règles avec sa source."""
    from ..structure.explain import describe_structure_rules
    from ..structure.rules import load_structure_rules

    click.echo(describe_structure_rules(load_structure_rules(rules_ref)))


@structure.command("synth")
@click.option("--scale", type=click.Choice(["demo", "national"]), default="demo", show_default=True, help="Taille du jeu synthétique (celle de « vsm synth »).")
@click.option("--seed", type=int, default=2024, show_default=True, help="Graine (même graine → même fichier).")
@click.option(
    "--patientele", "patientele_path", type=click.Path(path_type=Path), default=None,
    help="Patientèle synthétique du forfait VSM dont reprendre les médecins (défaut : ceux de « vsm synth » même échelle, même graine).",
)
@RULES
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="Fichier d'indicateurs à écrire (.csv ou .parquet).")
def synth_cmd(scale: str, seed: int, patientele_path: Path | None, rules_ref: str, out_path: Path) -> None:
    """Écrit des indicateurs synthétiques du forfait structure, calibrés (params/synth_structure.yml)."""
    from ..outputs import absolute
    from ..store import check_output_path, check_results_file
    from ..structure.rules import load_structure_rules
    from ..structure.synth import synthesize_structure

    check_output_path(out_path)
    check_results_file(absolute(out_path), (absolute(patientele_path),))  # before anything is generated
    rules = load_structure_rules(rules_ref)
    summary = synthesize_structure(out_path, patientele_path=patientele_path, seed=seed, scale=scale, rules=rules)
    origin = f"de la patientèle {patientele_path}" if patientele_path else f"de « vsm synth --scale {scale} --seed {seed} »"
    click.echo(
        f"Indicateurs de {fr.integer(summary['medecins'])} médecins ({origin}) écrits dans {out_path}."
    )
    click.echo(
        f"Calibration : {fr.integer(summary['volet1_failed'])} n'atteignent pas le volet 1 ; "
        f"paiement moyen {fr.eur(summary['mean_eur_paid'])} par médecin payé, "
        f"{fr.eur(summary['mean_eur'])} par médecin ; total {fr.eur(summary['total_eur'])}."
    )
