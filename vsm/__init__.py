"""vsm — calcul, explication et restitution du forfait VSM (volet de synthèse médicale).

Pipeline stages, one module each:
rules (params/) → inputs (validated) → aggregate (traces → counts) → forfait (pure
computation) → explain → results → notebooks (papermill) → render (reports/).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vsm")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"
