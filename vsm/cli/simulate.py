"""`vsm simulate`: the budget impact of rule-set variants (scenarios) and sweeps of one
parameter, against a base rule set (registered in vsm/cli/__init__.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .. import present as fr
from ..errors import VsmError

SIMULATION_NOTEBOOK = "simulation.ipynb"
REPORT_NAME = "simulation.ipynb"
REPORT_DIR = "rapport"


def parse_period(rules, text: str | None) -> list[str]:
    """« all » (default) → every period; « P1 » or « P1,P2 » → those (checked)."""
    from ..batch import parse_periods

    if text is None or text.strip().lower() in ("all", "toutes", ""):
        return list(rules.periods)
    return parse_periods(rules, text)


def national_text(sim, scenario, period: str) -> str:
    """The national change in cost of one scenario and period, in French."""
    from ..present import signed_eur
    from ..report.simulation import signed_pct

    row = sim.national(scenario.id, period)
    p = sim.baseline.period(period)
    what = f"complément versé au {p.payment}" if p.complement_of else f"forfait versé au {p.payment}"
    return (
        f"{scenario.label} ({scenario.id}), période {period}, France entière ({what}) : "
        f"{fr.eur(row['cost_scenario_eur'])} au lieu de {fr.eur(row['cost_baseline_eur'])}, "
        f"soit {signed_eur(row['change_eur'])} ({signed_pct(row['change_pct'])}) ; "
        f"{fr.integer(row['paid_scenario'])} professionnels rémunérés au lieu de {fr.integer(row['paid_baseline'])} ; "
        f"{fr.integer(row['gaining'])} y gagnent, {fr.integer(row['losing'])} y perdent, {fr.integer(row['unchanged'])} inchangés ; "
        f"{fr.integer(row['newly_paid'])} nouveaux rémunérés, {fr.integer(row['no_longer_paid'])} ne le sont plus."
    )


def sweep_text(sim) -> str:
    from ..report.simulation import value_text
    from ..simulate.sweep import exact_number

    sweep = sim.sweep
    lines = [f"Balayage de {sweep.label} ({sweep.path}) :"]
    for row in sim.sweep_table:
        mark = "  ← règle actuelle" if row["current"] else ""
        value = value_text(sweep.path, exact_number(row["value"]))
        lines.append(f"  {row['period']}  {value:>10}  {fr.integer(row['paid']):>8} rémunérés  {fr.eur(row['cost_eur']):>18}{mark}")
    return "\n".join(lines)


def run_report(sim, out_dir: Path, report_dir: Path, region: str | None, engine: str) -> tuple[Path, Path]:
    """Execute notebooks/simulation.ipynb on the simulation folder (same Papermill
    execution as the other reports), then render it to HTML and PDF."""
    from ..batch import Job, execute
    from ..paths import NOTEBOOKS_DIR
    from ..render import render_notebook
    from ..report.simulation import title_facts

    notebook = NOTEBOOKS_DIR / SIMULATION_NOTEBOOK
    if not notebook.is_file():
        raise VsmError(f"Notebook introuvable : « {notebook} ».")
    output = report_dir / REPORT_NAME
    job = Job(
        ", ".join(sim.periods),
        region or "national",
        notebook,
        output,
        {
            "rules": sim.baseline.path,
            "scenarios": [str(Path(s.path).resolve()) for s in sim.scenarios],
            "period": "all" if len(sim.periods) > 1 else sim.periods[0],
            "region": region or "",
            "simulation_dir": str(out_dir.resolve()),
        },
        title_facts(sim.baseline, sim.scenarios, sim.periods, region),
    )
    result = execute(job)
    if not result.ok:
        raise VsmError(f"Le rapport de simulation {output} est en échec : {result.error}")
    return render_notebook(output, engine=engine)


@click.command("simulate")
@click.option("--rules", "rules_ref", required=True, help="Jeu de règles de référence : identifiant (medecins-2024) ou chemin d'un fichier YAML.")
@click.option("--scenario", "scenario_paths", multiple=True, type=click.Path(path_type=Path),
              help="Fichier de scénario (params/scenarios/*.yml) ; l'option peut être répétée.")
@click.option("--sweep", "sweep_spec", default=None,
              help="Balayage d'un paramètre du jeu de référence : chemin=début:fin:pas ou chemin=v1,v2,… "
              "(ex. tiers.levels.0.min_share=0.40:0.60:0.01).")
@click.option("--period", "period", default="all", show_default=True, help="Période (P1, P2…) ou « all » pour toutes.")
@click.option("--feeds", "feeds_path", type=click.Path(path_type=Path), default=None,
              help="Traces d'alimentation du DMP (à la place des données de démonstration), avec --patientele.")
@click.option("--patientele", "patientele_path", type=click.Path(path_type=Path), default=None,
              help="Patientèle « médecin traitant » semestrielle, avec --feeds.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Dossier des résultats de la simulation (défaut : data/simulations/<jeu de règles>).")
@click.option("--report/--no-report", "with_report", default=False, help="Exécuter et mettre en page le rapport de simulation (HTML et PDF).")
@click.option("--report-out", "report_dir", type=click.Path(path_type=Path), default=None,
              help="Dossier du rapport (défaut : <out>/rapport, remplacé avec les résultats à chaque simulation).")
@click.option("--region", "region", default=None, help="Région détaillée dans le rapport (code INSEE à deux caractères, ex. 84).")
@click.option("--moteur", "engine", type=click.Choice(["auto", "quarto", "nbconvert"]), default="auto", show_default=True,
              help="Moteur de rendu du rapport.")
def simulate(rules_ref, scenario_paths, sweep_spec, period, feeds_path, patientele_path, out_dir, with_report, report_dir, region, engine) -> None:
    """Simule des variantes du jeu de règles : coût, gagnants et perdants, par période et
    région, contre le jeu de référence ; balayage d'un paramètre.

    Sortie (non publiée) : <out>/<scénario>/<période>/professionnels.{parquet,csv},
    synthese.{json,csv}, balayage.{json,csv}, manifest.json ; avec --report, le rapport
    mis en page (secret statistique appliqué).
    """
    from ..batch import check_extracts
    from ..rules import load_rules
    from ..simulate.files import MANIFEST_FILE, check_out_dir, default_simulation_dir, write_simulation
    from ..simulate.run import simulate as run_simulation
    from ..simulate.scenario import load_scenario
    from ..simulate.sweep import default_sweep_spec, make_sweep

    started = time.perf_counter()
    # Every parameter is checked before anything is computed.
    baseline = load_rules(rules_ref)
    if not scenario_paths and not sweep_spec:
        raise VsmError("Rien à simuler : donner au moins un --scenario ou un --sweep.")
    scenarios = [load_scenario(path, baseline) for path in scenario_paths]
    ids = [baseline.id, *(s.id for s in scenarios)]
    if len(set(ids)) != len(ids):
        raise VsmError("Deux scénarios (ou un scénario et le jeu de référence) ont le même identifiant : " + ", ".join(ids) + ".")
    sweep = make_sweep(baseline, sweep_spec) if sweep_spec else None
    if sweep is None and with_report and scenarios:
        # the report shows a sweep: by default, of the value the first scenario changes
        spec = default_sweep_spec(baseline, scenarios[0])
        if spec is not None:
            skipped: list[str] = []
            sweep = make_sweep(baseline, spec, skip_invalid=True, skipped=skipped)
            click.echo(f"Balayage pour le rapport (la valeur que change le scénario « {scenarios[0].label} ») : {spec}"
                       + (f" ; valeurs écartées, jeu de règles invalide : {', '.join(skipped)}" if skipped else "") + ".")
    periods = parse_period(baseline, period)
    check_extracts(feeds_path, patientele_path)
    code = None
    if region is not None:
        from ..report.simulation import parse_region

        code = parse_region(region)
    out_dir = Path(out_dir) if out_dir is not None else default_simulation_dir(baseline.id)
    out_dir = check_out_dir(out_dir, (feeds_path, patientele_path))
    # Beside the results it comes from by default (not under reports/, whose index lists the
    # payment reports by rule set, period and region): replaced with them at the next run.
    report_dir = Path(report_dir) if report_dir is not None else out_dir / REPORT_DIR
    if feeds_path is None:
        from ..pipeline import ensure_demo_data

        feeds_path, patientele_path = ensure_demo_data()
        click.echo(f"Données de démonstration : {feeds_path}, {patientele_path}.")

    sim = run_simulation(baseline, scenarios, periods, feeds_path, patientele_path, sweep=sweep)
    computed = time.perf_counter()
    write_simulation(sim, out_dir, {"compute": round(computed - started, 3)})
    n_rules = 1 + len(scenarios) + (len(sweep.variants) if sweep else 0)
    n_agg = len(sim.engine.aggregations)
    click.echo(
        f"{fr.integer(n_rules)} jeux de règles calculés à partir de {fr.integer(n_agg)} agrégation(s) des traces, "
        f"en {fr.number(round(time.perf_counter() - started, 1), 1)} s."
    )
    for scenario in scenarios:
        for pid in periods:
            click.echo(national_text(sim, scenario, pid))
    if sweep is not None:
        click.echo(sweep_text(sim))
    click.echo(f"Résultats de la simulation écrits dans {out_dir} (manifeste : {out_dir / MANIFEST_FILE}).")
    if with_report:
        html_path, pdf_path = run_report(sim, out_dir, report_dir, code, engine)
        click.echo(f"Rapport de simulation : {html_path} et {pdf_path}.")
    sys.stdout.flush()
