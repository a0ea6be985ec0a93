"""The relevé's settings files: where to write to contest, per region (params/caisse.yml), and
the margins of the list of professionals to accompany (params/accompagnement.yml)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import VsmError
from ..paths import load_yaml, params_dir
from ..regions import load_regions
from ..rules import parse_fraction

CONTACT_FILE = "caisse.yml"
ACCOMPANIMENT_FILE = "accompagnement.yml"


def _read_settings(path: Path, what: str) -> dict:
    if not path.is_file():
        raise VsmError(f"Fichier de paramètres introuvable ({what}) : « {path} ».")
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - any unreadable YAML gets the same French message
        raise VsmError(f"Fichier de paramètres « {path} » illisible ({what}) : YAML invalide.") from None
    if not isinstance(data, dict):
        raise VsmError(f"Fichier de paramètres « {path} » ({what}) : un dictionnaire YAML est attendu.")
    return data


@dataclass(frozen=True)
class Contacts:
    """Where to write to contest, per region (params/caisse.yml); None: not filled in."""

    path: Path
    default: str | None
    regions: dict[str, str | None]

    def for_region(self, code: str) -> str | None:
        value = self.regions.get(code)
        return value if value else self.default


def load_contacts(path: Path | str | None = None) -> Contacts:
    path = Path(path) if path else params_dir() / CONTACT_FILE
    data = _read_settings(path, "coordonnées de contact")
    unknown = set(data) - {"defaut", "regions"}
    if unknown:
        raise VsmError(f"« {path} » : clé(s) inconnue(s) {', '.join(sorted(map(str, unknown)))} (attendu : defaut, regions).")
    regions = data.get("regions") or {}
    if not isinstance(regions, dict):
        raise VsmError(f"« {path} » : « regions » doit associer un code de région (\"04\") à un texte.")

    def text(value, where: str) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise VsmError(f"« {path} », {where} : un texte est attendu (adresse, service, courriel), pas « {value} ».")
        return value.strip()

    known = load_regions()
    checked = {}
    for code, value in regions.items():
        if not isinstance(code, str) or code not in known:
            raise VsmError(f"« {path} », regions : code de région « {code} » inconnu (deux caractères entre guillemets, ex. \"04\").")
        checked[code] = text(value, f"regions → {code}")
    return Contacts(path, text(data.get("defaut"), "defaut"), checked)


@dataclass(frozen=True)
class Margins:
    tier: Fraction
    majoration: Fraction
    path: Path


def load_margins(path: Path | str | None = None) -> Margins:
    path = Path(path) if path else params_dir() / ACCOMPANIMENT_FILE
    data = _read_settings(path, "marges de la liste à accompagner")
    values = []
    for key in ("marge_palier", "marge_majoration"):
        node = data.get(key)
        if not isinstance(node, dict) or "value" not in node or not str(node.get("rationale") or "").strip():
            raise VsmError(f"« {path} » : « {key} » doit avoir une valeur (value) et sa justification (rationale).")
        try:
            value = parse_fraction(node["value"])
        except ValueError as exc:
            raise VsmError(f"« {path} », {key} : {exc}.") from None
        if not 0 <= value <= 1:
            raise VsmError(f"« {path} », {key} : une marge est une part entre 0 et 1 (ex. « 1/10 » pour 10 points).")
        values.append(value)
    return Margins(values[0], values[1], path)

