"""vsm — calcul, explication et restitution du forfait VSM (volet de synthèse médicale).

Pipeline stages, one module each:
rules (params/) → inputs (validated) → aggregate (traces → counts) → forfait (pure
computation) → explain → results → notebooks (papermill) → render (reports/).
"""

# Kept equal to pyproject.toml's version (tests/test_version.py); not read from the installed
# metadata, which costs 40 ms at every start of the command line.
__version__ = "0.1.0"


def _quiet_interrupt_while_starting() -> None:
    """Ctrl-C while the `vsm` command is still importing its modules: « Interrompu », exit 130,
    no traceback (cli.main puts Python's own handler back once the command can handle it).
    Only for the console script: a program importing vsm keeps its own handler."""
    import os
    import signal
    import sys

    if os.path.basename(sys.argv[0] if sys.argv else "") != "vsm":
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return

    def interrupted(signum, frame):  # noqa: ANN001
        os.write(2, "Interrompu (Ctrl-C) pendant le démarrage.\n".encode())
        os._exit(130)

    signal.signal(signal.SIGINT, interrupted)


_quiet_interrupt_while_starting()
