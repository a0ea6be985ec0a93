"""Synthetic extracts: SI-Pilotage DMP feed traces and patientèle "médecin traitant" snapshots.

``synthesize(out_dir, scale, seed)`` writes::

    out_dir/feeds/part-00000.parquet, part-00001.parquet, ...   one row per feed attempt
    out_dir/patientele.parquet                                  one row per professional × snapshot

Every tunable figure lives in ``params/synth.yml`` with its source or labelled as an
assumption. The output is deterministic for a given seed (byte-identical Parquet files with
the same library versions): all randomness comes from ``numpy.random.SeedSequence(seed)``,
spawned once for the professionals, once for their plans and once per output file.

Model, in short (details and figures in synth.yml):

* professionals: médecins (RPPS with a Luhn key), centres de santé (FINESS-like, starting with
  the département code) and a few RPPS "specialists" who feed VSMs but have no patientèle row;
  regions weighted by ``poids_medecins`` (regions.yml), largest-remainder allocation;
* patientèle MT per semestrial snapshot: Weibull (médecins) or lognormal (centres) base size,
  multiplicative drift; ALD count binomial with a per-professional beta-distributed share;
* each professional gets a plan: adopter or not, coverage reached at the end of P2, progress at
  the end of P1 (early/late adopters), start date, software profile (structured/unstructured/
  mixed, possible switch to structured), volume of other documents;
* each DMP index ``k`` of a professional belongs to one segment: fed first in P1, first in
  P2, after P2, only before 2022, only failures. Updates, deletions, retried failures and
  other document types are added around them. Rows are then sorted by date within a file.

The stages, each importing only the ones before it: params (synth.yml, schemas, calendar) →
identifiers → professionals (and their patientèle) → plans → feeds → generate (``synthesize``).
"""

from .generate import synthesize
from .params import (
    FEEDS_SCHEMA,
    MEDECIN,
    PATIENTELE_SCHEMA,
    Calendar,
    documented_scales,
    load_synth_params,
    scale_spec,
)
from .professionals import make_professionals

__all__ = [
    "FEEDS_SCHEMA", "MEDECIN", "PATIENTELE_SCHEMA", "Calendar", "documented_scales", "load_synth_params",
    "make_professionals", "scale_spec", "synthesize",
]
