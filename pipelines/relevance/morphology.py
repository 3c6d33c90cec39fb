"""Words, sentences, inflections and person features for Ukrainian, Russian and English.

The engine reads a page as words and sentences only. Which lexicon terms a word form can
start, and which person its verb form speaks in, is worked out once per form and kept, so a
page costs about one dict lookup per word.

Inflections come from pymorphy3 with its Ukrainian and Russian dictionaries, but at the
time the lexicon is compiled, not per page: each plain term word is expanded into every
form of its lexemes (волонтер -> волонтера, волонтерів, волонтерами...), and a page's
words are looked up among those forms. Measured on the development and real labelled sets,
this finds the same term occurrences as lemmatising every word of every page with pymorphy3
(which was a third of the engine's time on a page it had not seen before), except for
unknown words pymorphy3 guesses a lemma for.

The person of a verb ("збираємо": we; "пишіть": you all, do; "зібрали": they did; "відкрито":
the impersonal passive of official releases) comes from pymorphy3 too, for the words whose
ending a verb in such a form can have (a sixth of a page's words), once per form.

`Lemmatizer` stays for what needs a word's lemmas (the review app's search, the lexicon's
compilation).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import accumulate, compress

import pymorphy3

from pipelines.relevance._regex import guarded

__all__ = [
    "CALL",
    "IMPERSONAL",
    "PLURAL_PAST",
    "WE",
    "Lemmatizer",
    "can_be_subject",
    "is_personal_name",
    "Tokens",
    "clear_form_caches",
    "fold",
    "sentence_spans",
    "tokenize",
    "voice_features",
    "voiced",
]

_FOLD = (("’", "'"), ("ʼ", "'"), ("`", "'"), ("´", "'"), ("‘", "'"), ("ё", "е"), ("Ё", "Е"), ("\u00ad", ""))
_TOKEN = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_TOKEN_SPLIT = re.compile(f"({_TOKEN.pattern})")
# Sentences, and the clauses a contrast joins ("Міська рада надала приміщення, а волонтери
# облаштували пункт"): each names its own actor.
# Guarded: most positions fail on one class test (`_regex.guarded`).
_SENTENCE_END = guarded(r"(?<=[.!?…])[\"»”)]?\s+(?=[\"«„(]?[A-ZА-ЯІЇЄҐ0-9])|\n+|,\s+(?=(?:а|але|проте|однак|зате|а от|но|однако|but|whereas)\s)")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_START, _END = re.Match.start, re.Match.end

# Person features of verb forms.
WE = "we"
CALL = "call"
PLURAL_PAST = "plural_past"
IMPERSONAL = "impersonal"
_NO_FEATURES: frozenset[str] = frozenset()


def fold(text: str) -> str:
    """One apostrophe, ё as е, no soft hyphens: the spelling terms are matched in."""
    # A few str.replace calls run in C; str.translate with a mapping is ten times slower.
    for old, new in _FOLD:
        if old in text:
            text = text.replace(old, new)
    return text


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


@dataclass(frozen=True, slots=True)
class Tokens:
    """The words of a (folded) text: lower-cased forms and offsets, and its sentences."""

    text: str
    words: list[str]
    starts: list[int]
    ends: list[int]
    sentences: list[tuple[int, int]]
    _sentence_starts: list[int]

    def sentence_of(self, offset: int) -> int:
        """The sentence holding the character at `offset`."""
        return max(0, bisect_right(self._sentence_starts, offset) - 1)

    def sentence_text(self, index: int) -> str:
        start, end = self.sentences[index]
        return self.text[start:end].strip()

    def is_upper(self, index: int, letters: int) -> bool:
        """The word's first `letters` letters are capitals (an abbreviation: ГО, ЦНАПу)."""
        start = self.starts[index]
        return self.text[start : start + letters].isupper()


def tokenize(text: str) -> Tokens:
    """Words of `text` (already folded) with their offsets, and its sentences."""
    spans = sentence_spans(text)
    lowered = text.lower()
    if len(lowered) == len(text):
        # Words and the gaps between them by one split, offsets by summing their lengths:
        # all in C, a third faster than a match object per word.
        parts = _TOKEN_SPLIT.split(lowered)
        offsets = list(accumulate(map(len, parts), initial=0))
        words, starts, ends = parts[1::2], offsets[1:-1:2], offsets[2::2]
    else:  # a letter whose lower case is longer ("İ"): offsets from the text as written
        matches = list(_TOKEN.finditer(text))
        words = [m.group().lower() for m in matches]
        starts, ends = list(map(_START, matches)), list(map(_END, matches))
    return Tokens(
        text=text,
        words=words,
        starts=starts,
        ends=ends,
        sentences=spans,
        _sentence_starts=[start for start, _ in spans],
    )


# --- person features ------------------------------------------------------------------

# Endings a verb form in the first person plural, the imperative plural, the plural past or
# the impersonal passive can have; only words ending so are parsed.
_VERB_ENDING = re.compile(r"(?:мо|мося|мось|ем|ём|им|емся|ёмся|имся|те|теся|тесь|ть|ться|ли|лися|лись|ло|но|то)$")


# language -> word form -> its person features (every form a page had, most with none)
_VOICE_CACHE: dict[str, dict[str, frozenset[str]]] = {}
_VOICE_CACHE_LIMIT = 500_000


def voice_features(word: str, language: str) -> frozenset[str]:
    """Person features of a word form: WE, CALL, PLURAL_PAST or IMPERSONAL (kept per form)."""
    memo = _VOICE_CACHE.setdefault(language, {})
    found = memo.get(word)
    return _new_voice(word, language, memo) if found is None else found


def voiced(words: list[str], language: str) -> list[tuple[int, frozenset[str]]]:
    """(position, features) of the words of a text that have person features, in order."""
    memo = _VOICE_CACHE.setdefault(language, {})
    known = list(map(memo.get, words))  # one C loop: a page's forms are mostly known
    if None in known:
        for index, found in enumerate(known):
            if found is None:
                found = memo.get(words[index])
                known[index] = _new_voice(words[index], language, memo) if found is None else found
    return [(index, known[index]) for index in compress(range(len(known)), known)]


def _new_voice(word: str, language: str, memo: dict[str, frozenset[str]]) -> frozenset[str]:
    if sum(map(len, _VOICE_CACHE.values())) > _VOICE_CACHE_LIMIT:
        for forms in _VOICE_CACHE.values():
            forms.clear()
    if len(word) < 4 or not _VERB_ENDING.search(word) or not _CYRILLIC.match(word):
        found = _NO_FEATURES
    else:
        found = _voice(word, language if language in ("uk", "ru") else "any")
    memo[word] = found
    return found


@lru_cache(maxsize=200_000)
def _voice(word: str, language: str) -> frozenset[str]:
    features: set[str] = set()
    for code in _analyser_languages(language):
        # The tags alone (`tag()` gives the set of tags `parse()` does, twice as fast).
        for tag in _analyser(code).tag(word):
            # Grammeme sets, not tag membership: the two tagsets know different grammemes.
            grammemes = tag.grammemes
            if "Impe" in grammemes or {"PRTS", "neut", "sing"} <= grammemes:
                features.add(IMPERSONAL)
            if {"VERB", "plur"} <= grammemes:
                if "impr" in grammemes:
                    features.add(CALL)
                elif "1per" in grammemes:
                    features.add(WE)
                elif "past" in grammemes:
                    features.add(PLURAL_PAST)
    return frozenset(features)


def can_be_subject(word: str, language: str) -> bool:
    """Whether the word form can be a sentence's subject: a nominative reading (or no case
    at all: an abbreviation, a Latin word). "органів державної влади" (genitive) is not the
    actor of "допомогу від органів ... отримали 89% ВПО"; "мешканці" can be."""
    return _subject(word, language if language in ("uk", "ru") else "any")


@cache
def _subject(word: str, language: str) -> bool:
    if not _CYRILLIC.search(word):
        return True
    cased = False
    for code in _analyser_languages(language):
        for tag in _analyser(code).tag(word):
            grammemes = tag.grammemes
            if "nomn" in grammemes:
                return True
            cased |= bool(grammemes & _CASES)
    return not cased


def is_personal_name(word: str) -> bool:
    """A first name, surname or patronymic for pymorphy3 ("Володимир" is also a city)."""
    return _personal(word.lower())


@cache
def _personal(word: str) -> bool:
    if not _CYRILLIC.search(word):
        return False
    return any(parse.tag.grammemes & {"Name", "Surn", "Patr"} for code in ("uk", "ru") for parse in _analyser(code).parse(word)[:2])


_CASES = frozenset({"nomn", "gent", "datv", "accs", "ablt", "loct", "voct", "gen2", "acc2", "loc2"})


# --- lemmas and forms -------------------------------------------------------------------


class Lemmatizer:
    """Lemma sets and inflected forms of words, per language, cached for the process.

    A word keeps every lemma its parses give (ради -> {рада, рад}): a term matches when the
    lemma sets meet, so an ambiguous parse never hides a match.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], frozenset[str]] = {}

    def lemmas(self, word: str, language: str) -> frozenset[str]:
        key = (word, language)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._lemmas(word, language)
        return found

    def _lemmas(self, word: str, language: str) -> frozenset[str]:
        if not _CYRILLIC.search(word):
            return frozenset((word, english_stem(word)))
        lemmas = {word}
        parts = word.split("-") if "-" in word else []
        for code in _analyser_languages(language):
            analyser = _analyser(code)
            lemmas.update(fold(parse.normal_form) for parse in analyser.parse(word))
            for part in parts:
                if len(part) > 2:
                    lemmas.update(fold(p.normal_form) for p in analyser.parse(part))
        return frozenset(lemmas)

    def forms(self, word: str) -> frozenset[str]:
        """Every inflected form of the word, as Ukrainian and as Russian.

        The lexemes of the parses whose lemma is the word itself (a term is written in its
        dictionary form: "рада" the council, not the short adjective "рада"). A term written
        inflected ("запустили") takes the forms of its lemmas that are read as that lemma:
        "допомогли" gives "допоможемо", not "допомоги" (help, the noun). A compound keeps
        its first part: "телеграм-канал" gives "телеграм-каналі"."""
        if not _CYRILLIC.search(word):
            plural = word[:-1] + "ies" if word.endswith("y") else word + ("es" if word.endswith(("s", "sh", "ch", "x")) else "s")
            return frozenset((word, english_stem(word), plural))
        if "-" in word:
            head, _, last = word.rpartition("-")
            return frozenset({word} | {f"{head}-{form}" for form in self.forms(last)})
        forms = {word}
        # A language's analyser guesses a lexeme for a word it does not know ("допомогли" as
        # a Russian verb "допомочь", whose guessed forms include "допомоги"): only the
        # languages that know the word, unless neither does.
        known = [code for code in ("uk", "ru") if _analyser(code).word_is_known(word)] or ["uk", "ru"]
        for code in known:
            analyser = _analyser(code)
            parses = analyser.parse(word)
            own = [p for p in parses if fold(p.normal_form) == word]
            if own:
                for parse in own:
                    forms.update(fold(form.word) for form in parse.lexeme)
                continue
            for parse in parses:
                lemma = parse.normal_form
                forms.update(
                    fold(form.word)
                    for form in parse.lexeme
                    if any(other.normal_form == lemma for other in analyser.parse(form.word))
                )
        return frozenset(forms)


def clear_form_caches() -> None:
    """Forget what was worked out per word form (person features, subject readings, personal
    names): the next page is read as by a fresh process (a benchmark's cold pass)."""
    _VOICE_CACHE.clear()
    _voice.cache_clear()
    _subject.cache_clear()
    _personal.cache_clear()


def _analyser_languages(language: str) -> tuple[str, ...]:
    if language == "uk":
        return ("uk",)
    if language == "ru":
        return ("ru",)
    return ("uk", "ru")


@cache
def _analyser(language: str) -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang=language)


def english_stem(word: str) -> str:
    """Plural to singular, which is all English terms need (stems cover the rest)."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word
