"""The methodology note's worked examples (params/examples/), run through the public API:
a back-test of the computation against the note's own table, errata included."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from .errors import VsmError
from .forfait import compute
from .paths import default_rules, load_yaml, params_dir
from .rules import RuleSet, load_rules, parse_fraction


@dataclass(frozen=True)
class Examples:
    rules: RuleSet
    period: str
    cases: pd.DataFrame  # one row per case: id, label, stated figures, counts, expectation, erratum
    seed: str
    passage: str

    def counts(self) -> pd.DataFrame:
        """The cases as a per-professional counts table (ps_id = case id)."""
        columns = ["patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured"]
        return self.cases[["id", *columns]].rename(columns={"id": "ps_id"})


def load_examples(rules_id: str | None = None) -> Examples:
    """The note's worked examples of ``rules_id`` (None: the rule set of params/vsm.yml)."""
    rules_id = default_rules() if rules_id is None else rules_id
    path = params_dir() / "examples" / f"{rules_id}.yml"
    if not path.is_file():
        raise VsmError(f"Pas d'exemples chiffrés pour le jeu de règles « {rules_id} » ({path} absent).")
    data = load_yaml(path.read_text(encoding="utf-8"))
    rows = []
    for case in data["cases"]:
        stated = case["stated"]
        rows.append(
            {
                "id": case["id"],
                "label": case["label"],
                "quote": case["quote"],
                "stated_vsm_share": parse_fraction(stated["vsm_share"]),
                "stated_structured_share": parse_fraction(stated["structured_share"]),
                "stated_patients_mt": int(stated["patients_mt"]),
                "stated_amount_eur": Decimal(stated["amount_eur"]),
                **{k: int(v) for k, v in case["counts"].items()},
                "expected_amount_eur": Decimal(case["expected_amount_eur"]),
                "erratum": case.get("erratum"),
            }
        )
    source = data["source"]
    return Examples(load_rules(data["rules"]), str(data["period"]), pd.DataFrame(rows), source["seed"], source["passage"])


def check_examples(examples: Examples | None = None) -> pd.DataFrame:
    """Compute every case; one row per case with the note's amount, the computed amount and a verdict.

    verdict: « conforme » when the note and the rule agree; « erratum de la note » when the
    computed amount is the rule's (expected) amount and differs from the note's, as recorded;
    « ÉCART » otherwise (a regression, or counts that do not reproduce the note's shares).
    """
    examples = examples or load_examples()
    cases = examples.cases
    results = compute(examples.counts(), examples.rules, examples.period, source="exemples de la note")
    out = cases[["id", "label", "stated_amount_eur", "expected_amount_eur", "erratum"]].copy()
    out["computed_amount_eur"] = results["amount_eur"].to_numpy()
    realised = [
        Fraction(r.dmp_vsm, r.patients_mt_ald) == r.stated_vsm_share
        and Fraction(r.dmp_vsm_structured, r.dmp_vsm) == r.stated_structured_share
        and r.patients_mt == r.stated_patients_mt
        for r in cases.itertuples()
    ]
    verdicts = []
    for ok_counts, row in zip(realised, out.itertuples()):
        if not ok_counts or row.computed_amount_eur != row.expected_amount_eur:
            verdicts.append("ÉCART")
        elif row.computed_amount_eur == row.stated_amount_eur:
            verdicts.append("conforme")
        elif row.erratum:
            verdicts.append("erratum de la note")
        else:
            verdicts.append("ÉCART")
    out["verdict"] = verdicts
    return out
