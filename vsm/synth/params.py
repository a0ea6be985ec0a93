"""The parameters of the synthetic extracts (params/synth.yml), the extracts' schemas and codes,
and the calendar (observation window, deadlines, semestrial snapshots) as day numbers."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from ..errors import VsmError
from ..paths import load_yaml, params_dir, schemas_dir

# The Arrow type of each Frictionless type the input schemas (params/schemas/) declare.
ARROW_TYPES = {"string": pa.string(), "date": pa.date32(), "integer": pa.int64()}


def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of the extracts the synthetic data writes, from their declared schema
    (params/schemas/<name>.schema.json, the one owner of column names, order and types)."""
    declared = json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
    return pa.schema([(field["name"], ARROW_TYPES[field["type"]]) for field in declared["fields"]])


FEEDS_SCHEMA = arrow_schema("traces_dmp")
PATIENTELE_SCHEMA = arrow_schema("patientele_mt")

STATUSES = ("success", "failure")
ACTIONS = ("creation", "update", "deletion")
KINDS = ("medecin", "centre", "specialiste")  # "specialiste" never appears in patientèle
MEDECIN, CENTRE, SPECIALISTE = 0, 1, 2
S_SUCCESS, S_FAILURE = 0, 1
A_CREATION, A_UPDATE, A_DELETION = 0, 1, 2

_EPOCH = dt.date(1970, 1, 1)


# --------------------------------------------------------------------------- parameters


def load_synth_params() -> dict[str, Any]:
    """params/synth.yml as a dict (a French VsmError if it is missing or unreadable)."""
    path = params_dir() / "synth.yml"
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise VsmError(f"Fichier de paramètres introuvable : « {path} ».") from exc
    except yaml.YAMLError as exc:
        raise VsmError(f"Fichier de paramètres illisible : « {path} » ({exc}).") from exc
    for key in ("scales", "calendar", "professionals", "patientele", "adoption", "software",
                "vsm_noise", "other_documents", "codes"):
        if not isinstance(data, dict) or key not in data:
            raise VsmError(f"Paramètres incomplets dans « {path} » : section « {key} » absente.")
    return data


def documented_scales(params: dict[str, Any] | None = None) -> list[str]:
    """Scale names shown to users (hidden test scales excluded)."""
    params = params or load_synth_params()
    return [name for name, spec in params["scales"].items() if spec.get("documented", True)]


def scale_spec(params: dict[str, Any], scale: str) -> dict[str, Any]:
    scales = params["scales"]
    if not isinstance(scale, str) or scale not in scales:
        valid = ", ".join(f"« {s} »" for s in documented_scales(params))
        raise VsmError(f"Échelle inconnue : « {scale} ». Échelles valides : {valid}.")
    return scales[scale]


def day_number(value: str | dt.date) -> int:
    """An ISO date (or date) → days since 1970-01-01."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    return (value - _EPOCH).days


def _snapshot_days(first: str, last: str) -> np.ndarray:
    """Every 30/06 and 31/12 from first to last (both included)."""
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    out = []
    for year in range(start.year, end.year + 1):
        for month, day in ((6, 30), (12, 31)):
            d = dt.date(year, month, day)
            if start <= d <= end:
                out.append(day_number(d))
    return np.array(out, dtype=np.int32)


@dataclass(frozen=True)
class Calendar:
    obs_start: int
    deadline1: int
    deadline2: int
    traces_start: int
    traces_end: int
    snapshots: np.ndarray  # int32 days

    @classmethod
    def from_params(cls, cal: dict[str, Any]) -> "Calendar":
        d1, d2 = (day_number(d) for d in cal["deadlines"])
        return cls(
            obs_start=day_number(cal["observation_start"]),
            deadline1=d1,
            deadline2=d2,
            traces_start=day_number(cal["traces_start"]),
            traces_end=day_number(cal["traces_end"]),
            snapshots=_snapshot_days(cal["first_snapshot"], cal["last_snapshot"]),
        )

    def snapshot_index(self, day: int) -> int:
        """Index of the latest snapshot on or before ``day``."""
        return int(np.searchsorted(self.snapshots, day, side="right") - 1)

