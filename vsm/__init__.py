"""vsm — calcul, explication et restitution du forfait VSM (volet de synthèse médicale).

The packages follow the data flow (README, « Architecture »): rules (params/) → ingest
(inputs validated) → aggregate (traces → counts) → forfait (pure computation) → explain →
store (results and manifest) → notebooks (papermill) → render (reports/); cli/ is the command.
"""

from ._startup import quiet_interrupt_while_starting

# Kept equal to pyproject.toml's version (tests/unit/test_version.py); not read from the installed
# metadata, which costs 40 ms at every start of the command line.
__version__ = "0.1.0"

quiet_interrupt_while_starting()
