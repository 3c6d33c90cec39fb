"""The researcher-edited lexicon, compiled for lemma matching.

A lexicon file (YAML) groups terms by signal and, inside a signal, optionally by group
(service areas, modes). Term syntax, for every language:

* a plain word matches any inflection of it: ``волонтер`` matches волонтери, волонтерів,
  волонтерами (their lemmas meet);
* a word ending in ``*`` matches any word starting so, as written or as a lemma:
  ``волонтерськ*`` matches волонтерський, волонтерського, волонтерська;
* several words are a phrase, matched as consecutive words: ``збір коштів`` matches
  "збір коштів", "збору коштів", "зборів коштів";
* a word after ``=`` matches only as written: ``=збираємо`` (we collect) but not
  "збирають" (they collect), where the person is the point.

Later files add terms to the same signal and group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crawler.core.errors import ConfigError
from pipelines.relevance.morphology import Lemmatizer, Token, fold

__all__ = ["Lexicon", "TermMatch", "load_lexicon"]

_PREFIX_KEY = 3


@dataclass(frozen=True, slots=True)
class _Word:
    prefix: str | None  # for stems (term word ending in *)
    lemmas: frozenset[str]  # for plain words
    exact: str | None = None  # for words written =like_this

    def matches(self, token: Token, lemmas: frozenset[str]) -> bool:
        if self.exact is not None:
            return token.lower == self.exact
        if self.prefix is not None:
            return token.lower.startswith(self.prefix) or any(lemma.startswith(self.prefix) for lemma in lemmas)
        return not self.lemmas.isdisjoint(lemmas)


@dataclass(frozen=True, eq=False)
class _Term:
    signal: str
    group: str
    text: str
    words: tuple[_Word, ...]


@dataclass(frozen=True, slots=True)
class TermMatch:
    signal: str
    group: str
    term: str
    start: int  # character offsets of the matched words
    end: int
    sentence: int


class Lexicon:
    """Compiled terms, indexed by their first word's lemmas and prefixes.

    Which terms a word form can start is worked out once per form and language and kept:
    a crawl meets the same forms again and again.
    """

    def __init__(self, terms: tuple[_Term, ...]):
        self.terms = terms
        by_lemma: dict[str, list[_Term]] = defaultdict(list)
        by_prefix: dict[str, list[_Term]] = defaultdict(list)
        for term in terms:
            first = term.words[0]
            if first.exact is not None:
                by_lemma[first.exact].append(term)  # a word's own form is always among its lemmas
            elif first.prefix is not None:
                by_prefix[first.prefix[:_PREFIX_KEY]].append(term)
            else:
                for lemma in first.lemmas:
                    by_lemma[lemma].append(term)
        self._by_lemma = {k: tuple(v) for k, v in by_lemma.items()}
        self._by_prefix = {k: tuple(v) for k, v in by_prefix.items()}
        self._starts: dict[tuple[str, str], tuple[_Term, ...]] = {}

    def match(self, tokens: Sequence[Token], lemma_sets: Sequence[frozenset[str]], language: str) -> list[TermMatch]:
        """Every term occurrence in the token stream (with each token's lemmas), in text order."""
        found: list[TermMatch] = []
        starts = self._starts
        size = len(tokens)
        for index, token in enumerate(tokens):
            key = (token.lower, language)
            candidates = starts.get(key)
            if candidates is None:
                candidates = starts[key] = self._starting(token, lemma_sets[index])
            for term in candidates:
                words = term.words
                if len(words) == 1:
                    found.append(TermMatch(term.signal, term.group, term.text, token.start, token.end, token.sentence))
                    continue
                last = index + len(words) - 1
                if last < size and all(words[k].matches(tokens[index + k], lemma_sets[index + k]) for k in range(1, len(words))):
                    found.append(TermMatch(term.signal, term.group, term.text, token.start, tokens[last].end, token.sentence))
        return found

    def _starting(self, token: Token, lemmas: frozenset[str]) -> tuple[_Term, ...]:
        candidates: dict[int, _Term] = {}
        for lemma in lemmas:
            for term in self._by_lemma.get(lemma, ()):
                candidates[id(term)] = term
            for term in self._by_prefix.get(lemma[:_PREFIX_KEY], ()):
                candidates[id(term)] = term
        for term in self._by_prefix.get(token.lower[:_PREFIX_KEY], ()):
            candidates[id(term)] = term
        return tuple(term for term in candidates.values() if term.words[0].matches(token, lemmas))


def load_lexicon(paths: Iterable[Path], lemmatizer: Lemmatizer) -> Lexicon:
    collected: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in paths:
        shown = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            raise ConfigError(shown, mark.line + 1 if mark else None, None, f"YAML syntax error: {exc.problem}") from None
        except OSError as exc:
            raise ConfigError(shown, None, None, f"cannot read the lexicon ({exc.strerror})") from None
        signals = data.get("signals") if isinstance(data, dict) else None
        if not isinstance(signals, dict):
            raise ConfigError(shown, None, "signals", "expected a mapping of signal names to their terms")
        for name, spec in signals.items():
            _collect(shown, str(name), spec, collected)
    terms = []
    for (signal, group), texts in collected.items():
        for text in dict.fromkeys(texts):
            terms.append(_Term(signal, group, text, tuple(_compile_word(w, lemmatizer) for w in fold(text).lower().split())))
    return Lexicon(terms=tuple(terms))


def _collect(shown: str, name: str, spec: Any, collected: dict[tuple[str, str], list[str]]) -> None:
    if not isinstance(spec, dict):
        raise ConfigError(shown, None, f"signals.{name}", "expected a mapping with terms or groups")
    groups = spec.get("groups")
    if groups is not None:
        if not isinstance(groups, dict):
            raise ConfigError(shown, None, f"signals.{name}.groups", "expected a mapping of group names to terms by language")
        for group, by_language in groups.items():
            _terms(shown, f"signals.{name}.groups.{group}", by_language, collected[(name, str(group))])
    if "terms" in spec:
        _terms(shown, f"signals.{name}.terms", spec["terms"], collected[(name, "")])


def _terms(shown: str, field: str, by_language: Any, bucket: list[str]) -> None:
    if not isinstance(by_language, dict):
        raise ConfigError(shown, None, field, "expected a mapping of language codes to term lists")
    for language, words in by_language.items():
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise ConfigError(shown, None, f"{field}.{language}", "expected a list of terms")
        bucket.extend(w.strip() for w in words)


def _compile_word(word: str, lemmatizer: Lemmatizer) -> _Word:
    if word.startswith("=") and len(word) > 1:
        return _Word(prefix=None, lemmas=frozenset(), exact=word[1:])
    if word.endswith("*") and len(word) > 1:
        return _Word(prefix=word[:-1], lemmas=frozenset())
    return _Word(prefix=None, lemmas=lemmatizer.lemmas(word, "any") | {word})
