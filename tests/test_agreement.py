"""Inter-rater agreement against values worked out by hand (the arithmetic is in the comments).

The reliability data in `KRIPPENDORFF_2011` are the textbook example of Krippendorff (2011),
"Computing Krippendorff's Alpha-Reliability", section C (4 observers, 12 units, missing data).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from review.agreement import (
    AlphaResult,
    KappaResult,
    alpha_per_field,
    cohens_kappa,
    krippendorff_alpha,
    pairwise_kappa,
)


def table(a: int, b: int, c: int, d: int) -> list[tuple[str, str]]:
    """A 2x2 table as pairs: a = yes/yes, b = yes/no, c = no/yes, d = no/no (A's label first)."""
    return [("yes", "yes")] * a + [("yes", "no")] * b + [("no", "yes")] * c + [("no", "no")] * d


# Cohen's kappa ---------------------------------------------------------------------------


def test_kappa_two_by_two_by_hand():
    # n = 50. p_o = (20 + 15) / 50 = 0.7.
    # A said yes 20 + 5 = 25 times, B said yes 20 + 10 = 30 times.
    # p_e = 25/50 * 30/50 + 25/50 * 20/50 = 0.3 + 0.2 = 0.5.
    # kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    assert cohens_kappa(table(20, 5, 10, 15)) == 0.4


def test_kappa_three_categories_by_hand():
    # A: x x x y y z ; B: x x y y z z (n = 6). Agreements: x,x,y,z -> p_o = 4/6.
    # A's marginals x 3, y 2, z 1; B's x 2, y 2, z 2.
    # p_e = (3*2 + 2*2 + 1*2) / 36 = 12/36 = 1/3.
    # kappa = (2/3 - 1/3) / (1 - 1/3) = 1/2.
    pairs = [("x", "x"), ("x", "x"), ("x", "y"), ("y", "y"), ("y", "z"), ("z", "z")]
    assert cohens_kappa(pairs) == 0.5


def test_kappa_perfect_agreement_is_one():
    assert cohens_kappa(table(7, 0, 0, 3)) == 1.0
    assert cohens_kappa([("a", "a"), ("b", "b"), ("c", "c")]) == 1.0


def test_kappa_systematic_disagreement_is_negative():
    # Always opposite: p_o = 0, p_e = 0.5*0.5 + 0.5*0.5 = 0.5, kappa = (0 - 0.5) / 0.5 = -1.
    assert cohens_kappa(table(0, 10, 10, 0)) == -1.0
    # a=5 b=20 c=20 d=5: p_o = 10/50 = 0.2, p_e = 25/50*25/50 * 2 = 0.5,
    # kappa = (0.2 - 0.5) / 0.5 = -0.6.
    assert cohens_kappa(table(5, 20, 20, 5)) == pytest.approx(-0.6, abs=1e-15)


def test_kappa_undefined_cases_are_none():
    assert cohens_kappa([]) is None
    # One and the same category everywhere: p_o = p_e = 1, kappa = 0/0.
    assert cohens_kappa(table(12, 0, 0, 0)) is None


def test_kappa_each_rater_on_a_different_single_category_is_zero():
    # A always yes, B always no: p_o = 0, p_e = 1*0 + 0*1 = 0, kappa = 0 / 1 = 0.
    assert cohens_kappa(table(0, 8, 0, 0)) == 0.0


def test_kappa_is_symmetric_in_the_raters():
    pairs = table(20, 5, 10, 15)
    assert cohens_kappa([(b, a) for a, b in pairs]) == cohens_kappa(pairs)


# Pairwise kappa --------------------------------------------------------------------------


def test_pairwise_kappa_three_raters_partial_overlap():
    decisions = [
        ("cat", "p5", "yes"),
        ("cat", "p6", "no"),
        ("ann", "p1", "yes"),
        ("ann", "p2", "yes"),
        ("ann", "p3", "no"),
        ("ann", "p4", "no"),
        ("bob", "p1", "yes"),
        ("bob", "p2", "no"),
        ("bob", "p3", "no"),
        ("bob", "p5", "yes"),
    ]
    results = pairwise_kappa(decisions)
    # ann and cat share no item, so they have no entry; keys are sorted name pairs.
    assert set(results) == {("ann", "bob"), ("bob", "cat")}
    # ann/bob on p1..p3: (yes,yes) (yes,no) (no,no). p_o = 2/3.
    # ann yes 2/3 no 1/3; bob yes 1/3 no 2/3. p_e = 2/9 + 2/9 = 4/9.
    # kappa = (2/3 - 4/9) / (5/9) = (2/9) / (5/9) = 2/5. p4 (ann only) does not count.
    assert results[("ann", "bob")] == KappaResult(kappa=0.4, n=3, observed=2 / 3)
    # bob/cat on p5 only: both "yes", a single category -> kappa undefined.
    assert results[("bob", "cat")] == KappaResult(kappa=None, n=1, observed=1.0)


def test_pairwise_kappa_skips_none_and_repeats_and_refuses_conflicts():
    decisions = [
        ("ann", "p1", "yes"),
        ("ann", "p1", "yes"),  # the same decision twice counts once
        ("ann", "p2", "no"),
        ("ann", "p3", None),  # no decision
        ("bob", "p1", "yes"),
        ("bob", "p2", "no"),
        ("bob", "p3", "yes"),
    ]
    assert pairwise_kappa(decisions) == {("ann", "bob"): KappaResult(kappa=1.0, n=2, observed=1.0)}
    with pytest.raises(ValueError, match="ann"):
        pairwise_kappa([("ann", "p1", "yes"), ("ann", "p1", "no"), ("bob", "p1", "yes")])


def test_pairwise_kappa_one_rater_or_none_is_empty():
    assert pairwise_kappa([]) == {}
    assert pairwise_kappa([("ann", "p1", "yes"), ("ann", "p2", "no")]) == {}


# Krippendorff's alpha --------------------------------------------------------------------

N = None
# Krippendorff (2011), section C: rows are observers A-D, columns units 1-12, N = missing.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
UNITS_2011 = {unit + 1: [row[unit] for row in KRIPPENDORFF_2011] for unit in range(12)}


def test_alpha_krippendorff_2011_nominal():
    # Unit 12 has a single value and is dropped; n = 40 pairable values.
    # n_1 = 9, n_2 = 13, n_3 = 10, n_4 = 5, n_5 = 3.
    # Off-diagonal coincidences: unit 2 (2,2,3,2) 3*1*2/3 = 2; unit 6 (1,2,3,4) 12/3 = 4;
    # unit 8 (1,1,2,1) 3*1*2/3 = 2; total 8.
    # sum_{c != k} n_c n_k = 40^2 - (81 + 169 + 100 + 25 + 9) = 1216.
    # alpha = 1 - (40 - 1) * 8 / 1216 = 1 - 39/152 = 113/152 = 0.7434...
    alpha = krippendorff_alpha(UNITS_2011)
    assert round(alpha, 3) == 0.743
    assert alpha == pytest.approx(float(Fraction(113, 152)), abs=1e-15)


@pytest.mark.parametrize(
    ("level", "published"), [("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_alpha_krippendorff_2011_other_levels(level, published):
    # The values the paper reports for the same data at the other levels of measurement.
    assert round(krippendorff_alpha(UNITS_2011, level), 3) == published


def test_alpha_three_units_two_coders_by_hand():
    # Units (a,a), (a,b), (b,b); each unit has m = 2, so each ordered pair weighs 1/(2-1) = 1.
    # o_aa = 2, o_ab = o_ba = 1, o_bb = 2; n_a = 3, n_b = 3, n = 6.
    # alpha = 1 - (n-1) * (o_ab + o_ba) / (n_a n_b + n_b n_a) = 1 - 5 * 2 / 18 = 4/9.
    units = {"u1": ["a", "a"], "u2": ["a", "b"], "u3": ["b", "b"]}
    assert krippendorff_alpha(units) == pytest.approx(4 / 9, abs=1e-15)


def test_alpha_weights_pairs_by_one_over_m_minus_one():
    # u1 = (a,a,b), m = 3: 6 ordered pairs of weight 1/2 -> o_aa = 1, o_ab = o_ba = 1.
    # u2 = (b,b): o_bb = 2. u3 = (a) alone is not pairable; missing values are skipped.
    # n_a = 2, n_b = 3, n = 5. alpha = 1 - 4 * 2 / (2*3*2) = 1 - 8/12 = 1/3.
    units = {"u1": ["a", "a", "b"], "u2": [None, "b", "b"], "u3": ["a", None, None]}
    assert krippendorff_alpha(units) == pytest.approx(1 / 3, abs=1e-15)


def test_alpha_ordinal_by_hand():
    # Units (1,1), (1,2), (2,3), (3,3): o_11 = 2, o_12 = o_21 = 1, o_23 = o_32 = 1, o_33 = 2.
    # n_1 = 3, n_2 = 2, n_3 = 3, n = 8.
    # delta(1,2) = (3 + 2 - (3+2)/2)^2 = 2.5^2 = 6.25; delta(2,3) = 6.25;
    # delta(1,3) = (3 + 2 + 3 - (3+3)/2)^2 = 25.
    # observed: 2 * 6.25 + 2 * 6.25 = 25.
    # expected: 2 * (3*2*6.25 + 2*3*6.25 + 3*3*25) = 2 * (37.5 + 37.5 + 225) = 600.
    # alpha = 1 - 7 * 25 / 600 = 1 - 7/24 = 17/24.
    units = {1: [1, 1], 2: [1, 2], 3: [2, 3], 4: [3, 3]}
    assert krippendorff_alpha(units, "ordinal") == pytest.approx(17 / 24, abs=1e-15)
    # Nominal on the same data: observed 4, expected 2 * (6 + 6 + 9) = 42,
    # alpha = 1 - 7 * 4 / 42 = 1/3.
    assert krippendorff_alpha(units) == pytest.approx(1 / 3, abs=1e-15)


def test_alpha_perfect_agreement_and_systematic_disagreement():
    assert krippendorff_alpha({1: ["a", "a"], 2: ["b", "b", None]}) == 1.0
    # (a,b), (b,a): o_ab = o_ba = 2, n_a = n_b = 2, n = 4.
    # alpha = 1 - 3 * 4 / (2*2 + 2*2) = 1 - 12/8 = -1/2.
    assert krippendorff_alpha({1: ["a", "b"], 2: ["b", "a"]}) == -0.5


def test_alpha_undefined_cases_are_none():
    assert krippendorff_alpha({}) is None
    # Nothing pairable: each unit has at most one value.
    assert krippendorff_alpha({1: ["a", None], 2: [None, "b"], 3: [None, None]}) is None
    # One value throughout: expected disagreement 0.
    assert krippendorff_alpha({1: ["a", "a"], 2: ["a", "a", "a"]}) is None


def test_alpha_level_checks():
    with pytest.raises(ValueError, match="unknown level"):
        krippendorff_alpha(UNITS_2011, "cardinal")
    with pytest.raises(ValueError, match="unknown level"):
        krippendorff_alpha({}, "cardinal")
    with pytest.raises(TypeError):
        krippendorff_alpha({1: ["a", "b"]}, "interval")
    with pytest.raises(TypeError):
        krippendorff_alpha({1: [frozenset("a"), frozenset("ab")]}, "ordinal")
    with pytest.raises(ValueError, match="ratio"):
        krippendorff_alpha({1: [-1, 1]}, "ratio")


# Alpha per field -------------------------------------------------------------------------


def test_alpha_per_field_multi_valued_fields_compare_as_sets():
    codings = [
        ("c1", "u1", "themes", ["a", "b"]),
        ("c2", "u1", "themes", ("b", "a")),  # the same set: agrees with c1
        ("c1", "u2", "themes", ["a"]),
        ("c2", "u2", "themes", ["a", "b"]),  # overlapping but not equal: disagrees
        ("c1", "u3", "themes", ("b",)),
        ("c2", "u3", "themes", frozenset({"b"})),
    ]
    # Values X = {a,b}, Y = {a}, Z = {b}. Units (X,X), (Y,X), (Z,Z):
    # o_XX = 2, o_XY = o_YX = 1, o_ZZ = 2; n_X = 3, n_Y = 1, n_Z = 2, n = 6.
    # sum_{c != k} n_c n_k = 2 * (3*1 + 3*2 + 1*2) = 22.
    # alpha = 1 - 5 * 2 / 22 = 6/11.
    result = alpha_per_field(codings)["themes"]
    assert result.alpha == pytest.approx(6 / 11, abs=1e-15)
    assert (result.n_units, result.n_values) == (3, 6)


def test_alpha_per_field_counts_and_fields():
    codings = [
        ("c1", "u1", "status", "active"),
        ("c2", "u1", "status", "active"),
        ("c3", "u1", "status", None),  # missing
        ("c1", "u2", "status", "active"),
        ("c2", "u2", "status", "closed"),
        ("c1", "u3", "status", "closed"),  # coded once: not pairable
        ("c1", "u3", "status", "closed"),  # a repeat of the same coding counts once
        ("c1", "u1", "notes", "x"),  # a field nobody coded twice
    ]
    results = alpha_per_field(codings)
    assert set(results) == {"status", "notes"}
    # status: units (active, active), (active, closed); n_active = 3, n_closed = 1, n = 4.
    # alpha = 1 - 3 * 2 / (3*1 + 1*3) = 1 - 6/6 = 0.
    assert results["status"] == AlphaResult(alpha=0.0, n_units=2, n_values=4)
    assert results["notes"] == AlphaResult(alpha=None, n_units=0, n_values=0)


def test_alpha_per_field_refuses_conflicting_codings():
    with pytest.raises(ValueError, match="themes"):
        alpha_per_field([("c1", "u1", "themes", ["a"]), ("c1", "u1", "themes", ["b"])])
    # The same set in another order is not a conflict.
    result = alpha_per_field(
        [
            ("c1", "u1", "themes", ["a", "b"]),
            ("c1", "u1", "themes", ["b", "a"]),
            ("c2", "u1", "themes", ["a", "b"]),
        ]
    )
    assert result["themes"].n_values == 2
