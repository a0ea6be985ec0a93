"""Outputs never destroy what vsm did not write (issue 11, classes 2, 3 and the output cases
of class 5): every command that writes refuses a target that is not its own, with a French
message and nothing touched; a failure at any step (disk full, read-only, interrupted)
leaves the previous results and manifest exactly as they were; two runs on one output are
serialised; relative paths mean the caller's folder, whatever the thread; leftovers of an
interrupted run are cleaned; a batch checks every file it lists; results are reused only for
the same whole input set."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import REPO_DIR, executed_without_kernel
from test_aggregate import FEED_COLUMNS, PATIENTELE, TRACES, write_csv
from vsm import batch, outputs, pipeline, store
from vsm.cli import cli
from vsm.errors import VsmError
from vsm.rules import load_rules

VSM = str(Path(sys.executable).with_name("vsm"))
PATIENTELE_COLUMNS = ["ps_id", "ps_kind", "region", "departement", "snapshot_date", "patients_mt", "patients_mt_ald"]


def tree_hash(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every file and folder under ``root`` (hidden ones included) → its SHA-256 (« dir » for
    a folder, the target for a link)."""
    found = {}
    if not root.exists():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = [d for d in dirnames if not any((rel_dir / d).as_posix().startswith(s) or d == s for s in skip)]
        for d in dirnames:
            found[(rel_dir / d).as_posix()] = "dir"
        for name in filenames:
            path = Path(dirpath) / name
            rel = (rel_dir / name).as_posix()
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            else:
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def cli_run(*args, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([VSM, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_french_refusal(outcome, *fragments: str) -> None:
    output = getattr(outcome, "output", "") + getattr(outcome, "stdout", "") + getattr(outcome, "stderr", "")
    code = getattr(outcome, "exit_code", getattr(outcome, "returncode", None))
    assert code in (1, 2), output
    assert "Erreur :" in output and "Traceback" not in output, output
    if getattr(outcome, "exception", None) is not None:
        assert isinstance(outcome.exception, SystemExit), outcome.exception
    for fragment in fragments:
        assert fragment in output, output


@pytest.fixture
def extracts(tmp_path) -> tuple[Path, Path]:
    """Small extracts (the hand-made traces of test_aggregate), a Parquet feeds folder of
    two files and a CSV patientèle, in their own folder."""
    folder = tmp_path / "entrees"
    (folder / "traces").mkdir(parents=True)
    rows = [t[:7] for t in TRACES]
    half = len(rows) // 2
    for i, part in enumerate((rows[:half], rows[half:])):
        table = pa.table({c: [r[j] for r in part] for j, c in enumerate(FEED_COLUMNS)})
        pq.write_table(table, folder / "traces" / f"part-{i}.parquet")
    patientele = write_csv(folder / "patientele.csv", PATIENTELE_COLUMNS, [p[:7] for p in PATIENTELE])
    return folder / "traces", patientele


@pytest.fixture
def previous(extracts, tmp_path) -> Path:
    """A vsm results folder, computed once from the small extracts."""
    out = tmp_path / "resultats"
    pipeline.run(load_rules("medecins-2024"), *extracts, out)
    return out


# --------------------------------------------------------------------------- refused targets


def _targets(tmp_path: Path, extracts: tuple[Path, Path]) -> dict[str, Path]:
    """Places where a folder output must be refused, each prepared in ``tmp_path``."""
    user_file = tmp_path / "userfile.txt"
    user_file.write_text("mes notes\n", encoding="utf-8")
    docs = tmp_path / "documents"
    docs.mkdir()
    (docs / "lettre.odt").write_bytes(b"\x00lettre")
    (docs / "sous-dossier").mkdir()
    (docs / "sous-dossier" / "photo.jpg").write_bytes(b"jpeg")
    return {
        "existing file": user_file,
        "non-empty foreign folder": docs,
        "under a file": user_file / "resultats",
        "cwd": Path("."),
        "parent of cwd": Path(".."),
        "folder containing the inputs": extracts[0].parent,
        "the inputs folder itself": extracts[0],
        "inside the inputs folder": extracts[0] / "sortie",
    }


TARGETS = [
    "existing file", "non-empty foreign folder", "under a file", "cwd", "parent of cwd",
    "folder containing the inputs", "the inputs folder itself", "inside the inputs folder",
]


def _folder_command(name: str, target: Path, extracts: tuple[Path, Path], tmp_path: Path) -> list:
    feeds, patientele = extracts
    return {
        "run": ["run", "--feeds", feeds, "--patientele", patientele, "--out", target],
        "exemples": ["exemples", "--out", target],
        "synth": ["synth", "--scale", "demo", "--out", target],
        "reports --out": ["reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02", "--no-render",
                          "--no-progress", "--feeds", feeds, "--patientele", patientele,
                          "--results", tmp_path / "res-absent", "--out", target],
        "reports --results": ["reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02", "--no-render",
                              "--no-progress", "--feeds", feeds, "--patientele", patientele,
                              "--results", target, "--out", tmp_path / "rapports-absents"],
        "render": ["render", "--reports", target],
    }[name]


@pytest.mark.parametrize("command", ["run", "exemples", "synth", "reports --out", "reports --results", "render"])
@pytest.mark.parametrize("target", TARGETS)
def test_folder_outputs_refuse_what_vsm_did_not_write(command, target, extracts, tmp_path, monkeypatch):
    if command in ("exemples", "synth") and target == "inside the inputs folder":
        pytest.skip("exemples and synth read no input: a new folder anywhere is theirs to write")
    work = tmp_path / "ici"
    work.mkdir()
    (work / "a-moi.txt").write_text("à garder\n", encoding="utf-8")
    monkeypatch.chdir(work)
    path = _targets(tmp_path, extracts)[target]
    before = tree_hash(tmp_path)
    outcome = invoke(*_folder_command(command, path, extracts, tmp_path))
    assert_french_refusal(outcome)
    assert tree_hash(tmp_path) == before  # nothing written, moved or deleted anywhere


def _file_command(name: str, target: Path, extracts: tuple[Path, Path], tmp_path: Path) -> list:
    feeds, patientele = extracts
    counts = tmp_path / "effectifs.csv"
    if not counts.exists():
        write_csv(counts, ["ps_id", "patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured"], [("A", 1000, 10, 6, 2)])
    return {
        "compute --counts": ["compute", "--rules", "medecins-2024", "--period", "P1", "--counts", counts, "--out", target],
        "compute --feeds": ["compute", "--rules", "medecins-2024", "--period", "P1", "--feeds", feeds,
                            "--patientele", patientele, "--out", target],
        "structure synth": ["structure", "synth", "--patientele", patientele, "--out", target],
        "structure compute": ["structure", "compute", "--input", REPO_DIR / "tests" / "absent.csv", "--out", target],
    }[name]


@pytest.mark.parametrize("command", ["compute --counts", "compute --feeds", "structure synth", "structure compute"])
@pytest.mark.parametrize("target", ["existing folder x.csv", "under a file", "foreign file", "an input", "inside an input folder"])
def test_file_outputs_refuse_what_vsm_did_not_write(command, target, extracts, tmp_path, monkeypatch):
    if target == "inside an input folder" and command != "compute --feeds":
        pytest.skip("this command reads no folder")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.csv").mkdir()
    (tmp_path / "x.csv" / "dedans.txt").write_text("à garder", encoding="utf-8")
    (tmp_path / "parent.csv").write_text("un fichier\n", encoding="utf-8")
    (tmp_path / "notes.csv").write_text("nom,prix\ncafé,2\n", encoding="utf-8")
    path = {
        "existing folder x.csv": Path("x.csv"),
        "under a file": Path("parent.csv") / "r.csv",
        "foreign file": Path("notes.csv"),
        "an input": extracts[1] if command != "compute --counts" else tmp_path / "effectifs.csv",
        "inside an input folder": extracts[0] / "r.parquet",
    }[target]
    args = _file_command(command, path, extracts, tmp_path)
    before = tree_hash(tmp_path)
    outcome = invoke(*args)
    assert_french_refusal(outcome)
    assert tree_hash(tmp_path) == before


def test_an_output_of_vsm_is_replaced_and_a_foreign_file_in_it_is_kept(extracts, previous, tmp_path):
    feeds, patientele = extracts
    # its own folder and its own files: replaced
    assert invoke("run", "--feeds", feeds, "--patientele", patientele, "--out", previous).exit_code == 0
    out = tmp_path / "p1.csv"
    for _ in range(2):
        outcome = invoke("compute", "--rules", "medecins-2024", "--period", "P1", "--feeds", feeds,
                         "--patientele", patientele, "--out", out)
        assert outcome.exit_code == 0, outcome.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".p1", "p1"))) == ["p1.csv", "p1.manifest.json"]
    # a user's file put inside a results folder: the folder is not replaced (the file would go)
    (previous / "P1" / "mes-notes.txt").write_text("à garder", encoding="utf-8")
    before = tree_hash(tmp_path)
    outcome = invoke("run", "--feeds", feeds, "--patientele", patientele, "--out", previous)
    assert_french_refusal(outcome, "P1/mes-notes.txt")
    assert tree_hash(tmp_path) == before


# --------------------------------------------------------------------------- failures leave the previous results


def _failing_write(monkeypatch, where: str, code: int = errno.ENOSPC):
    def fail(*_args, **_kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(*{
        "manifest": (store.Manifest, "write", fail),
        "results": ("vsm.store._copy_parquet", fail),
        "swap": (outputs, "swap_in", fail),
    }[where])


@pytest.mark.parametrize("where", ["results", "manifest", "swap"])
def test_a_failure_at_any_step_leaves_the_previous_results_and_manifest(where, extracts, previous, tmp_path, monkeypatch):
    before = tree_hash(tmp_path)
    _failing_write(monkeypatch, where)
    outcome = invoke("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", previous)
    assert_french_refusal(outcome, "plus de place sur le disque", "résultats précédents sont intacts")
    assert tree_hash(tmp_path) == before  # results, manifest, and no leftover beside them


def test_compute_failing_on_its_manifest_leaves_the_previous_file(extracts, tmp_path, monkeypatch):
    feeds, patientele = extracts
    out = tmp_path / "p1.parquet"
    args = ("compute", "--rules", "medecins-2024", "--period", "P1", "--feeds", feeds, "--patientele", patientele, "--out", out)
    assert invoke(*args).exit_code == 0
    before = tree_hash(tmp_path)
    real = Path.write_text

    def full(self, *a, **k):
        if self.name.startswith(".p1.manifest.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    assert_french_refusal(invoke(*args), "plus de place sur le disque")
    assert tree_hash(tmp_path) == before


@contextlib.contextmanager
def tmpfs(folder: Path, size: str):
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount tmpfs impossible ici ({done.stderr.strip() or done.returncode}) : test du disque plein non exécuté")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _fill(folder: Path, leave: int) -> None:
    """Fill the file system of ``folder`` until ``leave`` bytes are free."""
    free = shutil.disk_usage(folder).free
    with open(folder / "remplissage", "wb") as handle:
        with contextlib.suppress(OSError):
            handle.write(b"\0" * max(free - leave, 0))


def test_full_disk_at_every_step_leaves_the_previous_results(extracts, tmp_path):
    """On a small tmpfs, with less and less room left: each run either succeeds completely
    or fails with a French message leaving the previous results and manifest byte for byte
    (the space runs out while writing the results, their CSV copy, the manifest…)."""
    disk = tmp_path / "disque"
    with tmpfs(disk, "2m"):
        out = disk / "resultats"
        first = cli_run("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", out)
        assert first.returncode == 0, first.stderr
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        outcomes = set()
        for leave in range(0, size + 16 * 4096, 4096):
            (disk / "remplissage").unlink(missing_ok=True)
            _fill(disk, leave)
            before = tree_hash(disk, skip=("remplissage",))
            del before["remplissage"]
            done = cli_run("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", out)
            after = tree_hash(disk)
            del after["remplissage"]
            if done.returncode == 0:
                outcomes.add("ok")
                assert set(after) == set(before)  # replaced, nothing left beside
            else:
                outcomes.add("full")
                assert_french_refusal(done, "plus de place sur le disque", "résultats précédents sont intacts")
                assert after == before
        assert outcomes == {"ok", "full"}  # both cases were met


def test_read_only_folder_leaves_the_previous_results(extracts, tmp_path):
    """Root ignores permission bits: the folder is a tmpfs remounted read-only."""
    disk = tmp_path / "disque"
    with tmpfs(disk, "4m"):
        out = disk / "resultats"
        assert cli_run("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", out).returncode == 0
        done = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"remontage en lecture seule impossible ({done.stderr.strip()})")
        before = tree_hash(disk)
        for args in (
            ("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", out),
            ("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", disk / "nouveau"),
            ("compute", "--rules", "medecins-2024", "--period", "P1", "--feeds", extracts[0], "--patientele", extracts[1],
             "--out", disk / "p1.csv"),
            ("exemples", "--out", disk / "exemples"),
        ):
            failed = cli_run(*args)
            assert_french_refusal(failed, "lecture seule")
            assert tree_hash(disk) == before


# --------------------------------------------------------------------------- two runs, interruptions, leftovers


@contextlib.contextmanager
def held_elsewhere(path: Path):
    """The output lock of ``path``, held by another process while the block runs."""
    code = (
        "import sys, time\nfrom vsm import outputs\n"
        "with outputs.output_lock(sys.argv[1]):\n    print('pris', flush=True)\n    time.sleep(120)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "pris"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_two_runs_on_the_same_output_are_serialised(extracts, previous, tmp_path):
    before = tree_hash(previous)
    with held_elsewhere(previous):  # another execution holds the output
        outcome = invoke("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", previous)
        assert_french_refusal(outcome, "Une autre exécution écrit déjà dans")
        outcome = invoke("reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02", "--no-render",
                         "--no-progress", "--results", previous, "--out", tmp_path / "rapports")
        assert_french_refusal(outcome, "Une autre exécution écrit déjà dans")
    assert tree_hash(previous) == before
    assert invoke("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", previous).exit_code == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".resultats")]  # the killed holder's lock file is gone too


def test_two_real_runs_at_once_on_the_demo_data(tmp_path):
    """Two processes on one --out: one succeeds, the other stops with the French message (or
    runs after the first): never a traceback, and the results are complete."""
    feeds, patientele = pipeline.ensure_demo_data(REPO_DIR / "data" / "demo")
    out = tmp_path / "resultats"
    args = [VSM, "run", "--feeds", str(feeds), "--patientele", str(patientele), "--out", str(out)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    done = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in done)
    assert codes[0] == 0
    for code, _stdout, stderr in done:
        assert "Traceback" not in stderr, stderr
        if code:
            assert code == 2 and "Une autre exécution écrit déjà dans" in stderr, stderr
    assert store.is_results_folder(out)


def test_sigkill_mid_write_then_rerun_cleans_leftovers_and_gives_the_same_results(tmp_path):
    feeds, patientele = pipeline.ensure_demo_data(REPO_DIR / "data" / "demo")
    out = tmp_path / "resultats"
    args = [VSM, "run", "--feeds", str(feeds), "--patientele", str(patientele), "--out", str(out)]
    assert subprocess.run(args, capture_output=True, timeout=600).returncode == 0
    reference = tree_hash(out)
    results = {k: v for k, v in reference.items() if k != "manifest.json"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    staged = []
    while time.monotonic() < deadline and proc.poll() is None:  # kill it while it writes its staging folder
        staged = [p for p in tmp_path.iterdir() if outputs.STAGING_TAG in p.name and any(p.rglob("*"))]
        if staged:
            break
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert staged, "the run finished before it could be interrupted"
    assert tree_hash(out) == reference  # the previous results, untouched by the killed run
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "resultats"]
    assert leftovers  # the staging folder (and the lock file) stayed behind
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["resultats"]  # leftovers cleaned
    again = tree_hash(out)
    assert {k: v for k, v in again.items() if k != "manifest.json"} == results


def test_leftovers_are_cleaned_only_when_vsm_recognises_them(extracts, previous, tmp_path):
    staging = tmp_path / f".resultats{outputs.STAGING_TAG}123-abcdef01"
    (staging / "P1").mkdir(parents=True)
    (staging / "P1" / "resultats.parquet").write_bytes(b"partial")
    legacy = tmp_path / ".resultats.k3j9x_2a"  # mkdtemp folder of an earlier version
    (legacy / "P1").mkdir(parents=True)
    (legacy / "P1" / "resultats.csv").write_text("ps_id\n", encoding="utf-8")
    tmp_file = previous / "P1" / ".resultats.csv.Ab3dE9xz.tmp"
    tmp_file.write_text("partial", encoding="utf-8")
    foreign = [tmp_path / ".resultats.notes", tmp_path / ".resultats.mes_docs"]
    foreign[0].write_text("à moi", encoding="utf-8")
    (foreign[1] / "x").mkdir(parents=True)  # same name shape as a legacy folder, but not results
    (foreign[1] / "x" / "lettre.txt").write_text("à moi", encoding="utf-8")
    outcome = invoke("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", previous)
    assert outcome.exit_code == 0, outcome.output
    assert not staging.exists() and not legacy.exists() and not tmp_file.exists()
    assert all(p.exists() for p in foreign)


def test_interrupted_swap_is_put_back(extracts, previous, tmp_path):
    """Interrupted between the two renames of a swap (where the atomic exchange is not
    available): the previous results wait under a hidden name; the next run puts them back
    before deciding anything."""
    old = tmp_path / f".resultats{outputs.OLD_TAG}99-0000aaaa"
    os.rename(previous, old)
    outputs.clean_leftovers(previous)
    assert store.is_results_folder(previous) and not old.exists()


def test_swap_without_the_atomic_exchange(extracts, previous, tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    before = tree_hash(previous)
    assert invoke("run", "--feeds", extracts[0], "--patientele", extracts[1], "--out", previous).exit_code == 0
    after = tree_hash(previous)
    assert {k for k in after} == {k for k in before}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --------------------------------------------------------------------------- the reports batch


def test_batch_reports_success_only_when_every_listed_file_exists(previous, tmp_path, monkeypatch):
    """A notebook reported ok whose file is absent (or empty), a payment list that vanished:
    the batch says which and exits with 1."""

    def fake_execute(job):
        if job.region != "53":
            job.output.parent.mkdir(parents=True, exist_ok=True)
            job.output.write_text("{}" if job.region != "national" else "", encoding="utf-8")
        return batch.JobResult(job, None, 0.0)

    monkeypatch.setattr(batch, "execute", fake_execute)
    out = tmp_path / "rapports"
    outcome = invoke("reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02,53", "--results", previous,
                     "--out", out, "--no-progress", "--no-render")
    assert outcome.exit_code == 1, outcome.output
    assert "P1/53/rapport.ipynb" in outcome.output and "n'existe pas" in outcome.output
    assert "P1/national/synthese.ipynb" in outcome.output and "vide" in outcome.output
    assert "2 fichier(s) listé(s) mais absent(s)" in outcome.output
    index = json.loads((out / "medecins-2024" / "rapports.json").read_text(encoding="utf-8"))
    assert batch.check_listed_files(out / "medecins-2024" / "rapports.json")
    assert {n["region"] for n in index["notebooks"]} == {"02", "53", "national"}


def test_a_notebook_that_papermill_did_not_write_is_a_failure(previous, tmp_path, monkeypatch):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **k: None)
    rules = load_rules("medecins-2024")
    job = batch.plan(rules, ["P1"], ["53"], previous, tmp_path / "rapports", pipeline_manifest(previous))[0]
    result = batch.execute(job)
    assert not result.ok and "introuvable" in result.error


def pipeline_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_papermill_never_changes_the_working_directory(previous, tmp_path, monkeypatch):
    """While a notebook runs, another thread still sees the caller's working directory."""
    monkeypatch.chdir(tmp_path)
    rules = load_rules("medecins-2024")
    job = batch.plan(rules, ["P1"], [], previous, tmp_path / "rapports", pipeline_manifest(previous))[0]
    seen, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            seen.add(os.getcwd())
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = batch.execute(job)
    finally:
        stop.set()
        watcher.join()
    assert result.ok, result.error
    assert seen == {str(tmp_path)}


def test_reports_folder_of_vsm_is_reused_and_a_foreign_index_is_not_overwritten(previous, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "execute", executed_without_kernel)
    out = tmp_path / "rapports"
    args = ("reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02", "--results", previous,
            "--out", out, "--no-progress", "--no-render")
    for _ in range(2):  # its own folder: written again
        assert invoke(*args).exit_code == 0
    (out / "README.md").write_text("le README du dossier reports/ du projet", encoding="utf-8")
    assert invoke(*args).exit_code == 0
    (out / "index.html").write_text("<html>ma page</html>", encoding="utf-8")
    before = tree_hash(tmp_path)
    assert_french_refusal(invoke(*args), "n'est pas un dossier de rapports de vsm")
    assert tree_hash(tmp_path) == before


# --------------------------------------------------------------------------- stale results (class 3)


def test_results_are_reused_only_for_the_same_whole_input_set(extracts, previous, tmp_path, monkeypatch):
    rules = load_rules("medecins-2024")
    feeds, patientele = extracts
    assert store.staleness(rules, previous) is None
    # a file added to the feeds folder
    extra = feeds / "part-9.parquet"
    pq.write_table(pa.table({c: [v] for c, v in zip(FEED_COLUMNS, ("A", "D77", "2023-02-02", "SYNTH", "x", "success", "creation"))}), extra)
    assert "fichier ajouté" in store.staleness(rules, previous)
    extra.unlink()
    assert store.staleness(rules, previous) is None
    # a file removed from it
    moved = tmp_path / "part-1.parquet"
    shutil.move(feeds / "part-1.parquet", moved)
    assert "fichier retiré" in store.staleness(rules, previous)
    shutil.move(moved, feeds / "part-1.parquet")
    assert store.staleness(rules, previous) is None
    # a file changed, in the feeds or the patientèle
    for path in (feeds / "part-0.parquet", patientele):
        saved = path.read_bytes()
        path.write_bytes(saved + b"\n" if path.suffix == ".csv" else saved[:-1] + b"\0")
        assert "a changé" in store.staleness(rules, previous)
        path.write_bytes(saved)
    assert store.staleness(rules, previous) is None
    # another rule set, another code
    assert "autre jeu de règles" in store.staleness(load_rules("medecins-2023"), previous)
    monkeypatch.setattr(store, "code_sha256", lambda: "0" * 64)
    assert "autre version de vsm" in store.staleness(rules, previous)


def test_reports_recomputes_after_a_file_is_added_to_the_feeds(extracts, tmp_path, monkeypatch):
    """The quoted case: a file added to the feeds folder, then « vsm reports --results … »: the
    results are recomputed (with the new rows), not reused."""

    monkeypatch.setattr(batch, "execute", executed_without_kernel)
    feeds, patientele = extracts
    results = tmp_path / "resultats"
    args = ("reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02", "--feeds", feeds,
            "--patientele", patientele, "--results", results, "--out", tmp_path / "rapports", "--no-progress", "--no-render")
    first = invoke(*args)
    assert first.exit_code == 0 and "Calcul des résultats" in first.output, first.output
    assert "Résultats à jour" in invoke(*args).output
    rows = [("A", f"N{i}", "2023-03-03", "SYNTH", "urn:asip:ci-sis:vsm:2012", "success", "creation") for i in range(50)]
    pq.write_table(pa.table({c: [r[j] for r in rows] for j, c in enumerate(FEED_COLUMNS)}), feeds / "part-2.parquet")
    third = invoke(*args)
    assert third.exit_code == 0 and "Calcul des résultats" in third.output, third.output
    manifest = pipeline_manifest(results)
    assert manifest["inputs"]["feeds"]["rows"] == len(TRACES) + 50


# --------------------------------------------------------------------------- from a foreign working directory


PROJECT_SKIP = (".git", ".venv", ".pytest_cache", ".hypothesis", "__pycache__", "benchmarks/out")


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """A foreign working directory holding a copy of the demo extracts (data/demo)."""
    feeds, patientele = pipeline.ensure_demo_data(REPO_DIR / "data" / "demo")
    pipeline_dir = tmp_path_factory.mktemp("ailleurs")
    shutil.copytree(feeds.parent, pipeline_dir / "data" / "demo", copy_function=shutil.copy2,
                    ignore=shutil.ignore_patterns("structure.parquet"))
    return pipeline_dir


def _changed(before: dict, after: dict) -> set[str]:
    return {k for k in set(before) | set(after) if before.get(k) != after.get(k)}


@pytest.mark.parametrize("render", [False, True], ids=["notebooks", "rendered"])
def test_run_and_reports_from_a_foreign_folder_write_only_under_their_outputs(foreign, render):
    """« vsm run » then « vsm reports --periods P1 --regions 02,53 » (two kernels at once)
    from another folder, with the defaults (./data/resultats, ./reports): the project tree is
    unchanged; in the foreign folder only the outputs changed; every report is there."""
    project_before = tree_hash(REPO_DIR, skip=PROJECT_SKIP)
    before = tree_hash(foreign)
    done = cli_run("run", "--rules", "medecins-2024", cwd=foreign)
    assert done.returncode == 0, done.stderr
    args = ["reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02,53", "--jobs", "2", "--no-progress"]
    done = cli_run(*args, *([] if render else ["--no-render"]), cwd=foreign)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 notebook(s) sur 3" in done.stdout.replace("\u202f", " ")
    assert tree_hash(REPO_DIR, skip=PROJECT_SKIP) == project_before
    changed = _changed(before, tree_hash(foreign))
    allowed = ("data/resultats", "reports", "data/demo/structure.parquet")
    assert changed and all(c.startswith(allowed) for c in changed), sorted(c for c in changed if not c.startswith(allowed))
    base = foreign / "reports" / "medecins-2024"
    index = json.loads((base / "rapports.json").read_text(encoding="utf-8"))
    assert [n["status"] for n in index["notebooks"]] == ["ok"] * 3
    for region in ("02", "53"):
        assert (base / "P1" / region / "rapport.ipynb").stat().st_size > 0
        assert (base / "P1" / region / "paiements.csv").is_file()
        assert not list((base / "P1" / region).glob(".*"))
        if render:
            assert (base / "P1" / region / "rapport.html").stat().st_size > 0
            assert (base / "P1" / region / "rapport.pdf").stat().st_size > 0
    assert batch.check_listed_files(base / "rapports.json") == []
    if render:
        assert (foreign / "reports" / "index.html").is_file()


def test_relative_paths_are_resolved_once_against_the_callers_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = outputs.absolute("a/../b/c")
    assert path == tmp_path / "b" / "c"
    os.chdir("/")
    assert path == tmp_path / "b" / "c"


def test_output_errors_are_french_for_every_kind_of_write_failure(tmp_path):
    for code, words in ((errno.ENOSPC, "plus de place"), (errno.EROFS, "lecture seule"), (errno.EACCES, "non autorisée")):
        assert words in str(outputs.write_error(OSError(code, os.strerror(code)), tmp_path))
    with pytest.raises(VsmError, match="est un dossier"):
        with __import__("vsm.outputs", fromlist=["atomic_path"]).atomic_path(tmp_path):
            pass


def test_synth_cleans_what_an_interrupted_generation_left(tmp_path, monkeypatch):
    """vsm synth's generation folder beside its output and its set-aside feeds/ inside it,
    after a kill: cleaned (feeds/ put back when it is missing); foreign names kept."""
    out = tmp_path / "demo"
    (out / ".feeds.old-0123abcd").mkdir(parents=True)
    (out / ".feeds.old-0123abcd" / "part-00000.parquet").write_bytes(b"ancien")
    generation = tmp_path / ".demo.synth-4242-89abcdef"
    (generation / "feeds").mkdir(parents=True)
    (tmp_path / ".demo.synth-notes").write_text("à moi", encoding="utf-8")
    removed = outputs.clean_leftovers(out)
    assert not generation.exists() and (out / "feeds" / "part-00000.parquet").read_bytes() == b"ancien"
    assert (tmp_path / ".demo.synth-notes").exists() and len(removed) == 2


def test_render_accepts_a_folder_of_report_files_only(tmp_path):
    folder = tmp_path / "rapports" / "medecins-2024" / "P1" / "53"
    folder.mkdir(parents=True)
    (folder / "rapport.ipynb").write_text("{}", encoding="utf-8")
    (folder / ".rapport.html.AbCdEfGh.tmp").write_text("", encoding="utf-8")
    assert batch.is_reports_folder(tmp_path / "rapports")
    (folder / "mon-fichier.docx").write_bytes(b"x")
    assert not batch.is_reports_folder(tmp_path / "rapports")
    outcome = invoke("render", "--reports", tmp_path / "rapports")
    assert_french_refusal(outcome, "n'est pas un dossier de rapports de vsm")
    assert (folder / ".rapport.html.AbCdEfGh.tmp").exists()  # refused: nothing touched, not even leftovers


def test_reports_batch_cleans_what_an_interrupted_batch_left(previous, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "execute", executed_without_kernel)
    out = tmp_path / "rapports"
    region = out / "medecins-2024" / "P1" / "02"
    region.mkdir(parents=True)
    leftovers = [region / ".rapport.partiel.ipynb", region / ".paiements.csv.k2Jd8sQ1.tmp", out / ".index.html.Zx81kLmq.tmp"]
    for path in leftovers:
        path.write_text("partiel", encoding="utf-8")
    outcome = invoke("reports", "--rules", "medecins-2024", "--periods", "P1", "--regions", "02", "--results", previous,
                     "--out", out, "--no-progress", "--no-render")
    assert outcome.exit_code == 0, outcome.output
    assert not any(p.exists() for p in leftovers)
