"""Language (the chain's third stage): Ukrainian, Russian, English, mixed or other, for long pages and short posts.

langdetect alone is unreliable for what this project reads: short Ukrainian texts are
often taken for Russian, and it is slow on long pages. So:

* Cyrillic text is decided by the letters that only one of the two languages uses
  (Ukrainian і ї є ґ, Russian ы э ё ъ), counted per paragraph, so a page that is partly
  Ukrainian and partly Russian comes out as ``mixed``;
* Cyrillic text without such letters, and all other text, goes to langdetect with a
  fixed seed, on a bounded sample of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import langdetect
from langdetect import DetectorFactory, LangDetectException
from langdetect.detector_factory import PROFILES_DIRECTORY

__all__ = ["LanguageResult", "detect_language", "load_profiles"]

DetectorFactory.seed = 0  # langdetect samples randomly; a seed makes runs repeatable.

SAMPLE_CHARS = 2000
# Below this many Cyrillic letters with no telling letter, a text is taken as Ukrainian or
# Russian (the languages this project's sources write in); above it, any language is possible.
SHORT_TEXT_LETTERS = 200
MIXED_MIN_SHARE = 0.2
_UK_ONLY = frozenset("іїєґ")
_RU_ONLY = frozenset("ыэёъ")
_BE_ONLY = frozenset("ў")
# Spelling that only one language has, for words with no telling letter: Ukrainian
# infinitives in -ти and lengthened -ння/-ття, the apostrophe before я/ю/є/ї; Russian
# infinitives in -ть/-ться and the endings -ие/-ия.
_UK_SPELLING = re.compile(r"(?:ти|тись|тися|(?:нн|тт|лл|дд|жж|чч|шш|сс|цц|зз)я)\b|'[яюєї]")
_RU_SPELLING = re.compile(r"(?:ть|ться|тся|ие|ия|ию)\b")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z]")
_PARAGRAPH = re.compile(r"\n\s*\n|\n")
# Frequent words that settle short Cyrillic texts with no distinctive letter.
_UK_WORDS = frozenset(
    "та що як це але або щоб від до для про при без через після його її їх вони ми ви ти "
    "він вона воно нам вам ще вже також тому коли де хто чи так ні було буде може треба "
    "допомога допомогу допомоги люди людей місто області район року рік тут зараз дуже "
    "сьогодні".split()
)
_RU_WORDS = frozenset(
    "и что как это но или чтобы от до для про при без через после его ее их они мы вы ты "
    "он она оно нам вам еще уже также поэтому когда где кто ли так нет было будет может "
    "надо помощь помощи люди людей город области район года год тут сейчас очень "
    "сегодня".split()
)


@dataclass(frozen=True)
class LanguageResult:
    """The language code (``uk``, ``ru``, ``en``, ``mixed``, another ISO code, or ``und``),
    how it was decided, and the Ukrainian/Russian shares of a mixed text."""

    code: str
    method: str
    confidence: float
    shares: dict[str, float] = field(default_factory=dict)


# Letters are counted in the UTF-8 bytes, where C does it: every letter of U+0400-U+04FF
# starts with one of the bytes D0-D3 (and nothing else does), a Latin letter is one ASCII
# byte. str.translate with a mapping, which did it before, cost most of the stage's time.
_CYRILLIC_LEADS = (b"\xd0", b"\xd1", b"\xd2", b"\xd3")
_LATIN_BYTES = bytes(range(ord("A"), ord("Z") + 1)) + bytes(range(ord("a"), ord("z") + 1))


def detect_language(text: str) -> LanguageResult:
    sample = _sample(text, SAMPLE_CHARS * 3)
    encoded = sample.encode("utf-8", "surrogatepass")  # a lone surrogate is no letter
    letters_cyr = sum(encoded.count(lead) for lead in _CYRILLIC_LEADS)
    letters_lat = len(encoded) - len(encoded.translate(None, _LATIN_BYTES))
    if letters_cyr + letters_lat == 0:
        return _langdetect(text) if text.strip() else LanguageResult("und", "empty", 0.0)
    if letters_cyr >= letters_lat:
        return _cyrillic(sample)
    return _langdetect(text)


def _cyrillic(text: str) -> LanguageResult:
    weights = {"uk": 0, "ru": 0}
    undecided = 0
    for paragraph in _PARAGRAPH.split(text):
        lowered = paragraph.lower()
        size = len(lowered)
        if size < 2:
            continue
        verdict = _paragraph_language(lowered)
        if verdict in weights:
            weights[verdict] += size
        else:
            undecided += size
    decided = weights["uk"] + weights["ru"]
    if decided == 0:
        return _langdetect(text) if undecided > SHORT_TEXT_LETTERS else _uk_or_ru(text)
    shares = {lang: round(count / decided, 3) for lang, count in weights.items()}
    minority = min(shares.values())
    if minority >= MIXED_MIN_SHARE:
        return LanguageResult("mixed", "letters", 1.0 - minority, shares)
    code = max(weights, key=weights.__getitem__)
    return LanguageResult(code, "letters", round(weights[code] / (decided + undecided), 3), shares)


def _paragraph_language(lowered: str) -> str | None:
    uk = sum(lowered.count(ch) for ch in _UK_ONLY)
    ru = sum(lowered.count(ch) for ch in _RU_ONLY)
    if any(ch in lowered for ch in _BE_ONLY):
        return None
    if uk > ru * 2:
        return "uk"
    if ru > uk * 2:
        return "ru"
    words = re.findall(r"[\u0400-\u04FF']+", lowered)
    uk_words = sum(1 for w in words if w in _UK_WORDS) + len(_UK_SPELLING.findall(lowered))
    ru_words = sum(1 for w in words if w in _RU_WORDS) + len(_RU_SPELLING.findall(lowered))
    if uk_words > ru_words:
        return "uk"
    if ru_words > uk_words:
        return "ru"
    return None


def load_profiles() -> None:
    """Load langdetect's language profiles now, not on the first page that needs them: a
    process about to fork workers then shares them with the workers, where each worker would
    otherwise load its own (57 MB a worker, measured)."""
    _factory()
    _uk_ru_factory()


def _langdetect(text: str) -> LanguageResult:
    sample = _sample(text, SAMPLE_CHARS)
    try:
        detector = _factory().create()  # what langdetect.detect_langs does, with our factory
        detector.append(sample)
        ranked = detector.get_probabilities()
    except LangDetectException:
        return LanguageResult("und", "langdetect", 0.0)
    best = ranked[0]
    return LanguageResult(best.lang, "langdetect", round(best.prob, 3))


def _uk_or_ru(text: str) -> LanguageResult:
    try:
        detector = _uk_ru_factory().create()
        detector.append(text)
        ranked = detector.get_probabilities()
    except LangDetectException:
        return LanguageResult("und", "langdetect-uk-ru", 0.0)
    best = ranked[0]
    return LanguageResult(best.lang, "langdetect-uk-ru", round(best.prob, 3))


@cache
def _factory() -> DetectorFactory:
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)
    return factory


@cache
def _uk_ru_factory() -> DetectorFactory:
    profiles = Path(langdetect.__file__).parent / "profiles"
    factory = DetectorFactory()
    factory.load_json_profile([(profiles / lang).read_text(encoding="utf-8") for lang in ("uk", "ru")])
    factory.set_seed(0)
    return factory


def _sample(text: str, size: int) -> str:
    # The cost grows with length; a beginning, middle and end are enough to decide.
    if len(text) <= size:
        return text
    third = size // 3
    middle = len(text) // 2
    return "\n".join((text[:third], text[middle - third // 2 : middle + third // 2], text[-third:]))
