"""The reports batch: every period × region report plus one national synthesis per period,
executed with Papermill in parallel.

1. Every parameter is validated before anything runs (rule set, periods, regions, workers,
   extracts), with French errors listing the valid values.
2. The results are computed once (:func:`vsm.pipeline.run`), or reused when they are up to
   date: each notebook then reads the results file and keeps its region — the national
   aggregation is never redone per report.
3. The notebooks run in parallel (one Jupyter kernel per notebook, a separate process), with
   a progress bar. A failing notebook is reported with its path and its error; the others
   still complete. The executed notebooks are written to
   ``<out>/<rules>/<period>/<region>/rapport.ipynb`` and
   ``<out>/<rules>/<period>/national/synthese.ipynb``, with their title facts in the
   notebook metadata (``metadata["vsm"]``) for the renderer.
4. Beside each regional report, ``paiements.csv``: the region's payment list for the
   caisse's payment staff (vsm.publish.payments.write_payments), never published in a report.
5. The forfait structure 2023 is computed once (on synthetic indicators generated for the
   demo médecins, or on the indicators given with ``--structure``) and shown in each
   regional report.
6. Last, every executed notebook is rendered to HTML and PDF (vsm.render, in parallel) and
   ``<out>/index.html`` is written.
"""

from __future__ import annotations

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import present as fr
from .errors import VsmError
from .outputs import (
    absolute,
    atomic_path,
    check_folder_output,
    clean_leftovers,
    clean_tmp_files,
    is_leftover_name,
    output_lock,
    read_json,
    visible_entries,
)
from .paths import NOTEBOOKS_DIR, PROJECT_DIR
from .pipeline import ensure_demo_data, run
from .regions import load_regions, normalize_region
from .releve import write_accompaniment
from .render import render_all
from .report.data import NATIONAL
from .report.titles import title_facts
from .rules import RuleSet
from .publish.payments import PAYMENTS_FILE, write_payments
from .store import (
    check_results_file,
    computed_from,
    is_examples_folder,
    is_results_folder,
    manifest_path,
    read_manifest,
    read_results,
    results_path,
    staleness,
    structure_results_path,
    write_table,
)
from .structure.compute import compute_structure
from .structure.inputs import read_structure_input
from .structure.rules import load_structure_rules
from .structure.synth import synthesize_structure

REGIONAL_NOTEBOOK = NOTEBOOKS_DIR / "rapport_regional.ipynb"
NATIONAL_NOTEBOOK = NOTEBOOKS_DIR / "synthese_nationale.ipynb"
REGIONAL_OUTPUT = "rapport.ipynb"
NATIONAL_OUTPUT = "synthese.ipynb"
INDEX_FILE = "rapports.json"
STRUCTURE_DEMO_FILE = "structure.parquet"  # synthetic forfait structure indicators, in the demo folder

ALL_REGIONS = ("all", "toutes")
KERNEL_NAME = "python3"
START_TIMEOUT = 180  # seconds for a kernel to start (many start at once on a loaded machine)
CELL_TIMEOUT = 600  # seconds per cell
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]  # no start-up chatter on the batch's stderr
REMOVE_INPUT = "remove-input"
REMOVE_CELL = "remove-cell"
SECTION_TAG = "section-regionale"  # notebooks/rapport_regional.ipynb: a section's heading and fixed prose

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


# --------------------------------------------------------------------------- parameters


def parse_periods(rules: RuleSet, text: str | None) -> list[str]:
    """« P1,P2 » → ["P1", "P2"], in the rule set's order; None or empty → every period."""
    if text is None or not text.strip():
        return list(rules.periods)
    wanted = [p.strip() for p in text.split(",") if p.strip()]
    for period in wanted:
        rules.period(period)  # French error listing the valid periods
    return [p for p in rules.periods if p in wanted]


def parse_regions(text: str | None) -> list[str]:
    """« all » (or « toutes », or nothing) → every region; « 02,11 » → ["02", "11"].

    Codes are checked as the strings typed: « 4 » is refused (with the hint « 04 »)."""
    if text is None or text.strip().lower() in ALL_REGIONS or not text.strip():
        return list(load_regions())
    codes = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        code = normalize_region(item)
        if code not in codes:
            codes.append(code)
    if not codes:
        raise VsmError("Aucune région donnée : écrire « all » ou des codes séparés par des virgules (ex. 02,11).")
    return sorted(codes)


def parse_jobs(value: object) -> int:
    """Number of notebooks run at once: default one per processor."""
    if value is None or str(value).strip() == "":
        return max(os.cpu_count() or 1, 1)
    text = str(value).strip()
    if not text.isdigit() or int(text) < 1:
        raise VsmError(f"--jobs : « {text} » n'est pas un nombre entier de processus positif (ex. --jobs 4).")
    return int(text)


def check_extracts(feeds: Path | None, patientele: Path | None) -> None:
    if (feeds is None) != (patientele is None):
        raise VsmError("Donner --feeds et --patientele ensemble (ou aucun des deux pour les données de démonstration).")
    for option, path in (("--feeds", feeds), ("--patientele", patientele)):
        if path is not None and not Path(path).exists():
            raise VsmError(f"{option} : « {path} » introuvable.")


def check_templates() -> None:
    for notebook in (REGIONAL_NOTEBOOK, NATIONAL_NOTEBOOK):
        if not notebook.is_file():
            raise VsmError(f"Notebook introuvable : « {notebook} ».")


# --------------------------------------------------------------------------- results


def _is_demo(results_dir: Path, demo: tuple[Path, Path]) -> bool:
    return computed_from(results_dir, demo) is not False  # unreadable manifest: nothing worth keeping


def ensure_results(
    rules: RuleSet,
    results_dir: Path,
    feeds: Path | None = None,
    patientele: Path | None = None,
    say: Callable[[str], None] = lambda _text: None,
) -> dict:
    """The batch's results, computed once: from the extracts given, else reused when up to
    date, else computed on the demo data. Returns the manifest."""
    if feeds is not None:
        if (
            manifest_path(results_dir).is_file()
            and computed_from(results_dir, (feeds, patientele))
            and staleness(rules, results_dir) is None
        ):
            say(f"Résultats à jour pour ces extractions : {results_dir}")
            return read_manifest(results_dir)
        say(f"Calcul des résultats à partir de {feeds} et {patientele}…")
        return run(rules, feeds, patientele, results_dir)
    problem = staleness(rules, results_dir)
    if problem is None:
        say(f"Résultats à jour : {results_dir}")
        return read_manifest(results_dir)
    demo = ensure_demo_data()
    if manifest_path(results_dir).is_file() and not _is_demo(results_dir, demo):
        raise VsmError(
            f"Les résultats de « {results_dir} » sont {problem} et ont été calculés sur d'autres extractions que "
            "les données de démonstration : les recalculer avec --feeds et --patientele (ou « vsm run »)."
        )
    say(f"Résultats {problem} : calcul sur les données de démonstration ({demo[0].parent})…")
    return run(rules, demo[0], demo[1], results_dir)


# --------------------------------------------------------------------------- forfait structure and payments


def structure_indicators(demo_patientele: Path) -> Path:
    """The demo médecins' synthetic forfait structure indicators (data/demo/structure.parquet),
    generated once for the médecins (ps_id, region) of the demo patientèle, again when the
    patientèle is newer."""
    path = Path(demo_patientele).parent / STRUCTURE_DEMO_FILE
    if not path.is_file() or path.stat().st_mtime < Path(demo_patientele).stat().st_mtime:
        synthesize_structure(path, patientele_path=demo_patientele)
    return path


def ensure_structure(
    results_dir: Path, indicators: Path, say: Callable[[str], None] = lambda _text: None, rules_ref: str | None = None
) -> Path:
    """Compute the forfait structure of ``indicators`` under the rule set ``rules_ref`` (None:
    params/structure.yml's) into ``<results_dir>/../<structure rule set>/resultats.parquet``
    (with a small JSON beside it naming the rule set and the input). Returns the results path."""
    rules = load_structure_rules(rules_ref)
    out = absolute(structure_results_path(results_dir, rules.id))
    check_results_file(out, (indicators,))
    check_results_file(out.with_suffix(".json"), (indicators,))
    table = read_structure_input(indicators, rules)
    write_table(compute_structure(table, rules, source=str(indicators)), out)
    meta = {"rules": rules.id, "rules_sha256": rules.sha256, "input": str(Path(indicators).resolve())}
    with atomic_path(out.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    say(f"Forfait structure {rules.year} calculé à partir de {indicators} : {out}")
    return out


def payments_path(out_dir: Path, rules_id: str, period: str, region: str) -> Path:
    return Path(out_dir) / rules_id / period / region / PAYMENTS_FILE


def write_all_payments(rules: RuleSet, periods: list[str], regions: list[str], results_dir: Path, out_dir: Path) -> list[Path]:
    """``paiements.csv`` beside each regional report (the caisse's payment list), and
    ``a_accompagner.csv`` (vsm.releve: professionals within reach of the next step)."""
    written = []
    for period in periods:
        results = read_results(results_path(results_dir, period))
        for code in regions:
            written.append(write_payments(results, code, payments_path(out_dir, rules.id, period, code).parent))
            write_accompaniment(results, rules, period, code, payments_path(out_dir, rules.id, period, code).parent)
    return written


SECRET_FILE = "secret_statistique.json"


def write_secret_plan(rules: RuleSet, results_dir: Path, structure_results: Path | None, out_dir: Path,
                      say: Callable[[str], None] = lambda _text: None) -> Path:
    """Decide the statistical secrecy of everything the rule set publishes — every period
    computed (not only those asked for), every region, département, the national synthesis
    and the forfait structure — once, and write it to ``<out>/<rules>/secret_statistique.json``
    (which groups are masked in each scope, the inputs' fingerprint; no count). Every notebook
    of the batch reads it; an earlier batch's decision on the same inputs is reused."""
    from .report.plan import publication_plan
    from .report.structure import read_structure_results

    path = Path(out_dir) / rules.id / SECRET_FILE
    structure = read_structure_results(structure_results) if structure_results is not None else None
    begun = time.perf_counter()
    publication = publication_plan(rules, results_dir, structure, saved=path if path.is_file() else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(publication.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    masked = publication.stats.get("masques", 0)
    say(f"Secret statistique décidé pour tout le jeu de règles ({fr.integer(masked)} groupe(s) masqué(s), "
        f"{fr.number(time.perf_counter() - begun, 1)} s) : {path}")
    return path


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    """One notebook to execute."""

    period: str
    region: str  # a region code, or "national"
    notebook: Path
    output: Path
    parameters: dict
    facts: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.period} {'synthèse nationale' if self.region == NATIONAL else 'région ' + self.region}"


@dataclass(frozen=True)
class JobResult:
    job: Job
    error: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None


def is_reports_folder(folder: Path) -> bool:
    """A reports folder written by vsm: each entry is its index.html, a rule set's folder
    (with its rapports.json), the examples (« vsm exemples --out reports/exemples »), or the
    project's README.md of reports/."""
    for entry in visible_entries(Path(folder)):
        if entry.is_symlink():
            return False
        if entry.is_file() and entry.name == "index.html":
            try:
                head = entry.read_text(encoding="utf-8", errors="replace")[:2000]
            except OSError:
                return False
            if "<title>Rapports du forfait VSM</title>" not in head:
                return False
        elif entry.is_file() and entry.name == "README.md":
            continue
        elif entry.is_dir():
            index = read_json(entry / INDEX_FILE)
            if not (
                (index is not None and "notebooks" in index)
                or (entry.name == "exemples" and is_examples_folder(entry))
                or _only_report_files(entry)
                or is_results_folder(entry)  # « --results » given inside the reports folder
            ):
                return False
        else:
            return False
    return True


REPORT_FILES = {REGIONAL_OUTPUT, NATIONAL_OUTPUT, PAYMENTS_FILE, INDEX_FILE} | {
    name.replace(".ipynb", suffix) for name in (REGIONAL_OUTPUT, NATIONAL_OUTPUT) for suffix in (".html", ".pdf")
}


def _only_report_files(folder: Path) -> bool:
    """A rule set's reports folder without its index yet: nothing but report files."""
    for entry in folder.rglob("*"):
        if is_leftover_name(entry.name) or entry.name.endswith(".partiel.ipynb") or entry.is_dir():
            continue
        if entry.name not in REPORT_FILES:
            return False
    return True


def check_reports_out(out_dir: Path, inputs: tuple = ()) -> Path:
    """The reports folder (absolute) if vsm may write into it, else a French VsmError."""
    return check_folder_output(
        out_dir, inputs, own=is_reports_folder, what="Dossier des rapports",
        kind="un dossier de rapports de vsm (index.html, <jeu de règles>/rapports.json)",
    )


def check_listed_files(index_path: Path) -> list[str]:
    """Every notebook, HTML, PDF and payments file that ``rapports.json`` lists, checked to
    exist and be non-empty: the problems found (none: the batch may report success)."""
    data = read_json(index_path)
    if data is None:
        return [f"index illisible : « {index_path} »"]
    base = Path(index_path).parent
    problems = []
    for item in data.get("notebooks", []):
        for key in ("path", "html", "pdf", "payments"):
            if key not in item or (key == "path" and item.get("status") != "ok"):
                continue
            path = base / item[key]
            if not path.is_file():
                problems.append(f"« {path} » est listé dans {INDEX_FILE} mais n'existe pas")
            elif path.stat().st_size == 0:
                problems.append(f"« {path} » est listé dans {INDEX_FILE} mais il est vide")
    return problems


def output_path(out_dir: Path, rules_id: str, period: str, region: str) -> Path:
    name = NATIONAL_OUTPUT if region == NATIONAL else REGIONAL_OUTPUT
    return Path(out_dir) / rules_id / period / region / name


def plan(
    rules: RuleSet,
    periods: list[str],
    regions: list[str],
    results_dir: Path,
    out_dir: Path,
    manifest: dict,
    structure_results: Path | None = None,
    secret_plan: Path | None = None,
) -> list[Job]:
    """Every period × region report, then the national synthesis of each period."""
    results = str(Path(results_dir).resolve())
    structure = str(Path(structure_results).resolve()) if structure_results is not None else ""
    secret = str(Path(secret_plan).resolve()) if secret_plan is not None else None
    jobs = []
    for period in periods:
        entry = manifest["periods"][period]
        for code in regions:
            jobs.append(
                Job(
                    period,
                    code,
                    REGIONAL_NOTEBOOK,
                    output_path(out_dir, rules.id, period, code),
                    {
                        "rules": rules.id,
                        "period": period,
                        "region": code,
                        "results_dir": results,
                        "structure_results": structure,
                        "payments_file": f"{rules.id}/{period}/{code}/{PAYMENTS_FILE}",
                        "secret_plan": secret,
                    },
                    title_facts(rules, period, code, entry),
                )
            )
        jobs.append(
            Job(
                period,
                NATIONAL,
                NATIONAL_NOTEBOOK,
                output_path(out_dir, rules.id, period, NATIONAL),
                {"rules": rules.id, "period": period, "results_dir": results, "structure_results": structure,
                 "secret_plan": secret},
                title_facts(rules, period, NATIONAL, entry),
            )
        )
    return jobs


# Papermill, nbformat and tqdm (half a second together) are imported where a notebook is run:
# `vsm simulate` and `vsm render` import this module for its checks (start-up time).


def _error_text(exc: BaseException) -> str:
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        value = _ANSI.sub("", str(exc.evalue)).strip()
        return f"{exc.ename} : {value}" if value else exc.ename
    text = _ANSI.sub("", str(exc)).strip()
    return f"{type(exc).__name__} : {text}" if text else type(exc).__name__


def drop_empty_sections(cells: list) -> None:
    """A markdown cell tagged « section-regionale » (a section's heading and fixed prose, in the
    notebook) is hidden (« remove-cell », honoured by every engine) when the code cell after it
    shows nothing: the section is not published for this report (a region of 1 to 10
    professionals), so neither is its heading."""
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown" or SECTION_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        following = next((c for c in cells[i + 1:] if c.cell_type == "code"), None)
        if following is not None and not following.get("outputs"):
            cell.metadata.setdefault("tags", []).append(REMOVE_CELL)


def finalize(partial: Path, job: Job, error: str | None) -> None:
    """The executed notebook, finished: title facts in ``metadata["vsm"]``, the cell that
    Papermill injected hidden like every code cell, then moved into place atomically."""
    import nbformat

    nb = nbformat.read(partial, as_version=4)
    nb.metadata["vsm"] = {**job.facts, "status": "ok" if error is None else "échec", "error": error}
    if "papermill" in nb.metadata:
        nb.metadata["papermill"]["output_path"] = str(job.output)
    for cell in nb.cells:
        if cell.cell_type == "code":
            tags = cell.metadata.setdefault("tags", [])
            if REMOVE_INPUT not in tags:
                tags.append(REMOVE_INPUT)
    drop_empty_sections(nb.cells)
    with atomic_path(job.output) as tmp:
        nbformat.write(nb, tmp)
    partial.unlink(missing_ok=True)


def execute(job: Job) -> JobResult:
    """Run one notebook with Papermill; never raises (the error is in the result)."""
    import papermill as pm

    started = time.perf_counter()
    job.output.parent.mkdir(parents=True, exist_ok=True)
    partial = job.output.with_name(f".{job.output.stem}.partiel.ipynb")
    error = None
    try:
        pm.execute_notebook(
            str(job.notebook),
            str(partial),
            parameters=job.parameters,
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            start_timeout=START_TIMEOUT,
            execution_timeout=CELL_TIMEOUT,
            # the kernel starts in the project folder (an absolute path given to the kernel
            # itself): Papermill's cwd= would chdir the whole process while other threads
            # resolve paths (every path here is absolute anyway)
            resources={"metadata": {"path": str(PROJECT_DIR)}},
            extra_arguments=KERNEL_ARGUMENTS,
        )
    except Exception as exc:  # noqa: BLE001 — reported with the notebook's path
        error = _error_text(exc)
    try:
        if partial.exists():
            finalize(partial, job, error)
        elif error is None:
            error = f"notebook exécuté introuvable : « {partial} » n'a pas été écrit"
    except Exception as exc:  # noqa: BLE001
        error = error or _error_text(exc)
    finally:
        partial.unlink(missing_ok=True)
    if error is None and not (job.output.is_file() and job.output.stat().st_size):
        error = f"notebook exécuté introuvable ou vide : « {job.output} »"
    return JobResult(job, error, round(time.perf_counter() - started, 2))


def run_jobs(jobs: list[Job], workers: int, progress: bool = True) -> list[JobResult]:
    """Every job, ``workers`` at a time (threads driving separate kernel processes), in the
    order given; a failure never stops the others."""
    from tqdm import tqdm

    if not jobs:
        return []
    results: dict[int, JobResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        futures = {pool.submit(execute, job): i for i, job in enumerate(jobs)}
        with tqdm(total=len(jobs), desc="Rapports", unit=" notebook", disable=not progress, leave=True) as bar:
            for future in as_completed(futures):
                result = future.result()
                results[futures[future]] = result
                bar.update(1)
    return [results[i] for i in range(len(jobs))]


def write_index(out_dir: Path, rules: RuleSet, results: list[JobResult], seconds: float, rendered: dict | None = None) -> Path:
    """``<out>/<rules>/rapports.json``: every notebook of the batch with its facts, status,
    durations, and its rendered files and payment list when there are some."""
    base = Path(out_dir) / rules.id
    path = base / INDEX_FILE
    rendered = rendered or {}
    notebooks = []
    for r in results:
        item = {
            "path": r.job.output.relative_to(base).as_posix(),
            "period": r.job.period,
            "region": r.job.region,
            "status": "ok" if r.ok else "échec",
            "error": r.error,
            "seconds": r.seconds,
        }
        done = rendered.get(r.job.output)
        if done is not None:
            item["render_seconds"] = done.seconds
            if done.error is None:
                item["html"] = done.html.relative_to(base).as_posix()
                item["pdf"] = done.pdf.relative_to(base).as_posix()
            else:
                item["render_error"] = done.error
        payments = r.job.output.with_name(PAYMENTS_FILE)
        if r.job.region != NATIONAL and payments.is_file():
            item["payments"] = payments.relative_to(base).as_posix()
        notebooks.append(item)
    data = {"rules": rules.id, "seconds": round(seconds, 2), "notebooks": notebooks}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


@dataclass
class BatchOutcome:
    results: list[JobResult]
    seconds: float
    workers: int
    index: Path
    execute_seconds: float = 0.0
    render_seconds: float | None = None  # None: not rendered (--no-render)
    rendered: list = field(default_factory=list)  # of vsm.render.Rendered
    html_index: Path | None = None
    missing: list[str] = field(default_factory=list)  # listed in rapports.json, but absent or empty

    @property
    def failures(self) -> list[JobResult]:
        return [r for r in self.results if not r.ok]

    @property
    def render_failures(self) -> list:
        return [r for r in self.rendered if r.error]

    def summary(self) -> str:
        done = len(self.results) - len(self.failures)
        text = (
            f"{fr.integer(done)} notebook(s) sur {fr.integer(len(self.results))} exécuté(s) en "
            f"{fr.number(self.execute_seconds, 1)} s ({fr.integer(self.workers)} en parallèle)"
        )
        if self.render_seconds is not None:
            ok = len(self.rendered) - len(self.render_failures)
            text += f", {fr.integer(ok)} rendu(s) en HTML et PDF en {fr.number(self.render_seconds, 1)} s"
        return text + f" ; total {fr.number(self.seconds, 1)} s."


def run_batch(
    rules: RuleSet,
    periods: list[str],
    regions: list[str],
    results_dir: Path,
    out_dir: Path,
    workers: int,
    feeds: Path | None = None,
    patientele: Path | None = None,
    progress: bool = True,
    say: Callable[[str], None] = lambda _text: None,
    structure: Path | None = None,
    render: bool = True,
    engine: str = "auto",
    structure_rules: str | None = None,
) -> BatchOutcome:
    """Parameters already validated: compute (once) or reuse the results, write the payment
    lists, compute the forfait structure, run every notebook, then render them."""
    # every path absolute, once, before any thread or kernel starts
    results_dir, out_dir, feeds, patientele, structure = map(absolute, (results_dir, out_dir, feeds, patientele, structure))
    check_reports_out(out_dir, (feeds, patientele, structure))
    # the reports folder and the results it reads are held for the whole batch: a second
    # batch, or a « vsm run » on those results, stops at once instead of mixing two runs
    with output_lock(out_dir), output_lock(results_dir):
        check_reports_out(out_dir, (feeds, patientele, structure))
        clean_tmp_files(out_dir / rules.id)  # what an interrupted batch left behind
        clean_leftovers(out_dir / "index.html")
        return _run_batch_locked(
            rules, periods, regions, results_dir, out_dir, workers, feeds, patientele, progress, say, structure, render, engine,
            structure_rules,
        )


def _run_batch_locked(
    rules, periods, regions, results_dir, out_dir, workers, feeds, patientele, progress, say, structure, render, engine,
    structure_rules=None,
) -> BatchOutcome:
    started = time.perf_counter()
    check_templates()
    manifest = ensure_results(rules, results_dir, feeds, patientele, say=say)
    if structure is None and feeds is None:
        structure = structure_indicators(ensure_demo_data()[1])
    structure_results = ensure_structure(results_dir, structure, say=say, rules_ref=structure_rules) if structure is not None else None
    write_all_payments(rules, periods, regions, results_dir, out_dir)
    secret = write_secret_plan(rules, results_dir, structure_results, out_dir, say)
    jobs = plan(rules, periods, regions, results_dir, out_dir, manifest, structure_results, secret)
    begun = time.perf_counter()
    results = run_jobs(jobs, workers, progress=progress)
    executed = time.perf_counter() - begun
    rendered: list = []
    render_seconds = html_index = None
    if render:
        begun = time.perf_counter()
        ok = [r.job.output for r in results if r.ok]
        rendered = render_all(out_dir, jobs=workers, engine=engine, notebooks=ok, strict=False, progress=progress) if ok else []
        render_seconds = time.perf_counter() - begun
        html_index = Path(out_dir) / "index.html"
    seconds = time.perf_counter() - started
    index = write_index(out_dir, rules, results, seconds, {r.notebook: r for r in rendered})
    missing = check_listed_files(index)
    if html_index is not None and not (html_index.is_file() and html_index.stat().st_size):
        missing.append(f"« {html_index} » n'a pas été écrit")
    return BatchOutcome(
        results, seconds, min(workers, len(jobs)), index, executed, render_seconds, rendered, html_index, missing
    )
