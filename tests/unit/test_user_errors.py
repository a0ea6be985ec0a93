"""Issue 11, classes 1 and 5: rule files read strictly, and no traceback for anything a user
can cause — a French message naming what to fix, exit code 1 or 2 (130 when interrupted),
the traceback only with ``vsm --debug``."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO_DIR, refused
from vsm.cli import cli
from vsm.paths import MAX_YAML_NODES, load_yaml
from vsm.rules import load_rules
from vsm.structure import load_structure_rules

RULES_FILE = REPO_DIR / "params" / "rules" / "medecins-2024.yml"
STRUCTURE_FILE = REPO_DIR / "params" / "rules" / "structure" / "forfait-structure-2023.yml"
VSM = str(Path(sys.executable).with_name("vsm"))
COUNTS = "ps_id,patients_mt,patients_mt_ald,dmp_vsm,dmp_vsm_structured\nA,1000,300,200,80\nB,800,100,60,10\n"


def variant(tmp_path: Path, old: str, new: str, source: Path = RULES_FILE, name: str = "variante.yml") -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path



# ----------------------------------------------------------------------------- YAML read strictly


@pytest.mark.parametrize(
    "old, new, fragments",
    [
        ("id: medecins-2024", "id: medecins-2024\nid: autre", ["clé « id » en double", "ligne"]),
        ('      amount_eur: "1500.00"', '      amount_eur: "1500.00"\n      amount_eur: "1600.00"', ["clé « amount_eur » en double"]),
        ("start: 2022-01-01", "start: 2022-02-30", ["date impossible « 2022-02-30 »", "ligne"]),
        ("start: 2022-01-01", "start: 2022-13-01", ["date impossible"]),
        ('min_share: "1/2"', "min_share: .nan", ["min_share", "« nan » n'est pas un nombre fini"]),
        ('min_share: "1/2"', "min_share: .inf", ["min_share", "n'est pas un nombre fini"]),
        ('    value: "1/5"', "    value: 1e300", ["majoration → rate", "déraisonnable"]),
        ('    value: "1/5"', '    value: "9999999999999999999999999999999999999999999999999/3"', ["majoration → rate", "n'est pas une part lisible"]),
        ('amount_eur: "3000.00"', 'amount_eur: "1e400"', ["amount_eur", "déraisonnable"]),
        ('amount_eur: "3000.00"', 'amount_eur: .nan', ["amount_eur", "n'est pas un montant"]),
    ],
)
def test_a_broken_rules_file_is_explained_in_french(tmp_path, old, new, fragments):
    path = variant(tmp_path, old, new)
    refused(lambda: load_rules(path), str(path), *fragments)
    result = CliRunner().invoke(cli, ["compute", "--rules", str(path), "--period", "P1", "--counts", "c.csv", "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not (tmp_path / "o.csv").exists()


def test_a_weight_that_could_overflow_the_results_money_type_is_refused_at_load(tmp_path):
    path = variant(tmp_path, "reference_patients:\n    value: 800", "reference_patients:\n    value: 1")
    path = variant(tmp_path, 'amount_eur: "3000.00"', 'amount_eur: "900000.00"', source=path, name="v2.yml")
    refused(lambda: load_rules(path), "au-delà de ce que les résultats", "10 000 000 patients")
    # the same amounts with the usual weighting fit: accepted
    load_rules(variant(tmp_path, 'amount_eur: "3000.00"', 'amount_eur: "900000.00"', name="v3.yml"))


def test_duplicate_keys_are_refused_in_the_structure_rules_too(tmp_path):
    text = STRUCTURE_FILE.read_text(encoding="utf-8")
    first = text.splitlines()[0] if ":" in text.splitlines()[0] else next(line for line in text.splitlines() if line and not line.startswith("#"))
    path = tmp_path / "s.yml"
    path.write_text(text.replace(first, first + "\n" + first, 1), encoding="utf-8")
    refused(lambda: load_structure_rules(path), "en double")


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_fails_fast_with_a_french_message(tmp_path):
    path = tmp_path / "bomb.yml"
    path.write_text(alias_bomb(), encoding="utf-8")
    started = time.perf_counter()
    refused(lambda: load_rules(path), "alias", str(MAX_YAML_NODES))
    assert time.perf_counter() - started < 5
    # a structure rule set goes through the same reader
    refused(lambda: load_structure_rules(path), "alias")


def test_aliases_within_the_bound_are_still_read():
    assert load_yaml("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}
    assert load_yaml("k: &x {a: 1}\nm:\n  <<: *x\n  b: 2\n") == {"k": {"a": 1}, "m": {"a": 1, "b": 2}}


def test_a_huge_rules_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "huge.yml"
    path.write_text("# " + "x" * (2 << 20) + "\nid: x\n", encoding="utf-8")
    refused(lambda: load_rules(path), "trop gros")


@pytest.mark.parametrize("payload", [b"id: m\xe9decins\n", b"\xff\xfei\x00d\x00", "label: é\n".encode("cp1252") + b"\x9c"])
def test_a_rules_file_that_is_not_utf8_is_refused_in_french(tmp_path, payload):
    path = tmp_path / "latin.yml"
    path.write_bytes(payload)
    refused(lambda: load_rules(path), "encodage non UTF-8")
    refused(lambda: load_structure_rules(path), "encodage non UTF-8")


def test_every_shipped_yaml_file_still_loads():
    from vsm.paths import params_dir, read_yaml_file

    for path in sorted(params_dir().rglob("*.yml")):
        read_yaml_file(path)


# ----------------------------------------------------------------------------- class 5: the CLI


def vsm(*args: str, cwd: Path, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([VSM, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.stderr.startswith(("Erreur", "Interrompu")), done.stderr


def test_paid_amount_beyond_the_money_type_is_a_french_error(tmp_path):
    (tmp_path / "c.csv").write_text(COUNTS, encoding="utf-8")
    for amount in ("99999999999999999999.00", "1e30", "1000000000000.00", "NaN", "Infinity", "9" * 5000):
        (tmp_path / "paid.csv").write_text(f"ps_id,amount_eur\nA,{amount}\n", encoding="utf-8")
        done = vsm("compute", "--rules", "medecins-2024", "--period", "P2", "--counts", "c.csv", "--paid", "paid.csv",
                   "--out", "o.csv", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        no_traceback(done)
        assert "« amount_eur »" in done.stderr and "ligne 2" in done.stderr
        assert not (tmp_path / "o.csv").exists()


def test_a_latin1_byte_after_the_sniffing_sample_is_a_french_error(tmp_path):
    rows = [f"P{i},800,100,50,10" for i in range(60_000)]
    data = ("ps_id,patients_mt,patients_mt_ald,dmp_vsm,dmp_vsm_structured\n" + "\n".join(rows) + "\n").encode()
    lines = data.split(b"\n")
    lines[50_001] = b"P\xe9,800,100,50,10"
    (tmp_path / "c.csv").write_bytes(b"\n".join(lines))
    done = vsm("compute", "--rules", "medecins-2024", "--period", "P1", "--counts", "c.csv", "--out", "o.csv", cwd=tmp_path)
    assert done.returncode == 2
    no_traceback(done)
    assert "ligne 50002" in done.stderr and "UTF-8" in done.stderr
    assert not (tmp_path / "o.csv").exists()


def test_an_unexpected_error_is_a_french_message_with_the_debug_advice(tmp_path):
    """The last resort: an exception vsm did not foresee (simulated in a subprocess by
    breaking a function) prints a French message, never a traceback; --debug shows it."""
    (tmp_path / "c.csv").write_text(COUNTS, encoding="utf-8")
    script = (
        "import sys, vsm.forfait\n"
        "def broken(*a, **k):\n    raise ZeroDivisionError('simulated')\n"
        "vsm.forfait.compute = broken\n"
        "from vsm.cli import main\nsys.argv = ['vsm', *sys.argv[1:]]\nmain()\n"
    )
    args = ["compute", "--rules", "medecins-2024", "--period", "P1", "--counts", "c.csv", "--out", "o.csv"]
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    no_traceback(done)
    assert "Erreur inattendue (ZeroDivisionError : simulated)" in done.stderr and "vsm --debug" in done.stderr
    debug = subprocess.run([sys.executable, "-c", script, "--debug", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "ZeroDivisionError" in debug.stderr
    assert not (tmp_path / "o.csv").exists()


def test_an_operating_system_error_is_named_in_french_not_hidden(tmp_path):
    """An OSError reaching the last resort keeps its cause and file (the output checks
    themselves belong to results.py)."""
    (tmp_path / "c.csv").write_text(COUNTS, encoding="utf-8")
    script = (
        "import sys, errno, vsm.ingest.inputs\n"
        "def broken(*a, **k):\n    raise OSError(errno.ENOSPC, 'No space left on device', '/plein/o.csv')\n"
        "vsm.ingest.inputs.read_counts = broken\n"
        "from vsm.cli import main\nsys.argv = ['vsm', *sys.argv[1:]]\nmain()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, "compute", "--rules", "medecins-2024", "--period", "P1",
                           "--counts", "c.csv", "--out", "o.csv"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    no_traceback(done)
    assert "plus de place sur le disque" in done.stderr and "« /plein/o.csv »" in done.stderr


def demo_extracts(tmp_path: Path) -> tuple[Path, Path]:
    """Small synthetic extracts (the demo scale takes seconds to scan)."""
    from test_aggregate import FEED_COLUMNS, PATIENTELE, TRACES, write_csv

    import duckdb

    feeds = write_csv(tmp_path / "t.csv", FEED_COLUMNS, [t[:7] for t in TRACES])
    patientele = write_csv(tmp_path / "p.csv", ["ps_id", "ps_kind", "region", "departement", "snapshot_date", "patients_mt",
                                                "patients_mt_ald"], [p[:7] for p in PATIENTELE])
    big = tmp_path / "feeds.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT t.* REPLACE (CAST(event_date AS DATE) AS event_date, dmp_id || '-' || i AS dmp_id) "
        f"FROM read_csv('{feeds}', all_varchar = true) t, range(400000) r(i)) TO '{big}' (FORMAT parquet)"
    )
    return big, patientele


def wait_for_duckdb(pid: int, timeout: float = 60) -> None:
    """Until DuckDB's library is mapped in the process (vsm's code is running, past the
    interpreter's own start-up, where Python itself prints a traceback on Ctrl-C)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if "duckdb" in Path(f"/proc/{pid}/maps").read_text():
                return
        except OSError:
            return
        time.sleep(0.005)


@pytest.mark.parametrize("delay", [0.0, 0.05, 0.2, 0.5, 1.0])
def test_sigint_during_a_query_says_interrupted_and_leaves_no_output(tmp_path, delay):
    feeds, patientele = demo_extracts(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [VSM, "compute", "--rules", "medecins-2024", "--period", "P1", "--feeds", str(feeds), "--patientele",
         str(patientele), "--out", str(out / "p1.parquet")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_for_duckdb(proc.pid)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the command ended before the signal")
    assert proc.returncode in (1, 130), err
    assert "Traceback" not in err and "Interrompu" in err, err
    assert not out.exists() or not any(out.iterdir())


def test_debug_flag_is_documented_in_the_help():
    result = CliRunner().invoke(cli, ["--help"])
    assert "--debug" in result.output
