"""The links of an HTML page, read once from its parsed tree: every anchor, as (absolute
URL, anchor text), serves both the discovery of outside sources and the site spider's
following; `link rel=alternate hreflang` names the page's other language versions.

A crawled page is read from the response's own tree (`response.selector`), an imported one
from its HTML, so both give the same links.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from parsel import Selector
from w3lib.html import get_base_url

from crawler.core.urls import canonical_url, is_http_url

__all__ = ["alternates", "anchors", "base_url", "html_selector"]

# Links that lead to no page: in-page jumps, scripts, mail and phone numbers.
_NOT_PAGES = ("#", "javascript:", "mailto:", "tel:")
# A link that names its scheme and host, or a path from the root: what it joins to depends on
# the page's scheme and host only, not on its path.
_FROM_ORIGIN = re.compile(r"/|[A-Za-z][A-Za-z0-9+.-]*://")


def html_selector(html: str) -> Selector:
    return Selector(text=html, type="html")


def base_url(html: str, url: str) -> str:
    """What relative links resolve against: the page's `<base href>`, else its URL (read
    from the head, as Scrapy's `Response.urljoin` does)."""
    return get_base_url(html[:4096], url)


def anchors(selector: Selector, base: str) -> list[tuple[str, str]]:
    """Every link of the page (`<a href>`, `<area href>`) as (absolute URL, anchor text), in
    page order."""
    found = []
    origin = _origin(base)
    for element in selector.root.iter("a", "area"):
        href = (element.get("href") or "").strip()
        if href and not href.startswith(_NOT_PAGES):
            # Menus, footers and sidebars repeat on every page of a site: such links are joined
            # once per site (a bounded cache), not once per page.
            url = _joined(origin, href) if _FROM_ORIGIN.match(href) else urljoin(base, href)
            found.append((url, " ".join(element.itertext()).strip()))
    return found


def _origin(base: str) -> str:
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else base


@lru_cache(maxsize=1 << 16)
def _joined(origin: str, href: str) -> str:
    return urljoin(origin, href)


def alternates(selector: Selector, base: str, page_url: str) -> list[tuple[str, str]]:
    """Other language versions the page names, as (hreflang, canonical URL)."""
    found = []
    for link in selector.xpath('//link[@rel="alternate"][@hreflang][@href]'):
        url = canonical_url(urljoin(base, link.attrib["href"]))
        if url != page_url and is_http_url(url):
            found.append((link.attrib["hreflang"].lower(), url))
    return found
