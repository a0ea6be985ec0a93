"""The forfait structure (vsm/structure/rules.py for now: split by stage in the next commit)."""

from .rules import *  # noqa: F401, F403
from .rules import _mean_eur  # noqa: F401 (vsm.cli_structure)
