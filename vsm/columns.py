"""The per-professional counts the forfait is computed from, as the counts schema declares
them (params/schemas/effectifs.schema.json, every column after ps_id).

Their own module because both the inputs (which validate them) and the forfait (which
computes from them) need the names, and the forfait must not import the inputs' pandas code.
"""

from __future__ import annotations

from .paths import load_schema

COUNT_COLUMNS: tuple[str, ...] = tuple(f["name"] for f in load_schema("effectifs")["fields"] if f["name"] != "ps_id")
