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
1. the *tally*: every row grouped by (status, type_code, action, event_date) — low-cardinality
   columns only — from which each row's reason (invalid, excluded by a rule, counted) is
   derived for each period; the counts by reason add up to the number of input rows;
2. the *numerator*: only the rows a rule could count (filters pushed into the Parquet scan,
   so identifiers are decoded for those rows only), grouped by (professional, DMP), with
   per-period flags.
The counted rows of the tally must equal the rows seen by the numerator scan: checked.
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


def tally_sql(extract: Extract, checked_ids: tuple[str, ...]) -> str:
    """Rows grouped by the low-cardinality columns that decide a row's reason.

    ``checked_ids``: identifier columns whose emptiness must be checked row by row (those the
    Parquet statistics could not clear); the others are known non-empty.
    """
    id_flags = ", ".join(
        f"{text_expr(extract, c)} IS NULL AS {c}_missing" if c in checked_ids else f"false AS {c}_missing"
        for c in ("ps_id", "dmp_id")
    )
    return (
        f"SELECT {id_flags}, {date_expr(extract, 'event_date')} AS event_date, "
        f"{text_expr(extract, 'type_code')} AS type_code, {text_expr(extract, 'status')} AS status, "
        f"{text_expr(extract, 'action', default='creation')} AS action, count(*) AS n "
        f"FROM {extract.scan_sql(', union_by_name = true' if extract.kind == 'parquet' else '')} GROUP BY ALL"
    )


def reason_case(rules: RuleSet, period: str) -> str:
    """CASE giving each tally group its reason for ``period`` (patientèle checks come later)."""
    ind = rules.indicator
    checks = {
        # the tally holds flags for identifiers, not the identifiers themselves
        "ps_id IS NULL": "ps_id_missing",
        "dmp_id IS NULL": "dmp_id_missing",
    }
    branches = [
        f"WHEN {checks.get(condition, condition)} THEN '{reason}'" for reason, condition, _, _ in feed_check_sql()
    ]
    branches += [
        f"WHEN status NOT IN ({_in_list(ind.counted_statuses.value)}) THEN 'status_not_counted'",
        f"WHEN type_code NOT IN ({_in_list(ind.type_codes.value)}) THEN 'type_not_counted'",
        f"WHEN action NOT IN ({_in_list(ind.counted_actions.value)}) THEN 'action_not_counted'",
        f"WHEN NOT ({_between(rules, period)}) THEN 'outside_period'",
    ]
    return f"CASE {' '.join(branches)} ELSE 'counted' END"


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
    checked = tuple(c for c in ("ps_id", "dmp_id") if c not in columns_without_empty_values(con, feeds, ("ps_id", "dmp_id")))
    con.execute(f"CREATE OR REPLACE TEMP TABLE feed_tally AS {tally_sql(feeds, checked)}")

    first = periods[0]
    invalid = dict(
        con.execute(
            f"SELECT reason, sum(n) FROM (SELECT {reason_case(rules, first)} AS reason, n FROM feed_tally) "
            f"WHERE reason LIKE 'invalid_%' GROUP BY reason"
        ).fetchall()
    )
    if invalid:
        con.execute("DROP TABLE feed_tally")
        raise_feed_errors(feeds, {k: int(v) for k, v in invalid.items()})

    numerator = con.execute(numerator_sql(feeds, rules, periods)).df()
    results = {}
    for i, pid in enumerate(periods):
        per_ps = numerator[["ps_id", f"rows{i}", f"dmps{i}", f"structured{i}"]].rename(
            columns={f"rows{i}": "rows", f"dmps{i}": "dmps", f"structured{i}": "dmps_structured"}
        )
        results[pid] = _period(con, rules, pid, per_ps[per_ps["rows"] > 0])
    con.execute("DROP TABLE feed_tally")
    return results


def aggregate(con: duckdb.DuckDBPyConnection, feeds: Extract, rules: RuleSet, period: str) -> Aggregate:
    """Counts per professional for one period (see :func:`aggregate_periods`)."""
    return aggregate_periods(con, feeds, rules, [period])[period]


def _period(con: duckdb.DuckDBPyConnection, rules: RuleSet, period: str, per_ps: pd.DataFrame) -> Aggregate:
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

    tally = dict(
        con.execute(f"SELECT {reason_case(rules, period)} AS reason, sum(n) FROM feed_tally GROUP BY reason").fetchall()
    )
    counted_rows = int(tally.get("counted", 0))
    if int(per_ps["rows"].sum()) != counted_rows:  # both scans must see the same rows
        raise AssertionError(
            f"Incohérence interne : {counted_rows} lignes comptées au décompte, {int(per_ps['rows'].sum())} à l'agrégation."
        )
    kinds = per_ps.merge(snapshot_end[["ps_id", "ps_kind"]], on="ps_id", how="left")
    absent = kinds["ps_kind"].isna()
    other = ~absent & (kinds["ps_kind"] != population)
    feed_tally = {reason: int(tally.get(reason, 0)) for reason in FEED_REASONS if not reason.startswith("invalid_")}
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
