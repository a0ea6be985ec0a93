"""Every start-up trick of the `vsm` command, in one place, each with its reason.

A command-line run is short: a few tenths of a second saved at start and at exit are felt on
every call (`vsm --help`, a usage error, `vsm releve` run in a loop). Nothing here changes
what a command computes or prints. This module imports nothing at load time but the standard
library's lightest modules: `import vsm` (a notebook) pays none of it.

- ``quiet_interrupt_while_starting``: Ctrl-C during the imports → « Interrompu », exit 130;
- ``french_click``: click's own words in French, patched into click's modules;
- ``before_command``: collector threshold, OpenBLAS threads, DuckDB preloaded under the handler;
- ``leave``: exit without the interpreter's teardown;
- ``warm_up``: numpy and the forfait imported in a thread while DuckDB reads the extracts.
"""

from __future__ import annotations

import gc
import importlib
import os
import signal
import sys
import threading
from types import ModuleType

# --------------------------------------------------------------------------- Ctrl-C while importing


def quiet_interrupt_while_starting() -> None:
    """Ctrl-C while the `vsm` command is still importing its modules: « Interrompu », exit 130,
    no traceback (``before_command`` puts Python's own handler back once the command can handle
    it). Only for the console script: a program importing vsm keeps its own handler."""
    if os.path.basename(sys.argv[0] if sys.argv else "") != "vsm":
        return
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return

    def interrupted(signum, frame):  # noqa: ANN001
        os.write(2, "Interrompu (Ctrl-C) pendant le démarrage.\n".encode())
        os._exit(130)

    signal.signal(signal.SIGINT, interrupted)


# --------------------------------------------------------------------------- click in French

# click's own words (help headings, usage, built-in options) in French: click passes them
# through gettext's ``_``, which each of its modules imported; we give those modules ours
# (click has no catalogue of its own, and a gettext catalogue would be read at every start).
CLICK_FR = {
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Commands": "Commandes",
    "Positional arguments": "Arguments",
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Show the version and exit.": "Afficher la version et quitter.",
    "required": "obligatoire",
    "default: {default}": "défaut : {default}",
    "Try '{command} {option}' for help.": "Voir « {command} {option} ».",
    "Error: {message}": "Erreur : {message}",
    "Aborted!": "Interrompu.",
    "Missing command.": "Commande manquante.",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "Choose from:\n\t{choices}": "Valeurs possibles :\n\t{choices}",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un {number_type} valide.",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "Invalid value for {param_hint}: {message}": "valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "valeur invalide : {message}",
    "{value!r} is not {choice}.": "{value!r} n'est pas {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} ne fait pas partie de {choices}.",
}


def _fr(message: str) -> str:
    return CLICK_FR.get(message, message)


def _fr_n(singular: str, plural: str, n: int) -> str:
    return _fr(singular if n == 1 else plural)


def french_click(click: ModuleType) -> None:
    """Patch ``click`` (the module, passed by the command's module, which imports it) before any
    command is declared: some words are translated when a decorator runs."""
    for module in (click.core, click.formatting, click.decorators, click.exceptions, click.types, click.parser):
        if hasattr(module, "_"):
            module._ = _fr
        if hasattr(module, "ngettext"):
            module.ngettext = _fr_n
    # the types' names, fixed when click was imported: « integer » in errors, INTEGER in the help
    for kind, name in ((click.INT, "entier"), (click.FLOAT, "nombre décimal"), (click.BOOL, "booléen"), (click.STRING, "texte")):
        kind.name = name


# --------------------------------------------------------------------------- start and end of a command

# the commands that use DuckDB, whose native module is loaded before Ctrl-C is given back to Python
DUCKDB_COMMANDS = {"compute", "explain", "run", "reports", "structure"}


def before_command() -> None:
    """Called by the console script, before click parses the arguments."""
    # A short-lived command: the cyclic garbage collector would spend a quarter of a second
    # walking the objects that pandas, numpy and pyarrow create at import; collect rarely.
    gc.set_threshold(100_000, 50, 100)
    # numpy's OpenBLAS would start a thread per core that spins while DuckDB works; we do no
    # linear algebra.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, signal.default_int_handler):
        # still quiet_interrupt_while_starting's handler (Ctrl-C: « Interrompu », exit 130): keep
        # it while DuckDB's native module loads for the commands that need it (an import it
        # interrupts aborts the whole process), then let Python raise KeyboardInterrupt
        if set(sys.argv[1:]) & DUCKDB_COMMANDS:
            importlib.import_module("duckdb")
        signal.signal(signal.SIGINT, signal.default_int_handler)


def leave(code: int | str | None) -> None:
    """Flush and exit with ``code`` (a text: printed on stderr, exit 1).

    Every output is written (atomically) and every worker has finished by now: leave without
    the interpreter's teardown (os._exit), whose last garbage collection over the objects of
    pandas, numpy and pyarrow takes a quarter of a second."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (« vsm … | head »): nothing more to say
            pass
    os._exit(code or 0)


# --------------------------------------------------------------------------- warming imports

# numpy (the forfait) takes a tenth of a second to import: a thread imports it while DuckDB
# reads the extracts (DuckDB releases the GIL while it works). Computing and writing Parquet
# results needs neither pandas nor pyarrow: they are imported only for CSV files and
# DataFrame views (reports, explanations). By name: this module sits below the stages it warms.
WARMED_MODULES = ("vsm.forfait", "vsm.store")


def _import_compute_modules() -> None:
    for name in WARMED_MODULES:
        importlib.import_module(name)


def warm_up() -> threading.Thread:
    thread = threading.Thread(target=_import_compute_modules, name="imports", daemon=True)
    thread.start()
    return thread
