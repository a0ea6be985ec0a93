"""Display helpers shared by the notebooks' modules (methodology, report)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prose:
    """French Markdown text: rendered in a notebook, its source everywhere else (never an
    English placeholder such as « <IPython.core.display.Markdown object> »)."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text
