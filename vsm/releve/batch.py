"""Writing statements in batches: the relevé notebook executed once for a list of
professionals, split into one notebook per statement, each rendered by vsm.render.

The batch stage of the relevé (vsm/releve/content.py is its content: figures, steps, gaps)."""

from __future__ import annotations

import copy
import csv
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import nbformat
from tqdm import tqdm

from ..batch import Job, execute
from ..errors import VsmError
from ..outputs import visible_entries
from ..paths import NOTEBOOKS_DIR
from ..render import render_notebook
from ..rules import RuleSet
from .content import SAFE_ID, load_batch, statement, unknown_message
from .notebook import OUTPUT_KEY

# --------------------------------------------------------------------------- writing statements

RELEVE_NOTEBOOK = "releve.ipynb"
BATCH_OUTPUT = "lot.ipynb"


@dataclass
class Produced:
    ps_id: str
    html: Path | None
    pdf: Path | None
    error: str | None = None


@dataclass
class Outcome:
    produced: list[Produced]
    missing: list[str]
    duplicates: int
    execute_seconds: float
    render_seconds: float
    seconds: float

    @property
    def failures(self) -> list[Produced]:
        return [p for p in self.produced if p.error]


def read_id_list(path: Path | str) -> list[str]:
    """Identifiers from a file: a CSV with a ``ps_id`` column (« , » or « ; »), or one
    identifier per line without header. Kept as text (leading zeros kept)."""
    path = Path(path)
    if not path.is_file():
        raise VsmError(f"--liste : fichier « {path} » introuvable.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise VsmError(f"--liste : « {path} » n'est pas un texte UTF-8.") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise VsmError(f"--liste : « {path} » est vide (une colonne « ps_id » ou un identifiant par ligne attendus).")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = [h.strip().lower() for h in rows[0]]
    if "ps_id" in header:
        column = header.index("ps_id")
        body = rows[1:]
        start = 2
    elif len(header) == 1:
        column, body, start = 0, rows, 1
    else:
        raise VsmError(f"--liste : « {path} », ligne 1 : colonne « ps_id » introuvable (colonnes : {', '.join(rows[0])}).")
    ids = []
    for number, row in enumerate(body, start=start):
        value = row[column].strip() if column < len(row) else ""
        if not value:
            raise VsmError(f"--liste : « {path} », ligne {number}, colonne ps_id : identifiant vide.")
        ids.append(value)
    if not ids:
        raise VsmError(f"--liste : « {path} » ne contient aucun identifiant.")
    return ids


def split_notebook(nb, ps_id: str, facts: dict):
    """The executed batch notebook reduced to one statement: each code cell keeps the
    outputs tagged with ``ps_id`` (and untagged ones), the title facts go to
    ``metadata["vsm"]`` for the renderer."""
    out = nbformat.v4.new_notebook()
    out.metadata = copy.deepcopy(nb.metadata)
    out.metadata["vsm"] = {**facts, "status": "ok"}
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []) or "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        cell = copy.copy(cell)
        if cell.cell_type == "code":
            cell["outputs"] = [o for o in cell.get("outputs", []) if (o.get("metadata") or {}).get(OUTPUT_KEY, ps_id) == ps_id]
        out.cells.append(cell)
    return out


def _render_statement(path: str, out_dir: str, engine: str) -> Produced:
    ps_id = Path(path).stem
    try:
        html_path, pdf_path = render_notebook(path, out_dir, engine=engine)
        return Produced(ps_id, html_path, pdf_path)
    except VsmError as exc:
        return Produced(ps_id, None, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - reported per statement, in French, by the command
        return Produced(ps_id, None, None, f"{type(exc).__name__} : {exc}")


WORK_PREFIX = ".releves.vsm-staging-"  # the batch's work folder inside --out (vsm.outputs leftovers)
STATEMENT_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\.(pdf|html)$")


def is_statements_folder(folder: Path) -> bool:
    """A folder vsm may write statements into: nothing but statements (``<ps_id>.pdf``,
    ``<ps_id>.html``) beside vsm's own leftovers."""
    return all(entry.is_file() and STATEMENT_FILE.match(entry.name) for entry in visible_entries(Path(folder)))


def clean_work_folders(out_dir: Path) -> list[Path]:
    """Remove the work folders an interrupted ``vsm releve`` left in ``out_dir`` (lock held)."""
    removed = []
    for entry in Path(out_dir).glob(f"{WORK_PREFIX}*") if Path(out_dir).is_dir() else []:
        if entry.is_dir():
            shutil.rmtree(entry)
            removed.append(entry)
    return removed


def produce(
    rules: RuleSet | str,
    ps_ids: Sequence[str],
    results_dir: Path | str,
    out_dir: Path | str,
    *,
    contact_file: Path | str | None = None,
    jobs: int | None = None,
    engine: str = "auto",
    progress: bool = False,
) -> Outcome:
    """Write ``<out_dir>/<ps_id>.html`` and ``.pdf`` for every known identifier of ``ps_ids``.

    The notebook runs once for the whole list (one kernel: the results are read once), then
    the executed notebook is split into one notebook per statement (:func:`split_notebook`),
    each rendered by vsm.render in a pool of ``jobs`` processes. Each file is written through
    a temporary file renamed at the end; only the temporary folder this call made is removed.
    Unknown identifiers are returned in ``missing`` (all unknown: a VsmError).
    """
    started = time.perf_counter()
    seen, wanted = set(), []
    for ps_id in (str(i).strip() for i in ps_ids):
        if ps_id and ps_id not in seen:
            seen.add(ps_id)
            wanted.append(ps_id)
    duplicates = len([i for i in ps_ids if str(i).strip()]) - len(wanted)
    if not wanted:
        raise VsmError("Aucun identifiant de professionnel donné (--ps-id ou --liste).")
    batch = load_batch(rules, results_dir, contact_file)
    found, missing = batch.split_known(wanted)
    if not found:
        if len(missing) == 1:
            raise VsmError(unknown_message(missing[0], batch))
        raise VsmError(
            f"Aucun des {len(missing)} identifiants demandés ne figure dans les résultats du jeu de règles "
            f"{batch.rules.id} (« {batch.results_dir} ») : {', '.join(missing)}."
        )
    unsafe = [i for i in found if not SAFE_ID.match(i)]
    found = [i for i in found if SAFE_ID.match(i)]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=out))
    try:
        produced = [Produced(i, None, None, "identifiant inutilisable comme nom de fichier (lettres, chiffres, « - », « _ »)") for i in unsafe]
        execute_seconds = render_seconds = 0.0
        if found:
            job = Job(
                "", "releve", NOTEBOOKS_DIR / RELEVE_NOTEBOOK, work / BATCH_OUTPUT,
                {
                    "rules": batch.rules.path,  # the file itself: the kernel loads exactly these rules
                    "ps_ids": found,
                    "results_dir": str(batch.results_dir.resolve()),
                    "contact_file": str(Path(contact_file).resolve()) if contact_file else "",
                },
                {"kind": "releve", "rules": batch.rules.id},
            )
            begun = time.perf_counter()
            result = execute(job)
            execute_seconds = time.perf_counter() - begun
            if not result.ok:
                raise VsmError(f"Le notebook des relevés a échoué : {result.error}. Aucun relevé écrit.")
            executed = nbformat.read(job.output, as_version=4)
            paths = []
            for ps_id in found:
                one = split_notebook(executed, ps_id, statement(batch, ps_id).facts())
                path = work / f"{ps_id}.ipynb"
                nbformat.write(one, path)
                paths.append(str(path))
            begun = time.perf_counter()
            workers = max(1, min(jobs or os.cpu_count() or 1, len(paths)))
            if workers == 1:
                rendered = [_render_statement(p, str(out), engine) for p in paths]
            else:
                with ProcessPoolExecutor(max_workers=workers) as pool:
                    chunk = max(1, len(paths) // (workers * 8))
                    mapped = pool.map(_render_statement, paths, [str(out)] * len(paths), [engine] * len(paths), chunksize=chunk)
                    rendered = list(tqdm(mapped, total=len(paths), desc="Relevés", unit=" relevé", disable=not progress, leave=True))
            render_seconds = time.perf_counter() - begun
            produced += rendered
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Outcome(produced, missing, duplicates, execute_seconds, render_seconds, time.perf_counter() - started)
