"""What notebooks/releve.ipynb shows, for one or many professionals in one kernel, each
output tagged with its ps_id (vsm/releve/batch.py splits the executed notebook by that tag)."""

from __future__ import annotations

from typing import Sequence

from ..display import Prose
from ..errors import VsmError
from .content import load_batch, statement

OUTPUT_KEY = "vsm_releve"  # metadata of each display output: the ps_id it belongs to


class Statements:
    """What notebooks/releve.ipynb shows, for one or many professionals at once: each cell
    displays its part of every statement, each output tagged with its ps_id, so that one
    kernel executes a whole batch and :func:`split_notebook` gives each statement its own
    notebook, identical to a run for that professional alone."""

    def __init__(self, rules, results_dir, ps_ids: Sequence[str] | str, contact_file: str | None = None):
        if not isinstance(ps_ids, (list, tuple)):
            ps_ids = [ps_ids]
        for item in ps_ids:
            if not isinstance(item, str):  # papermill « -p ps_id 0100… » arrives as an int, leading zeros lost
                raise VsmError(
                    f"Identifiant « {item} » reçu comme un nombre : le passer comme texte (papermill : « -r ps_id {item} »), "
                    "un identifiant peut commencer par 0."
                )
        ids = [i.strip() for i in ps_ids if i.strip()]
        if not ids:
            raise VsmError("Aucun identifiant de professionnel donné (paramètre ps_id ou ps_ids).")
        self.batch = load_batch(rules, results_dir, contact_file or None)
        self.items = [statement(self.batch, ps_id) for ps_id in ids]

    @property
    def periods(self) -> list[str]:
        return list(self.batch.rules.periods)

    def _show(self, make) -> None:
        # IPython only in the notebook's kernel: « vsm releve » and « vsm reports » import this package
        from IPython.display import display

        for item in self.items:
            shown = make(item)
            for obj in shown if isinstance(shown, list) else [shown]:
                display(obj, metadata={OUTPUT_KEY: item.ps_id})

    def title(self) -> None:
        self._show(lambda s: Prose(f"# {s.facts()['title']}"))

    def header(self) -> None:
        self._show(lambda s: s.header())

    def period(self, period: str) -> None:
        self._show(lambda s: s.period_section(period))

    def every_period(self) -> None:
        for period in self.periods:
            self.period(period)

    def contact(self) -> None:
        self._show(lambda s: Prose(s.contact_markdown()))

    def facts(self) -> dict:
        return {s.ps_id: s.facts() for s in self.items}

