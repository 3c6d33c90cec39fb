"""Measuring the engine on labelled files, and learning its weights from them.

The labelled format is `crawler.documents`' JSON Lines with ``labels``: ``relevant`` (bool:
the candidate definition), ``direction`` (C2C/C2G/G2C/none), ``mode`` (co-design/
co-delivery/co-monitoring/none), ``in_region`` (bool), ``in_window`` (bool or null), ``ict``
(list).

Quality on a file the weights were learned from is only reported cross-validated: the file
is cut into K folds (stratified by relevance; near-duplicate copies of a story kept in one
fold, so a copy never tests what its twin taught), and each fold is judged by weights and a
threshold learned without it, from the other folds and the other labelled files.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.core.documents import Document, read_documents
from crawler.core.errors import BadInput
from pipelines.chain import Chain
from pipelines.dedup import near_duplicate_groups
from pipelines.relevance.engine import DIRECTIONS, MODES, SIGNALS, Assessment, Engine
from pipelines.relevance.model import DEFAULT_C, Weights, choose_threshold, fit_weights, training_files, training_meta

__all__ = [
    "DEFAULT_RECALL", "EvaluationReport", "Labelled", "LabelledFile", "OutOfFold", "calibrate", "cross_validate", "evaluate", "learned_from",
    "out_of_fold", "read_labelled",
]

DEFAULT_RECALL = 0.97  # the recall the flag threshold aims at on out-of-fold predictions
DEFAULT_FOLDS = 5
SEED = 0


@dataclass
class Labelled:
    """A labelled document as the engine reads it (its signals do not depend on the weights)."""

    doc: Document
    reading: Any  # engine._Reading
    relevant: bool
    group: str  # near-duplicate group, for cross-validation
    weight: float = 1.0  # its weight in learning (a file of real pages can count more than an authored one)


@dataclass
class LabelledFile:
    path: Path
    sha256: str
    records: list[Labelled]


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_labelled(engine: Engine, path: Path) -> LabelledFile:
    """A labelled file read by the stage chain, as crawled pages are (extraction, masking,
    language), each document's signals kept."""
    documents = list(read_documents(Path(path), labelled=True))
    if not documents:
        raise BadInput(f"{path}: the labelled file holds no documents")
    chain = Chain(engine)
    records = []
    texts = []
    for doc in documents:
        item = doc.item("evaluate")
        reading = chain.reading(item)
        texts.append(item.text or "")
        records.append(Labelled(doc, reading, bool(doc.labels.get("relevant")), ""))
    for record, group in zip(records, near_duplicate_groups(texts)):
        record.group = f"{Path(path).name}:{group}"
    return LabelledFile(Path(path), file_sha256(path), records)


# --- learning the weights -------------------------------------------------------------------


def fit(records: Sequence[Labelled], *, c: float, recall: float, folds: int = DEFAULT_FOLDS) -> Weights:
    """Weights learned from `records`, with a threshold chosen on their out-of-fold predictions."""
    names = list(SIGNALS)
    rows = [r.reading.signals for r in records]
    labels = [r.relevant for r in records]
    weights_of = [r.weight for r in records]
    intercept, weights = fit_weights(rows, labels, names, c=c, sample_weight=weights_of)
    probabilities = [0.0] * len(records)
    for train, test in _folds(records, folds, SEED + 1):
        inner_intercept, inner_weights = fit_weights(
            [rows[i] for i in train], [labels[i] for i in train], names, c=c, sample_weight=[weights_of[i] for i in train]
        )
        inner = Weights(inner_intercept, inner_weights, 0.5)
        for i in test:
            probabilities[i] = inner.probability(rows[i])
    open_ = [r.reading.out_reason is None for r in records]
    threshold = choose_threshold(probabilities, labels, open_, recall)
    return Weights(intercept, weights, threshold)


def calibrate(files: Sequence[LabelledFile], *, c: float, recall: float = DEFAULT_RECALL, folds: int = DEFAULT_FOLDS) -> Weights:
    records = [r for f in files for r in f.records]
    _check_labels(records)
    learned = fit(records, c=c, recall=recall, folds=folds)
    meta = training_meta([(str(f.path), f.sha256, len(f.records)) for f in files], c, recall, folds)
    return Weights(learned.intercept, learned.weights, learned.threshold, meta)


def _check_labels(records: Sequence[Labelled]) -> None:
    positives = sum(r.relevant for r in records)
    if positives < 2 or positives > len(records) - 2:
        raise BadInput(f"learning the weights needs relevant and irrelevant pages; got {positives} of {len(records)} relevant")


def _folds(records: Sequence[Labelled], k: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """K folds, stratified by relevance, near-duplicate groups kept whole, seeded."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        groups[record.group or str(index)].append(index)
    rng = random.Random(seed)
    positive = [g for g in groups.values() if any(records[i].relevant for i in g)]
    negative = [g for g in groups.values() if not any(records[i].relevant for i in g)]
    fold_of: dict[int, int] = {}
    for bucket in (positive, negative):
        rng.shuffle(bucket)
        bucket.sort(key=len, reverse=True)  # big groups first, then fill the smallest fold
        sizes = [0] * k
        for group in bucket:
            target = min(range(k), key=lambda f: (sizes[f], f))
            sizes[target] += len(group)
            for index in group:
                fold_of[index] = target
    return [
        ([i for i in range(len(records)) if fold_of[i] != f], [i for i in range(len(records)) if fold_of[i] == f])
        for f in range(k)
    ]


def cross_validate(
    engine: Engine,
    evaluated: LabelledFile,
    others: Sequence[LabelledFile],
    *,
    k: int,
    c: float,
    recall: float = DEFAULT_RECALL,
) -> list[Assessment]:
    """Each record of `evaluated` judged by weights learned without its fold."""
    records = evaluated.records
    extra = [r for f in others for r in f.records]
    verdicts: list[Assessment | None] = [None] * len(records)
    for train, test in _folds(records, k, SEED):
        training = extra + [records[i] for i in train]
        _check_labels(training)
        weights = fit(training, c=c, recall=recall)
        judge = engine.with_weights(weights)
        for i in test:
            verdicts[i] = judge.verdict(records[i].reading)
    return [v for v in verdicts if v is not None]


def learned_from(engine: Engine, path: Path) -> bool:
    """Whether the engine's weights were learned from this file (by its SHA-256)."""
    return file_sha256(path) in {entry.get("sha256") for entry in engine.weights.meta.get("trained_on") or []}


@dataclass
class OutOfFold:
    evaluated: LabelledFile
    verdicts: list[Assessment]
    folds: int
    missing: list[Path]  # files the weights learned from that are not here: left out of the folds' training


def out_of_fold(engine: Engine, weights_path: Path, path: Path, folds: int, train: Sequence[Path] | None = None) -> OutOfFold:
    """`path`'s verdicts, K-fold cross-validated: each fold judged by weights learned, as the
    engine's were (their C and recall target), from the other folds and from `train`, by
    default the other files the weights at `weights_path` learned from."""
    evaluated = read_labelled(engine, path)
    others = list(train) if train is not None else training_files(engine.weights, weights_path, but=evaluated.sha256)
    missing = [p for p in others if not Path(p).is_file()]
    present = [Path(p) for p in others if Path(p).is_file() and Path(p).resolve() != Path(path).resolve()]
    meta = engine.weights.meta
    c = float((meta.get("regularisation") or {}).get("C", DEFAULT_C))
    recall = float((meta.get("threshold_rule") or {}).get("recall", DEFAULT_RECALL))
    verdicts = cross_validate(engine, evaluated, [read_labelled(engine, p) for p in present], k=folds, c=c, recall=recall)
    return OutOfFold(evaluated, verdicts, folds, missing)


# --- the report ---------------------------------------------------------------------------------


@dataclass
class EvaluationReport:
    n: int
    precision: float
    recall: float
    f1: float
    precision_at_recall: float
    average_precision: float
    precision_at_95_recall: float
    direction_accuracy: float
    mode_accuracy: float
    direction_accuracy_relevant: float
    mode_accuracy_relevant: float
    direction_confusion: dict[str, dict[str, int]]
    mode_confusion: dict[str, dict[str, int]]
    cross_validated: int | None = None  # K, when the figures are K-fold cross-validated
    worst_misses: list[dict[str, Any]] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "cross_validated": self.cross_validated,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "precision_at_recall": self.precision_at_recall,
            "average_precision": self.average_precision,
            "precision_at_95_recall": self.precision_at_95_recall,
            "direction_accuracy": self.direction_accuracy,
            "mode_accuracy": self.mode_accuracy,
            "direction_accuracy_relevant": self.direction_accuracy_relevant,
            "mode_accuracy_relevant": self.mode_accuracy_relevant,
        }


def evaluate(engine: Engine, documents: Iterable[Document], worst: int = 5) -> EvaluationReport:
    """The engine as it is (its own weights) on labelled documents, through the stage chain."""
    chain = Chain(engine)
    scored = [(doc, chain.verdict(doc.item("evaluate"))) for doc in documents]
    if not scored:
        raise BadInput("the labelled file holds no documents")
    return report(scored, worst=worst)


def report(scored: Sequence[tuple[Document, Assessment]], *, worst: int = 5, cross_validated: int | None = None) -> EvaluationReport:
    truth = [bool(doc.labels.get("relevant")) for doc, _ in scored]
    flags = [a.flagged for _, a in scored]
    tp = sum(t and f for t, f in zip(truth, flags))
    precision = tp / sum(flags) if any(flags) else 0.0
    recall = tp / sum(truth) if any(truth) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ranking = [t for _, t in sorted(zip([a.score for _, a in scored], truth), key=lambda pair: -pair[0])]
    direction_confusion = _confusion([(d.labels.get("direction", "none"), a.direction) for d, a in scored], DIRECTIONS)
    mode_confusion = _confusion([(d.labels.get("mode", "none"), a.mode) for d, a in scored], MODES)
    relevant = [(d, a) for (d, a), t in zip(scored, truth) if t]
    misses = [(doc, a) for (doc, a), t in zip(scored, truth) if t != a.flagged]
    # Worst first: relevant pages ranked lowest, then irrelevant pages ranked highest.
    misses.sort(key=lambda pair: (pair[1].score if pair[0].labels.get("relevant") else -pair[1].score))
    return EvaluationReport(
        n=len(scored),
        precision=round(precision, 4),
        recall=round(recall, 4),
        f1=round(f1, 4),
        precision_at_recall=round(_precision_at_recall(ranking, recall), 4),
        average_precision=round(_average_precision(ranking), 4),
        precision_at_95_recall=round(_precision_at_recall(ranking, 0.95), 4),
        direction_accuracy=round(_accuracy(scored, "direction"), 4),
        mode_accuracy=round(_accuracy(scored, "mode"), 4),
        direction_accuracy_relevant=round(_accuracy(relevant, "direction"), 4),
        mode_accuracy_relevant=round(_accuracy(relevant, "mode"), 4),
        direction_confusion=direction_confusion,
        mode_confusion=mode_confusion,
        cross_validated=cross_validated,
        worst_misses=[
            {
                "id": doc.id,
                "url": doc.url,
                "relevant": bool(doc.labels.get("relevant")),
                "flagged": a.flagged,
                "score": a.score,
                "label": {k: doc.labels.get(k) for k in ("direction", "mode", "in_region", "in_window")},
                "reasons": a.reasons,
            }
            for doc, a in misses[:worst]
        ],
    )


def _accuracy(pairs: Sequence[tuple[Document, Assessment]], key: str) -> float:
    if not pairs:
        return 0.0
    return sum(d.labels.get(key) == getattr(a, key) for d, a in pairs) / len(pairs)


def _confusion(pairs: list[tuple[str, str]], labels: tuple[str, ...]) -> dict[str, dict[str, int]]:
    counts = Counter(pairs)
    return {truth: {predicted: counts[(truth, predicted)] for predicted in labels} for truth in labels}


def _average_precision(ranking: list[bool]) -> float:
    hits, total = 0, 0.0
    for rank, relevant in enumerate(ranking, start=1):
        if relevant:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


def _precision_at_recall(ranking: list[bool], recall: float) -> float:
    """Precision of the shortest top of the ranking that reaches `recall`."""
    positives = sum(ranking)
    if not positives or recall <= 0:
        return 0.0
    hits = 0
    for rank, relevant in enumerate(ranking, start=1):
        hits += relevant
        if hits / positives >= recall:
            return hits / rank
    return hits / len(ranking)
