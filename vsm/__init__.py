"""vsm — calcul, explication et restitution du forfait VSM (volet de synthèse médicale).

Pipeline stages, one module each:
rules (params/) → inputs (validated) → aggregate (traces → counts) → forfait (pure
computation) → explain → results → notebooks (papermill) → render (reports/).
"""

# Kept equal to pyproject.toml's version (tests/test_version.py); not read from the installed
# metadata, which costs 40 ms at every start of the command line.
__version__ = "0.1.0"
