"""Pipeline stages, one module each: extract, language, relevance, store.

Each stage is a pure function (`extract`, `detect_language`, `Engine.assess`) with a thin
Scrapy pipeline class around it.
"""

from pipelines._drop import PageDropped
from pipelines.extract import Extracted, extract
from pipelines.language import LanguageResult, detect_language

__all__ = ["Extracted", "LanguageResult", "PageDropped", "detect_language", "extract"]
