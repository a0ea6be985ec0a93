"""`vsm rules list`, `vsm rules show`, `vsm exemples`: the rule sets, and the note's worked
examples replayed. The stages are imported inside each command (start-up time, see app.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from .. import present as fr
from ..errors import VsmError
from .app import VSM_RULES, cli


@cli.group()
def rules() -> None:
    """Jeux de règles (params/rules/) et leurs sources."""


@rules.command("list")
def rules_list() -> None:
    """Liste les jeux de règles disponibles."""
    from ..rules import list_rules

    for rs in list_rules():
        periods = ", ".join(
            f"{pid} ({fr.date(p.start)} → {fr.date(p.end)}, versement {p.payment})" for pid, p in rs.periods.items()
        )
        click.echo(f"{rs.id} — {rs.label}\n    périodes : {periods}")


@rules.command("show")
@click.argument("ref")
def rules_show(ref: str) -> None:
    """Affiche chaque valeur d'un jeu de règles avec sa source."""
    from ..rules.words import describe_rules
    from ..rules import load_rules

    click.echo(describe_rules(load_rules(ref)))


@cli.command()
@click.option("--rules", "rules_id", default=VSM_RULES, show_default=True, help="Jeu de règles dont on rejoue les exemples.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Dossier où écrire effectifs et résultats des exemples.")
def exemples(rules_id: str, out_dir: Path | None) -> None:
    """Rejoue les exemples chiffrés de la note méthodologique et signale ses erreurs."""
    from ..examples import check_examples, load_examples
    from ..forfait import compute
    from ..outputs import absolute, check_folder_output, clean_leftovers, output_lock, staged_folder
    from ..store import is_examples_folder, write_table

    shown = out_dir
    if out_dir is not None:
        out_dir = check_folder_output(
            absolute(out_dir), own=is_examples_folder, kind="un dossier d'exemples écrit par « vsm exemples »"
        )
    examples = load_examples(rules_id)
    checked = check_examples(examples)
    click.echo(f"Exemples de la note ({examples.seed}, {examples.passage}) — jeu de règles {examples.rules.id}, période {examples.period}")
    width = max(len(label) for label in checked["label"])
    click.echo(f"  {'cas'.ljust(width)}  {'note':>12}  {'calculé':>12}  verdict")
    for row in checked.itertuples():
        click.echo(
            f"  {row.label.ljust(width)}  {fr.eur(row.stated_amount_eur):>12}  {fr.eur(row.computed_amount_eur):>12}  {row.verdict}"
        )
    for row in checked[checked["erratum"].notna()].itertuples():
        click.echo(f"  Erratum — {row.label} : {row.erratum}")
    gaps = int((checked["verdict"] == "ÉCART").sum())
    errata = int((checked["verdict"] == "erratum de la note").sum())
    click.echo(
        f"Bilan : {len(checked) - gaps - errata} conformes, {errata} errata de la note (règle appliquée), {gaps} écart(s)."
    )
    if gaps:
        raise VsmError(f"{gaps} exemple(s) de la note ne donnent pas le montant attendu ; aucun fichier écrit.")
    if out_dir is not None:
        counts = examples.counts()
        with output_lock(out_dir):
            clean_leftovers(out_dir)
            check_folder_output(out_dir, own=is_examples_folder, kind="un dossier d'exemples écrit par « vsm exemples »")
            with staged_folder(out_dir) as staging:  # the three files together, or none
                write_table(counts, staging / "effectifs.csv")
                write_table(compute(counts, examples.rules, examples.period), staging / "resultats.csv")
                write_table(
                    checked.drop(columns=["erratum"]).assign(erratum=checked["erratum"].fillna("")),
                    staging / "verification.csv",
                )
        click.echo(f"Effectifs, résultats et vérification écrits dans {shown}.")
