"""The `vsm` command. Thin: parse arguments, call the pipeline stages, print in French.

Every error is a French message on stderr with a non-zero exit code, and no output file is
left behind (outputs are written to a temporary file, then renamed).
"""

from __future__ import annotations

import gc
import os
import re
import sys
from decimal import Decimal
from pathlib import Path

import click

from . import __version__
from . import present as fr
from .errors import VsmError


# click's own words (help headings, usage, built-in options) in French: click passes them
# through gettext's ``_``, which each of its modules imported; we give those modules ours.
CLICK_FR = {
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Commands": "Commandes",
    "Positional arguments": "Arguments",
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "required": "obligatoire",
    "default: {default}": "défaut : {default}",
    "Try '{command} {option}' for help.": "Voir « {command} {option} ».",
    "Error: {message}": "Erreur : {message}",
    "Aborted!": "Interrompu.",
    "Missing command.": "Commande manquante.",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "Choose from:\n\t{choices}": "Valeurs possibles :\n\t{choices}",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un {number_type} valide.",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "Invalid value for {param_hint}: {message}": "valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "valeur invalide : {message}",
    "{value!r} is not {choice}.": "{value!r} n'est pas {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} ne fait pas partie de {choices}.",
}


def _fr_n(singular: str, plural: str, n: int) -> str:
    return _fr(singular if n == 1 else plural)


def _fr(message: str) -> str:
    return CLICK_FR.get(message, message)


for _module in (click.core, click.formatting, click.decorators, click.exceptions, click.types, click.parser):
    if hasattr(_module, "_"):
        _module._ = _fr
    if hasattr(_module, "ngettext"):
        _module.ngettext = _fr_n

# the types' names, fixed when click was imported: « integer » in errors, INTEGER in the help
for _type, _name in ((click.INT, "entier"), (click.FLOAT, "nombre décimal"), (click.BOOL, "booléen"), (click.STRING, "texte")):
    _type.name = _name


_DEBUG = {"on": os.environ.get("VSM_DEBUG", "") not in ("", "0")}


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _DEBUG["on"] = True


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C, wherever it landed: in Python, or inside a DuckDB query (« Query interrupted »)."""
    import duckdb

    if isinstance(exc, (KeyboardInterrupt, click.exceptions.Abort)):
        return True
    return isinstance(exc, (duckdb.InterruptException, RuntimeError)) and "interrupted" in str(exc).lower()


def _os_error_text(exc: OSError) -> str:
    """An operating-system error in French: what happened, and to which file."""
    import errno

    what = {
        errno.ENOSPC: "plus de place sur le disque",
        errno.EACCES: "permission refusée",
        errno.EPERM: "opération non permise",
        errno.EROFS: "système de fichiers en lecture seule",
        errno.ENOENT: "fichier ou dossier introuvable",
        errno.EEXIST: "existe déjà",
        errno.EISDIR: "c'est un dossier",
        errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
        errno.ENOTEMPTY: "dossier non vide",
        errno.EDQUOT: "quota disque dépassé",
        errno.EMFILE: "trop de fichiers ouverts",
    }.get(exc.errno, exc.strerror or type(exc).__name__)
    names = [n for n in (exc.filename, exc.filename2) if n]
    where = " → ".join(f"« {n} »" for n in names)
    return f"{what}{' : ' + where if where else ''}"


class FrenchGroup(click.Group):
    """Turns VsmError into « Erreur : … » and exit code 2, click's usage errors into French,
    Ctrl-C into « Interrompu. » (130), and any other error into a French message (exit 1),
    never a traceback unless ``vsm --debug`` (or VSM_DEBUG=1) asks for it."""

    def main(self, *args, **kwargs):  # noqa: D401
        kwargs.setdefault("standalone_mode", True)
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.ClickException as exc:
            sys.exit(self._usage_error(exc))
        except BaseException as exc:  # noqa: BLE001 — the last resort: every error a user can cause
            if isinstance(exc, SystemExit):
                raise
            if _DEBUG["on"]:
                import traceback

                traceback.print_exception(exc)
            if _interrupted(exc):
                click.echo("Interrompu (Ctrl-C) : la commande s'est arrêtée avant la fin ; la relancer.", err=True)
                sys.exit(130)
            if isinstance(exc, VsmError):
                click.echo(f"Erreur : {exc}", err=True)
                sys.exit(2)
            if isinstance(exc, OSError):
                click.echo(f"Erreur : {_os_error_text(exc)}.", err=True)
            elif isinstance(exc, MemoryError):
                click.echo("Erreur : mémoire insuffisante pour cette commande.", err=True)
            else:
                detail = str(exc).splitlines()[0] if str(exc) else ""
                click.echo(
                    f"Erreur inattendue ({type(exc).__name__}{' : ' + detail if detail else ''}). "
                    "C'est sans doute un défaut de vsm : relancer avec « vsm --debug … » pour voir le détail "
                    "et le signaler.",
                    err=True,
                )
            sys.exit(1)

    @staticmethod
    def _usage_error(exc: click.exceptions.ClickException) -> int:
        if isinstance(exc, click.exceptions.NoSuchOption):
            click.echo(f"Erreur : option inconnue « {exc.option_name} ». Voir « vsm --help ».", err=True)
        elif isinstance(exc, click.exceptions.MissingParameter):
            name = exc.param.opts[0] if exc.param is not None and exc.param.opts else "?"
            click.echo(f"Erreur : paramètre obligatoire manquant : {name}. Voir « vsm --help ».", err=True)
        elif isinstance(exc, click.exceptions.BadParameter):
            click.echo(f"Erreur : {exc.format_message()}", err=True)
        elif isinstance(exc, click.exceptions.UsageError):
            click.echo(f"Erreur : {exc.format_message()} Voir « vsm --help ».", err=True)
        else:
            click.echo(f"Erreur : {exc.format_message()}", err=True)
            return exc.exit_code or 1
        return 2


@click.group(cls=FrenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vsm", message="%(prog)s %(version)s")
@click.option(
    "--debug", is_flag=True, is_eager=True, expose_value=False, callback=_set_debug,
    help="En cas d'erreur, afficher aussi la trace technique (pour signaler un défaut).",
)
def cli() -> None:
    """Forfait VSM : calcul, explication et restitution."""


RULES = click.option("--rules", "rules_ref", required=True, help="Jeu de règles : identifiant (medecins-2024) ou chemin d'un fichier YAML.")
PERIOD = click.option("--period", required=True, help="Période d'observation du jeu de règles (ex. P1, P2).")
COUNTS = click.option(
    "--counts", "counts_path", type=click.Path(path_type=Path), default=None,
    help="Effectifs par professionnel (CSV ou Parquet) : ps_id, patients_mt, patients_mt_ald, dmp_vsm, dmp_vsm_structured.",
)
FEEDS = click.option(
    "--feeds", "feeds_path", type=click.Path(path_type=Path), default=None,
    help="Traces d'alimentation du DMP (CSV, Parquet ou dossier de Parquet), à la place de --counts.",
)
PATIENTELE = click.option(
    "--patientele", "patientele_path", type=click.Path(path_type=Path), default=None,
    help="Patientèle « médecin traitant » semestrielle (CSV ou Parquet), avec --feeds.",
)


def _check_sources(counts_path: Path | None, feeds_path: Path | None, patientele_path: Path | None) -> None:
    if counts_path is not None and (feeds_path is not None or patientele_path is not None):
        raise VsmError("Donner soit --counts, soit --feeds et --patientele, pas les deux.")
    if counts_path is None and (feeds_path is None or patientele_path is None):
        raise VsmError("Données manquantes : donner --counts, ou bien --feeds et --patientele.")
PAID = click.option(
    "--paid", "paid_path", type=click.Path(path_type=Path), default=None,
    help="Résultats de la période précédente (ps_id, amount_eur), pour calculer le complément.",
)


def _summary(entry: dict, period: str) -> str:
    """The period's figures (as the manifest records them) in French."""
    lines = [
        f"Période {period} : {fr.integer(entry['professionals'])} professionnels, "
        f"{fr.integer(entry['eligible'])} éligibles, {fr.integer(entry['paid'])} avec un forfait, "
        f"dont {fr.integer(entry['majorated'])} majorés.",
        f"Montant total : {fr.eur(Decimal(entry['amount_eur']))}.",
    ]
    if "complement_eur" in entry:
        lines.append(
            f"Compléments à verser : {fr.integer(entry['complements'])} professionnels, "
            f"{fr.eur(Decimal(entry['complement_eur']))}."
        )
    return "\n".join(lines)


def _figures(results) -> dict:
    """A results table's figures, keyed as in the manifest (for results computed from counts)."""
    from .forfait import total

    entry = {
        "professionals": len(results),
        "eligible": int(results["eligible"].sum()),
        "paid": int((results["amount_eur"] > Decimal(0)).sum()),
        "majorated": int(results["majoration"].sum()),
        "amount_eur": str(total(results)),
    }
    if "complement_eur" in results.columns:
        entry["complements"] = int((results["complement_eur"] > Decimal(0)).sum())
        entry["complement_eur"] = str(total(results, "complement_eur"))
    return entry


def _compute(rules_ref, period, counts_path, feeds_path, patientele_path, paid_path, out_path=None):
    """Rules, a function giving the results as a DataFrame (built only if asked for: the figures
    printed come from the manifest), and the manifest when computed from extracts."""
    from .rules import load_rules

    _check_sources(counts_path, feeds_path, patientele_path)
    rules = load_rules(rules_ref)
    rules.period(period)
    if paid_path is not None or counts_path is not None:  # pandas is needed at once
        from .inputs import read_paid
    paid = read_paid(paid_path) if paid_path is not None else None
    if counts_path is not None:
        from .forfait import compute
        from .inputs import read_counts

        counts = read_counts(counts_path)
        results = compute(counts, rules, period, paid=paid, source=str(counts_path))
        return rules, lambda: results, None
    from .pipeline import compute_extracts

    if out_path is None:  # explain: nothing written
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            data = compute_extracts(rules, period, feeds_path, patientele_path, Path(tmp) / "r.parquet", paid=paid)
    else:
        data = compute_extracts(rules, period, feeds_path, patientele_path, out_path, paid=paid, other_inputs=(paid_path,))
    run = data.pop("_run")
    return rules, lambda: run.results, data


def _tally_text(manifest: dict, period: str) -> str:
    entry = manifest["periods"][period]
    lines = [f"Lignes de traces lues : {fr.integer(entry['feeds_rows_total'])}, dont :"]
    for item in entry["feeds_rows_by_reason"].values():
        if item["rows"]:
            lines.append(f"  {fr.integer(item['rows']):>12}  {item['label']}")
    missing = entry["professionals_without_patientele"]
    if missing:
        lines.append(
            f"{fr.integer(len(missing))} professionnel(s) ont alimenté des VSM sans figurer dans la patientèle "
            "(liste dans le manifeste)."
        )
    return "\n".join(lines)


@cli.command()
@RULES
@PERIOD
@COUNTS
@FEEDS
@PATIENTELE
@PAID
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="Fichier de résultats (.csv ou .parquet).")
def compute(rules_ref, period, counts_path, feeds_path, patientele_path, paid_path, out_path) -> None:
    """Calcule le forfait de chaque professionnel et écrit les résultats.

    À partir des effectifs (--counts) ou des extractions (--feeds et --patientele) ; dans ce
    cas un manifeste <sortie>.manifest.json rend compte de chaque ligne lue.
    """
    from .outputs import absolute
    from .results import check_output_path, check_results_file, write_table

    # every path made absolute once, against the caller's working directory; the output is
    # checked (not a folder, not under a file, not an input, not a file vsm did not write)
    # before anything is computed
    shown = out_path
    counts_path, feeds_path, patientele_path, paid_path, out_path = map(
        absolute, (counts_path, feeds_path, patientele_path, paid_path, out_path)
    )
    check_output_path(out_path)
    check_results_file(out_path, (counts_path, feeds_path, patientele_path, paid_path))
    rules, results, manifest = _compute(rules_ref, period, counts_path, feeds_path, patientele_path, paid_path, out_path)
    if rules.period(period).complement_of and paid_path is None:
        click.echo(
            f"Attention : la période {period} complète {rules.period(period).complement_of} ; sans --paid, "
            "le complément n'est pas calculé (montants P2 bruts seulement).",
            err=True,
        )
    if manifest is None:
        write_table(results(), out_path)
        click.echo(_summary(_figures(results()), period))
    else:
        click.echo(_tally_text(manifest, period))
        click.echo(_summary(manifest["periods"][period], period))
    click.echo(f"Résultats écrits dans {shown}.")


@cli.command()
@RULES
@PERIOD
@COUNTS
@FEEDS
@PATIENTELE
@PAID
@click.option("--ps-id", "ps_id", required=True, help="Identifiant du professionnel (RPPS ou FINESS).")
def explain(rules_ref, period, counts_path, feeds_path, patientele_path, paid_path, ps_id: str) -> None:
    """Explique pas à pas le calcul du forfait d'un professionnel."""
    from .explain import explain as explain_text

    rules, results, _ = _compute(rules_ref, period, counts_path, feeds_path, patientele_path, paid_path)
    click.echo(explain_text(results(), rules, period, ps_id))


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
    from .words import describe_rules
    from .rules import load_rules

    click.echo(describe_rules(load_rules(ref)))


@cli.command()
@click.option("--rules", "rules_id", default="medecins-2024", show_default=True, help="Jeu de règles dont on rejoue les exemples.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Dossier où écrire effectifs et résultats des exemples.")
def exemples(rules_id: str, out_dir: Path | None) -> None:
    """Rejoue les exemples chiffrés de la note méthodologique et signale ses erreurs."""
    from .examples import check_examples, load_examples
    from .forfait import compute
    from .outputs import absolute, check_folder_output, clean_leftovers, output_lock, staged_folder
    from .results import is_examples_folder, write_table

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


@cli.command()
@click.option("--rules", "rules_ref", default="medecins-2024", show_default=True, help="Jeu de règles (identifiant ou fichier).")
@FEEDS
@PATIENTELE
@click.option("--periods", default=None, help="Périodes à calculer, séparées par des virgules (défaut : toutes).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Dossier de résultats (défaut : data/resultats/<jeu de règles>).")
def run(rules_ref, feeds_path, patientele_path, periods, out_dir) -> None:
    """Calcule toutes les périodes d'un jeu de règles, avec le complément, et écrit un manifeste.

    Sans --feeds ni --patientele : les données de démonstration (générées au premier usage).
    """
    from .outputs import absolute
    from .pipeline import check_results_out, ensure_demo_data, run as run_pipeline
    from .rules import load_rules

    rules = load_rules(rules_ref)
    if (feeds_path is None) != (patientele_path is None):
        raise VsmError("Donner --feeds et --patientele ensemble (ou aucun des deux pour les données de démonstration).")
    # relative paths (and the default data/resultats/<rules>) against the caller's working
    # directory, once; the output folder is checked before anything is computed or generated
    feeds_path, patientele_path = absolute(feeds_path), absolute(patientele_path)
    shown = out_dir or Path("data") / "resultats" / rules.id
    out_dir = absolute(shown)
    check_results_out(out_dir, (feeds_path, patientele_path))
    if feeds_path is None:
        feeds_path, patientele_path = ensure_demo_data()
        click.echo(f"Données de démonstration : {feeds_path.parent}")
    wanted = [p.strip() for p in periods.split(",") if p.strip()] if periods else None
    data = run_pipeline(rules, feeds_path, patientele_path, out_dir, periods=wanted)
    for pid, entry in data["periods"].items():
        line = (
            f"{pid} : {fr.integer(entry['professionals'])} professionnels, {fr.integer(entry['paid'])} avec un forfait, "
            f"total {fr.eur(entry['amount_eur'])}"
        )
        if "complement_eur" in entry:
            line += f" ; compléments : {fr.integer(entry['complements'])} pour {fr.eur(entry['complement_eur'])}"
        click.echo(line)
    inputs = data["inputs"]
    click.echo(
        f"Lignes lues : {fr.integer(inputs['feeds']['rows'])} traces, {fr.integer(inputs['patientele']['rows'])} lignes de patientèle "
        f"(détail par motif dans {shown / 'manifest.json'}). Durée : {fr.number(data['seconds']['total'], 1)} s."
    )


SYNTH_PART = re.compile(r"^part-\d+\.parquet$")


def _is_synth_folder(folder: Path) -> bool:
    """A folder written by « vsm synth » (and « vsm reports », which adds the demo médecins'
    structure indicators): feeds/ holding only part-NNNNN.parquet, patientele.parquet and
    structure.parquet — what synth replaces is then its own."""
    from .outputs import visible_entries
    from .results import is_vsm_file

    for entry in visible_entries(folder):
        if entry.name == "feeds" and entry.is_dir() and not entry.is_symlink():
            if not all(p.is_file() and SYNTH_PART.match(p.name) for p in visible_entries(entry)):
                return False
        elif entry.name in ("patientele.parquet", "structure.parquet") and entry.is_file():
            if not is_vsm_file(entry):
                return False
        else:
            return False
    return True


@cli.command()
@click.option("--scale", type=click.Choice(["demo", "national"]), default="demo", show_default=True, help="Taille du jeu synthétique.")
@click.option("--seed", type=int, default=2024, show_default=True, help="Graine (même graine → mêmes fichiers).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Dossier de sortie.")
def synth(scale: str, seed: int, out_dir: Path) -> None:
    """Écrit des extractions synthétiques réalistes (traces DMP et patientèle)."""
    from .outputs import absolute, check_folder_output, clean_leftovers, output_lock
    from .synth import synthesize

    out_dir = check_folder_output(absolute(out_dir), own=_is_synth_folder, kind="un dossier écrit par « vsm synth »")
    with output_lock(out_dir):
        clean_leftovers(out_dir)  # an interrupted generation's folders
        check_folder_output(out_dir, own=_is_synth_folder, kind="un dossier écrit par « vsm synth »")
        summary = synthesize(out_dir, scale=scale, seed=seed, progress=sys.stderr.isatty())
    click.echo(
        f"{fr.integer(summary['feeds_rows'])} lignes de traces ({summary['feeds_files']} fichiers) et "
        f"{fr.integer(summary['patientele_rows'])} lignes de patientèle écrites dans {out_dir} "
        f"en {fr.number(summary['seconds'], 1)} s."
    )


# Commands defined in other modules are registered here, one line each.
from .cli_structure import structure as _structure; cli.add_command(_structure)  # noqa: E402, E702
from .cli_reports import reports as _reports; cli.add_command(_reports)  # noqa: E402, E702
from .cli_render import render as _render; cli.add_command(_render)  # noqa: E402, E702
from .cli_simulate import simulate as _simulate; cli.add_command(_simulate)  # noqa: E402, E702
from .cli_releve import releve as _releve; cli.add_command(_releve)  # noqa: E402, E702


def main() -> None:
    # A short-lived command: the cyclic garbage collector would spend a quarter of a second
    # walking the objects that pandas, numpy and pyarrow create at import; collect rarely.
    gc.set_threshold(100_000, 50, 100)
    # numpy's OpenBLAS would start a thread per core that spins while DuckDB works; we do no
    # linear algebra.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import signal

    if signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, signal.default_int_handler):
        # still vsm/__init__.py's start-up handler (Ctrl-C: « Interrompu », exit 130): keep it
        # while DuckDB's native module loads for the commands that need it (an import it
        # interrupts aborts the whole process), then let Python raise KeyboardInterrupt
        if set(sys.argv[1:]) & {"compute", "explain", "run", "reports", "structure"}:
            import duckdb  # noqa: F401
        signal.signal(signal.SIGINT, signal.default_int_handler)
    code: int | str | None = 0
    try:
        cli(prog_name="vsm")
    except SystemExit as exc:
        code = exc.code
    # Every output is written (atomically) and every worker has finished by now: leave without
    # the interpreter's teardown, whose last garbage collection over the objects of pandas,
    # numpy and pyarrow takes a quarter of a second.
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (« vsm … | head »): nothing more to say
            pass
    os._exit(code or 0)


if __name__ == "__main__":
    main()
