"""`pip install .` (not editable) gives a working tool, run from a folder that is not the checkout.

The wheel is built from the checkout, installed into a fresh virtual environment whose
dependencies come from the test environment (a `.pth` file: no download, nothing else
shared), then the commands a new user types are run from an empty folder elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"VSM_PARAMS", "PYTHONPATH"}}
    # the borrowed dependencies' data files (nbconvert's templates, the kernel spec) sit in the
    # test environment's share/jupyter, which a .pth file does not bring along
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `vsm` executable of a fresh venv holding the wheel built from this checkout."""
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO_DIR)], cwd=root)
    assert built.returncode == 0, built.stderr
    wheels = list(dist.glob("vsm-*.whl"))
    assert len(wheels) == 1, wheels
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "vsm/_project/params/rules/medecins-2024.yml" in names
    assert "vsm/_project/notebooks/rapport_regional.ipynb" in names

    venv = root / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], cwd=root).returncode == 0
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root)
    Path(purelib.stdout.strip(), "_vsm_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = _run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheels[0])], cwd=root)
    assert done.returncode == 0, done.stderr
    where = _run([str(python), "-c", "import vsm, pathlib; print(pathlib.Path(vsm.__file__).parent)"], cwd=root)
    assert str(venv) in where.stdout, "the wheel's vsm must be imported, not the checkout's"
    return venv / "bin" / "vsm"


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ailleurs")


def test_rules_list_from_an_installed_wheel(installed, elsewhere):
    result = _run([str(installed), "rules", "list"], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    for rules_id in ("medecins-2024", "medecins-2023", "centres-sante-2024"):
        assert rules_id in result.stdout


def test_examples_from_an_installed_wheel(installed, elsewhere):
    result = _run([str(installed), "exemples", "--rules", "medecins-2024", "--out", "exemples"], cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert "0 écart" in result.stdout
    assert (elsewhere / "exemples" / "verification.csv").is_file()


def test_synth_then_reports_from_an_installed_wheel(installed, elsewhere):
    synth = _run([str(installed), "synth", "--scale", "demo", "--seed", "2024", "--out", "data/demo"], cwd=elsewhere)
    assert synth.returncode == 0, synth.stderr
    reports = _run(
        [str(installed), "reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02"],
        cwd=elsewhere,
        timeout=900,
    )
    assert reports.returncode == 0, reports.stdout + reports.stderr
    out = elsewhere / "reports" / "medecins-2024"
    index = json.loads((out / "rapports.json").read_text(encoding="utf-8"))
    assert index, "rapports.json lists no report"
    for folder in (out / "P1" / "02", out / "P1" / "national"):
        stem = "rapport" if folder.name == "02" else "synthese"
        for suffix in (".ipynb", ".html", ".pdf"):
            path = folder / f"{stem}{suffix}"
            assert path.is_file() and path.stat().st_size > 0, path
    assert (out / "P1" / "02" / "paiements.csv").is_file()
