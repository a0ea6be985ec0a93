"""``synthesize``: the synthetic extracts generated in a temporary sibling folder, then moved
into place (the random streams, the files, the summary)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from tqdm import tqdm

from ..errors import VsmError
from .feeds import feeds_chunk, feeds_table, make_codes, write_feeds_chunk
from .params import CENTRE, MEDECIN, SPECIALISTE, Calendar, load_synth_params, scale_spec
from .plans import make_plan
from .professionals import make_professionals, patientele_table

def synthesize(out_dir: Path, scale: str = "demo", seed: int = 2024, progress: bool = False) -> dict:
    """Write DIR/feeds/part-NNNNN.parquet (a folder of Parquet files) and DIR/patientele.parquet.

    Return a summary dict: {"scale", "seed", "feeds_rows", "feeds_files", "patientele_rows",
    "professionals", "centres", "seconds"} plus "professionals_without_patientele" and
    "out_dir". ``professionals`` counts the médecins with a patientèle; ``centres`` the centres
    de santé. Output is generated in a temporary sibling folder and moved into place only when
    complete: an existing out_dir keeps its other files, and its feeds/ and patientele.parquet
    are replaced only on success.
    """
    t0 = time.perf_counter()
    params = load_synth_params()
    spec = scale_spec(params, scale)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VsmError(f"Graine invalide : « {seed} ». Donner un entier positif ou nul.")
    seed = int(seed)
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise VsmError(f"« {out_dir} » existe et n'est pas un dossier.")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_dir.parent / f".{out_dir.name}.synth-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
    except OSError as exc:
        raise VsmError(f"Impossible de créer le dossier de sortie « {out_dir} » : {exc.strerror or exc}.") from exc

    try:
        summary = _generate(tmp, params, spec, scale, seed, progress)
        _install(tmp, out_dir)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise VsmError(f"Écriture des données synthétiques impossible dans « {out_dir} » : "
                           f"{exc.strerror or exc}. Aucun fichier n'a été modifié.") from exc
        raise
    summary["out_dir"] = str(out_dir)
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return summary


def _install(tmp: Path, out_dir: Path) -> None:
    """Move a complete generation into place (feeds/ and patientele.parquet only)."""
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    feeds, backup = out_dir / "feeds", out_dir / f".feeds.old-{uuid.uuid4().hex[:8]}"
    had_feeds = feeds.exists()
    if had_feeds:
        os.rename(feeds, backup)
    try:
        os.rename(tmp / "feeds", feeds)
        os.replace(tmp / "patientele.parquet", out_dir / "patientele.parquet")
    except BaseException:
        if feeds.exists() and had_feeds:
            shutil.rmtree(feeds, ignore_errors=True)
        if had_feeds:
            os.rename(backup, feeds)
        raise
    if had_feeds:
        shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _generate(tmp: Path, params: dict[str, Any], spec: dict[str, Any], scale: str, seed: int,
              progress: bool) -> dict:
    cal = Calendar.from_params(params["calendar"])
    codes = make_codes(params, cal)
    ss_pros, ss_plan, ss_keys, ss_chunks = np.random.SeedSequence(seed).spawn(4)
    pros = make_professionals(params, spec, cal, np.random.default_rng(ss_pros))
    plan = make_plan(params, pros, cal, np.random.default_rng(ss_plan))
    key_rng = np.random.default_rng(ss_keys)
    dmp_keys = (int(key_rng.integers(1, 1 << 39)) * 2 + 1, int(key_rng.integers(1, 1 << 39)) * 2 + 1,
                int(key_rng.integers(0, 1 << 40)))
    meta = {b"vsm.synthetic": b"true", b"vsm.synth.scale": scale.encode(), b"vsm.synth.seed": str(seed).encode()}

    patientele = patientele_table(pros, cal, meta)
    pq.write_table(patientele, tmp / "patientele.parquet", compression="zstd")

    n = len(pros.kind)
    per_file = max(1, int(spec["professionals_per_file"]))
    bounds = [(lo, min(lo + per_file, n)) for lo in range(0, n, per_file)]
    chunk_seeds = ss_chunks.spawn(len(bounds))
    feeds_dir = tmp / "feeds"
    feeds_dir.mkdir()
    bar = None
    if progress:
        bar = tqdm(total=len(bounds), desc="Traces d'alimentation DMP", unit="fichier")
    feeds_rows = 0
    try:
        for i, ((lo, hi), chunk_seed) in enumerate(zip(bounds, chunk_seeds)):
            rows = feeds_chunk(params, plan, lo, hi, cal, codes, np.random.default_rng(chunk_seed))
            table = feeds_table(rows, lo, hi, pros.ps_id, codes, dmp_keys)
            del rows
            write_feeds_chunk(table, feeds_dir / f"part-{i:05d}.parquet", meta)
            feeds_rows += table.num_rows
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"{feeds_rows:,} lignes".replace(",", "\u202f"))
    finally:
        if bar is not None:
            bar.close()

    return {
        "scale": scale,
        "seed": seed,
        "feeds_rows": int(feeds_rows),
        "feeds_files": len(bounds),
        "patientele_rows": patientele.num_rows,
        "professionals": int((pros.kind == MEDECIN).sum()),
        "centres": int((pros.kind == CENTRE).sum()),
        "professionals_without_patientele": int((pros.kind == SPECIALISTE).sum()),
        "seconds": 0.0,
    }
