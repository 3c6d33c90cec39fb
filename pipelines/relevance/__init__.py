"""The relevance engine.

`build_engine(...)` loads the lexicon, the gazetteer, the era cues and the learned weights
once; `Engine.assess(text, ...)` returns an `Assessment` with the probability, the flag and
every reason (`Engine.read` the signals alone, `Engine.verdict` weighs them). The stage chain (`pipelines.chain`) applies it to crawled and imported pages, and
`coprod rescore` and `evaluate` run the same chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.relevance.engine import DIRECTIONS, MODES, Assessment, Engine, build_engine

if TYPE_CHECKING:
    from crawler.core.config import Config

__all__ = ["DIRECTIONS", "MODES", "Assessment", "Engine", "build_engine", "engine_from_config"]


def engine_from_config(config: Config, threshold: float | None = None) -> Engine:
    return build_engine(
        config.lexicon_paths,
        config.study.region_code,
        config.place_paths,
        (config.study.window.start, config.study.window.end),
        config.weights_path,
        config.flag.threshold if threshold is None else threshold,
    )
