"""Which forfait structure rule set applies when none is named: ``rules`` in params/structure.yml.

Apart from the rule set's model (vsm.structure.rules) so that the CLI can show the default in
its --help without importing pydantic.
"""

from __future__ import annotations

from ..errors import VsmError
from ..paths import params_dir, read_yaml_file

DEFAULTS_FILE = "structure.yml"  # params/structure.yml: the rule set used when none is named


def default_structure_rules() -> str:
    """The id of the rule set used when none is named (``rules`` in params/structure.yml):
    the default of ``vsm structure --rules`` and the forfait structure of the reports."""
    path = params_dir() / DEFAULTS_FILE
    if not path.is_file():
        raise VsmError(f"Fichier de paramètres introuvable : « {path} » (il nomme le jeu de règles du forfait structure par défaut).")
    data = read_yaml_file(path, "Fichier de paramètres")
    ref = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(ref, str) or not ref.strip():
        raise VsmError(
            f"Paramètres incomplets dans « {path} » : clé « rules » absente ou vide "
            "(l'identifiant d'un jeu de règles de params/rules/structure/)."
        )
    return ref.strip()
