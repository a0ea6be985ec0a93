"""Loading a rule set: params/rules/*.yml (or a file path), inheritance, validation with
French messages.

A file may start from another rule set with ``base: <id or path>``: mappings are merged key
by key, but a parameter node (a mapping holding ``value``), the tiers and the periods are
replaced whole, so that a new value never silently inherits the old value's source.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import VsmError
from ..paths import read_yaml_file, rules_dir
from .model import RuleSet

_REPLACED_WHOLE = {"periods", "tiers"}


def _is_param_node(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if (
            key not in _REPLACED_WHOLE
            and isinstance(value, dict)
            and isinstance(current, dict)
            and not _is_param_node(value)
            and not _is_param_node(current)
        ):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def _resolve(ref: str | Path, relative_to: Path | None = None) -> Path:
    text = str(ref)
    candidate = Path(text)
    looks_like_path = text.endswith((".yml", ".yaml")) or "/" in text or "\\" in text
    if looks_like_path:
        if not candidate.is_absolute() and relative_to is not None and not candidate.exists():
            candidate = relative_to / candidate
        if not candidate.is_file():
            raise VsmError(f"Fichier de règles introuvable : « {text} ».")
        return candidate
    path = rules_dir() / f"{text}.yml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(rules_dir().glob("*.yml")))
        raise VsmError(f"Jeu de règles inconnu : « {text} ». Jeux disponibles : {known}.")
    return path


def read_rules_file(path: Path) -> dict:
    """A rules file (rule set, or another file of params/ with the same shape): bounded size and alias expansion, UTF-8, no duplicate key (paths.py)."""
    data = read_yaml_file(path, "Fichier de règles")
    if not isinstance(data, dict):
        raise VsmError(f"Fichier de règles « {path} » : un dictionnaire YAML est attendu.")
    return data


def load_raw(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict, tuple[Path, ...]]:
    """A rules file with its ``base`` chain merged, before validation: (data, files read, the
    file itself first). ``seen``: the files already on the chain (a cycle is an error)."""
    resolved = path.resolve()
    if resolved in seen:
        chain = " → ".join(str(p) for p in (*seen, resolved))
        raise VsmError(f"Jeu de règles : héritage circulaire ({chain}).")
    data = read_rules_file(path)
    base_ref = data.get("base")
    if base_ref is None:
        return data, (resolved,)
    base_data, base_files = load_raw(_resolve(base_ref, relative_to=path.parent), (*seen, resolved))
    base_documents = dict(base_data.get("documents") or {})
    merged = _merge(base_data, data)
    merged["documents"] = {**base_documents, **(data.get("documents") or {})}
    return merged, (resolved, *base_files)


_FRENCH_TYPES = {
    "extra_forbidden": "clé inconnue",
    "int_parsing": "un entier est attendu",
    "int_type": "un entier est attendu",
    "int_from_float": "un entier est attendu",
    "bool_parsing": "vrai/faux (true/false) attendu",
    "bool_type": "vrai/faux (true/false) attendu",
    "string_type": "un texte est attendu",
    "list_type": "une liste est attendue",
    "dict_type": "un dictionnaire est attendu",
    "model_type": "un dictionnaire est attendu",
    "date_from_datetime_parsing": "date invalide (AAAA-MM-JJ attendue)",
    "date_parsing": "date invalide (AAAA-MM-JJ attendue)",
    "date_type": "date invalide (AAAA-MM-JJ attendue)",
    "string_too_short": "ne doit pas être vide",
    "too_short": "ne doit pas être vide",
    "string_pattern_mismatch": "format invalide (minuscules, chiffres, « - », « . » ou « _ »)",
}


def validation_message(err: dict) -> str:
    """One pydantic validation error (an item of ``ValidationError.errors()``) in French,
    with where it is: « tiers → levels → 0 → amount_eur : … »."""
    loc = " → ".join(str(part) for part in err["loc"]) or "(racine)"
    kind = err["type"]
    if kind == "missing":
        if err["loc"] and err["loc"][-1] in ("source", "comparison_source", "complement_source"):
            return f"{loc} : valeur sans source (seed, passage, quote sont obligatoires)"
        return f"{loc} : valeur manquante"
    if kind == "value_error":
        return f"{loc} : {err['ctx']['error']}"
    if kind == "literal_error":
        return f"{loc} : valeur « {err.get('input')} » non autorisée (valeurs possibles : {err['ctx']['expected']})"
    if kind in ("greater_than", "greater_than_equal"):
        bound = err["ctx"].get("gt", err["ctx"].get("ge"))
        sign = ">" if kind == "greater_than" else "≥"
        return f"{loc} : la valeur doit être {sign} {bound}"
    return f"{loc} : {_FRENCH_TYPES.get(kind, 'valeur invalide')} (valeur lue : « {err.get('input')} »)"


def load_rules(ref: str | Path) -> RuleSet:
    """Load a rule set by id (``medecins-2024``) or by file path, and validate it.

    Raises VsmError with a French message naming every problem found.
    """
    path = _resolve(ref)
    raw, files = load_raw(path, ())
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        digest.update(b"\0")
        digest.update(file.read_bytes())
    return validated(RuleSet, {**raw, "path": str(path), "files": tuple(str(f) for f in files), "sha256": digest.hexdigest()}, path)


def validated(model, data: dict, path: Path):
    """``model`` (a rule-set class) built from ``data`` read from ``path``; a VsmError listing
    every problem, in French, when the data does not fit (the VSM and structure rule sets)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(f"  - {validation_message(err)}" for err in exc.errors())
        raise VsmError(f"Jeu de règles « {path} » invalide :\n{problems}") from None


def list_rules() -> list[RuleSet]:
    """Every rule set shipped in params/rules/, in file-name order."""
    return [load_rules(path) for path in sorted(rules_dir().glob("*.yml"))]
