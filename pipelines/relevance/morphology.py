"""Tokens, sentences and lemmas for Ukrainian, Russian and English.

Lemmas come from pymorphy3 with its Ukrainian and Russian dictionaries. Measured here
against simplemma on inflected forms of the lexicon's words (volunteer, shelter, fund,
council, the region's cities): pymorphy3 got forms simplemma missed (укриттях -> укриття,
Никополе -> никополь, чаті -> чат) at ~25 k words/s uncached against simplemma's ~330 k;
with a cache of seen forms (a page repeats most of its words, a crawl most of its
vocabulary) pymorphy3 stops being the bottleneck, so quality decides.

A word keeps every lemma its parses give (ради -> {рада, рад}); a term matches when the
lemma sets meet, so an ambiguous parse never hides a match.
"""

from __future__ import annotations

import re
from functools import cache

import pymorphy3

__all__ = ["CALL", "IMPERSONAL", "PLURAL_PAST", "WE", "Lemmatizer", "Token", "fold", "sentence_spans", "tokenize"]

_FOLD = (("’", "'"), ("ʼ", "'"), ("`", "'"), ("´", "'"), ("‘", "'"), ("ё", "е"), ("Ё", "Е"), ("\u00ad", ""))
_TOKEN = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"»”)]?\s+(?=[\"«„(]?[A-ZА-ЯІЇЄҐ0-9])|\n+")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def fold(text: str) -> str:
    """One apostrophe, ё as е, no soft hyphens: the spelling terms are matched in."""
    # A few str.replace calls run in C; str.translate with a mapping is ten times slower.
    for old, new in _FOLD:
        if old in text:
            text = text.replace(old, new)
    return text


class Token:
    """A word: lower-cased form, offsets in the text, sentence index, capitalised or not.
    (A plain slotted class: pages have thousands of words, and it builds fastest.)"""

    __slots__ = ("capitalised", "end", "lower", "sentence", "start")

    def __init__(self, lower: str, start: int, end: int, sentence: int, capitalised: bool):
        self.lower = lower
        self.start = start
        self.end = end
        self.sentence = sentence
        self.capitalised = capitalised

    def __repr__(self) -> str:
        return f"Token({self.lower!r}, {self.start}, {self.end}, {self.sentence})"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > start:
            spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def tokenize(text: str) -> tuple[list[Token], list[tuple[int, int]]]:
    """Word tokens of `text` (already folded) with their sentence index, and the sentences."""
    spans = sentence_spans(text)
    ends = [end for _, end in spans]
    lowered = text.lower()
    same_length = len(lowered) == len(text)
    tokens: list[Token] = []
    sentence = 0
    last_sentence = len(spans) - 1
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        while sentence < last_sentence and start >= ends[sentence]:
            sentence += 1
        word = lowered[start:end] if same_length else match.group(0).lower()
        tokens.append(Token(word, start, end, sentence, text[start].isupper()))
    return tokens, spans


# Verb forms that say who speaks: "збираємо" (we), "пишіть" (you all, do), "склали" (they
# did, no subject named): the voice of an initiative's own post.
WE = "we"
CALL = "call"
PLURAL_PAST = "plural_past"
# "відкрито", "облаштовано", "создано": the impersonal passive of official releases.
IMPERSONAL = "impersonal"
_NO_FEATURES: frozenset[str] = frozenset()


class Lemmatizer:
    """Lemma sets and person features of words, per language, cached for the process."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[frozenset[str], frozenset[str]]] = {}

    def lemmas(self, word: str, language: str) -> frozenset[str]:
        return self.analyse(word, language)[0]

    def features(self, word: str, language: str) -> frozenset[str]:
        return self.analyse(word, language)[1]

    def analyse(self, word: str, language: str) -> tuple[frozenset[str], frozenset[str]]:
        key = (word, language)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._analyse(word, language)
        return found

    def _analyse(self, word: str, language: str) -> tuple[frozenset[str], frozenset[str]]:
        if not _CYRILLIC.search(word):
            return frozenset((word, _english_stem(word))), _NO_FEATURES
        lemmas = {word}
        features: set[str] = set()
        # "психологи-волонтери": the parts are words of their own.
        parts = word.split("-") if "-" in word else []
        for code in _analyser_languages(language):
            analyser = _analyser(code)
            for parse in analyser.parse(word):
                lemmas.add(fold(parse.normal_form))
                # Grammeme sets, not tag membership: the two tagsets know different grammemes.
                grammemes = parse.tag.grammemes
                if "Impe" in grammemes or {"PRTS", "neut", "sing"} <= grammemes:
                    features.add(IMPERSONAL)
                if {"VERB", "plur"} <= grammemes:
                    if "impr" in grammemes:
                        features.add(CALL)
                    elif "1per" in grammemes:
                        features.add(WE)
                    elif "past" in grammemes:
                        features.add(PLURAL_PAST)
            for part in parts:
                if len(part) > 2:
                    lemmas.update(fold(p.normal_form) for p in analyser.parse(part))
        return frozenset(lemmas), frozenset(features)


def _analyser_languages(language: str) -> tuple[str, ...]:
    if language == "uk":
        return ("uk",)
    if language == "ru":
        return ("ru",)
    return ("uk", "ru")


@cache
def _analyser(language: str) -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang=language)


def _english_stem(word: str) -> str:
    """Plural to singular, which is all English terms need (stems cover the rest)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word
