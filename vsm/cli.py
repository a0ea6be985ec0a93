"""The `vsm` command. Thin: parse arguments, call the pipeline stages, print in French.

Every error is a French message on stderr with a non-zero exit code, and no output file is
left behind (outputs are written to a temporary file, then renamed).
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import click

from . import __version__
from . import present as fr
from .errors import VsmError


class FrenchGroup(click.Group):
    """Turns VsmError into « Erreur : … » and exit code 2, and click's usage errors into French."""

    def main(self, *args, **kwargs):  # noqa: D401
        kwargs.setdefault("standalone_mode", True)
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except VsmError as exc:
            click.echo(f"Erreur : {exc}", err=True)
            sys.exit(2)
        except click.exceptions.NoSuchOption as exc:
            click.echo(f"Erreur : option inconnue « {exc.option_name} ». Voir « vsm --help ».", err=True)
            sys.exit(2)
        except click.exceptions.MissingParameter as exc:
            name = exc.param.opts[0] if exc.param is not None and exc.param.opts else "?"
            click.echo(f"Erreur : paramètre obligatoire manquant : {name}. Voir « vsm --help ».", err=True)
            sys.exit(2)
        except click.exceptions.BadParameter as exc:
            click.echo(f"Erreur : valeur invalide : {exc.format_message()}", err=True)
            sys.exit(2)
        except click.exceptions.UsageError as exc:
            click.echo(f"Erreur : {exc.format_message()} Voir « vsm --help ».", err=True)
            sys.exit(2)
        except click.exceptions.Abort:
            click.echo("Interrompu.", err=True)
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)


@click.group(cls=FrenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vsm", message="%(prog)s %(version)s")
def cli() -> None:
    """Forfait VSM : calcul, explication et restitution."""


RULES = click.option("--rules", "rules_ref", required=True, help="Jeu de règles : identifiant (medecins-2024) ou chemin d'un fichier YAML.")
PERIOD = click.option("--period", required=True, help="Période d'observation du jeu de règles (ex. P1, P2).")
COUNTS = click.option(
    "--counts", "counts_path", required=True, type=click.Path(path_type=Path),
    help="Effectifs par professionnel (CSV ou Parquet) : ps_id, patients_mt, patients_mt_ald, dmp_vsm, dmp_vsm_structured.",
)
PAID = click.option(
    "--paid", "paid_path", type=click.Path(path_type=Path), default=None,
    help="Résultats de la période précédente (ps_id, amount_eur), pour calculer le complément.",
)


def _summary(results, period: str) -> str:
    from .forfait import total

    paid = results[results["amount_eur"] > Decimal(0)]
    lines = [
        f"Période {period} : {fr.integer(len(results))} professionnels, "
        f"{fr.integer(int(results['eligible'].sum()))} éligibles, {fr.integer(len(paid))} avec un forfait, "
        f"dont {fr.integer(int(results['majoration'].sum()))} majorés.",
        f"Montant total : {fr.eur(total(results))}.",
    ]
    if "complement_eur" in results.columns:
        complements = results[results["complement_eur"] > Decimal(0)]
        lines.append(
            f"Compléments à verser : {fr.integer(len(complements))} professionnels, {fr.eur(total(results, 'complement_eur'))}."
        )
    return "\n".join(lines)


def _compute_from_counts(rules_ref: str, period: str, counts_path: Path, paid_path: Path | None):
    from .forfait import compute
    from .inputs import read_counts, read_paid
    from .rules import load_rules

    rules = load_rules(rules_ref)
    rules.period(period)
    paid = read_paid(paid_path) if paid_path is not None else None
    counts = read_counts(counts_path)
    return rules, compute(counts, rules, period, paid=paid, source=str(counts_path))


@cli.command()
@RULES
@PERIOD
@COUNTS
@PAID
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="Fichier de résultats (.csv ou .parquet).")
def compute(rules_ref: str, period: str, counts_path: Path, paid_path: Path | None, out_path: Path) -> None:
    """Calcule le forfait de chaque professionnel et écrit les résultats."""
    from .results import check_output_path, write_table

    check_output_path(out_path)
    rules, results = _compute_from_counts(rules_ref, period, counts_path, paid_path)
    if rules.period(period).complement_of and paid_path is None:
        click.echo(
            f"Attention : la période {period} complète {rules.period(period).complement_of} ; sans --paid, "
            "le complément n'est pas calculé (montants P2 bruts seulement).",
            err=True,
        )
    write_table(results, out_path)
    click.echo(_summary(results, period))
    click.echo(f"Résultats écrits dans {out_path}.")


@cli.command()
@RULES
@PERIOD
@COUNTS
@PAID
@click.option("--ps-id", "ps_id", required=True, help="Identifiant du professionnel (RPPS ou FINESS).")
def explain(rules_ref: str, period: str, counts_path: Path, paid_path: Path | None, ps_id: str) -> None:
    """Explique pas à pas le calcul du forfait d'un professionnel."""
    from .explain import explain as explain_text

    rules, results = _compute_from_counts(rules_ref, period, counts_path, paid_path)
    click.echo(explain_text(results, rules, period, ps_id))


@cli.group()
def rules() -> None:
    """Jeux de règles (params/rules/) et leurs sources."""


@rules.command("list")
def rules_list() -> None:
    """Liste les jeux de règles disponibles."""
    from .rules import list_rules

    for rs in list_rules():
        periods = ", ".join(
            f"{pid} ({fr.date(p.start)} → {fr.date(p.end)}, versement {p.payment})" for pid, p in rs.periods.items()
        )
        click.echo(f"{rs.id} — {rs.label}\n    périodes : {periods}")


@rules.command("show")
@click.argument("ref")
def rules_show(ref: str) -> None:
    """Affiche chaque valeur d'un jeu de règles avec sa source."""
    from .explain import describe_rules
    from .rules import load_rules

    click.echo(describe_rules(load_rules(ref)))


@cli.command()
@click.option("--rules", "rules_id", default="medecins-2024", show_default=True, help="Jeu de règles dont on rejoue les exemples.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Dossier où écrire effectifs et résultats des exemples.")
def exemples(rules_id: str, out_dir: Path | None) -> None:
    """Rejoue les exemples chiffrés de la note méthodologique et signale ses erreurs."""
    from .examples import check_examples, load_examples
    from .forfait import compute
    from .results import write_table

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
    if out_dir is not None:
        counts = examples.counts()
        write_table(counts, out_dir / "effectifs.csv")
        write_table(compute(counts, examples.rules, examples.period), out_dir / "resultats.csv")
        write_table(checked.drop(columns=["erratum"]).assign(erratum=checked["erratum"].fillna("")), out_dir / "verification.csv")
        click.echo(f"Effectifs, résultats et vérification écrits dans {out_dir}.")
    if gaps:
        raise VsmError(f"{gaps} exemple(s) de la note ne donnent pas le montant attendu.")


def main() -> None:
    cli(prog_name="vsm")


if __name__ == "__main__":
    main()
