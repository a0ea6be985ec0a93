"""Every quote cited by a rule set (and by the worked examples) appears verbatim in its document.

Seeds live in ../shared/seeds/<seed> relative to the repository root, domain-facts.md in
../shared/domain-facts.md. Both sides are normalised: ``**`` and backticks removed, ’ → ',
whitespace (including no-break spaces) collapsed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES_DIR, SEEDS_DIR, SHARED_DIR
from vsm.rules import list_rules

pytestmark = pytest.mark.skipif(
    not SHARED_DIR.is_dir(), reason=f"documents sources absents : {SHARED_DIR} n'existe pas (dépôt extrait seul)"
)


def normalise(text: str) -> str:
    text = text.replace("**", "").replace("`", "")
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    return re.sub(r"\s+", " ", text).strip()


def document_path(seed: str) -> Path:
    if seed == "domain-facts.md":
        return SHARED_DIR / "domain-facts.md"
    return SEEDS_DIR / seed


_CACHE: dict[str, str] = {}


def document_text(seed: str) -> str:
    if seed not in _CACHE:
        path = document_path(seed)
        assert path.is_file(), f"document cité introuvable : {path}"
        _CACHE[seed] = normalise(path.read_text(encoding="utf-8"))
    return _CACHE[seed]


def _rule_quotes():
    for rules in list_rules():
        for i, source in enumerate(rules.all_sources()):
            yield pytest.param(source.seed, source.quote, id=f"{rules.id}-{i}-{source.seed[:3]}")


def _example_quotes():
    for path in sorted(EXAMPLES_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        seed = data["source"]["seed"]
        for case in data["cases"]:
            yield pytest.param(seed, case["quote"], id=f"{path.stem}-{case['id']}")


RULE_QUOTES = list(_rule_quotes())
EXAMPLE_QUOTES = list(_example_quotes())


def test_there_are_quotes_to_check():
    assert len(RULE_QUOTES) >= 40
    assert len(EXAMPLE_QUOTES) == 7


@pytest.mark.parametrize("seed, quote", RULE_QUOTES)
def test_rule_quote_is_verbatim_in_its_document(seed, quote):
    assert normalise(quote) in document_text(seed), f"citation absente de {seed} : « {quote} »"


@pytest.mark.parametrize("seed, quote", EXAMPLE_QUOTES)
def test_example_quote_is_verbatim_in_the_note(seed, quote):
    assert normalise(quote) in document_text(seed), f"citation absente de {seed} : « {quote} »"


def test_every_declared_document_exists():
    for rules in list_rules():
        for seed in rules.documents:
            assert document_path(seed).is_file(), f"{rules.id} déclare {seed}, introuvable"


def test_the_checker_can_fail():
    """A quote that is not in the note is detected (the normalisation is not too lax)."""
    text = document_text("002_ba23acbf965b9b3d.txt")
    assert normalise("soit 800 patients") in text
    assert normalise("soit 1 000 patients") not in text
    assert normalise("plus d’un tiers") in text  # typographic apostrophe normalised
