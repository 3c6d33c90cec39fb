"""The relevance engine and its Scrapy pipeline.

`build_engine(...)` loads the lexicon, the gazetteer and the lemmatizer once;
`Engine.assess(text, ...)` returns an `Assessment` with the score, the flag and every
reason. `RelevancePipeline` applies it to crawled pages; `coprod import`, `rescore` and
`evaluate` use the same engine offline.
"""

from pipelines.relevance.engine import DIRECTIONS, MODES, Assessment, Engine, build_engine
from pipelines.relevance.pipeline import RelevancePipeline, apply_assessment, engine_from_config

__all__ = [
    "DIRECTIONS",
    "MODES",
    "Assessment",
    "Engine",
    "RelevancePipeline",
    "apply_assessment",
    "build_engine",
    "engine_from_config",
]
