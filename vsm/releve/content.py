"""The content of one professional's statement: the results of every period read once for a
batch (checked against the forfait recomputed from their counts), the figures used, the
step-by-step text of :func:`vsm.explain.explain_row` (what ``vsm explain`` prints), the gaps
to the next step (vsm/releve/gaps.py) and where to write to contest."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .. import present as fr
from ..display import Prose
from ..errors import VsmError
from ..explain import explain_row
from ..forfait import COUNT_COLUMNS, compute_columns, meets, to_cents, weight_fraction
from ..regions import load_regions
from ..display import md_escape
from ..report.data import load_period, results_folder
from ..report.display import Table
from ..rules import RuleSet, load_rules
from ..money import cent_eur
from .gaps import gaps, paid_cents
from .settings import Contacts, load_contacts

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # a ps_id usable as a file name
KIND_LABELS = {"medecin": "médecin", "centre": "centre de santé"}


@dataclass
class Batch:
    """The results of every period of a rule set, read once (for many statements)."""

    rules: RuleSet
    results_dir: Path
    tables: dict  # period → results DataFrame indexed by position
    entries: dict  # period → manifest entry
    gaps: dict  # period → Gaps
    index: dict  # period → {ps_id: row position}
    contacts: Contacts

    def known(self, ps_id: str) -> bool:
        return any(ps_id in idx for idx in self.index.values())

    def split_known(self, ps_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        found, missing = [], []
        for ps_id in ps_ids:
            (found if self.known(ps_id) else missing).append(ps_id)
        return found, missing


def load_batch(rules: RuleSet | str, results_dir: Path | str, contact_file: Path | str | None = None) -> Batch:
    """Rules, results and manifest of every period (checked to belong together), the gaps
    of every professional, and the contact settings."""
    if not isinstance(rules, RuleSet):
        rules = load_rules(rules)
    folder = results_folder(results_dir)
    tables, entries, all_gaps, index = {}, {}, {}, {}
    for period in rules.periods:
        _, table, entry, _ = load_period(rules, period, folder)
        table = table.reset_index(drop=True)
        table["ps_id"] = table["ps_id"].astype(str)
        _check_results(table, rules, period, folder)
        tables[period], entries[period] = table, entry
        all_gaps[period] = gaps(table, rules, period)
        index[period] = {ps_id: i for i, ps_id in enumerate(table["ps_id"].tolist())}
    return Batch(rules, Path(folder), tables, entries, all_gaps, index, load_contacts(contact_file))


def _check_results(table, rules: RuleSet, period: str, folder: Path) -> None:
    """The results file agrees with the forfait recomputed from its own counts (a statement
    must never show an amount the rules do not give)."""
    paid = paid_cents(table) if rules.period(period).complement_of else None
    columns = compute_columns(*(table[c].to_numpy(np.int64) for c in COUNT_COLUMNS), rules, period, paid_cents=paid)
    stored = np.fromiter((to_cents(Decimal(v)) for v in table["amount_eur"]), dtype=np.int64, count=len(table))
    if not np.array_equal(stored, columns["amount_cents"]):
        raise VsmError(
            f"Les résultats de « {folder} » (période {period}) ne correspondent pas au jeu de règles {rules.id} "
            "recalculé sur leurs effectifs : les recalculer (« vsm run ») avant d'éditer des relevés."
        )


def unknown_message(ps_id: str, batch: Batch) -> str:
    """French error for an identifier found in no period (it names no other professional)."""
    periods = ", ".join(batch.rules.periods)
    return (
        f"Professionnel « {ps_id} » introuvable dans les résultats du jeu de règles {batch.rules.id} "
        f"(« {batch.results_dir} », périodes {periods}) : vérifier l'identifiant (RPPS ou FINESS) ; "
        "un professionnel absent de la patientèle « médecin traitant » n'a pas de forfait."
    )


# --------------------------------------------------------------------------- one statement


@dataclass(frozen=True)
class Gap:
    """What would have been needed for one next step."""

    kind: str  # "palier" or "majoration"
    missing: int  # DMPs fed (palier) or structured VSMs (majoration) lacking
    target: str  # « 90 % », « la majoration »
    payable_now: Decimal
    payable_then: Decimal

    @property
    def stake(self) -> Decimal:
        return self.payable_then - self.payable_now


@dataclass
class PeriodStatement:
    period: str
    row: dict | None  # the results row (None: absent from this period's results)
    steps: list = field(default_factory=list)  # vsm.explain.Step
    gaps: list[Gap] = field(default_factory=list)
    next_level: int = 0


def _period_statement(batch: Batch, period: str, ps_id: str) -> PeriodStatement:
    rules = batch.rules
    position = batch.index[period].get(ps_id)
    if position is None:
        return PeriodStatement(period, None)
    row = batch.tables[period].iloc[position].to_dict()
    if rules.period(period).complement_of is None:
        row.pop("paid_eur", None)
        row.pop("complement_eur", None)
    g = batch.gaps[period]
    out = PeriodStatement(period, row, explain_row(row, rules, period), next_level=int(g.next_level[position]))
    now = cent_eur(g.payable_cents[position])
    if g.dmp_needed[position] > 0:
        level = rules.tiers.levels[out.next_level - 1]
        out.gaps.append(Gap("palier", int(g.dmp_needed[position]), fr.fraction(level.min_share), now, cent_eur(g.tier_payable_cents[position])))
    if g.structured_needed[position] > 0:
        out.gaps.append(Gap("majoration", int(g.structured_needed[position]), "la majoration", now, cent_eur(g.majoration_payable_cents[position])))
    return out


@dataclass
class Statement:
    """One professional's statement: every period of the rule set."""

    ps_id: str
    rules: RuleSet
    kind: str | None
    region: str | None
    region_name: str | None
    caisse: str | None
    contact: str | None
    contact_file: Path
    periods: list[PeriodStatement]
    snapshot_dates: dict  # period → snapshot date (iso) of the patientèle used

    # ---------------------------------------------------------------- facts

    def facts(self) -> dict:
        """The title block's facts (the executed notebook's ``metadata["vsm"]``)."""
        return {
            "kind": "releve",
            "title": f"Relevé individuel — {self.kind_label} {self.ps_id}",
            "ps_id": self.ps_id,
            "region": self.region,
            "region_name": self.region_name,
            "caisse": self.caisse,
            "rules": self.rules.id,
            "rules_sha256": self.rules.sha256,
            "snapshot_dates": sorted(set(self.snapshot_dates.values())),
        }

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind or "", "professionnel")

    def payable(self, period: str) -> Decimal | None:
        ps = next(p for p in self.periods if p.period == period)
        if ps.row is None:
            return None
        column = "complement_eur" if ps.row.get("complement_eur") is not None else "amount_eur"
        return Decimal(ps.row[column])

    # ---------------------------------------------------------------- displays

    def summary(self) -> list[tuple[str, str, str | None, str | None, str]]:
        """Per period: (period, payment, amount, already paid, payable), French text; amount
        None when the professional is absent from the period's results."""
        rows = []
        for ps in self.periods:
            p = self.rules.period(ps.period)
            if ps.row is None:
                rows.append((ps.period, p.payment, None, None, fr.eur(0)))
                continue
            paid = ps.row.get("paid_eur")
            rows.append((ps.period, p.payment, fr.eur(ps.row["amount_eur"]), fr.eur(paid) if paid is not None else None,
                         fr.eur(self.payable(ps.period))))
        return rows

    def header(self):
        """What is paid for each period, in one sentence (Prose)."""
        parts = []
        for period, payment, amount, paid, payable in self.summary():
            if amount is None:
                parts.append(f"{period} : absent des résultats, rien à verser")
            elif paid is None:
                parts.append(f"{period} : **{payable}** versés au {payment}")
            else:
                parts.append(f"{period} : forfait de {amount}, déjà versé {paid} → **complément de {payable}** au {payment}")
        return [Prose("**En bref** — " + " ; ".join(parts) + ".")]

    def period_section(self, period: str) -> list:
        """« ## Période P1 … »: figures used, steps with their sources, next steps."""
        ps = next(p for p in self.periods if p.period == period)
        p = self.rules.period(period)
        heading = f"### Période {period} : versement au {p.payment}" + (f", complément de {p.complement_of}" if p.complement_of else "")
        if ps.row is None:
            return [Prose(
                heading + f"\n\nVous ne figurez pas dans les résultats de la période {period} : aucun arrêté de votre "
                "patientèle « médecin traitant » n'était retenu à la fin de la période, donc aucun forfait n'est "
                "calculé pour elle."
            )]
        return [Prose(heading), self.figures_table(ps), Prose(self.steps_markdown(ps)), Prose(self.gaps_markdown(ps))]

    def figures(self, ps: PeriodStatement) -> list[tuple[str, str]]:
        """The figures used and what they give, as (label, value) lines."""
        row, rules, p = ps.row, self.rules, self.rules.period(ps.period)
        mt, ald = int(row["patients_mt"]), int(row["patients_mt_ald"])
        fed, structured = int(row["dmp_vsm"]), int(row["dmp_vsm_structured"])
        day = _as_date(row.get("snapshot_date"))
        thresholds = tuple(level.min_share for level in rules.tiers.levels)
        maj = rules.majoration
        tier = int(row["tier"])
        share = fr.percent(Fraction(fed, ald), thresholds=thresholds) if ald else "—"
        if not row["eligible"]:
            tier_text = f"non éligible (au moins {fr.integer(rules.eligibility.min_patients_mt_ald.value)} patient(s) en ALD requis)"
        elif tier == 0:
            tier_text = f"part de VSM {share}, sous {fr.fraction(rules.tiers.levels[0].min_share)} : aucun palier"
        else:
            level = rules.tiers.levels[tier - 1]
            tier_text = f"part de VSM {share} → palier {tier} (≥ {fr.fraction(level.min_share)}) : {fr.eur(level.amount_eur)}"
        parts = [tier_text]
        if row["eligible"] and tier > 0:
            structured_share = fr.percent(Fraction(structured, fed), thresholds=(maj.min_structured_share.value,)) if fed else "—"
            if not maj.enabled.value:
                parts.append("majoration non prévue")
            elif row["majoration"]:
                parts.append(f"part structurée {structured_share} → {fr.percent(maj.rate.value, decimals=0)} : {fr.eur(row['majoration_eur'])}")
            else:
                parts.append(f"part structurée {structured_share} → pas de majoration")
        snapshot = f" au {_short(day)}" if day else ""
        items = [
            ("Patientèle MT", f"{fr.integer(mt)}{snapshot}, dont {fr.integer(ald)} en ALD"),
            ("DMP alimentés", f"{fr.integer(fed)} avec un VSM du {_short(p.start)} au {_short(p.end)}, dont {fr.integer(structured)} structurés"),
            ("Palier", parts[0]),
            *([("Majoration", parts[1])] if len(parts) > 1 else []),
            ("Pondération", self._weight_text(mt) if rules.ponderation.enabled.value else "non prévue par ce jeu de règles"),
            ("Forfait de la période", fr.eur(row["amount_eur"])),
        ]
        if row.get("paid_eur") is not None:
            items[-1] = ("Forfait, déjà versé, complément",
                         f"forfait {fr.eur(row['amount_eur'])} ; déjà versé ({p.complement_of}) {fr.eur(row['paid_eur'])} ; complément {fr.eur(row['complement_eur'])}")
        return items

    def _weight_text(self, mt: int) -> str:
        num, den = weight_fraction(np.array([mt], dtype=np.int64), self.rules)
        reference = self.rules.ponderation.reference_patients.value
        text = f"{fr.integer(mt)} / {fr.integer(reference)} = {fr.number(Fraction(int(num[0]), int(den[0])))}"
        return text if Fraction(int(num[0]), int(den[0])) == Fraction(mt, reference) else f"{fr.number(Fraction(int(num[0]), int(den[0])))} (plafond)"

    def figures_table(self, ps: PeriodStatement):
        return Table(pd.DataFrame(self.figures(ps), columns=["Chiffre retenu", "Valeur"]))

    def steps_markdown(self, ps: PeriodStatement) -> str:
        lines = [f"{i}. **{md_escape(s.title)}** : {md_escape(s.text)}" for i, s in enumerate(ps.steps, start=1)]
        return "\n".join(lines)

    def gap_sentences(self, ps: PeriodStatement) -> list[str]:
        """« 12 DMP alimentés de plus pour atteindre 90 % : … soit 2 673,00 € de plus », one per gap."""
        rules, row = self.rules, ps.row
        paid_word = "complément" if ps.row.get("paid_eur") is not None else "forfait"
        if not row["eligible"]:
            return [
                f"aucune : sans au moins {fr.integer(rules.eligibility.min_patients_mt_ald.value)} patient(s) « médecin traitant » "
                "en ALD, le forfait ne s'applique pas : aucun nombre de DMP alimentés n'y suffit"
            ]
        out = []
        for gap in ps.gaps:
            if gap.kind == "palier":
                what = f"**{fr.integer(gap.missing)} DMP alimenté{'s' if gap.missing > 1 else ''} de plus pour atteindre {gap.target}**"
            else:
                what = (
                    f"**{fr.integer(gap.missing)} VSM structuré{'s' if gap.missing > 1 else ''} de plus pour la majoration** "
                    f"(parmi les DMP déjà alimentés, pour au moins {fr.fraction(rules.majoration.min_structured_share.value)} "
                    "en données structurées)"
                )
            text = f"il aurait fallu {what} : {paid_word} de {fr.eur(gap.payable_then)} au lieu de {fr.eur(gap.payable_now)}, soit **{fr.eur(gap.stake)}** de plus"
            if gap.kind == "palier" and rules.majoration.enabled.value and self._keeps_majoration(row):
                text += " (majoration comprise, avec des VSM structurés)"
            out.append(text)
        if not ps.gaps:
            out.append("aucune, le palier le plus haut est atteint" + (
                ", et la majoration aussi" if row["majoration"] or not rules.majoration.enabled.value else ""
            ))
        if int(row["tier"]) == 0 and rules.majoration.enabled.value:
            out.append(
                f"la majoration ({fr.percent(rules.majoration.rate.value, decimals=0)} du forfait brut) ne s'applique "
                f"qu'une fois un palier atteint, avec au moins {fr.fraction(rules.majoration.min_structured_share.value)} "
                "des DMP alimentés en données structurées"
            )
        return out

    def gaps_markdown(self, ps: PeriodStatement) -> str:
        sentences = self.gap_sentences(ps)
        return "**Pour l'étape suivante** : " + " ; ".join(sentences) + "."

    def _keeps_majoration(self, row: dict) -> bool:
        t = self.rules.majoration.min_structured_share
        fed = int(row["dmp_vsm"])
        return fed > 0 and bool(meets(np.array([int(row["dmp_vsm_structured"])]), np.array([fed]), t.value, t.comparison)[0])

    def contact_markdown(self) -> str:
        if self.contact:
            body = "\n".join(f"> {md_escape(line)}" if line.strip() else ">" for line in self.contact.splitlines())
            return f"Écrire, en rappelant l'identifiant **{md_escape(self.ps_id)}**, à :\n\n{body}"
        return (
            "**Adresse de contact non renseignée** (la caisse la complète dans le fichier de paramètres "
            f"« {md_escape(self.contact_file.name)} », région {md_escape(self.region or '—')}, avant tout envoi) : d'ici là, "
            "s'adresser à " + ("la " + md_escape(self.caisse) if self.caisse else "sa caisse d'assurance maladie") + "."
        )


def _short(day: dt.date) -> str:
    """2023-12-31 → « 31/12/2023 » (a table cell)."""
    return day.strftime("%d/%m/%Y")


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    if hasattr(value, "date"):  # pandas Timestamp
        return value.date()
    return None


def statement(batch: Batch, ps_id: str) -> Statement:
    """The statement of ``ps_id`` (a French error when it is in no period's results)."""
    ps_id = str(ps_id).strip()
    if not batch.known(ps_id):
        raise VsmError(unknown_message(ps_id, batch))
    periods = [_period_statement(batch, period, ps_id) for period in batch.rules.periods]
    latest = next(p.row for p in reversed(periods) if p.row is not None)
    region = str(latest.get("region")) if latest.get("region") is not None else None
    info = load_regions().get(region) if region else None
    snapshots = {p.period: _as_date(p.row.get("snapshot_date")).isoformat() for p in periods
                 if p.row is not None and _as_date(p.row.get("snapshot_date")) is not None}
    return Statement(
        ps_id=ps_id,
        rules=batch.rules,
        kind=latest.get("ps_kind") or batch.rules.population,
        region=region,
        region_name=info.nom if info else None,
        caisse=info.caisse if info else None,
        contact=batch.contacts.for_region(region) if region else batch.contacts.default,
        contact_file=batch.contacts.path,
        periods=periods,
        snapshot_dates=snapshots,
    )

