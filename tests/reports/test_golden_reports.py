"""nbval regression of the reports: the golden regional report (53) and national synthesis
(P1, demo data, fixed seed) in tests/golden/ are executed again and every cell tagged
« nbval-check-output » (every published table, figure and sentence) must give the committed
output. A deliberate change of a published figure or sentence: update the golden copies with
``.venv/bin/python tests/golden_reports.py`` (see the README, « Copies de référence »)."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

import golden_reports as golden

pytest.importorskip("nbval", reason="nbval n'est pas installé (extra « test » du projet)")


def test_golden_notebooks_are_committed_with_checked_outputs():
    for name in golden.NOTEBOOKS:
        nb = nbformat.read(golden.GOLDEN / name, as_version=4)
        checked = [c for c in nb.cells if "nbval-check-output" in c.metadata.get("tags", [])]
        assert len(checked) >= 8, name
        assert all(c.outputs for c in checked), name
        kinds = {k for c in nb.cells for o in c.get("outputs", []) for k in o.get("data", {})}
        assert "text/markdown" in kinds and "image/png" in kinds
        assert not kinds & {"text/html", "application/javascript"}  # nothing Quarto would take for a widget
        text = nbformat.writes(nb)
        assert "/tmp/" not in text and "/work/" not in text  # no machine path: « __RACINE__ »


def test_golden_reports_match_a_fresh_execution(tmp_path):
    copies = golden.checked_copies(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", *map(str, copies),
         "-p", "no:cacheprovider", "--color=no", "-q"],
        cwd=golden.REPO, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, (
        "Un chiffre ou une phrase publiés ont changé par rapport aux copies de référence (tests/golden/). "
        "Si c'est voulu : .venv/bin/python tests/golden_reports.py, puis relire git diff tests/golden/.\n"
        f"--- stdout ---\n{done.stdout[-6000:]}\n--- stderr ---\n{done.stderr[-2000:]}"
    )
