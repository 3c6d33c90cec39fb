"""The thin Scrapy pipeline around the relevance engine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.config import Config, Source
from crawler.items import PageItem
from pipelines.relevance.engine import Assessment, Engine, build_engine

__all__ = ["RelevancePipeline", "apply_assessment", "engine_from_config"]


def engine_from_config(config: Config, threshold: float | None = None) -> Engine:
    return build_engine(
        config.lexicon_paths,
        config.study.region_code,
        config.place_paths,
        (config.study.window.start, config.study.window.end),
        config.flag.threshold if threshold is None else threshold,
    )


def apply_assessment(item: PageItem, engine: Engine, source: Source | None = None) -> Assessment:
    assessment = engine.assess(
        item.text or "",
        title=item.title,
        language=item.language or "uk",
        published=item.published,
        links=item.links,
        source_kind=source.kind if source else None,
        source_region=source.region if source else None,
    )
    item.relevance = assessment.to_json()
    return assessment


class RelevancePipeline:
    def __init__(
        self,
        lexicon_paths: list[Path],
        region_code: str,
        place_paths: list[Path],
        window: tuple[dt.date, dt.date],
        threshold: float,
        sources: dict[str, Source],
    ):
        self.lexicon_paths = lexicon_paths
        self.sources = sources
        self.region_code = region_code
        self.place_paths = place_paths
        self.window = window
        self.threshold = threshold
        self.engine: Engine | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RelevancePipeline:
        settings = crawler.settings
        if not settings.getlist("COPROD_LEXICON_FILES") or not settings.get("COPROD_REGION_CODE"):
            raise NotConfigured("no lexicon or study region (COPROD_LEXICON_FILES, COPROD_REGION_CODE)")
        start, end = settings.getlist("COPROD_WINDOW")
        return cls(
            lexicon_paths=[Path(p) for p in settings.getlist("COPROD_LEXICON_FILES")],
            region_code=settings.get("COPROD_REGION_CODE"),
            place_paths=[Path(p) for p in settings.getlist("COPROD_PLACE_FILES")],
            window=(dt.date.fromisoformat(start), dt.date.fromisoformat(end)),
            threshold=settings.getfloat("COPROD_FLAG_THRESHOLD"),
            sources={s["name"]: Source.model_validate(s) for s in settings.getlist("COPROD_SOURCES")},
        )

    def open_spider(self) -> None:
        # Loading the gazetteer and the dictionaries takes a moment: once per crawl, not per page.
        self.engine = build_engine(self.lexicon_paths, self.region_code, self.place_paths, self.window, self.threshold)

    def process_item(self, item: PageItem) -> PageItem:
        assert self.engine is not None, "open_spider() loads the engine"
        if item.not_modified:
            return item
        apply_assessment(item, self.engine, self.sources.get(item.source))
        return item
