"""`python -m vsm.cli`: the `vsm` command."""

from . import main

main()
