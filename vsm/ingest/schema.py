"""The inputs' declared shape, read from params/schemas/ (Frictionless Table Schema JSON): the
schema names, their columns, the count columns the forfait is computed from, and the one
spelling rule of each kind of value (integer, date, blank identifier) that every reader
(CSV, Parquet, the pandas readers of inputs.py) applies.

No pandas and no DuckDB here: the forfait imports COUNT_COLUMNS without the readers' cost.
"""

from __future__ import annotations

from ..paths import load_schema, schema_field

FEEDS_SCHEMA = "traces_dmp"
PATIENTELE_SCHEMA = "patientele_mt"
COUNTS_SCHEMA = "effectifs"

# The per-professional counts the forfait is computed from, as the counts schema declares
# them (params/schemas/effectifs.schema.json, every column after ps_id).
COUNT_COLUMNS: tuple[str, ...] = tuple(f["name"] for f in load_schema(COUNTS_SCHEMA)["fields"] if f["name"] != "ps_id")
COUNTS_REQUIRED = ("ps_id", *COUNT_COLUMNS)


def schema_columns(name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required columns, optional columns) of a declared schema."""
    fields = load_schema(name)["fields"]
    required = tuple(f["name"] for f in fields if not f.get("x-vsm-optional"))
    optional = tuple(f["name"] for f in fields if f.get("x-vsm-optional"))
    return required, optional


def schema_enum(name: str, column: str) -> list[str]:
    for f in load_schema(name)["fields"]:
        if f["name"] == column:
            return list(f.get("constraints", {}).get("enum", []))
    raise KeyError(column)


def spaced(n: int) -> str:
    """10000000 → « 10 000 000 » (messages)."""
    return f"{n:,}".replace(",", " ")


# --------------------------------------------------------------------------- one rule per concept
# The accepted spellings, the same for every input and every format (CSV text, Parquet text
# columns, the pandas readers of inputs.py): a count is an integer written in ASCII digits,
# with an optional sign; a date is AAAA-MM-JJ, optionally followed by a time without zone;
# an identifier is blank when nothing is left once WHITESPACE is stripped.

WHITESPACE = " \t\r\n\x0b\x0c"
INTEGER_PATTERN = "[+-]?[0-9]+"
DATE_PATTERN = r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?)?"
ZONED_PATTERN = r".*[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)? ?([zZ]|[+-][0-9]{1,2}(:?[0-9]{2})?)"

INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")
TIMESTAMP_TYPES = ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")
# Parquet column types (as DuckDB reads them) accepted for each Table Schema type
ACCEPTED_TYPES = {
    "string": ("VARCHAR",),
    "integer": (*INTEGER_TYPES, "VARCHAR"),  # text: INTEGER_PATTERN, as in a CSV
    "number": (*INTEGER_TYPES, "FLOAT", "DOUBLE", "DECIMAL", "VARCHAR"),
    "boolean": ("BOOLEAN", "VARCHAR", *INTEGER_TYPES),
    "date": ("DATE", *TIMESTAMP_TYPES, "VARCHAR"),
}
_TYPE_WORDS = {"string": "texte", "integer": "entier", "number": "nombre", "boolean": "oui/non", "date": "date"}


def base_type(duck_type: str) -> str:
    return duck_type.upper().split("(")[0].strip()


def type_problem(schema: str, column: str, duck_type: str) -> str | None:
    """Why a Parquet column of type ``duck_type`` cannot hold the declared field (None if it can)."""
    declared = schema_field(schema, column)["type"]
    base = base_type(duck_type)
    if base in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ") and declared == "date":
        return (
            f"colonne « {column} » : horodatage avec fuseau horaire (TIMESTAMP WITH TIME ZONE) refusé : sa date "
            "dépendrait du fuseau de la machine ; écrire la date locale (type DATE, ou TIMESTAMP sans fuseau)"
        )
    if base in ACCEPTED_TYPES.get(declared, (base,)):
        return None
    hint = ""
    if declared == "string" and base in INTEGER_TYPES:
        hint = " ; un code écrit en nombre perd son zéro initial (« 02 » devient « 2 ») : écrire la colonne en texte"
    elif declared == "integer":
        hint = " ; un effectif s'écrit en entier (type entier, ou texte de chiffres), pas en nombre décimal"
    return f"colonne « {column} » : type {duck_type} au lieu de {_TYPE_WORDS.get(declared, declared)} (schéma params/schemas/{schema}.schema.json){hint}"

