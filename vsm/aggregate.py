"""Aggregation: DMP feed traces + patientèle snapshot at the period's end → counts per
professional, in DuckDB, in one scan of the traces.

Methodology note (002), § 2:
- numerator: DMPs with a VSM fed during the observation period — successful feeds
  (« Alimentations en succès »), typeCode « SYNTH », creations and updates — by the
  professional, whatever the patient (ALD or not); a DMP counts once;
- structured: those DMPs whose VSM was fed in a structured (CI-SIS) format — « any »
  structured feed in the period, or the « latest » counted feed, as the rule set says;
- denominator and weight: the patientèle MT and its patients in ALD « à la fin de la
  période d'observation », i.e. the latest snapshot on or before the period's end.

The same scan classifies every trace row into exactly one reason (invalid rows, rows
excluded by a rule, counted rows), so that nothing is dropped silently: the tally by reason
adds up to the number of input rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from .extracts import (
    PATIENTELE_TABLE,
    Extract,
    _sql_str,
    feed_check_sql,
    feeds_view_sql,
    raise_feed_errors,
)
from .rules import RuleSet

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

_CODE = {reason: i for i, reason in enumerate(FEED_REASONS)}


@dataclass
class Aggregate:
    """What the aggregation of one period produced."""

    period: str
    counts: pd.DataFrame  # one row per professional of the population with a snapshot at the end
    feed_tally: dict[str, int]  # reason → trace rows (every input row exactly once)
    patientele_tally: dict[str, int]  # reason → snapshot rows
    unmatched: pd.DataFrame  # professionals who fed VSMs but have no patientèle row: ps_id, rows, dmp


def _in_list(values: list[str]) -> str:
    return ", ".join(_sql_str(v) for v in values)


def classification_sql(extract: Extract, rules: RuleSet, period: str) -> str:
    """SELECT ps_id, dmp_id, event_date, structured, reason code — one row per trace row."""
    p = rules.period(period)
    ind = rules.indicator
    branches = [f"WHEN {condition} THEN {_CODE[reason]}" for reason, condition, _, _ in feed_check_sql()]
    branches += [
        f"WHEN status NOT IN ({_in_list(ind.counted_statuses.value)}) THEN {_CODE['status_not_counted']}",
        f"WHEN type_code NOT IN ({_in_list(ind.type_codes.value)}) THEN {_CODE['type_not_counted']}",
        f"WHEN action NOT IN ({_in_list(ind.counted_actions.value)}) THEN {_CODE['action_not_counted']}",
        f"WHEN event_date < DATE '{p.start.isoformat()}' OR event_date > DATE '{p.end.isoformat()}' "
        f"THEN {_CODE['outside_period']}",
    ]
    return (
        "SELECT ps_id, dmp_id, event_date, "
        f"coalesce(format_code IN ({_in_list(ind.structured_format_codes.value)}), false) AS structured, "
        f"CAST(CASE {' '.join(branches)} ELSE {_CODE['counted']} END AS UTINYINT) AS reason "
        f"FROM ({feeds_view_sql(extract)})"
    )


def per_professional_sql(extract: Extract, rules: RuleSet, period: str) -> str:
    """Rows and distinct DMPs per (reason, professional), structured DMPs among counted ones."""
    counted = _CODE["counted"]
    if rules.indicator.structured_rule.value == "any":
        flag = "bool_or(structured)"
    else:  # latest counted feed; on the same day, a structured feed wins
        flag = "arg_max(structured, date_diff('day', DATE '1970-01-01', event_date) * 2 + CAST(structured AS INTEGER))"
    return f"""
        WITH c AS ({classification_sql(extract, rules, period)}),
        g AS (
            SELECT reason, ps_id, CASE WHEN reason = {counted} THEN dmp_id END AS dmp,
                   count(*) AS n, {flag} AS structured
            FROM c GROUP BY ALL
        )
        SELECT reason, ps_id, sum(n) AS rows, count(dmp) AS dmps,
               count(dmp) FILTER (WHERE structured) AS dmps_structured
        FROM g GROUP BY reason, ps_id
    """


def aggregate(con: duckdb.DuckDBPyConnection, feeds: Extract, rules: RuleSet, period: str) -> Aggregate:
    """Counts per professional for one period. The patientèle must already be loaded
    (extracts.load_patientele) into the connection's ``patientele`` table."""
    p = rules.period(period)
    end = f"DATE '{p.end.isoformat()}'"
    population = _sql_str(rules.population)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE snapshot_end AS
        SELECT * FROM {PATIENTELE_TABLE} WHERE snapshot_date <= {end}
        QUALIFY row_number() OVER (PARTITION BY ps_id ORDER BY snapshot_date DESC) = 1
        """
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE per_ps AS {per_professional_sql(feeds, rules, period)}")

    names = list(FEED_REASONS)
    invalid = {
        names[code]: int(rows)
        for code, rows in con.execute(
            f"SELECT reason, sum(rows) FROM per_ps WHERE reason < {_CODE['status_not_counted']} GROUP BY reason"
        ).fetchall()
    }
    if invalid:
        raise_feed_errors(feeds, invalid)

    # Counted rows of professionals absent from the patientèle (or of another population)
    # are re-labelled here, per professional, after the scan: the join stays small.
    counted = _CODE["counted"]
    relabelled = con.execute(
        f"""
        SELECT CASE WHEN r.reason = {counted} AND s.ps_id IS NULL THEN {_CODE['no_patientele']}
                    WHEN r.reason = {counted} AND s.ps_kind <> {population} THEN {_CODE['other_population']}
                    ELSE r.reason END AS reason,
               r.ps_id, r.rows, r.dmps, r.dmps_structured
        FROM per_ps r LEFT JOIN snapshot_end s ON r.ps_id = s.ps_id
        """
    ).df()
    relabelled["reason"] = relabelled["reason"].map(lambda code: names[int(code)])
    tally = relabelled.groupby("reason")["rows"].sum()
    feed_tally = {reason: int(tally.get(reason, 0)) for reason in FEED_REASONS if not reason.startswith("invalid_")}

    unmatched = (
        relabelled[relabelled["reason"] == "no_patientele"][["ps_id", "rows", "dmps"]]
        .rename(columns={"dmps": "dmp_vsm"})
        .sort_values("ps_id")
        .reset_index(drop=True)
    )
    fed = relabelled[relabelled["reason"] == "counted"][["ps_id", "dmps", "dmps_structured"]]

    snapshot = con.execute(
        f"""
        SELECT ps_id, ps_kind, region, departement, snapshot_date, patients_mt, patients_mt_ald
        FROM snapshot_end WHERE ps_kind = {population} ORDER BY ps_id
        """
    ).df()
    counts = snapshot.merge(fed, on="ps_id", how="left")
    counts["dmp_vsm"] = counts.pop("dmps").fillna(0).astype("int64")
    counts["dmp_vsm_structured"] = counts.pop("dmps_structured").fillna(0).astype("int64")
    counts["snapshot_date"] = pd.to_datetime(counts["snapshot_date"]).dt.date
    if counts["departement"].isna().all():
        counts = counts.drop(columns=["departement"])

    patientele_tally = dict(
        con.execute(
            f"""
            SELECT CASE WHEN p.snapshot_date > {end} THEN 'after_end'
                        WHEN p.ps_kind <> {population} THEN 'other_population'
                        WHEN p.snapshot_date = s.snapshot_date THEN 'used'
                        ELSE 'superseded' END AS reason, count(*)
            FROM {PATIENTELE_TABLE} p LEFT JOIN snapshot_end s ON p.ps_id = s.ps_id
            GROUP BY ALL
            """
        ).fetchall()
    )
    patientele_tally = {reason: int(patientele_tally.get(reason, 0)) for reason in PATIENTELE_REASONS}
    con.execute("DROP TABLE per_ps")
    con.execute("DROP TABLE snapshot_end")
    return Aggregate(period, counts, feed_tally, patientele_tally, unmatched)
