"""Active learning for the screening queue, after ASReview.

Analysts label candidates relevant or not; a `Ranker` trained on those labels orders the
remaining queue so that relevant pages come first. `simulate` replays that loop on a fully
labelled set to measure how much screening work the ranking saves.

Features, as in ASReview: the feature matrix is computed once on the whole set of records
(TF-IDF over character n-grams of the text, which copes with Ukrainian and Russian
inflection without a lemmatizer, plus the relevance engine's numeric signals scaled to
[-1, 1]); only the classifier, a logistic regression with balanced class weights, is
retrained as labels arrive. Everything is seeded: the same records, labels and seed give
the same scores and the same simulation.

Work saved over sampling (Cohen et al. 2006) at recall R, on a ranking of N records of
which N_rel are relevant: screen from the top until the relevant records found reach
R * N_rel; with k records screened then, the unscreened N - k count as saved (the
TN + FN of the formula), so

    WSS@R = (TN + FN) / N - (1 - R) = (N - k) / N - (1 - R) = R - k / N.

Screening in random order needs R * N records on average to reach recall R, so WSS@R is the
fraction of all records saved compared with random order: WSS@95 = 0.95 - k / N.
"""

from __future__ import annotations

import datetime as dt
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MaxAbsScaler

from pipelines.relevance.engine import DIRECTIONS, MAX_TEXT_CHARS, MODES

__all__ = [
    "FORMAT_VERSION",
    "Example",
    "IncompatibleRanker",
    "NotEnoughLabels",
    "Ranker",
    "SimulationResult",
    "signals_of",
    "simulate",
    "wss_at",
]

FORMAT_VERSION = 1  # of the file `Ranker.save` writes; bump when its contents change
MAX_FEATURES = 50_000  # character n-grams kept, the most frequent in the set
RANDOM_STATE = 0


class NotEnoughLabels(ValueError):
    """Training needs at least one relevant and one irrelevant label."""


class IncompatibleRanker(ValueError):
    """A saved ranker written by another format version or another scikit-learn."""


@dataclass(frozen=True)
class Example:
    """One record to rank: a candidate (or a document, in simulations)."""

    id: str
    text: str  # title + text of the page
    signals: Mapping[str, float] = field(default_factory=dict)  # e.g. `signals_of(verdict)`; may be empty


def signals_of(relevance: Mapping[str, Any]) -> dict[str, float]:
    """Numeric features from the relevance engine's stored verdict (`Assessment.to_json()`).

    Always the same keys, a missing value counting as 0: ``score``, ``flagged``,
    ``direction_confidence``, ``mode_confidence``, ``in_region``; one-hot ``direction_c2c``,
    ``direction_g2c``, ``direction_c2g``, ``direction_none`` and ``mode_co_design``,
    ``mode_co_delivery``, ``mode_co_monitoring``, ``mode_none``; ``in_window_true`` and
    ``in_window_false`` (both 0 when the window test is unknown); and ``ict_count``,
    ``services_count``, ``identifiers_count``, ``places_count``.
    """
    signals = {
        "score": float(relevance.get("score") or 0.0),
        "flagged": float(bool(relevance.get("flagged"))),
        "direction_confidence": float(relevance.get("direction_confidence") or 0.0),
        "mode_confidence": float(relevance.get("mode_confidence") or 0.0),
        "in_region": float(bool(relevance.get("in_region"))),
    }
    direction, mode = relevance.get("direction"), relevance.get("mode")
    for value in DIRECTIONS:
        signals[_signal_name("direction", value)] = float(direction == value)
    for value in MODES:
        signals[_signal_name("mode", value)] = float(mode == value)
    window = relevance.get("in_window")
    signals["in_window_true"] = float(window is True)
    signals["in_window_false"] = float(window is False)
    for key in ("ict", "services", "identifiers", "places"):
        signals[f"{key}_count"] = float(len(relevance.get(key) or ()))
    return signals


def _signal_name(prefix: str, value: str) -> str:
    return f"{prefix}_{value.lower().replace('-', '_')}"


class _Features:
    """The feature matrix: TF-IDF of the text beside the scaled signals."""

    def __init__(self) -> None:
        self.vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            sublinear_tf=True,
            max_features=MAX_FEATURES,
            dtype=np.float64,
        )
        self.signal_names: tuple[str, ...] = ()
        self.scaler = MaxAbsScaler()

    def fit_transform(self, examples: Sequence[Example]) -> sp.csr_matrix:
        self.signal_names = tuple(sorted({name for example in examples for name in example.signals}))
        text = self.vectorizer.fit_transform(_texts(examples))
        signals = self.scaler.fit_transform(self._signals(examples)) if self.signal_names else None
        return _stack(text, signals)

    def transform(self, examples: Sequence[Example]) -> sp.csr_matrix:
        text = self.vectorizer.transform(_texts(examples))
        signals = self.scaler.transform(self._signals(examples)) if self.signal_names else None
        return _stack(text, signals)

    def _signals(self, examples: Sequence[Example]) -> np.ndarray:
        """One column per signal seen in training; a signal an example lacks is 0."""
        return np.array(
            [[float(example.signals.get(name, 0.0)) for name in self.signal_names] for example in examples],
            dtype=np.float64,
        ).reshape(len(examples), len(self.signal_names))


def _stack(text: sp.spmatrix, signals: np.ndarray | None) -> sp.csr_matrix:
    matrix = text.tocsr() if signals is None else sp.hstack([text, sp.csr_matrix(signals)], format="csr")
    matrix.sort_indices()  # once here, not at every fit of the classifier on its rows
    return matrix


def _texts(examples: Sequence[Example]) -> list[str]:
    # The head of a page carries its content, as for the engine; beyond it are related stories and comments.
    return [example.text[:MAX_TEXT_CHARS] for example in examples]


def _classifier() -> LogisticRegression:
    # The dual problem, as scikit-learn advises when features (tens of thousands) outnumber records.
    return LogisticRegression(
        solver="liblinear", dual=True, C=1.0, class_weight="balanced", max_iter=1000, random_state=RANDOM_STATE
    )


def _check_labels(labels: np.ndarray) -> None:
    positive = int(labels.sum())
    if positive < 1 or positive == len(labels):
        raise NotEnoughLabels(
            f"training needs at least one relevant and one irrelevant label; got {positive} relevant "
            f"and {len(labels) - positive} irrelevant"
        )


class Ranker:
    """Scores records by the probability that they are relevant, learnt from analysts' labels.

    TF-IDF over character n-grams (``char_wb``, 2-5, sublinear tf, at most 50,000) of the
    text and the engine signals scaled by their largest absolute value, into a logistic
    regression (liblinear on the dual problem, balanced class weights, fixed random state).
    Deterministic.
    """

    def __init__(self, features: _Features, classifier: LogisticRegression, metadata: dict[str, Any]):
        self._features = features
        self._classifier = classifier
        self.metadata = metadata

    @classmethod
    def train(cls, examples: Sequence[Example], labels: Sequence[bool], *, pool: Sequence[Example] = ()) -> Ranker:
        """Train on labelled `examples`. The text features are fitted on `examples` and the
        unlabelled `pool` together (ASReview fits them on every record, screened or not);
        give the queue as `pool` to rank it with its own vocabulary."""
        if len(examples) != len(labels):
            raise ValueError(f"{len(examples)} examples but {len(labels)} labels")
        y = np.asarray(labels, dtype=bool)
        _check_labels(y)
        features = _Features()
        matrix = features.fit_transform([*examples, *pool])
        classifier = _classifier().fit(matrix[: len(examples)], y)
        metadata = {
            "version": FORMAT_VERSION,
            "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "n_labels": len(y),
            "n_positive": int(y.sum()),
            "signals": list(features.signal_names),
            "sklearn": sklearn.__version__,
        }
        return cls(features, classifier, metadata)

    def scores(self, examples: Sequence[Example]) -> list[float]:
        """The probability that each example is relevant, in the order given."""
        if not examples:
            return []
        probabilities = self._classifier.predict_proba(self._features.transform(examples))
        return probabilities[:, list(self._classifier.classes_).index(True)].tolist()

    def save(self, path: Path) -> None:
        """Pickle the ranker behind a header of its format and scikit-learn versions. Load
        only files this program wrote: unpickling runs code."""
        header = {"version": FORMAT_VERSION, "sklearn": sklearn.__version__}
        with Path(path).open("wb") as file:
            pickle.dump(header, file, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump((self._features, self._classifier, self.metadata), file, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def load(cls, path: Path) -> Ranker:
        """Read a saved ranker. Raises `IncompatibleRanker`, before unpickling the model, when
        it was written by another format version or another scikit-learn (whose pickles are
        not portable): retrain it then."""
        with Path(path).open("rb") as file:
            header = pickle.load(file)
            version = header.get("version") if isinstance(header, dict) else None
            if version != FORMAT_VERSION:
                raise IncompatibleRanker(f"{path}: ranker format version {version!r}, this program reads version {FORMAT_VERSION}; retrain it")
            if header.get("sklearn") != sklearn.__version__:
                raise IncompatibleRanker(
                    f"{path}: ranker saved with scikit-learn {header.get('sklearn')}, this is {sklearn.__version__}; retrain it"
                )
            features, classifier, metadata = pickle.load(file)
        return cls(features, classifier, metadata)


def _relevant_needed(recall_target: float, relevant: int) -> int:
    """The fewest relevant records m with m / relevant >= recall_target."""
    if not 0 < recall_target <= 1:
        raise ValueError(f"recall target must be in (0, 1], got {recall_target}")
    return next(m for m in range(1, relevant + 1) if m / relevant >= recall_target)


def _records_to_recall(recall_target: float, ranking: Sequence[bool]) -> int:
    """Records screened from the top until recall reaches `recall_target`."""
    relevant = sum(map(bool, ranking))
    if not relevant:
        raise ValueError("the ranking holds no relevant record")
    needed = _relevant_needed(recall_target, relevant)
    found = 0
    for screened, is_relevant in enumerate(ranking, start=1):
        found += bool(is_relevant)
        if found == needed:
            return screened
    raise AssertionError("unreachable")


def wss_at(recall_target: float, ranking: Sequence[bool]) -> float:
    """Work saved over sampling at recall `recall_target` (Cohen et al. 2006).

    `ranking` holds the truth of every record in screening order. With N records and k the
    number screened from the top until relevant found / all relevant >= R:

        WSS@R = (TN + FN) / N - (1 - R) = (N - k) / N - (1 - R) = R - k / N

    (the N - k unscreened records are the TN + FN). E.g. 10 records whose 2 relevant are
    ranked first: k = 2, WSS@95 = 0.95 - 2/10 = 0.75. Random order averages k = R * N, WSS 0.
    """
    k = _records_to_recall(recall_target, ranking)
    return recall_target - k / len(ranking)


@dataclass(frozen=True)
class SimulationResult:
    n: int  # records in the set
    n_relevant: int
    prior: int  # records labelled before the first training (they count as screened)
    wss95: float  # 0.95 - records_to_95 / n (random order needs 0.95 n on average)
    records_to_95: int  # records screened, the prior included, until 95% of the relevant were found
    random_records_to_95: float  # expected records to 95% recall in random order: m (n + 1) / (n_relevant + 1)
    curve: list[tuple[int, int]]  # (records screened, relevant found), from (0, 0) to the last relevant record


def simulate(
    examples: Sequence[Example],
    labels: Sequence[bool],
    *,
    prior_relevant: int = 1,
    prior_irrelevant: int = 1,
    batch: int = 1,
    seed: int = 0,
) -> SimulationResult:
    """Replay the screening loop on a fully labelled set, as ASReview's simulation does.

    The feature matrix is computed once on every record. The prior is `prior_relevant`
    relevant and `prior_irrelevant` irrelevant records drawn at random (seeded); then the
    classifier is trained on the records screened so far, the `batch` top-ranked unscreened
    records are screened (their true labels added), and it is retrained, until every
    relevant record is found; the rest counts as saved. Ties in score go to a seeded random
    order, never to the order of the file.

    WSS@95 = 0.95 - k / N, k the records screened (prior included) when 95% of the relevant
    records have been found: random order needs 95% of N records on average to reach 95%
    recall, so this is the fraction of all records saved against random order. Counting the
    prior as screened work is stricter than asreview-insights, which leaves it out.
    `random_records_to_95` is the exact expectation in random order, m (N + 1) / (N_rel + 1)
    with m = ceil(0.95 N_rel) (the expected rank of the m-th relevant record), close to 0.95 N.
    """
    if len(examples) != len(labels):
        raise ValueError(f"{len(examples)} examples but {len(labels)} labels")
    if prior_relevant < 1 or prior_irrelevant < 1:
        raise NotEnoughLabels("the prior needs at least one relevant and one irrelevant record")
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    y = np.asarray(labels, dtype=bool)
    n, n_relevant = len(y), int(y.sum())
    if n_relevant < prior_relevant or n - n_relevant < prior_irrelevant:
        raise NotEnoughLabels(
            f"the prior asks for {prior_relevant} relevant and {prior_irrelevant} irrelevant records; "
            f"the set has {n_relevant} and {n - n_relevant}"
        )

    matrix = _Features().fit_transform(examples)
    rng = np.random.default_rng(seed)
    prior = [
        *rng.choice(np.flatnonzero(y), prior_relevant, replace=False).tolist(),
        *rng.choice(np.flatnonzero(~y), prior_irrelevant, replace=False).tolist(),
    ]
    order = rng.permutation(n)  # breaks ties in score
    screened: list[int] = list(prior)
    done = np.zeros(n, dtype=bool)
    done[prior] = True
    found = int(y[prior].sum())
    while found < n_relevant:
        classifier = _classifier().fit(matrix[screened], y[screened])
        pool = order[~done[order]]
        relevance = classifier.decision_function(matrix[pool])
        for index in pool[np.argsort(-relevance, kind="stable")[:batch]].tolist():
            screened.append(index)
            done[index] = True
            found += int(y[index])
            if found == n_relevant:
                break

    ranking = [bool(y[index]) for index in screened] + [False] * (n - len(screened))
    records_to_95 = _records_to_recall(0.95, ranking)
    curve = [(0, 0)]
    for count, index in enumerate(screened, start=1):
        curve.append((count, curve[-1][1] + int(y[index])))
    return SimulationResult(
        n=n,
        n_relevant=n_relevant,
        prior=len(prior),
        wss95=wss_at(0.95, ranking),
        records_to_95=records_to_95,
        random_records_to_95=_relevant_needed(0.95, n_relevant) * (n + 1) / (n_relevant + 1),
        curve=curve,
    )
