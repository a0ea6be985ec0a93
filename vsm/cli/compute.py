"""`vsm compute`, `vsm explain`, `vsm run`, `vsm synth`: the forfait from counts or from the
extracts, one professional's explanation, every period into a results folder, synthetic
extracts. The stages are imported inside each command (start-up time, see app.py).
"""

from __future__ import annotations

import re
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import click

from .. import present as fr
from ..errors import VsmError
from .app import VSM_RULES, cli


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


def source_options(command):
    """The options of `vsm compute` and `vsm explain`, in this order: rules, period, then the
    counts or the extracts, and the amounts already paid."""
    for option in reversed((RULES, PERIOD, COUNTS, FEEDS, PATIENTELE, PAID)):
        command = option(command)
    return command


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
    from ..forfait import total

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
    from ..rules import load_rules

    _check_sources(counts_path, feeds_path, patientele_path)
    rules = load_rules(rules_ref)
    rules.period(period)
    if paid_path is not None or counts_path is not None:  # pandas is needed at once
        from ..ingest.inputs import read_paid
    paid = read_paid(paid_path) if paid_path is not None else None
    if counts_path is not None:
        from ..forfait import compute
        from ..ingest.inputs import read_counts

        counts = read_counts(counts_path)
        results = compute(counts, rules, period, paid=paid, source=str(counts_path))
        return rules, lambda: results, None
    from ..pipeline import compute_extracts

    if out_path is None:  # explain: nothing written
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
@source_options
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path), help="Fichier de résultats (.csv ou .parquet).")
def compute(rules_ref, period, counts_path, feeds_path, patientele_path, paid_path, out_path) -> None:
    """Calcule le forfait de chaque professionnel et écrit les résultats.

    À partir des effectifs (--counts) ou des extractions (--feeds et --patientele) ; dans ce
    cas un manifeste <sortie>.manifest.json rend compte de chaque ligne lue.
    """
    from ..outputs import absolute
    from ..store import check_output_path, check_results_file, write_table

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
@source_options
@click.option("--ps-id", "ps_id", required=True, help="Identifiant du professionnel (RPPS ou FINESS).")
def explain(rules_ref, period, counts_path, feeds_path, patientele_path, paid_path, ps_id: str) -> None:
    """Explique pas à pas le calcul du forfait d'un professionnel."""
    from ..explain import explain as explain_text

    rules, results, _ = _compute(rules_ref, period, counts_path, feeds_path, patientele_path, paid_path)
    click.echo(explain_text(results(), rules, period, ps_id))


@cli.command()
@click.option("--rules", "rules_ref", default=VSM_RULES, show_default=True, help="Jeu de règles (identifiant ou fichier).")
@FEEDS
@PATIENTELE
@click.option("--periods", default=None, help="Périodes à calculer, séparées par des virgules (défaut : toutes).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Dossier de résultats (défaut : data/resultats/<jeu de règles>).")
def run(rules_ref, feeds_path, patientele_path, periods, out_dir) -> None:
    """Calcule toutes les périodes d'un jeu de règles, avec le complément, et écrit un manifeste.

    Sans --feeds ni --patientele : les données de démonstration (générées au premier usage).
    """
    from ..outputs import absolute
    from ..pipeline import ensure_demo_data, run as run_pipeline
    from ..store import check_results_out
    from ..rules import load_rules

    rules = load_rules(rules_ref)
    if (feeds_path is None) != (patientele_path is None):
        raise VsmError("Donner --feeds et --patientele ensemble (ou aucun des deux pour les données de démonstration).")
    # relative paths (and the default data/resultats/<rules>) against the caller's working
    # directory, once; the output folder is checked before anything is computed or generated
    feeds_path, patientele_path = absolute(feeds_path), absolute(patientele_path)
    from ..store import default_results_dir
    shown = out_dir or default_results_dir(rules.id)
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
    from ..outputs import visible_entries
    from ..store import is_vsm_file

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
    from ..outputs import absolute, check_folder_output, clean_leftovers, output_lock
    from ..synth import synthesize

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
