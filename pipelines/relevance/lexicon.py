"""The researcher-edited lexicon, compiled into an index of word forms.

A lexicon file (YAML) groups terms by signal and, inside a signal, optionally by group
(service areas, modes). Term syntax, for every language:

* a plain word matches any inflection of it: ``волонтер`` matches волонтери, волонтерів,
  волонтерами (pymorphy3 gives the forms of its lexemes, Ukrainian and Russian, once);
* a word ending in ``*`` matches any word starting so: ``волонтерськ*`` matches
  волонтерський, волонтерського, волонтерська;
* several words are a phrase, matched as consecutive words: ``збір коштів`` matches
  "збір коштів", "збору коштів", "зборів коштів";
* a word after ``=`` matches only as written: ``=збираємо`` (we collect) but not
  "збирають" (they collect), where the person is the point;
* a word in capitals is an abbreviation and matches only in capitals: ``ГО`` (an NGO) is
  not the particle "го".

Later files add terms to the same signal and group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress, repeat
from operator import is_not
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from crawler.core.errors import ConfigError
from pipelines.relevance.morphology import Lemmatizer, Tokens, fold

__all__ = ["Lexicon", "TermMatch", "load_lexicon"]

_PREFIX_KEY = 3


@dataclass(frozen=True, slots=True)
class _Word:
    prefix: str | None = None  # for stems (term word ending in *)
    forms: frozenset[str] = frozenset()  # for plain words: every inflected form
    exact: str | None = None  # for words written =like_this
    upper: int = 0  # an abbreviation (ГО, БФ, ОВА): this many first letters must be capitals

    def matches(self, word: str) -> bool:
        if self.exact is not None:
            return word == self.exact
        if self.prefix is not None:
            return word.startswith(self.prefix)
        return word in self.forms


@dataclass(frozen=True, eq=False)
class _Term:
    signal: str
    group: str
    text: str
    words: tuple[_Word, ...]
    capitals: bool = False  # some word is an abbreviation (checked against the text as written)


class TermMatch(NamedTuple):
    # A named tuple: a page has about a hundred matches, and a frozen dataclass took five
    # times as long to make.
    signal: str
    group: str
    term: str
    start: int  # character offsets of the matched words
    end: int
    sentence: int
    index: int = 0  # position of the first word among the text's words


class Lexicon:
    """Compiled terms, indexed by every form of their first word and by prefix.

    Which terms a word form can start is worked out once per form and kept: a crawl meets
    the same forms again and again.
    """

    def __init__(self, terms: tuple[_Term, ...]):
        self.terms = terms
        by_form: dict[str, list[_Term]] = defaultdict(list)
        by_prefix: dict[str, list[_Term]] = defaultdict(list)
        # Phrases whose first two words are plain words or exact forms are indexed by the pair:
        # "з ініціативи...", "на потреби..." start at every "з" and "на" of a page otherwise.
        by_pair: dict[tuple[str, str], list[_Term]] = defaultdict(list)
        for term in terms:
            first = term.words[0]
            if len(term.words) > 1 and first.prefix is None and term.words[1].prefix is None:
                second = term.words[1]
                for form in _forms(first):
                    for next_form in _forms(second):
                        by_pair[(form, next_form)].append(term)
            elif first.exact is not None:
                by_form[first.exact].append(term)
            elif first.prefix is not None:
                by_prefix[first.prefix[:_PREFIX_KEY]].append(term)
            else:
                for form in first.forms:
                    by_form[form].append(term)
        self._by_form = {k: tuple(v) for k, v in by_form.items()}
        self._by_prefix = {k: tuple(v) for k, v in by_prefix.items()}
        self._by_pair = {k: tuple(v) for k, v in by_pair.items()}
        self._pair_firsts = frozenset(first for first, _ in by_pair)
        # word form -> (the terms it can start, whether it can start an indexed pair)
        self._starts: dict[str, tuple[tuple[_Term, ...], bool]] = {}

    def match(self, tokens: Tokens) -> list[TermMatch]:
        """Every term occurrence among the words of a text, in text order."""
        found: list[TermMatch] = []
        starts = self._starts
        by_pair = self._by_pair
        words = tokens.words
        size = len(words)
        known = list(map(starts.get, words))
        if None in known:  # forms not seen before
            for index, entry in enumerate(known):
                if entry is None:
                    known[index] = self._entry(words[index])
        # Only the words that can start a term are looked at (most cannot).
        for index in compress(range(size), map(is_not, known, repeat(_NOTHING))):
            candidates, pair_first = known[index]
            if pair_first and index + 1 < size:
                paired = by_pair.get((words[index], words[index + 1]))
                if paired:
                    candidates = candidates + paired if candidates else paired
            if not candidates:
                continue
            for term in candidates:
                parts = term.words
                last = index + len(parts) - 1
                if last > index:
                    if last >= size or not all(parts[k].matches(words[index + k]) for k in range(1, len(parts))):
                        continue
                if term.capitals and any(part.upper and not tokens.is_upper(index + k, part.upper) for k, part in enumerate(parts)):
                    continue
                start = tokens.starts[index]
                found.append(TermMatch(term.signal, term.group, term.text, start, tokens.ends[last], tokens.sentence_of(start), index))
        return found

    def clear_memo(self) -> None:
        """Forget which terms the word forms seen so far start."""
        self._starts.clear()

    def _entry(self, word: str) -> tuple[tuple[_Term, ...], bool]:
        entry = self._starts.get(word)
        if entry is None:
            candidates, pair_first = self._starting(word), word in self._pair_firsts
            entry = self._starts[word] = (candidates, pair_first) if candidates or pair_first else _NOTHING
        return entry

    def _starting(self, word: str) -> tuple[_Term, ...]:
        # The parts of a compound are words of their own: "психологи-волонтери".
        keys = [word, *(part for part in word.split("-") if len(part) > 2)] if "-" in word else [word]
        candidates: dict[int, _Term] = {}
        for key in keys:
            for term in self._by_form.get(key, ()):
                if len(term.words) == 1 or key == word:
                    candidates[id(term)] = term
            for term in self._by_prefix.get(key[:_PREFIX_KEY], ()):
                if term.words[0].matches(key) and (len(term.words) == 1 or key == word):
                    candidates[id(term)] = term
        return tuple(candidates.values())


_NOTHING: tuple[tuple[_Term, ...], bool] = ((), False)  # a form that starts no term


def _forms(word: _Word) -> frozenset[str]:
    return frozenset((word.exact,)) if word.exact is not None else word.forms


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
            words = tuple(_compile_word(w, lemmatizer) for w in fold(text).split())
            terms.append(_Term(signal, group, text, words, any(w.upper for w in words)))
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


def _compile_word(written: str, lemmatizer: Lemmatizer) -> _Word:
    # An abbreviation is written in capitals: "ГО" (an NGO) is not the particle "го", "КП"
    # (a municipal enterprise) not a word's fragment.
    bare = written.strip("=*")
    upper = len(bare) if len(bare) >= 2 and bare.isupper() else 0
    word = written.lower()
    if word.startswith("=") and len(word) > 1:
        return _Word(exact=word[1:], upper=upper)
    if word.endswith("*") and len(word) > 1:
        return _Word(prefix=word[:-1], upper=upper)
    return _Word(forms=lemmatizer.forms(word), upper=upper)
