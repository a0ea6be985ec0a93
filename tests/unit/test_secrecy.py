"""Statistical secrecy (vsm/publish/secrecy.py; the test-only tools in tests/secrecy_checks.py): masks computed by hand, the rendered-text checker,
the payment list."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from vsm import present as fr
from vsm.publish import secrecy
from vsm.errors import VsmError

from conftest import SHARED_DIR, squash
from vsm.publish import payments
import secrecy_checks

S = "s"


def with_margins(body: pd.DataFrame, rows: bool = True, cols: bool = True) -> pd.DataFrame:
    table = body.copy()
    if cols:
        table["Total"] = table.sum(axis=1)
    if rows:
        table.loc["Total"] = table.sum()
    return table


def masked_cells(mask: pd.DataFrame) -> set[tuple[object, object]]:
    return {(r, c) for r in mask.index for c in mask.columns if mask.loc[r, c]}


# --------------------------------------------------------------------------- settings


def test_settings_default_threshold_symbol_and_source():
    current = secrecy.settings()
    assert current.threshold == 10
    assert current.symbol == S
    assert "domain-facts.md" in current.source and "§ 5" in current.source
    assert "1 à 10" in secrecy.secret_note()
    assert secrecy.secret_note(threshold=4).count("1 à 4") == 1


def test_settings_quote_is_verbatim_from_domain_facts():
    facts = SHARED_DIR / "domain-facts.md"
    if not facts.exists():
        pytest.skip("domain-facts.md absent de cette machine")
    quote = secrecy.settings().source.split("« ", 1)[1].rsplit(" »", 1)[0]
    assert quote in facts.read_text(encoding="utf-8")


def test_settings_invalid_file_gives_french_error(tmp_path):
    bad = tmp_path / "secret.yml"
    bad.write_text("seuil: dix\nsymbole: s\n", encoding="utf-8")
    with pytest.raises(VsmError, match="seuil"):
        secrecy.settings(bad)
    with pytest.raises(VsmError, match="introuvables"):
        secrecy.settings(tmp_path / "absent.yml")


# --------------------------------------------------------------------------- primary masking


def test_primary_masks_one_to_threshold_only():
    table = pd.DataFrame({"n": [0, 1, 10, 11, 250]}, index=list("abcde"))
    mask = secrecy_checks.secret_mask(table)  # no « Total »: nothing to recover by difference
    assert mask["n"].tolist() == [False, True, True, False, False]


def test_threshold_is_a_setting():
    table = pd.DataFrame({"n": [3, 7, 12]}, index=list("abc"))
    assert secrecy_checks.secret_mask(table, threshold=4)["n"].tolist() == [True, False, False]


# --------------------------------------------------------------------------- secondary masking


def test_row_with_one_small_cell_and_a_total_masks_the_smallest_other_cell():
    # 3 + 25 + 40 + 12 = 80 published: 3 alone would be 80 − 25 − 40 − 12. The smallest
    # other cell, 12, is masked too.
    table = pd.DataFrame([[3, 25, 40, 12, 80]], index=["Bretagne"], columns=["22", "29", "35", "56", "Total"])
    mask = secrecy_checks.secret_mask(table)
    assert masked_cells(mask) == {("Bretagne", "22"), ("Bretagne", "56")}
    shown = secrecy_checks.apply_mask(table, mask, fr.integer)
    assert shown.loc["Bretagne"].tolist() == [S, "25", "40", S, "80"]


def test_column_with_a_total_row_protects_the_same_way():
    table = with_margins(pd.DataFrame({"professionnels": [40, 7, 55, 30]}, index=["22", "29", "35", "56"]), cols=False)
    mask = secrecy_checks.secret_mask(table)
    assert masked_cells(mask) == {("29", "professionnels"), ("56", "professionnels")}


def test_tier_by_majoration_table():
    # Hand computation:
    #   primary: (Palier 1, oui) = 4;
    #   row « Palier 1 »: 4 alone → mask its smallest other cell, 45 (Palier 1, non);
    #   column « oui »: 4 alone → candidates 0 and 18; a non-zero cell first → 18 (Palier 2, oui);
    #   column « non »: 45 alone → candidates 120 and 30 → 30 (Palier 2, non);
    #   row « Palier 2 »: 30 and 18 masked → stable. Margins stay published.
    body = pd.DataFrame({"non": [120, 45, 30], "oui": [0, 4, 18]}, index=["Palier 0", "Palier 1", "Palier 2"])
    table = with_margins(body)
    assert table.loc["Total"].tolist() == [195, 22, 217]
    mask = secrecy_checks.secret_mask(table)
    assert masked_cells(mask) == {
        ("Palier 1", "non"), ("Palier 1", "oui"), ("Palier 2", "non"), ("Palier 2", "oui"),
    }
    assert secrecy_checks.recoverable_cells(table, mask) == []
    shown = secrecy_checks.apply_mask(table, mask, fr.integer)
    assert shown.loc["Palier 0"].tolist() == ["120", "0", "120"]
    assert shown.loc["Palier 1"].tolist() == [S, S, "49"]
    assert shown.loc["Total"].tolist() == ["195", "22", "217"]


def test_zero_cell_is_masked_before_a_total():
    # (A, x) = 3 → row A: 40; column x: 12; column y: (A, y) alone, the only other body cell
    # is (B, y) = 0 → masked rather than the column total. Rows then have two masked cells each.
    table = with_margins(pd.DataFrame({"x": [3, 12], "y": [40, 0]}, index=["A", "B"]))
    mask = secrecy_checks.secret_mask(table)
    assert masked_cells(mask) == {("A", "x"), ("A", "y"), ("B", "x"), ("B", "y")}
    assert secrecy_checks.recoverable_cells(table, mask) == []


def test_total_equal_to_a_small_count_is_masked():
    table = with_margins(pd.DataFrame({"n": [0, 4, 0]}, index=["a", "b", "c"]), cols=False)
    assert masked_cells(secrecy_checks.secret_mask(table)) == {("b", "n"), ("Total", "n")}


def test_cell_recoverable_by_combining_lines_gets_a_complementary_mask():
    # Every row and column has 0 or ≥ 2 small cells, yet (B, C3) = 6 is recoverable:
    # row A + row B − column C1 − column C2 leaves exactly (B, C3).
    # Its lines: row B (unmasked: 70) and column C3 (unmasked: 50) → the smaller, 50, is masked.
    body = pd.DataFrame(
        [[2, 3, 50, 60], [4, 5, 6, 70], [80, 90, 7, 8], [40, 30, 9, 5]],
        index=list("ABCD"), columns=["C1", "C2", "C3", "C4"],
    )
    table = with_margins(body)
    primary = (table >= 1) & (table <= 10)
    assert secrecy_checks.recoverable_cells(table, primary) == [("B", "C3")]
    mask = secrecy_checks.secret_mask(table)
    assert masked_cells(mask) == masked_cells(primary) | {("A", "C3")}
    assert secrecy_checks.recoverable_cells(table, mask) == []


def test_non_additive_total_is_refused():
    table = pd.DataFrame({"n": [20, 30, 45]}, index=["a", "b", "Total"])
    with pytest.raises(VsmError, match="somme"):
        secrecy_checks.secret_mask(table)


def test_negative_or_missing_counts_are_refused():
    with pytest.raises(VsmError, match="entiers positifs"):
        secrecy_checks.secret_mask(pd.DataFrame({"n": [1.0, np.nan]}))


@hsettings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda n: st.integers(min_value=1, max_value=4).flatmap(
            lambda m: st.lists(
                st.lists(st.sampled_from([0, 1, 3, 8, 10, 11, 14, 40, 200]), min_size=m, max_size=m),
                min_size=n, max_size=n,
            )
        )
    )
)
def test_property_no_small_count_published_and_none_recoverable(rows):
    table = with_margins(pd.DataFrame(rows, index=[f"r{i}" for i in range(len(rows))], columns=[f"c{j}" for j in range(len(rows[0]))]))
    mask = secrecy_checks.secret_mask(table)
    values = table.to_numpy()
    assert not ((values >= 1) & (values <= 10) & ~mask.to_numpy()).any()
    assert secrecy_checks.recoverable_cells(table, mask) == []
    for r in table.index:  # no line with exactly one masked cell
        assert mask.loc[r].sum() != 1
    for c in table.columns:
        assert mask[c].sum() != 1


# --------------------------------------------------------------------------- amounts and display


def test_amounts_tied_to_masked_counts_are_masked():
    counts = with_margins(pd.DataFrame({"non": [120, 45, 30], "oui": [0, 4, 18]}, index=["P0", "P1", "P2"]))
    amounts = with_margins(pd.DataFrame({"non": [0, 67500, 90000], "oui": [0, 7200, 64800]}, index=["P0", "P1", "P2"]).astype(object))
    amounts = amounts.map(lambda v: Decimal(v))
    shown = secrecy_checks.apply_mask(amounts, secrecy_checks.secret_mask(counts), fr.eur)
    assert shown.loc["P1"].tolist()[:2] == [S, S]
    assert squash(shown.loc["P1", "Total"]) == "74 700,00 €"
    assert squash(shown.loc["Total", "oui"]) == "72 000,00 €"


def test_publish_table_long_format():
    frame = pd.DataFrame(
        {
            "département": ["22", "29", "35", "56", "Total"],
            "professionnels": [40, 7, 55, 30, 132],
            "montant": [Decimal("60000"), Decimal("10500"), Decimal("82500"), Decimal("45000"), Decimal("198000")],
        }
    ).set_index("département", drop=False)
    frame.index = ["22", "29", "35", "56", "Total"]
    shown = secrecy_checks.publish_table(frame, counts=["professionnels"], tied={"montant": "professionnels"}, formats={"montant": fr.eur})
    assert shown["professionnels"].tolist() == ["40", S, "55", S, "132"]
    assert [squash(v) for v in shown["montant"]] == ["60 000,00 €", S, "82 500,00 €", S, "198 000,00 €"]
    assert shown["département"].tolist() == ["22", "29", "35", "56", "Total"]
    with pytest.raises(VsmError, match="absentes"):
        secrecy_checks.publish_table(frame, counts=["effectif"])


# --------------------------------------------------------------------------- checking a rendered document


def test_find_leaks_detects_an_unmasked_small_count():
    table = with_margins(pd.DataFrame({"non": [120, 45, 30], "oui": [0, 4, 18]}, index=["Palier 0", "Palier 1", "Palier 2"]))
    raw_html = table.to_html()
    problems = secrecy_checks.find_leaks(raw_html, {"paliers": table})
    assert problems == ["paliers : « Palier 1 × oui » vaut 4 et s'affiche « 4 » (secret non appliqué)."]
    safe_html = secrecy_checks.apply_mask(table, secrecy_checks.secret_mask(table), fr.integer).to_html()
    assert secrecy_checks.find_leaks(safe_html, {"paliers": table}) == []
    # Plain text (as pdftotext -layout gives it), header without the corner cell.
    text = "          non    oui    Total\nPalier 0  120    0      120\nPalier 1  s      s      49\n"
    assert secrecy_checks.find_leaks(text, {"paliers": table.loc[["Palier 0", "Palier 1"]]}) == []
    assert secrecy_checks.find_leaks(text.replace("s      s", "45     4"), [table.loc[["Palier 1"]]]) != []


def test_find_leaks_does_not_pass_on_a_missing_table():
    table = pd.DataFrame({"n": [3]}, index=["a"])
    assert "introuvable" in secrecy_checks.find_leaks("<p>rien</p><table><tr><td>x</td></tr></table>", [table])[0]


# --------------------------------------------------------------------------- payment list


def results_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ps_id": ["10000000003", "10000000001", "10000000002", "10000000004"],
            "ps_kind": ["medecin"] * 4,
            "region": ["53", "53", "53", "11"],
            "departement": ["35", "29", "22", "75"],
            "patients_mt": [1000, 800, 500, 900],
            "patients_mt_ald": [200, 150, 90, 100],
            "dmp_vsm": [190, 10, 60, 95],
            "tier_eur": [Decimal("3000.00"), Decimal("0.00"), Decimal("1500.00"), Decimal("3000.00")],
            "majoration_eur": [Decimal("600.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00")],
            "amount_eur": [Decimal("4500.00"), Decimal("0.00"), Decimal("937.50"), Decimal("3375.00")],
        }
    )


def test_write_payments_region_only_ps_id_and_amounts(tmp_path):
    path = payments.write_payments(results_table(), "53", tmp_path / "reports" / "53")
    assert path == tmp_path / "reports" / "53" / "paiements.csv"
    text = path.read_text(encoding="utf-8")
    assert text.splitlines() == [
        "ps_id,tier_eur,majoration_eur,amount_eur,payable_eur",
        "10000000002,1500.00,0.00,937.50,937.50",
        "10000000003,3000.00,600.00,4500.00,4500.00",
    ]
    assert [p.name for p in path.parent.iterdir()] == ["paiements.csv"]  # no temporary file left


def test_payments_of_a_complementary_period_pay_the_complement():
    results = results_table().assign(
        paid_eur=[Decimal("4000.00"), Decimal("0.00"), Decimal("937.50"), Decimal("0.00")],
        complement_eur=[Decimal("500.00"), Decimal("0.00"), Decimal("0.00"), Decimal("3375.00")],
    )
    table = payments.payments(results, "53")
    assert table["ps_id"].tolist() == ["10000000003"]
    assert table["payable_eur"].tolist() == [Decimal("500.00")]
    assert list(table.columns) == ["ps_id", "tier_eur", "majoration_eur", "amount_eur", "paid_eur", "complement_eur", "payable_eur"]


def test_payments_bad_region_is_a_french_error(tmp_path):
    with pytest.raises(VsmError, match="Région inconnue"):
        payments.write_payments(results_table(), "99", tmp_path)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- groups of professionals (protect)


def nested_groups(n: int = 338, non_eligible: int = 2) -> dict[str, np.ndarray]:
    eligible = np.ones(n, dtype=bool)
    eligible[:non_eligible] = False
    tier = np.zeros(n, dtype=int)
    tier[100:250], tier[250:] = 1, 2
    majorated = np.zeros(n, dtype=bool)
    majorated[240:245] = True  # 5 majorated at tier 1
    majorated[300:330] = True
    return {
        "professionnels": np.ones(n, dtype=bool),
        "eligibles": eligible,
        "non_eligibles": ~eligible,
        "atteint_1": eligible & (tier >= 1),
        "atteint_2": eligible & (tier >= 2),
        "majores": majorated,
        "palier_0": eligible & (tier == 0),
        "palier_1_sans": eligible & (tier == 1) & ~majorated,
        "palier_1_avec": eligible & (tier == 1) & majorated,
        "palier_2_sans": eligible & (tier == 2) & ~majorated,
        "palier_2_avec": eligible & (tier == 2) & majorated,
    }


IMPORTANT = {"professionnels": 60, "eligibles": 80, "atteint_1": 90, "atteint_2": 90, "majores": 70}


def test_protect_difference_of_two_nested_counts():
    # 338 professionals, 336 eligible: publishing both gives the 2 non-eligible back.
    groups = nested_groups()
    protection = secrecy.protect(groups, importance=IMPORTANT)
    assert protection.is_masked("non_eligibles")  # primary: 2
    assert protection.is_masked("professionnels") and not protection.is_masked("eligibles")  # the less important one
    assert secrecy_checks.readable_small_sets(groups, protection.masked) == 0
    assert secrecy_checks.readable_small_sets(groups, {"non_eligibles"}) > 0  # primary masking alone is not enough


def test_protect_two_by_two_table_with_published_margins():
    # Tier 1 with majoration: 5. Its row (tier 1 = atteint_1 − atteint_2) and its column
    # (majorés) are published: the three other cells of the 2 × 2 table must go too.
    # The cheapest masks (by total importance) are taken: here « majorés » (70) and the
    # cell beside the small one (50) cost less than the three other cells (150).
    groups = nested_groups()
    protection = secrecy.protect(groups, importance=IMPORTANT)
    assert protection.is_masked("palier_1_avec") and protection.is_masked("palier_1_sans")
    for name in ("eligibles", "atteint_1", "atteint_2", "palier_0"):
        assert not protection.is_masked(name), name
    assert "palier_1_avec" in protection.primary and "palier_1_sans" not in protection.primary
    assert secrecy_checks.readable_small_sets(groups, protection.masked) == 0
    cheaper = {"non_eligibles", "professionnels", "palier_1_avec", "palier_1_sans", "majores"}
    assert set(protection.masked) == cheaper


def test_protect_identical_groups_share_their_mask():
    groups = {"a": np.array([True] * 5 + [False] * 30), "b": np.array([True] * 5 + [False] * 30), "tout": np.ones(35, dtype=bool)}
    protection = secrecy.protect(groups)
    assert protection.is_masked("a") and protection.is_masked("b")
    assert not protection.is_masked("tout")  # 35, and nothing published to subtract from it
    with pytest.raises(KeyError):
        protection.is_masked("inconnu")


def test_protect_whole_population_masks_even_zeros():
    groups = {"professionnels": np.ones(4, dtype=bool), "vide": np.zeros(4, dtype=bool)}
    protection = secrecy.protect(groups, whole=True)
    assert protection.whole and protection.masked == {"professionnels", "vide"}


def test_protect_forced_masks_and_threshold():
    groups = nested_groups()
    assert secrecy.protect(groups, importance=IMPORTANT, forced={"atteint_2"}).is_masked("atteint_2")
    assert not secrecy.protect(groups, threshold=1).is_masked("palier_1_avec")  # 5 > 1
    with pytest.raises(VsmError, match="inconnus"):
        secrecy.protect(groups, forced={"absent"})


def test_protect_shown_groups_stay_visible_and_the_others_are_masked():
    # 338 professionals, 336 eligible, but the reader already has the 338 from another part
    # of the document (the VSM report, for its forfait structure section): « professionnels »
    # cannot be the secondary mask, « eligibles » must go instead.
    groups = nested_groups()
    protection = secrecy.protect(groups, importance=IMPORTANT, shown={"professionnels"})
    assert not protection.is_masked("professionnels") and protection.is_masked("eligibles")
    assert secrecy_checks.readable_small_sets(groups, protection.masked) == 0
    with pytest.raises(VsmError, match="publiés ailleurs"):
        secrecy.protect(groups, shown={"non_eligibles"})  # a small count cannot be shown
    with pytest.raises(VsmError, match="publiés ailleurs"):
        secrecy.protect(groups, forced={"eligibles"}, shown={"eligibles"})
    with pytest.raises(VsmError, match="inconnus"):
        secrecy.protect(groups, shown={"absent"})
    with pytest.raises(VsmError, match="suffisent à retrouver"):  # 338 − 336 both shown: nothing to mask
        secrecy.protect(groups, shown={"professionnels", "eligibles"})


@hsettings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=0, max_value=60).flatmap(
        lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=1, max_size=5)
    )
)
def test_property_protected_groups_leave_no_small_set_readable(memberships):
    n = len(memberships[0])
    groups = {"tous": np.ones(n, dtype=bool), **{f"g{i}": np.array(m, dtype=bool) for i, m in enumerate(memberships)}}
    protection = secrecy.protect(groups)
    for name, members in groups.items():
        if 1 <= members.sum() <= 10:
            assert protection.is_masked(name)
    assert secrecy_checks.readable_small_sets(groups, protection.masked) == 0


# --------------------------------------------------------------------------- find_leaks: labels of several cells, plain text


def test_find_leaks_rows_labelled_by_two_cells():
    counts = pd.DataFrame({"Professionnels": [120, 4, 30]},
                          index=pd.MultiIndex.from_tuples([("≥ 50 %", "sans"), ("≥ 50 %", "avec"), ("Total", "")]))
    shown = pd.DataFrame({"Palier": ["≥ 50 %", "≥ 50 %", "Total"], "Majoration": ["sans", "avec", ""], "Professionnels": ["120", "4", "s"]})
    problems = secrecy_checks.find_leaks(shown.to_html(index=False), {"paliers": counts})
    assert problems == ["paliers : « ≥ 50 % × avec × Professionnels » vaut 4 et s'affiche « 4 » (secret non appliqué)."]
    assert secrecy_checks.find_leaks(shown.replace("4", "s").to_html(index=False), {"paliers": counts}) == []
    text = "Palier   Majoration   Professionnels\n≥ 50 %   sans         120\n≥ 50 %   avec           4\nTotal                   s\n"
    assert secrecy_checks.find_leaks(text, {"paliers": counts}) != []
    assert secrecy_checks.find_leaks(text.replace("  4\n", "  s\n"), {"paliers": counts}) == []


def test_find_leaks_plain_text_wrapped_labels_and_prose():
    counts = pd.DataFrame({"Valeur": [7, 250]}, index=["Professionnels (patientèle « médecin traitant » en fin de période)", "Éligibles"])
    wrapped = (
        "Professionnels (patientèle « médecin traitant » en     s\n"
        "fin de période)\n"
        "Éligibles                                             250\n"
        "Professionnels : la région compte de 1 à 7 professionnels.\n"  # prose, not the row
    )
    assert secrecy_checks.find_leaks(wrapped, {"chiffres": counts}) == []
    leaky = wrapped.replace("en     s", "en     7")
    assert "vaut 7" in secrecy_checks.find_leaks(leaky, {"chiffres": counts})[0]
    assert secrecy_checks.find_leaks(wrapped.replace("en     s", "en     7,0 %"), {"chiffres": counts}) == []  # a share, not a count
    assert "introuvable" in secrecy_checks.find_leaks("rien ici\n", {"chiffres": counts})[0]


def test_unique_rows_matches_numpy_unique_on_rows():
    import numpy as np

    from vsm.publish.secrecy import _unique_rows

    rng = np.random.default_rng(7)
    for width in (1, 2, 17, 63, 64):
        matrix = rng.random((2000, width)) < 0.3
        atoms, inverse, counts = _unique_rows(matrix)
        expected_atoms, expected_inverse, expected_counts = np.unique(matrix, axis=0, return_inverse=True, return_counts=True)
        assert atoms.dtype == bool and (atoms == expected_atoms).all() and (counts == expected_counts).all()
        assert (inverse == expected_inverse.ravel()).all()
