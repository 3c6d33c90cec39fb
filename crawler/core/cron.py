"""Five-field cron expressions (minute hour day-of-month month day-of-week), in UTC.

Fields take ``*``, numbers, ranges ``a-b``, steps ``*/n`` and ``a-b/n``, lists ``a,b``, and
three-letter month and weekday names. As in Vixie cron, when both the day of the month and
the day of the week are restricted, a day matching either one matches.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["Cron", "parse_cron"]

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, lowest, highest, names for lowest onwards)
_FIELDS = (
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _WEEKDAYS),
)
_SEARCH_DAYS = 366 * 8  # long enough for any expression that can match at all (Feb 29 on a weekday)


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    def day_matches(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first matching minute strictly after `moment`."""
        start = moment.replace(second=0, microsecond=0)
        for offset in range(_SEARCH_DAYS):
            day = start.date() + dt.timedelta(days=offset)
            if not self.day_matches(day):
                continue
            for hour in self.hours:
                for minute in self.minutes:
                    candidate = dt.datetime(day.year, day.month, day.day, hour, minute)
                    if candidate > moment:
                        return candidate
        raise ValueError("the cron expression never matches")


def parse_cron(expression: str) -> Cron:
    """A parsed expression; ValueError naming the bad field otherwise."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"expected 5 cron fields (minute hour day month weekday), got {len(parts)} in {expression!r}")
    values = [_field(text, *spec) for text, spec in zip(parts, _FIELDS)]
    weekdays = frozenset(d % 7 for d in values[4])
    cron = Cron(
        minutes=tuple(sorted(values[0])),
        hours=tuple(sorted(values[1])),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=weekdays,
        any_day=parts[2] == "*",
        any_weekday=parts[4] == "*",
    )
    cron.next_after(dt.datetime(2000, 1, 1))  # rejects expressions such as "0 0 31 2 *"
    return cron


def _field(text: str, name: str, low: int, high: int, names: list[str]) -> set[int]:
    found: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = _number(step_text, name, 1, high) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first_text, _, last_text = span.partition("-")
            first, last = _value(first_text, name, low, high, names), _value(last_text, name, low, high, names)
            if last < first:
                raise ValueError(f"cron {name}: range {span!r} runs backwards")
        else:
            first = _value(span, name, low, high, names)
            last = high if step_text else first
        found.update(range(first, last + 1, step))
    return found


def _value(text: str, name: str, low: int, high: int, names: list[str]) -> int:
    if text.lower() in names:
        return names.index(text.lower()) + low
    return _number(text, name, low, high)


def _number(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit():
        raise ValueError(f"cron {name}: expected a number from {low} to {high} (got {text!r})")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"cron {name}: {value} is outside {low}-{high}")
    return value
