"""Benchmark of the forfait VSM computation at national scale.

Measures, in the same run and on the same Parquet files, each as a separate process
(so start-up, imports and peak memory are counted the same way for all):

- ``vsm compute``: the full command for one period (read, validate, aggregate, compute,
  write results and manifest);
- ``floor``: the bare DuckDB aggregation query alone (distinct DMPs fed, and fed structured,
  per professional, with the rule set's filters), the least any DuckDB-based tool has to do;
- ``pandas``: the baseline a user might write: pandas reads the Parquet, filters,
  ``groupby(...).nunique()``;
- and, when asked (``--reports``), one regional report end to end and the whole batch;
- and, when asked (``--sweep``), ``vsm simulate`` with a sweep of 20 values of the first
  tier's threshold (``tiers.levels.0.min_share=0.41:0.60:0.01``, P1) beside ``vsm compute``
  P1, interleaved in the same run, with the ratio repetition by repetition (target ≤ 3).
  ``--sweep-only`` measures these two alone.

Each measure is repeated (``--repeat``, median reported); peak memory is the child's
maximum resident set size (``wait4``). Prints a table with the ratios and writes a JSON.

    python benchmarks/bench.py                 # generates data/national if missing
    python benchmarks/bench.py --repeat 5 --json benchmarks/out/bench.json
    python benchmarks/bench.py --commands      # the three commands, for another timing tool
    python benchmarks/bench.py --releves 500   # `vsm releve` for 500 statements against one per command
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
VSM = str(Path(PYTHON).with_name("vsm"))

# The floor computes what the forfait needs per professional — distinct DMPs fed and distinct
# DMPs fed structured in the period — with the rule set's filters, in the fastest way we found
# to write it (a two-level GROUP BY beats count(DISTINCT ...) twice), and nothing else: no
# validation, no account of the rows left out, no patientèle, no amounts, no files written.
FLOOR = r"""
import sys, duckdb
files, where, structured = sys.argv[1:4]
con = duckdb.connect()
rows = con.execute(f'''
    SELECT ps_id, count(*) AS dmp_vsm, count(*) FILTER (WHERE structured) AS dmp_vsm_structured
    FROM (SELECT ps_id, dmp_id, bool_or({structured}) AS structured
          FROM read_parquet('{files}/**/*.parquet') WHERE {where} GROUP BY ps_id, dmp_id)
    GROUP BY ps_id
''').fetchall()
print(len(rows))
"""


def floor_filters(rules_id: str, period: str) -> tuple[str, str]:
    """The rule set's filters as SQL, for the floor query."""
    sys.path.insert(0, str(ROOT))
    from vsm.rules import load_rules  # noqa: PLC0415

    rules = load_rules(rules_id)
    ind, p = rules.indicator, rules.period(period)

    def in_list(values: list[str]) -> str:
        return ", ".join("'" + v.replace("'", "''") + "'" for v in values)

    where = (
        f"status IN ({in_list(ind.counted_statuses.value)}) AND type_code IN ({in_list(ind.type_codes.value)}) "
        f"AND action IN ({in_list(ind.counted_actions.value)}) "
        f"AND event_date BETWEEN DATE '{p.start.isoformat()}' AND DATE '{p.end.isoformat()}'"
    )
    structured = f"coalesce(format_code IN ({in_list(ind.structured_format_codes.value)}), false)"
    return where, structured


PANDAS = r"""
import sys, pandas as pd
files = sys.argv[1]
df = pd.read_parquet(files, columns=["ps_id", "dmp_id", "event_date", "type_code", "status", "action"])
df = df[(df["status"] == "success") & (df["type_code"] == "SYNTH") & df["action"].isin(["creation", "update"])]
d = pd.to_datetime(df["event_date"])
df = df[(d >= "2022-01-01") & (d <= "2023-12-31")]
counts = df.groupby("ps_id")["dmp_id"].nunique()
print(len(counts))
"""


# the sweep measured: 20 values of the first tier's threshold, 41 % to 60 % (exact steps of 1 point)
SWEEP = "tiers.levels.0.min_share=0.41:0.60:0.01"


def measure_rss(cmd: list[str], cwd: Path = ROOT) -> tuple[float, float, str]:
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out_file, stderr=err_file, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    if proc.returncode != 0:
        raise SystemExit(f"échec de {' '.join(cmd)} :\n{err[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out


def series(name: str, cmd: list[str], repeat: int, cwd: Path = ROOT) -> dict:
    walls, rss = [], []
    for i in range(repeat):
        wall, peak, _ = measure_rss(cmd, cwd)
        walls.append(wall)
        rss.append(peak)
        print(f"  {name} #{i + 1}: {wall:.2f} s, {peak:.0f} Mio", file=sys.stderr, flush=True)
    return {
        "command": cmd,
        "runs_s": [round(w, 3) for w in walls],
        "median_s": round(statistics.median(walls), 3),
        "min_s": round(min(walls), 3),
        "peak_rss_mib": round(max(rss), 1),
    }


def write_commands(feeds: Path, patientele: Path, folder: Path) -> None:
    """The three commands of the comparison, one line each in ``commandes.sh`` (the floor and
    the pandas baseline as scripts beside it), to be timed with another tool."""
    import shlex

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "requete_seule.py").write_text(FLOOR.lstrip(), encoding="utf-8")
    (folder / "pandas_seul.py").write_text(PANDAS.lstrip(), encoding="utf-8")
    where, structured = floor_filters("medecins-2024", "P1")
    commands = [
        shlex.join([VSM, "compute", "--rules", "medecins-2024", "--period", "P1", "--feeds", str(feeds),
                    "--patientele", str(patientele), "--out", str(Path(tempfile.gettempdir()) / "vsm-p1.parquet")]),
        shlex.join([PYTHON, str(folder / "requete_seule.py"), str(feeds), where, structured]),
        shlex.join([PYTHON, str(folder / "pandas_seul.py"), str(feeds)]),
    ]
    text = (
        "# Les trois commandes comparées par benchmarks/bench.py (vsm compute, la requête seule, pandas),\n"
        "# une par ligne, à chronométrer avec un autre outil, par exemple :\n"
        "#   hyperfine -w 1 -r 5 \"$(sed -n 5p commandes.sh)\" \"$(sed -n 6p commandes.sh)\"\n"
        "#   /usr/bin/time -v sh -c \"$(sed -n 7p commandes.sh)\"\n"
        + "\n".join(commands) + "\n"
    )
    (folder / "commandes.sh").write_text(text, encoding="utf-8")
    print(f"Commandes écrites dans {folder / 'commandes.sh'}")


def measure_cpu(cmd: list[str], cwd: Path = ROOT, ok_codes: tuple[int, ...] = (0,)) -> dict:
    """Wall time, CPU time (user + system, the process and the children it waited for:
    kernel, rendering workers) and peak memory of one command."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out_file, stderr=err_file, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        err_file.seek(0)
        if code not in ok_codes:
            raise SystemExit(f"échec de {' '.join(cmd)} :\n{err_file.read()[-3000:]}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def bench_releves(count: int, sample: int, json_path: Path) -> None:
    """``vsm releve`` for ``count`` professionals of the demo results in one command (one
    kernel, rendering on every core), against the naive design measured in the same run: one
    command — one kernel, one rendering — per statement, on ``sample`` professionals,
    extrapolated to ``count``."""
    import pandas as pd  # noqa: PLC0415

    demo = ROOT / "data" / "demo"
    if not (demo / "feeds").is_dir():
        subprocess.run([VSM, "synth", "--scale", "demo", "--seed", "2024", "--out", str(demo)], check=True, stdout=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="vsm-bench-releves-"))
    try:
        results = work / "resultats"
        subprocess.run([VSM, "run", "--rules", "medecins-2024", "--feeds", str(demo / "feeds"), "--patientele",
                        str(demo / "patientele.parquet"), "--out", str(results)], check=True, stdout=subprocess.DEVNULL)
        ids = sorted(pd.read_parquet(results / "P2" / "resultats.parquet", columns=["ps_id"])["ps_id"].astype(str))
        step = max(1, len(ids) // count)
        chosen = ids[::step][:count]  # spread over the identifiers: every kind of statement
        (work / "ids.csv").write_text("ps_id\n" + "\n".join(chosen) + "\n", encoding="utf-8")
        load_before = os.getloadavg()
        naive = []
        for i, ps_id in enumerate(chosen[:sample]):
            one = measure_cpu([VSM, "releve", "--ps-id", ps_id, "--results", str(results), "--out", str(work / "un")])
            naive.append(one)
            print(f"  un relevé par commande #{i + 1} : {one['wall_s']:.1f} s (CPU {one['cpu_s']:.1f} s)", file=sys.stderr, flush=True)
        batched = measure_cpu([VSM, "releve", "--liste", str(work / "ids.csv"), "--results", str(results), "--out", str(work / "lot")])
        print(f"  {count} relevés en une commande : {batched['wall_s']:.1f} s (CPU {batched['cpu_s']:.1f} s)", file=sys.stderr)
        load_after = os.getloadavg()
        written = len(list((work / "lot").glob("*.pdf")))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    naive_wall = statistics.median(r["wall_s"] for r in naive)
    naive_cpu = statistics.median(r["cpu_s"] for r in naive)
    report = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1_5_15_before": [round(x, 2) for x in load_before],
                    "load_average_1_5_15_after": [round(x, 2) for x in load_after]},
        "statements": count,
        "written": written,
        "batched": batched,
        "naive_per_statement": {"runs": naive, "median_wall_s": naive_wall, "median_cpu_s": naive_cpu},
        "naive_extrapolated_wall_s": round(naive_wall * count, 1),
        "ratio_naive_over_batched_wall": round(naive_wall * count / batched["wall_s"], 2),
        "batched_wall_per_statement_s": round(batched["wall_s"] / count, 3),
        "batched_cpu_per_statement_s": round(batched["cpu_s"] / count, 3),
        "target_wall_s": 60,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"\nRelevés individuels (données de démonstration, {os.cpu_count()} cœurs, charge moyenne sur 1 min "
          f"{load_before[0]:.1f} avant, {load_after[0]:.1f} après) :")
    print(f"{count} relevés en une commande     : {batched['wall_s']:.1f} s, CPU {batched['cpu_s']:.1f} s, "
          f"{batched['peak_rss_mib']:.0f} Mio ({written} PDF) — cible ≤ 60 s")
    print(f"un relevé par commande (naïf)  : {naive_wall:.1f} s (médiane de {len(naive)}), soit {naive_wall * count:.0f} s pour {count}")
    print(f"naïf ÷ par lot                 : {naive_wall * count / batched['wall_s']:.1f}")
    print(f"par relevé, par lot            : {batched['wall_s'] / count:.3f} s, CPU {batched['cpu_s'] / count:.3f} s")
    print(f"Chiffres écrits dans {json_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Banc d'essai du calcul du forfait VSM à l'échelle nationale.")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "national", help="dossier des extractions nationales")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeat", type=int, default=3, help="répétitions de chaque mesure (médiane)")
    parser.add_argument("--reports", action="store_true", help="mesurer aussi un rapport régional et le lot complet")
    parser.add_argument("--sweep", action="store_true", help="mesurer aussi un balayage de 20 valeurs (vsm simulate --sweep)")
    parser.add_argument("--sweep-only", action="store_true", help="ne mesurer que vsm compute et le balayage de 20 valeurs")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "bench.json")
    parser.add_argument(
        "--commands", action="store_true",
        help="écrire les trois commandes mesurées, autonomes, dans benchmarks/out/commandes.sh (pour les chronométrer "
        "avec un autre outil, hyperfine ou /usr/bin/time) et s'arrêter",
    )
    parser.add_argument(
        "--releves", type=int, default=0, metavar="N",
        help="mesurer plutôt « vsm releve » : N relevés en une commande contre un relevé par commande "
        "(données de démonstration) et s'arrêter",
    )
    parser.add_argument("--naifs", type=int, default=5, help="avec --releves : relevés mesurés un par commande (médiane)")
    args = parser.parse_args()
    if args.releves:
        json_path = args.json if args.json != ROOT / "benchmarks" / "out" / "bench.json" else ROOT / "benchmarks" / "out" / "releves.json"
        bench_releves(args.releves, args.naifs, json_path)
        return

    feeds, patientele = args.data / "feeds", args.data / "patientele.parquet"
    if not (feeds.is_dir() and patientele.is_file()):
        print(f"Génération des données nationales dans {args.data}…", file=sys.stderr)
        subprocess.run([VSM, "synth", "--scale", "national", "--seed", str(args.seed), "--out", str(args.data)], check=True)

    import duckdb  # noqa: PLC0415 — only for the row count of the data measured

    con = duckdb.connect()
    trace_rows = con.execute(f"SELECT count(*) FROM read_parquet('{feeds}/**/*.parquet')").fetchall()[0][0]
    professionals = con.execute(f"SELECT count(DISTINCT ps_id) FROM read_parquet('{patientele}')").fetchall()[0][0]
    con.close()

    if args.commands:
        write_commands(feeds, patientele, ROOT / "benchmarks" / "out")
        return

    work = Path(tempfile.mkdtemp(prefix="vsm-bench-"))
    results: dict[str, dict] = {}
    try:
        plan = [
            ("vsm compute", [VSM, "compute", "--rules", "medecins-2024", "--period", "P1", "--feeds", str(feeds),
                             "--patientele", str(patientele), "--out", str(work / "p1.parquet")]),
            ("floor", [PYTHON, "-c", FLOOR, str(feeds), *floor_filters("medecins-2024", "P1")]),
            ("pandas", [PYTHON, "-c", PANDAS, str(feeds)]),
        ]
        if args.sweep_only:
            plan = plan[:1]
        if args.sweep or args.sweep_only:
            plan.append(("balayage 20 valeurs", [
                VSM, "simulate", "--rules", "medecins-2024", "--period", "P1", "--sweep", SWEEP, "--feeds", str(feeds),
                "--patientele", str(patientele), "--out", str(work / "simulation"),
            ]))
        # interleave the repetitions so that a drift of the machine hits all three alike
        for name, _ in plan:
            results[name] = {"runs_s": [], "rss": []}
        for i in range(args.repeat):
            for name, cmd in plan:
                wall, peak, _ = measure_rss(cmd)
                results[name]["runs_s"].append(round(wall, 3))
                results[name]["rss"].append(peak)
                results[name]["command"] = cmd
                print(f"  {name} #{i + 1} : {wall:.2f} s, {peak:.0f} Mio", file=sys.stderr, flush=True)
        for name in results:
            runs = results[name]["runs_s"]
            rss = results[name].pop("rss")
            results[name].update(
                median_s=round(statistics.median(runs), 3), min_s=min(runs), peak_rss_mib=round(max(rss), 1)
            )
        if args.reports:
            # results computed once (as the batch does), then the reports read them
            computed = work / "resultats"
            subprocess.run(
                [VSM, "run", "--rules", "medecins-2024", "--feeds", str(feeds), "--patientele", str(patientele),
                 "--out", str(computed)],
                check=True, stdout=subprocess.DEVNULL,
            )
            common = ["--rules", "medecins-2024", "--feeds", str(feeds), "--patientele", str(patientele),
                      "--results", str(computed), "--no-progress"]
            results["rapport régional"] = series(
                "rapport régional",
                [VSM, "reports", *common, "--periods", "P1", "--regions", "02", "--out", str(work / "un")],
                args.repeat,
            )
            results["lot complet"] = series(
                "lot complet", [VSM, "reports", *common, "--out", str(work / "lot")], 1
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    sweep_ratio = None
    if "balayage 20 valeurs" in results:
        sweep_runs = [s / c for s, c in zip(results["balayage 20 valeurs"]["runs_s"], results["vsm compute"]["runs_s"])]
        sweep_ratio = {"median": round(statistics.median(sweep_runs), 2), "runs": [round(r, 2) for r in sweep_runs], "max": 3.0}
    if args.sweep_only:
        rows_text, pros_text = (f"{n:,}".replace(",", " ") for n in (trace_rows, professionals))
        print(f"\nDonnées : {rows_text} lignes de traces, {pros_text} professionnels ; {os.cpu_count()} cœurs ; "
              f"{args.repeat} répétitions.")
        for name, r in results.items():
            print(f"{name:<20} médiane {r['median_s']:.2f} s, min {r['min_s']:.2f} s, mémoire max {r['peak_rss_mib']:.0f} Mio")
        print(f"balayage (20 valeurs) / vsm compute : {sweep_ratio['median']:.2f} "
              f"({min(sweep_ratio['runs']):.2f} à {max(sweep_ratio['runs']):.2f}) (cible ≤ 3)")
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"results": results, "sweep_over_compute": sweep_ratio,
                                         "data": {"trace_rows": trace_rows, "professionals": professionals},
                                         "when": time.strftime("%Y-%m-%d %H:%M:%S")}, ensure_ascii=False, indent=2) + "\n",
                             encoding="utf-8")
        return
    full, floor, baseline = (results[k]["median_s"] for k in ("vsm compute", "floor", "pandas"))
    # ratios repetition by repetition (the three commands ran one after the other in each, so a
    # drift of the machine's speed hits both sides of a ratio alike), then their median
    runs = {k: results[k]["runs_s"] for k in ("vsm compute", "floor", "pandas")}
    over_floor = [c / f for c, f in zip(runs["vsm compute"], runs["floor"])]
    pandas_over = [p / c for p, c in zip(runs["pandas"], runs["vsm compute"])]
    ratios = {
        "vsm_compute_over_floor": round(statistics.median(over_floor), 2),
        "pandas_over_vsm_compute": round(statistics.median(pandas_over), 2),
        "vsm_compute_over_floor_runs": [round(r, 2) for r in over_floor],
        "pandas_over_vsm_compute_runs": [round(r, 2) for r in pandas_over],
        "sweep_over_vsm_compute": sweep_ratio,
        "vsm_compute_over_floor_of_medians": round(full / floor, 2),
        "pandas_over_vsm_compute_of_medians": round(baseline / full, 2),
    }
    targets = {
        "vsm_compute_over_floor_max": 1.5,
        "pandas_over_vsm_compute_min": 5.0,
        "peak_rss_mib_max": 2048,
        "sweep_over_vsm_compute_max": 3.0,
        "regional_report_s_max": 10,
        "batch_s_max": 300,
    }
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        },
        "data": {"path": str(args.data), "trace_rows": trace_rows, "professionals": professionals},
        "repeat": args.repeat,
        "results": results,
        "ratios": ratios,
        "targets": targets,
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    print(f"\nDonnées : {trace_rows:,} lignes de traces, {professionals:,} professionnels ; "
          f"{os.cpu_count()} cœurs ; {args.repeat} répétitions (médiane).".replace(",", " "))
    print(f"{'mesure':<18} {'médiane (s)':>12} {'min (s)':>9} {'mémoire max (Mio)':>18}")
    for name, r in results.items():
        print(f"{name:<18} {r['median_s']:>12.2f} {r['min_s']:>9.2f} {r['peak_rss_mib']:>18.0f}")
    print("\nRapports répétition par répétition (médiane ; extrêmes) :")
    print(
        f"vsm compute / requête seule : {ratios['vsm_compute_over_floor']:.2f} "
        f"({min(over_floor):.2f} à {max(over_floor):.2f}) (cible ≤ 1,5)"
    )
    print(
        f"pandas / vsm compute        : {ratios['pandas_over_vsm_compute']:.2f} "
        f"({min(pandas_over):.2f} à {max(pandas_over):.2f}) (cible ≥ 5)"
    )
    if sweep_ratio is not None:
        print(
            f"balayage 20 valeurs / vsm compute : {sweep_ratio['median']:.2f} "
            f"({min(sweep_ratio['runs']):.2f} à {max(sweep_ratio['runs']):.2f}) (cible ≤ 3)"
        )
    if "rapport régional" in results:
        print(f"rapport régional            : {results['rapport régional']['median_s']:.1f} s (cible ≤ 10 s)")
        print(f"lot complet                 : {results['lot complet']['median_s']:.1f} s (cible ≤ 300 s)")
    print(f"Chiffres écrits dans {args.json}")


if __name__ == "__main__":
    main()
