"""French regions (two-character INSEE codes) read from params/regions.yml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


from .errors import VsmError
from .paths import load_yaml, params_dir


@dataclass(frozen=True)
class Region:
    code: str
    nom: str
    caisse: str
    departements: tuple[str, ...]
    poids_medecins: float


@lru_cache(maxsize=None)
def load_regions() -> dict[str, Region]:
    """All regions, keyed by their two-character INSEE code, in code order."""
    path = params_dir() / "regions.yml"
    data = load_yaml(path.read_text(encoding="utf-8"))
    regions = {}
    for item in data["regions"]:
        code = str(item["code"])
        regions[code] = Region(
            code=code,
            nom=item["nom"],
            caisse=item["caisse"],
            departements=tuple(str(d) for d in item["departements"]),
            poids_medecins=float(item["poids_medecins"]),
        )
    return dict(sorted(regions.items()))


def region_codes() -> list[str]:
    return list(load_regions())


def normalize_region(value: object) -> str:
    """A region code as given by a user → its two-character INSEE code, or a French error.

    Papermill and shells turn ``04`` into the integer 4: an integer is rejected with a hint,
    because silently padding would hide a typing mistake in a batch definition.
    """
    regions = load_regions()
    text = str(value).strip()
    if isinstance(value, str) and text in regions:
        return text
    valid = ", ".join(f"{r.code} ({r.nom})" for r in regions.values())
    hint = ""
    if isinstance(value, int) or (text.isdigit() and len(text) == 1):
        padded = f"{int(text):02d}"
        if padded in regions:
            hint = f" Les codes s'écrivent sur deux caractères : « {padded} » et non « {text} »."
    raise VsmError(f"Région inconnue : « {text} ».{hint} Régions valides : {valid}.")
