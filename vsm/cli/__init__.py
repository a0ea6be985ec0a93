"""The `vsm` command: one module per command group, registered here on the group (app.py).

Thin: parse arguments, call the pipeline stages, print in French. Every error is a French
message on stderr with a non-zero exit code, and no output file is left behind (outputs are
written to a temporary file, then renamed).
"""

from __future__ import annotations

from .._startup import before_command, leave
from . import compute, releve, render, reports, rules, simulate, structure  # noqa: F401 (compute, rules: declared on ``cli``)
from .app import cli

for _command in (structure.structure, reports.reports, render.render, simulate.simulate, releve.releve):
    cli.add_command(_command)

__all__ = ["cli", "main"]


def main() -> None:
    """The console script (pyproject: ``vsm = "vsm.cli:main"``)."""
    before_command()
    code: int | str | None = 0
    try:
        cli(prog_name="vsm")
    except SystemExit as exc:
        code = exc.code
    leave(code)

