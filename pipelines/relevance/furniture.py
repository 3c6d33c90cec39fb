"""Page furniture: what an outlet prints around every story, which is not the story.

Extraction keeps the main text, but regional sites put their own furniture inside it:
"subscribe to our Telegram channel", share buttons, "read us on Facebook", the outlet's
own donation appeal, a "today is Thursday, 1 May 2025, 06:32" clock, a weather widget, a
war-losses counter, cookie banners, bylines, tag lists, "read also" teasers. Read as the
story, they give the outlet's channels as the initiative's ICT, the outlet's appeal as the
initiative's call, and the clock's date as the publication date.

`strip_furniture(text)` blanks every such span with spaces of the same length (offsets stay
valid for the evidence) and says what it found. Patterns are about the furniture's form
(a subscribe verb near a channel word, a weekday before a date and a clock), not about any
site: the excerpts of real pages are often one line, so no pattern relies on line breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.relevance._regex import Anchored, guarded, searchable

__all__ = ["Furniture", "strip_furniture"]

_CHANNELS = r"(?:telegram|телеграм\w*|youtube|ютуб\w*|viber|вайбер\w*|facebook|фейсбук\w*|instagram|інстаграм\w*|инстаграм\w*|tiktok|тікток\w*|тикток\w*|twitter|твіттер\w*|x\.com|соцмереж\w*|соцсет\w*|соціальн\w* мереж\w*|социальн\w* сет\w*|канал\w*|сторінк\w*|страниц\w*|page|channel|google news|whatsapp)"
_WEEKDAYS = (
    r"(?:понеділок|вівторок|середа|четвер|п'ятниця|п’ятниця|субота|неділя|пн|вт|ср|чт|пт|сб|нд|"
    r"понедельник|вторник|среда|четверг|пятница|суббота|воскресенье|вс|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun)"
)
_SHORT_WEEKDAYS = r"(?:пн|вт|ср|чт|пт|сб|нд|вс|mon|tue|wed|thu|fri|sat|sun)"
_MONTHS = (
    r"(?:січ\w*|лют\w*|берез\w*|квіт\w*|трав\w*|черв\w*|лип\w*|серп\w*|верес\w*|жовт\w*|листопад\w*|груд\w*|"
    r"янв\w*|фев\w*|мар\w*|апр\w*|ма[йя]|июн\w*|июл\w*|авг\w*|сент\w*|окт\w*|ноя\w*|дек\w*|"
    r"jan\w*|feb\w*|mar\w*|apr\w*|may|jun\w*|jul\w*|aug\w*|sep\w*|oct\w*|nov\w*|dec\w*)"
)

# Each pattern runs only where one of its anchors (a lower-cased substring, or a regex) is in
# the text: most pages have little furniture, and the patterns are costly to try everywhere.
_SECONDS = re.compile(r"\d:\d\d:\d\d")
_HOURS = re.compile(r"\d:\d\d")
_PATTERNS: tuple[tuple[str, tuple[str, ...] | re.Pattern[str], Anchored], ...] = tuple(
    (kind, anchors, Anchored(pattern, re.IGNORECASE))
    for kind, anchors, pattern in (
        # "Підписуйтеся на наш Youtube-канал!", "Подписывайтесь на наш Телеграм-канал".
        ("subscribe", ("підпис", "подпис", "subscribe", "follow us"), rf"\b(?:підписуйтес[ья]|підпишіться|підписатися|подписывайтесь|подпишитесь|подписаться|subscribe|follow us)\b[^.!?\n]{{0,80}}?{_CHANNELS}[^.!?\n]{{0,60}}[.!?]?"),
        # "Читайте новини МОСТ-Дніпро у соціальній мережі Facebook", "Читайте нас у Telegram".
        ("read_us", ("читай", "слідкуй", "стежте", "следите", "дивіться", "смотрите"), rf"\b(?:читайте|читай|слідкуйте|стежте|следите|дивіться|смотрите)\s+(?:нас|наші|наш|новини|новости|нас також|нас также|більше)\b[^.!?\n]{{0,60}}?{_CHANNELS}[^.!?\n]{{0,40}}[.!?]?"),
        # "Читайте також" and a list of other stories' headlines.
        ("read_also", ("читайте", "читати", "читать", "read "), r"\b(?:читайте|читати|читать|read)\s+(?:також|также|ще|еще|more|also)\b\s*:?\s*\n(?:\s*[-•–*·][^\n]*(?:\n|$))+"),
        # An aggregator's attribution: "Джерело: ...", "Читати повністю на сайті ... →".
        ("attribution", ("джерело", "источник", "source", "повністю", "полностью", "full story"), r"\b(?:джерело|источник|source)\s*:\s*(?:(?:https?://)?[\w.-]+\.[a-z]{2,}\S*|[^\n.!?]{0,80}(?=\n|\Z))|\b(?:читати повністю|читать полностью|read the full story)\b[^\n]{0,120}?(?:→|»)"),
        # "ЧИТАЙТЕ ТАКЖЕ НОВОСТИ ДНЕПРА: <a teaser's headline>."
        ("read_also", ("читайте", "читати", "читать", "read "), r"\b(?:читайте|читати|читать)\s+(?:також|также|ще|еще|більше|далі)\b[^:\n]{0,60}:\s*[^.!?\n]{0,160}[.!?]?"),
        # The outlet's own donation appeal.
        ("outlet_appeal", ("підтримайте", "поддержите", "support", "станьте", "стань "), r"\b(?:підтримайте|поддержите|support)\s+(?:нас|наше видання|редакцію|редакцию|наш медіа\w*|незалежн\w* журналістик\w*|независим\w* журналистик\w*|журналістик\w*|our journalism|independent journalism|our newsroom|us)\b[^.!?\n]{0,120}[.!?]?"),
        ("outlet_appeal", ("підтримайте", "поддержите", "support", "станьте", "стань "), r"\b(?:станьте|стань)\s+(?:нашим|моїм)?\s*(?:патроном|patron\w*|донором редакц\w*)[^.!?\n]{0,80}"),
        # A clock, not a dateline: a time with seconds, a two-letter weekday, or "today":
        # "Неділя, 1 Березня, 2026, 08:55:49", "Чт, 01 травня 2025 06:32", "Сьогодні 3 травня".
        ("clock", _SECONDS, rf"\b{_WEEKDAYS}\.?,?\s+\d{{1,2}}\s+{_MONTHS}\.?,?\s+\d{{4}}\s*(?:р\.|г\.)?,?\s+\d{{1,2}}:\d{{2}}:\d{{2}}"),
        ("clock", _HOURS, rf"\b{_SHORT_WEEKDAYS}\.?,?\s+\d{{1,2}}\s+{_MONTHS}\.?,?\s+\d{{4}}\s*(?:р\.|г\.)?,?\s+\d{{1,2}}:\d{{2}}"),
        ("clock", ("сьогодні", "сегодня", "today"), rf"\b(?:сьогодні|сегодня|today(?: is)?)\s*:?\s*(?:{_WEEKDAYS}\.?,?\s+)?\d{{1,2}}\s+{_MONTHS}\.?,?(?:\s+\d{{4}})?"),
        ("clock", ("вологість", "влажность", "humidity"), r"(?:вологість|влажность|humidity):\s*(?:тиск|давление|pressure):\s*(?:вітер|ветер|wind):"),
        ("clock", ("°", "˚"), r"weather-icon\s*[+\-−]?\d*\s*[˚°]\s*[CС]?|[+\-−]\d{1,2}\s*[˚°]\s*[CС]\b(?:,?\s*(?:ясно|хмарно|похмуро|дощ|сніг|облачно|пасмурно|дождь|снег|sunny|cloudy|clear|rain)\b)?"),
        # A war-losses counter: "Втрати російських окупантів 1 243 070 ОСОБОВИЙ СКЛАД 11 637 ТАНКИ ...".
        ("war_counter", ("втрати", "потери", "losses"), r"\b(?:втрати|потери|losses)\s+(?:російських\s+|российских\s+|russian\s+)?(?:окупантів|оккупантов|ворога|врага|противника|рф|invaders|occupiers)\b(?:[\s\d]+(?-i:[А-ЯІЇЄҐA-Z]{2,}(?:[ -][А-ЯІЇЄҐA-Z]{2,})*))+"),
        # Share buttons and tracking remnants.
        ("share", ("facebook", "twitter", "google+", "linkedin", "pinterest"), r"(?:\b(?:facebook|twitter|google\+|linkedin|pinterest)(?:\b|(?<=\+))[\s|]*){2,}"),
        ("share", ("поділитися", "поделиться", "share this", "fbpx"), r"\b(?:поділитися|поделиться|share this|fbpx)\b"),
        # Bylines, credits and tag lists.
        ("credits", ("журналіст", "журналист", "оператор", "монтаж", "фото", "відео", "видео", "автор", "редактор", "photo", "author"), r"\b(?:журналіст(?:ка)?|журналист(?:ка)?|оператор|монтаж|фото|відео|видео|автор|редактор(?:ка)?|photo|author)\s*:\s*(?:[A-ZА-ЯІЇЄҐ«\"'][\w'’.«»\"-]+\s*){1,2}"),
        ("tags", ("теги", "тэги", "мітки", "метки", "tags"), r"\b(?:теги|тэги|мітки|метки|tags)\s*:\s*[^\n]{0,200}"),
        # A media player and broadcasting chrome.
        ("player", ("ефір", "эфир", "трансляц", "передач", "аудіоновини", "звук", "--:--", "1x", "містить відео", "содержит видео"), r"\b(?:зараз в ефірі|сейчас в эфире|прямий ефір|прямой эфир|онлайн[ -]трансляція|програма передач|аудіоновини|ввімкнути звук)\b:?|--:--|\b1x\b|\bця стаття містить відео\b|\bэта статья содержит видео\b"),
        # Site navigation: markdown images, pipes, "report news", "news archive".
        ("navigation", ("![", "<image>", "|", "новину", "новость", "архів", "архив", "фоторепортаж", "новини компаній"), r"!\[[^\]]*\]\([^)]*\)|<image>.*?</image>|(?:\s*\|\s*){2,}|\b(?:повідомити новину|сообщить новость|архів новин|архив новостей|фоторепортажі та галереї|новини компаній)\b!?"),
    )
)


# The patterns by their anchors, so that patterns with the same anchors look for them once
# (the spans are sorted before they are merged: the order they are found in does not matter).
_BY_ANCHORS: tuple[tuple[tuple[str, ...] | re.Pattern[str], tuple[tuple[str, Anchored], ...]], ...] = tuple(
    (anchors, tuple((kind, pattern) for kind, same, pattern in _PATTERNS if same == anchors))
    for anchors in dict.fromkeys(anchors for _, anchors, _ in _PATTERNS)
)


@dataclass(frozen=True)
class Furniture:
    text: str  # the text with every furniture span blanked (same length, same offsets)
    kinds: tuple[str, ...]  # what was found, one entry per span
    chars: int  # characters blanked


# Cookie and consent banners: the sentence around the word.
_COOKIE = guarded(r"\b(?:файл\w* cookie|cookie\w*|куки)\b", re.IGNORECASE)
_SENTENCE_EDGE = re.compile(r"[.!?\n]")


def strip_furniture(text: str) -> Furniture:
    spans: list[tuple[int, int, str]] = []
    low = text.lower()
    searched = searchable(text, low)
    for anchors, patterns in _BY_ANCHORS:
        if isinstance(anchors, re.Pattern):
            if not anchors.search(text):
                continue
        elif not any(map(low.__contains__, anchors)):  # no generator frame per anchor
            continue
        for kind, pattern in patterns:
            for match in pattern.finditer(text, searched):
                if match.end() > match.start():
                    spans.append((match.start(), match.end(), kind))
    if "cookie" in low or "куки" in low:
        for match in _COOKIE.finditer(text):
            edges = [m.end() for m in _SENTENCE_EDGE.finditer(text, max(0, match.start() - 200), match.start())]
            start = edges[-1] if edges else max(0, match.start() - 200)
            after = _SENTENCE_EDGE.search(text, match.end(), match.end() + 120)
            spans.append((start, after.end() if after else min(len(text), match.end() + 120), "cookie"))
    if not spans:
        return Furniture(text, (), 0)
    spans.sort()
    merged: list[list[int]] = []
    kinds: list[str] = []
    for start, end, kind in spans:
        kinds.append(kind)
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts = []
    last = 0
    blanked = 0
    for start, end in merged:
        parts.append(text[last:start])
        # A line break where a span held one keeps sentences apart.
        parts.append("".join("\n" if ch == "\n" else " " for ch in text[start:end]))
        blanked += end - start
        last = end
    parts.append(text[last:])
    return Furniture("".join(parts), tuple(kinds), blanked)
