"""Publication dates and the study-window test.

The date comes from the page's metadata when it has one, else from the text (Ukrainian,
Russian and English month names, or numeric dates), else it is unknown. The window test
answers True, False or None; None (unknown) never passes silently as True.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pipelines.relevance._regex import guarded

__all__ = ["DateFinding", "dateline", "find_dates", "in_window", "mentioned_years", "parse_iso_date", "publication_date"]

_MONTHS = {
    # Ukrainian (genitive and nominative), Russian (genitive and nominative), English
    # (genitive, nominative and locative), English; seasons stand for their middle month.
    **dict.fromkeys(("січня", "січень", "січні", "января", "январь", "январе", "january", "jan"), 1),
    **dict.fromkeys(("лютого", "лютий", "лютому", "февраля", "февраль", "феврале", "february", "feb"), 2),
    **dict.fromkeys(("березня", "березень", "березні", "марта", "март", "марте", "march", "mar"), 3),
    **dict.fromkeys(("квітня", "квітень", "квітні", "апреля", "апрель", "апреле", "april", "apr"), 4),
    **dict.fromkeys(("травня", "травень", "травні", "мая", "май", "мае", "may"), 5),
    **dict.fromkeys(("червня", "червень", "червні", "июня", "июнь", "июне", "june", "jun"), 6),
    **dict.fromkeys(("липня", "липень", "липні", "июля", "июль", "июле", "july", "jul"), 7),
    **dict.fromkeys(("серпня", "серпень", "серпні", "августа", "август", "августе", "august", "aug"), 8),
    **dict.fromkeys(("вересня", "вересень", "вересні", "сентября", "сентябрь", "сентябре", "september", "sep", "sept"), 9),
    **dict.fromkeys(("жовтня", "жовтень", "жовтні", "октября", "октябрь", "октябре", "october", "oct"), 10),
    **dict.fromkeys(("листопада", "листопад", "листопаді", "ноября", "ноябрь", "ноябре", "november", "nov"), 11),
    **dict.fromkeys(("грудня", "грудень", "грудні", "декабря", "декабрь", "декабре", "december", "dec"), 12),
    **dict.fromkeys(("взимку", "зимою", "зимой", "winter"), 1),
    **dict.fromkeys(("навесні", "весною", "весной", "spring"), 4),
    **dict.fromkeys(("влітку", "літом", "летом", "summer"), 7),
    **dict.fromkeys(("восени", "осінню", "осенью", "autumn", "fall"), 10),
}
_MONTH_WORDS = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_DAY_MONTH_YEAR = guarded(rf"\b(\d{{1,2}})(?:-?го)?\s+({_MONTH_WORDS})\.?,?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_DAY_YEAR = guarded(rf"\b({_MONTH_WORDS})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.IGNORECASE)
_MONTH_YEAR = guarded(rf"(?<![\d\w])({_MONTH_WORDS})\s+(?:of\s+)?(\d{{4}})\b", re.IGNORECASE)
_NUMERIC = guarded(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(\d{4})(?![\d.])")
# 11/03/2018: day first unless the first number cannot be a month's day order (13/...)
_SLASH = guarded(r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])")
_ISO = guarded(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_PLAUSIBLE_YEARS = range(1990, 2100)
_YEAR = guarded(r"(?<![\d.,])(19[9]\d|20\d\d)(?![\d.,]\d)")


@dataclass(frozen=True)
class DateFinding:
    date: dt.date
    source: str  # "metadata" | "text"
    evidence: str  # the date as written


def parse_iso_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    match = _ISO.search(value)
    if not match:
        return None
    return _safe_date(int(match[1]), int(match[2]), int(match[3]))


def find_dates(text: str) -> list[tuple[dt.date, str]]:
    """Every full or month-precision date written in `text`, in order, as (date, evidence).

    Every form has a four-digit year, so only the surroundings of years are searched."""
    return [(date, evidence) for _, date, evidence in _dates_at(text)]


# A date after these words is one the story refers to, not the day it was written: "з 24
# лютого 2022 року волонтери...", "since February 24, 2022".
_REFERENCE_WORDS = frozenset("з із зі від після до починаючи з початку с со после по since from after until before till".split())
_LAST_WORD = re.compile(r"([^\W\d_]+)[\s,]*$")


def dateline(text: str) -> tuple[dt.date, str] | None:
    """The first date of the text that is not one it refers to ("з 24 лютого 2022")."""
    for position, date, evidence in _dates_at(text):
        before = _LAST_WORD.search(text[max(0, position - 24) : position])
        if before and before.group(1).lower() in _REFERENCE_WORDS:
            continue
        return date, evidence
    return None


def _dates_at(text: str) -> list[tuple[int, dt.date, str]]:
    found: list[tuple[int, dt.date, str]] = []
    for window_start, window_end in _year_windows(text):
        for position, date, evidence in _dates_in(text[window_start:window_end]):
            found.append((window_start + position, date, evidence))
    seen: set[int] = set()
    unique = []
    for position, date, evidence in sorted(found, key=lambda f: f[0]):
        if position not in seen:
            seen.add(position)
            unique.append((position, date, evidence))
    return unique


_YEAR_ANCHOR = guarded(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_REACH = 40  # the longest "14-го листопада, 2022" form fits in this many characters before the year


def _year_windows(text: str) -> list[tuple[int, int]]:
    windows: list[tuple[int, int]] = []
    for match in _YEAR_ANCHOR.finditer(text):
        start, end = max(0, match.start() - _REACH), match.end() + 2
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _dates_in(text: str) -> list[tuple[int, dt.date, str]]:
    found: list[tuple[int, dt.date, str]] = []
    taken: list[range] = []

    def add(match: re.Match[str], date: dt.date | None) -> None:
        if date is None or any(match.start() in span for span in taken):
            return
        taken.append(range(match.start(), match.end()))
        found.append((match.start(), date, match.group(0)))

    for match in _DAY_MONTH_YEAR.finditer(text):
        add(match, _safe_date(int(match[3]), _MONTHS[match[2].lower()], int(match[1])))
    for match in _MONTH_DAY_YEAR.finditer(text):
        add(match, _safe_date(int(match[3]), _MONTHS[match[1].lower()], int(match[2])))
    for match in _ISO.finditer(text):
        add(match, _safe_date(int(match[1]), int(match[2]), int(match[3])))
    for match in _NUMERIC.finditer(text):
        add(match, _safe_date(int(match[3]), int(match[2]), int(match[1])))
    for match in _SLASH.finditer(text):
        first, second = int(match[1]), int(match[2])
        add(match, _safe_date(int(match[3]), first, second) if second > 12 else _safe_date(int(match[3]), second, first))
    for match in _MONTH_YEAR.finditer(text):
        add(match, _safe_date(int(match[2]), _MONTHS[match[1].lower()], 1))
    return found


def publication_date(metadata_date: str | None, text: str) -> DateFinding | None:
    """The page's date: its metadata, else the first date written in its text, else None."""
    parsed = parse_iso_date(metadata_date)
    if parsed is not None:
        return DateFinding(parsed, "metadata", metadata_date or "")
    dates = find_dates(text[:3000])
    if dates:
        date, evidence = dates[0]
        return DateFinding(date, "text", evidence)
    return None


def in_window(date: dt.date | None, start: dt.date, end: dt.date) -> bool | None:
    if date is None:
        return None
    return start <= date <= end


def mentioned_years(text: str) -> set[int]:
    """Years written in the text ("у 2022-2023 роках", "з 2022 року", "влітку 2023")."""
    return {int(year) for year in _YEAR.findall(text)}


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    if year not in _PLAUSIBLE_YEARS:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
