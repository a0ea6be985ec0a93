"""The individual statement (« relevé ») of one professional, and the caisse's list of the
professionals within reach of the next step (« a_accompagner.csv »).

Nothing is computed twice: the figures of each period come from the batch's results files
(vsm.store layout, ``<results>/<period>/resultats.parquet``), the step-by-step text is
:func:`vsm.explain.explain_row` (what ``vsm explain`` prints), and every « what would have
been needed » figure goes through the forfait itself:

* the number of DMPs (or structured VSMs) lacking is the smallest integer ``n`` such that
  ``(count + n) / denominator`` meets the threshold, decided by :func:`vsm.forfait.meets`
  (exact integer cross-products), and checked at ``n`` and ``n - 1``;
* the euros at stake are :func:`vsm.forfait.compute_columns` run again on the counts with
  ``n`` added, minus what is payable now (the complement for a complementary period).

Each gap is « all else equal »: the next tier with ``n`` more DMPs fed (structured VSMs
when the structured share already meets the majoration threshold, so that it stays met;
plain VSMs otherwise), or the majoration with ``n`` of the DMPs already fed receiving a
structured VSM (the DMP count, hence the tier, unchanged).

A statement is personal: it shows the professional's own counts, so statistical secrecy
(which protects published aggregates) does not apply; it holds no patient identifier.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from . import present as fr
from .errors import VsmError
from .forfait import COUNT_COLUMNS, compute_columns, meets, to_cents
from .paths import load_yaml, params_dir
from .rules import RuleSet, load_rules

CONTACT_FILE = "caisse.yml"
ACCOMPANIMENT_FILE = "accompagnement.yml"
ACCOMPANIMENT_NAME = "a_accompagner.csv"
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # a ps_id usable as a file name
KIND_LABELS = {"medecin": "médecin", "centre": "centre de santé"}
NO_GAP = -1


# --------------------------------------------------------------------------- exact gaps


def needed(count: np.ndarray, denominator: np.ndarray, threshold: Fraction, comparison: str) -> np.ndarray:
    """Smallest n ≥ 0 such that (count + n) / denominator meets ``threshold`` (forfait.meets,
    exact), for each professional; NO_GAP where no n can (denominator ≤ 0)."""
    count = np.asarray(count, dtype=np.int64)
    denominator = np.asarray(denominator, dtype=np.int64)
    p, q = threshold.numerator, threshold.denominator
    if comparison == ">=":
        target = -((-denominator * p) // q)  # ceil(den × p / q)
    else:
        target = (denominator * p) // q + 1
    n = np.maximum(target - count, 0)
    # the forfait's own comparison decides; the closed form above is only the first guess
    while True:
        short = ~meets(count + n, denominator, threshold, comparison) & (denominator > 0)
        if not short.any():
            break
        n = np.where(short, n + 1, n)
    while True:
        over = (n > 0) & meets(count + n - 1, denominator, threshold, comparison)
        if not over.any():
            break
        n = np.where(over, n - 1, n)
    return np.where(denominator > 0, n, NO_GAP)


def _paid_cents(table) -> np.ndarray | None:
    if "paid_eur" not in table.columns:
        return None
    return np.fromiter((0 if v is None else to_cents(Decimal(v)) for v in table["paid_eur"]), dtype=np.int64, count=len(table))


def _payable(columns: dict) -> np.ndarray:
    return columns["complement_cents"] if "complement_cents" in columns else columns["amount_cents"]


@dataclass
class Gaps:
    """Per professional of a results table (arrays aligned with its rows)."""

    next_level: np.ndarray  # tier to reach (1-based), 0 when none (top tier, not eligible)
    dmp_needed: np.ndarray  # DMPs fed lacking for next_level; NO_GAP when none
    tier_payable_cents: np.ndarray  # payable if the next tier were reached, all else equal
    structured_needed: np.ndarray  # structured VSMs lacking for the majoration; NO_GAP when none
    majoration_payable_cents: np.ndarray
    payable_cents: np.ndarray  # payable now (amount, or complement)


def gaps(table, rules: RuleSet, period: str) -> Gaps:
    """The gaps to the next tier and to the majoration of every row of a results table
    (counts columns, tier, majoration; paid_eur for a complementary period)."""
    mt, ald, fed, structured = (table[c].to_numpy(np.int64) for c in COUNT_COLUMNS)
    paid = _paid_cents(table)
    if rules.period(period).complement_of is None:
        paid = None
    now = compute_columns(mt, ald, fed, structured, rules, period, paid_cents=paid)
    levels = rules.tiers.levels
    tier = now["tier"]
    eligible = now["eligible"]

    next_level = np.where(eligible & (tier < len(levels)), tier + 1, 0)
    dmp_needed = np.full(len(tier), NO_GAP, dtype=np.int64)
    for number, level in enumerate(levels, start=1):
        here = next_level == number
        if here.any():
            dmp_needed = np.where(here, needed(fed, ald, level.min_share, rules.tiers.comparison), dmp_needed)
    reach = dmp_needed > 0
    maj = rules.majoration
    threshold = maj.min_structured_share
    keeps = meets(structured, fed, threshold.value, threshold.comparison) if maj.enabled.value else np.zeros(len(tier), bool)
    add = np.where(reach, dmp_needed, 0)
    scenario = compute_columns(mt, ald, fed + add, structured + np.where(keeps, add, 0), rules, period, paid_cents=paid)
    tier_payable = np.where(reach, _payable(scenario), _payable(now))

    structured_needed = np.full(len(tier), NO_GAP, dtype=np.int64)
    majoration_payable = _payable(now).copy()
    if maj.enabled.value:
        candidates = (tier > 0) & ~now["majoration"] & (fed > 0)
        n = needed(structured, fed, threshold.value, threshold.comparison)
        structured_needed = np.where(candidates, n, NO_GAP)
        more = np.where(candidates, n, 0)
        scenario = compute_columns(mt, ald, fed, structured + more, rules, period, paid_cents=paid)
        majoration_payable = np.where(candidates, _payable(scenario), _payable(now))
    return Gaps(next_level, dmp_needed, tier_payable, structured_needed, majoration_payable, _payable(now))


# --------------------------------------------------------------------------- settings


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

    from .regions import load_regions

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
    from .rules import parse_fraction as _parse_fraction

    path = Path(path) if path else params_dir() / ACCOMPANIMENT_FILE
    data = _read_settings(path, "marges de la liste à accompagner")
    values = []
    for key in ("marge_palier", "marge_majoration"):
        node = data.get(key)
        if not isinstance(node, dict) or "value" not in node or not str(node.get("rationale") or "").strip():
            raise VsmError(f"« {path} » : « {key} » doit avoir une valeur (value) et sa justification (rationale).")
        try:
            value = _parse_fraction(node["value"])
        except ValueError as exc:
            raise VsmError(f"« {path} », {key} : {exc}.") from None
        if not 0 <= value <= 1:
            raise VsmError(f"« {path} », {key} : une marge est une part entre 0 et 1 (ex. « 1/10 » pour 10 points).")
        values.append(value)
    return Margins(values[0], values[1], path)


# --------------------------------------------------------------------------- results of a batch


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
    from .report import load_period, resolve_path

    if not isinstance(rules, RuleSet):
        rules = load_rules(rules)
    folder = resolve_path(results_dir)
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
    paid = _paid_cents(table) if rules.period(period).complement_of else None
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


def _cents(value: int) -> Decimal:
    return Decimal(int(value)).scaleb(-2)


def _period_statement(batch: Batch, period: str, ps_id: str) -> PeriodStatement:
    from .explain import explain_row

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
    now = _cents(g.payable_cents[position])
    if g.dmp_needed[position] > 0:
        level = rules.tiers.levels[out.next_level - 1]
        out.gaps.append(Gap("palier", int(g.dmp_needed[position]), fr.fraction(level.min_share), now, _cents(g.tier_payable_cents[position])))
    if g.structured_needed[position] > 0:
        out.gaps.append(Gap("majoration", int(g.structured_needed[position]), "la majoration", now, _cents(g.majoration_payable_cents[position])))
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
        from .display import Prose

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
        from .display import Prose

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
        from .forfait import weight_fraction

        num, den = weight_fraction(np.array([mt], dtype=np.int64), self.rules)
        reference = self.rules.ponderation.reference_patients.value
        text = f"{fr.integer(mt)} / {fr.integer(reference)} = {fr.number(Fraction(int(num[0]), int(den[0])))}"
        return text if Fraction(int(num[0]), int(den[0])) == Fraction(mt, reference) else f"{fr.number(Fraction(int(num[0]), int(den[0])))} (plafond)"

    def figures_table(self, ps: PeriodStatement):
        import pandas as pd

        from .report import Table

        return Table(pd.DataFrame(self.figures(ps), columns=["Chiffre retenu", "Valeur"]))

    def steps_markdown(self, ps: PeriodStatement) -> str:
        from .report import md_escape

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
        from .report import md_escape

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
    from .regions import load_regions

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


# --------------------------------------------------------------------------- the notebook


OUTPUT_KEY = "vsm_releve"  # metadata of each display output: the ps_id it belongs to


class Statements:
    """What notebooks/releve.ipynb shows, for one or many professionals at once: each cell
    displays its part of every statement, each output tagged with its ps_id, so that one
    kernel executes a whole batch and :func:`split_notebook` gives each statement its own
    notebook, identical to a run for that professional alone."""

    def __init__(self, rules, results_dir, ps_ids: Sequence[str] | str, contact_file: str | None = None):
        if not isinstance(ps_ids, (list, tuple)):
            ps_ids = [ps_ids]
        for item in ps_ids:
            if not isinstance(item, str):  # papermill « -p ps_id 0100… » arrives as an int, leading zeros lost
                raise VsmError(
                    f"Identifiant « {item} » reçu comme un nombre : le passer comme texte (papermill : « -r ps_id {item} »), "
                    "un identifiant peut commencer par 0."
                )
        ids = [i.strip() for i in ps_ids if i.strip()]
        if not ids:
            raise VsmError("Aucun identifiant de professionnel donné (paramètre ps_id ou ps_ids).")
        self.batch = load_batch(rules, results_dir, contact_file or None)
        self.items = [statement(self.batch, ps_id) for ps_id in ids]

    @property
    def periods(self) -> list[str]:
        return list(self.batch.rules.periods)

    def _show(self, make) -> None:
        from IPython.display import display

        for item in self.items:
            shown = make(item)
            for obj in shown if isinstance(shown, list) else [shown]:
                display(obj, metadata={OUTPUT_KEY: item.ps_id})

    def title(self) -> None:
        from .display import Prose

        self._show(lambda s: Prose(f"# {s.facts()['title']}"))

    def header(self) -> None:
        self._show(lambda s: s.header())

    def period(self, period: str) -> None:
        self._show(lambda s: s.period_section(period))

    def every_period(self) -> None:
        for period in self.periods:
            self.period(period)

    def contact(self) -> None:
        from .display import Prose

        self._show(lambda s: Prose(s.contact_markdown()))

    def facts(self) -> dict:
        return {s.ps_id: s.facts() for s in self.items}


def split_notebook(nb, ps_id: str, facts: dict):
    """The executed batch notebook reduced to one statement: each code cell keeps the
    outputs tagged with ``ps_id`` (and untagged ones), the title facts go to
    ``metadata["vsm"]`` for the renderer."""
    import copy

    import nbformat

    out = nbformat.v4.new_notebook()
    out.metadata = copy.deepcopy(nb.metadata)
    out.metadata["vsm"] = {**facts, "status": "ok"}
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []) or "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        cell = copy.copy(cell)
        if cell.cell_type == "code":
            cell["outputs"] = [o for o in cell.get("outputs", []) if (o.get("metadata") or {}).get(OUTPUT_KEY, ps_id) == ps_id]
        out.cells.append(cell)
    return out


# --------------------------------------------------------------------------- list for field visits


ACCOMPANIMENT_COLUMNS = (
    "ps_id", "ps_kind", "etape", "manque", "unite", "part_actuelle", "seuil",
    "patients_mt", "patients_mt_ald", "dmp_vsm", "dmp_vsm_structured",
    "verse_eur", "verse_si_atteint_eur", "enjeu_eur",
)


def accompaniment(results, rules: RuleSet, period: str, region: str | None = None, margins: Margins | None = None):
    """The professionals within reach of their next step (params/accompagnement.yml), one
    row per step within reach, with what they lack and the euros at stake, sorted by euros
    at stake (largest first), then ps_id."""
    import pandas as pd

    margins = margins or load_margins()
    table = results if region is None else results[results["region"].astype(str) == region]
    table = table.reset_index(drop=True)
    g = gaps(table, rules, period)
    mt, ald, fed, structured = (table[c].to_numpy(np.int64) for c in COUNT_COLUMNS)
    levels = rules.tiers.levels
    rows = []
    for number, level in enumerate(levels, start=1):
        lower = max(level.min_share - margins.tier, Fraction(0))
        near = (g.next_level == number) & (g.dmp_needed > 0) & meets(fed, ald, lower, ">=")
        for i in np.flatnonzero(near):
            rows.append((i, f"palier {number}", int(g.dmp_needed[i]), "DMP alimentés",
                         Fraction(int(fed[i]), int(ald[i])), level.min_share, int(g.tier_payable_cents[i])))
    t = rules.majoration.min_structured_share
    if rules.majoration.enabled.value:
        lower = max(t.value - margins.majoration, Fraction(0))
        near = (g.structured_needed > 0) & meets(structured, fed, lower, ">=")
        for i in np.flatnonzero(near):
            rows.append((i, "majoration", int(g.structured_needed[i]), "VSM structurés",
                         Fraction(int(structured[i]), int(fed[i])), t.value, int(g.majoration_payable_cents[i])))
    records = []
    for i, step, missing, unit, share, threshold, then in rows:
        now = int(g.payable_cents[i])
        records.append({
            "ps_id": str(table["ps_id"].iloc[i]),
            "ps_kind": table["ps_kind"].iloc[i] if "ps_kind" in table.columns else rules.population,
            "etape": step,
            "manque": missing,
            "unite": unit,
            "part_actuelle": f"{share.numerator}/{share.denominator}",
            "seuil": f"{threshold.numerator}/{threshold.denominator}",
            "patients_mt": int(mt[i]),
            "patients_mt_ald": int(ald[i]),
            "dmp_vsm": int(fed[i]),
            "dmp_vsm_structured": int(structured[i]),
            "verse_eur": _cents(now),
            "verse_si_atteint_eur": _cents(then),
            "enjeu_eur": _cents(then - now),
            "_stake": then - now,
        })
    frame = pd.DataFrame(records, columns=[*ACCOMPANIMENT_COLUMNS, "_stake"])
    frame = frame.sort_values(["_stake", "ps_id", "etape"], ascending=[False, True, True], kind="stable")
    return frame.drop(columns="_stake").reset_index(drop=True)


def write_accompaniment(results, rules: RuleSet, period: str, region: str, out_dir: Path | str) -> Path:
    """``<out_dir>/a_accompagner.csv`` (atomically), beside paiements.csv: for the caisse's
    field visits only, never published nor linked from a report or the index."""
    from .regions import normalize_region
    from .outputs import atomic_path

    frame = accompaniment(results, rules, period, normalize_region(region))
    path = Path(out_dir) / ACCOMPANIMENT_NAME
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    return path
