"""Pipeline stages, one module each: extract, language, flag, store.

Each stage is a pure function (`extract`, `detect_language`, `flag_text`) with a thin Scrapy
pipeline class around it.
"""

from pipelines._drop import PageDropped
from pipelines.extract import Extracted, extract
from pipelines.flag import FlagResult, flag_text, load_lexicon
from pipelines.language import LanguageResult, detect_language

__all__ = [
    "Extracted",
    "FlagResult",
    "LanguageResult",
    "PageDropped",
    "detect_language",
    "extract",
    "flag_text",
    "load_lexicon",
]
