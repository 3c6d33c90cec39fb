"""Listing, tag, category and home pages: not candidates of their own (their articles are).

A listing is told by its address (a home or language root, a tag, category, rubric, topic,
archive, author or search path, a page number) or, when the HTML is at hand, by its linked
headlines: a page whose main column holds four or more headings that link elsewhere is a
list of teasers. A section root ("/novyny/") is a listing when its structure says so (linked
headlines, or several dated teasers and "read more" links in its text); a one-word address
alone is not enough ("/poll" is an article).
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
_LINKED_HEADING = re.compile(r"<h[2-4][^>]*>\s*(?:<[^a>][^>]*>\s*)*<a\s[^>]*href", re.IGNORECASE)
_MAIN = re.compile(r"<main\b.*?</main>", re.IGNORECASE | re.DOTALL)


def linked_headlines(html: str) -> int:
    """Headings (h2-h4) that are links, in the page's <main> when it has one."""
    main = _MAIN.search(html)
    return len(_LINKED_HEADING.findall(main.group(0) if main else html))


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
    section_root = len(segments) == 1 and not re.search(r"[-_.\d]", segments[0])
    if section_root and headlines is None and len(_DATED_TEASER.findall(text)) >= 3 and len(_READ_MORE.findall(text)) >= 2:
        return "listing", "dated teasers with 'read more' links"
    return "article", None
