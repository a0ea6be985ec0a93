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


@lru_cache(maxsize=None)
def departement_names() -> dict[str, str]:
    """Every département's name (params/departements.yml), keyed by its INSEE code."""
    path = params_dir() / "departements.yml"
    data = load_yaml(path.read_text(encoding="utf-8"))
    return {str(code): str(name) for code, name in data["departements"].items()}


def departement_label(code: object) -> str:
    """« 22 Côtes-d'Armor »; a code that is not a département is shown as given, a missing one
    as « Non renseigné » (rows are never dropped from a table for a bad code)."""
    if code is None or (isinstance(code, float) and code != code) or str(code).strip() == "":
        return "Non renseigné"
    text = str(code).strip()
    name = departement_names().get(text)
    return f"{text} {name}" if name else f"{text} (code inconnu)"


def region_codes() -> list[str]:
    return list(load_regions())


def normalize_region(value: object) -> str:
    """A region code as given by a user → its two-character INSEE code, or a French error.

    An integer is what papermill makes of ``-p region 02`` (and YAML of an unquoted 02): the
    user wrote the code, papermill dropped its zero, so the integer is read back as « 02 ».
    A one-digit text (``--regions 4``) is what the user typed: it is refused with the hint,
    because silently padding it would hide a typing mistake in a batch definition.
    """
    regions = load_regions()
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 100:
        padded = f"{value:02d}"
        if padded in regions:
            return padded
    text = str(value).strip()
    if isinstance(value, str) and text in regions:
        return text
    valid = ", ".join(f"{r.code} ({r.nom})" for r in regions.values())
    hint = ""
    if isinstance(value, int) and not isinstance(value, bool):
        hint = (
            " Papermill a lu ce paramètre comme un nombre : écrire « -r region 04 » (texte) au lieu"
            " de « -p region 04 »."
        )
    elif text.isdigit() and len(text) == 1:
        padded = f"{int(text):02d}"
        if padded in regions:
            hint = f" Les codes s'écrivent sur deux caractères : « {padded} » et non « {text} »."
    raise VsmError(f"Région inconnue : « {text} ».{hint} Régions valides : {valid}.")
