"""Synthetic extracts (vsm.synth): determinism, schemas, invariants, calibration, atomic writes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import synth_scale
from vsm.publish import secrecy
from vsm.errors import VsmError
from vsm.regions import load_regions
from vsm.report import chart_minimum
from vsm.synth import generate
from vsm.synth.generate import synthesize
from vsm.synth.params import FEEDS_SCHEMA, PATIENTELE_SCHEMA, documented_scales

STRUCTURED = ("urn:asip:ci-sis:vsm:2012", "urn:ihe:pcc:ips:2020")
UNSTRUCTURED = ("urn:ihe:iti:xds-sd:pdf:2008", "urn:ihe:iti:xds-sd:text:2008")


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo_a") / "extract"
    return out, synthesize(out, scale="demo", seed=2024)


@pytest.fixture(scope="module")
def con(demo) -> duckdb.DuckDBPyConnection:
    out, _ = demo
    c = duckdb.connect()
    c.execute(f"create view feeds as select * from read_parquet('{out}/feeds/*.parquet')")
    c.execute(f"create view pat as select * from read_parquet('{out}/patientele.parquet')")
    return c


def _one(con, sql: str):
    return con.execute(sql).fetchone()[0]


# ------------------------------------------------------------------ determinism


def test_same_seed_gives_byte_identical_files(demo, tmp_path):
    out, _ = demo
    again = tmp_path / "again"
    synthesize(again, scale="demo", seed=2024)
    first, second = _hashes(out), _hashes(again)
    assert first == second
    assert "patientele.parquet" in first and any(k.startswith("feeds/part-") for k in first)


def test_other_seed_gives_other_files(demo, tmp_path):
    out, _ = demo
    other = tmp_path / "other"
    synthesize(other, scale="demo", seed=2025)
    first, second = _hashes(out), _hashes(other)
    assert all(first[k] != second.get(k) for k in first)


# ------------------------------------------------------------------ summary and schemas


def test_summary_matches_files(demo):
    out, summary = demo
    assert {"scale", "seed", "feeds_rows", "feeds_files", "patientele_rows", "professionals",
            "centres", "seconds"} <= set(summary)
    files = sorted((out / "feeds").glob("part-*.parquet"))
    assert [f.name for f in files] == [f"part-{i:05d}.parquet" for i in range(len(files))]
    assert summary["feeds_files"] == len(files)
    assert summary["feeds_rows"] == sum(pq.read_metadata(f).num_rows for f in files)
    assert summary["patientele_rows"] == pq.read_metadata(out / "patientele.parquet").num_rows
    assert (summary["scale"], summary["seed"]) == ("demo", 2024)
    spec = synth_scale("demo")  # the sizes params/synth.yml asks for
    medecins, centres = spec["medecins"], spec["centres"]
    assert 0.95 * medecins <= summary["professionals"] <= 1.05 * medecins
    assert 0.75 * centres <= summary["centres"] <= 1.5 * centres
    assert 250 * medecins <= summary["feeds_rows"] <= 750 * medecins  # a few hundred trace rows per médecin


def test_feed_files_have_the_declared_schema(demo):
    out, _ = demo
    for f in (out / "feeds").glob("*.parquet"):
        schema = pq.read_schema(f)
        assert schema.names == FEEDS_SCHEMA.names
        assert [fld.type for fld in schema] == [pa.string(), pa.string(), pa.date32(), pa.string(),
                                                pa.string(), pa.string(), pa.string()]
        assert pq.read_table(f).schema.remove_metadata().equals(FEEDS_SCHEMA)


def test_patientele_has_the_declared_schema(demo):
    out, _ = demo
    schema = pq.read_schema(out / "patientele.parquet")
    assert schema.remove_metadata().equals(PATIENTELE_SCHEMA)
    assert [fld.type for fld in schema] == [pa.string()] * 4 + [pa.date32(), pa.int64(), pa.int64()]


# ------------------------------------------------------------------ invariants


def test_ald_never_exceeds_patientele(con):
    assert _one(con, "select count(*) from pat where patients_mt_ald > patients_mt "
                     "or patients_mt_ald < 0 or patients_mt < 1") == 0
    assert _one(con, "select count(*) from pat where patients_mt is null or patients_mt_ald is null") == 0


def test_regions_and_departements_are_valid(con):
    regions = load_regions()
    rows = con.execute("select distinct region, departement from pat").fetchall()
    assert {r for r, _ in rows} == set(regions)  # all 18 regions, two characters each
    for region, dep in rows:
        assert len(region) == 2 and dep in regions[region].departements


def test_snapshots_are_semestrial_and_complete(con):
    dates = [d for (d,) in con.execute("select distinct snapshot_date from pat order by 1").fetchall()]
    assert [(d.month, d.day) for d in dates] == [(12, 31)] + [(6, 30), (12, 31)] * 3
    assert str(dates[0]) == "2021-12-31" and str(dates[-1]) == "2024-12-31"
    assert _one(con, "select count(*) from (select ps_id from pat group by 1 having count(*) <> 7)") == 0
    assert _one(con, "select count(*) from (select ps_id, snapshot_date from pat group by all having count(*) > 1)") == 0


def test_codes_are_in_the_allowed_sets(con):
    assert {s for (s,) in con.execute("select distinct status from feeds").fetchall()} == {"success", "failure"}
    assert {a for (a,) in con.execute("select distinct action from feeds").fetchall()} == {
        "creation", "update", "deletion"}
    assert {f for (f,) in con.execute("select distinct format_code from feeds").fetchall()} == set(
        STRUCTURED + UNSTRUCTURED)
    types = {t for (t,) in con.execute("select distinct type_code from feeds").fetchall()}
    assert "SYNTH" in types and "60591-5" in types and len(types) >= 5
    assert _one(con, "select count(*) from feeds where ps_id is null or dmp_id is null or event_date is null") == 0


def test_identifiers_look_like_rpps_finess_and_dmp(con):
    kinds = dict(con.execute("select distinct ps_id, ps_kind from pat").fetchall())
    for ps_id, kind in kinds.items():
        if kind == "medecin":
            assert re.fullmatch(r"10\d{9}", ps_id) and _luhn_ok(ps_id), ps_id
        else:
            assert kind == "centre" and re.fullmatch(r"\d{9}", ps_id) and _luhn_ok(ps_id), ps_id
    centre_deps = con.execute("select distinct ps_id, departement from pat where ps_kind='centre'").fetchall()
    for ps_id, dep in centre_deps:
        assert ps_id.startswith("20" if dep in ("2A", "2B") else dep)
    bad = _one(con, "select count(*) from feeds where not regexp_full_match(dmp_id, 'DMP[0-9]{13}')")
    assert bad == 0


def test_events_outside_the_periods_exist(con):
    assert str(_one(con, "select min(event_date) from feeds")) >= "2021-07-01"
    assert str(_one(con, "select max(event_date) from feeds")) <= "2024-12-31"
    assert _one(con, "select count(*) from feeds where type_code='SYNTH' and event_date < '2022-01-01'") > 0
    assert _one(con, "select count(*) from feeds where type_code='SYNTH' and event_date > '2024-06-30'") > 0


def test_noise_is_present_in_plausible_shares(con):
    vsm = _one(con, "select count(*) from feeds where type_code='SYNTH'")
    share = lambda where: _one(con, f"select count(*) from feeds where type_code='SYNTH' and {where}") / vsm  # noqa: E731
    assert 0.015 <= share("status='failure'") <= 0.05
    assert 0.10 <= share("action='update'") <= 0.20
    assert 0.003 <= share("action='deletion'") <= 0.02
    total = _one(con, "select count(*) from feeds")
    assert vsm / total < 0.35  # other document types make most of the volume


def test_some_professionals_feed_without_any_patientele(con, demo):
    _, summary = demo
    missing = _one(con, "select count(distinct ps_id) from feeds where ps_id not in (select ps_id from pat)")
    assert missing == summary["professionals_without_patientele"]
    assert 1 <= missing <= 0.01 * (summary["professionals"] + summary["centres"])
    assert _one(con, "select count(*) from feeds f where type_code='SYNTH' and ps_id not in "
                     "(select ps_id from pat)") > 0


def test_some_professionals_have_no_patient_in_ald(con):
    assert _one(con, "select count(distinct ps_id) from pat where patients_mt_ald = 0 "
                     "and snapshot_date = '2023-12-31'") >= 1


def test_some_dmps_are_fed_by_two_professionals(con):
    assert _one(con, "select count(*) from (select dmp_id from feeds where type_code='SYNTH' "
                     "and status='success' group by 1 having count(distinct ps_id) > 1)") > 0


def test_some_dmps_are_fed_both_structured_and_unstructured(con):
    assert _one(con, f"""select count(*) from (select ps_id, dmp_id from feeds
        where type_code='SYNTH' and status='success' and action in ('creation','update')
        group by all having count(*) filter (where format_code in {STRUCTURED}) > 0
                      and count(*) filter (where format_code in {UNSTRUCTURED}) > 0)""") > 0


def test_software_profiles_give_structured_shares_around_one_third(con):
    rows = con.execute(f"""select count(distinct dmp_id) filter (where format_code in {STRUCTURED})
            / count(distinct dmp_id) from feeds
        where type_code='SYNTH' and status='success' and action in ('creation','update')
        group by ps_id having count(distinct dmp_id) >= 20""").fetchall()
    shares = [s for (s,) in rows]
    n = len(shares)
    assert 0.25 <= sum(s == 0 for s in shares) / n <= 0.65
    assert 0.20 <= sum(s == 1 for s in shares) / n <= 0.55
    assert sum(0.2 <= s < 1 / 3 for s in shares) > 0 and sum(1 / 3 <= s <= 0.5 for s in shares) > 0


# ------------------------------------------------------------------ calibration (demo scale)


def test_patientele_size_matches_cnam_orders_of_magnitude(con):
    median, q1, q3 = con.execute("""select median(patients_mt), quantile_cont(patients_mt, 0.25),
        quantile_cont(patients_mt, 0.75) from pat where ps_kind='medecin' and snapshot_date='2023-12-31'""").fetchone()
    assert 800 <= median <= 1_100
    assert 500 <= q1 <= 750 and 1_150 <= q3 <= 1_450
    assert _one(con, "select median(patients_mt) from pat where ps_kind='centre'") > 1_500


def test_ald_share_is_about_18_percent(con):
    share = _one(con, "select sum(patients_mt_ald) / sum(patients_mt) from pat where ps_kind='medecin'")
    assert 0.15 <= share <= 0.21


def test_small_regions_keep_a_handful_of_professionals(con):
    """The médecins are spread over the regions by ``poids_medecins`` (largest remainder, at
    least ``min_medecins_per_region``): Mayotte keeps a handful, in the range where statistical
    secrecy withholds the whole region, while Martinique, Guyane and Corse keep more than that
    (from about twenty to about forty), so that their reports are not withheld whole."""
    counts = dict(con.execute("select region, count(distinct ps_id) from pat where ps_kind='medecin' "
                              "group by 1").fetchall())
    spec = synth_scale("demo")
    regions = load_regions()
    total_weight = sum(region.poids_medecins for region in regions.values())
    for code, region in regions.items():
        share = spec["medecins"] * region.poids_medecins / total_weight
        assert abs(counts[code] - max(share, spec["min_medecins_per_region"])) < 1, code
    limit = secrecy.settings().threshold  # counts from 1 to 10 are masked
    assert 1 <= counts["06"] <= limit  # Mayotte: every figure of its report is secret
    assert {code for code, n in counts.items() if n <= limit} == {"06"}  # the only such region
    assert limit < counts["02"] <= 60  # Martinique: about forty médecins, its figures published
    assert limit < counts["03"] < chart_minimum()  # Guyane: not withheld whole, but too few for a chart
    assert counts["94"] <= 60  # Corse
    assert counts["11"] > 250  # Île-de-France


def _reached(con, end: str, threshold: float) -> float:
    """Share of eligible médecins whose VSM share reaches ``threshold`` for a period ending at ``end``."""
    return _one(con, f"""
        with num as (
            select ps_id, count(distinct dmp_id) n from feeds
            where type_code = 'SYNTH' and status = 'success' and action in ('creation', 'update')
              and event_date between '2022-01-01' and '{end}'
            group by 1),
        den as (
            select ps_id, patients_mt_ald d from pat
            where ps_kind = 'medecin'
              and snapshot_date = (select max(snapshot_date) from pat where snapshot_date <= '{end}'))
        select avg((coalesce(n, 0) / d >= {threshold})::int)
        from den left join num using (ps_id) where d >= 1""")


def test_share_of_medecins_reaching_50_percent_at_p1(con):
    assert 0.25 <= _reached(con, "2023-12-31", 0.5) <= 0.55


def test_adoption_grows_between_p1_and_p2(con):
    p1_50, p2_50 = _reached(con, "2023-12-31", 0.5), _reached(con, "2024-06-30", 0.5)
    p1_90, p2_90 = _reached(con, "2023-12-31", 0.9), _reached(con, "2024-06-30", 0.9)
    assert 0.40 <= p2_50 <= 0.70 and p2_50 > p1_50 + 0.08
    assert 0.05 <= p1_90 <= 0.20 and 0.12 <= p2_90 <= 0.30 and p2_90 > p1_90
    assert _reached(con, "2024-06-30", 1.0001) > 0.02  # the numerator counts non-ALD DMPs too


# ------------------------------------------------------------------ errors and atomic writes


def test_unknown_scale_is_a_french_error_listing_the_valid_scales(tmp_path):
    with pytest.raises(VsmError) as err:
        synthesize(tmp_path / "x", scale="mondial")
    message = str(err.value)
    assert "Échelle inconnue" in message and "« demo »" in message and "« national »" in message
    assert "tiny" not in message
    assert not (tmp_path / "x").exists() and list(tmp_path.iterdir()) == []


def test_documented_scales_are_demo_and_national():
    assert documented_scales() == ["demo", "national"]


def test_invalid_seed_is_a_french_error(tmp_path):
    with pytest.raises(VsmError, match="Graine invalide"):
        synthesize(tmp_path / "x", scale="tiny", seed=-1)


def _fail_on_second_file(monkeypatch):
    real = generate.write_feeds_chunk
    calls = []

    def flaky(table, path, meta):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(table, path, meta)

    monkeypatch.setattr(generate, "write_feeds_chunk", flaky)


def test_no_partial_output_after_an_error(tmp_path, monkeypatch):
    _fail_on_second_file(monkeypatch)
    with pytest.raises(VsmError, match="Aucun fichier n'a été modifié"):
        synthesize(tmp_path / "out", scale="tiny", seed=1)
    assert list(tmp_path.iterdir()) == []  # neither out/ nor a temporary sibling is left


def test_failed_run_leaves_an_existing_extract_untouched(tmp_path, monkeypatch):
    out = tmp_path / "out"
    synthesize(out, scale="tiny", seed=1)
    (out / "README.txt").write_text("à garder", encoding="utf-8")
    before = _hashes(out)
    _fail_on_second_file(monkeypatch)
    with pytest.raises(VsmError):
        synthesize(out, scale="tiny", seed=2)
    assert _hashes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_successful_run_replaces_feeds_and_patientele_only(tmp_path):
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    synthesize(out, scale="tiny", seed=1)
    (out / "feeds" / "part-99999.parquet").write_bytes(b"stale")
    (out / "README.txt").write_text("à garder", encoding="utf-8")
    synthesize(out, scale="tiny", seed=2)
    synthesize(fresh, scale="tiny", seed=2)
    after = _hashes(out)
    assert after.pop("README.txt")
    assert after == _hashes(fresh)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "out"]
