"""Inter-rater agreement for the review app's statistics page: Cohen's kappa and Krippendorff's alpha.

Pure functions over plain Python data; nothing here touches the catalogue. Sums are kept as
exact fractions (`fractions.Fraction`) and turned into a float only at the end, so a textbook
table gives the textbook number (a kappa of 2/5 comes back as exactly 0.4).

References:

- Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and
  Psychological Measurement*, 20(1), 37-46.
- Krippendorff, K. (2011). *Computing Krippendorff's Alpha-Reliability*. Departmental Papers
  (ASC), Annenberg School for Communication, University of Pennsylvania.

"Undefined" is `None` throughout: kappa with no items, or with both raters using one and the
same category for every item (expected agreement 1, so 0/0); alpha with no pairable values, or
with one value used throughout (expected disagreement 0, so 0/0). These are not reported as 1.0:
such data say nothing about whether the raters could tell categories apart.
"""

from __future__ import annotations

import itertools
import numbers
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "LEVELS",
    "AlphaResult",
    "KappaResult",
    "alpha_per_field",
    "cohens_kappa",
    "krippendorff_alpha",
    "pairwise_kappa",
]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


@dataclass(frozen=True)
class KappaResult:
    """Agreement of one pair of raters over the items both rated.

    `kappa` is None when undefined (see `cohens_kappa`); `n` is the number of common items;
    `observed` is the share of them given the same label (p_o).
    """

    kappa: float | None
    n: int
    observed: float


@dataclass(frozen=True)
class AlphaResult:
    """Krippendorff's alpha for one field.

    `alpha` is None when undefined (see `krippendorff_alpha`); `n_units` counts the pairable
    units (coded by at least two coders); `n_values` counts the values in those units (the n
    of Krippendorff 2011, the total of the coincidence matrix).
    """

    alpha: float | None
    n_units: int
    n_values: int


def cohens_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's (1960) kappa for two raters: `pairs` holds (rater A's label, rater B's label) per item.

    kappa = (p_o - p_e) / (1 - p_e), where p_o is the share of items with equal labels and
    p_e = sum over categories k of p_A(k) * p_B(k), each rater's own marginal share.

    Every label, None included, is a category; drop unrated items before calling. Returns None
    when undefined: no items, or p_e = 1 (both raters used one and the same category for every
    item). Two raters who each used a single but different category give p_o = p_e = 0 and
    kappa = 0.0, which is defined.
    """
    n = len(pairs)
    if n == 0:
        return None
    agreed = sum(1 for a, b in pairs if a == b)
    a_counts = Counter(a for a, _ in pairs)
    b_counts = Counter(b for _, b in pairs)
    p_o = Fraction(agreed, n)
    p_e = Fraction(sum(count * b_counts[label] for label, count in a_counts.items()), n * n)
    if p_e == 1:
        return None
    return float((p_o - p_e) / (1 - p_e))


def pairwise_kappa(
    decisions: Iterable[tuple[str, Hashable, Hashable]],
) -> dict[tuple[str, str], KappaResult]:
    """Cohen's kappa for every pair of raters, from (rater, item, label) decisions.

    Keys are (rater, other rater) with the names in sorted order; a pair appears only when the
    two raters have at least one item in common, and its kappa is taken over those items alone.
    A decision whose label is None (no decision) is skipped. The same (rater, item) repeated with
    an equal label counts once; repeated with a different label it raises ValueError, since the
    caller must choose which decision stands (say, the latest) before measuring agreement.
    """
    labels: dict[str, dict[Hashable, Hashable]] = defaultdict(dict)
    for rater, item, label in decisions:
        if label is None:
            continue
        _record(labels[rater], item, label, f"rater {rater!r} gave item {item!r}")
    results: dict[tuple[str, str], KappaResult] = {}
    for first, second in itertools.combinations(sorted(labels), 2):
        mine, theirs = labels[first], labels[second]
        pairs = [(mine[item], theirs[item]) for item in mine if item in theirs]
        if not pairs:
            continue
        agreed = sum(1 for a, b in pairs if a == b)
        results[(first, second)] = KappaResult(
            kappa=cohens_kappa(pairs), n=len(pairs), observed=agreed / len(pairs)
        )
    return results


def krippendorff_alpha(
    units: Mapping[Hashable, Sequence[Hashable | None]], level: str = "nominal"
) -> float | None:
    """Krippendorff's alpha over `units`: for each unit, the values its coders gave (None = missing).

    Follows Krippendorff (2011) step by step. Units with fewer than two values are not pairable
    and are dropped. Each pairable unit u with m_u values adds 1/(m_u - 1) to the coincidence
    o_ck for every ordered pair of its values (c, k) taken from different coders; n_c = sum_k
    o_ck and n = sum_c n_c is the number of pairable values. Then

        alpha = 1 - D_o / D_e = 1 - (n - 1) * sum_ck o_ck * d2(c, k) / sum_ck n_c * n_k * d2(c, k)

    with the difference function d2 of the `level`:

    - "nominal": 0 if c == k else 1 (any hashable values);
    - "ordinal": (sum of n_g for g from c to k - (n_c + n_k) / 2) squared, ranks by sorting the
      values (numbers, or strings that sort in rank order; sets are refused);
    - "interval": (c - k) squared; "ratio": ((c - k) / (c + k)) squared (real numbers only,
      and no negatives at the ratio level).

    Returns None when undefined: no pairable values, or a single value used throughout
    (D_e = 0). Raises ValueError for an unknown level or for a negative value at the ratio
    level, and TypeError for values the level cannot measure (sets at the ordinal level,
    non-numbers at the interval or ratio level).
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of: {', '.join(LEVELS)}")
    coincidences, _ = _coincidences(units)
    if not coincidences:
        return None
    totals: Counter[Hashable] = Counter()
    for (c, _k), count in coincidences.items():
        totals[c] += count
    n = sum(totals.values())
    delta = _difference(level, totals)
    observed = sum(count * delta(c, k) for (c, k), count in coincidences.items())
    expected = sum(
        totals[c] * totals[k] * delta(c, k) for c, k in itertools.product(totals, repeat=2)
    )
    if expected == 0:
        return None
    return float(1 - (n - 1) * observed / expected)


def alpha_per_field(
    codings: Iterable[tuple[str, Hashable, str, Hashable]],
) -> dict[str, AlphaResult]:
    """Nominal Krippendorff's alpha per field, from (coder, unit, field, value) codings.

    A multi-valued value (frozenset, set, tuple or list) is compared as a set: it becomes a
    frozenset, so ["a", "b"] and ("b", "a") agree and ["a"] and ["a", "b"] disagree outright (no
    partial credit). An empty collection is a value ("none of these"); None is a missing value
    and is skipped. The same (coder, unit, field) repeated with an equal value counts once;
    repeated with a different value it raises ValueError. Every field seen in `codings` gets a
    result, with alpha None and zero counts when no unit of it was coded twice.
    """
    fields: dict[str, dict[Hashable, dict[str, Hashable]]] = defaultdict(lambda: defaultdict(dict))
    for coder, unit, field, value in codings:
        by_unit = fields[field]
        if value is None:
            continue
        _record(
            by_unit[unit],
            coder,
            _as_value(value),
            f"coder {coder!r} gave field {field!r} of unit {unit!r}",
        )
    results: dict[str, AlphaResult] = {}
    for field, by_unit in fields.items():
        units = {unit: list(by_coder.values()) for unit, by_coder in by_unit.items()}
        _, pairable = _coincidences(units)
        results[field] = AlphaResult(
            alpha=krippendorff_alpha(units),
            n_units=len(pairable),
            n_values=sum(len(values) for values in pairable),
        )
    return results


def _record(seen: dict[Hashable, Hashable], key: Hashable, value: Hashable, who: str) -> None:
    if key in seen and seen[key] != value:
        raise ValueError(f"{who} two different values: {seen[key]!r} and {value!r}")
    seen[key] = value


def _as_value(value: Hashable) -> Hashable:
    if isinstance(value, (frozenset, set, tuple, list)):
        return frozenset(value)
    return value


def _coincidences(
    units: Mapping[Hashable, Sequence[Hashable | None]],
) -> tuple[Counter[tuple[Hashable, Hashable]], list[list[Hashable]]]:
    """The coincidence matrix o_ck (as a sparse Counter) and the values of the pairable units."""
    matrix: Counter[tuple[Hashable, Hashable]] = Counter()
    pairable: list[list[Hashable]] = []
    for values in units.values():
        present = [value for value in values if value is not None]
        m = len(present)
        if m < 2:
            continue
        pairable.append(present)
        counts = Counter(present)
        for c, k in itertools.product(counts, repeat=2):
            pairs = counts[c] * (counts[k] - (1 if c == k else 0))
            if pairs:
                matrix[(c, k)] += Fraction(pairs, m - 1)
    return matrix, pairable


def _difference(
    level: str, totals: Mapping[Hashable, Fraction]
) -> Callable[[Hashable, Hashable], Fraction]:
    """The squared difference function delta^2(c, k) of Krippendorff (2011) for `level`."""
    if level == "nominal":
        return lambda c, k: Fraction(0 if c == k else 1)
    if level == "ordinal":
        if any(isinstance(value, (frozenset, set)) for value in totals):
            # Sets "sort" by inclusion, which is no ranking; refuse rather than rank nonsense.
            raise TypeError("the ordinal level needs ranked values, not sets")
        ranked = sorted(totals)
        rank = {value: index for index, value in enumerate(ranked)}
        # cumulative[i] = n of the values ranked below i.
        cumulative = [Fraction(0)]
        for value in ranked:
            cumulative.append(cumulative[-1] + totals[value])

        def ordinal(c: Hashable, k: Hashable) -> Fraction:
            low, high = sorted((rank[c], rank[k]))
            between = cumulative[high + 1] - cumulative[low]
            return (between - (totals[c] + totals[k]) / 2) ** 2

        return ordinal
    numeric = {value: _real(value) for value in totals}
    if level == "interval":
        return lambda c, k: (numeric[c] - numeric[k]) ** 2
    if any(number < 0 for number in numeric.values()):
        raise ValueError("the ratio level needs values of zero or more")

    def ratio(c: Hashable, k: Hashable) -> Fraction:
        total = numeric[c] + numeric[k]
        return Fraction(0) if total == 0 else ((numeric[c] - numeric[k]) / total) ** 2

    return ratio


def _real(value: Hashable) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"interval and ratio levels need numbers, not {value!r}")
    return Fraction(value)  # type: ignore[arg-type]
