"""Listing, tag, category and home pages: not candidates of their own (their articles are).

A listing is told by its address (a home or language root, a tag, category, rubric, topic,
archive, author or search path, a page number, a section's front page such as "/novyny/" or
"/blog/") or, when the HTML is at hand, by its headline links: a page whose main column holds
four or more links that read as headlines is a list of teasers. Another one-word address is a
listing only when its text looks like one (dated teasers and "read more" links): "/poll" is an
article.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

__all__ = ["LISTING_HEADLINES", "linked_headlines", "page_type"]

LISTING_HEADLINES = 4
_LISTING_SEGMENTS = frozenset(
    "tag tags teg tegi theme-tags category categories rubric rubrics rubryka rubrika rubriki rubrika topic topics "
    "tema temy section sections archive archives arhiv arkhiv author authors avtor search poshuk label labels "
    "tagged".split()
)
_LANGUAGE_ROOTS = frozenset("uk ua ru en ukr rus eng".split())
_PAGE_NUMBER = re.compile(r"/(?:page|storinka|stranica)/\d+/?$")
_DATED_TEASER = re.compile(r"\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|\b\d{1,2}\s+[А-Яа-яІіЇїЄєA-Za-z]{3,10}\s+\d{4}\b")
_READ_MORE = re.compile(r"\b(?:детальніше|читати далі|читати більше|подробнее|читать далее|read more|more»|далі»)", re.IGNORECASE)
# A teaser's headline: a link whose text reads as a headline (four words or more).
_HEADLINE_LINK = re.compile(r"<a\s[^>]*href[^>]*>\s*([^<]{20,300}?)\s*</a>", re.IGNORECASE)
_MAIN = re.compile(r"<main\b.*?</main>", re.IGNORECASE | re.DOTALL)
_ASIDE = re.compile(r"<(aside|nav|footer|header)\b.*?</\1>", re.IGNORECASE | re.DOTALL)
# Section roots: "/novyny/", "/blog/", "/posluhy/" list what the section holds.
_SECTION_WORDS = frozenset(
    "news novyny novyni novosti novini blog blogs posluhy poslugy uslugi services initsiatyvy iniciatyvy initiatives "
    "projects proekty proiekty events podii sobytiya stories istorii arhiv arkhiv archive materials materialy "
    "articles statti stati publications publikatsii".split()
)


def linked_headlines(html: str) -> int:
    """Links that read as headlines in the page's <main> (when it has one), outside its
    navigation and sidebars."""
    main = _MAIN.search(html)
    body = _ASIDE.sub(" ", main.group(0) if main else html)
    return sum(1 for text in _HEADLINE_LINK.findall(body) if len(text.split()) >= 4)


def page_type(url: str | None, text: str, headlines: int | None = None) -> tuple[str, str | None]:
    """("listing", why) or ("article", None)."""
    parts = urlsplit(url or "")
    path = parts.path or "/"
    segments = [segment.lower() for segment in path.split("/") if segment]
    query = parse_qs(parts.query)
    # "/?p=155652" is a WordPress article, "/" and "/ru/" are home pages.
    if parts.netloc and not query and (not segments or (len(segments) == 1 and segments[0] in _LANGUAGE_ROOTS)):
        return "listing", "a home page"
    marker = next((segment for segment in segments if segment in _LISTING_SEGMENTS), None)
    if marker:
        return "listing", f"a {marker} page"
    if _PAGE_NUMBER.search(path) or any(value.isdigit() for key in ("page", "paged") for value in query.get(key, ())):
        return "listing", "a numbered page of a list"
    if headlines is not None and headlines >= LISTING_HEADLINES:
        return "listing", f"{headlines} linked headlines"
    last = segments[-1] if segments else ""
    if len(segments) <= 2 and last in _SECTION_WORDS and (len(segments) == 1 or segments[0] in _LANGUAGE_ROOTS):
        return "listing", "a section's front page"
    section_root = len(segments) == 1 and not re.search(r"[-_.\d]", segments[0])
    if section_root and headlines is None and len(_DATED_TEASER.findall(text)) >= 3 and len(_READ_MORE.findall(text)) >= 2:
        return "listing", "dated teasers with 'read more' links"
    return "article", None
