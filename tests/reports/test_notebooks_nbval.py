"""The methodology notebook is a regression baseline: nbval re-executes it and compares the
outputs of the cells marked « # NBVAL_CHECK_OUTPUT » (worked examples, boundary
demonstrations) with the outputs committed in the notebook (--nbval-lax: other cells only
have to run without error). Volatile text (sha256, timestamps, absolute paths, durations) is
masked by notebooks/nbval_sanitize.cfg.

nbval runs in a separate pytest process so that the project's plain ``python -m pytest``
(testpaths = ["tests"]) checks the notebook without collecting notebooks itself; the kernel
is the Python running the tests (--nbval-current-env).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = Path("notebooks") / "methodologie.ipynb"
SANITIZE = Path("notebooks") / "nbval_sanitize.cfg"

pytest.importorskip("nbval", reason="nbval n'est pas installé (extra « test » du projet)")


def run_nbval(notebook: Path = NOTEBOOK) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable, "-m", "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-sanitize-with", str(SANITIZE),
            str(notebook),
            "-p", "no:cacheprovider",
            "--color=no",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_notebook_outputs_are_committed():
    """The notebook is committed executed: every code cell has run and the checked cells hold outputs."""
    nb = json.loads((ROOT / NOTEBOOK).read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "le carnet n'a aucune cellule de code"
    assert all(c.get("execution_count") for c in code), "cellules non exécutées : ré-exécuter le carnet"
    checked = [c for c in code if "NBVAL_CHECK_OUTPUT" in "".join(c["source"])]
    assert len(checked) >= 5
    assert all(c["outputs"] for c in checked), "une cellule vérifiée n'a pas de sortie enregistrée"
    assert all("remove-input" in c.get("metadata", {}).get("tags", []) for c in code)
    assert "parameters" in code[0]["metadata"]["tags"]


def test_methodology_notebook_matches_its_committed_outputs():
    result = run_nbval()
    assert result.returncode == 0, (
        f"nbval a échoué sur {NOTEBOOK} (code {result.returncode}) : les sorties recalculées "
        "diffèrent des sorties enregistrées, ou une cellule a levé une erreur.\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def test_sanitize_masks_only_volatile_text():
    """The sanitize file masks sha256, timestamps, absolute paths and durations, never amounts."""
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((ROOT / SANITIZE).read_text(encoding="utf-8"))
    assert len(patterns) >= 4

    def sanitize(text: str) -> str:
        import re

        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    digest = "08c886888db516e8f8b1f666eced490c47d2a6fff3d871421ed07a5f24e32af9"
    assert sanitize(f"Empreinte sha256 : {digest}") == "Empreinte sha256 : SHA256"
    assert sanitize("Exécuté le 2024-07-09T10:00:00+00:00") == "Exécuté le HORODATAGE"
    assert sanitize("fichier : /home/x/projet/params/rules/a.yml") == "fichier : CHEMIN/a.yml"
    assert sanitize("calculé en 0,42 s") == "calculé en DUREE"
    stable = (
        "Fichiers : params/rules/medecins-2024.yml\n"
        "(1\u202f500,00\u00a0€ + 300,00\u00a0€) × 1\u202f000 / 800 = 2\u202f250,00\u00a0€ ; (1 000/800) ; ≥ 1/3 ; "
        "du 1er janvier 2022 au 31 décembre 2023, versement au 2e semestre 2024 ; 1\u202f001 patients MT ; 50,0\u00a0%"
    )
    assert sanitize(stable) == stable


def test_nbval_as_users_type_it():
    """« pytest --nbval-lax notebooks/methodologie.ipynb », without any other flag: no volatile
    text (timestamp, duration) in a checked cell, the default kernel."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", str(NOTEBOOK), "-p", "no:cacheprovider", "--color=no", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"--- stdout ---\n{result.stdout[-5000:]}\n--- stderr ---\n{result.stderr[-2000:]}"
