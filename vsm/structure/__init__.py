"""The forfait structure 2023 beside the forfait VSM, through the same stages:

  defaults the rule set used when none is named (params/structure.yml)
  rules    the rule set (params/rules/structure/): its model, validated when loaded
  inputs   one row per professional, validated (exact rates)
  compute  each indicator met or not, points per volet, euros: pure and exact
  explain  the computation in French, step by step, and the rule set with its sources
  summary  the figures of a region, for the reports
  synth    synthetic indicators for the médecins of a VSM patientèle (demo and tests)

Each module imports only the ones above it (import-linter contract in pyproject.toml).
This file re-exports their public names for the notebooks and tests (``from vsm.structure
import compute_structure``); inside vsm/, import from the module that owns the name.
"""

from __future__ import annotations

import importlib
from typing import Any

# name → the module that owns it. Start-up cost: a name's module is imported when the name is
# first used (PEP 562), so that `vsm structure … --help` reads the default rule set through
# vsm.structure.defaults without importing pydantic or pandas, and `vsm structure show` runs
# without importing vsm.synth.
_OWNERS = {
    **dict.fromkeys(("Criterion", "Service", "StructureIndicator", "StructureRuleSet",
                     "list_structure_rules", "load_structure_rules", "structure_rules_dir"), "rules"),
    **dict.fromkeys(("DEFAULTS_FILE", "default_structure_rules"), "defaults"),
    **dict.fromkeys(("NO", "RATE_CONVENTION", "STRUCTURE_SCHEMA", "YES", "InputColumn", "input_columns",
                     "rate_fractions", "read_structure_input", "validate_structure_input"), "inputs"),
    **dict.fromkeys(("SUMMARY_COLUMNS", "compute_structure", "met_column", "points_column", "services_column",
                     "total_eur"), "compute"),
    **dict.fromkeys(("describe_structure_rules", "explain_structure", "explain_structure_row"), "explain"),
    **dict.fromkeys(("regional_summary",), "summary"),
    **dict.fromkeys(("SYNTH_PARAMS_FILE", "load_structure_synth_params", "patientele_medecins", "synth_indicators",
                     "synth_medecins", "synthesize_structure"), "synth"),
}

__all__ = sorted(_OWNERS)


def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{owner}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
