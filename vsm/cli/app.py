"""The `vsm` command group: errors shown in French (« Erreur : … », exit code 2 for what a
user can cause, 130 for Ctrl-C, 1 for a defect, never a traceback unless ``--debug``).

The commands live in the modules of this package, one per command group, registered in
__init__.py. Each command imports the stages it calls inside its body: start-up time (`vsm
--help` or a usage error must answer without importing pandas, DuckDB or the reports).
"""

from __future__ import annotations

import errno
import os
import sys
import traceback

import click

from .. import __version__
from .._startup import french_click
from ..errors import VsmError


french_click(click)  # before any command is declared: some words are translated by the decorators

class ParamsDefault:
    """An option's default read from params/ (a rule-set id) when a command runs or its --help
    shows it, not each time the CLI starts: ``read`` is called then (str() for --help)."""

    def __init__(self, read):
        self.read = read

    def __call__(self) -> str:
        return self.read()

    __str__ = __call__


def vsm_rules_default() -> str:
    from ..paths import default_rules  # params/vsm.yml

    return default_rules()


def structure_rules_default() -> str:
    from ..structure.defaults import default_structure_rules  # params/structure.yml; no pydantic at start-up

    return default_structure_rules()


VSM_RULES = ParamsDefault(vsm_rules_default)
STRUCTURE_RULES = ParamsDefault(structure_rules_default)

_DEBUG = {"on": os.environ.get("VSM_DEBUG", "") not in ("", "0")}


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _DEBUG["on"] = True


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C, wherever it landed: in Python, or inside a DuckDB query (« Query interrupted »)."""
    import duckdb  # start-up time: only once an error happened (0.2 s that `vsm --help` does not pay)

    if isinstance(exc, (KeyboardInterrupt, click.exceptions.Abort)):
        return True
    return isinstance(exc, (duckdb.InterruptException, RuntimeError)) and "interrupted" in str(exc).lower()


def _os_error_text(exc: OSError) -> str:
    """An operating-system error in French: what happened, and to which file."""
    what = {
        errno.ENOSPC: "plus de place sur le disque",
        errno.EACCES: "permission refusée",
        errno.EPERM: "opération non permise",
        errno.EROFS: "système de fichiers en lecture seule",
        errno.ENOENT: "fichier ou dossier introuvable",
        errno.EEXIST: "existe déjà",
        errno.EISDIR: "c'est un dossier",
        errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
        errno.ENOTEMPTY: "dossier non vide",
        errno.EDQUOT: "quota disque dépassé",
        errno.EMFILE: "trop de fichiers ouverts",
    }.get(exc.errno, exc.strerror or type(exc).__name__)
    names = [n for n in (exc.filename, exc.filename2) if n]
    where = " → ".join(f"« {n} »" for n in names)
    return f"{what}{' : ' + where if where else ''}"


class FrenchGroup(click.Group):
    """Turns VsmError into « Erreur : … » and exit code 2, click's usage errors into French,
    Ctrl-C into « Interrompu. » (130), and any other error into a French message (exit 1),
    never a traceback unless ``vsm --debug`` (or VSM_DEBUG=1) asks for it."""

    def main(self, *args, **kwargs):  # noqa: D401
        kwargs.setdefault("standalone_mode", True)
        try:
            return super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.exceptions.ClickException as exc:
            sys.exit(self._usage_error(exc))
        except BaseException as exc:  # noqa: BLE001 — the last resort: every error a user can cause
            if isinstance(exc, SystemExit):
                raise
            if _DEBUG["on"]:
                traceback.print_exception(exc)
            if _interrupted(exc):
                click.echo("Interrompu (Ctrl-C) : la commande s'est arrêtée avant la fin ; la relancer.", err=True)
                sys.exit(130)
            if isinstance(exc, VsmError):
                click.echo(f"Erreur : {exc}", err=True)
                sys.exit(2)
            if isinstance(exc, OSError):
                click.echo(f"Erreur : {_os_error_text(exc)}.", err=True)
            elif isinstance(exc, MemoryError):
                click.echo("Erreur : mémoire insuffisante pour cette commande.", err=True)
            else:
                detail = str(exc).splitlines()[0] if str(exc) else ""
                click.echo(
                    f"Erreur inattendue ({type(exc).__name__}{' : ' + detail if detail else ''}). "
                    "C'est sans doute un défaut de vsm : relancer avec « vsm --debug … » pour voir le détail "
                    "et le signaler.",
                    err=True,
                )
            sys.exit(1)

    @staticmethod
    def _usage_error(exc: click.exceptions.ClickException) -> int:
        if isinstance(exc, click.exceptions.NoSuchOption):
            click.echo(f"Erreur : option inconnue « {exc.option_name} ». Voir « vsm --help ».", err=True)
        elif isinstance(exc, click.exceptions.MissingParameter):
            name = exc.param.opts[0] if exc.param is not None and exc.param.opts else "?"
            click.echo(f"Erreur : paramètre obligatoire manquant : {name}. Voir « vsm --help ».", err=True)
        elif isinstance(exc, click.exceptions.BadParameter):
            click.echo(f"Erreur : {exc.format_message()}", err=True)
        elif isinstance(exc, click.exceptions.UsageError):
            click.echo(f"Erreur : {exc.format_message()} Voir « vsm --help ».", err=True)
        else:
            click.echo(f"Erreur : {exc.format_message()}", err=True)
            return exc.exit_code or 1
        return 2


@click.group(cls=FrenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vsm", message="%(prog)s %(version)s")
@click.option(
    "--debug", is_flag=True, is_eager=True, expose_value=False, callback=_set_debug,
    help="En cas d'erreur, afficher aussi la trace technique (pour signaler un défaut).",
)
def cli() -> None:
    """Forfait VSM : calcul, explication et restitution."""
