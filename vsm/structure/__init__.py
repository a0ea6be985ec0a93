"""The forfait structure 2023 beside the forfait VSM, through the same stages:

  rules    the rule set (params/rules/structure/), its model, its default (params/structure.yml)
  inputs   one row per professional, validated (exact rates)
  compute  each indicator met or not, points per volet, euros: pure and exact
  explain  the computation in French, step by step, and the rule set with its sources
  summary  the figures of a region, for the reports
  synth    synthetic indicators for the médecins of a VSM patientèle (demo and tests)

Each module imports only the ones above it (import-linter contract in pyproject.toml).
This file re-exports their public names for the notebooks and tests (``from vsm.structure
import compute_structure``); inside vsm/, import from the module that owns the name.
"""

from .compute import (
    SUMMARY_COLUMNS,
    compute_structure,
    met_column,
    points_column,
    services_column,
    total_eur,
)
from .explain import describe_structure_rules, explain_structure, explain_structure_row
from .inputs import (
    NO,
    RATE_CONVENTION,
    STRUCTURE_SCHEMA,
    YES,
    InputColumn,
    input_columns,
    rate_fractions,
    read_structure_input,
    validate_structure_input,
)
from .rules import (
    Criterion,
    Service,
    StructureIndicator,
    StructureRuleSet,
    default_structure_rules,
    list_structure_rules,
    load_structure_rules,
    structure_rules_dir,
)
from .summary import regional_summary
from .synth import (
    SYNTH_PARAMS_FILE,
    load_structure_synth_params,
    patientele_medecins,
    synth_indicators,
    synth_medecins,
    synthesize_structure,
)

__all__ = [
    "NO", "RATE_CONVENTION", "STRUCTURE_SCHEMA", "SUMMARY_COLUMNS", "SYNTH_PARAMS_FILE", "YES",
    "Criterion", "InputColumn", "Service", "StructureIndicator", "StructureRuleSet",
    "compute_structure", "default_structure_rules", "describe_structure_rules",
    "explain_structure", "explain_structure_row", "input_columns", "list_structure_rules",
    "load_structure_rules", "load_structure_synth_params", "met_column",
    "patientele_medecins", "points_column", "rate_fractions", "read_structure_input",
    "regional_summary", "services_column", "structure_rules_dir", "synth_indicators",
    "synth_medecins", "synthesize_structure", "total_eur", "validate_structure_input",
]
