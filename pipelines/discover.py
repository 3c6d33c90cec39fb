"""Discovery (the chain's last stage): links out of a page to sources the study does not
crawl yet.

Every link to another site, a Telegram channel, an Instagram or a Facebook page becomes a
*discovered source* keyed the way identifiers are (``t.me/<channel>``, ``instagram.com/
<page>``, the site's host), with an example of the sentence that links to it. Analysts
accept, reject or leave them undecided (`coprod sources`); accepted ones are crawled next
time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from crawler.core.config import Source
from pipelines.relevance.identifiers import find_identifiers

__all__ = ["Discovered", "discover", "source_key"]

# Identifier kinds that are sources one can follow; jars, phones and cards are not. Telegram
# channels, bots and chats are told apart: only a channel has a public preview to crawl.
_SOURCE_KINDS = {
    "telegram": "telegram", "telegram_bot": "telegram_bot", "telegram_chat": "telegram_chat",
    "instagram": "instagram", "facebook": "facebook",
}
# A public Telegram name that calls itself a chat or a group is a group, not a channel.
_CHAT_NAME = re.compile(r"(^|_)(chat|chats|group|chatik)(_|$)")
# Hosts that are platforms, not sources: sharing buttons, stores, maps, payment pages, video.
_PLATFORMS = re.compile(
    r"(^|\.)(t\.me|telegram\.me|instagram\.com|facebook\.com|fb\.com|send\.monobank\.ua|monobank\.ua|google\.com|"
    r"goo\.gl|forms\.gle|twitter\.com|x\.com|play\.google\.com|apps\.apple\.com|wa\.me|viber\.com|"
    r"youtube\.com|youtu\.be|vimeo\.com|tiktok\.com)$"
)
EXAMPLE_CHARS = 240


@dataclass(frozen=True)
class Discovered:
    key: str  # t.me/<channel>, instagram.com/<page>, facebook.com/<page>, or a host
    kind: str  # telegram | telegram_bot | telegram_chat | instagram | facebook | site
    url: str  # the link as found
    example: str  # the sentence (or anchor text) that links to it


def discover(
    links: Iterable[tuple[str, str]], text: str, own_domains: Iterable[str], known_keys: frozenset[str] = frozenset()
) -> list[Discovered]:
    """Outbound sources among a page's (url, anchor text) links, one per key, in page order."""
    own = tuple(own_domains)
    found: dict[str, Discovered] = {}
    for url, anchor in links:
        host = _host(url)
        if host is None or any(host == d or host.endswith("." + d) for d in own):
            continue
        key, kind = _key(url, host)
        if key is None or key in found or key in known_keys:
            continue
        found[key] = Discovered(key, kind, url, _example(text, anchor))
    return list(found.values())


@lru_cache(maxsize=1 << 16)
def _host(url: str) -> str | None:
    """The host of an http(s) link, without "www." (the links of a site's pages repeat: a
    bounded cache)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower().removeprefix("www.")


def _key(url: str, host: str) -> tuple[str | None, str]:
    for identifier in find_identifiers("", links=[url]):
        kind = _SOURCE_KINDS.get(identifier.kind)
        if kind == "telegram" and _CHAT_NAME.search(identifier.value.removeprefix("t.me/")):
            kind = "telegram_chat"
        if kind:
            return identifier.value, kind
    if _PLATFORMS.search(host):
        return None, ""
    return host, "site"


def _example(text: str, anchor: str) -> str:
    anchor = " ".join(anchor.split())
    if anchor and len(anchor) > 3:
        at = text.find(anchor)
        if at >= 0:
            start = max(text.rfind(".", 0, at), text.rfind("\n", 0, at)) + 1
            stops = [p for p in (text.find(".", at + len(anchor)), text.find("\n", at + len(anchor))) if p >= 0]
            end = min(stops) + 1 if stops else len(text)
            sentence = " ".join(text[start:end].split())
            return sentence if len(sentence) <= EXAMPLE_CHARS else sentence[: EXAMPLE_CHARS - 1] + "…"
    return anchor[:EXAMPLE_CHARS]


def source_key(source: Source) -> set[str]:
    """The keys a configured source already covers: its domains, or its channel."""
    if source.kind == "telegram":
        return {i.value for url in source.start_urls for i in find_identifiers("", links=[url]) if i.kind in _SOURCE_KINDS}
    return set(source.domains)
