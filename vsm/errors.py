"""The one exception type users see: a French message, already worded for a person."""


class VsmError(Exception):
    """An error whose message (in French) is shown as is to the user."""


MAX_LISTED_ERRORS = 10


class InputErrors(VsmError):
    """Several problems in one input, each naming its row and column."""

    def __init__(self, source: str, problems: list[str], total: int | None = None):
        self.source = source
        self.problems = problems
        total = len(problems) if total is None else total
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_LISTED_ERRORS])
        more = f"\n  … et {total - MAX_LISTED_ERRORS} autre(s) erreur(s)" if total > MAX_LISTED_ERRORS else ""
        plural = "s" if total > 1 else ""
        super().__init__(f"Fichier « {source} » : {total} erreur{plural} de données :\n{shown}{more}")
