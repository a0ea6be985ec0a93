"""A batch's results as the reports read them: the files of a results folder, the
manifest, the scopes (regions, the whole country), and the constants the reports share."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import VsmError
from ..paths import PROJECT_DIR, default_rules
from ..regions import Region, load_regions, normalize_region
from ..rules import RuleSet, load_rules
from ..store import default_results_dir, read_manifest, read_results, results_path  # the results layout: vsm.store


NATIONAL = "national"
NATIONAL_NAME = "France entière"
UNKNOWN_REGION = "hors_region"  # scope of the professionals whose region is not in params/regions.yml
ABSENT = "absents_patientele"  # scope of the professionals absent from the patientèle
NEAR_WIDTH = Fraction(1, 10)  # « close to a threshold »: within 10 points below it
SHARE_CLIP = Fraction(3, 2)  # VSM share histogram: shares above 150 % go in the last bin
ZERO_BAR = 0.05  # VSM share histogram: width of the bar of the professionals with no DMP fed
# Tally keys of the rows that are kept (vsm/aggregate.py FEED_REASONS / PATIENTELE_REASONS);
# every other key is a reason for excluding the row.
KEPT_REASONS = {"feeds": "counted", "patientele": "used"}
CASES = ("A", "B", "C")


# --------------------------------------------------------------------------- loading


def resolve_path(path: str | Path) -> Path:
    """A path as given (absolute, or relative to the working directory), else relative to
    the project folder (a notebook runs from notebooks/)."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    candidate = PROJECT_DIR / path
    return candidate if candidate.exists() else path


def results_folder(results_dir: str | Path | None) -> Path:
    """A notebook's results folder: as given (see :func:`resolve_path`), or, for None, the
    results of the default rule set (params/vsm.yml) under the project's data/resultats/."""
    if results_dir is None:
        return PROJECT_DIR / default_results_dir(default_rules())
    return resolve_path(results_dir)


def recorded_rules(results_dir: str | Path | None) -> RuleSet:
    """The rule set a results folder was computed with (its manifest's id)."""
    folder = results_folder(results_dir)
    recorded = read_manifest(folder).get("rules", {})
    if not recorded.get("id"):
        raise VsmError(f"Le manifeste de « {folder} » ne dit pas avec quel jeu de règles les résultats ont été calculés.")
    return load_rules(str(recorded["id"]))


def report_parameters(rules: RuleSet | str | None, period: str | None, results_dir: str | Path) -> tuple[RuleSet, str]:
    """A notebook's rule set and period, defaults filled in: ``rules`` None is the rule set
    the results were computed with (the manifest's), ``period`` None the first period of the
    rule set that the folder holds — so that a notebook run as it is (« Run all ») reports on
    the demo results without naming a rule set."""
    if rules is None:
        rules = recorded_rules(results_dir)
    if not isinstance(rules, RuleSet):
        rules = load_rules(rules)
    if period is None:
        done = read_manifest(results_folder(results_dir)).get("periods", {})
        period = next((p for p in rules.periods if p in done), next(iter(rules.periods)))
    return rules, period


def read_manifest_periods(results_dir: str | Path | None) -> list[str]:
    """The periods computed in a results folder, in the manifest's order."""
    return list(read_manifest(results_folder(results_dir)).get("periods", {}))


def load_period(rules: RuleSet | str, period: str, results_dir: str | Path) -> tuple[RuleSet, pd.DataFrame, dict, dict]:
    """Rules, national results of ``period``, the manifest's entry of the period, and the
    whole manifest — checked to belong together (same rule set, same period)."""
    if not isinstance(rules, RuleSet):
        rules = load_rules(rules)
    rules.period(period)  # unknown period → French error listing the valid ones
    folder = results_folder(results_dir)
    manifest = read_manifest(folder)
    recorded = manifest.get("rules", {})
    if recorded.get("id") != rules.id:
        raise VsmError(
            f"Les résultats de « {folder} » ont été calculés avec le jeu de règles « {recorded.get('id')} », "
            f"pas « {rules.id} »."
        )
    if recorded.get("sha256") != rules.sha256:
        raise VsmError(
            f"Les résultats de « {folder} » ont été calculés avec une autre version du jeu de règles {rules.id} : "
            "les recalculer (« vsm run » ou « vsm reports »)."
        )
    entry = manifest.get("periods", {}).get(period)
    if entry is None:
        done = ", ".join(manifest.get("periods", {})) or "aucune"
        raise VsmError(f"La période {period} n'a pas été calculée dans « {folder} » (périodes calculées : {done}).")
    path = results_path(folder, period)
    if not path.is_file():
        raise VsmError(f"Résultats introuvables : « {path} ».")
    return rules, read_results(path), entry, manifest


def region_rows(results: pd.DataFrame, code: str) -> pd.DataFrame:
    """The professionals of one region (their patientèle's region)."""
    return results[results["region"].astype(str) == code]


def region_of(value: object) -> Region:
    return load_regions()[normalize_region(value)]


def ints(series: pd.Series) -> np.ndarray:
    """A count column as int64."""
    return series.to_numpy(dtype=np.int64)
