"""The calibrated score: the probability that a page is a candidate, from its named signals.

    P(candidate) = 1 / (1 + exp(-(intercept + sum of weight x signal)))

The weights are a regularised logistic regression fitted on labelled files (`coprod
calibrate`); they ship as a small YAML file of signal names and numbers, nothing of the
labelled texts. The flag threshold is chosen for recall: the highest probability at which
the out-of-fold predictions on the training files still find the target share of the
candidates (out of fold, so the threshold is not fitted to the very records it is read on).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crawler.core.errors import ConfigError

__all__ = ["FORMAT_VERSION", "Weights", "choose_threshold", "dump_weights", "fit_weights", "load_weights"]

FORMAT_VERSION = 1
DEFAULT_C = 0.1
MIN_THRESHOLD, MAX_THRESHOLD = 0.02, 0.5


@dataclass(frozen=True)
class Weights:
    intercept: float
    weights: Mapping[str, float]
    threshold: float
    meta: Mapping[str, Any] = field(default_factory=dict)

    def logit(self, signals: Mapping[str, float]) -> float:
        weights = self.weights
        return self.intercept + sum(weights.get(name, 0.0) * value for name, value in signals.items() if value)

    def probability(self, signals: Mapping[str, float]) -> float:
        return _sigmoid(self.logit(signals))

    def contributions(self, signals: Mapping[str, float], top: int = 5) -> list[tuple[str, float]]:
        """The signals that moved this page's log-odds most, largest first."""
        moved = [(name, self.weights.get(name, 0.0) * value) for name, value in signals.items() if value]
        moved = [(name, round(amount, 3)) for name, amount in moved if amount]
        return sorted(moved, key=lambda pair: -abs(pair[1]))[:top]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def load_weights(path: Path) -> Weights:
    shown = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(shown, None, None, f"cannot read the weights file ({exc.strerror})") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigError(shown, mark.line + 1 if mark else None, None, f"YAML syntax error: {exc.problem}") from None
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ConfigError(shown, None, "version", f"expected a weights file of format version {FORMAT_VERSION}")
    signals = data.get("signals")
    if not isinstance(signals, dict) or not all(isinstance(v, (int, float)) for v in signals.values()):
        raise ConfigError(shown, None, "signals", "expected a mapping of signal names to numbers")
    for key in ("intercept", "threshold"):
        if not isinstance(data.get(key), (int, float)):
            raise ConfigError(shown, None, key, "expected a number")
    if not 0 < data["threshold"] < 1:
        raise ConfigError(shown, None, "threshold", "expected a probability between 0 and 1")
    meta = {k: v for k, v in data.items() if k not in ("version", "signals", "intercept", "threshold")}
    return Weights(float(data["intercept"]), {str(k): float(v) for k, v in signals.items()}, float(data["threshold"]), meta)


def training_files(weights: Weights, path: Path, but: str | None = None) -> list[Path]:
    """The labelled files the weights at `path` learned from (named relative to that file),
    but the one whose SHA-256 is `but`."""
    entries = weights.meta.get("trained_on") or []
    return [Path(path).parent / e["file"] for e in entries if e.get("file") and (but is None or e.get("sha256") != but)]


def dump_weights(weights: Weights, path: Path, header: str) -> None:
    """Write the weights file; the labelled files are named relative to it, so a clone
    anywhere (and `coprod evaluate` run from any folder) finds them."""
    meta = dict(weights.meta)
    folder = Path(path).resolve().parent
    meta["trained_on"] = [entry | {"file": os.path.relpath(Path(entry["file"]).resolve(), folder)} for entry in meta.get("trained_on") or []]
    document = {
        "version": FORMAT_VERSION,
        **meta,
        "intercept": round(weights.intercept, 4),
        "threshold": round(weights.threshold, 4),
        "signals": {name: round(value, 4) for name, value in sorted(weights.weights.items())},
    }
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    Path(path).write_text(comment + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100), encoding="utf-8")


def fit_weights(
    rows: Sequence[Mapping[str, float]],
    labels: Sequence[bool],
    names: Sequence[str],
    *,
    c: float = DEFAULT_C,
    sample_weight: Sequence[float] | None = None,
) -> tuple[float, dict[str, float]]:
    """(intercept, weights) of an L2-regularised logistic regression with balanced classes.

    Signals are in [0, 1] by construction, so no scaling: a weight reads as the change in
    log-odds when its signal is fully present."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array([[float(row.get(name, 0.0)) for name in names] for row in rows], dtype=float)
    y = np.asarray(labels, dtype=bool)
    model = LogisticRegression(C=c, class_weight="balanced", solver="lbfgs", max_iter=5000)
    model.fit(x, y, sample_weight=None if sample_weight is None else np.asarray(sample_weight, dtype=float))
    return float(model.intercept_[0]), {name: float(w) for name, w in zip(names, model.coef_[0]) if abs(w) >= 1e-4}


def choose_threshold(probabilities: Sequence[float], labels: Sequence[bool], open_: Sequence[bool], recall: float) -> float:
    """The highest threshold at which the open (not clearly out) candidates reach `recall`
    of all candidates, within [MIN_THRESHOLD, MAX_THRESHOLD]."""
    reachable = sorted((p for p, label, is_open in zip(probabilities, labels, open_) if label and is_open), reverse=True)
    positives = sum(map(bool, labels))
    if not positives or not reachable:
        return MIN_THRESHOLD
    needed = max(1, math.ceil(recall * positives))
    if needed > len(reachable):
        return MIN_THRESHOLD
    # Just below the probability of the needed-th candidate.
    return min(MAX_THRESHOLD, max(MIN_THRESHOLD, reachable[needed - 1] * 0.999))


def training_meta(files: Sequence[tuple[str, str, int]], c: float, recall: float, folds: int) -> dict[str, Any]:
    return {
        "trained_at": dt.date.today().isoformat(),
        "trained_on": [{"file": name, "sha256": digest, "records": records} for name, digest, records in files],
        "regularisation": {"penalty": "l2", "C": c, "class_weight": "balanced"},
        "threshold_rule": {"recall": recall, "out_of_fold": folds},
    }
