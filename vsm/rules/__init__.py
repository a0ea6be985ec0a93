"""Rule sets: dated values with their sources, read from params/rules/*.yml and validated.

A rule set is data (OpenFisca-style parameters with references): every threshold, amount,
date and weight comes from a YAML file, each value with the seed file and passage it comes
from. Code never hard-codes them. Shares are kept as exact fractions and money as Decimal.

- model.py: the typed values (Source, Conflict, Share, Money, the parameter nodes, RuleSet);
- loader.py: reading the files (``base`` inheritance), validation with French messages.
"""

from .loader import list_rules, load_raw, load_rules, read_rules_file, validation_message
from .model import (
    BoolParam,
    Conflict,
    Money,
    Param,
    Period,
    PositiveIntParam,
    RuleSet,
    Share,
    Source,
    StrictModel,
    ThresholdParam,
    parse_fraction,
)

__all__ = [
    "BoolParam",
    "Conflict",
    "Money",
    "Param",
    "Period",
    "PositiveIntParam",
    "RuleSet",
    "Share",
    "Source",
    "StrictModel",
    "ThresholdParam",
    "list_rules",
    "load_raw",
    "load_rules",
    "parse_fraction",
    "read_rules_file",
    "validation_message",
]
