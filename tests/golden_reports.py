"""Golden report notebooks: a regional report (Bretagne, 53) and the national synthesis of
period P1, executed on the demo data (fixed seed), committed in tests/golden/ and compared by
nbval (--nbval-lax: only the cells tagged « nbval-check-output », i.e. every published table,
figure and sentence; the payments cell shows a file path and is not compared).

To update the golden copies deliberately, after a change of a published figure or sentence:

    .venv/bin/python tests/golden_reports.py

then review ``git diff tests/golden/`` and commit. The paths of the run are stored as
« __RACINE__ » so that the copies do not depend on the machine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden"
ROOT_MARK = "__RACINE__"
REGION = "53"
PERIOD = "P1"
# golden file name → notebook of the batch, relative to <out>/medecins-2024/
NOTEBOOKS = {
    "rapport_regional_53.ipynb": f"{PERIOD}/{REGION}/rapport.ipynb",
    "synthese_nationale.ipynb": f"{PERIOD}/national/synthese.ipynb",
}


def demo_results(root: Path) -> tuple[Path, Path]:
    """The demo batch's results and forfait structure results under ``root`` (fixed seed)."""
    from vsm.batch import ensure_structure, structure_indicators
    from vsm.pipeline import ensure_demo_data, run
    from vsm.rules import load_rules

    feeds, patientele = ensure_demo_data(REPO / "data" / "demo")  # the demo data of « vsm reports » (seed 2024)
    results = root / "resultats" / "medecins-2024"
    run(load_rules("medecins-2024"), feeds, patientele, results)
    structure = ensure_structure(results, structure_indicators(patientele))
    return results, structure


def with_root(nb, old: str, new: str):
    """The notebook with every occurrence of the run's root path replaced (parameters, outputs)."""
    text = nbformat.writes(nb).replace(old, new)
    return nbformat.reads(text, as_version=4)


def update(work: Path) -> list[Path]:
    """Execute both notebooks on the demo data and write them as the golden copies."""
    from vsm import batch
    from vsm.rules import load_rules

    work = work.resolve()
    results, structure = demo_results(work)
    out = work / "rapports"
    batch.run_batch(load_rules("medecins-2024"), [PERIOD], [REGION], results, out, workers=1, progress=False,
                    render=False)
    GOLDEN.mkdir(parents=True, exist_ok=True)
    written = []
    for name, relative in NOTEBOOKS.items():
        nb = nbformat.read(out / "medecins-2024" / relative, as_version=4)
        nb.metadata.pop("papermill", None)
        for cell in nb.cells:  # volatile execution metadata
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
        nbformat.write(with_root(nb, str(work), ROOT_MARK), GOLDEN / name)
        written.append(GOLDEN / name)
    return written


def checked_copies(work: Path) -> list[Path]:
    """The golden notebooks, pointed at results freshly computed under ``work``."""
    work = work.resolve()
    demo_results(work)
    copies = []
    for name in NOTEBOOKS:
        nb = nbformat.read(GOLDEN / name, as_version=4)
        target = work / "golden" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(with_root(nb, ROOT_MARK, str(work)), target)
        copies.append(target)
    return copies


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vsm-golden-") as folder:
        for path in update(Path(folder)):
            print(f"Copie de référence écrite : {path.relative_to(REPO)}")
    shutil.rmtree(REPO / "tests" / "golden" / ".ipynb_checkpoints", ignore_errors=True)
