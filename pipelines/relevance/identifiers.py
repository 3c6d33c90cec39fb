"""Identifiers in a text: the evidence of ICT use and the keys that tie pages to one initiative.

`find_identifiers(text, links)` returns every identifier found in a page's main text and in
the hrefs of its main content, as `Identifier(kind, value, start, end)`, deduplicated by
``(kind, value)`` in order of first appearance (text first, then links). Values are
normalised so that the same channel, page, jar or phone written differently on two pages
gives the same value:

=============  ==========================================  ==================================
kind           found as                                    value
=============  ==========================================  ==================================
telegram       ``t.me/name``, ``telegram.me/name``,        ``t.me/name`` (lowercased)
               ``t.me/s/name``, ``t.me/name/123``, ``@name``
telegram_bot   the same, when the name ends in ``bot``     ``t.me/namebot``
telegram_chat  ``t.me/+HASH``, ``t.me/joinchat/HASH``      ``t.me/+HASH`` (case kept)
instagram      ``instagram.com/handle``, ``instagr.am/``,  ``instagram.com/handle``
               ``@handle`` right after the word Instagram
facebook       ``facebook.com/page`` (any subdomain),      ``facebook.com/page``,
               ``fb.com/page``, ``/groups/ID``,            ``facebook.com/groups/id``,
               ``profile.php?id=N``, ``/people/Name/N``    ``facebook.com/profile.php?id=N``
jar            ``send.monobank.ua/jar/ID``                 ``send.monobank.ua/jar/ID`` (case kept)
card           13-19 digits, contiguous or in groups,      ``4149 **** **** 5673``: masked,
               whatever the checksum; or a masked card     never the whole number
phone          Ukrainian numbers: ``+380 67 123 45 67``,   ``+380671234567`` (E.164)
               ``(067) 123-45-67``, ``0671234567``, ...
email          ``name@host.ua``, ``mailto:``               lowercased address
website        any other http(s):// or www. URL            host without ``www.``; a Google
                                                           Form keeps its path (below)
edrpou         8 digits within 15 characters after         the 8 digits
               ЄДРПОУ / ЕДРПОУ / ЕГРПОУ / EDRPOU / код
=============  ==========================================  ==================================

Decisions on the edge cases:

* Digits are read as runs of groups separated by one space, no-break space or hyphen
  (``4149 4999 1234 5673``, ``067-123-45-67``). A card is a window of whole groups of such
  a run laid out as a card is printed (one group of 13-19 digits, 4-4-4-4 with an optional
  1-3 digit tail, or the 4-6-5 / 4-6-4 of Amex and Diners) that does not start with 0. The
  Luhn checksum is not asked for: a number mistyped by one digit is still someone's card
  (issue 14), and masking a number that only looks like one costs nothing. A phone is a window of whole groups holding 10 digits that start
  with 0 and a Ukrainian code digit (3-9), 12 that start with 380, or 11 that start with 80
  (the old ``8 0XX`` long-distance prefix). So dates (``14.05.2022``), prices
  (``1 500 грн``), years, short hotlines (``1545``, ``15-80``) and EDRPOU codes are never
  phones, and a longer contiguous run never yields a card or a phone.
* A run glued to a Latin letter or underscore (an IBAN ``UA21 3223 ...``, a token
  ``id4149...``) holds neither cards nor phones. A run that starts with ``+`` is read from
  its start only, so a foreign number cannot yield a Ukrainian one from its tail.
* Nothing inside a URL or an email address is read again as a phone, card, EDRPOU code or
  mention. Digits inside a URL are not masked either: a 16-digit Facebook group id stays
  whole (a card number in a URL is not provided for).
* ``@name`` is a Telegram name unless the nearest platform word before it on the same line
  (at most 40 characters back) names Instagram (``Instagram: @name`` → instagram) or another
  network that uses @handles (TikTok, YouTube, Twitter, Threads → nothing). ``@name`` inside
  an email address is never a mention.
* Telegram names are 5-32 characters of ``[A-Za-z0-9_]`` starting with a letter, in links
  and mentions alike; reserved paths (``t.me/share``, ``/iv``, ``/addstickers``, ...) and
  private post links (``t.me/c/...``) give nothing. ``t.me/+380...`` (a chat by phone number)
  gives a phone.
* Google Forms are websites whose value keeps the form id, so two forms differ:
  ``forms.gle/AbC123`` and ``docs.google.com/forms/d/e/<id>`` (``/viewform`` and the query
  dropped). ``wa.me/380...`` and ``viber://chat?number=...`` give phones. Other monobank
  pages give nothing: the short ``send.monobank.ua/<id>`` form is not read, as it is not
  known to be in use.
* A website is only read from a URL with ``http(s)://`` or ``www.``; a bare domain in prose
  (``dopomoha.org.ua``) is not taken, as sentences and file names look the same.
* Two cards with the same first and last four digits and length share one masked value.

`mask_cards(text)` replaces every card number (as found above) with its masked form and
leaves everything else alone; the crawler applies it to every text before storing it.
`find_identifiers` reads masked cards (``4149 **** **** 5673``) back as cards, so the
relevance stage, which sees only masked texts, finds the same cards.

Offsets are Python string indices into `text`; identifiers from `links` have -1, -1.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from pipelines.relevance._regex import guarded

__all__ = ["IDENTIFIER_KINDS", "Identifier", "find_identifiers", "mask_card_number", "mask_cards"]

IDENTIFIER_KINDS = (
    "telegram",
    "telegram_bot",
    "telegram_chat",
    "instagram",
    "facebook",
    "jar",
    "card",
    "phone",
    "email",
    "website",
    "edrpou",
)


@dataclass(frozen=True, slots=True)
class Identifier:
    """One identifier: `kind` is one of `IDENTIFIER_KINDS`, `value` its normalised form (a
    card is always masked), `start`/`end` its offsets in the text (-1, -1 from a link)."""

    kind: str
    value: str
    start: int
    end: int


# --- digits: cards and phones -------------------------------------------------------------

_SEP = " \u00a0\u202f-"  # one space, no-break space, narrow no-break space or hyphen
_DIGITS = re.compile(r"[0-9]+")
# At least ten characters that could make a phone or a card: a cheap first pass, so that the
# exact patterns below only run on the few stretches of a page that hold long numbers.
_NUMBERISH = re.compile(rf"[0-9+(][0-9()+{_SEP}]{{9,}}")
# Groups of digits joined by single separators: where cards are looked for.
_CARD_RUN = re.compile(rf"[0-9]+(?:[{_SEP}][0-9]+)*")
# The same, with an optional leading "+" and groups in brackets: where phones are looked for.
_PHONE_RUN = guarded(rf"\+?(?:\([0-9]+\)|[0-9]+)(?:[{_SEP}]?(?:\([0-9]+\)|[0-9]+))*")
_GLUED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
# Group layouts of a printed card, longest first (a contiguous 13-19 digit group is separate).
_CARD_LAYOUTS = ((4, 4, 4, 4, 3), (4, 4, 4, 4, 2), (4, 4, 4, 4, 1), (4, 4, 4, 4), (4, 6, 5), (4, 6, 4))
# A card as `mask_card_number` writes it, read back by `find_identifiers`.
_MASKED_CARD = guarded(r"(?<![0-9*])[0-9]{4} \*{4}(?: \*{1,4}){0,2} [0-9]{4}(?![0-9*])")
_UA_CODE_DIGITS = frozenset("3456789")  # first digit after the trunk 0 of a Ukrainian number

# Matched in the lowercased text; "код" must start a word (checked in code).
_EDRPOU = re.compile(r"(?:єдрпоу|едрпоу|егрпоу|edrpou|код)[^0-9]{0,15}?(?<![0-9])([0-9]{8})(?![0-9])")

# --- URLs, emails, mentions ----------------------------------------------------------------

_URL_CHARS = r"[\w\-.~:/?#@!$&()*+,;=%]"
# Matched in the lowercased text: a URL with a scheme or www., or a bare link to one of the
# hosts that have their own kind. What may stand before it is checked in code (`_urls`).
_URL = re.compile(
    r"(?:https?://|www\.|t\.me/|telegram\.(?:me|dog)/|instagram\.com/|instagr\.am/|facebook\.com/"
    rf"|fb\.(?:com|me)/|send\.monobank\.ua/|forms\.gle/|docs\.google\.com/forms/|wa\.me/){_URL_CHARS}*"
)
_URL_TRAILING = ".,;:!?*"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_EMAIL_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
_EMAIL_AFTER_AT = re.compile(rf"{_EMAIL_DOMAIN}(?![\w-])")
_EMAIL_FULL = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._%+-]{{0,63}}@{_EMAIL_DOMAIN}")
_MENTION_AFTER_AT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]{0,63}(?![\w@-])")
_NOT_BEFORE_MENTION = frozenset("@./+-_")
# Matched in the lowercased line before a mention.
_PLATFORM_WORD = guarded(
    r"instagram|інстаграм|инстаграм|insta|інста|инста|\big\b"
    r"|telegram|телеграм|\btg\b|\bтг\b"
    r"|tiktok|тікток|тикток|youtube|ютуб|twitter|твіттер|твиттер|threads"
)
_MENTION_CONTEXT = 40

_TG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}(?![A-Za-z0-9_])")
_TG_INVITE = re.compile(r"[A-Za-z0-9_-]{5,64}")
_TG_RESERVED = frozenset(
    "share iv addstickers addemoji addtheme addlist setlanguage proxy socks login confirmphone "
    "joinchat contact boost giftcode invoice premium".split()
)
_TG_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})
_IG_HANDLE = re.compile(r"[a-z0-9._]{1,30}")
_IG_RESERVED = frozenset(
    "p reel reels tv explore accounts direct about legal developer web challenge privacy emails "
    "session ar s share stories highlights".split()
)
_FB_NAME = re.compile(r"[a-z0-9][a-z0-9.\-]{1,79}")
_FB_RESERVED = frozenset(
    "sharer share dialog tr plugins login logout photo photos watch events hashtag help policies "
    "privacy ads business marketplace gaming search friends notifications messages settings media "
    "reel reels stories legal recover checkpoint fundraisers donate public directory bookmarks "
    "saved home live".split()
)
_JAR_ID = re.compile(r"[A-Za-z0-9]{6,32}")
_HOST = re.compile(r"(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]+)")

Span = tuple[int, int]


def mask_card_number(digits: str) -> str:
    """The masked form of a card number: first and last four digits, stars between in groups
    of four (``"4149499912345673"`` → ``"4149 **** **** 5673"``). Separators are ignored."""
    digits = "".join(c for c in digits if "0" <= c <= "9")
    if not 13 <= len(digits) <= 19:
        raise ValueError(f"a card number has 13-19 digits, got {len(digits)}")
    middle = len(digits) - 8
    stars = " ".join("*" * min(4, middle - i) for i in range(0, middle, 4))
    return f"{digits[:4]} {stars} {digits[-4:]}"


def mask_cards(text: str) -> str:
    """`text` with every payment card number replaced by its masked form.

    Idempotent: masking repeats until nothing changes, so a masked text is left as it is even
    when the visible last four digits of one card begin another card-like run."""
    while True:
        cards = _cards(text, _number_spans(text))
        if cards:
            urls = [(start, end) for start, end, _ in _urls(text, _lower(text))]
            cards = [c for c in cards if not _overlaps(c[0], c[1], urls)]
        if not cards:
            return text
        parts, last = [], 0
        for start, end, digits in cards:
            parts += (text[last:start], mask_card_number(digits))
            last = end
        parts.append(text[last:])
        text = "".join(parts)


def find_identifiers(text: str, links: Iterable[str] = ()) -> list[Identifier]:
    """All identifiers in `text` and in `links` (hrefs of the page's main content),
    deduplicated by (kind, value), in order of first appearance (text first, then links)."""
    found: list[tuple[int, int, str, str]] = []
    blocked: list[Span] = []  # spans already read (URLs, emails, cards, codes): not read again
    low = _lower(text)

    for start, end, raw in _urls(text, low):
        blocked.append((start, end))
        if (kv := _classify_url(raw)) is not None:
            found.append((start, end, *kv))
    for start, end, kind, value in _at_signs(text, low):
        if not _overlaps(start, end, blocked):
            if kind == "email":
                blocked.append((start, end))
            found.append((start, end, kind, value))
    if "* " in text:
        for m in _MASKED_CARD.finditer(text):
            blocked.append(m.span())
            found.append((m.start(), m.end(), "card", m.group()))
    numbers = _number_spans(text)
    for start, end, digits in _cards(text, numbers):
        if not _overlaps(start, end, blocked):
            blocked.append((start, end))
            found.append((start, end, "card", mask_card_number(digits)))
    for m in _EDRPOU.finditer(low):
        word_start = m.start() == 0 or not low[m.start() - 1].isalnum()
        if (low[m.start()] != "к" or word_start) and not _overlaps(m.start(1), m.end(1), blocked):
            blocked.append(m.span(1))
            found.append((m.start(1), m.end(1), "edrpou", m.group(1)))
    for start, end, value in _phones(text, numbers):
        if not _overlaps(start, end, blocked):
            found.append((start, end, "phone", value))

    found.sort(key=lambda f: f[0])
    result: list[Identifier] = []
    seen: set[tuple[str, str]] = set()
    for start, end, kind, value in found:
        if (kind, value) not in seen:
            seen.add((kind, value))
            result.append(Identifier(kind, value, start, end))
    for href in links:
        kv = _classify_link(href)
        if kv is not None and kv not in seen:
            seen.add(kv)
            result.append(Identifier(kv[0], kv[1], -1, -1))
    return result


def _lower(text: str) -> str:
    """`text` lowercased, one character for one, so that offsets stay valid."""
    low = text.lower()
    if len(low) != len(text):  # a few characters (İ) lowercase to two
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low


def _overlaps(start: int, end: int, spans: list[Span]) -> bool:
    return any(start < e and s < end for s, e in spans)


# --- digits --------------------------------------------------------------------------------


def _number_spans(text: str) -> list[Span]:
    return [m.span() for m in _NUMBERISH.finditer(text)]


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] != "0"


def _glued(text: str, start: int, end: int) -> bool:
    """True when a digit run touches a Latin letter or underscore (an IBAN, an id, a hash)."""
    return (start > 0 and text[start - 1] in _GLUED) or (end < len(text) and text[end] in _GLUED)


def _cards(text: str, numbers: list[Span]) -> list[tuple[int, int, str]]:
    """(start, end, digits) of the card numbers in the `numbers` stretches of `text`."""
    cards = []
    for ns, ne in numbers:
        for run in _CARD_RUN.finditer(text, ns, ne):
            rs, re_ = run.span()
            if re_ - rs < 13 or _glued(text, rs, re_):
                continue
            groups = [g.span() for g in _DIGITS.finditer(text, rs, re_)]
            sizes = [e - s for s, e in groups]
            i = 0
            while i < len(groups):
                hit = 0
                if 13 <= sizes[i] <= 19:
                    hit = 1 if _is_card(text[groups[i][0] : groups[i][1]]) else 0
                elif sizes[i] == 4:
                    for layout in _CARD_LAYOUTS:
                        k = len(layout)
                        if tuple(sizes[i : i + k]) == layout and _is_card(_join(text, groups[i : i + k])):
                            hit = k
                            break
                if hit:
                    cards.append((groups[i][0], groups[i + hit - 1][1], _join(text, groups[i : i + hit])))
                    i += hit
                else:
                    i += 1
    return cards


def _join(text: str, groups: list[Span]) -> str:
    return "".join(text[s:e] for s, e in groups)


def _phone_value(digits: str) -> str | None:
    """E.164 form of a Ukrainian number given as digits only, or None."""
    n = len(digits)
    if n == 10 and digits[0] == "0" and digits[1] in _UA_CODE_DIGITS:
        return "+38" + digits
    if n == 12 and digits.startswith("380") and digits[3] in _UA_CODE_DIGITS:
        return "+" + digits
    if n == 11 and digits.startswith("80") and digits[2] in _UA_CODE_DIGITS:
        return "+3" + digits
    return None


def _phones(text: str, numbers: list[Span]) -> Iterator[tuple[int, int, str]]:
    """(start, end, E.164 value) of the Ukrainian phones in the `numbers` stretches of `text`."""
    for ns, ne in numbers:
        for run in _PHONE_RUN.finditer(text, ns, ne):
            rs, re_ = run.span()
            if re_ - rs < 10 or _glued(text, rs, re_):
                continue
            groups = [g.span() for g in _DIGITS.finditer(text, rs, re_)]
            last_first = 0 if text[rs] == "+" else len(groups) - 1  # "+": read from the start only
            i = 0
            while i <= last_first:
                digits, hit = "", None
                for j in range(i, len(groups)):
                    digits += text[groups[j][0] : groups[j][1]]
                    if len(digits) > 12:
                        break
                    if (value := _phone_value(digits)) is not None:
                        hit = (j, value)
                        break
                if hit is None:
                    i += 1
                    continue
                j, value = hit
                start = rs if i == 0 else groups[i][0] - (text[groups[i][0] - 1] == "(")
                end = groups[j][1] + (groups[j][1] < re_ and text[groups[j][1]] == ")")
                yield start, end, value
                i = j + 1


# --- URLs, emails, mentions ----------------------------------------------------------------


def _urls(text: str, low: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, url) of the URLs in `text` (found in its lowercased copy `low`), without
    trailing punctuation."""
    for m in _URL.finditer(low):
        start = m.start()
        scheme = low.startswith("http", start)
        if not scheme and start and low[start - 1] == ".":  # a subdomain: m.facebook.com/...
            while start and low[start - 1] in _HOST_CHARS:
                start -= 1
        prev = low[start - 1] if start else " "
        if prev.isalnum() or prev == "_" or (not scheme and prev in "@/.-"):
            continue
        url = text[start : m.end()]
        while url and (url[-1] in _URL_TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
        yield start, start + len(url), url


def _at_signs(text: str, low: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, kind, value) of the email addresses and @mentions in `text`."""
    at = text.find("@")
    while at != -1:
        local = at
        while local > 0 and at - local < 64 and text[local - 1] in _EMAIL_LOCAL:
            local -= 1
        while local < at and not text[local].isalnum():  # an address starts with a letter or digit
            local += 1
        if local < at:
            domain = _EMAIL_AFTER_AT.match(text, at + 1)
            if domain is not None and (local == 0 or not text[local - 1].isalnum()):
                yield local, domain.end(), "email", text[local : domain.end()].lower()
        elif at == 0 or not (text[at - 1].isalnum() or text[at - 1] in _NOT_BEFORE_MENTION):
            name = _MENTION_AFTER_AT.match(text, at + 1)
            if name is not None and (kv := _classify_mention(low, at, name.group().rstrip("."))):
                yield at, name.end(), *kv
        at = text.find("@", at + 1)


def _classify_mention(low: str, at: int, name: str) -> tuple[str, str] | None:
    line_start = low.rfind("\n", 0, at) + 1
    words = _PLATFORM_WORD.findall(low, max(line_start, at - _MENTION_CONTEXT), at)
    platform = words[-1] if words else "telegram"
    if platform.startswith(("inst", "інст", "инст", "ig")):
        handle = name.lower()
        return ("instagram", f"instagram.com/{handle}") if _IG_HANDLE.fullmatch(handle) else None
    if platform.startswith(("tele", "теле", "tg", "тг")) and _TG_NAME.fullmatch(name):
        return _telegram_name(name)
    return None


# --- URLs and links ------------------------------------------------------------------------


def _classify_url(raw: str) -> tuple[str, str] | None:
    """(kind, value) of a URL, with or without a scheme, or None when it names nothing."""
    url = raw if "://" in raw[:12] else "http://" + raw.lstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".").removeprefix("www.")
    segs = [s for s in parts.path.split("/") if s]
    if host in _TG_HOSTS:
        return _telegram(segs)
    if host in ("instagram.com", "instagr.am") or host.endswith(".instagram.com"):
        return _instagram(segs)
    if host in ("facebook.com", "fb.com", "fb.me") or host.endswith(".facebook.com"):
        return _facebook(segs, parts.query)
    if host == "monobank.ua" or host.endswith(".monobank.ua"):
        if host == "send.monobank.ua" and len(segs) > 1 and segs[0] == "jar" and _JAR_ID.fullmatch(segs[1]):
            return "jar", f"send.monobank.ua/jar/{segs[1]}"
        return None
    if host == "forms.gle":
        return ("website", f"forms.gle/{segs[0]}") if segs else None
    if host == "docs.google.com" and segs[:1] == ["forms"]:
        return "website", _google_form(segs)
    if host == "wa.me":
        return _phone_kv(segs[0] if segs else "")
    if host == "api.whatsapp.com":
        return _phone_kv(parse_qs(parts.query).get("phone", [""])[0])
    if not _HOST.fullmatch(host):
        return None
    return "website", host


def _telegram(segs: list[str]) -> tuple[str, str] | None:
    if not segs:
        return None
    first = segs[0]
    if first.startswith("+"):
        invite = first[1:]
        if invite.isdigit():
            return _phone_kv(invite)  # t.me/+380...: a chat opened by phone number
        return ("telegram_chat", f"t.me/+{invite}") if _TG_INVITE.fullmatch(invite) else None
    if first.lower() == "joinchat":
        ok = len(segs) > 1 and _TG_INVITE.fullmatch(segs[1])
        return ("telegram_chat", f"t.me/+{segs[1]}") if ok else None
    if first.lower() == "s" and len(segs) > 1:
        first = segs[1]
    m = _TG_NAME.match(first)
    if m is None or m.group().lower() in _TG_RESERVED:
        return None
    return _telegram_name(m.group())


def _telegram_name(name: str) -> tuple[str, str]:
    name = name.lower()
    return ("telegram_bot" if name.endswith("bot") else "telegram"), f"t.me/{name}"


def _instagram(segs: list[str]) -> tuple[str, str] | None:
    if not segs:
        return None
    first = segs[0].lower()
    if first == "stories" and len(segs) > 1:
        first = segs[1].lower()
    handle = first.rstrip(".")
    if handle in _IG_RESERVED or not _IG_HANDLE.fullmatch(handle):
        return None
    return "instagram", f"instagram.com/{handle}"


def _facebook(segs: list[str], query: str) -> tuple[str, str] | None:
    if not segs:
        return None
    first = segs[0].lower()
    numeric = None
    if first == "profile.php":
        numeric = parse_qs(query).get("id", [""])[0]
    elif first in ("pages", "people") and len(segs) > 2:
        numeric = segs[2]
    elif first.isdigit():
        numeric = first
    if numeric is not None:
        return ("facebook", f"facebook.com/profile.php?id={numeric}") if numeric.isdigit() else None
    if first == "groups":
        return ("facebook", f"facebook.com/groups/{segs[1].lower()}") if len(segs) > 1 else None
    if first == "pg" and len(segs) > 1:
        first = segs[1].lower()
    if first.endswith(".php") or first in _FB_RESERVED or not _FB_NAME.fullmatch(first):
        return None
    return "facebook", f"facebook.com/{first}"


def _google_form(segs: list[str]) -> str:
    """docs.google.com/forms/d/e/<id> or /forms/d/<id>, whatever follows the id dropped."""
    if "d" in segs:
        k = segs.index("d")
        if segs[k + 1 : k + 2] == ["e"] and len(segs) > k + 2:
            return f"docs.google.com/forms/d/e/{segs[k + 2]}"
        if len(segs) > k + 1:
            return f"docs.google.com/forms/d/{segs[k + 1]}"
    return "docs.google.com/" + "/".join(segs)


def _phone_kv(number: str) -> tuple[str, str] | None:
    value = _phone_value("".join(c for c in number if c.isdigit()))
    return ("phone", value) if value else None


def _classify_link(href: str) -> tuple[str, str] | None:
    """(kind, value) of an href: mailto:, tel:, viber:, tg: or an absolute URL."""
    href = href.strip()
    scheme, _, rest = href.partition(":")
    scheme = scheme.lower()
    if scheme == "mailto":
        address = unquote(rest.split("?", 1)[0]).split(",")[0].strip()
        return ("email", address.lower()) if _EMAIL_FULL.fullmatch(address) else None
    if scheme == "tel":
        return _phone_kv(unquote(rest))
    if scheme == "viber":
        return _phone_kv(parse_qs(urlsplit(href).query).get("number", [""])[0])
    if scheme == "tg":
        domain = parse_qs(urlsplit(href).query).get("domain", [""])[0]
        return _telegram_name(domain) if _TG_NAME.fullmatch(domain) else None
    if scheme in ("http", "https") or href.startswith("//") or href[:4].lower() == "www.":
        return _classify_url(href)
    return None
