"""Regional and national reports of a batch's results: every figure, table and chart that
notebooks/rapport_regional.ipynb and notebooks/synthese_nationale.ipynb show.

The notebooks narrate (their headings and prose are markdown cells) and display; the logic
is here, unit tested. A notebook reads the batch's results file (one row per professional,
national) and filters its region: the national aggregation is never redone per report.

Modules, each importing only the ones before it:

* ``display`` — typed cells (:class:`Headcount`…), the one plain-text table, :class:`Table`,
  :class:`Chart`;
* ``data`` — the results folder, the manifest, the scopes, the shared constants;
* ``plan`` — groups of professionals and the statistical-secrecy plan; :func:`publish`,
  the single place where tables become French text and masked cells « s »;
* ``figures`` — key figures and the typed tables; ``charts`` — the histograms and the
  charts by region; ``titles`` — title block and introduction sentences;
* ``structure`` — the forfait structure section; ``regional``, ``national`` — the two
  reports; ``methodology``, ``demos`` — what notebooks/methodologie.ipynb shows.

Charts are published counts too: their bars are merged so that each holds 0 or more than
the secrecy threshold, their segments are groups of the plan, and a chart is not drawn for
fewer than :func:`chart_minimum` professionals. Worked explanations (« Professionnel A, B,
C ») are shown only for regions of more than the threshold, for professionals whose patient
counts shown are 0 or more than it. No report ever shows a professional's or a patient's
identifier; the per-professional payment list is the separate paiements.csv
(vsm.publish.payments.write_payments), never in a report.

This package re-exports the names the notebooks and the report tests use; inside vsm/,
import from the module that owns a name.
"""

from ..display import Prose, md_escape  # noqa: F401
from ..money import mean_eur, median_eur  # noqa: F401
from ..rules.words import band_label, methodology_frame, source_label  # noqa: F401
from .charts import (  # noqa: F401
    all_masked,
    count_axis,
    merged_bars,
    new_figure,
    not_drawn,
    percent_axis,
    secret_caption,
)
from .data import (  # noqa: F401
    KEPT_REASONS,
    NATIONAL,
    NATIONAL_NAME,
    load_period,
    region_rows,
    resolve_path,
)
from .display import Chart, Headcount, Table, chart_minimum, count_table, small, symbol, threshold  # noqa: F401
from .figures import (  # noqa: F401
    KeyFigures,
    exclusions_frame,
    figure_text,
    key_figures,
    key_figures_frame,
    near_threshold_frame,
    region_vs_national_frame,
    table,
    tier_majoration_frame,
    without_patientele_frame,
)
from .national import NationalReport, national_report, regions_frame  # noqa: F401
from .plan import (  # noqa: F401
    Population,
    Secrecy,
    counted,
    couple_regions,
    population,
    publish,
    region_scopes,
    secrecy_plan,
    share_segments,
    tied,
    typed_frame,
    vsm_groups,
)
from .regional import RegionalReport, cases_markdown, regional_report, worked_cases  # noqa: F401
from .titles import scope_markdown, title_facts, title_markdown  # noqa: F401
from ..rules.words import threshold_percent  # noqa: F401

__all__ = [
    "couple_regions",
    "Chart",
    "Headcount",
    "KeyFigures",
    "NationalReport",
    "Prose",
    "RegionalReport",
    "Secrecy",
    "Table",
    "key_figures",
    "national_report",
    "publish",
    "regional_report",
    "secrecy_plan",
]
