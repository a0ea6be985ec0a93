"""The feed traces of a file of professionals: one row per feed attempt (first feeds, updates,
deletions, retried failures, other document types), sorted by date, written as Parquet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .identifiers import dmp_ids
from .params import A_CREATION, A_DELETION, A_UPDATE, ACTIONS, S_FAILURE, S_SUCCESS, STATUSES, Calendar, day_number
from .plans import Plan

_DICTIONARY_COLUMNS = ["ps_id", "type_code", "format_code", "status", "action", "event_date"]


@dataclass(frozen=True)
class Codes:
    types: tuple[str, ...]  # index 0 = SYNTH
    other_weights: np.ndarray  # weights of types[1:]
    recent_from: np.ndarray  # per type: earliest day (traces_start when not "recent")
    formats: tuple[str, ...]  # vsm, ips, pdf, text
    ips_type: str  # LOINC typeCode of IPS summaries (filed with the IPS formatCode)
    F_VSM: int = 0
    F_IPS: int = 1
    F_PDF: int = 2
    F_TEXT: int = 3


def make_codes(params: dict[str, Any], cal: Calendar) -> Codes:
    codes, other = params["codes"], params["other_documents"]
    type_names = [str(t) for t in other["types"]]
    weights = np.array([float(other["types"][t]) for t in other["types"]])
    recent = {str(k): day_number(v) for k, v in (other.get("recent_types") or {}).items()}
    recent_from = np.array([cal.traces_start] + [recent.get(t, cal.traces_start) for t in type_names])
    formats = (codes["structured_formats"]["vsm"], codes["structured_formats"]["ips"],
               codes["unstructured_formats"]["pdf"], codes["unstructured_formats"]["text"])
    return Codes(types=(str(codes["vsm_type"]), *type_names), other_weights=weights / weights.sum(),
                  recent_from=recent_from, formats=formats, ips_type=str(codes["ips_type"]))


def _rush_dates(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, share: float,
                scale: float) -> np.ndarray:
    """Uniform in [lo, hi], except a share counted back from hi (rush before the deadline)."""
    n = len(lo)
    uniform = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    rushed = hi - np.floor(rng.exponential(scale, n)).astype(np.int64)
    use_rush = (rng.random(n) < share) & (rushed >= lo)
    return np.where(use_rush, rushed, uniform)


def _vsm_formats(rng: np.random.Generator, p_struct: np.ndarray, switch_day: np.ndarray,
                 day: np.ndarray, sw: dict[str, Any], codes: Codes) -> np.ndarray:
    structured = (rng.random(len(day)) < p_struct) | (day >= switch_day)
    ips = (day >= day_number(sw["ips_from"])) & (rng.random(len(day)) < float(sw["ips_share"]))
    text = rng.random(len(day)) < float(sw["unstructured_text_share"])
    return np.where(structured, np.where(ips, codes.F_IPS, codes.F_VSM),
                    np.where(text, codes.F_TEXT, codes.F_PDF)).astype(np.int8)


def feeds_chunk(params: dict[str, Any], plan: Plan, lo: int, hi: int, cal: Calendar,
                 codes: Codes, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Rows of professionals [lo, hi) as integer columns (pro = global index)."""
    ad, sw, noise, other = params["adoption"], params["software"], params["vsm_noise"], params["other_documents"]
    sl = slice(lo, hi)
    n1, n2, n_post, n_pre = plan.n1[sl], plan.n2[sl], plan.n_post[sl], plan.n_pre_only[sl]
    n_idx = plan.n_index[sl]

    # ---- one row per (professional, DMP index): the first feed of that DMP
    local = np.repeat(np.arange(hi - lo), n_idx)
    pro = local + lo
    k = np.arange(len(local), dtype=np.int64) - np.repeat(np.cumsum(n_idx) - n_idx, n_idx)
    c1, c2 = n2[local], (n2 + n_post)[local]
    seg = np.select([k < n1[local], k < c1, k < c2, k < c2 + n_pre[local]], [0, 1, 2, 3], 4).astype(np.int8)
    start = plan.start[pro]

    win_lo = np.select(
        [seg == 0, seg == 1, seg == 2, seg == 3],
        [np.maximum(start, cal.obs_start), np.maximum(start, cal.deadline1 + 1), cal.deadline2 + 1,
         cal.traces_start],
        np.maximum(start, cal.traces_start),
    )
    win_hi = np.select([seg == 0, seg == 1, seg == 2, seg == 3],
                       [cal.deadline1, cal.deadline2, cal.traces_end, cal.obs_start - 1], cal.traces_end)
    win_lo = np.minimum(win_lo, win_hi)
    rush_share, rush_scale = ad["rush_share"], ad["rush_scale_days"]
    day = _rush_dates(rng, win_lo, win_hi, 0.0, 1.0)
    for s in (0, 1):
        m = seg == s
        day[m] = _rush_dates(rng, win_lo[m], win_hi[m], float(rush_share[s]), float(rush_scale[s]))

    dmp = plan.pool_start[pro] + k
    shared = (seg <= 1) & (pro > 0) & (rng.random(len(k)) < float(noise["share_with_neighbour"]))
    prev = np.maximum(pro - 1, 0)
    shared &= k < plan.pool_size[prev]
    dmp = np.where(shared, plan.pool_start[prev] + k, dmp)

    status = np.where(seg == 4, S_FAILURE, S_SUCCESS).astype(np.int8)
    action = np.full(len(k), A_CREATION, dtype=np.int8)
    fmt = _vsm_formats(rng, plan.p_struct[pro], plan.switch_day[pro], day, sw, codes)

    parts = []
    # Pilots: some P1 DMPs were already created in 2021-S2; the in-period feed is an update.
    dup = (seg == 0) & plan.pilot[pro] & (rng.random(len(k)) < float(ad["pre_dup_share"]))
    if dup.any():
        d_day = rng.integers(cal.traces_start, cal.obs_start, int(dup.sum()))
        parts.append((pro[dup], dmp[dup], d_day, fmt[dup], np.full(d_day.shape, S_SUCCESS),
                      np.full(d_day.shape, A_CREATION)))
        action[dup] = A_UPDATE
    parts.insert(0, (pro, dmp, day, fmt, status, action))

    base = np.flatnonzero(seg <= 2)
    # Updates of the same DMP (format drawn again: mixed software gives both formats).
    n_upd = rng.poisson(float(noise["updates_per_dmp"]), len(base))
    u = np.repeat(base, n_upd)
    u_day = day[u] + 1 + np.floor(rng.exponential(float(noise["update_delay_days"]), len(u))).astype(np.int64)
    keep = u_day <= cal.traces_end
    u, u_day = u[keep], u_day[keep]
    u_fmt = _vsm_formats(rng, plan.p_struct[pro[u]], plan.switch_day[pro[u]], u_day, sw, codes)
    parts.append((pro[u], dmp[u], u_day, u_fmt, np.full(len(u), S_SUCCESS), np.full(len(u), A_UPDATE)))
    # Deletions (successful, later).
    d = base[rng.random(len(base)) < float(noise["deletion_share"])]
    d_day = day[d] + 1 + np.floor(rng.exponential(float(noise["deletion_delay_days"]), len(d))).astype(np.int64)
    keep = d_day <= cal.traces_end
    d, d_day = d[keep], d_day[keep]
    parts.append((pro[d], dmp[d], d_day, fmt[d], np.full(len(d), S_SUCCESS), np.full(len(d), A_DELETION)))
    # A failed attempt shortly before a successful one.
    f = base[rng.random(len(base)) < float(noise["retry_failure_share"])]
    f_day = np.maximum(day[f] - rng.integers(0, 3, len(f)), cal.traces_start)
    parts.append((pro[f], dmp[f], f_day, fmt[f], np.full(len(f), S_FAILURE), action[f]))

    # ---- other document types
    n_oth = plan.n_other[sl]
    o_local = np.repeat(np.arange(hi - lo), n_oth)
    o_pro = o_local + lo
    m = len(o_pro)
    o_dmp = plan.pool_start[o_pro] + np.floor(rng.random(m) * plan.pool_size[o_pro]).astype(np.int64)
    o_type = (1 + rng.choice(len(codes.other_weights), m, p=codes.other_weights)).astype(np.int8)
    trend = rng.random(m) < float(other["trend_share"])
    # Increasing density: the max of two uniforms has a linearly increasing density.
    frac = np.where(trend, np.maximum(rng.random(m), rng.random(m)), rng.random(m))
    recent = codes.recent_from[o_type]
    o_day = recent + np.floor(frac * (cal.traces_end - recent + 1)).astype(np.int64)
    is_ips_doc = np.array([t == codes.ips_type for t in codes.types])[o_type]
    text = rng.random(m) < float(other["text_share"])
    o_fmt = np.where(is_ips_doc, codes.F_IPS, np.where(text, codes.F_TEXT, codes.F_PDF)).astype(np.int8)
    acts = other["actions"]
    aw = np.array([float(acts[a]) for a in ACTIONS])
    o_action = rng.choice(len(ACTIONS), m, p=aw / aw.sum()).astype(np.int8)
    o_status = (rng.random(m) < float(other["failure_share"])).astype(np.int8)

    cols = [np.concatenate(c) for c in zip(*parts)]
    v_pro, v_dmp, v_day, v_fmt, v_status, v_action = cols
    out = {
        "pro": np.concatenate([v_pro, o_pro]).astype(np.int64),
        "dmp": np.concatenate([v_dmp, o_dmp]).astype(np.int64),
        "day": np.concatenate([v_day, o_day]).astype(np.int32),
        "type": np.concatenate([np.zeros(len(v_pro), np.int8), o_type]).astype(np.int8),
        "format": np.concatenate([v_fmt, o_fmt]).astype(np.int8),
        "status": np.concatenate([v_status, o_status]).astype(np.int8),
        "action": np.concatenate([v_action, o_action]).astype(np.int8),
    }
    # A trace log: chronological within a file (stable, hence deterministic).
    order = np.lexsort((out["dmp"], out["pro"], out["day"]))
    return {key: value[order] for key, value in out.items()}


def feeds_table(rows: dict[str, np.ndarray], lo: int, hi: int, ps_ids: list[str],
                 codes: Codes, dmp_keys: tuple[int, int, int]) -> pa.Table:
    def dictionary(indices: np.ndarray, values: list[str] | tuple[str, ...]) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(list(values), pa.string()))

    return pa.table(
        {
            "ps_id": dictionary(rows["pro"] - lo, ps_ids[lo:hi]),
            "dmp_id": dmp_ids(rows["dmp"], dmp_keys),
            "event_date": pa.array(rows["day"]).cast(pa.date32()),
            "type_code": dictionary(rows["type"], codes.types),
            "format_code": dictionary(rows["format"], codes.formats),
            "status": dictionary(rows["status"], STATUSES),
            "action": dictionary(rows["action"], ACTIONS),
        }
    )


def write_feeds_chunk(table: pa.Table, path: Path, meta: dict[bytes, bytes]) -> None:
    # Dictionary-encoded in memory, plain `string` on disk: the Arrow schema is not stored,
    # so every reader (pyarrow, pandas, DuckDB) sees the declared string columns.
    with pq.ParquetWriter(path, table.schema, compression="zstd", store_schema=False,
                          use_dictionary=_DICTIONARY_COLUMNS) as writer:
        writer.write_table(table, row_group_size=1 << 20)
        writer.add_key_value_metadata({k.decode(): v.decode() for k, v in meta.items()})

