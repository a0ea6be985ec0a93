"""Back-test: the demo batch's results, recomputed here from the raw demo extracts with pandas
and Fraction, straight from the methodology note (002) — no vsm function is called for the
computation — agree with what `vsm run` wrote, for every professional, to the cent.

The oracle's figures are the note's own (002, § 2 and § 3), written here on purpose rather
than read from params/: a wrong value in the rule set must make this test fail.
- numerator: distinct DMPs fed by the professional during the period with a successful
  (« success ») creation or update of a VSM (typeCode « SYNTH »), ALD or not;
- structured: those DMPs with at least one such feed in a CI-SIS format (domain facts: VSM
  « urn:asip:ci-sis:vsm:2012 », IPS-FR « urn:ihe:pcc:ips:2020 »); rule set choice « any »;
- denominator and weight: the latest patientèle snapshot on or before the period's end;
  eligible with at least one patient in ALD;
- 1 500 € at ≥ 50 %, 3 000 € at ≥ 90 %, + 20 % of it when ≥ 1/3 of the fed DMPs are
  structured, × patients_mt / 800, rounded once to the cent, half up;
- P1: 2022-01-01 → 2023-12-31; P2: 2022-01-01 → 2024-06-30, complement = max(0, P2 − P1).
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO_DIR

DEMO = REPO_DIR / "data" / "demo"
PERIODS = {"P1": (date(2022, 1, 1), date(2023, 12, 31)), "P2": (date(2022, 1, 1), date(2024, 6, 30))}
STRUCTURED = {"urn:asip:ci-sis:vsm:2012", "urn:ihe:pcc:ips:2020"}


def _cent(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _amount(mt: int, ald: int, fed: int, structured: int) -> Decimal:
    if ald < 1:
        return Decimal("0.00")
    share = Fraction(fed, ald)
    tier = 3000 if share >= Fraction(9, 10) else 1500 if share >= Fraction(1, 2) else 0
    if tier == 0:
        return Decimal("0.00")
    bonus = Fraction(tier, 5) if fed > 0 and Fraction(structured, fed) >= Fraction(1, 3) else 0
    return _cent((tier + bonus) * Fraction(mt, 800))


@pytest.fixture(scope="module")
def demo() -> tuple[Path, Path]:
    """The demo extracts (generated with the fixed seed on first use, as `vsm reports` does)."""
    from vsm.pipeline import ensure_demo_data

    feeds, patientele = ensure_demo_data(DEMO)
    return Path(feeds), Path(patientele)


@pytest.fixture(scope="module")
def feeds(demo) -> pd.DataFrame:
    folder, _ = demo
    frames = [pd.read_parquet(path, columns=["ps_id", "dmp_id", "event_date", "type_code", "format_code", "status", "action"])
              for path in sorted(folder.glob("*.parquet"))]
    table = pd.concat(frames, ignore_index=True)
    table = table[(table["type_code"] == "SYNTH") & (table["status"] == "success") & table["action"].isin(["creation", "update"])]
    table["event_date"] = pd.to_datetime(table["event_date"]).dt.date
    table["structured"] = table["format_code"].isin(STRUCTURED)
    return table


def recompute(feeds: pd.DataFrame, period: str) -> pd.DataFrame:
    start, end = PERIODS[period]
    patientele = pd.read_parquet(DEMO / "patientele.parquet")  # written by the `demo` fixture
    patientele = patientele[patientele["ps_kind"] == "medecin"]
    patientele["snapshot_date"] = pd.to_datetime(patientele["snapshot_date"]).dt.date
    latest = (patientele[patientele["snapshot_date"] <= end]
              .sort_values(["ps_id", "snapshot_date"]).groupby("ps_id", as_index=False).last())
    inside = feeds[(feeds["event_date"] >= start) & (feeds["event_date"] <= end)]
    per_dmp = inside.groupby(["ps_id", "dmp_id"], as_index=False)["structured"].any()
    fed = per_dmp.groupby("ps_id").agg(dmp_vsm=("dmp_id", "size"), dmp_vsm_structured=("structured", "sum"))
    out = latest.merge(fed, left_on="ps_id", right_index=True, how="left").fillna({"dmp_vsm": 0, "dmp_vsm_structured": 0})
    out["amount"] = [
        _amount(int(mt), int(ald), int(n), int(s))
        for mt, ald, n, s in zip(out["patients_mt"], out["patients_mt_ald"], out["dmp_vsm"], out["dmp_vsm_structured"])
    ]
    return out.set_index("ps_id")


def written(period: str, results_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(results_dir / period / "resultats.parquet").set_index("ps_id")


@pytest.fixture(scope="module")
def results_dir(demo, tmp_path_factory) -> Path:
    """`vsm run` on the demo extracts, as a user runs it."""
    folder, patientele = demo
    out = tmp_path_factory.mktemp("backtest") / "resultats" / "medecins-2024"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "vsm"), "run", "--rules", "medecins-2024", "--feeds", str(folder),
         "--patientele", str(patientele), "--out", str(out)],
        capture_output=True, text=True, cwd=REPO_DIR,
    )
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("period", ["P1", "P2"])
def test_every_professional_to_the_cent(feeds, results_dir, period):
    mine = recompute(feeds, period)
    theirs = written(period, results_dir)
    assert sorted(mine.index) == sorted(theirs.index)
    assert len(mine) == 8000
    theirs = theirs.loc[mine.index]
    for column in ["patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured"]:
        assert (mine[column].astype(int).to_numpy() == theirs[column].astype(int).to_numpy()).all(), column
    amounts = [Decimal(str(v)) for v in theirs["amount_eur"]]
    wrong = [(ps, a, b) for ps, a, b in zip(mine.index, mine["amount"], amounts) if a != b]
    assert not wrong, wrong[:5]
    assert sum(mine["amount"], Decimal("0.00")) == sum(amounts, Decimal("0.00"))


def test_complement_of_p2_is_what_p1_did_not_pay(feeds, results_dir):
    first, second = recompute(feeds, "P1"), recompute(feeds, "P2")
    theirs = written("P2", results_dir).loc[second.index]
    expected = [max(b - first["amount"].get(ps, Decimal("0.00")), Decimal("0.00")) for ps, b in zip(second.index, second["amount"])]
    got = [Decimal(str(v)) for v in theirs["complement_eur"]]
    assert expected == got
    assert sum(expected, Decimal("0.00")) > 0
