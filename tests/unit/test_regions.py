"""params/regions.yml names only caisses that exist."""

from __future__ import annotations

import re

from vsm.regions import load_regions

OVERSEAS = {"01": "CGSS de Guadeloupe", "02": "CGSS de Martinique", "03": "CGSS de Guyane", "04": "CGSS de La Réunion", "06": "CSS de Mayotte"}


def test_overseas_regions_name_their_cgss_or_css():
    regions = load_regions()
    for code, caisse in OVERSEAS.items():
        assert regions[code].caisse == caisse


def test_metropolitan_regions_name_the_dcgdr_and_the_cpam_of_each_departement():
    for region in load_regions().values():
        if region.code in OVERSEAS:
            continue
        match = re.fullmatch(r"DCGDR (.+) — CPAM des départements (.+) et (\w+)", region.caisse)
        assert match, region.caisse
        assert match.group(1) == region.nom
        listed = match.group(2).split(", ") + [match.group(3)]
        assert listed == list(region.departements)
        assert not re.search(r"CPAM (de|du|des|d')\s?" + re.escape(region.nom), region.caisse)


def test_papermill_integer_region_is_read_back_with_its_leading_zero():
    from vsm.regions import normalize_region

    assert normalize_region(2) == "02"  # papermill's -p region 02
    assert normalize_region(4) == "04"
    assert normalize_region(53) == "53"
    assert normalize_region("02") == "02"


def test_typed_one_digit_region_is_refused_with_the_hint():
    import pytest

    from vsm.errors import VsmError
    from vsm.regions import normalize_region

    with pytest.raises(VsmError, match="« 04 » et non « 4 »"):
        normalize_region("4")
    with pytest.raises(VsmError, match="-r region"):
        normalize_region(5)  # no region 05: papermill's integer, the advice to pass text
    with pytest.raises(VsmError, match="Région inconnue"):
        normalize_region(True)
