"""Active learning for the screening queue, after ASReview.

Analysts label candidates relevant or not; a `Ranker` trained on those labels orders the
remaining queue so that relevant pages come first. `simulate` replays that loop on a fully
labelled set to measure how much screening work the ranking saves.

The model starts from the relevance engine. Each record may carry the engine's calibrated
probability (its `prior`); the ranker is a logistic regression whose log-odds are the
engine's log-odds plus what the analysts' decisions teach about the text:

    log-odds(relevant) = logit(engine probability) + intercept + w . tfidf(text)

The engine's log-odds enter as a fixed offset, not as a feature with a weight to learn: with
no decision yet the order is the engine's, and a few decisions move it only as far as the
regularisation lets them. A record without an engine probability has offset 0, so the same
model ranks on the text alone (`coprod simulate --text-only`, ASReview's setting).

The text is what an analyst reads, made comparable across the study's languages and scripts:
the head of the page with the outlet's furniture blanked (`strip_furniture`), the engine's
spelling folds, lower case, and Cyrillic romanised by the Ukrainian national system (KMU
2010), so that Ukrainian, Russian and English pages share their place names and loanwords
(Кривий Ріг and Kryvyi Rih give the same two words, волонтери and волонтеры the same one).
Features are TF-IDF of its words (sublinear tf), computed once on every record as in
ASReview; only the regression is retrained as labels arrive: L2-penalised (C = 10), the
intercept not penalised, classes balanced. Everything is deterministic: the same records,
labels and seed give the same scores and the same simulation.

Why not the character n-grams of the raw text this module used before: on real pages they
measure the language and the outlet more than the story. Pages in one script share no
n-grams with pages in another, and the Latin n-grams of Cyrillic pages are furniture and
links, learnt as irrelevant; so the English pages sank together to the end of the queue and
the second of their three relevant pages set the 95% recall point at record 111 of 119 for
nearly every seed, the random expectation being 112.5.

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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import sklearn
from scipy.optimize import minimize
from scipy.special import expit
from scipy.stats import hypergeom
from sklearn.feature_extraction.text import TfidfVectorizer

from pipelines.relevance.engine import MAX_TEXT_CHARS
from pipelines.relevance.furniture import strip_furniture
from pipelines.relevance.morphology import fold

__all__ = [
    "FORMAT_VERSION",
    "Example",
    "IncompatibleRanker",
    "NotEnoughLabels",
    "Ranker",
    "SimulationResult",
    "normalised_text",
    "prior_of",
    "romanise",
    "simulate",
    "wss_at",
]

FORMAT_VERSION = 2  # of the file `Ranker.save` writes; bump when its contents change
MAX_FEATURES = 50_000  # words kept, the most frequent in the set
C = 10.0  # inverse L2 strength of the text weights: the text alone is flat from 1 to 100, the full model best at 3-10
PROBABILITY_FLOOR = 1e-4  # an engine probability is read within [floor, 1 - floor]: finite log-odds


class NotEnoughLabels(ValueError):
    """Training needs at least one relevant and one irrelevant label."""


class IncompatibleRanker(ValueError):
    """A saved ranker written by another format version or another scikit-learn."""


@dataclass(frozen=True)
class Example:
    """One record to rank: a candidate (or a document, in simulations)."""

    id: str
    text: str  # title + text of the page
    prior: float | None = None  # the engine's probability that it is relevant (`prior_of(verdict)`); None: no engine


def prior_of(relevance: Mapping[str, Any] | None) -> float | None:
    """The engine's probability from its stored verdict (`Assessment.to_json()`): its
    ``score``, the calibrated probability that orders the engine's queue (a page clearly out
    of the study keeps a small share of it). None without a verdict, or for a verdict of an
    engine older than the calibrated score (no ``probability``: rescore the catalogue)."""
    if not relevance or "probability" not in relevance or relevance.get("score") is None:
        return None
    return float(relevance["score"])


# --- the text -------------------------------------------------------------------------------

# The Ukrainian national romanisation (Cabinet of Ministers resolution 55, 2010), the one the
# region's own English pages use (Kryvyi Rih, Pavlohrad, Zhovti Vody); Russian letters are
# added. Written here because general transliterators (anyascii, text-unidecode) romanise
# Ukrainian by Russian rules: Кривий Ріг -> "Kriviy Rig", Павлоград -> "Pavlograd".
_ROMAN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh",
        "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
        "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "",
        "ы": "y", "э": "e", "ё": "e", "ъ": "",
    }
)  # fmt: skip
_WORD_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_INITIAL = re.compile(r"(?<![\w'])[єїйюя]")


def romanise(text: str) -> str:
    """Lower-cased `text` with Cyrillic in the Latin letters of the Ukrainian national system:
    є ї й ю я begin a word as ye yi y yu ya; зг is zgh; the apostrophe and soft sign go."""
    text = text.lower()
    text = _INITIAL.sub(lambda match: _WORD_INITIAL[match.group()], text)
    return text.replace("зг", "zgh").translate(_ROMAN)


def normalised_text(text: str) -> str:
    """What the model reads of a page: its head without the outlet's furniture, folded,
    romanised."""
    return romanise(fold(strip_furniture(text[:MAX_TEXT_CHARS]).text))


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(lowercase=False, sublinear_tf=True, max_features=MAX_FEATURES, dtype=np.float64)


def _offsets(examples: Sequence[Example]) -> np.ndarray:
    """The engine's log-odds of each record; 0 (even odds: no opinion) without an engine."""
    p = np.array([0.5 if e.prior is None else e.prior for e in examples], dtype=np.float64)
    p = np.clip(p, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    return np.log(p) - np.log1p(-p)


# --- the regression -----------------------------------------------------------------------


class _OffsetLogistic:
    """Logistic regression with a fixed offset per record (the engine's log-odds).

    Minimises sum_i c_i log(1 + exp(-s_i (o_i + b + x_i . w))) + |w|^2 / (2 C), s_i = +-1,
    c_i balancing the classes (n / (2 n_class)), the intercept b unpenalised, by Newton's
    method with conjugate gradients (the loss is smooth and strictly convex). scikit-learn's
    LogisticRegression takes no offset, and its liblinear solver penalises the intercept.
    """

    def __init__(self, c: float = C) -> None:
        self.c = c
        self.coef = np.zeros(0)
        self.intercept = 0.0

    def fit(self, x: sp.csr_matrix, y: np.ndarray, offset: np.ndarray, start: _OffsetLogistic | None = None) -> _OffsetLogistic:
        """Fit on the rows of `x`; `start`, a model fitted on other labels of the same
        features, is where the search begins (the simulation retrains after every label)."""
        y = np.asarray(y, dtype=bool)
        positives = int(y.sum())
        _check_labels(positives, len(y))
        weight = np.where(y, len(y) / (2 * positives), len(y) / (2 * (len(y) - positives)))
        sign = np.where(y, 1.0, -1.0)
        xt = x.T.tocsr()
        d, c = x.shape[1], self.c

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = params[:d], params[d]
            margin = sign * (offset + b + x @ w)
            slope = -weight * sign * expit(-margin)
            return float(weight @ np.logaddexp(0.0, -margin) + w @ w / (2 * c)), np.concatenate([xt @ slope + w / c, [slope.sum()]])

        def hessian_times(params: np.ndarray, v: np.ndarray) -> np.ndarray:
            p = expit(offset + params[d] + x @ params[:d])
            u = weight * p * (1 - p) * (x @ v[:d] + v[d])
            return np.concatenate([xt @ u + v[:d] / c, [u.sum()]])

        initial = np.zeros(d + 1) if start is None else np.concatenate([start.coef, [start.intercept]])
        found = minimize(loss, initial, jac=True, hessp=hessian_times, method="Newton-CG")
        self.coef, self.intercept = found.x[:d], float(found.x[d])
        return self

    def decision(self, x: sp.csr_matrix, offset: np.ndarray) -> np.ndarray:
        """The log-odds of each record."""
        return offset + self.intercept + x @ self.coef


def _check_labels(positive: int, total: int) -> None:
    if positive < 1 or positive == total:
        raise NotEnoughLabels(
            f"training needs at least one relevant and one irrelevant label; got {positive} relevant "
            f"and {total - positive} irrelevant"
        )


class Ranker:
    """Scores records by the probability that they are relevant: the engine's probability
    corrected by what the analysts' labels teach about the text (module docstring).
    Deterministic."""

    def __init__(self, vectorizer: TfidfVectorizer, model: _OffsetLogistic, metadata: dict[str, Any]):
        self._vectorizer = vectorizer
        self._model = model
        self.metadata = metadata

    @classmethod
    def train(cls, examples: Sequence[Example], labels: Sequence[bool], *, pool: Sequence[Example] = ()) -> Ranker:
        """Train on labelled `examples`. The text features are fitted on `examples` and the
        unlabelled `pool` together (ASReview fits them on every record, screened or not);
        give the queue as `pool` to rank it with its own vocabulary."""
        if len(examples) != len(labels):
            raise ValueError(f"{len(examples)} examples but {len(labels)} labels")
        y = np.asarray(labels, dtype=bool)
        _check_labels(int(y.sum()), len(y))
        vectorizer = _vectorizer()
        matrix = vectorizer.fit_transform([normalised_text(e.text) for e in [*examples, *pool]]).tocsr()
        model = _OffsetLogistic().fit(matrix[: len(examples)], y, _offsets(examples))
        metadata = {
            "version": FORMAT_VERSION,
            "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "n_labels": len(y),
            "n_positive": int(y.sum()),
            "engine_prior": sum(e.prior is not None for e in examples),  # labelled records with the engine's probability
            "vocabulary": len(vectorizer.vocabulary_),
            "c": model.c,
            "sklearn": sklearn.__version__,
        }
        return cls(vectorizer, model, metadata)

    def scores(self, examples: Sequence[Example]) -> list[float]:
        """The probability that each example is relevant, in the order given."""
        if not examples:
            return []
        matrix = self._vectorizer.transform([normalised_text(e.text) for e in examples]).tocsr()
        return expit(self._model.decision(matrix, _offsets(examples))).tolist()

    def save(self, path: Path) -> None:
        """Pickle the ranker behind a header of its format and scikit-learn versions. Load
        only files this program wrote: unpickling runs code."""
        header = {"version": FORMAT_VERSION, "sklearn": sklearn.__version__}
        with Path(path).open("wb") as file:
            pickle.dump(header, file, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump((self._vectorizer, self._model, self.metadata), file, protocol=pickle.HIGHEST_PROTOCOL)

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
            vectorizer, model, metadata = pickle.load(file)
        return cls(vectorizer, model, metadata)


# --- work saved ------------------------------------------------------------------------------


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
    prior: int  # records labelled at random before the first ranking (they count as screened)
    wss95: float  # 0.95 - records_to_95 / n (random order needs 0.95 n on average)
    records_to_95: int  # records screened, the prior included, until 95% of the relevant were found
    random_records_to_95: float  # expected records to 95% recall in random order: m (n + 1) / (n_relevant + 1)
    random_chance: float  # probability that random order reaches 95% recall within records_to_95 records
    engine_records_to_95: int | None  # the same in the engine's order alone, without learning; None: no engine
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

    The text features are computed once on every record. The prior is `prior_relevant`
    relevant and `prior_irrelevant` irrelevant records drawn at random (seeded); then, once
    the records screened hold both classes, the model is trained on them, the `batch`
    top-ranked unscreened records are screened (their true labels added), and it is
    retrained, until every relevant record is found; the rest counts as saved. Until both
    classes are known the order is the engine's probability alone (without an engine, the
    seeded random order): with the engine, a prior of 0 starts where the app's queue does,
    at the engine's top. Ties in score go to a seeded random order, never to the order of
    the file.

    WSS@95 = 0.95 - k / N, k the records screened (prior included) when 95% of the relevant
    records have been found: random order needs 95% of N records on average to reach 95%
    recall, so this is the fraction of all records saved against random order. Counting the
    prior as screened work is stricter than asreview-insights, which leaves it out.
    `random_records_to_95` is the exact expectation in random order, m (N + 1) / (N_rel + 1)
    with m = ceil(0.95 N_rel) (the expected rank of the m-th relevant record), close to 0.95 N;
    `random_chance` is the hypergeometric probability that a random order finds m relevant
    records within k.
    """
    if len(examples) != len(labels):
        raise ValueError(f"{len(examples)} examples but {len(labels)} labels")
    if prior_relevant < 0 or prior_irrelevant < 0:
        raise ValueError("the prior cannot hold a negative number of records")
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    y = np.asarray(labels, dtype=bool)
    n, n_relevant = len(y), int(y.sum())
    if not n_relevant:
        raise NotEnoughLabels("the set holds no relevant record: there is no recall to measure")
    if n_relevant < prior_relevant or n - n_relevant < prior_irrelevant:
        raise NotEnoughLabels(
            f"the prior asks for {prior_relevant} relevant and {prior_irrelevant} irrelevant records; "
            f"the set has {n_relevant} and {n - n_relevant}"
        )

    matrix = _vectorizer().fit_transform([normalised_text(e.text) for e in examples]).tocsr()
    offsets = _offsets(examples)
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
    model: _OffsetLogistic | None = None
    while found < n_relevant:
        known = y[screened]
        if known.any() and not known.all():
            model = _OffsetLogistic().fit(matrix[screened], known, offsets[screened], start=model)
            relevance = model.decision(matrix, offsets)
        else:
            relevance = offsets
        pool = order[~done[order]]
        for index in pool[np.argsort(-relevance[pool], kind="stable")[:batch]].tolist():
            screened.append(index)
            done[index] = True
            found += int(y[index])
            if found == n_relevant:
                break

    ranking = [bool(y[index]) for index in screened] + [False] * (n - len(screened))
    records_to_95 = _records_to_recall(0.95, ranking)
    needed = _relevant_needed(0.95, n_relevant)
    engine = None
    if any(e.prior is not None for e in examples):
        engine = _records_to_recall(0.95, y[order[np.argsort(-offsets[order], kind="stable")]].tolist())
    curve = [(0, 0)]
    for count, index in enumerate(screened, start=1):
        curve.append((count, curve[-1][1] + int(y[index])))
    return SimulationResult(
        n=n,
        n_relevant=n_relevant,
        prior=len(prior),
        wss95=wss_at(0.95, ranking),
        records_to_95=records_to_95,
        random_records_to_95=needed * (n + 1) / (n_relevant + 1),
        random_chance=float(hypergeom.sf(needed - 1, n, n_relevant, records_to_95)),
        engine_records_to_95=engine,
        curve=curve,
    )
