"""Where the project's data files live (params/, notebooks/), in a checkout or installed."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import yaml

from .errors import VsmError

PACKAGE_DIR = Path(__file__).resolve().parent
# An installed wheel carries params/ and notebooks/ as vsm/_project/ (setup.py); a checkout
# (editable install, tests) reads the folders beside the package. One lookup, used by all.
_SHIPPED_DIR = PACKAGE_DIR / "_project"
PROJECT_DIR = _SHIPPED_DIR if (_SHIPPED_DIR / "params").is_dir() else PACKAGE_DIR.parent
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"


def params_dir() -> Path:
    """The params/ folder: VSM_PARAMS overrides, else the one beside the package."""
    override = os.environ.get("VSM_PARAMS")
    return Path(override) if override else PROJECT_DIR / "params"


def rules_dir() -> Path:
    return params_dir() / "rules"


def schemas_dir() -> Path:
    return params_dir() / "schemas"


# libyaml's parser when the wheel has it (ten times faster), same safe constructors
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_YAML_BYTES = 1 << 20  # a rule set is a few kilobytes; anything larger is not one
MAX_YAML_NODES = 100_000  # nodes once aliases are expanded (an « alias bomb » has billions)


class YamlError(ValueError):
    """A YAML text that is not acceptable; the message is in French."""


def _where(node: yaml.Node) -> str:
    mark = node.start_mark
    return f"ligne {mark.line + 1}, colonne {mark.column + 1}"


class _StrictLoader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, refusing duplicate keys and unreadable dates, naming the line."""

    def construct_mapping(self, node, deep=False):  # noqa: ANN001
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, yaml.Node] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the base constructor says so
                    break
                if first is not None:
                    raise YamlError(
                        f"clé « {key} » en double ({_where(first)} et {_where(key_node)}) : "
                        "une seule valeur par clé"
                    )
                seen[key] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node):  # noqa: ANN001
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            raise YamlError(f"date impossible « {node.value} » ({_where(node)}) : AAAA-MM-JJ attendue") from None


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def _expanded_size(root: yaml.Node) -> int:
    """Number of nodes once every alias is expanded (shared nodes counted each time)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = (
            [v for pair in node.value for v in pair] if isinstance(node, yaml.MappingNode)
            else list(node.value) if isinstance(node, yaml.SequenceNode) else []
        )
        if done:
            sizes[id(node)] = min(1 + sum(sizes.get(id(c), 0) for c in children), MAX_YAML_NODES + 1)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def load_yaml(text: str) -> Any:
    """Parse YAML with the safe loader (C implementation when available), refusing duplicate
    keys, impossible dates and documents that expand beyond MAX_YAML_NODES nodes.

    Raises YamlError (French message) for those, yaml.YAMLError for a syntax error."""
    if len(text) > MAX_YAML_BYTES:
        raise YamlError(f"texte trop long ({len(text)} caractères ; au plus {MAX_YAML_BYTES})")
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_YAML_NODES:
            raise YamlError(
                f"plus de {MAX_YAML_NODES} valeurs une fois les alias (« *nom ») développés : "
                "document refusé (alias imbriqués en cascade ?)"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml_file(path: Path, what: str = "Fichier") -> Any:
    """Read a YAML file a user may have written: bounded size, UTF-8, strict parsing.

    Every problem is a VsmError naming the file (``what`` starts the message)."""
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise VsmError(f"{what} « {path} » : trop gros ({size} octets ; au plus {MAX_YAML_BYTES}).")
        raw = path.read_bytes()
    except OSError as exc:
        raise VsmError(f"{what} « {path} » illisible : {exc.strerror or exc}.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise VsmError(
            f"{what} « {path} » : encodage non UTF-8 (octet 0x{raw[exc.start]:02x}, ligne {line}) ; "
            "enregistrer le fichier en UTF-8."
        ) from None
    try:
        return load_yaml(text)
    except YamlError as exc:
        raise VsmError(f"{what} « {path} » refusé : {exc}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (ligne {mark.line + 1}, colonne {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None)
        raise VsmError(f"{what} « {path} » illisible{where} : YAML invalide" + (f" ({problem})." if problem else ".")) from None
    except RecursionError:
        raise VsmError(f"{what} « {path} » refusé : imbrication trop profonde.") from None


# --------------------------------------------------------------------------- declared schemas


@functools.lru_cache(maxsize=None)
def load_schema(name: str) -> dict:
    """A Frictionless Table Schema of params/schemas/ (the inputs' single definition)."""
    return json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))


def schema_field(name: str, column: str) -> dict:
    for f in load_schema(name)["fields"]:
        if f["name"] == column:
            return f
    raise KeyError(column)


def count_maximum() -> int:
    """The upper bound of every count (patients, DMPs) an input may hold: the ``maximum`` of
    patients_mt in the counts schema, the same in every schema that declares a count."""
    return int(schema_field("effectifs", "patients_mt")["constraints"]["maximum"])


def named_default(file_name: str, folder: str) -> str:
    """The id of the rule set used when none is named: ``rules`` in params/<file_name>
    (params/vsm.yml for the forfait VSM, params/structure.yml for the forfait structure),
    one of the rule sets of params/<folder>. A French VsmError when the file is missing or
    names nothing."""
    path = params_dir() / file_name
    if not path.is_file():
        raise VsmError(f"Fichier de paramètres introuvable : « {path} » (il nomme le jeu de règles par défaut).")
    data = read_yaml_file(path, "Fichier de paramètres")
    ref = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(ref, str) or not ref.strip():
        raise VsmError(
            f"Paramètres incomplets dans « {path} » : clé « rules » absente ou vide "
            f"(l'identifiant d'un jeu de règles de params/{folder}/)."
        )
    return ref.strip()


VSM_DEFAULTS_FILE = "vsm.yml"  # params/vsm.yml: the forfait VSM rule set used when none is named


def default_rules() -> str:
    """The forfait VSM rule set used when none is named (``rules`` in params/vsm.yml): the
    default of ``vsm run / reports / exemples / releve --rules`` and of the notebooks."""
    return named_default(VSM_DEFAULTS_FILE, "rules")
