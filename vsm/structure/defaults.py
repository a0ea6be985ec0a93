"""Which forfait structure rule set applies when none is named: ``rules`` in params/structure.yml.

Apart from the rule set's model (vsm.structure.rules) so that the CLI can show the default in
its --help without importing pydantic.
"""

from __future__ import annotations

from ..paths import named_default

DEFAULTS_FILE = "structure.yml"  # params/structure.yml: the rule set used when none is named


def default_structure_rules() -> str:
    """The id of the rule set used when none is named (``rules`` in params/structure.yml):
    the default of ``vsm structure --rules`` and the forfait structure of the reports."""
    return named_default(DEFAULTS_FILE, "rules/structure")
