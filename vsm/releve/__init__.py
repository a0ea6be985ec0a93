"""The individual statement (« relevé ») of one professional, and the caisse's list of the
professionals within reach of the next step (« a_accompagner.csv »).

Nothing is computed twice: the figures of each period come from the batch's results files
(vsm.results layout, ``<results>/<period>/resultats.parquet``), the step-by-step text is
:func:`vsm.explain.explain_row` (what ``vsm explain`` prints), and every « what would have
been needed » figure goes through the forfait itself:

* the number of DMPs (or structured VSMs) lacking is the smallest integer ``n`` such that
  ``(count + n) / denominator`` meets the threshold, decided by :func:`vsm.forfait.meets`
  (exact integer cross-products), and checked at ``n`` and ``n - 1``;
* the euros at stake are :func:`vsm.forfait.compute_columns` run again on the counts with
  ``n`` added, minus what is payable now (the complement for a complementary period).

Each gap is « all else equal »: the next tier with ``n`` more DMPs fed (structured VSMs
when the structured share already meets the majoration threshold, so that it stays met;
plain VSMs otherwise), or the majoration with ``n`` of the DMPs already fed receiving a
structured VSM (the DMP count, hence the tier, unchanged).

The stages, each importing only the ones before it: gaps (exact, through the forfait) and
settings → content (one statement) → notebook (what notebooks/releve.ipynb shows) and
accompaniment (the list) → batch (statements written in batches, ``vsm releve``).

A statement is personal: it shows the professional's own counts, so statistical secrecy
(which protects published aggregates) does not apply; it holds no patient identifier.
"""

from .accompaniment import write_accompaniment
from .notebook import Statements

__all__ = ["Statements", "write_accompaniment"]
