"""Flag stage: a first keyword flag from the lexicon, keeping which terms matched.

The lexicon (YAML, edited by researchers) groups terms by signal; see
``pipelines/lexicons/coproduction.yaml`` for the syntax. `load_lexicon` compiles it once;
`flag_text` is the pure function the Scrapy pipeline and offline commands share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.errors import ConfigError
from crawler.items import PageItem

__all__ = ["FlagPipeline", "FlagResult", "Lexicon", "Signal", "flag_text", "load_lexicon", "normalise"]

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "ё": "е", "Ё": "е", "\u00ad": None})


def normalise(text: str) -> str:
    """Lower case, ё as е, one apostrophe, no soft hyphens: what terms are matched against."""
    return text.translate(_APOSTROPHES).lower()


@dataclass(frozen=True)
class Signal:
    name: str
    weight: float
    patterns: tuple[tuple[str, re.Pattern[str]], ...]  # (term as written, compiled pattern)

    def matches(self, text: str) -> list[str]:
        return [term for term, pattern in self.patterns if pattern.search(text)]


@dataclass(frozen=True)
class Lexicon:
    signals: tuple[Signal, ...]
    required: tuple[str, ...]
    cap: int


@dataclass(frozen=True)
class FlagResult:
    flagged: bool
    score: float
    terms: dict[str, list[str]]


def _term_pattern(term: str) -> re.Pattern[str]:
    parts = []
    for word in normalise(term).split():
        if word.endswith("*"):
            parts.append(re.escape(word[:-1]) + r"[\w'-]*")
        else:
            parts.append(re.escape(word))
    return re.compile(r"(?<![\w'])" + r"\s+".join(parts) + r"(?![\w'])")


def load_lexicon(paths: Iterable[Path]) -> Lexicon:
    """Merge lexicon files in order: a later file adds terms and may change weights."""
    weights: dict[str, float] = {}
    terms: dict[str, list[str]] = {}
    required: tuple[str, ...] = ()
    cap = 3
    for path in paths:
        shown = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            raise ConfigError(shown, mark.line + 1 if mark else None, None, f"YAML syntax error: {exc.problem}") from None
        if not isinstance(data, dict) or not isinstance(data.get("signals"), dict):
            raise ConfigError(shown, None, "signals", "expected a mapping of signal names to their weight and terms")
        required = tuple(data.get("required", required))
        cap = int(data.get("cap", cap))
        for name, spec in data["signals"].items():
            if not isinstance(spec, dict):
                raise ConfigError(shown, None, f"signals.{name}", "expected a mapping with weight and terms")
            if "weight" in spec:
                if not isinstance(spec["weight"], (int, float)):
                    raise ConfigError(shown, None, f"signals.{name}.weight", f"expected a number (got {spec['weight']!r})")
                weights[name] = float(spec["weight"])
            by_language = spec.get("terms") or {}
            if not isinstance(by_language, dict):
                raise ConfigError(shown, None, f"signals.{name}.terms", "expected a mapping of language codes to term lists")
            bucket = terms.setdefault(name, [])
            for language, words in by_language.items():
                if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
                    raise ConfigError(shown, None, f"signals.{name}.terms.{language}", "expected a list of terms")
                bucket.extend(w for w in words if w not in bucket)
    for name in required:
        if name not in terms:
            raise ConfigError(", ".join(map(str, paths)), None, "required", f"required signal {name!r} has no terms")
    signals = tuple(
        Signal(name, weights.get(name, 1.0), tuple((t, _term_pattern(t)) for t in words)) for name, words in terms.items()
    )
    return Lexicon(signals=signals, required=required, cap=cap)


def flag_text(lexicon: Lexicon, text: str, threshold: float) -> FlagResult:
    normalised = normalise(text)
    matched = {signal.name: found for signal in lexicon.signals if (found := signal.matches(normalised))}
    score = sum(signal.weight * min(len(matched.get(signal.name, ())), lexicon.cap) for signal in lexicon.signals)
    flagged = all(name in matched for name in lexicon.required) and score >= threshold
    return FlagResult(flagged=flagged, score=round(score, 3), terms=matched)


class FlagPipeline:
    def __init__(self, lexicon: Lexicon, threshold: float):
        self.lexicon = lexicon
        self.threshold = threshold

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FlagPipeline:
        paths = crawler.settings.getlist("COPROD_LEXICON_FILES")
        if not paths:
            raise NotConfigured("no lexicon files (COPROD_LEXICON_FILES)")
        return cls(load_lexicon(Path(p) for p in paths), crawler.settings.getfloat("COPROD_FLAG_THRESHOLD"))

    def process_item(self, item: PageItem) -> PageItem:
        result = flag_text(self.lexicon, "\n".join(filter(None, (item.title, item.text))), self.threshold)
        item.flagged = result.flagged
        item.flag_score = result.score
        item.flag_terms = result.terms
        return item
