"""Measuring the engine on a labelled file: flag quality, ranking quality, direction and mode.

The labelled format is `crawler.core.documents`' JSON Lines with ``labels``: ``relevant``
(bool), ``direction`` (C2C/C2G/G2C/none), ``mode`` (co-design/co-delivery/co-monitoring/
none), ``in_region`` (bool), ``in_window`` (bool or null), ``ict`` (list).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crawler.core.documents import Document
from crawler.core.errors import BadInput
from pipelines.chain import Chain
from pipelines.relevance.engine import DIRECTIONS, MODES, Assessment, Engine

__all__ = ["EvaluationReport", "evaluate"]


@dataclass
class EvaluationReport:
    n: int
    precision: float
    recall: float
    f1: float
    precision_at_recall: float
    average_precision: float
    direction_accuracy: float
    mode_accuracy: float
    direction_confusion: dict[str, dict[str, int]]
    mode_confusion: dict[str, dict[str, int]]
    worst_misses: list[dict[str, Any]] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "precision_at_recall": self.precision_at_recall,
            "average_precision": self.average_precision,
            "direction_accuracy": self.direction_accuracy,
            "mode_accuracy": self.mode_accuracy,
        }


def evaluate(engine: Engine, documents: Iterable[Document], worst: int = 5) -> EvaluationReport:
    chain = Chain(engine)  # extraction, language and relevance as for a crawled page
    scored: list[tuple[Document, Assessment]] = [(doc, chain.verdict(doc.item("evaluate"))) for doc in documents]
    if not scored:
        raise BadInput("the labelled file holds no documents")
    truth = [bool(doc.labels.get("relevant")) for doc, _ in scored]
    flags = [a.flagged for _, a in scored]
    tp = sum(t and f for t, f in zip(truth, flags))
    precision = tp / sum(flags) if any(flags) else 0.0
    recall = tp / sum(truth) if any(truth) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    ranking = [t for _, t in sorted(zip([a.score for _, a in scored], truth), key=lambda pair: -pair[0])]
    direction_confusion = _confusion([(d.labels.get("direction", "none"), a.direction) for d, a in scored], DIRECTIONS)
    mode_confusion = _confusion([(d.labels.get("mode", "none"), a.mode) for d, a in scored], MODES)
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
        direction_accuracy=round(sum(d.labels.get("direction") == a.direction for d, a in scored) / len(scored), 4),
        mode_accuracy=round(sum(d.labels.get("mode") == a.mode for d, a in scored) / len(scored), 4),
        direction_confusion=direction_confusion,
        mode_confusion=mode_confusion,
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
