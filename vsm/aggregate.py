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
1. the *tally*: the rows dated from the first period's start to the last period's end (or
   with no readable date), grouped by (status, type_code, action) — low-cardinality
   columns — plus, per period, whether the row falls inside it, and « missing » flags for
   identifiers and dates where the Parquet statistics cannot rule them out. It validates
   those rows and gives each its reason: invalid (the whole run stops, naming file, line
   and column), outside the period, excluded by a rule, or candidate. Rows dated outside
   every period are « outside the period » without being read (their row groups are
   skipped on the Parquet statistics), so a bad row there does not block the computation.
   The tally runs in the background while the patientèle is validated;
2. the *numerator*: only the candidate rows inside the periods (filters pushed into the
   Parquet scan, so identifiers are decoded for those rows only), grouped by (professional,
   DMP), with per-period counts and flags.
Both scans must agree exactly on the number of candidate rows of each period; the counts
by reason add up to the number of input rows.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Callable

import duckdb

from .ingest.extracts import (
    PATIENTELE_TABLE,
    Extract,
    columns_without_empty_values,
    date_expr,
    feed_check_sql,
    raise_feed_errors,
    text_expr,
)
from .ingest.schema import WHITESPACE
from .ingest.tables import sql_str
from .rules import RuleSet

if TYPE_CHECKING:  # numpy is imported when the counts come back, pandas only for DataFrame views
    import numpy as np
    import pandas as pd

# Every reason a trace row can have, in the order they are tested, with its French label
# (an invalid row stops the run; the date is tested first, see scan 1 below).
FEED_REASONS: dict[str, str] = {
    "invalid_ps_id": "ligne invalide : professionnel vide",
    "invalid_dmp_id": "ligne invalide : DMP vide",
    "invalid_date": "ligne invalide : date illisible",
    "invalid_type_code": "ligne invalide : typeCode vide",
    "invalid_status": "ligne invalide : statut inconnu",
    "invalid_action": "ligne invalide : action inconnue",
    "outside_period": "hors de la période d'observation",
    "status_not_counted": "alimentation en échec",
    "type_not_counted": "autre type de document (typeCode)",
    "action_not_counted": "suppression (action non comptée)",
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
    """What the aggregation of one period produced.

    ``columns``: one row per professional of the population with a snapshot at the end,
    sorted by ps_id, as numpy arrays (ps_id, ps_kind, region, departement when known,
    snapshot_date as datetime64[D], patients_mt, patients_mt_ald, dmp_vsm,
    dmp_vsm_structured); ``counts`` is the same as a DataFrame, built when asked for.
    """

    period: str
    columns: dict[str, np.ndarray]
    feed_tally: dict[str, int]  # reason → trace rows (every input row exactly once)
    patientele_tally: dict[str, int]  # reason → snapshot rows
    unmatched_rows: list[tuple[str, int, int]]  # fed VSMs without a patientèle row: ps_id, rows, dmp_vsm

    @cached_property
    def counts(self) -> pd.DataFrame:
        import pandas as pd  # start-up time: pandas (0.8 s) only for DataFrame views

        frame = pd.DataFrame(
            {
                name: values.astype(object) if name == "snapshot_date" else values
                for name, values in self.columns.items()
            }
        )
        return frame

    @cached_property
    def unmatched(self) -> pd.DataFrame:
        import pandas as pd  # start-up time: pandas (0.8 s) only for DataFrame views

        frame = pd.DataFrame(self.unmatched_rows, columns=["ps_id", "rows", "dmp_vsm"])
        return frame.astype({"rows": "int64", "dmp_vsm": "int64"})


def _in_list(values: list[str]) -> str:
    return ", ".join(sql_str(v) for v in values)


def _between(rules: RuleSet, period: str, column: str = "event_date") -> str:
    p = rules.period(period)
    return f"{column} BETWEEN DATE '{p.start.isoformat()}' AND DATE '{p.end.isoformat()}'"


def _plain_text(extract: Extract, column: str, padded: frozenset[str] = frozenset()) -> bool:
    """A Parquet text column read as it is: filters and groups on it stay on the raw column,
    so DuckDB pushes them into the scan and keeps its dictionary encoding. The normalised
    form turns '' into NULL, which no rule value is, and strips WHITESPACE: a column whose
    values the tally found padded (``padded``) is read normalised instead, so that both
    scans, and a CSV, read the same values."""
    return extract.kind == "parquet" and extract.columns.get(column, "").upper() == "VARCHAR" and column not in padded


def _value(extract: Extract, column: str, padded: frozenset[str] = frozenset()) -> str:
    """The column as the numerator reads it: raw for a Parquet text column (the tally has
    already rejected every empty identifier of the periods), normalised otherwise."""
    return column if _plain_text(extract, column, padded) else text_expr(extract, column)


def _is_in(
    extract: Extract, column: str, values: list[str], default: str | None = None, padded: frozenset[str] = frozenset()
) -> str:
    """« the normalised column is one of values », written on the raw column when possible."""
    if not _plain_text(extract, column, padded):
        return f"{text_expr(extract, column, default=default)} IN ({_in_list(values)})"
    test = f"{column} IN ({_in_list(values)})"
    if default is not None and default in values:  # an empty cell means the default
        test = f"({test} OR {column} IS NULL OR {column} = '')"
    return test


def _counted_filter(extract: Extract, rules: RuleSet, padded: frozenset[str] = frozenset()) -> str:
    """Rows a rule could count in some period (before the period and patientèle checks)."""
    ind = rules.indicator
    return (
        f"{_is_in(extract, 'status', ind.counted_statuses.value, padded=padded)} "
        f"AND {_is_in(extract, 'type_code', ind.type_codes.value, padded=padded)} "
        f"AND {_is_in(extract, 'action', ind.counted_actions.value, default='creation', padded=padded)}"
    )


# --------------------------------------------------------------------------- scan 1: tally


_FLAGGED = ("ps_id", "dmp_id", "event_date")  # high-cardinality: the tally keeps only « missing » flags
PADDED_CHECKED = ("type_code", "status", "action")  # low-cardinality text the numerator filters on


def _date_range(rules: RuleSet, periods: list[str]) -> tuple[str, str]:
    start = min(rules.period(p).start for p in periods)
    end = max(rules.period(p).end for p in periods)
    return start.isoformat(), end.isoformat()


def tally_sql(extract: Extract, checked: tuple[str, ...], rules: RuleSet, periods: list[str]) -> str:
    """Rows that may fall in one of the periods, grouped by what decides their reason.

    Only rows dated from the first period's start to the last period's end (or with no
    readable date) are read: the filter is pushed into the Parquet scan, so row groups
    outside are skipped on their statistics; the others are outside every period.
    Identifiers and dates are not grouped on: only whether they are missing, and only for
    the columns in ``checked`` (those the Parquet statistics could not clear); plus, per
    period, whether the row falls inside it.
    """
    date = date_expr(extract, "event_date")
    flags = []
    for column in _FLAGGED:
        value = date if column == "event_date" else text_expr(extract, column)
        flags.append(f"{value} IS NULL AS {column}_missing" if column in checked else f"false AS {column}_missing")
    start, end = _date_range(rules, periods)
    in_range = f"{date} BETWEEN DATE '{start}' AND DATE '{end}'"
    where = f"({date} IS NULL OR {in_range})" if "event_date" in checked else in_range
    if len(periods) == 1:
        inside = ["true AS in0"]  # the range is the period
    else:
        inside = [f"coalesce({_between(rules, pid, date)}, false) AS in{i}" for i, pid in enumerate(periods)]
    # grouped on the raw columns (DuckDB keeps their dictionary encoding), normalised after
    # format_code is grouped on only to see whether a value is padded (a handful of codes)
    raw = [c for c in PADDED_CHECKED if c in extract.columns]
    groups = (
        f"SELECT {', '.join(flags)}, {', '.join(inside)}, {', '.join(raw)}, count(*) AS n "
        f"FROM {extract.scan_sql(', union_by_name = true' if extract.kind == 'parquet' else '')} "
        f"WHERE {where} GROUP BY ALL"
    )
    keys = [f"{column}_missing" for column in _FLAGGED] + [f"in{i}" for i in range(len(periods))]
    return (
        f"SELECT {', '.join(keys)}, {text_expr(extract, 'type_code')} AS type_code, "
        f"{text_expr(extract, 'status')} AS status, {text_expr(extract, 'action', default='creation')} AS action, "
        # whether a raw value is padded with WHITESPACE (the numerator then reads it normalised),
        # computed on the grouped values, not on every row
        + ", ".join(
            f"bool_or(coalesce({c} <> trim({c}, {sql_str(WHITESPACE)}), false)) AS padded_{c}"
            if c in extract.columns else f"false AS padded_{c}"
            for c in PADDED_CHECKED
        )
        + ", "
        f"sum(n) AS n FROM ({groups}) GROUP BY ALL"
    )


def invalid_case() -> str:
    """CASE naming the first rule a tally group breaks (NULL when valid)."""
    flags = {f"{column} IS NULL": f"{column}_missing" for column in _FLAGGED}
    branches = [f"WHEN {flags.get(condition, condition)} THEN '{reason}'" for reason, condition, _, _ in feed_check_sql()]
    return f"CASE {' '.join(branches)} END"


def reason_case(rules: RuleSet, index: int) -> str:
    """CASE giving each valid tally group its reason in period ``index``: outside the period
    first, then the rules on status, type and action; rows passing every check are
    « candidate » (counted, unless their professional has no patientèle in the population)."""
    ind = rules.indicator
    return (
        f"CASE WHEN NOT in{index} THEN 'outside_period' "
        f"WHEN status NOT IN ({_in_list(ind.counted_statuses.value)}) THEN 'status_not_counted' "
        f"WHEN type_code NOT IN ({_in_list(ind.type_codes.value)}) THEN 'type_not_counted' "
        f"WHEN action NOT IN ({_in_list(ind.counted_actions.value)}) THEN 'action_not_counted' "
        f"ELSE 'candidate' END"
    )


@dataclass
class Tally:
    """Trace rows by reason: invalid rows (any period), and per period the valid ones."""

    invalid: dict[str, int]
    by_period: dict[str, dict[str, int]]
    padded: frozenset[str] = frozenset()  # text columns with values padded by WHITESPACE


def run_tally(con: duckdb.DuckDBPyConnection, feeds: Extract, rules: RuleSet, periods: list[str]) -> Tally:
    """Scan 1: validate every row that may fall in a period and count rows by reason.

    ``con`` may be a cursor of its own (the tally then runs while the patientèle loads)."""
    typed_date = feeds.columns["event_date"].upper() == "DATE" or feeds.columns["event_date"].upper().startswith("TIMESTAMP")
    candidates = ("ps_id", "dmp_id", "event_date") if typed_date else ("ps_id", "dmp_id")
    cleared = columns_without_empty_values(con, feeds, candidates)
    checked = tuple(c for c in _FLAGGED if c not in cleared)
    groups = f"(SELECT *, {invalid_case()} AS invalid FROM ({tally_sql(feeds, checked, rules, periods)}))"
    reasons_sql = ", ".join(
        f"CASE WHEN invalid IS NULL THEN {reason_case(rules, i)} END AS reason{i}" for i in range(len(periods))
    )
    padded_sql = ", ".join(f"bool_or(padded_{c})" for c in PADDED_CHECKED)
    rows = con.execute(f"SELECT invalid, {reasons_sql}, {padded_sql}, sum(n) FROM {groups} GROUP BY ALL").fetchall()
    invalid: dict[str, int] = {}
    by_period: dict[str, dict[str, int]] = {pid: {} for pid in periods}
    scanned = 0
    padded: set[str] = set()
    for invalid_reason, *reasons, n in rows:
        flags, reasons = reasons[len(periods):], reasons[: len(periods)]
        padded |= {c for c, flag in zip(PADDED_CHECKED, flags) if flag}
        n = int(n)
        scanned += n
        if invalid_reason is not None:
            invalid[invalid_reason] = invalid.get(invalid_reason, 0) + n
            continue
        for pid, reason in zip(periods, reasons):
            by_period[pid][reason] = by_period[pid].get(reason, 0) + n
    for pid in periods:  # rows dated outside every period were not read
        by_period[pid]["outside_period"] = by_period[pid].get("outside_period", 0) + feeds.rows - scanned
    return Tally(invalid, by_period, frozenset(padded))


class RunningTally:
    """The tally running on a cursor of its own, in a thread (DuckDB releases the GIL), while
    the caller loads the patientèle."""

    _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tally")

    def __init__(self, con: duckdb.DuckDBPyConnection, feeds: Extract, rules: RuleSet, periods: list[str]):
        self._cursor = con.cursor()
        self._future: Future = self._POOL.submit(self._work, feeds, rules, periods)

    def _work(self, feeds: Extract, rules: RuleSet, periods: list[str]) -> Tally:
        try:
            return run_tally(self._cursor, feeds, rules, periods)
        finally:
            self._cursor.close()

    def result(self) -> Tally:
        return self._future.result()

    def stop(self) -> None:
        """Interrupt the scan (the caller failed) and wait for the thread."""
        try:
            self._cursor.interrupt()
        except duckdb.Error:
            pass
        try:
            self._future.result()
        except Exception:  # noqa: BLE001 — interrupted, or failing for a reason already moot
            pass


# --------------------------------------------------------------------------- scan 2: numerator


def numerator_sql(extract: Extract, rules: RuleSet, periods: list[str], padded: frozenset[str] = frozenset()) -> str:
    """Per professional and period: counted rows, distinct DMPs fed, DMPs fed structured.

    Run after the tally has found no invalid row in the periods. Filters are written on the
    raw columns where possible, so that DuckDB pushes them into the Parquet scan and decodes
    identifiers only for the rows that pass."""
    ind = rules.indicator
    start, end = _date_range(rules, periods)
    date = date_expr(extract, "event_date")
    structured = f"coalesce({_value(extract, 'format_code', padded)} IN ({_in_list(ind.structured_format_codes.value)}), false)"
    per_dmp, per_ps = [], []
    for i, pid in enumerate(periods):
        # with one period, every row read is inside it
        where = "" if len(periods) == 1 else f" FILTER (WHERE {_between(rules, pid)})"
        if ind.structured_rule.value == "any":
            flag = f"bool_or(structured){where}"
        else:  # the latest counted feed of the period; on the same day, a structured feed wins
            key = "date_diff('day', DATE '1970-01-01', event_date) * 2 + CAST(structured AS INTEGER)"
            flag = f"arg_max(structured, {key}){where}"
        per_dmp += [f"count(*){where} AS n{i}", f"coalesce({flag}, false) AS s{i}"]
        per_ps += [
            f"sum(n{i}) AS rows{i}",
            f"count(*) FILTER (WHERE n{i} > 0) AS dmps{i}",
            f"count(*) FILTER (WHERE n{i} > 0 AND s{i}) AS structured{i}",
        ]
    scan = extract.scan_sql(", union_by_name = true" if extract.kind == "parquet" else "")
    return f"""
        WITH f AS (
            SELECT {_value(extract, 'ps_id')} AS ps_id, {_value(extract, 'dmp_id')} AS dmp_id,
                   {date} AS event_date, {structured} AS structured
            FROM {scan}
            WHERE {_counted_filter(extract, rules, padded)}
              AND {date} BETWEEN DATE '{start}' AND DATE '{end}'
        ),
        g AS (SELECT ps_id, dmp_id, {', '.join(per_dmp)} FROM f GROUP BY ps_id, dmp_id)
        SELECT ps_id, {', '.join(per_ps)} FROM g GROUP BY ps_id
    """


# --------------------------------------------------------------------------- periods


NUMERATOR_TABLE = "numerator"


def aggregate_periods(
    con: duckdb.DuckDBPyConnection,
    feeds: Extract,
    rules: RuleSet,
    periods: list[str],
    tally: RunningTally | Tally | None = None,
    after_scans: Callable[[], None] | None = None,
) -> dict[str, Aggregate]:
    """Counts per professional for each period, from two scans of the traces (the tally, which
    may already be running: see :class:`RunningTally`, then the numerator). The patientèle
    must already be loaded (extracts.load_patientele) into the ``patientele`` table.
    ``after_scans`` is called once the traces have been read for the last time."""
    for pid in periods:
        rules.period(pid)
    try:
        # the snapshots at each period's end do not depend on the traces: taken while the
        # tally may still be running
        try:
            patientele_tallies = {pid: _snapshots(con, rules, pid, i) for i, pid in enumerate(periods)}
        except BaseException:
            if isinstance(tally, RunningTally):
                tally.stop()
            raise
        if tally is None:
            tally = run_tally(con, feeds, rules, periods)
        elif isinstance(tally, RunningTally):
            tally = tally.result()
        if tally.invalid:
            raise_feed_errors(feeds, tally.invalid)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {NUMERATOR_TABLE} AS {numerator_sql(feeds, rules, periods, tally.padded)}")
        if after_scans is not None:
            after_scans()
        return {
            pid: _period(con, rules, pid, i, tally.by_period[pid], patientele_tallies[pid]) for i, pid in enumerate(periods)
        }
    finally:
        for table in [NUMERATOR_TABLE, *(f"snapshot_end{i}" for i in range(len(periods)))]:
            con.execute(f"DROP TABLE IF EXISTS {table}")


def aggregate(con: duckdb.DuckDBPyConnection, feeds: Extract, rules: RuleSet, period: str) -> Aggregate:
    """Counts per professional for one period (see :func:`aggregate_periods`)."""
    return aggregate_periods(con, feeds, rules, [period])[period]


def _snapshots(con: duckdb.DuckDBPyConnection, rules: RuleSet, period: str, index: int) -> dict[str, int]:
    """Table ``snapshot_end<index>``: each professional's latest snapshot on or before the
    period's end; returns the patientèle rows by reason for the period."""
    end = f"DATE '{rules.period(period).end.isoformat()}'"
    population = sql_str(rules.population)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE snapshot_end{index} AS
        SELECT ps_id, ps_kind, region, departement, snapshot_date, patients_mt, patients_mt_ald
        FROM {PATIENTELE_TABLE} WHERE snapshot_date <= {end}
        QUALIFY row_number() OVER (PARTITION BY ps_id ORDER BY snapshot_date DESC) = 1
        """
    )
    rows = dict(
        con.execute(
            f"""
            SELECT CASE WHEN p.snapshot_date > {end} THEN 'after_end'
                        WHEN p.ps_kind <> {population} THEN 'other_population'
                        WHEN p.snapshot_date = s.snapshot_date THEN 'used'
                        ELSE 'superseded' END AS reason, count(*)
            FROM {PATIENTELE_TABLE} p LEFT JOIN snapshot_end{index} s ON p.ps_id = s.ps_id
            GROUP BY ALL
            """
        ).fetchall()
    )
    return {reason: int(rows.get(reason, 0)) for reason in PATIENTELE_REASONS}


def _period(
    con: duckdb.DuckDBPyConnection,
    rules: RuleSet,
    period: str,
    index: int,
    tally: dict[str, int],
    patientele_tally: dict[str, int],
) -> Aggregate:
    """Join one period's numerator with the latest snapshot on or before its end, in DuckDB;
    only the per-professional table comes back to Python (as numpy arrays)."""
    import numpy as np  # start-up time: imported meanwhile by _startup.warm_up

    population = sql_str(rules.population)
    fed = f"(SELECT ps_id, rows{index} AS rows, dmps{index} AS dmps, structured{index} AS structured FROM {NUMERATOR_TABLE} WHERE rows{index} > 0)"

    # Candidate rows (valid, inside the period, passing status, type and action) are those
    # the numerator scan saw: both scans must agree exactly.
    counted_rows, no_patientele, other_population = con.execute(
        f"""
        SELECT coalesce(sum(f.rows), 0),
               coalesce(sum(f.rows) FILTER (WHERE s.ps_id IS NULL), 0),
               coalesce(sum(f.rows) FILTER (WHERE s.ps_kind <> {population}), 0)
        FROM {fed} f LEFT JOIN snapshot_end{index} s USING (ps_id)
        """
    ).fetchone()
    candidates = int(tally.get("candidate", 0))
    if int(counted_rows) != candidates:
        raise AssertionError(f"Incohérence interne : {counted_rows} lignes comptées pour {candidates} candidates.")
    feed_tally = {reason: int(tally.get(reason, 0)) for reason in FEED_REASONS if not reason.startswith("invalid_")}
    feed_tally["no_patientele"] = int(no_patientele)
    feed_tally["other_population"] = int(other_population)
    feed_tally["counted"] = candidates - feed_tally["no_patientele"] - feed_tally["other_population"]

    unmatched = [
        (ps_id, int(rows), int(dmps))
        for ps_id, rows, dmps in con.execute(
            f"SELECT f.ps_id, f.rows, f.dmps FROM {fed} f ANTI JOIN snapshot_end{index} s USING (ps_id) ORDER BY f.ps_id"
        ).fetchall()
    ]

    fetched = con.execute(
        f"""
        SELECT s.*, coalesce(f.dmps, 0) AS dmp_vsm, coalesce(f.structured, 0) AS dmp_vsm_structured
        FROM snapshot_end{index} s LEFT JOIN {fed} f USING (ps_id)
        WHERE s.ps_kind = {population}
        ORDER BY s.ps_id
        """
    ).fetchnumpy()
    columns: dict[str, np.ndarray] = {}
    for name, values in fetched.items():
        if isinstance(values, np.ma.MaskedArray):  # text with NULLs (departement): None
            values = np.where(np.ma.getmaskarray(values), None, values.data).astype(object)
        if name == "snapshot_date":
            values = values.astype("datetime64[D]")
        elif name in ("patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured"):
            values = values.astype(np.int64)
        columns[name] = values
    if all(v is None for v in columns["departement"]):
        del columns["departement"]

    return Aggregate(period, columns, feed_tally, patientele_tally, unmatched)
