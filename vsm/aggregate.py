"""Aggregation: DMP feed traces + patientèle snapshot at the period's end → counts per
professional, in DuckDB.

Methodology note (002), § 2:
- numerator: DMPs with a VSM fed during the observation period — successful feeds
  (« Alimentations en succès »), typeCode « SYNTH », creations and updates — by the
  professional, whatever the patient (ALD or not); a DMP counts once;
- structured: those DMPs whose VSM was fed in a structured (CI-SIS) format — « any »
  structured feed in the period, or the « latest » counted feed, as the rule set says;
- denominator and weight: the patientèle MT and its patients in ALD « à la fin de la
  période d'observation », i.e. the latest snapshot on or before the period's end.

Every period of a rule set is computed from two scans of the traces, whatever the number
of periods:
1. the *tally*: every row grouped by (status, type_code, action) — low-cardinality columns —
   plus « missing » flags for identifiers and dates where the Parquet statistics cannot
   rule them out; it validates every row and gives each its reason (invalid, excluded by a
   rule, or candidate);
2. the *numerator*: only the candidate rows inside the periods (filters pushed into the
   Parquet scan, so identifiers are decoded for those rows only), grouped by (professional,
   DMP), with per-period counts and flags.
A candidate row is counted in a period when the numerator saw it there, and is « outside
the period » otherwise: the counts by reason add up to the number of input rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

from .extracts import (
    PATIENTELE_TABLE,
    Extract,
    _sql_str,
    columns_without_empty_values,
    date_expr,
    feed_check_sql,
    raise_feed_errors,
    text_expr,
)
from .rules import RuleSet

if TYPE_CHECKING:  # pandas is imported when the numerator comes back, not at start-up
    import pandas as pd

# Every reason a trace row can have, in the order they are tested, with its French label.
FEED_REASONS: dict[str, str] = {
    "invalid_ps_id": "ligne invalide : professionnel vide",
    "invalid_dmp_id": "ligne invalide : DMP vide",
    "invalid_date": "ligne invalide : date illisible",
    "invalid_type_code": "ligne invalide : typeCode vide",
    "invalid_status": "ligne invalide : statut inconnu",
    "invalid_action": "ligne invalide : action inconnue",
    "status_not_counted": "alimentation en échec",
    "type_not_counted": "autre type de document (typeCode)",
    "action_not_counted": "suppression (action non comptée)",
    "outside_period": "hors de la période d'observation",
    "no_patientele": "professionnel absent de la patientèle à la fin de la période",
    "other_population": "professionnel d'une autre population que le jeu de règles",
    "counted": "alimentation comptée",
}
INVALID_REASONS = tuple(r for r in FEED_REASONS if r.startswith("invalid_"))

PATIENTELE_REASONS: dict[str, str] = {
    "used": "arrêté retenu (le dernier à la fin de la période)",
    "superseded": "arrêté antérieur, remplacé par un plus récent",
    "after_end": "arrêté postérieur à la fin de la période",
    "other_population": "professionnel d'une autre population que le jeu de règles",
}


@dataclass
class Aggregate:
    """What the aggregation of one period produced."""

    period: str
    counts: pd.DataFrame  # one row per professional of the population with a snapshot at the end
    feed_tally: dict[str, int]  # reason → trace rows (every input row exactly once)
    patientele_tally: dict[str, int]  # reason → snapshot rows
    unmatched: pd.DataFrame  # professionals who fed VSMs but have no patientèle row: ps_id, rows, dmp_vsm


def _in_list(values: list[str]) -> str:
    return ", ".join(_sql_str(v) for v in values)


def _between(rules: RuleSet, period: str, column: str = "event_date") -> str:
    p = rules.period(period)
    return f"{column} BETWEEN DATE '{p.start.isoformat()}' AND DATE '{p.end.isoformat()}'"


def _counted_filter(rules: RuleSet) -> str:
    """Rows a rule could count in some period (before the period and patientèle checks)."""
    ind = rules.indicator
    return (
        f"status IN ({_in_list(ind.counted_statuses.value)}) "
        f"AND type_code IN ({_in_list(ind.type_codes.value)}) "
        f"AND action IN ({_in_list(ind.counted_actions.value)})"
    )


# --------------------------------------------------------------------------- scan 1: tally


_FLAGGED = ("ps_id", "dmp_id", "event_date")  # high-cardinality: the tally keeps only « missing » flags


def tally_sql(extract: Extract, checked: tuple[str, ...]) -> str:
    """Rows grouped by the low-cardinality columns that decide a row's reason.

    Identifiers and dates are not grouped on: only whether they are missing, and only for
    the columns in ``checked`` (those the Parquet statistics could not clear); the others
    are known present. Whether a row falls inside a period is decided by the numerator scan.
    """
    flags = []
    for column in _FLAGGED:
        value = date_expr(extract, column) if column == "event_date" else text_expr(extract, column)
        flags.append(f"{value} IS NULL AS {column}_missing" if column in checked else f"false AS {column}_missing")
    return (
        f"SELECT {', '.join(flags)}, "
        f"{text_expr(extract, 'type_code')} AS type_code, {text_expr(extract, 'status')} AS status, "
        f"{text_expr(extract, 'action', default='creation')} AS action, count(*) AS n "
        f"FROM {extract.scan_sql(', union_by_name = true' if extract.kind == 'parquet' else '')} GROUP BY ALL"
    )


def reason_case(rules: RuleSet) -> str:
    """CASE giving each tally group its reason; rows that pass every check are « candidate »:
    counted if inside the period (decided by the numerator scan)."""
    ind = rules.indicator
    flags = {f"{column} IS NULL": f"{column}_missing" for column in _FLAGGED}
    branches = [
        f"WHEN {flags.get(condition, condition)} THEN '{reason}'" for reason, condition, _, _ in feed_check_sql()
    ]
    branches += [
        f"WHEN status NOT IN ({_in_list(ind.counted_statuses.value)}) THEN 'status_not_counted'",
        f"WHEN type_code NOT IN ({_in_list(ind.type_codes.value)}) THEN 'type_not_counted'",
        f"WHEN action NOT IN ({_in_list(ind.counted_actions.value)}) THEN 'action_not_counted'",
    ]
    return f"CASE {' '.join(branches)} ELSE 'candidate' END"


# --------------------------------------------------------------------------- scan 2: numerator


def numerator_sql(extract: Extract, rules: RuleSet, periods: list[str]) -> str:
    """Per professional and period: counted rows, distinct DMPs fed, DMPs fed structured."""
    ind = rules.indicator
    starts = min(rules.period(p).start for p in periods)
    ends = max(rules.period(p).end for p in periods)
    structured = f"coalesce(format_code IN ({_in_list(ind.structured_format_codes.value)}), false)"
    per_dmp, per_ps = [], []
    for i, pid in enumerate(periods):
        inside = _between(rules, pid)
        if ind.structured_rule.value == "any":
            flag = f"bool_or(structured) FILTER (WHERE {inside})"
        else:  # the latest counted feed of the period; on the same day, a structured feed wins
            key = "date_diff('day', DATE '1970-01-01', event_date) * 2 + CAST(structured AS INTEGER)"
            flag = f"arg_max(structured, {key}) FILTER (WHERE {inside})"
        per_dmp += [f"count(*) FILTER (WHERE {inside}) AS n{i}", f"coalesce({flag}, false) AS s{i}"]
        per_ps += [
            f"sum(n{i}) AS rows{i}",
            f"count(*) FILTER (WHERE n{i} > 0) AS dmps{i}",
            f"count(*) FILTER (WHERE n{i} > 0 AND s{i}) AS structured{i}",
        ]
    view = (
        f"SELECT {text_expr(extract, 'ps_id')} AS ps_id, {text_expr(extract, 'dmp_id')} AS dmp_id, "
        f"{date_expr(extract, 'event_date')} AS event_date, {text_expr(extract, 'type_code')} AS type_code, "
        f"{text_expr(extract, 'status')} AS status, {text_expr(extract, 'action', default='creation')} AS action, "
        f"{text_expr(extract, 'format_code')} AS format_code "
        f"FROM {extract.scan_sql(', union_by_name = true' if extract.kind == 'parquet' else '')}"
    )
    return f"""
        WITH f AS (
            SELECT ps_id, dmp_id, event_date, {structured} AS structured FROM ({view})
            WHERE {_counted_filter(rules)}
              AND event_date BETWEEN DATE '{starts.isoformat()}' AND DATE '{ends.isoformat()}'
        ),
        g AS (SELECT ps_id, dmp_id, {', '.join(per_dmp)} FROM f GROUP BY ps_id, dmp_id)
        SELECT ps_id, {', '.join(per_ps)} FROM g GROUP BY ps_id
    """


# --------------------------------------------------------------------------- periods


def aggregate_periods(
    con: duckdb.DuckDBPyConnection, feeds: Extract, rules: RuleSet, periods: list[str]
) -> dict[str, Aggregate]:
    """Counts per professional for each period, from two scans of the traces. The patientèle
    must already be loaded (extracts.load_patientele) into the ``patientele`` table."""
    for pid in periods:
        rules.period(pid)
    typed_date = feeds.columns["event_date"].upper() == "DATE" or feeds.columns["event_date"].upper().startswith("TIMESTAMP")
    candidates = ("ps_id", "dmp_id", "event_date") if typed_date else ("ps_id", "dmp_id")
    cleared = columns_without_empty_values(con, feeds, candidates)
    checked = tuple(c for c in _FLAGGED if c not in cleared)
    tally = dict(
        con.execute(
            f"SELECT {reason_case(rules)} AS reason, sum(n) FROM ({tally_sql(feeds, checked)}) GROUP BY reason"
        ).fetchall()
    )
    invalid = {k: int(v) for k, v in tally.items() if k.startswith("invalid_")}
    if invalid:
        raise_feed_errors(feeds, invalid)

    numerator = con.execute(numerator_sql(feeds, rules, periods)).df()
    results = {}
    for i, pid in enumerate(periods):
        per_ps = numerator[["ps_id", f"rows{i}", f"dmps{i}", f"structured{i}"]].rename(
            columns={f"rows{i}": "rows", f"dmps{i}": "dmps", f"structured{i}": "dmps_structured"}
        )
        results[pid] = _period(con, rules, pid, per_ps[per_ps["rows"] > 0], tally)
    return results


def aggregate(con: duckdb.DuckDBPyConnection, feeds: Extract, rules: RuleSet, period: str) -> Aggregate:
    """Counts per professional for one period (see :func:`aggregate_periods`)."""
    return aggregate_periods(con, feeds, rules, [period])[period]


def _period(
    con: duckdb.DuckDBPyConnection, rules: RuleSet, period: str, per_ps: pd.DataFrame, tally: dict[str, int]
) -> Aggregate:
    import pandas as pd

    p = rules.period(period)
    end = f"DATE '{p.end.isoformat()}'"
    population = rules.population
    snapshot_end = con.execute(
        f"""
        SELECT ps_id, ps_kind, region, departement, snapshot_date, patients_mt, patients_mt_ald
        FROM {PATIENTELE_TABLE} WHERE snapshot_date <= {end}
        QUALIFY row_number() OVER (PARTITION BY ps_id ORDER BY snapshot_date DESC) = 1
        ORDER BY ps_id
        """
    ).df()

    # Candidate rows (passing status, type and action) are counted when inside the period:
    # the numerator scan saw those; the others are outside the period.
    candidates = int(tally.get("candidate", 0))
    counted_rows = int(per_ps["rows"].sum())
    if counted_rows > candidates:  # both scans must agree
        raise AssertionError(f"Incohérence interne : {counted_rows} lignes dans la période pour {candidates} candidates.")
    kinds = per_ps.merge(snapshot_end[["ps_id", "ps_kind"]], on="ps_id", how="left")
    absent = kinds["ps_kind"].isna()
    other = ~absent & (kinds["ps_kind"] != population)
    feed_tally = {reason: int(tally.get(reason, 0)) for reason in FEED_REASONS if not reason.startswith("invalid_")}
    feed_tally["outside_period"] = candidates - counted_rows
    feed_tally["no_patientele"] = int(kinds.loc[absent, "rows"].sum())
    feed_tally["other_population"] = int(kinds.loc[other, "rows"].sum())
    feed_tally["counted"] = counted_rows - feed_tally["no_patientele"] - feed_tally["other_population"]

    unmatched = (
        kinds.loc[absent, ["ps_id", "rows", "dmps"]]
        .rename(columns={"dmps": "dmp_vsm"})
        .astype({"rows": "int64", "dmp_vsm": "int64"})
        .sort_values("ps_id")
        .reset_index(drop=True)
    )

    counts = snapshot_end[snapshot_end["ps_kind"] == population].merge(
        per_ps[["ps_id", "dmps", "dmps_structured"]], on="ps_id", how="left"
    )
    counts["dmp_vsm"] = counts.pop("dmps").fillna(0).astype("int64")
    counts["dmp_vsm_structured"] = counts.pop("dmps_structured").fillna(0).astype("int64")
    counts["snapshot_date"] = pd.to_datetime(counts["snapshot_date"]).dt.date
    if counts["departement"].isna().all():
        counts = counts.drop(columns=["departement"])
    counts = counts.reset_index(drop=True)

    patientele_tally = dict(
        con.execute(
            f"""
            WITH s AS (
                SELECT ps_id, max(snapshot_date) AS last FROM {PATIENTELE_TABLE}
                WHERE snapshot_date <= {end} GROUP BY ps_id
            )
            SELECT CASE WHEN p.snapshot_date > {end} THEN 'after_end'
                        WHEN p.ps_kind <> {_sql_str(population)} THEN 'other_population'
                        WHEN p.snapshot_date = s.last THEN 'used'
                        ELSE 'superseded' END AS reason, count(*)
            FROM {PATIENTELE_TABLE} p LEFT JOIN s ON p.ps_id = s.ps_id
            GROUP BY ALL
            """
        ).fetchall()
    )
    patientele_tally = {reason: int(patientele_tally.get(reason, 0)) for reason in PATIENTELE_REASONS}
    return Aggregate(period, counts, feed_tally, patientele_tally, unmatched)
