"""The title block of a rendered report (kicker, title, « fiche » lines) and its footer,
from the executed notebook's metadata (``nb.metadata["vsm"]``, written by the command that
executed it: report.title_facts, report.simulation.title_facts, releve.Statement.facts).

The keys read, each in the one spelling those writers use: kind (« national », « regional »,
« releve »), region (a code, or « national »), region_name, caisse, title, period, start,
end, payment, complement_of, rules, rules_label, snapshot_dates (the patientèle snapshots,
ISO dates). With that metadata, a leading title output of the notebook (a Markdown output
starting with « # ») is replaced by this title block; its « # » line becomes the title.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .. import __version__
from .. import present as fr
from ..display import md_escape
from ..errors import VsmError
from ..regions import load_regions

KICKER = "Assurance Maladie — forfait VSM (volet de synthèse médicale)"
# the region (and folder) of a national report, as vsm.report.NATIONAL writes it (not imported:
# vsm.report loads pandas, which a renderer process does not need)
NATIONAL = "national"


# --------------------------------------------------------------------------- title block


@dataclass
class TitleBlock:
    title: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    running_title: str = ""


def _as_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def date_text(value) -> str:
    day = _as_date(value)
    return fr.date(day) if day is not None else str(value)


def _snapshots_text(meta: dict) -> str | None:
    dates = meta.get("snapshot_dates")
    if not dates:
        return None
    return f"patientèle « médecin traitant » arrêtée au {', '.join(date_text(v) for v in dates)}"


def region_text(meta: dict) -> tuple[str, str | None, bool]:
    """(« Bretagne (53) », caisse or None, is_national)."""
    code = meta.get("region")
    name = meta.get("region_name")
    if meta.get("kind") == "national" or code is None or code == NATIONAL:
        return "France entière", None, True
    code = str(code)
    caisse = meta.get("caisse")
    try:
        region = load_regions().get(code)
    except (VsmError, OSError):  # regions.yml unreadable: the metadata alone is enough for a title
        region = None
    if region is not None:
        name = name or region.nom
        caisse = caisse or region.caisse
    return (f"{name} ({code})" if name else code), caisse, False


def title_block(metadata: dict, heading: str | None = None, fallback: str = "Rapport") -> TitleBlock:
    """The title and the « fiche » lines of a report, from the notebook metadata."""
    meta = dict(metadata.get("vsm") or {})
    fields: list[tuple[str, str]] = []
    if not meta:
        title = heading or fallback
        return TitleBlock(title=title, fields=fields, running_title=title)
    region, caisse, national = region_text(meta)
    if meta.get("title"):
        title = str(meta["title"])
    elif heading:
        title = heading
    elif national:
        title = "Synthèse nationale"
    else:
        title = f"Rapport régional — {region}"
    fields.append(("Région", region + (f" — {caisse}" if caisse else "")))
    if meta.get("period"):
        fields.append(("Période", str(meta["period"])))
    if meta.get("start") and meta.get("end"):
        fields.append(("Fenêtre d'observation", f"{date_text(meta['start'])} – {date_text(meta['end'])}"))
    if meta.get("payment"):
        complement = f" (complément de la période {meta['complement_of']})" if meta.get("complement_of") else ""
        fields.append(("Versement", f"{meta['payment']}{complement}"))
    if meta.get("rules"):
        label = f"{meta['rules_label']} ({meta['rules']})" if meta.get("rules_label") else str(meta["rules"])
        fields.append(("Jeu de règles", label))
    snapshots = _snapshots_text(meta)
    if snapshots:
        fields.append(("Extractions", snapshots))
    executed = (metadata.get("papermill") or {}).get("end_time")
    if _as_date(executed) is not None:
        fields.append(("Calculé le", date_text(executed)))
    running = " · ".join(x for x in (region, str(meta.get("period") or "")) if x)
    return TitleBlock(title=title, fields=fields, running_title=running)


def title_markdown(block: TitleBlock) -> str:
    """The title box in pandoc Markdown, the same for both engines: kicker, « # » title and
    the « fiche » lines (CSS styles the divs in HTML, the Lua filter makes them Typst calls)."""
    lines = [f"**{md_escape(label)} :** {md_escape(value)}" for label, value in block.fields]
    fiche = ("\n\n::: {.vsm-fiche}\n" + "\\\n".join(lines) + "\n:::") if lines else ""
    return (
        "::: {.vsm-titre}\n"
        f"::: {{.vsm-surtitre}}\n{md_escape(KICKER)}\n:::\n\n"
        f"# {md_escape(block.title)} {{.unnumbered .unlisted}}"
        f"{fiche}\n"
        ":::"
    )


def footer_markdown(produced: dt.date | None = None) -> str:
    produced = produced or dt.date.today()
    return (
        "::: {.vsm-pied}\n"
        f"Document produit par l'outil vsm {md_escape(__version__)} le {fr.date(produced)}, à partir d'un notebook "
        "déjà exécuté : aucun chiffre n'est recalculé à la mise en page.\n"
        ":::"
    )
